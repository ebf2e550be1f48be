//! Finalizing in PostgreSQL: the true value, the final ranking (one row per member, their
//! counted attempt by the round's full chain), and the winners. The chain's keys after
//! `correct` come in as parameters; each `CASE` sorts by a key only where the chain names
//! it. A missing prediction sorts last on that key.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::domain::round::RankKey;
use crate::judging::export::{self, ResultRow};

pub struct Counts {
    pub entries: i64,
    pub participants: i64,
    pub perfect_entries: i64,
}

pub async fn counts(tx: &mut Transaction<'_, Postgres>, round_id: Uuid) -> anyhow::Result<Counts> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "entries!", count(DISTINCT member_id) AS "participants!",
                  count(*) FILTER (WHERE correct = total) AS "perfect!"
           FROM attempts WHERE round_id = $1 AND state <> 'in_progress'"#,
        round_id
    )
    .fetch_one(&mut **tx)
    .await
    .context("counting the round's entries")?;
    Ok(Counts {
        entries: row.entries,
        participants: row.participants,
        perfect_entries: row.perfect,
    })
}

/// The participants counted when the round was finalized.
pub async fn finalized_participants(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
) -> anyhow::Result<i64> {
    let n = sqlx::query_scalar!(
        r#"SELECT participants AS "n!" FROM rounds WHERE id = $1 AND participants IS NOT NULL"#,
        round_id
    )
    .fetch_one(&mut **tx)
    .await
    .context("reading the round's participants")?;
    Ok(i64::from(n))
}

fn key(keys: &[RankKey], i: usize) -> Option<&'static str> {
    keys.iter()
        .filter(|k| **k != RankKey::Correct)
        .nth(i)
        .map(|k| k.as_str())
}

/// Stores the final ranking; answers how many members it ranked.
#[tracing::instrument(skip(tx, chain))]
pub async fn rank(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
    actual_value: i64,
    chain: &[RankKey],
) -> anyhow::Result<u64> {
    let (k1, k2, k3) = (key(chain, 0), key(chain, 1), key(chain, 2));
    let done = sqlx::query!(
        r#"WITH scored AS (
               SELECT id, member_id, correct, total, prediction,
                      abs(prediction - $2) AS prediction_error, duration_ms, submitted_at
               FROM attempts WHERE round_id = $1 AND state <> 'in_progress'
           ),
           best AS (
               SELECT DISTINCT ON (member_id) * FROM scored
               ORDER BY member_id, correct DESC,
                   CASE WHEN $3 = 'prediction' THEN prediction_error END,
                   CASE WHEN $3 = 'duration' THEN duration_ms END,
                   CASE WHEN $3 = 'submitted_at' THEN submitted_at END,
                   CASE WHEN $4 = 'prediction' THEN prediction_error END,
                   CASE WHEN $4 = 'duration' THEN duration_ms END,
                   CASE WHEN $4 = 'submitted_at' THEN submitted_at END,
                   CASE WHEN $5 = 'prediction' THEN prediction_error END,
                   CASE WHEN $5 = 'duration' THEN duration_ms END,
                   CASE WHEN $5 = 'submitted_at' THEN submitted_at END,
                   id
           )
           INSERT INTO round_results (round_id, rank, member_id, attempt_id, correct, total,
                                      prediction, prediction_error, duration_ms, submitted_at)
           SELECT $1, row_number() OVER (ORDER BY correct DESC,
                   CASE WHEN $3 = 'prediction' THEN prediction_error END,
                   CASE WHEN $3 = 'duration' THEN duration_ms END,
                   CASE WHEN $3 = 'submitted_at' THEN submitted_at END,
                   CASE WHEN $4 = 'prediction' THEN prediction_error END,
                   CASE WHEN $4 = 'duration' THEN duration_ms END,
                   CASE WHEN $4 = 'submitted_at' THEN submitted_at END,
                   CASE WHEN $5 = 'prediction' THEN prediction_error END,
                   CASE WHEN $5 = 'duration' THEN duration_ms END,
                   CASE WHEN $5 = 'submitted_at' THEN submitted_at END,
                   id),
                  member_id, id, correct, total, prediction, prediction_error, duration_ms,
                  submitted_at
           FROM best"#,
        round_id,
        actual_value,
        k1,
        k2,
        k3
    )
    .execute(&mut **tx)
    .await
    .context("storing the final ranking")?;
    Ok(done.rows_affected())
}

