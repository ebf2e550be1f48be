//! The leaderboards in Redis: keys, the Lua that keeps them, and rebuilding them from
//! PostgreSQL.
//!
//! Per round: a sorted set (see `encoding`), a hash member → "correct|duration|entry" of
//! each member's counted attempt, and a `ready` flag. Per contest: a sorted set and a hash
//! member → entry. An empty sorted set does not exist in Redis, so `ready` is what says a
//! board is complete; a board that is not ready is rebuilt from PostgreSQL on its next read.
//!
//! A rebuild takes a lock, reads PostgreSQL, fills temporary keys and RENAMEs them into
//! place. Submissions that find the board being rebuilt queue their attempt id, and the
//! rebuilder applies the queue after the RENAME — so nothing committed during a rebuild is
//! lost. Every update is "keep the better entry", so applying one twice changes nothing.

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use redis::Script;
use uuid::Uuid;

use crate::domain::round::RankKey;
use crate::kv::Redis;
use crate::leaderboard::encoding::{self, Entry};
use crate::leaderboard::store;

/// How long a rebuild may hold its lock before another may take over.
const REBUILD_LOCK: Duration = Duration::from_secs(60);
/// Entries written per command while rebuilding.
const CHUNK: usize = 1000;

pub struct RoundKeys {
    pub set: String,
    pub best: String,
    pub ready: String,
    pub lock: String,
    pub pending: String,
    /// unit id → members of the unit on the board (participants).
    pub units: String,
}

impl RoundKeys {
    pub fn new(redis: &Redis, round_id: Uuid) -> Self {
        let base = redis.key(&format!("lb:r:{round_id}"));
        Self {
            set: base.clone(),
            best: format!("{base}:best"),
            ready: format!("{base}:ready"),
            lock: format!("{base}:lock"),
            pending: format!("{base}:pending"),
            units: format!("{base}:units"),
        }
    }
}

pub struct ContestKeys {
    pub set: String,
    pub totals: String,
    pub ready: String,
    pub lock: String,
    pub pending: String,
}

impl ContestKeys {
    pub fn new(redis: &Redis, contest_id: Uuid) -> Self {
        let base = redis.key(&format!("lb:c:{contest_id}"));
        Self {
            set: base.clone(),
            totals: format!("{base}:tot"),
            ready: format!("{base}:ready"),
            lock: format!("{base}:lock"),
            pending: format!("{base}:pending"),
        }
    }
}

/// Keeps the member's better entry on the round board, then recomputes the member's
/// contest standing from every round's counted attempts.
///
/// KEYS: round set, best, ready, lock, pending; contest set, totals, ready, lock, pending;
/// the round's unit participants; then (best, ready) of every round of the contest.
/// ARGV: member id, score, entry, correct, duration, attempt id, contest score base, and
/// `record` — or `recompute`, which only recomputes the member's contest standing — and
/// the member's unit id (or empty).
static RECORD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local member = ARGV[1]
local score = tonumber(ARGV[2])
local entry = ARGV[3]
local round_changed = false
if ARGV[8] == 'recompute' then
  round_changed = true
elseif redis.call('EXISTS', KEYS[3]) == 1 then
  local old = redis.call('HGET', KEYS[2], member)
  local better = true
  if old then
    local old_entry = string.match(old, '^[^|]*|[^|]*|(.*)$')
    local old_score = tonumber(redis.call('ZSCORE', KEYS[1], old_entry))
    if old_score and (old_score < score or (old_score == score and old_entry <= entry)) then
      better = false
    elseif old_entry then
      redis.call('ZREM', KEYS[1], old_entry)
    end
  end
  if better then
    redis.call('ZADD', KEYS[1], ARGV[2], entry)
    redis.call('HSET', KEYS[2], member, ARGV[4] .. '|' .. ARGV[5] .. '|' .. entry)
    round_changed = true
    if not old and ARGV[9] ~= '' then
      redis.call('HINCRBY', KEYS[11], ARGV[9], 1)
    end
  end
