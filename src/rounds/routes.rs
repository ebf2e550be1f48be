//! `/api/v1/contests/{contest}/rounds` and `/api/v1/rounds/{round}`: schedule rounds,
//! read them with their derived state, change them, close them early.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit;
use crate::auth::{AuthUser, MaybeUser};
use crate::contests::access::{can_see_drafts, readable_contest, staff_contest, staff_round};
use crate::contests::store as contests;
use crate::domain::round::Prize;
use crate::domain::{Role, RoundDraft, RoundSpec, RoundState};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, JsonLimit, Page};
use crate::questions::store as questions;
use crate::rounds::changes;
use crate::rounds::store::{self, RoundRow};
use crate::state::AppState;

const ROUND_BODY_LIMIT: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/contests/{contest}/rounds")
            .app_data(JsonLimit(ROUND_BODY_LIMIT))
            .route(web::post().to(create_round))
            .route(web::get().to(list_rounds)),
    )
    .service(
        web::resource("/api/v1/rounds/{round}")
            .app_data(JsonLimit(ROUND_BODY_LIMIT))
            .route(web::get().to(get_round))
            .route(web::patch().to(patch_round)),
    )
    .service(web::resource("/api/v1/rounds/{round}/close").route(web::post().to(close_round)));
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// The question members answer with a whole number.
    #[schema(example = "Theo bạn, tuần này có bao nhiêu lượt dự thi?")]
    prompt: String,
    /// `entries`, `participants` or `perfect_entries`.
    #[schema(example = "entries")]
    target: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundBody {
    #[schema(example = 1)]
    number: i64,
    #[schema(example = "Tuần 1")]
    title: String,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    question_count: i64,
    /// 10 s to 3 h.
    time_limit_seconds: i64,
    /// 1–10; default 1.
    max_attempts: Option<i64>,
    shuffle_options: Option<bool>,
    /// Questions per category; the counts add up to `question_count`.
    categories: Option<BTreeMap<String, i64>>,
    /// Questions per difficulty (`easy`, `medium`, `hard`); add up to `question_count`.
    difficulties: Option<BTreeMap<String, i64>>,
    prediction: Prediction,
    /// Starts with `correct`; then any of `prediction`, `duration`, `submitted_at`.
    ranking: Option<Vec<String>>,
    /// Top prize first.
    prizes: Vec<Prize>,
    /// Prizes go to at most this share of the round's participants.
    prize_cap_percent: Option<f64>,
}

