//! Judging: finalizing a closed round (the true value, the final ranking, the prizes) and
//! disqualifying winners, each in one transaction with its audit line.

pub mod export;
pub mod routes;
pub mod stats;
pub mod store;
pub mod units;
pub mod winners;

use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use crate::audit;
use crate::domain::prizes::{self, Ranked};
use crate::domain::round::{PredictionTarget, RankingChain};
use crate::error::ApiError;
use crate::rounds::store as rounds;
use crate::state::AppState;

/// Candidates read per query while giving prizes.
const PAGE: i64 = 500;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Finalized {
    pub round_id: Uuid,
    /// The true value of the round's prediction target.
    pub actual_value: i64,
    pub entries: i64,
    pub participants: i64,
    pub perfect_entries: i64,
    /// Members ranked.
    pub ranked: i64,
    pub winners: Vec<store::Winner>,
}

fn tx_error(e: sqlx::Error) -> ApiError {
    ApiError::Unexpected(anyhow::Error::new(e).context("judging transaction"))
}

/// Gives the round's prizes down its final ranking (rule 8), moving prizes that changed
/// hands; answers the prizes given or moved.
async fn allocate(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    round: &rounds::RoundRow,
    participants: i64,
) -> anyhow::Result<Vec<(Uuid, i16, String)>> {
    let cap = prizes::cap(participants, round.prize_cap_percent);
    let wanted = prizes::ladder_size(&round.prizes.0).min(cap.unwrap_or(usize::MAX));
    let mut ranking = Vec::new();
    let mut members = Vec::new();
    let mut eligible = 0;
    let mut from = 1;
    // Read down the ranking only as far as the prizes reach.
    loop {
        let page = store::candidates(tx, round.id, from, PAGE).await?;
        let fetched = page.len();
        let mut no_correct = false;
        for c in page {
            from = c.rank + 1;
            if c.correct <= 0 {
                no_correct = true;
                break;
            }
            eligible += usize::from(c.eligible);
            ranking.push(Ranked {
                correct: i32::from(c.correct),
                eligible: c.eligible,
            });
            members.push(c.member_id);
        }
        if no_correct || (fetched as i64) < PAGE || eligible >= wanted {
            break;
        }
    }
    let current: std::collections::HashMap<Uuid, i16> = store::current_winners(tx, round.id)
        .await?
        .into_iter()
        .map(|w| (w.member_id, w.prize_position))
        .collect();
    let mut changed = Vec::new();
    for award in prizes::allocate(&ranking, &round.prizes.0, cap) {
        let member = members[award.index];
        if current.get(&member) != Some(&award.position) {
            store::award(tx, round.id, member, award.position, &award.name).await?;
            changed.push((member, award.position, award.name));
        }
    }
    Ok(changed)
}

