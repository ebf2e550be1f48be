//! Rounds in PostgreSQL: create, read, list, change, close early.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::round::Prize;
use crate::domain::{RoundSpec, RoundState};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct RoundRow {
    pub id: Uuid,
    pub contest_id: Uuid,
    pub number: i16,
    pub title: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub question_count: i16,
    pub time_limit_seconds: i32,
    pub max_attempts: i16,
    pub shuffle_options: bool,
    pub category_quotas: Json<BTreeMap<String, i32>>,
    pub difficulty_quotas: Json<BTreeMap<String, i32>>,
    pub prediction_prompt: String,
    pub prediction_target: String,
    pub ranking: Vec<String>,
    pub prizes: Json<Vec<Prize>>,
    pub prize_cap_percent: Option<f64>,
    pub closed_early_at: Option<DateTime<Utc>>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RoundRow {
    pub fn state(&self, now: DateTime<Utc>) -> RoundState {
        RoundState::at(
            now,
            self.opens_at,
            self.closes_at,
            self.finalized_at.is_some(),
        )
    }
}

/// Reads a round and its prize ladder in one statement; `$1` is the round id or, with
/// `$2`, every round of a contest.
macro_rules! select_rounds {
    ($where:literal, $($arg:expr),*) => {
        sqlx::query_as!(
            RoundRow,
            r#"SELECT r.id, r.contest_id, r.number, r.title, r.opens_at, r.closes_at,
                      r.question_count, r.time_limit_seconds, r.max_attempts, r.shuffle_options,
                      r.category_quotas AS "category_quotas!: Json<BTreeMap<String, i32>>",
                      r.difficulty_quotas AS "difficulty_quotas!: Json<BTreeMap<String, i32>>",
                      r.prediction_prompt, r.prediction_target, r.ranking,
                      coalesce((SELECT json_agg(json_build_object('name', p.name, 'count', p.count) ORDER BY p.position)
                                FROM round_prizes p WHERE p.round_id = r.id), '[]') AS "prizes!: Json<Vec<Prize>>",
                      r.prize_cap_percent::float8 AS prize_cap_percent,
                      r.closed_early_at, r.finalized_at, r.created_at, r.updated_at
               FROM rounds r "# + $where,
            $($arg),*
        )
    };
}

#[tracing::instrument(skip(pool))]
pub async fn get(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<RoundRow>> {
    select_rounds!("WHERE r.id = $1", id)
        .fetch_optional(pool)
        .await
        .with_context(|| format!("loading round {id}"))
}

#[tracing::instrument(skip(pool))]
pub async fn list(pool: &PgPool, contest_id: Uuid) -> anyhow::Result<Vec<RoundRow>> {
    select_rounds!("WHERE r.contest_id = $1 ORDER BY r.number", contest_id)
        .fetch_all(pool)
        .await
        .context("listing rounds")
}

/// Locks the round for a change and says whether any attempt has started.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> anyhow::Result<Option<(RoundRow, bool)>> {
    let row = select_rounds!("WHERE r.id = $1 FOR UPDATE OF r", id)
        .fetch_optional(&mut **tx)
        .await
        .with_context(|| format!("locking round {id}"))?;
    let Some(row) = row else { return Ok(None) };
    let has_attempts = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM attempts WHERE round_id = $1) AS "any!""#,
        id
    )
    .fetch_one(&mut **tx)
    .await
    .context("looking for attempts")?;
    Ok(Some((row, has_attempts)))
}

fn quotas_json(spec: &RoundSpec) -> (serde_json::Value, serde_json::Value) {
    let difficulties: BTreeMap<&str, i32> = spec
        .difficulties
        .iter()
        .map(|(level, n)| (level.as_str(), *n))
        .collect();
    (
        serde_json::json!(spec.categories),
        serde_json::json!(difficulties),
    )
}

fn number_conflict(err: sqlx::Error) -> ApiError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("rounds_number_key") => {
            ApiError::conflict(
                "round_number_taken",
                "the contest already has a round with this number",
            )
        }
        _ => ApiError::Unexpected(anyhow::Error::new(err).context("storing round")),
    }
}