/// A ranked member as prizes see them.
pub struct PrizeCandidate {
    pub rank: i32,
    pub member_id: Uuid,
    pub correct: i16,
    pub eligible: bool,
}

/// Ranks `from`..`from + count` of the final ranking, with whether each may win: not
/// staff, not disqualified in this round, and — with one prize per person — not a winner
/// of another round of the contest.
pub async fn candidates(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
    from: i32,
    count: i64,
) -> anyhow::Result<Vec<PrizeCandidate>> {
    sqlx::query_as!(
        PrizeCandidate,
        r#"SELECT r.rank, r.member_id, r.correct,
                  (a.role = 'member'
                   AND NOT EXISTS (SELECT 1 FROM round_winners w
                                   WHERE w.round_id = r.round_id AND w.member_id = r.member_id
                                     AND w.disqualified_at IS NOT NULL)
                   AND NOT (c.one_prize_per_person AND EXISTS (
                       SELECT 1 FROM round_winners w JOIN rounds o ON o.id = w.round_id
                       WHERE o.contest_id = c.id AND w.round_id <> r.round_id
                         AND w.member_id = r.member_id AND w.disqualified_at IS NULL))) AS "eligible!"
           FROM round_results r
           JOIN accounts a ON a.id = r.member_id
           JOIN rounds d ON d.id = r.round_id
           JOIN contests c ON c.id = d.contest_id
           WHERE r.round_id = $1 AND r.rank >= $2
           ORDER BY r.rank
           LIMIT $3"#,
        round_id,
        from,
        count
    )
    .fetch_all(&mut **tx)
    .await
    .context("reading prize candidates")
}

pub struct CurrentWinner {
    pub member_id: Uuid,
    pub prize_position: i16,
}

pub async fn current_winners(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
) -> anyhow::Result<Vec<CurrentWinner>> {
    sqlx::query_as!(
        CurrentWinner,
        "SELECT member_id, prize_position FROM round_winners
         WHERE round_id = $1 AND disqualified_at IS NULL",
        round_id
    )
    .fetch_all(&mut **tx)
    .await
    .context("reading the winners")
}

/// Gives (or moves) a prize to a member.
pub async fn award(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
    member_id: Uuid,
    position: i16,
    name: &str,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO round_winners (round_id, member_id, prize_position, prize_name)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (round_id, member_id) DO UPDATE
             SET prize_position = excluded.prize_position, prize_name = excluded.prize_name,
                 awarded_at = now()
             WHERE round_winners.disqualified_at IS NULL",
        round_id,
        member_id,
        position,
        name
    )
    .execute(&mut **tx)
    .await
    .context("awarding a prize")?;
    Ok(())
}

pub async fn mark_finalized(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
    by: Uuid,
    actual_value: i64,
    counts: &Counts,
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE rounds SET finalized_at = now(), finalized_by = $2, actual_value = $3,
                entries = $4, participants = $5, perfect_entries = $6, updated_at = now()
         WHERE id = $1",
        round_id,
        by,
        actual_value,
        i32::try_from(counts.entries).unwrap_or(i32::MAX),
        i32::try_from(counts.participants).unwrap_or(i32::MAX),
        i32::try_from(counts.perfect_entries).unwrap_or(i32::MAX)
    )
    .execute(&mut **tx)
    .await
    .context("marking the round finalized")?;
    Ok(())
}