elseif redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RPUSH', KEYS[5], ARGV[6])
end
if redis.call('EXISTS', KEYS[8]) == 0 then
  if redis.call('EXISTS', KEYS[9]) == 1 then
    redis.call('RPUSH', KEYS[10], member)
  end
  return 1
end
if not round_changed then
  if ARGV[8] ~= 'recompute' and redis.call('EXISTS', KEYS[3]) == 0 then
    -- The round board is incomplete, so the contest standing cannot be computed here.
    redis.call('UNLINK', KEYS[6], KEYS[7], KEYS[8])
  end
  return 0
end
local correct, duration = 0, 0
for i = 12, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('UNLINK', KEYS[6], KEYS[7], KEYS[8])
    return 1
  end
  local best = redis.call('HGET', KEYS[i], member)
  if best then
    local c, d = string.match(best, '^([^|]*)|([^|]*)|')
    correct = correct + tonumber(c)
    duration = duration + tonumber(d)
  end
end
local old_total = redis.call('HGET', KEYS[7], member)
if old_total then redis.call('ZREM', KEYS[6], old_total) end
local total_entry = string.format('%015d', duration) .. member
redis.call('ZADD', KEYS[6], tonumber(ARGV[7]) - correct, total_entry)
redis.call('HSET', KEYS[7], member, total_entry)
return 1
"#,
    )
});

/// Puts the rebuilt keys in place and marks the board ready; answers and clears the queue
/// of updates that arrived meanwhile. KEYS: temp set, temp hash, set, hash, ready, lock,
/// pending, temp units, units.
static FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
-- UNLINK before RENAME: the old board is freed in the background (a RENAME over it, or a
-- DEL, would free a million entries inside this script and stall Redis for seconds).
redis.call('UNLINK', KEYS[3], KEYS[4], KEYS[9])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]) end
if redis.call('EXISTS', KEYS[8]) == 1 then redis.call('RENAME', KEYS[8], KEYS[9]) end
redis.call('SET', KEYS[5], '1')
local queued = redis.call('LRANGE', KEYS[7], 0, -1)
redis.call('DEL', KEYS[6], KEYS[7])
return queued
"#,
    )
});

/// What a round's board needs to record an attempt: its chain and its contest's rounds.
pub struct RoundContext<'a> {
    pub round_id: Uuid,
    pub contest_id: Uuid,
    pub live: &'a [RankKey],
    pub contest_rounds: &'a [Uuid],
}

const CONTEST_SCORE_BASE: &str = "1000000000";

/// Puts an ended attempt of a member of `unit` on the round's and the contest's boards.
pub async fn record(
    redis: &Redis,
    ctx: &RoundContext<'_>,
    entry: &Entry,
    unit: Option<Uuid>,
) -> anyhow::Result<()> {
    invoke_record(redis, ctx, entry, unit, "record").await
}

async fn invoke_record(
    redis: &Redis,
    ctx: &RoundContext<'_>,
    entry: &Entry,
    unit: Option<Uuid>,
    mode: &str,
) -> anyhow::Result<()> {
    let round = RoundKeys::new(redis, ctx.round_id);
    let contest = ContestKeys::new(redis, ctx.contest_id);
    let (score, member) = encoding::round_member(ctx.live, entry);
    let mut invocation = RECORD.prepare_invoke();
    invocation
        .key(&round.set)
        .key(&round.best)
        .key(&round.ready)
        .key(&round.lock)
        .key(&round.pending)
        .key(&contest.set)
        .key(&contest.totals)
        .key(&contest.ready)
        .key(&contest.lock)
        .key(&contest.pending)
        .key(&round.units);
    for id in ctx.contest_rounds {
        let keys = RoundKeys::new(redis, *id);
        invocation.key(keys.best).key(keys.ready);
    }
    invocation
        .arg(entry.member_id.hyphenated().to_string())
        .arg(score)
        .arg(member)
        .arg(entry.correct)
        .arg(entry.duration_ms)
        .arg(entry.attempt_id.hyphenated().to_string())
        .arg(CONTEST_SCORE_BASE)
        .arg(mode)
        .arg(unit.map(|u| u.hyphenated().to_string()).unwrap_or_default());
    let _: i64 = invocation
        .invoke_async(&mut redis.conn())
        .await
        .context("recording an attempt on the leaderboards")?;
    Ok(())
}

