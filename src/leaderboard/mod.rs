//! Live leaderboards: each round's (every member's best attempt by the round's live chain),
//! each contest's (rule 9), kept in Redis sorted sets whose order equals PostgreSQL's
//! exactly (`encoding`). PostgreSQL is the truth: a board missing from Redis is rebuilt from
//! it, and while Redis is away round boards are read from PostgreSQL (contest boards answer
//! 503). Hot pages are cached in-process for at most a second.

pub mod board;
pub mod encoding;
pub mod routes;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::kv::Redis;
use crate::state::AppState;
use crate::taking::cache::RoundInfo;
use crate::taking::store::AttemptRow;
use board::RoundContext;
use encoding::Entry;

/// How long a page of a leaderboard is served from memory.
const PAGE_FRESH_FOR: Duration = Duration::from_secs(1);
/// How long a member's unit is remembered.
const UNIT_FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub rank: i64,
    pub member_id: Uuid,
    pub display_name: String,
    pub unit: Option<String>,
    /// Correct answers of the counted attempt (a contest board: the sum over rounds).
    pub correct: i64,
    /// Its duration (a contest board: the sum over rounds).
    pub duration_ms: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<Item>,
    /// Members on the board.
    pub total: i64,
    pub updated_at: DateTime<Utc>,
    /// The page as JSON, made once per cached page instead of once per request (a hot top
    /// 50 is read thousands of times a second).
    #[serde(skip)]
    #[schema(ignore)]
    json: std::sync::OnceLock<actix_web::web::Bytes>,
}

impl Page {
    pub fn new(items: Vec<Item>, total: i64, updated_at: DateTime<Utc>) -> Self {
        Self {
            items,
            total,
            updated_at,
            json: std::sync::OnceLock::new(),
        }
    }

