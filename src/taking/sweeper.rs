//! Closes attempts nobody submitted once their time (with grace) has run out, so they count
//! as entries even if the member never comes back. Safe in every instance at once: the
//! UPDATE skips rows another sweeper holds (`FOR UPDATE SKIP LOCKED`). Once per start it
//! also compares the live boards with PostgreSQL ([`leaderboard::reconcile`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::leaderboard;
use crate::state::AppState;
use crate::taking::store;

/// Attempts closed per statement; the sweeper loops until a batch comes back short.
const BATCH: i64 = 1000;

pub fn spawn(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reconciled = false;
        loop {
            tick.tick().await;
            state.leaderboards.heal(&state.redis).await;
            if !reconciled {
                // Once per start, as soon as PostgreSQL and Redis both answer.
                match leaderboard::reconcile(&state).await {
                    Ok(_) => reconciled = true,
                    Err(e) => tracing::warn!(
                        error = format!("{e:#}"),
                        "comparing the leaderboards with PostgreSQL failed; retrying"
                    ),
                }
            }
            if let Err(e) = sweep(&state).await {
                // PostgreSQL may be away for a while; the next tick tries again.
                tracing::warn!(error = format!("{e:#}"), "sweeping expired attempts failed");
            }
        }
    })
}

/// Closes every attempt that is due now; answers how many it closed.
pub async fn sweep(state: &AppState) -> anyhow::Result<usize> {
    let mut closed = 0;
    loop {
        let batch = store::expire_due(&state.db, None, Utc::now(), state.grace_ms, BATCH).await?;
        for row in &batch {
            leaderboard::record(state, row).await;
        }
        closed += batch.len();
        if (batch.len() as i64) < BATCH {
            if closed > 0 {
                tracing::info!(closed, "closed attempts whose time ran out");
            }
            return Ok(closed);
        }
    }
}