async fn replace_prizes(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
    prizes: &[Prize],
) -> anyhow::Result<()> {
    sqlx::query!("DELETE FROM round_prizes WHERE round_id = $1", round_id)
        .execute(&mut **tx)
        .await
        .context("clearing prizes")?;
    let names: Vec<&str> = prizes.iter().map(|p| p.name.as_str()).collect();
    let counts: Vec<i32> = prizes.iter().map(|p| p.count).collect();
    sqlx::query!(
        "INSERT INTO round_prizes (round_id, position, name, count)
         SELECT $1, p.ord, p.name, p.count
         FROM UNNEST($2::text[], $3::int[]) WITH ORDINALITY AS p(name, count, ord)",
        round_id,
        &names as &[&str],
        &counts
    )
    .execute(&mut **tx)
    .await
    .context("storing prizes")?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(contest_id = %contest_id, number = spec.number))]
pub async fn create(
    tx: &mut Transaction<'_, Postgres>,
    contest_id: Uuid,
    spec: &RoundSpec,
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    let (categories, difficulties) = quotas_json(spec);
    sqlx::query!(
        "INSERT INTO rounds (id, contest_id, number, title, opens_at, closes_at, question_count,
                             time_limit_seconds, max_attempts, shuffle_options, category_quotas,
                             difficulty_quotas, prediction_prompt, prediction_target, ranking,
                             prize_cap_percent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::float8::numeric)",
        id,
        contest_id,
        spec.number,
        spec.title,
        spec.opens_at,
        spec.closes_at,
        spec.question_count,
        spec.time_limit_seconds,
        spec.max_attempts,
        spec.shuffle_options,
        categories,
        difficulties,
        spec.prediction_prompt,
        spec.prediction_target.as_str(),
        &spec.ranking.names(),
        spec.prize_cap_percent
    )
    .execute(&mut **tx)
    .await
    .map_err(number_conflict)?;
    replace_prizes(tx, id, &spec.prizes).await?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(round_id = %id))]
pub async fn update(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    spec: &RoundSpec,
) -> Result<(), ApiError> {
    let (categories, difficulties) = quotas_json(spec);
    sqlx::query!(
        "UPDATE rounds SET number = $2, title = $3, opens_at = $4, closes_at = $5,
             question_count = $6, time_limit_seconds = $7, max_attempts = $8,
             shuffle_options = $9, category_quotas = $10, difficulty_quotas = $11,
             prediction_prompt = $12, prediction_target = $13, ranking = $14,
             prize_cap_percent = $15::float8::numeric, updated_at = now()
         WHERE id = $1",
        id,
        spec.number,
        spec.title,
        spec.opens_at,
        spec.closes_at,
        spec.question_count,
        spec.time_limit_seconds,
        spec.max_attempts,
        spec.shuffle_options,
        categories,
        difficulties,
        spec.prediction_prompt,
        spec.prediction_target.as_str(),
        &spec.ranking.names(),
        spec.prize_cap_percent
    )
    .execute(&mut **tx)
    .await
    .map_err(number_conflict)?;
    replace_prizes(tx, id, &spec.prizes).await?;
    Ok(())
}

/// Ends an open round now. `false` when it was not open (already closed, finalized, or not
/// yet opened) — decided by the database clock in the same statement, so two organisers
/// closing at once both see one close.
#[tracing::instrument(skip(db))]
pub async fn close_now(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> anyhow::Result<bool> {
    let done = sqlx::query!(
        "UPDATE rounds SET closes_at = greatest(now(), opens_at + interval '1 millisecond'),
             closed_early_at = now(), updated_at = now()
         WHERE id = $1 AND finalized_at IS NULL AND opens_at <= now() AND closes_at > now()",
        id
    )
    .execute(db)
    .await
    .with_context(|| format!("closing round {id}"))?;
    Ok(done.rows_affected() == 1)
}

/// Rule 4: an attempt's deadline is never after its round's close. When a round closes
/// early (or its close moves earlier), the attempts in progress get the new close as their
/// deadline.
pub async fn clip_deadlines(
    tx: &mut Transaction<'_, Postgres>,
    round_id: Uuid,
) -> anyhow::Result<u64> {
    let done = sqlx::query!(
        "UPDATE attempts a
         SET deadline = greatest(r.closes_at, a.started_at + interval '1 millisecond')
         FROM rounds r
         WHERE r.id = $1 AND a.round_id = r.id AND a.state = 'in_progress'
           AND a.deadline > r.closes_at",
        round_id
    )
    .execute(&mut **tx)
    .await
    .context("moving deadlines to the round's close")?;
    Ok(done.rows_affected())
}
