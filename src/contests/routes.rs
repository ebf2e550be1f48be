//! `/api/v1/contests`: create, list, read, change and publish contests.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit;
use crate::auth::{AuthUser, MaybeUser};
use crate::contests::access::{readable_contest, staff_contest};
use crate::contests::store::{self, ContestChanges, ContestRow, NewContest};
use crate::domain::{Role, Slug};
use crate::error::{ApiError, FieldErrors, Problem};
use crate::extract::{Json, JsonLimit, Page};
use crate::state::AppState;

/// A contest's rules (*thể lệ*) can be long; 256 KiB is plenty.
const CONTEST_BODY_LIMIT: usize = 256 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/contests")
            .app_data(JsonLimit(CONTEST_BODY_LIMIT))
            .route(web::post().to(create_contest))
            .route(web::get().to(list_contests)),
    )
    .service(
        web::resource("/api/v1/contests/{contest}")
            .app_data(JsonLimit(CONTEST_BODY_LIMIT))
            .route(web::get().to(get_contest))
            .route(web::patch().to(patch_contest)),
    )
    .service(
        web::resource("/api/v1/contests/{contest}/publish").route(web::post().to(publish_contest)),
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContest {
    /// Lowercase ASCII words joined by dashes; used in URLs.
    #[schema(example = "tim-hieu-luat-giao-thong-2026")]
    slug: String,
    #[schema(example = "Tìm hiểu Luật Giao thông 2026")]
    title: String,
    description: Option<String>,
    /// The contest's rules (*thể lệ*), shown to members.
    rules: Option<String>,
    /// A member wins at most one prize over the whole contest.
    one_prize_per_person: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestPatch {
    slug: Option<String>,
    title: Option<String>,
    description: Option<String>,
    rules: Option<String>,
    one_prize_per_person: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Contest {
    id: uuid::Uuid,
    slug: String,
    title: String,
    description: String,
    rules: String,
    one_prize_per_person: bool,
    /// `draft` until published.
    #[schema(example = "published")]
    status: &'static str,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ContestRow> for Contest {
    fn from(r: ContestRow) -> Self {
        Self {
            id: r.id,
            slug: r.slug,
            title: r.title,
            description: r.description,
            rules: r.rules,
            one_prize_per_person: r.one_prize_per_person,
            status: if r.published_at.is_some() {
                "published"
            } else {
                "draft"
            },
            published_at: r.published_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContestList {
    items: Vec<Contest>,
    total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1–500, default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

fn check_text(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> String {
    let value = crate::domain::question::clean_text(value);
    let chars = value.chars().count();
    if chars < min || chars > max {
        errors
            .entry(field.to_owned())
            .or_default()
            .push(if min > 0 {
                format!("must be {min} to {max} characters")
            } else {
                format!("must be at most {max} characters")
            });
    }
    value
}

fn check_slug(errors: &mut FieldErrors, raw: &str) -> String {
    match Slug::parse(raw) {
        Ok(slug) => slug.into_inner(),
        Err(message) => {
            errors
                .entry("slug".to_owned())
                .or_default()
                .push(message.to_owned());
            String::new()
        }
    }
}

/// A new contest, as a draft; its creator is on its staff.
#[utoipa::path(post, path = "/api/v1/contests", tag = "authoring", request_body = CreateContest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Contest),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "only organisers create contests"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`slug_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`"),
    ))]
pub async fn create_contest(
    user: AuthUser,
    state: web::Data<AppState>,
    Json(body): Json<CreateContest>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Organizer])?;
    let mut errors = FieldErrors::new();
    let slug = check_slug(&mut errors, &body.slug);
    let title = check_text(&mut errors, "title", &body.title, 1, 300);
    let description = check_text(
        &mut errors,
        "description",
        body.description.as_deref().unwrap_or(""),
        0,
        20_000,
    );
    let rules = check_text(
        &mut errors,
        "rules",
        body.rules.as_deref().unwrap_or(""),
        0,
        100_000,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation { errors });
    }
    let row = store::create(
        &state.db,
        &NewContest {
            slug: &slug,
            title: &title,
            description: &description,
            rules: &rules,
            one_prize_per_person: body.one_prize_per_person.unwrap_or(false),
            created_by: Some(user.id),
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(Contest::from(row)))
}

/// Published contests for anyone; organisers and judges also see the drafts they work on.
#[utoipa::path(get, path = "/api/v1/contests", tag = "authoring", params(ListQuery),
    security((), ("bearer" = [])),
    responses((status = 200, body = ContestList)))]
pub async fn list_contests(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::parse(query.limit, query.offset)?;
    let staff_of = user
        .filter(|u| matches!(u.role, Role::Organizer | Role::Judge))
        .map(|u| u.id);
    let all_drafts = user.is_some_and(|u| u.role == Role::Admin);
    let found = store::list(&state.db, staff_of, all_drafts, page.limit, page.offset).await?;
    Ok(HttpResponse::Ok().json(ContestList {
        items: found.rows.into_iter().map(Contest::from).collect(),
        total: found.total,
    }))
}

/// One contest by id or slug.
#[utoipa::path(get, path = "/api/v1/contests/{contest}", tag = "authoring",
    security((), ("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug")),
    responses(
        (status = 200, body = Contest),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "absent, or a draft that is not yours"),
    ))]
pub async fn get_contest(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let contest = readable_contest(&state.db, user.as_ref(), &path).await?;
    Ok(HttpResponse::Ok().json(Contest::from(contest)))
}

/// Changes the given fields.
#[utoipa::path(patch, path = "/api/v1/contests/{contest}", tag = "authoring", request_body = ContestPatch,
    security(("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug")),
    responses(
        (status = 200, body = Contest),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`not_contest_staff`, `forbidden_role`"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`slug_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_contest(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    Json(body): Json<ContestPatch>,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer]).await?;
    let mut errors = FieldErrors::new();
    let changes = ContestChanges {
        slug: body.slug.as_deref().map(|s| check_slug(&mut errors, s)),
        title: body
            .title
            .as_deref()
            .map(|t| check_text(&mut errors, "title", t, 1, 300)),
        description: body
            .description
            .as_deref()
            .map(|t| check_text(&mut errors, "description", t, 0, 20_000)),
        rules: body
            .rules
            .as_deref()
            .map(|t| check_text(&mut errors, "rules", t, 0, 100_000)),
        one_prize_per_person: body.one_prize_per_person,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation { errors });
    }
    let row = if changes.changes(&contest) {
        store::update(&state.db, contest.id, &changes).await?
    } else {
        contest
    };
    Ok(HttpResponse::Ok().json(Contest::from(row)))
}

/// Makes the contest visible to everyone. Publishing again changes nothing.
#[utoipa::path(post, path = "/api/v1/contests/{contest}/publish", tag = "authoring",
    security(("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug")),
    responses(
        (status = 200, body = Contest),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn publish_contest(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer]).await?;
    let row = if contest.published_at.is_some() {
        contest
    } else {
        let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
        let row = store::publish(&mut *tx, contest.id).await?;
        audit::record(
            &mut *tx,
            audit::Entry {
                contest_id: Some(contest.id),
                ..audit::Entry::new(audit::Actor::Account(user.id), "contest.publish")
            },
        )
        .await?;
        tx.commit().await.map_err(anyhow::Error::from)?;
        row
    };
    Ok(HttpResponse::Ok().json(Contest::from(row)))
}
