//! Units in PostgreSQL: set-based upsert of an imported tree, listing, subtree roll-ups.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::PgPool;

use crate::units::import::UnitRow;

/// Every stored unit's code and its parent's code.
pub async fn tree(pool: &PgPool) -> anyhow::Result<HashMap<String, Option<String>>> {
    let rows = sqlx::query!(
        r#"SELECT u.code, p.code AS "parent_code?" FROM units u LEFT JOIN units p ON p.id = u.parent_id"#
    )
    .fetch_all(pool)
    .await
    .context("loading the unit tree")?;
    Ok(rows.into_iter().map(|r| (r.code, r.parent_code)).collect())
}

/// Inserts new units and updates existing ones (by code) in one transaction: first the
/// units themselves, then their parents, both as single set-based statements.
#[tracing::instrument(skip_all, fields(units = rows.len()))]
pub async fn upsert(pool: &PgPool, rows: &[UnitRow]) -> anyhow::Result<u64> {
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let counts: Vec<i32> = rows.iter().map(|r| r.member_count).collect();
    let parents: Vec<Option<&str>> = rows.iter().map(|r| r.parent_code.as_deref()).collect();
    let ids: Vec<uuid::Uuid> = rows.iter().map(|_| uuid::Uuid::now_v7()).collect();
    let mut tx = pool.begin().await.context("starting the unit import")?;
    sqlx::query!(
        "INSERT INTO units (id, code, name, member_count)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int[])
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, member_count = EXCLUDED.member_count, updated_at = now()",
        &ids,
        &codes as &[&str],
        &names as &[&str],
        &counts,
    )
    .execute(&mut *tx)
    .await
    .context("upserting units")?;
    sqlx::query!(
        "UPDATE units u SET parent_id = p.id, updated_at = now()
         FROM UNNEST($1::text[], $2::text[]) AS f(code, parent_code)
         LEFT JOIN units p ON p.code = f.parent_code
         WHERE u.code = f.code AND u.parent_id IS DISTINCT FROM p.id",
        &codes as &[&str],
        &parents as &[Option<&str>],
    )
    .execute(&mut *tx)
    .await
    .context("setting unit parents")?;
    tx.commit().await.context("committing the unit import")?;
    Ok(rows.len() as u64)
}

#[derive(Debug)]
pub struct UnitListRow {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub member_count: i32,
    pub member_count_total: i64,
    pub children: i64,
    pub total: i64,
}

/// The children of `parent` (the roots when `None`), with the member counts of their
/// whole subtrees.
pub async fn list_children(
    pool: &PgPool,
    parent: Option<&str>,
    limit: i64,
    offset: i64,
) -> anyhow::Result<Vec<UnitListRow>> {
    sqlx::query_as!(
        UnitListRow,
        r#"SELECT u.code, u.name, p.code AS "parent_code?", u.member_count,
                  (SELECT COALESCE(sum(d.member_count), 0) FROM unit_closure c JOIN units d ON d.id = c.descendant_id
                    WHERE c.ancestor_id = u.id)::bigint AS "member_count_total!",
                  (SELECT count(*) FROM units k WHERE k.parent_id = u.id) AS "children!",
                  count(*) OVER () AS "total!"
           FROM units u LEFT JOIN units p ON p.id = u.parent_id
           WHERE ($1::text IS NULL AND u.parent_id IS NULL) OR p.code = $1
           ORDER BY u.code
           LIMIT $2 OFFSET $3"#,
        parent,
        limit,
        offset
    )
    .fetch_all(pool)
    .await
    .context("listing units")
}

pub async fn exists(pool: &PgPool, code: &str) -> anyhow::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM units WHERE code = $1) AS "exists!""#,
        code
    )
    .fetch_one(pool)
    .await
    .context("checking a unit")
}