    /// The page serialized, once.
    pub fn json(&self) -> anyhow::Result<actix_web::web::Bytes> {
        if let Some(bytes) = self.json.get() {
            return Ok(bytes.clone());
        }
        let bytes = actix_web::web::Bytes::from(serde_json::to_vec(self)?);
        Ok(self.json.get_or_init(|| bytes).clone())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Board {
    Round(Uuid),
    Contest(Uuid),
}

/// A page of a board: which board, its limit and offset.
type PageKey = (Board, i64, i64);

#[derive(Default)]
pub struct Leaderboards {
    pages: Mutex<HashMap<PageKey, (Instant, Arc<Page>)>>,
    /// Boards whose update Redis missed: marked for a rebuild once Redis answers again.
    missed: Mutex<(HashSet<Uuid>, HashSet<Uuid>)>,
    /// Members' units, for participation counts; a member who moves unit is counted in the
    /// new one within a minute.
    units: Mutex<HashMap<Uuid, (Instant, Option<Uuid>)>>,
    /// One computation per page at a time: when a hot page expires, one request rebuilds it
    /// and the others wait for it instead of all going to Redis and PostgreSQL at once.
    flights: Mutex<HashMap<PageKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Leaderboards {
    fn cached(&self, key: PageKey) -> Option<Arc<Page>> {
        let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages
            .get(&key)
            .filter(|(at, _)| at.elapsed() < PAGE_FRESH_FOR)
            .map(|(_, page)| page.clone())
    }

    fn flight(&self, key: PageKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.len() > 10_000 {
            flights.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        flights.entry(key).or_default().clone()
    }

    fn keep(&self, key: PageKey, page: Arc<Page>) {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        // Old pages are dropped as new ones come; the map never holds more than a
        // second's worth of distinct pages for long.
        if pages.len() > 10_000 {
            pages.retain(|_, (at, _)| at.elapsed() < PAGE_FRESH_FOR);
        }
        pages.insert(key, (Instant::now(), page));
    }

    async fn unit_of(&self, pool: &sqlx::PgPool, member: Uuid) -> anyhow::Result<Option<Uuid>> {
        let cached = self
            .units
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&member)
            .copied();
        if let Some((at, unit)) = cached
            && at.elapsed() < UNIT_FRESH_FOR
        {
            return Ok(unit);
        }
        let unit = store::unit_of(pool, member).await?;
        self.remember_unit(member, unit);
        Ok(unit)
    }

    fn remember_unit(&self, member: Uuid, unit: Option<Uuid>) {
        let mut units = self.units.lock().unwrap_or_else(|p| p.into_inner());
        if units.len() > 1_000_000 {
            units.clear();
        }
        units.insert(member, (Instant::now(), unit));
    }

    fn missed(&self, round: Uuid, contest: Uuid) {
        let mut missed = self.missed.lock().unwrap_or_else(|p| p.into_inner());
        missed.0.insert(round);
        missed.1.insert(contest);
    }

    /// Marks the boards Redis missed updates of for a rebuild; called periodically.
    pub async fn heal(&self, redis: &Redis) {
        let (rounds, contests): (Vec<Uuid>, Vec<Uuid>) = {
            let missed = self.missed.lock().unwrap_or_else(|p| p.into_inner());
            (
                missed.0.iter().copied().collect(),
                missed.1.iter().copied().collect(),
            )
        };
        if rounds.is_empty() && contests.is_empty() {
            return;
        }
        match board::invalidate(redis, &rounds, &contests).await {
            Ok(()) => {
                let mut missed = self.missed.lock().unwrap_or_else(|p| p.into_inner());
                for id in &rounds {
                    missed.0.remove(id);
                }
                for id in &contests {
                    missed.1.remove(id);
                }
            }
            Err(e) => tracing::debug!(error = format!("{e:#}"), "Redis still away"),
        }
    }
}

/// After a restart. A server killed between committing an entry to PostgreSQL and putting
/// it on the boards left that entry off them, and nothing else would notice: every round
/// not yet finalized whose board holds fewer members than PostgreSQL has entrants is
/// marked for a rebuild (its next read rebuilds it from PostgreSQL). A board not built yet
/// is left alone; its first read builds it whole.
pub async fn reconcile(state: &AppState) -> anyhow::Result<usize> {
    let rounds: Vec<(Uuid, Uuid, i64)> = sqlx::query_as(
        "SELECT r.id, r.contest_id,
                (SELECT count(DISTINCT a.member_id) FROM attempts a
                  WHERE a.round_id = r.id AND a.state <> 'in_progress')
           FROM rounds r
          WHERE r.finalized_at IS NULL AND r.opens_at <= now()",
    )
    .fetch_all(&state.db)
    .await
    .context("counting the entrants of unfinalized rounds")?;
    let mut short = 0;
    for (round, contest, entrants) in rounds {
        let keys = board::RoundKeys::new(&state.redis, round);
        if !board::is_ready(&state.redis, &keys.ready).await? {
            continue;
        }
        let on_board: i64 = redis::cmd("ZCARD")
            .arg(&keys.set)
            .query_async(&mut state.redis.conn())
            .await
            .context("counting a leaderboard")?;
        if on_board < entrants {
            tracing::warn!(%round, on_board, entrants, "a leaderboard missed entries; it will be rebuilt");
            board::invalidate(&state.redis, &[round], &[contest]).await?;
            short += 1;
        }
    }
    Ok(short)
}

fn context(round: &RoundInfo) -> RoundContext<'_> {
    RoundContext {
        round_id: round.id,
        contest_id: round.contest_id,
        live: &round.live,
        contest_rounds: &round.contest_rounds,
    }
}

/// Puts an ended attempt on the boards. PostgreSQL already holds it, so a Redis failure
/// only delays the boards: it is logged and the boards are rebuilt once Redis is back.
pub async fn record(state: &AppState, row: &AttemptRow) {
    record_with(state, row, None).await;
}

/// [`record`] when the member's unit is already known (read with the submission).
pub async fn record_in_unit(state: &AppState, row: &AttemptRow, unit: Option<Uuid>) {
    state.leaderboards.remember_unit(row.member_id, unit);
    record_with(state, row, Some(unit)).await;
}

async fn record_with(state: &AppState, row: &AttemptRow, known_unit: Option<Option<Uuid>>) {
    let (Some(correct), Some(duration_ms), Some(submitted_at)) =
        (row.correct, row.duration_ms, row.submitted_at)
    else {
        return;
    };
    let round = match state.caches.round(&state.db, row.round_id).await {
        Ok(Some(round)) => round,
        Ok(None) => return,
        // PostgreSQL went away after the commit: the round as last read names the same
        // boards (its contest and ranking do not change once it has entries).
        Err(e) => match state.caches.stale_round(row.round_id) {
            Some(round) => round,
            None => {
                // Left to the check every server makes when it starts.
                tracing::warn!(error = format!("{e:#}"), "leaderboard not updated");
                return;
            }
        },
    };
    let entry = Entry {
        member_id: row.member_id,
        attempt_id: row.id,
        correct: i32::from(correct),
        duration_ms: i64::from(duration_ms),
        submitted_at,
    };
    let looked_up = match known_unit {
        Some(unit) => Ok(unit),
        None => state.leaderboards.unit_of(&state.db, row.member_id).await,
    };
    let unit = match looked_up {
        Ok(unit) => unit,
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "leaderboard update missed; it will be rebuilt"
            );
            state.leaderboards.missed(round.id, round.contest_id);
            return;
        }
    };
    if let Err(e) = board::record(&state.redis, &context(&round), &entry, unit).await {
        tracing::warn!(
            error = format!("{e:#}"),
            "leaderboard update missed; it will be rebuilt"
        );
        state.leaderboards.missed(round.id, round.contest_id);
    }
}