/// Disqualifies a current winner; `false` when the member holds no prize in the round.
pub async fn disqualify(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
    member_id: Uuid,
    by: Uuid,
    reason: &str,
) -> anyhow::Result<bool> {
    let done = sqlx::query!(
        "UPDATE round_winners SET disqualified_at = now(), disqualified_by = $3,
                disqualify_reason = $4
         WHERE round_id = $1 AND member_id = $2 AND disqualified_at IS NULL",
        round_id,
        member_id,
        by,
        reason
    )
    .execute(&mut **tx)
    .await
    .context("disqualifying a winner")?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Winner {
    pub rank: i32,
    pub prize: String,
    pub prize_position: i16,
    pub member_id: Uuid,
    pub full_name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub unit: Option<String>,
    pub correct: i16,
    pub prediction: Option<i64>,
    pub prediction_error: Option<i64>,
    pub duration_ms: i32,
    pub submitted_at: DateTime<Utc>,
    pub attempt_id: Uuid,
}

/// The current winners, top prize first, then by rank.
pub async fn winners(db: impl sqlx::PgExecutor<'_>, round_id: Uuid) -> anyhow::Result<Vec<Winner>> {
    sqlx::query_as!(
        Winner,
        r#"SELECT r.rank, w.prize_name AS prize, w.prize_position, r.member_id, a.full_name,
                  a.phone, a.id_number, u.name AS "unit?", r.correct, r.prediction,
                  r.prediction_error, r.duration_ms, r.submitted_at, r.attempt_id
           FROM round_winners w
           JOIN round_results r ON r.round_id = w.round_id AND r.member_id = w.member_id
           JOIN accounts a ON a.id = w.member_id
           LEFT JOIN units u ON u.id = a.unit_id
           WHERE w.round_id = $1 AND w.disqualified_at IS NULL
           ORDER BY w.prize_position, r.rank"#,
        round_id
    )
    .fetch_all(db)
    .await
    .context("listing the winners")
}

/// A page of the final ranking (all of it with `limit = None`), with prizes, row by row.
/// Ranks run 1, 2, 3… without gaps, so `offset` rows in is `rank > offset`: a page deep in
/// a 1,000,000-row ranking is read straight from the primary key.
pub fn result_rows(
    pool: &sqlx::PgPool,
    round_id: Uuid,
    limit: Option<i64>,
    offset: i64,
) -> futures_util::stream::BoxStream<'_, Result<ResultRow, sqlx::Error>> {
    sqlx::query_as!(
        ResultRow,
        r#"SELECT r.rank, w.prize_name AS "prize?", r.member_id, r.attempt_id, a.full_name,
                  a.phone, a.id_number, u.name AS "unit?", r.correct, r.prediction,
                  r.prediction_error, r.duration_ms, r.submitted_at
           FROM round_results r
           JOIN accounts a ON a.id = r.member_id
           LEFT JOIN units u ON u.id = a.unit_id
           LEFT JOIN round_winners w
                  ON w.round_id = r.round_id AND w.member_id = r.member_id AND w.disqualified_at IS NULL
           WHERE r.round_id = $1 AND r.rank > $3
           ORDER BY r.rank
           LIMIT $2"#,
        round_id,
        limit,
        i32::try_from(offset).unwrap_or(i32::MAX)
    )
    .fetch(pool)
}

/// A page of the final ranking, with prizes.
pub async fn results(
    pool: &sqlx::PgPool,
    round_id: Uuid,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<ResultRow>> {
    use futures_util::TryStreamExt;

    result_rows(pool, round_id, Some(limit), offset)
        .try_collect()
        .await
        .context("reading the results")
}

/// Streams the whole final ranking as CSV chunks into `sink`, never holding it all.
pub async fn stream_results_csv(
    pool: sqlx::PgPool,
    round_id: Uuid,
    sink: tokio::sync::mpsc::Sender<Result<actix_web::web::Bytes, std::io::Error>>,
) {
    use futures_util::StreamExt;

    const CHUNK_BYTES: usize = 64 * 1024;
    let mut rows = result_rows(&pool, round_id, None, 0);
    let mut chunk = export::csv_head();
    while let Some(row) = rows.next().await {
        match row {
            Ok(row) => {
                chunk.extend(export::csv_row(&row));
                if chunk.len() >= CHUNK_BYTES
                    && sink
                        .send(Ok(std::mem::take(&mut chunk).into()))
                        .await
                        .is_err()
                {
                    return; // the client went away
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "results export failed mid-stream");
                let _ = sink
                    .send(Err(std::io::Error::other(
                        "the export failed; it has been logged",
                    )))
                    .await;
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = sink.send(Ok(chunk.into())).await;
    }
}
