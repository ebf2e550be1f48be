//! `GET /rounds/{round}/leaderboard`, `…/leaderboard/me` and
//! `GET /contests/{contest}/leaderboard`: names and units shown, phones never.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::contests::access::{can_see_drafts, readable_contest};
use crate::error::{ApiError, Problem};
use crate::extract::Page as PageQuery;
use crate::leaderboard::{self, MyPlace, Page};
use crate::state::AppState;
use crate::taking::cache::RoundInfo;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/rounds/{round}/leaderboard").route(web::get().to(round_leaderboard)),
    )
    .service(web::resource("/api/v1/rounds/{round}/leaderboard/me").route(web::get().to(my_place)))
    .service(
        web::resource("/api/v1/contests/{contest}/leaderboard")
            .route(web::get().to(contest_leaderboard)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    /// 1–500, default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The round, when the caller may see it: its contest is published, or the caller is staff.
pub(crate) async fn visible_round(
    state: &AppState,
    user: Option<&AuthUser>,
    id: Uuid,
) -> Result<std::sync::Arc<RoundInfo>, ApiError> {
    let round = state
        .caches
        .round(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    if round.contest_published || can_see_drafts(&state.db, user, round.contest_id).await? {
        Ok(round)
    } else {
        Err(ApiError::not_found("round"))
    }
}

/// The round's live leaderboard: each member's best attempt by the round's chain without
/// the prediction (known only at finalizing).
#[utoipa::path(get, path = "/api/v1/rounds/{round}/leaderboard", tag = "leaderboards",
    security((), ("bearer" = [])),
    params(("round" = Uuid, Path), BoardQuery),
    responses(
        (status = 200, body = Page),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn round_leaderboard(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::parse(query.limit, query.offset)?;
    let round = visible_round(&state, user.as_ref(), *path).await?;
    let board = leaderboard::round_page(&state, &round, page.limit, page.offset).await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(board.json()?))
}

/// The caller's place on the round's leaderboard.
#[utoipa::path(get, path = "/api/v1/rounds/{round}/leaderboard/me", tag = "leaderboards",
    security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = MyPlace),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "Redis is unavailable"),
    ))]
pub async fn my_place(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = visible_round(&state, Some(&user), *path).await?;
    let place = leaderboard::my_place(&state, &round, user.id).await?;
    Ok(HttpResponse::Ok().json(place))
}

/// The whole-contest standing (rule 9): the sum of each round's counted correct answers,
/// then the sum of their durations.
#[utoipa::path(get, path = "/api/v1/contests/{contest}/leaderboard", tag = "leaderboards",
    security((), ("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug"), BoardQuery),
    responses(
        (status = 200, body = Page),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "Redis is unavailable"),
    ))]
pub async fn contest_leaderboard(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery::parse(query.limit, query.offset)?;
    let contest = readable_contest(&state.db, user.as_ref(), &path).await?;
    let rounds = crate::rounds::store::list(&state.db, contest.id).await?;
    let round_ids: Vec<Uuid> = rounds.iter().map(|r| r.id).collect();
    let board =
        leaderboard::contest_page(&state, contest.id, &round_ids, page.limit, page.offset).await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(board.json()?))
}
