//! Unit prizes (rule 10): units ranked by participants, entries or participation rate over
//! a round or the whole contest, each unit counting its sub-units (through `unit_closure`).
//! Public — it names units, not people — and so served from a one-second cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::MaybeUser;
use crate::contests::access::readable_contest;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

const FRESH_FOR: Duration = Duration::from_secs(1);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/contests/{contest}/units/ranking")
            .route(web::get().to(unit_ranking)),
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Participants,
    Entries,
    Rate,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Participants => "participants",
            By::Entries => "entries",
            By::Rate => "rate",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    /// `participants` (default), `entries` or `rate` (participants ÷ member_count).
    #[param(value_type = Option<String>)]
    by: Option<By>,
    /// One round; without it, the whole contest.
    round: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitPlace {
    pub rank: i64,
    pub code: String,
    pub name: String,
    /// Distinct members of the unit and its sub-units with an ended attempt.
    pub participants: i64,
    /// Ended attempts by them.
    pub entries: i64,
    /// `member_count` of the unit and its sub-units.
    pub member_count: i64,
    /// participants ÷ member_count; 0 when the unit declares no members.
    pub rate: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnitRanking {
    pub items: Vec<UnitPlace>,
}

type Key = (Uuid, Option<Uuid>, By);

/// Recent rankings, one computation at a time per key.
#[derive(Default)]
pub struct UnitRankings {
    cache: Mutex<HashMap<Key, (Instant, Arc<UnitRanking>)>>,
    flights: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

impl UnitRankings {
    fn cached(&self, key: Key) -> Option<Arc<UnitRanking>> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, r)| r.clone())
    }
}

pub async fn compute(
    pool: &sqlx::PgPool,
    contest_id: Uuid,
    round: Option<Uuid>,
    by: By,
) -> anyhow::Result<UnitRanking> {
    let rows = sqlx::query!(
        r#"WITH scope AS (
               SELECT a.id, a.member_id FROM attempts a JOIN rounds r ON r.id = a.round_id
               WHERE r.contest_id = $1 AND ($2::uuid IS NULL OR a.round_id = $2)
                 AND a.state <> 'in_progress'
           ),
           taken AS (
               SELECT c.ancestor_id AS unit_id, count(DISTINCT s.member_id) AS participants,
                      count(s.id) AS entries
               FROM scope s
               JOIN accounts m ON m.id = s.member_id
               JOIN unit_closure c ON c.descendant_id = m.unit_id
               GROUP BY c.ancestor_id
           ),
           declared AS (
               SELECT c.ancestor_id AS unit_id, sum(u.member_count)::bigint AS member_count
               FROM unit_closure c JOIN units u ON u.id = c.descendant_id
               GROUP BY c.ancestor_id
           )
           SELECT u.code, u.name, coalesce(t.participants, 0) AS "participants!",
                  coalesce(t.entries, 0) AS "entries!", coalesce(d.member_count, 0) AS "member_count!"
           FROM units u
           LEFT JOIN declared d ON d.unit_id = u.id
           LEFT JOIN taken t ON t.unit_id = u.id"#,
        contest_id,
        round
    )
    .fetch_all(pool)
    .await
    .context("ranking units")?;
    let mut items: Vec<UnitPlace> = rows
        .into_iter()
        .map(|r| UnitPlace {
            rank: 0,
            rate: if r.member_count > 0 {
                r.participants as f64 / r.member_count as f64
            } else {
                0.0
            },
            code: r.code,
            name: r.name,
            participants: r.participants,
            entries: r.entries,
            member_count: r.member_count,
        })
        .collect();
    items.sort_by(|a, b| {
        let primary = match by {
            By::Participants => b.participants.cmp(&a.participants),
            By::Entries => b.entries.cmp(&a.entries),
            By::Rate => b.rate.total_cmp(&a.rate),
        };
        primary.then_with(|| a.code.cmp(&b.code))
    });
    for (i, item) in items.iter_mut().enumerate() {
        item.rank = i as i64 + 1;
    }
    Ok(UnitRanking { items })
}

/// Units ranked by participation, each counting its sub-units.
#[utoipa::path(get, path = "/api/v1/contests/{contest}/units/ranking", tag = "judging",
    security((), ("bearer" = [])),
    params(("contest" = String, Path, description = "the contest's id or slug"), RankingQuery),
    responses(
        (status = 200, body = UnitRanking),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unit_ranking(
    MaybeUser(user): MaybeUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<RankingQuery>,
) -> Result<HttpResponse, ApiError> {
    let contest = readable_contest(&state.db, user.as_ref(), &path).await?;
    let key = (
        contest.id,
        query.round,
        query.by.unwrap_or(By::Participants),
    );
    let rankings = &state.unit_rankings;
    if let Some(ranking) = rankings.cached(key) {
        return Ok(HttpResponse::Ok().json(&*ranking));
    }
    let flight = rankings
        .flights
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default()
        .clone();
    let _computing = flight.lock().await;
    if let Some(ranking) = rankings.cached(key) {
        return Ok(HttpResponse::Ok().json(&*ranking));
    }
    let ranking = Arc::new(compute(&state.db, key.0, key.1, key.2).await?);
    rankings
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, (Instant::now(), ranking.clone()));
    Ok(HttpResponse::Ok().json(&*ranking))
}
