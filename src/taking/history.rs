//! `GET /api/v1/me/attempts`: the caller's own attempts, newest first, with their rounds
//! and results — the members' history screen. Only ever the caller's.

use actix_web::{HttpResponse, web};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::Page;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/me/attempts").route(web::get().to(my_attempts)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only the attempts at this round.
    round: Option<Uuid>,
    /// 1–500, default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PastResult {
    correct: i16,
    total: i16,
    duration_ms: i32,
    submitted_at: DateTime<Utc>,
    prediction: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PastAttempt {
    id: Uuid,
    round_id: Uuid,
    contest_id: Uuid,
    round_number: i16,
    round_title: String,
    /// 1 for the member's first attempt at the round, …
    number: i16,
    /// `in_progress`, `submitted` or `expired`.
    state: String,
    started_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    /// Once the attempt has ended.
    result: Option<PastResult>,
    /// Once the round is finalized the attempt shows the answer key.
    round_finalized: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    items: Vec<PastAttempt>,
    total: i64,
}

/// The caller's attempts, newest first.
#[utoipa::path(get, path = "/api/v1/me/attempts", tag = "taking",
    security(("bearer" = [])), params(HistoryQuery),
    responses(
        (status = 200, body = History),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn my_attempts(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::parse(query.limit, query.offset)?;
    let rows = sqlx::query!(
        r#"SELECT a.id, a.round_id, r.contest_id, r.number AS round_number, r.title AS round_title,
                  a.number, a.state, a.started_at, a.deadline, a.correct, a.total, a.duration_ms,
                  a.submitted_at, a.prediction, r.finalized_at IS NOT NULL AS "round_finalized!",
                  count(*) OVER () AS "listed!"
           FROM attempts a JOIN rounds r ON r.id = a.round_id
           WHERE a.member_id = $1 AND ($2::uuid IS NULL OR a.round_id = $2)
           ORDER BY a.started_at DESC, a.id DESC
           LIMIT $3 OFFSET $4"#,
        user.id,
        query.round,
        page.limit,
        page.offset
    )
    .fetch_all(&state.db)
    .await
    .context("listing the caller's attempts")?;
    let total = match rows.first() {
        Some(r) => r.listed,
        // An empty page past the end still tells how many there are.
        None if page.offset > 0 => sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM attempts
               WHERE member_id = $1 AND ($2::uuid IS NULL OR round_id = $2)"#,
            user.id,
            query.round
        )
        .fetch_one(&state.db)
        .await
        .context("counting the caller's attempts")?,
        None => 0,
    };
    let items = rows
        .into_iter()
        .map(|r| PastAttempt {
            result: match (r.correct, r.total, r.duration_ms, r.submitted_at) {
                (Some(correct), Some(total), Some(duration_ms), Some(submitted_at)) => {
                    Some(PastResult {
                        correct,
                        total,
                        duration_ms,
                        submitted_at,
                        prediction: r.prediction,
                    })
                }
                _ => None,
            },
            id: r.id,
            round_id: r.round_id,
            contest_id: r.contest_id,
            round_number: r.round_number,
            round_title: r.round_title,
            number: r.number,
            state: r.state,
            started_at: r.started_at,
            deadline: r.deadline,
            round_finalized: r.round_finalized,
        })
        .collect();
    Ok(HttpResponse::Ok().json(History { items, total }))
}
