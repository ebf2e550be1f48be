//! Contests in PostgreSQL: find by id or slug, list what a caller may see, create, change,
//! publish.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct ContestRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub rules: String,
    pub one_prize_per_person: bool,
    pub published_at: Option<DateTime<Utc>>,
    /// `None` for contests loaded by `hoithi contest import`.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `{contest}` in a path: the contest's id or its slug.
#[tracing::instrument(skip(pool))]
pub async fn find(pool: &PgPool, key: &str) -> anyhow::Result<Option<ContestRow>> {
    let id = Uuid::parse_str(key).ok();
    sqlx::query_as!(
        ContestRow,
        r#"SELECT id, slug, title, description, rules, one_prize_per_person, published_at,
                  created_by, created_at, updated_at
           FROM contests WHERE ($1::uuid IS NOT NULL AND id = $1) OR slug = $2"#,
        id,
        key
    )
    .fetch_optional(pool)
    .await
    .with_context(|| format!("loading contest {key}"))
}

/// Is `account` the creator of the contest or on its staff?
pub async fn is_staff(pool: &PgPool, contest_id: Uuid, account: Uuid) -> anyhow::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (
               SELECT 1 FROM contests WHERE id = $1 AND created_by = $2
               UNION ALL
               SELECT 1 FROM contest_staff WHERE contest_id = $1 AND account_id = $2
           ) AS "staff!""#,
        contest_id,
        account
    )
    .fetch_one(pool)
    .await
    .context("checking contest staff")
}

pub struct ContestPage {
    pub rows: Vec<ContestRow>,
    pub total: i64,
}

/// Published contests, plus the drafts `staff_of` works on (all drafts when `all_drafts`).
#[tracing::instrument(skip(pool))]
pub async fn list(
    pool: &PgPool,
    staff_of: Option<Uuid>,
    all_drafts: bool,
    limit: i64,
    offset: i64,
) -> anyhow::Result<ContestPage> {
    let rows = sqlx::query!(
        r#"SELECT id, slug, title, description, rules, one_prize_per_person, published_at,
                  created_by, created_at, updated_at, count(*) OVER () AS "total!"
           FROM contests c
           WHERE published_at IS NOT NULL
              OR $1
              OR c.created_by = $2
              OR EXISTS (SELECT 1 FROM contest_staff s WHERE s.contest_id = c.id AND s.account_id = $2)
           ORDER BY created_at DESC, id
           LIMIT $3 OFFSET $4"#,
        all_drafts,
        staff_of,
        limit,
        offset
    )
    .fetch_all(pool)
    .await
    .context("listing contests")?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok(ContestPage {
        total,
        rows: rows
            .into_iter()
            .map(|r| ContestRow {
                id: r.id,
                slug: r.slug,
                title: r.title,
                description: r.description,
                rules: r.rules,
                one_prize_per_person: r.one_prize_per_person,
                published_at: r.published_at,
                created_by: r.created_by,
                created_at: r.created_at,
                updated_at: r.updated_at,
            })
            .collect(),
    })
}

pub struct NewContest<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub rules: &'a str,
    pub one_prize_per_person: bool,
    pub created_by: Option<Uuid>,
}

fn slug_conflict(err: sqlx::Error) -> ApiError {
    match &err {
        sqlx::Error::Database(db) if db.constraint() == Some("contests_slug_key") => {
            ApiError::conflict("slug_taken", "another contest already has this slug")
        }
        _ => ApiError::Unexpected(anyhow::Error::new(err).context("storing contest")),
    }
}

#[tracing::instrument(skip_all, fields(slug = new.slug))]
pub async fn create(
    db: impl sqlx::PgExecutor<'_>,
    new: &NewContest<'_>,
) -> Result<ContestRow, ApiError> {
    sqlx::query_as!(
        ContestRow,
        r#"INSERT INTO contests (id, slug, title, description, rules, one_prize_per_person, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING id, slug, title, description, rules, one_prize_per_person, published_at,
                     created_by, created_at, updated_at"#,
        Uuid::now_v7(),
        new.slug,
        new.title,
        new.description,
        new.rules,
        new.one_prize_per_person,
        new.created_by
    )
    .fetch_one(db)
    .await
    .map_err(slug_conflict)
}

#[derive(Debug, Default)]
pub struct ContestChanges {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub rules: Option<String>,
    pub one_prize_per_person: Option<bool>,
}

impl ContestChanges {
    /// Would applying these change `row`?
    pub fn changes(&self, row: &ContestRow) -> bool {
        self.slug.as_ref().is_some_and(|v| *v != row.slug)
            || self.title.as_ref().is_some_and(|v| *v != row.title)
            || self
                .description
                .as_ref()
                .is_some_and(|v| *v != row.description)
            || self.rules.as_ref().is_some_and(|v| *v != row.rules)
            || self
                .one_prize_per_person
                .is_some_and(|v| v != row.one_prize_per_person)
    }
}

#[tracing::instrument(skip(db, changes))]
pub async fn update(
    db: impl sqlx::PgExecutor<'_>,
    id: Uuid,
    changes: &ContestChanges,
) -> Result<ContestRow, ApiError> {
    sqlx::query_as!(
        ContestRow,
        r#"UPDATE contests SET
               slug = coalesce($2, slug),
               title = coalesce($3, title),
               description = coalesce($4, description),
               rules = coalesce($5, rules),
               one_prize_per_person = coalesce($6, one_prize_per_person),
               updated_at = now()
           WHERE id = $1
           RETURNING id, slug, title, description, rules, one_prize_per_person, published_at,
                     created_by, created_at, updated_at"#,
        id,
        changes.slug,
        changes.title,
        changes.description,
        changes.rules,
        changes.one_prize_per_person
    )
    .fetch_one(db)
    .await
    .map_err(slug_conflict)
}

/// Publishing twice keeps the first moment.
#[tracing::instrument(skip(db))]
pub async fn publish(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> anyhow::Result<ContestRow> {
    sqlx::query_as!(
        ContestRow,
        r#"UPDATE contests SET published_at = coalesce(published_at, now()), updated_at = now()
           WHERE id = $1
           RETURNING id, slug, title, description, rules, one_prize_per_person, published_at,
                     created_by, created_at, updated_at"#,
        id
    )
    .fetch_one(db)
    .await
    .context("publishing contest")
}

/// Puts an organiser or judge on a contest's staff; doing it again changes nothing.
pub async fn add_staff(
    db: impl sqlx::PgExecutor<'_>,
    contest_id: Uuid,
    account_id: Uuid,
    role: &str,
) -> anyhow::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO contest_staff (contest_id, account_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (contest_id, account_id) DO NOTHING",
        contest_id,
        account_id,
        role
    )
    .execute(db)
    .await
    .context("adding contest staff")?;
    Ok(done.rows_affected() == 1)
}