/// Finalizes a closed round, or answers the stored result when it is already finalized.
/// The round row's lock makes two judges pressing at once finalize it once.
pub async fn finalize(
    state: &AppState,
    judge: Uuid,
    round_id: Uuid,
) -> Result<Finalized, ApiError> {
    // Attempts whose time ran out but that nobody closed yet are entries too: close them
    // (and put them on the boards) before counting.
    let now = Utc::now();
    for ended in
        crate::taking::store::expire_due(&state.db, None, now, state.grace_ms, i64::MAX).await?
    {
        crate::leaderboard::record(state, &ended).await;
    }
    let mut tx = state.db.begin().await.map_err(tx_error)?;
    let (round, _) = rounds::lock(&mut tx, round_id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    if round.finalized_at.is_none() {
        // Submissions are accepted for a grace period past the close: wait for it to end,
        // so no entry can arrive after the ranking is fixed.
        if now < round.closes_at + chrono::Duration::milliseconds(state.grace_ms) {
            return Err(ApiError::conflict(
                "round_not_closed",
                "only a closed round can be finalized, once its last submissions are in",
            ));
        }
        let counts = store::counts(&mut tx, round.id).await?;
        let target =
            PredictionTarget::parse(&round.prediction_target).map_err(anyhow::Error::msg)?;
        let actual = match target {
            PredictionTarget::Entries => counts.entries,
            PredictionTarget::Participants => counts.participants,
            PredictionTarget::PerfectEntries => counts.perfect_entries,
        };
        let chain = RankingChain::parse(&round.ranking).map_err(anyhow::Error::msg)?;
        // Ranking a big round sorts a million rows twice: in memory rather than on disk.
        sqlx::query("SET LOCAL work_mem = '256MB'")
            .execute(&mut *tx)
            .await
            .map_err(tx_error)?;
        let ranked = store::rank(&mut tx, round.id, actual, chain.keys()).await?;
        let awarded = allocate(&mut tx, &round, counts.participants).await?;
        store::mark_finalized(&mut tx, round.id, judge, actual, &counts).await?;
        audit::record(
            &mut *tx,
            audit::Entry {
                contest_id: Some(round.contest_id),
                round_id: Some(round.id),
                row_count: i32::try_from(ranked).ok(),
                details: serde_json::json!({
                    "actual_value": actual,
                    "entries": counts.entries,
                    "participants": counts.participants,
                    "perfect_entries": counts.perfect_entries,
                    "winners": awarded.iter().map(|(m, p, n)| serde_json::json!({"member_id": m, "prize_position": p, "prize": n})).collect::<Vec<_>>(),
                }),
                ..audit::Entry::new(audit::Actor::Account(judge), "round.finalize")
            },
        )
        .await?;
    }
    let finalized = read_finalized(&mut tx, round.id).await?;
    tx.commit().await.map_err(tx_error)?;
    state.caches.forget_round(round.id);
    Ok(finalized)
}

async fn read_finalized(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    round_id: Uuid,
) -> Result<Finalized, ApiError> {
    let row = sqlx::query!(
        r#"SELECT actual_value AS "actual_value!", entries AS "entries!",
                  participants AS "participants!", perfect_entries AS "perfect_entries!",
                  (SELECT count(*) FROM round_results WHERE round_id = $1) AS "ranked!"
           FROM rounds WHERE id = $1 AND finalized_at IS NOT NULL"#,
        round_id
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| anyhow::Error::new(e).context("reading the finalized round"))?;
    Ok(Finalized {
        round_id,
        actual_value: row.actual_value,
        entries: i64::from(row.entries),
        participants: i64::from(row.participants),
        perfect_entries: i64::from(row.perfect_entries),
        ranked: row.ranked,
        winners: store::winners(&mut **tx, round_id).await?,
    })
}

/// Takes a winner's prize away; it passes down the ranking. Answers the winners after.
pub async fn disqualify(
    state: &AppState,
    judge: Uuid,
    round_id: Uuid,
    member_id: Uuid,
    reason: &str,
) -> Result<Vec<store::Winner>, ApiError> {
    let mut tx = state.db.begin().await.map_err(tx_error)?;
    let (round, _) = rounds::lock(&mut tx, round_id)
        .await?
        .ok_or_else(|| ApiError::not_found("round"))?;
    if round.finalized_at.is_none() {
        return Err(ApiError::conflict(
            "round_not_finalized",
            "winners exist only once the round is finalized",
        ));
    }
    if !store::disqualify(&mut tx, round.id, member_id, judge, reason).await? {
        return Err(ApiError::not_found("winner"));
    }
    // The cap counts the participants fixed at finalizing.
    let participants = store::finalized_participants(&mut tx, round.id).await?;
    let passed = allocate(&mut tx, &round, participants).await?;
    audit::record(
        &mut *tx,
        audit::Entry {
            contest_id: Some(round.contest_id),
            round_id: Some(round.id),
            object_id: Some(member_id.to_string()),
            details: serde_json::json!({
                "reason": reason,
                "passed_to": passed.iter().map(|(m, p, n)| serde_json::json!({"member_id": m, "prize_position": p, "prize": n})).collect::<Vec<_>>(),
            }),
            ..audit::Entry::new(audit::Actor::Account(judge), "round.disqualify")
        },
    )
    .await?;
    let winners = store::winners(&mut *tx, round.id).await?;
    tx.commit().await.map_err(tx_error)?;
    Ok(winners)
}
