//! Statistics organisers report upward each week: entries, participants, perfect entries,
//! the score histogram, participation by unit (sub-units rolled up) and entries by hour
//! (Vietnam's local time), per round and over the contest.

use actix_web::{HttpResponse, web};
use anyhow::Context;
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::contests::access::{staff_contest, staff_round};
use crate::domain::Role;
use crate::error::{ApiError, Problem};
use crate::judging::units::{self, By, UnitPlace};
use crate::rounds::store as rounds;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/rounds/{round}/stats").route(web::get().to(round_stats)))
        .service(
            web::resource("/api/v1/contests/{contest}/stats").route(web::get().to(contest_stats)),
        );
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    pub correct: i32,
    pub entries: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hour {
    /// The start of the hour in Vietnam's local time, `YYYY-MM-DDTHH:00`.
    pub hour: String,
    pub entries: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stats {
    /// The round; `null` for a contest's total.
    pub round_id: Option<Uuid>,
    pub entries: i64,
    pub participants: i64,
    pub perfect_entries: i64,
    /// Entries per number of correct answers.
    pub score_histogram: Vec<Bucket>,
    /// Units by participants, each counting its sub-units.
    pub by_unit: Vec<UnitPlace>,
    pub by_hour: Vec<Hour>,
}

async fn compute(state: &AppState, contest_id: Uuid, round: Option<Uuid>) -> anyhow::Result<Stats> {
    let totals = sqlx::query!(
        r#"SELECT count(*) AS "entries!", count(DISTINCT a.member_id) AS "participants!",
                  count(*) FILTER (WHERE a.correct = a.total) AS "perfect!"
           FROM attempts a JOIN rounds r ON r.id = a.round_id
           WHERE r.contest_id = $1 AND ($2::uuid IS NULL OR a.round_id = $2)
             AND a.state <> 'in_progress'"#,
        contest_id,
        round
    )
    .fetch_one(&state.db)
    .await
    .context("counting entries")?;
    let histogram = sqlx::query_as!(
        Bucket,
        r#"SELECT a.correct::int AS "correct!", count(*) AS "entries!"
           FROM attempts a JOIN rounds r ON r.id = a.round_id
           WHERE r.contest_id = $1 AND ($2::uuid IS NULL OR a.round_id = $2)
             AND a.state <> 'in_progress'
           GROUP BY a.correct ORDER BY a.correct"#,
        contest_id,
        round
    )
    .fetch_all(&state.db)
    .await
    .context("the score histogram")?;
    let hours = sqlx::query!(
        r#"SELECT date_trunc('hour', a.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS "hour!: NaiveDateTime",
                  count(*) AS "entries!"
           FROM attempts a JOIN rounds r ON r.id = a.round_id
           WHERE r.contest_id = $1 AND ($2::uuid IS NULL OR a.round_id = $2)
             AND a.state <> 'in_progress'
           GROUP BY 1 ORDER BY 1"#,
        contest_id,
        round
    )
    .fetch_all(&state.db)
    .await
    .context("entries by hour")?;
    let by_unit = units::compute(&state.db, contest_id, round, By::Participants)
        .await?
        .items;
    Ok(Stats {
        round_id: round,
        entries: totals.entries,
        participants: totals.participants,
        perfect_entries: totals.perfect,
        score_histogram: histogram,
        by_unit,
        by_hour: hours
            .into_iter()
            .map(|h| Hour {
                hour: h.hour.format("%Y-%m-%dT%H:00").to_string(),
                entries: h.entries,
            })
            .collect(),
    })
}

/// A round's statistics, for its contest's organisers and judges.
#[utoipa::path(get, path = "/api/v1/rounds/{round}/stats", tag = "judging",
    security(("bearer" = [])), params(("round" = Uuid, Path)),
    responses(
        (status = 200, body = Stats),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn round_stats(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let round = staff_round(&state.db, &user, *path, &[Role::Organizer, Role::Judge]).await?;
    Ok(HttpResponse::Ok().json(compute(&state, round.contest_id, Some(round.id)).await?))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContestStats {
    pub rounds: Vec<Stats>,
    pub total: Stats,
}

/// Every round's statistics and the contest's total.
#[utoipa::path(get, path = "/api/v1/contests/{contest}/stats", tag = "judging",
    security(("bearer" = [])), params(("contest" = String, Path, description = "the contest's id or slug")),
    responses(
        (status = 200, body = ContestStats),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn contest_stats(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let contest = staff_contest(&state.db, &user, &path, &[Role::Organizer, Role::Judge]).await?;
    let mut per_round = Vec::new();
    for round in rounds::list(&state.db, contest.id).await? {
        per_round.push(compute(&state, contest.id, Some(round.id)).await?);
    }
    let total = compute(&state, contest.id, None).await?;
    Ok(HttpResponse::Ok().json(ContestStats {
        rounds: per_round,
        total,
    }))
}