/// Only the given fields change. Draw settings (`question_count`, quotas,
/// `shuffle_options`, `time_limit_seconds`) are fixed once an attempt has started.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundPatch {
    number: Option<i64>,
    title: Option<String>,
    opens_at: Option<DateTime<Utc>>,
    closes_at: Option<DateTime<Utc>>,
    question_count: Option<i64>,
    time_limit_seconds: Option<i64>,
    max_attempts: Option<i64>,
    shuffle_options: Option<bool>,
    categories: Option<BTreeMap<String, i64>>,
    difficulties: Option<BTreeMap<String, i64>>,
    prediction: Option<Prediction>,
    ranking: Option<Vec<String>>,
    prizes: Option<Vec<Prize>>,
    /// `null` removes the cap.
    #[serde(default, deserialize_with = "crate::extract::present")]
    #[schema(value_type = Option<f64>)]
    prize_cap_percent: Option<Option<f64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Round {
    id: Uuid,
    contest_id: Uuid,
    number: i16,
    title: String,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    /// Derived from the clock and the finalized mark.
    state: RoundState,
    question_count: i16,
    time_limit_seconds: i32,
    max_attempts: i16,
    shuffle_options: bool,
    categories: BTreeMap<String, i32>,
    difficulties: BTreeMap<String, i32>,
    prediction: Prediction,
    ranking: Vec<String>,
    prizes: Vec<Prize>,
    prize_cap_percent: Option<f64>,
    /// Set when an organiser closed the round early; `closes_at` is then that moment.
    closed_early_at: Option<DateTime<Utc>>,
    finalized_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Round {
    fn new(r: RoundRow, now: DateTime<Utc>) -> Self {
        Self {
            state: r.state(now),
            id: r.id,
            contest_id: r.contest_id,
            number: r.number,
            title: r.title,
            opens_at: r.opens_at,
            closes_at: r.closes_at,
            question_count: r.question_count,
            time_limit_seconds: r.time_limit_seconds,
            max_attempts: r.max_attempts,
            shuffle_options: r.shuffle_options,
            categories: r.category_quotas.0,
            difficulties: r.difficulty_quotas.0,
            prediction: Prediction {
                prompt: r.prediction_prompt,
                target: r.prediction_target,
            },
            ranking: r.ranking,
            prizes: r.prizes.0,
            prize_cap_percent: r.prize_cap_percent,
            closed_early_at: r.closed_early_at,
            finalized_at: r.finalized_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundList {
    items: Vec<Round>,
    total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RoundQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

impl From<RoundBody> for RoundDraft {
    fn from(b: RoundBody) -> Self {
        Self {
            number: b.number,
            title: b.title,
            opens_at: b.opens_at,
            closes_at: b.closes_at,
            question_count: b.question_count,
            time_limit_seconds: b.time_limit_seconds,
            max_attempts: b.max_attempts.unwrap_or(1),
            shuffle_options: b.shuffle_options.unwrap_or(false),
            categories: b.categories.unwrap_or_default(),
            difficulties: b.difficulties.unwrap_or_default(),
            prediction_prompt: b.prediction.prompt,
            prediction_target: b.prediction.target,
            ranking: b.ranking,
            prizes: b.prizes,
            prize_cap_percent: b.prize_cap_percent,
        }
    }
}

/// Checks a round on its own and against the contest's bank.
pub async fn check_round(
    state: &AppState,
    contest_id: Uuid,
    draft: &RoundDraft,
) -> Result<RoundSpec, ApiError> {
    let spec = RoundSpec::parse(draft).map_err(|errors| ApiError::Validation { errors })?;
    let pool = questions::pool_counts(&state.db, contest_id).await?;
    spec.check_pool(&pool)
        .map_err(|errors| ApiError::Validation { errors })?;
    Ok(spec)
}

/// Schedules a round.
#[utoipa::path(post, path = "/api/v1/contests/{contest}/rounds", tag = "authoring",
    request_body = RoundBody, security(("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug")),
    responses(
        (status = 201, body = Round),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_number_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed` naming each bad field"),
    ))]
pub async fn create_round(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    Json(body): Json<RoundBody>,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer]).await?;
    let spec = check_round(&state, contest.id, &body.into()).await?;
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    let id = store::create(&mut tx, contest.id, &spec).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let row = store::get(&state.db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("round {id} vanished after insert"))?;
    Ok(HttpResponse::Created().json(Round::new(row, Utc::now())))
}

/// The contest's rounds, in order, with their state.
#[utoipa::path(get, path = "/api/v1/contests/{contest}/rounds", tag = "authoring",
    security((), ("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug"), RoundQuery),
    responses(
        (status = 200, body = RoundList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rounds(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<RoundQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::parse(query.limit, query.offset)?;
    let contest = readable_contest(&state.db, user.as_ref(), &path).await?;
    let rows = store::list(&state.db, contest.id).await?;
    let now = Utc::now();
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let items = rows
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(usize::MAX))
        .map(|r| Round::new(r, now))
        .collect();
    Ok(HttpResponse::Ok().json(RoundList { items, total }))
}

/// A round anyone may read when its contest is published; drafts only for staff.
async fn readable_round(
    state: &AppState,
    user: Option<&AuthUser>,
    id: Uuid,
) -> Result<RoundRow, ApiError> {
    let round = store::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    let contest = contests::find(&state.db, &round.contest_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    if contest.published_at.is_some() || can_see_drafts(&state.db, user, contest.id).await? {
        Ok(round)
    } else {
        Err(ApiError::not_found("round"))
    }
}

/// One round with its state.
#[utoipa::path(get, path = "/api/v1/rounds/{round}", tag = "authoring",
    security((), ("bearer" = [])),
    params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = Round),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_round(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = readable_round(&state, user.as_ref(), *path).await?;
    Ok(HttpResponse::Ok().json(Round::new(round, Utc::now())))
}

/// Changes a round. Its draw is fixed once attempts exist; a finalized round is fixed.
#[utoipa::path(patch, path = "/api/v1/rounds/{round}", tag = "authoring",
    request_body = RoundPatch, security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = Round),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`forbidden_role`: not an organiser; `not_contest_staff`"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_has_attempts` (draw settings), `round_finalized`, `round_number_taken`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_round(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    Json(body): Json<RoundPatch>,
) -> Result<HttpResponse, ApiError> {
    let round = staff_round(&state.db, &user, *path, &[Role::Organizer]).await?;
    let mut draft = changes::draft_of(&round);
    if let Some(v) = body.number {
        draft.number = v;
    }
    if let Some(v) = body.title {
        draft.title = v;
    }
    if let Some(v) = body.opens_at {
        draft.opens_at = v;
    }
    if let Some(v) = body.closes_at {
        draft.closes_at = v;
    }
    if let Some(v) = body.question_count {
        draft.question_count = v;
    }
    if let Some(v) = body.time_limit_seconds {
        draft.time_limit_seconds = v;
    }
    if let Some(v) = body.max_attempts {
        draft.max_attempts = v;
    }
    if let Some(v) = body.shuffle_options {
        draft.shuffle_options = v;
    }
    if let Some(v) = body.categories {
        draft.categories = v;
    }
    if let Some(v) = body.difficulties {
        draft.difficulties = v;
    }
    if let Some(v) = body.prediction {
        draft.prediction_prompt = v.prompt;
        draft.prediction_target = v.target;
    }
    if let Some(v) = body.ranking {
        draft.ranking = Some(v);
    }
    if let Some(v) = body.prizes {
        draft.prizes = v;
    }
    if let Some(v) = body.prize_cap_percent {
        draft.prize_cap_percent = v;
    }
    let spec = check_round(&state, round.contest_id, &draft).await?;
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    changes::save(&mut tx, round.id, &spec).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    // This server sees the change at once; the others within a second.
    state.caches.forget_round(round.id);
    let row = store::get(&state.db, round.id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    Ok(HttpResponse::Ok().json(Round::new(row, Utc::now())))
}

/// Ends an open round now: no attempt can start after this.
#[utoipa::path(post, path = "/api/v1/rounds/{round}/close", tag = "authoring",
    security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = Round),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`forbidden_role`: not an organiser; `not_contest_staff`"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`round_not_open`"),
    ))]
pub async fn close_round(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = staff_round(&state.db, &user, *path, &[Role::Organizer]).await?;
    let mut tx = state.db.begin().await.map_err(anyhow::Error::from)?;
    if !store::close_now(&mut *tx, round.id).await? {
        return Err(ApiError::conflict(
            "round_not_open",
            "only an open round can be closed early",
        ));
    }
    store::clip_deadlines(&mut tx, round.id).await?;
    audit::record(
        &mut *tx,
        audit::Entry {
            contest_id: Some(round.contest_id),
            round_id: Some(round.id),
            ..audit::Entry::new(audit::Actor::Account(user.id), "round.close")
        },
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    state.caches.forget_round(round.id);
    let row = store::get(&state.db, round.id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    Ok(HttpResponse::Ok().json(Round::new(row, Utc::now())))
}
