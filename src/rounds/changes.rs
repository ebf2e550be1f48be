//! The rules for changing a stored round, shared by `PATCH /rounds/{id}` and contest
//! folders: a finalized round is fixed, and its draw is fixed once attempts exist.

use std::collections::BTreeMap;

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{RoundDraft, RoundSpec};
use crate::error::ApiError;
use crate::rounds::store::{self, RoundRow};

/// The stored round as a draft, so a patch can be applied and the whole checked again.
pub fn draft_of(r: &RoundRow) -> RoundDraft {
    RoundDraft {
        number: i64::from(r.number),
        title: r.title.clone(),
        opens_at: r.opens_at,
        closes_at: r.closes_at,
        question_count: i64::from(r.question_count),
        time_limit_seconds: i64::from(r.time_limit_seconds),
        max_attempts: i64::from(r.max_attempts),
        shuffle_options: r.shuffle_options,
        categories: widen(&r.category_quotas.0),
        difficulties: widen(&r.difficulty_quotas.0),
        prediction_prompt: r.prediction_prompt.clone(),
        prediction_target: r.prediction_target.clone(),
        ranking: Some(r.ranking.clone()),
        prizes: r.prizes.0.clone(),
        prize_cap_percent: r.prize_cap_percent,
    }
}

fn widen(quotas: &BTreeMap<String, i32>) -> BTreeMap<String, i64> {
    quotas
        .iter()
        .map(|(k, v)| (k.clone(), i64::from(*v)))
        .collect()
}

/// Do two versions of a round draw papers differently?
pub fn draw_changed(before: &RoundSpec, after: &RoundSpec) -> bool {
    before.question_count != after.question_count
        || before.categories != after.categories
        || before.difficulties != after.difficulties
        || before.shuffle_options != after.shuffle_options
        || before.time_limit_seconds != after.time_limit_seconds
}

/// Stores a changed round under its lock, refusing what the rules forbid: any change to a
/// finalized round, a new draw once attempts exist.
/// Answers whether anything changed; the caller commits.
pub async fn save(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    spec: &RoundSpec,
) -> Result<bool, ApiError> {
    let (current, has_attempts) = store::lock(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    let before = RoundSpec::parse(&draft_of(&current))
        .map_err(|_| anyhow::anyhow!("stored round {id} no longer parses"))?;
    if before == *spec {
        return Ok(false);
    }
    if current.finalized_at.is_some() {
        return Err(ApiError::conflict(
            "round_finalized",
            "the round is finalized; only a judge's disqualification changes it now",
        ));
    }
    if has_attempts && draw_changed(&before, spec) {
        return Err(ApiError::conflict(
            "round_has_attempts",
            "attempts have started, so question_count, the quotas, shuffle_options and time_limit_seconds are fixed",
        ));
    }
    store::update(tx, id, spec).await?;
    store::clip_deadlines(tx, id).await?;
    Ok(true)
}
