//! Leaderboards from PostgreSQL, the truth: for rebuilding Redis, and for reading while
//! Redis is away. The live chain's keys after `correct` come in as parameters, and each
//! `CASE` sorts by a key only when that position names it (else all NULL: no effect).

use std::collections::HashMap;

use anyhow::Context;
use futures_util::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::round::RankKey;
use crate::leaderboard::encoding::Entry;

fn key_names(live: &[RankKey]) -> (Option<&'static str>, Option<&'static str>) {
    (
        live.first().map(|k| k.as_str()),
        live.get(1).map(|k| k.as_str()),
    )
}

pub struct RankedRow {
    pub entry: Entry,
    pub total: i64,
}

/// Each member's best ended attempt at the round, in no particular order, streamed (for a
/// rebuild: Redis orders them, and a million rows never sit in memory at once).
pub fn round_best<'a>(
    pool: &'a PgPool,
    round_id: Uuid,
    live: &[RankKey],
) -> impl futures_util::Stream<Item = anyhow::Result<Entry>> + 'a {
    let (k1, k2) = key_names(live);
    sqlx::query!(
        r#"SELECT DISTINCT ON (member_id) id, member_id, correct AS "correct!",
                  duration_ms AS "duration_ms!", submitted_at AS "submitted_at!"
           FROM attempts
           WHERE round_id = $1 AND state <> 'in_progress'
           ORDER BY member_id, correct DESC,
                    CASE WHEN $2 = 'duration' THEN duration_ms END,
                    CASE WHEN $2 = 'submitted_at' THEN submitted_at END,
                    CASE WHEN $3 = 'duration' THEN duration_ms END,
                    CASE WHEN $3 = 'submitted_at' THEN submitted_at END,
                    id"#,
        round_id,
        k1,
        k2
    )
    .fetch(pool)
    .map(|row| {
        let r = row.context("reading a round's best entries")?;
        Ok(Entry {
            member_id: r.member_id,
            attempt_id: r.id,
            correct: i32::from(r.correct),
            duration_ms: i64::from(r.duration_ms),
            submitted_at: r.submitted_at,
        })
    })
}

/// Each member's best ended attempt at the round, in live ranking order.
#[tracing::instrument(skip(pool))]
pub async fn round_ranking(
    pool: &PgPool,
    round_id: Uuid,
    live: &[RankKey],
    limit: Option<i64>,
    offset: i64,
) -> anyhow::Result<Vec<RankedRow>> {
    let (k1, k2) = key_names(live);
    let rows = sqlx::query!(
        r#"WITH best AS (
               SELECT DISTINCT ON (member_id) id, member_id, correct, duration_ms, submitted_at
               FROM attempts
               WHERE round_id = $1 AND state <> 'in_progress'
               ORDER BY member_id, correct DESC,
                        CASE WHEN $2 = 'duration' THEN duration_ms END,
                        CASE WHEN $2 = 'submitted_at' THEN submitted_at END,
                        CASE WHEN $3 = 'duration' THEN duration_ms END,
                        CASE WHEN $3 = 'submitted_at' THEN submitted_at END,
                        id
           )
           SELECT id AS "id!", member_id AS "member_id!", correct AS "correct!",
                  duration_ms AS "duration_ms!", submitted_at AS "submitted_at!",
                  count(*) OVER () AS "total!"
           FROM best
           ORDER BY correct DESC,
                    CASE WHEN $2 = 'duration' THEN duration_ms END,
                    CASE WHEN $2 = 'submitted_at' THEN submitted_at END,
                    CASE WHEN $3 = 'duration' THEN duration_ms END,
                    CASE WHEN $3 = 'submitted_at' THEN submitted_at END,
                    id
           LIMIT $4 OFFSET $5"#,
        round_id,
        k1,
        k2,
        limit,
        offset
    )
    .fetch_all(pool)
    .await
    .context("ranking a round from PostgreSQL")?;
    Ok(rows
        .into_iter()
        .map(|r| RankedRow {
            entry: Entry {
                member_id: r.member_id,
                attempt_id: r.id,
                correct: i32::from(r.correct),
                duration_ms: i64::from(r.duration_ms),
                submitted_at: r.submitted_at,
            },
            total: r.total,
        })
        .collect())
}

pub struct Standing {
    pub member_id: Uuid,
    pub correct: i64,
    pub duration_ms: i64,
}