async fn try_lock(redis: &Redis, key: &str) -> anyhow::Result<bool> {
    let acquired: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg("1")
        .arg("NX")
        .arg("PX")
        .arg(u64::try_from(REBUILD_LOCK.as_millis()).unwrap_or(u64::MAX))
        .query_async(&mut redis.conn())
        .await
        .context("taking a leaderboard rebuild lock")?;
    Ok(acquired.is_some())
}

/// A member's place on a round board in one round trip, read atomically (a submission
/// landing meanwhile cannot put the rank past the total).
/// KEYS: ready, best, set. ARGV: member id.
/// Returns `{ready 0|1, total, best or '', 0-based rank or -1}`.
static MY_PLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0, '', -1} end
local total = redis.call('ZCARD', KEYS[3])
local best = redis.call('HGET', KEYS[2], ARGV[1])
if not best then return {1, total, '', -1} end
local entry = string.match(best, '^[^|]*|[^|]*|(.*)$')
local rank = entry and redis.call('ZRANK', KEYS[3], entry)
if not rank then return {1, total, best, -1} end
return {1, total, best, rank}
"#,
    )
});

/// A member's place: `None` while the board is not ready; else the board's size, the
/// member's best (`correct|duration|entry`) and 0-based rank when on it.
pub async fn my_place(
    redis: &Redis,
    keys: &RoundKeys,
    member: Uuid,
) -> anyhow::Result<Option<(i64, Option<String>, Option<i64>)>> {
    let (ready, total, best, rank): (i64, i64, String, i64) = MY_PLACE
        .key(&keys.ready)
        .key(&keys.best)
        .key(&keys.set)
        .arg(member.hyphenated().to_string())
        .invoke_async(&mut redis.conn())
        .await
        .context("reading a member's place")?;
    if ready == 0 {
        return Ok(None);
    }
    let best = (!best.is_empty()).then_some(best);
    let rank = (rank >= 0).then_some(rank);
    Ok(Some((total, best, rank)))
}

pub async fn is_ready(redis: &Redis, ready_key: &str) -> anyhow::Result<bool> {
    let ready: bool = redis::cmd("EXISTS")
        .arg(ready_key)
        .query_async(&mut redis.conn())
        .await
        .context("checking a leaderboard")?;
    Ok(ready)
}

async fn clear_temp(redis: &Redis, set: &str, hash: &str) -> anyhow::Result<()> {
    // UNLINK: a leftover temporary board of a million entries is freed in the background.
    let _: () = redis::cmd("UNLINK")
        .arg(set)
        .arg(hash)
        .query_async(&mut redis.conn())
        .await
        .context("clearing a temporary leaderboard")?;
    Ok(())
}

