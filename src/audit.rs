//! The append-only audit log: who changed or exported what, and when.

use anyhow::Context;
use uuid::Uuid;

/// Who acted: a signed-in account, or someone at the command line.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Account(Uuid),
    Cli,
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: Actor,
    /// Dotted lowercase words: `questions.import`, `round.close`.
    pub action: &'a str,
    pub contest_id: Option<Uuid>,
    pub round_id: Option<Uuid>,
    pub object_id: Option<String>,
    pub row_count: Option<i32>,
    pub details: serde_json::Value,
}

impl<'a> Entry<'a> {
    pub fn new(actor: Actor, action: &'a str) -> Self {
        Self {
            actor,
            action,
            contest_id: None,
            round_id: None,
            object_id: None,
            row_count: None,
            details: serde_json::json!({}),
        }
    }
}

/// Writes one line; pass the transaction of the change so both land or neither does.
pub async fn record(db: impl sqlx::PgExecutor<'_>, entry: Entry<'_>) -> anyhow::Result<()> {
    let (actor_id, actor_kind) = match entry.actor {
        Actor::Account(id) => (Some(id), "account"),
        Actor::Cli => (None, "cli"),
    };
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, actor_kind, action, contest_id, round_id, object_id, row_count, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        actor_id,
        actor_kind,
        entry.action,
        entry.contest_id,
        entry.round_id,
        entry.object_id,
        entry.row_count,
        entry.details
    )
    .execute(db)
    .await
    .with_context(|| format!("writing the audit log ({})", entry.action))?;
    Ok(())
}