/// Rule 9: per member, the sum over the contest's rounds of their counted attempt's correct
/// answers and durations (each round's best by its own live chain).
/// Streamed, in no particular order (for a rebuild).
pub fn contest_standing(
    pool: &PgPool,
    contest_id: Uuid,
) -> impl futures_util::Stream<Item = anyhow::Result<Standing>> + '_ {
    sqlx::query!(
        r#"WITH best AS (
               SELECT DISTINCT ON (a.round_id, a.member_id) a.member_id, a.correct, a.duration_ms
               FROM attempts a
               JOIN rounds r ON r.id = a.round_id,
               LATERAL (SELECT array_remove(array_remove(r.ranking, 'correct'), 'prediction') AS live) l
               WHERE r.contest_id = $1 AND a.state <> 'in_progress'
               ORDER BY a.round_id, a.member_id, a.correct DESC,
                        CASE WHEN l.live[1] = 'duration' THEN a.duration_ms END,
                        CASE WHEN l.live[1] = 'submitted_at' THEN a.submitted_at END,
                        CASE WHEN l.live[2] = 'duration' THEN a.duration_ms END,
                        CASE WHEN l.live[2] = 'submitted_at' THEN a.submitted_at END,
                        a.id
           )
           SELECT member_id AS "member_id!", sum(correct)::bigint AS "correct!",
                  sum(duration_ms)::bigint AS "duration_ms!"
           FROM best GROUP BY member_id"#,
        contest_id
    )
    .fetch(pool)
    .map(|row| {
        let r = row.context("ranking a contest from PostgreSQL")?;
        Ok(Standing {
            member_id: r.member_id,
            correct: r.correct,
            duration_ms: r.duration_ms,
        })
    })
}

/// The ended attempts with these ids (pending updates to apply after a rebuild), with
/// their round and their member's unit.
pub async fn entries(
    pool: &PgPool,
    ids: &[Uuid],
) -> anyhow::Result<Vec<(Uuid, Entry, Option<Uuid>)>> {
    let rows = sqlx::query!(
        r#"SELECT t.id, t.round_id, t.member_id, t.correct AS "correct!",
                  t.duration_ms AS "duration_ms!", t.submitted_at AS "submitted_at!", a.unit_id
           FROM attempts t JOIN accounts a ON a.id = t.member_id
           WHERE t.id = ANY($1) AND t.state <> 'in_progress'"#,
        ids
    )
    .fetch_all(pool)
    .await
    .context("loading attempts to rank")?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.round_id,
                Entry {
                    member_id: r.member_id,
                    attempt_id: r.id,
                    correct: i32::from(r.correct),
                    duration_ms: i64::from(r.duration_ms),
                    submitted_at: r.submitted_at,
                },
                r.unit_id,
            )
        })
        .collect())
}

/// Distinct members with an ended attempt at the round, per unit.
pub async fn unit_participants(pool: &PgPool, round_id: Uuid) -> anyhow::Result<Vec<(Uuid, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT a.unit_id AS "unit_id!", count(DISTINCT t.member_id) AS "n!"
           FROM attempts t JOIN accounts a ON a.id = t.member_id
           WHERE t.round_id = $1 AND t.state <> 'in_progress' AND a.unit_id IS NOT NULL
           GROUP BY a.unit_id"#,
        round_id
    )
    .fetch_all(pool)
    .await
    .context("counting participants per unit")?;
    Ok(rows.into_iter().map(|r| (r.unit_id, r.n)).collect())
}

/// The member's unit, for the per-unit participation counts.
pub async fn unit_of(pool: &PgPool, member_id: Uuid) -> anyhow::Result<Option<Uuid>> {
    let unit = sqlx::query_scalar!("SELECT unit_id FROM accounts WHERE id = $1", member_id)
        .fetch_optional(pool)
        .await
        .context("looking up a member's unit")?;
    Ok(unit.flatten())
}

#[derive(Debug, Clone)]
pub struct Person {
    pub display_name: String,
    pub unit: Option<String>,
}

/// Names and units to show; phones and ID numbers never leave here.
pub async fn people(pool: &PgPool, ids: &[Uuid]) -> anyhow::Result<HashMap<Uuid, Person>> {
    let rows = sqlx::query!(
        "SELECT a.id, a.full_name, u.name AS \"unit?\" FROM accounts a
         LEFT JOIN units u ON u.id = a.unit_id WHERE a.id = ANY($1)",
        ids
    )
    .fetch_all(pool)
    .await
    .context("loading names for a leaderboard")?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                Person {
                    display_name: r.full_name,
                    unit: r.unit,
                },
            )
        })
        .collect())
}