/// Fills a temporary board (emptied first) from a stream of rows, a chunk at a time, so
/// memory stays flat whatever the board's size. Returns how many rows it wrote.
async fn fill_temp(
    redis: &Redis,
    set: &str,
    hash: &str,
    rows: impl futures_util::Stream<Item = anyhow::Result<(f64, String, String, String)>>,
) -> anyhow::Result<usize> {
    clear_temp(redis, set, hash).await?;
    let mut rows = std::pin::pin!(rows);
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut count = 0;
    while let Some(row) = rows.next().await {
        chunk.push(row?);
        if chunk.len() == CHUNK {
            write_temp(redis, set, hash, &chunk).await?;
            count += chunk.len();
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        write_temp(redis, set, hash, &chunk).await?;
        count += chunk.len();
    }
    Ok(count)
}

/// Adds one chunk of rows (score, set member, hash field, hash value) to a temporary board,
/// in one round trip; [`fill_temp`] cuts the stream into chunks.
async fn write_temp(
    redis: &Redis,
    set: &str,
    hash: &str,
    rows: &[(f64, String, String, String)],
) -> anyhow::Result<()> {
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(set);
    let mut hset = redis::cmd("HSET");
    hset.arg(hash);
    for (score, member, field, value) in rows {
        zadd.arg(*score).arg(member);
        hset.arg(field).arg(value);
    }
    let _: () = redis::pipe()
        .add_command(zadd)
        .ignore()
        .add_command(hset)
        .ignore()
        .query_async(&mut redis.conn())
        .await
        .context("filling a temporary leaderboard")?;
    Ok(())
}

/// The keys a rebuild swaps: the temporary ones into the live ones.
struct Swap<'a> {
    temp_set: &'a str,
    temp_hash: &'a str,
    set: &'a str,
    hash: &'a str,
    ready: &'a str,
    lock: &'a str,
    pending: &'a str,
    temp_units: &'a str,
    units: &'a str,
}

async fn finish(redis: &Redis, swap: Swap<'_>) -> anyhow::Result<Vec<String>> {
    FINISH
        .key(swap.temp_set)
        .key(swap.temp_hash)
        .key(swap.set)
        .key(swap.hash)
        .key(swap.ready)
        .key(swap.lock)
        .key(swap.pending)
        .key(swap.temp_units)
        .key(swap.units)
        .invoke_async(&mut redis.conn())
        .await
        .context("putting a rebuilt leaderboard in place")
}

/// Rebuilds a round's board from PostgreSQL. `false` when another rebuild holds the lock.
#[tracing::instrument(skip(pool, redis, ctx), fields(round_id = %ctx.round_id))]
pub async fn rebuild_round(
    pool: &sqlx::PgPool,
    redis: &Redis,
    ctx: &RoundContext<'_>,
) -> anyhow::Result<bool> {
    let keys = RoundKeys::new(redis, ctx.round_id);
    if !try_lock(redis, &keys.lock).await? {
        return Ok(false);
    }
    let (temp_set, temp_hash) = (format!("{}:tmp", keys.set), format!("{}:tmp", keys.best));
    let rows = store::round_best(pool, ctx.round_id, ctx.live).map(|entry| {
        entry.map(|entry| {
            let (score, member) = encoding::round_member(ctx.live, &entry);
            let value = format!("{}|{}|{member}", entry.correct, entry.duration_ms);
            (
                score,
                member,
                entry.member_id.hyphenated().to_string(),
                value,
            )
        })
    });
    let count = fill_temp(redis, &temp_set, &temp_hash, rows).await?;
    let temp_units = format!("{}:tmp", keys.units);
    let units = store::unit_participants(pool, ctx.round_id).await?;
    let mut fill = redis::pipe();
    fill.del(&temp_units).ignore();
    for chunk in units.chunks(CHUNK) {
        let pairs: Vec<(String, i64)> = chunk
            .iter()
            .map(|(unit, n)| (unit.hyphenated().to_string(), *n))
            .collect();
        fill.hset_multiple(&temp_units, &pairs).ignore();
    }
    let _: () = fill
        .query_async(&mut redis.conn())
        .await
        .context("filling temporary unit counts")?;
    let queued = finish(
        redis,
        Swap {
            temp_set: &temp_set,
            temp_hash: &temp_hash,
            set: &keys.set,
            hash: &keys.best,
            ready: &keys.ready,
            lock: &keys.lock,
            pending: &keys.pending,
            temp_units: &temp_units,
            units: &keys.units,
        },
    )
    .await?;
    let ids: Vec<Uuid> = queued
        .iter()
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect();
    if !ids.is_empty() {
        for (_, entry, unit) in store::entries(pool, &ids).await? {
            record(redis, ctx, &entry, unit).await?;
        }
    }
    tracing::info!(entries = count, "rebuilt a round leaderboard");
    Ok(true)
}

