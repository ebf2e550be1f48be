//! The question bank over HTTP: `/api/v1/contests/{contest}/questions` (create, list with
//! answers, import, export) and `/api/v1/questions/{id}` (read, change, delete).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::contests::access::{require_contest_staff, staff_contest};
use crate::contests::store::ContestRow;
use crate::domain::question::OptionSpec;
use crate::domain::{QuestionDraft, QuestionSpec, Role};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, JsonLimit, Page};
use crate::questions::formats::{self, Format};
use crate::questions::import::{self, ImportOptions, ImportReport};
use crate::questions::store::{self, QuestionRow};
use crate::state::AppState;

/// One question is small; 64 KiB leaves room for long explanations.
const QUESTION_BODY_LIMIT: usize = 64 * 1024;
/// A bank of tens of thousands of questions, or a Word file with pictures stripped out.
const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/contests/{contest}/questions")
            .app_data(JsonLimit(QUESTION_BODY_LIMIT))
            .route(web::post().to(create_question))
            .route(web::get().to(list_questions)),
    )
    .service(
        web::resource("/api/v1/contests/{contest}/questions/import")
            .app_data(web::PayloadConfig::new(IMPORT_LIMIT))
            .route(web::post().to(import_questions)),
    )
    .service(
        web::resource("/api/v1/questions/{id}")
            .app_data(JsonLimit(QUESTION_BODY_LIMIT))
            .route(web::get().to(get_question))
            .route(web::patch().to(patch_question))
            .route(web::delete().to(delete_question)),
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionBody {
    #[schema(example = "Thủ đô của Việt Nam là thành phố nào?")]
    text: String,
    /// `single` or `multiple`; without it, decided by how many options are correct.
    #[schema(example = "single")]
    kind: Option<String>,
    /// 2–8 options; exactly one correct for `single`, at least one for `multiple`.
    options: Vec<OptionSpec>,
    category: Option<String>,
    /// `easy`, `medium`, `hard` (or `dễ`, `trung bình`, `khó`).
    difficulty: Option<String>,
    explanation: Option<String>,
}

impl From<QuestionBody> for QuestionDraft {
    fn from(b: QuestionBody) -> Self {
        Self {
            text: b.text,
            kind: b.kind,
            options: b.options,
            category: b.category,
            difficulty: b.difficulty,
            explanation: b.explanation,
        }
    }
}

/// Only the given fields change; `options`, when given, replaces all of them. A change
/// makes a new revision: attempts keep the revision they were shown.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionPatch {
    text: Option<String>,
    kind: Option<String>,
    options: Option<Vec<OptionSpec>>,
    /// `null` or `""` clears it.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    category: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    difficulty: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<String>)]
    explanation: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionOption {
    id: Uuid,
    text: String,
    correct: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Question {
    id: Uuid,
    contest_id: Uuid,
    /// 1 when created; each change adds one.
    revision: i32,
    #[schema(example = "single")]
    kind: String,
    text: String,
    options: Vec<QuestionOption>,
    category: Option<String>,
    difficulty: Option<String>,
    explanation: Option<String>,
    /// The question's place in the bank (0-based).
    position: i32,
    /// Where a contest folder loaded it from, e.g. `questions/bank.csv#12`.
    source: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<QuestionRow> for Question {
    fn from(r: QuestionRow) -> Self {
        Self {
            id: r.id,
            contest_id: r.contest_id,
            revision: r.revision,
            kind: r.kind,
            text: r.text,
            options: r
                .options
                .into_iter()
                .map(|o| QuestionOption {
                    id: o.id,
                    text: o.text,
                    correct: o.correct,
                })
                .collect(),
            category: r.category,
            difficulty: r.difficulty,
            explanation: r.explanation,
            position: r.position,
            source: r.source,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionList {
    items: Vec<Question>,
    total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BankQuery {
    /// 1–500, default 50. Ignored with `format`.
    limit: Option<i64>,
    offset: Option<i64>,
    /// `csv`, `xlsx` or `gift`: the whole bank as a file that imports back to the same bank.
    format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `csv`, `xlsx`, `gift`, `aiken`, `json`, `docx` or `txt`; without it, taken from the
    /// Content-Type.
    format: Option<String>,
    /// Check only; store nothing.
    dry_run: Option<bool>,
    /// Store the good questions even when others are malformed.
    partial: Option<bool>,
}

fn unknown_format(raw: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_query",
        format!("unknown format `{raw}`: use csv, xlsx, gift, aiken, json, docx or txt"),
    )
}

/// The format a file was sent as, when the query does not say.
fn format_from_content_type(req: &HttpRequest) -> Option<Format> {
    let content_type = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "text/csv" => Some(Format::Csv),
        "application/json" => Some(Format::Json),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Format::Xlsx),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            Some(Format::Docx)
        }
        _ => None,
    }
}

fn parse_question(draft: &QuestionDraft) -> Result<QuestionSpec, ApiError> {
    QuestionSpec::parse(draft).map_err(|errors| ApiError::Validation { errors })
}

/// Adds a question to the bank.
#[utoipa::path(post, path = "/api/v1/contests/{contest}/questions", tag = "authoring",
    request_body = QuestionBody, security(("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug")),
    responses(
        (status = 201, body = Question),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed` naming the field"),
    ))]
pub async fn create_question(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    Json(body): Json<QuestionBody>,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer]).await?;
    let spec = parse_question(&body.into())?;
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    let ids = store::insert_many(&mut tx, contest.id, Some(user.id), &[spec], &[]).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let id = ids
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no id returned"))?;
    let row = store::get(&state.db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("question {id} vanished after insert"))?;
    Ok(HttpResponse::Created().json(Question::from(row)))
}

/// The bank with its answers, for the contest's staff.
#[utoipa::path(get, path = "/api/v1/contests/{contest}/questions", tag = "authoring",
    security(("bearer" = [])), params(("contest" = String, Path), BankQuery),
    responses(
        (status = 200, body = QuestionList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_questions(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<BankQuery>,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer, Role::Judge]).await?;
    if let Some(raw) = &query.format {
        let format = Format::parse(raw)
            .filter(|f| matches!(f, Format::Csv | Format::Xlsx | Format::Gift))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_query", "format must be csv, xlsx or gift")
            })?;
        return export_bank(&state, &user, &contest, format).await;
    }
    let page = Page::parse(query.limit, query.offset)?;
    let bank = store::list(&state.db, contest.id, Some(page.limit), page.offset).await?;
    Ok(HttpResponse::Ok().json(QuestionList {
        items: bank.rows.into_iter().map(Question::from).collect(),
        total: bank.total,
    }))
}

/// A question the caller may work on: staff of its contest (404 for anyone else, so
/// questions of other contests are not revealed).
async fn staff_question(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    roles: &[Role],
) -> Result<QuestionRow, ApiError> {
    user.require(roles)?;
    let question = store::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("question"))?;
    match require_contest_staff(&state.db, user, question.contest_id).await {
        Ok(()) => Ok(question),
        Err(ApiError::Forbidden { .. } | ApiError::NotFound { .. }) => {
            Err(ApiError::not_found("question"))
        }
        Err(other) => Err(other),
    }
}

/// One question with its answers.
#[utoipa::path(get, path = "/api/v1/questions/{id}", tag = "authoring", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Question),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`forbidden_role`: not an organiser or judge"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_question(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let question = staff_question(&state, &user, *path, &[Role::Organizer, Role::Judge]).await?;
    Ok(HttpResponse::Ok().json(Question::from(question)))
}

/// Changes a question by adding a revision; attempts keep what they were shown.
#[utoipa::path(patch, path = "/api/v1/questions/{id}", tag = "authoring", security(("bearer" = [])),
    request_body = QuestionPatch, params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Question),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`forbidden_role`: not an organiser"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_question(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    Json(body): Json<QuestionPatch>,
) -> Result<HttpResponse, ApiError> {
    let question = staff_question(&state, &user, *path, &[Role::Organizer]).await?;
    let current = question.draft();
    let changed_options = body.options.is_some();
    let draft = QuestionDraft {
        text: body.text.unwrap_or_else(|| current.text.clone()),
        // A new set of options may turn a single question into a multiple one: then the
        // stored kind must not hold it back unless the patch names a kind.
        kind: body
            .kind
            .or_else(|| (!changed_options).then(|| current.kind.clone()).flatten()),
        options: body.options.unwrap_or_else(|| current.options.clone()),
        category: body.category.unwrap_or_else(|| current.category.clone()),
        difficulty: body
            .difficulty
            .unwrap_or_else(|| current.difficulty.clone()),
        explanation: body
            .explanation
            .unwrap_or_else(|| current.explanation.clone()),
    };
    let spec = parse_question(&draft)?;
    if QuestionSpec::parse(&current).ok().as_ref() == Some(&spec) {
        return Ok(HttpResponse::Ok().json(Question::from(question)));
    }
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    store::revise_many(&mut tx, Some(user.id), &[(question.id, spec)]).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let row = store::get(&state.db, question.id)
        .await?
        .ok_or_else(|| ApiError::not_found("question"))?;
    Ok(HttpResponse::Ok().json(Question::from(row)))
}

/// Takes a question out of the bank; attempts that showed it keep it.
#[utoipa::path(delete, path = "/api/v1/questions/{id}", tag = "authoring", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`forbidden_role`: not an organiser"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_question(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let question = staff_question(&state, &user, *path, &[Role::Organizer]).await?;
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    store::delete_many(&mut tx, &[question.id]).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The whole bank as a file. The bank holds the answers, so each export is audited.
async fn export_bank(
    state: &AppState,
    user: &AuthUser,
    contest: &ContestRow,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let bank = store::list(&state.db, contest.id, None, 0).await?;
    let raws: Vec<_> = bank.rows.iter().map(import::raw_of).collect();
    let (body, content_type) = match format {
        Format::Xlsx => (
            formats::export_xlsx(&raws).map_err(anyhow::Error::from)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        Format::Gift => (
            formats::export_gift(&raws).into_bytes(),
            "text/plain; charset=utf-8",
        ),
        _ => (formats::export_csv(&raws), "text/csv; charset=utf-8"),
    };
    audit::record(
        &state.db,
        audit::Entry {
            contest_id: Some(contest.id),
            row_count: i32::try_from(raws.len()).ok(),
            details: serde_json::json!({"format": format.as_str()}),
            ..audit::Entry::new(audit::Actor::Account(user.id), "questions.export")
        },
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}-questions.{}\"",
                contest.slug,
                format.as_str()
            ),
        ))
        .body(body))
}

/// Loads a question file into the bank. Nothing is stored when any question is malformed
/// unless `partial=true`; `dry_run=true` stores nothing at all.
#[utoipa::path(post, path = "/api/v1/contests/{contest}/questions/import", tag = "authoring",
    security(("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug"), ImportQuery),
    // Optional: an empty body is an empty file, reported in `errors` like any unreadable one.
    request_body(content = Option<Vec<u8>>, description = "the file, as is; an empty body is reported as an empty file", content_type = "application/octet-stream"),
    responses(
        (status = 200, body = ImportReport, description = "what was (or would be) imported, skipped and refused, with line numbers"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`: unknown or missing format"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_questions(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer]).await?;
    let format = match &query.format {
        Some(raw) => Format::parse(raw).ok_or_else(|| unknown_format(raw))?,
        None => format_from_content_type(&req).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                "say the file's format: ?format=csv|xlsx|gift|aiken|json|docx|txt",
            )
        })?,
    };
    let options = ImportOptions {
        dry_run: query.dry_run.unwrap_or(false),
        partial: query.partial.unwrap_or(false),
    };
    // Parsing a big workbook is CPU work: keep it off the request threads.
    let checked = web::block(move || import::check(format, &body))
        .await
        .map_err(|e| anyhow::anyhow!("the import worker failed: {e}"))?;
    let report =
        import::store_checked(&state.db, contest.id, Some(user.id), checked, options).await?;
    if report.imported > 0 {
        audit::record(
            &state.db,
            audit::Entry {
                contest_id: Some(contest.id),
                row_count: i32::try_from(report.imported).ok(),
                details: serde_json::json!({"format": format.as_str(), "partial": options.partial}),
                ..audit::Entry::new(audit::Actor::Account(user.id), "questions.import")
            },
        )
        .await?;
    }
    Ok(HttpResponse::Ok().json(report))
}
