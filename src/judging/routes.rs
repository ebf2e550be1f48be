//! `POST /rounds/{round}/finalize`, `GET /rounds/{round}/winners` and
//! `POST /rounds/{round}/winners/{member_id}/disqualify`: for the contest's judges and
//! admins only, since winners come with phones and ID numbers.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::contests::access::require_contest_staff;
use crate::domain::Role;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, JsonLimit};
use crate::judging::{self, Finalized, store};
use crate::rounds::store as rounds;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/rounds/{round}/finalize").route(web::post().to(finalize)))
        .service(web::resource("/api/v1/rounds/{round}/winners").route(web::get().to(winners)))
        .service(
            web::resource("/api/v1/rounds/{round}/winners/{member_id}/disqualify")
                .app_data(JsonLimit(16 * 1024))
                .route(web::post().to(disqualify)),
        );
}

/// The round, for its contest's judges (and admins).
async fn judged_round(state: &AppState, user: &AuthUser, id: Uuid) -> Result<Uuid, ApiError> {
    user.require(&[Role::Judge])?;
    let round = rounds::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    require_contest_staff(&state.db, user, round.contest_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound { .. } => ApiError::not_found("round"),
            other => other,
        })?;
    Ok(round.id)
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
    let finalized = judging::finalize(&state, user.id, round).await?;
    Ok(HttpResponse::Ok().json(finalized))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Winners {
    items: Vec<store::Winner>,
}

/// The current winners, top prize first.
#[utoipa::path(get, path = "/api/v1/rounds/{round}/winners", tag = "judging",
    security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = Winners),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn winners(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = judged_round(&state, &user, *path).await?;
    Ok(HttpResponse::Ok().json(Winners {
        items: store::winners(&state.db, round).await?,
    }))
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