/// Rebuilds a contest's standing from PostgreSQL. `false` when another rebuild holds the
/// lock.
#[tracing::instrument(skip(pool, redis, contest_rounds))]
pub async fn rebuild_contest(
    pool: &sqlx::PgPool,
    redis: &Redis,
    contest_id: Uuid,
    contest_rounds: &[Uuid],
) -> anyhow::Result<bool> {
    let keys = ContestKeys::new(redis, contest_id);
    if !try_lock(redis, &keys.lock).await? {
        return Ok(false);
    }
    let rows = store::contest_standing(pool, contest_id).map(|standing| {
        standing.map(|s| {
            let (score, member) = encoding::contest_member(s.member_id, s.correct, s.duration_ms);
            (
                score,
                member.clone(),
                s.member_id.hyphenated().to_string(),
                member,
            )
        })
    });
    let (temp_set, temp_hash) = (format!("{}:tmp", keys.set), format!("{}:tmp", keys.totals));
    let count = fill_temp(redis, &temp_set, &temp_hash, rows).await?;
    let queued = finish(
        redis,
        Swap {
            temp_set: &temp_set,
            temp_hash: &temp_hash,
            set: &keys.set,
            hash: &keys.totals,
            ready: &keys.ready,
            lock: &keys.lock,
            pending: &keys.pending,
            // A contest board keeps no unit counts of its own.
            temp_units: &format!("{}:units:tmp", keys.set),
            units: &format!("{}:units", keys.set),
        },
    )
    .await?;
    // Members whose standing changed during the rebuild: recompute them from the round
    // boards (which marks the contest board for another rebuild if a round board is not
    // complete).
    if let Some(&any_round) = contest_rounds.first() {
        let ctx = RoundContext {
            round_id: any_round,
            contest_id,
            live: &[],
            contest_rounds,
        };
        for member in queued.iter().filter_map(|s| Uuid::parse_str(s).ok()) {
            let entry = Entry {
                member_id: member,
                attempt_id: Uuid::nil(),
                correct: 0,
                duration_ms: 0,
                submitted_at: chrono::DateTime::UNIX_EPOCH,
            };
            invoke_record(redis, &ctx, &entry, None, "recompute").await?;
        }
    }
    tracing::info!(entries = count, "rebuilt a contest leaderboard");
    Ok(true)
}

/// Marks boards incomplete so their next read rebuilds them (after Redis missed updates).
pub async fn invalidate(redis: &Redis, rounds: &[Uuid], contests: &[Uuid]) -> anyhow::Result<()> {
    let mut del = redis::cmd("DEL");
    for id in rounds {
        del.arg(RoundKeys::new(redis, *id).ready);
    }
    for id in contests {
        del.arg(ContestKeys::new(redis, *id).ready);
    }
    let _: () = del
        .query_async(&mut redis.conn())
        .await
        .context("invalidating leaderboards")?;
    Ok(())
}

/// Participants per unit on a round's board (a unit's own members, not its sub-units).
pub async fn unit_participants(
    redis: &Redis,
    round_id: Uuid,
) -> anyhow::Result<std::collections::HashMap<String, i64>> {
    redis::cmd("HGETALL")
        .arg(RoundKeys::new(redis, round_id).units)
        .query_async(&mut redis.conn())
        .await
        .context("reading unit participation")
}

/// One page of a sorted set (rank `offset + 1` first) with the set's size.
pub async fn page(
    redis: &Redis,
    set: &str,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<(String, f64)>, i64)> {
    redis::pipe()
        .cmd("ZRANGE")
        .arg(set)
        .arg(offset)
        // Saturating: `offset` is whatever the client sent (up to i64::MAX), and a wrapped
        // stop would be negative, which Redis reads as counting from the end.
        .arg(offset.saturating_add(limit - 1))
        .arg("WITHSCORES")
        .cmd("ZCARD")
        .arg(set)
        .query_async(&mut redis.conn())
        .await
        .context("reading a leaderboard page")
}
