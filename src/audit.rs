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

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Line {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The account that acted; `null` for the command line.
    pub actor_id: Option<Uuid>,
    /// `account` or `cli`.
    pub actor_kind: String,
    pub action: String,
    pub contest_id: Option<Uuid>,
    pub round_id: Option<Uuid>,
    pub object_id: Option<String>,
    pub row_count: Option<i32>,
    pub details: serde_json::Value,
}

/// The log, newest first, with the total.
pub async fn list(
    pool: &sqlx::PgPool,
    limit: i64,
    offset: i64,
) -> anyhow::Result<(Vec<Line>, i64)> {
    let total = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM audit_log"#)
        .fetch_one(pool)
        .await
        .context("counting the audit log")?;
    let lines = sqlx::query_as!(
        Line,
        "SELECT id, at, actor_id, actor_kind, action, contest_id, round_id, object_id, row_count, details
         FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2",
        limit,
        offset
    )
    .fetch_all(pool)
    .await
    .context("reading the audit log")?;
    Ok((lines, total))
}

pub mod routes {
    //! `GET /api/v1/audit`: who changed or exported what, when (admins only).

    use actix_web::{HttpResponse, web};
    use serde::{Deserialize, Serialize};
    use utoipa::{IntoParams, ToSchema};

    use crate::auth::AuthUser;
    use crate::domain::Role;
    use crate::error::{ApiError, Problem};
    use crate::extract::Page;
    use crate::state::AppState;

    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.service(web::resource("/api/v1/audit").route(web::get().to(list_audit)));
    }

    #[derive(Debug, Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    pub struct AuditQuery {
        limit: Option<i64>,
        offset: Option<i64>,
    }

    #[derive(Debug, Serialize, ToSchema)]
    pub struct AuditList {
        items: Vec<super::Line>,
        total: i64,
    }

    /// The audit log, newest first.
    #[utoipa::path(get, path = "/api/v1/audit", tag = "judging", security(("bearer" = [])),
        params(AuditQuery),
        responses(
            (status = 200, body = AuditList),
            (status = 403, body = Problem, content_type = "application/problem+json", description = "admins only"),
        ))]
    pub async fn list_audit(
        user: AuthUser,
        state: web::Data<AppState>,
        query: web::Query<AuditQuery>,
    ) -> Result<HttpResponse, ApiError> {
        user.require(&[Role::Admin])?;
        let page = Page::parse(query.limit, query.offset)?;
        let (items, total) = super::list(&state.db, page.limit, page.offset).await?;
        Ok(HttpResponse::Ok().json(AuditList { items, total }))
    }
}