async fn names(state: &AppState, ids: &[Uuid]) -> Result<HashMap<Uuid, store::Person>, ApiError> {
    Ok(store::people(&state.db, ids).await?)
}

fn item(
    rank: i64,
    member_id: Uuid,
    people: &HashMap<Uuid, store::Person>,
    correct: i64,
    duration_ms: i64,
) -> Item {
    let person = people.get(&member_id);
    Item {
        rank,
        member_id,
        display_name: person.map(|p| p.display_name.clone()).unwrap_or_default(),
        unit: person.and_then(|p| p.unit.clone()),
        correct,
        duration_ms,
    }
}

/// A page of the round's board, rank `offset + 1` first.
pub async fn round_page(
    state: &AppState,
    round: &RoundInfo,
    limit: i64,
    offset: i64,
) -> Result<Arc<Page>, ApiError> {
    let key = (Board::Round(round.id), limit, offset);
    if let Some(page) = state.leaderboards.cached(key) {
        return Ok(page);
    }
    let flight = state.leaderboards.flight(key);
    let _computing = flight.lock().await;
    if let Some(page) = state.leaderboards.cached(key) {
        return Ok(page);
    }
    let page = match round_page_from_redis(state, round, limit, offset).await {
        Ok(Some(page)) => page,
        Ok(None) => round_page_from_postgres(state, round, limit, offset).await?,
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "reading the leaderboard from PostgreSQL"
            );
            round_page_from_postgres(state, round, limit, offset).await?
        }
    };
    let page = Arc::new(page);
    state.leaderboards.keep(key, page.clone());
    Ok(page)
}

/// Is the round's board complete in Redis — rebuilding it first if not? `false` while
/// another server rebuilds it.
async fn round_ready(state: &AppState, round: &RoundInfo) -> anyhow::Result<bool> {
    let keys = board::RoundKeys::new(&state.redis, round.id);
    Ok(board::is_ready(&state.redis, &keys.ready).await?
        || board::rebuild_round(&state.db, &state.redis, &context(round)).await?)
}

/// Every round board of a contest in Redis, rebuilding those that are not; `false` while
/// someone else is rebuilding one.
async fn rounds_ready(state: &AppState, rounds: &[Uuid]) -> anyhow::Result<bool> {
    for id in rounds {
        let Some(round) = state.caches.round(&state.db, *id).await? else {
            continue;
        };
        if !round_ready(state, &round).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `None` when the board is being rebuilt by someone else (read PostgreSQL meanwhile).
async fn round_page_from_redis(
    state: &AppState,
    round: &RoundInfo,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Option<Page>> {
    let keys = board::RoundKeys::new(&state.redis, round.id);
    if !round_ready(state, round).await? {
        return Ok(None);
    }
    let (members, total) = board::page(&state.redis, &keys.set, offset, limit).await?;
    let ids: Vec<Uuid> = members
        .iter()
        .filter_map(|(m, _)| encoding::member_id_of(m))
        .collect();
    let best: Vec<Option<String>> = if ids.is_empty() {
        Vec::new()
    } else {
        let mut hmget = redis::cmd("HMGET");
        hmget.arg(&keys.best);
        for id in &ids {
            hmget.arg(id.hyphenated().to_string());
        }
        hmget
            .query_async(&mut state.redis.conn())
            .await
            .context("reading leaderboard entries")?
    };
    let people = store::people(&state.db, &ids).await?;
    let items = ids
        .iter()
        .zip(best)
        .enumerate()
        .map(|(i, (id, best))| {
            let mut parts = best.as_deref().unwrap_or("0|0|").splitn(3, '|');
            let correct = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let duration = parts.next().and_then(|d| d.parse().ok()).unwrap_or(0);
            item(offset + i as i64 + 1, *id, &people, correct, duration)
        })
        .collect();
    Ok(Some(Page::new(items, total, Utc::now())))
}

async fn round_page_from_postgres(
    state: &AppState,
    round: &RoundInfo,
    limit: i64,
    offset: i64,
) -> Result<Page, ApiError> {
    let rows = store::round_ranking(&state.db, round.id, &round.live, Some(limit), offset).await?;
    let total = rows.first().map_or(0, |r| r.total);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.entry.member_id).collect();
    let people = names(state, &ids).await?;
    let items = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            item(
                offset + i as i64 + 1,
                r.entry.member_id,
                &people,
                i64::from(r.entry.correct),
                r.entry.duration_ms,
            )
        })
        .collect();
    Ok(Page::new(items, total, Utc::now()))
}

