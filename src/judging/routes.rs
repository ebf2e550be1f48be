//! `POST /rounds/{round}/finalize`, `GET /rounds/{round}/winners` and
//! `POST /rounds/{round}/winners/{member_id}/disqualify`: for the contest's judges and
//! admins only, since winners come with phones and ID numbers.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::contests::access::staff_round;
use crate::domain::Role;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, JsonLimit, Page};
use crate::judging::export::{self, ResultRow};
use crate::judging::{self, Finalized, store};
use crate::rounds::store as rounds;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/rounds/{round}/finalize").route(web::post().to(finalize)))
        .service(web::resource("/api/v1/rounds/{round}/winners").route(web::get().to(winners)))
        .service(web::resource("/api/v1/rounds/{round}/results").route(web::get().to(results)))
        .service(
            web::resource("/api/v1/rounds/{round}/winners/{member_id}/disqualify")
                .app_data(JsonLimit(16 * 1024))
                .route(web::post().to(disqualify)),
        );
}

/// The round, for its contest's judges (and admins).
async fn judged_round(state: &AppState, user: &AuthUser, id: Uuid) -> Result<Uuid, ApiError> {
    Ok(staff_round(&state.db, user, id, &[Role::Judge]).await?.id)
}

/// Fixes the true value, the final ranking and the winners of a closed round. Again: the
/// same answer.
#[utoipa::path(post, path = "/api/v1/rounds/{round}/finalize", tag = "judging",
    security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = Finalized),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_not_closed`"),
    ))]
pub async fn finalize(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = judged_round(&state, &user, *path).await?;
    // A big round takes a while. Run it in a task of its own so that a judge whose phone
    // or proxy gives up waiting does not roll it back: pressing again answers the result.
    let state = state.into_inner();
    let finalized = tokio::spawn(
        async move { judging::finalize(&state, user.id, round).await }
            .instrument(tracing::Span::current()),
    )
    .await
    .context("finalizing")??;
    Ok(HttpResponse::Ok().json(finalized))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Winners {
    items: Vec<store::Winner>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default), `csv` (UTF-8 with BOM) or `xlsx`.
    format: Option<String>,
    /// JSON pages: 1–500, default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Xlsx,
}

impl Format {
    pub(crate) fn parse(format: Option<&str>) -> Result<Self, ApiError> {
        match format.unwrap_or("json") {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(ApiError::bad_request(
                "invalid_query",
                format!("unknown format `{other}`: use json, csv or xlsx"),
            )),
        }
    }
}

fn disposition(name: &str) -> (header::HeaderName, String) {
    (
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\""),
    )
}

pub(crate) fn attachment(body: Vec<u8>, content_type: &str, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(disposition(name))
        .body(body)
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub(crate) const CSV: &str = "text/csv; charset=utf-8";

/// Personal data leaves only through here, and each time it is audited.
async fn audit_export(
    state: &AppState,
    user: &AuthUser,
    round: Uuid,
    what: &str,
    format: Format,
    rows: usize,
) -> Result<(), ApiError> {
    audit::record(
        &state.db,
        audit::Entry {
            round_id: Some(round),
            row_count: i32::try_from(rows).ok(),
            details: serde_json::json!({"what": what, "format": format!("{format:?}").to_lowercase()}),
            ..audit::Entry::new(audit::Actor::Account(user.id), "round.export")
        },
    )
    .await?;
    Ok(())
}

/// The current winners, top prize first, as JSON, CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/rounds/{round}/winners", tag = "judging",
    security(("bearer" = [])), params(("round" = Uuid, Path), ExportQuery),
    responses(
        (status = 200, body = Winners),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn winners(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = Format::parse(query.format.as_deref())?;
    let round = judged_round(&state, &user, *path).await?;
    let items = store::winners(&state.db, round).await?;
    audit_export(&state, &user, round, "winners", format, items.len()).await?;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(Winners { items }),
        Format::Csv => {
            let rows: Vec<ResultRow> = items.into_iter().map(ResultRow::from).collect();
            attachment(export::csv(&rows), CSV, &format!("winners-{round}.csv"))
        }
        Format::Xlsx => {
            let rows: Vec<ResultRow> = items.into_iter().map(ResultRow::from).collect();
            let file = export::xlsx("Người đoạt giải", &rows).map_err(anyhow::Error::from)?;
            attachment(file, XLSX, &format!("winners-{round}.xlsx"))
        }
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Results {
    items: Vec<ResultRow>,
    total: i64,
}

/// The full final ranking, one row per member, with personal data: JSON pages, or the
/// whole ranking as CSV (streamed) or XLSX.
#[utoipa::path(get, path = "/api/v1/rounds/{round}/results", tag = "judging",
    security(("bearer" = [])), params(("round" = Uuid, Path), ExportQuery),
    responses(
        (status = 200, body = Results),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_not_finalized`"),
    ))]