fn redis_unavailable(e: anyhow::Error) -> ApiError {
    tracing::warn!(error = format!("{e:#}"), "leaderboard unavailable");
    ApiError::Unavailable {
        detail: "the leaderboard is unavailable for a moment; retry shortly".to_owned(),
        retry_after_seconds: 5,
    }
}

/// A page of the contest's standing (rule 9).
pub async fn contest_page(
    state: &AppState,
    contest_id: Uuid,
    contest_rounds: &[Uuid],
    limit: i64,
    offset: i64,
) -> Result<Arc<Page>, ApiError> {
    let key = (Board::Contest(contest_id), limit, offset);
    if let Some(page) = state.leaderboards.cached(key) {
        return Ok(page);
    }
    let flight = state.leaderboards.flight(key);
    let _computing = flight.lock().await;
    if let Some(page) = state.leaderboards.cached(key) {
        return Ok(page);
    }
    let keys = board::ContestKeys::new(&state.redis, contest_id);
    let ready = board::is_ready(&state.redis, &keys.ready)
        .await
        .map_err(redis_unavailable)?;
    // The standing is kept from the round boards: each must be in Redis before it is built
    // (else the next submission would find one missing and throw the standing away).
    let built = ready
        || (rounds_ready(state, contest_rounds)
            .await
            .map_err(redis_unavailable)?
            && board::rebuild_contest(&state.db, &state.redis, contest_id, contest_rounds)
                .await
                .map_err(redis_unavailable)?);
    if !built {
        return Err(ApiError::Unavailable {
            detail: "the contest standing is being rebuilt; retry shortly".to_owned(),
            retry_after_seconds: 2,
        });
    }
    let (members, total) = board::page(&state.redis, &keys.set, offset, limit)
        .await
        .map_err(redis_unavailable)?;
    let ids: Vec<Uuid> = members
        .iter()
        .filter_map(|(m, _)| encoding::member_id_of(m))
        .collect();
    let people = names(state, &ids).await?;
    let items = members
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, ((member, score), id))| {
            let correct = (1_000_000_000.0 - score) as i64;
            let duration = member.get(..15).and_then(|d| d.parse().ok()).unwrap_or(0);
            item(offset + i as i64 + 1, *id, &people, correct, duration)
        })
        .collect();
    let page = Arc::new(Page::new(items, total, Utc::now()));
    state.leaderboards.keep(key, page.clone());
    Ok(page)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyPlace {
    /// `null` until the caller has an ended attempt at the round.
    pub rank: Option<i64>,
    pub correct: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Members on the board.
    pub total: i64,
}

/// The caller's place on the round's board.
pub async fn my_place(
    state: &AppState,
    round: &RoundInfo,
    member: Uuid,
) -> Result<MyPlace, ApiError> {
    let keys = board::RoundKeys::new(&state.redis, round.id);
    let mut place = board::my_place(&state.redis, &keys, member)
        .await
        .map_err(redis_unavailable)?;
    // Not in Redis yet: rebuild it from PostgreSQL (or wait for whoever is), once.
    if place.is_none() && round_ready(state, round).await.map_err(redis_unavailable)? {
        place = board::my_place(&state.redis, &keys, member)
            .await
            .map_err(redis_unavailable)?;
    }
    let Some((total, best, rank)) = place else {
        return Err(ApiError::Unavailable {
            detail: "the leaderboard is being rebuilt; retry shortly".to_owned(),
            retry_after_seconds: 2,
        });
    };
    let Some(best) = best else {
        return Ok(MyPlace {
            rank: None,
            correct: None,
            duration_ms: None,
            total,
        });
    };
    let mut parts = best.splitn(3, '|');
    let correct = parts.next().and_then(|c| c.parse().ok());
    let duration = parts.next().and_then(|d| d.parse().ok());
    Ok(MyPlace {
        rank: rank.map(|r| r + 1),
        correct,
        duration_ms: duration,
        total,
    })
}