pub async fn results(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = Format::parse(query.format.as_deref())?;
    let round = judged_round(&state, &user, *path).await?;
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM round_results WHERE round_id = $1"#,
        round
    )
    .fetch_one(&state.db)
    .await
    .map_err(|e| anyhow::Error::new(e).context("counting results"))?;
    let finalized = rounds::get(&state.db, round)
        .await?
        .is_some_and(|r| r.finalized_at.is_some());
    if !finalized {
        return Err(ApiError::conflict(
            "round_not_finalized",
            "results exist only once the round is finalized",
        ));
    }
    match format {
        Format::Json => {
            let page = Page::parse(query.limit, query.offset)?;
            let items = store::results(&state.db, round, page.limit, page.offset).await?;
            audit_export(&state, &user, round, "results", format, items.len()).await?;
            Ok(HttpResponse::Ok().json(Results { items, total }))
        }
        Format::Csv => {
            audit_export(&state, &user, round, "results", format, rows(total)).await?;
            let (sink, source) = tokio::sync::mpsc::channel(8);
            tokio::spawn(store::stream_results_csv(state.db.clone(), round, sink));
            let body = futures_util::stream::unfold(source, |mut source| async move {
                source.recv().await.map(|chunk| (chunk, source))
            });
            Ok(HttpResponse::Ok()
                .content_type(CSV)
                .insert_header(disposition(&format!("results-{round}.csv")))
                .streaming(body))
        }
        Format::Xlsx => {
            if total > export::XLSX_MAX_ROWS {
                return Err(ApiError::invalid_field(
                    "format",
                    format!(
                        "{total} rows do not fit in one Excel sheet (at most {}): use format=csv",
                        export::XLSX_MAX_ROWS
                    ),
                ));
            }
            audit_export(&state, &user, round, "results", format, rows(total)).await?;
            // Built row by row into an unnamed temporary file (gone once closed), then
            // sent from it: the workbook is never held in memory.
            let pool = state.db.clone();
            let handle = tokio::runtime::Handle::current();
            let file = tokio::task::spawn_blocking(move || -> anyhow::Result<std::fs::File> {
                use std::io::Seek;

                let mut file = tempfile::tempfile().context("creating a temporary file")?;
                let rows = store::result_rows(&pool, round, None, 0);
                export::stream_xlsx(&handle, "Kết quả", rows, std::io::BufWriter::new(&mut file))?;
                file.rewind()?;
                Ok(file)
            })
            .await
            .context("building the results workbook")??;
            let length = file.metadata().context("sizing the workbook")?.len();
            let body = tokio_util::io::ReaderStream::with_capacity(
                tokio::fs::File::from_std(file),
                64 * 1024,
            );
            Ok(HttpResponse::Ok()
                .content_type(XLSX)
                .insert_header(disposition(&format!("results-{round}.xlsx")))
                .no_chunking(length)
                .streaming(body))
        }
    }
}

fn rows(total: i64) -> usize {
    usize::try_from(total).unwrap_or(0)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisqualifyBody {
    /// Why (false details, identity not proven, …); kept with the winner and in the audit log.
    reason: String,
}

/// Disqualifies a winner: the prize passes down the ranking to the next eligible entry.
#[utoipa::path(post, path = "/api/v1/rounds/{round}/winners/{member_id}/disqualify", tag = "judging",
    security(("bearer" = [])), params(("round" = Uuid, Path), ("member_id" = Uuid, Path)),
    request_body = DisqualifyBody,
    responses(
        (status = 200, body = Winners, description = "the winners after the prize passed on"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`forbidden_role`: not a judge; `not_contest_staff`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such round, or the member holds no prize in it"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_not_finalized`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disqualify(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    Json(body): Json<DisqualifyBody>,
) -> Result<HttpResponse, ApiError> {
    let (round, member) = path.into_inner();
    let round = judged_round(&state, &user, round).await?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ApiError::invalid_field(
            "reason",
            "must be 1 to 1000 characters",
        ));
    }
    let items = judging::disqualify(&state, user.id, round, member, reason).await?;
    Ok(HttpResponse::Ok().json(Winners { items }))
}
