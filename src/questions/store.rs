//! The question bank in PostgreSQL. A question is a stable handle whose content lives in
//! immutable revisions; edits add a revision, deletes hide the handle. Bulk work is
//! set-based (`UNNEST`): an import of 10,000 questions is three INSERTs.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::question::OptionSpec;
use crate::domain::{Difficulty, PoolCounts, QuestionDraft, QuestionSpec};

#[derive(Debug, Clone)]
pub struct OptionRow {
    pub id: Uuid,
    pub text: String,
    pub correct: bool,
}

#[derive(Debug, Clone)]
pub struct QuestionRow {
    pub id: Uuid,
    pub contest_id: Uuid,
    pub revision_id: Uuid,
    pub revision: i32,
    pub kind: String,
    pub text: String,
    pub category: Option<String>,
    pub difficulty: Option<String>,
    pub explanation: Option<String>,
    pub position: i32,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub options: Vec<OptionRow>,
}

impl QuestionRow {
    /// The stored content as a draft, to compare with what a file says or to re-validate
    /// after a partial change.
    pub fn draft(&self) -> QuestionDraft {
        QuestionDraft {
            text: self.text.clone(),
            kind: Some(self.kind.clone()),
            options: self
                .options
                .iter()
                .map(|o| OptionSpec {
                    text: o.text.clone(),
                    correct: o.correct,
                })
                .collect(),
            category: self.category.clone(),
            difficulty: self.difficulty.clone(),
            explanation: self.explanation.clone(),
        }
    }
}

struct HeadRow {
    id: Uuid,
    contest_id: Uuid,
    revision_id: Uuid,
    revision: i32,
    kind: String,
    text: String,
    category: Option<String>,
    difficulty: Option<String>,
    explanation: Option<String>,
    position: i32,
    source: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Attaches each revision's options, in their stored order.
async fn with_options(pool: &PgPool, heads: Vec<HeadRow>) -> anyhow::Result<Vec<QuestionRow>> {
    let revision_ids: Vec<Uuid> = heads.iter().map(|h| h.revision_id).collect();
    let rows = sqlx::query!(
        "SELECT id, revision_id, text, is_correct FROM question_options
         WHERE revision_id = ANY($1) ORDER BY revision_id, position",
        &revision_ids
    )
    .fetch_all(pool)
    .await
    .context("loading question options")?;
    let mut options: HashMap<Uuid, Vec<OptionRow>> = HashMap::new();
    for r in rows {
        options.entry(r.revision_id).or_default().push(OptionRow {
            id: r.id,
            text: r.text,
            correct: r.is_correct,
        });
    }
    Ok(heads
        .into_iter()
        .map(|h| QuestionRow {
            options: options.remove(&h.revision_id).unwrap_or_default(),
            id: h.id,
            contest_id: h.contest_id,
            revision_id: h.revision_id,
            revision: h.revision,
            kind: h.kind,
            text: h.text,
            category: h.category,
            difficulty: h.difficulty,
            explanation: h.explanation,
            position: h.position,
            source: h.source,
            created_at: h.created_at,
            updated_at: h.updated_at,
        })
        .collect())
}

/// A live (not deleted) question with its current revision.
#[tracing::instrument(skip(pool))]
pub async fn get(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<QuestionRow>> {
    let head = sqlx::query_as!(
        HeadRow,
        r#"SELECT q.id, q.contest_id, r.id AS revision_id, r.revision, r.kind, r.text, r.category,
                  r.difficulty, r.explanation, q.position, q.source, q.created_at, q.updated_at
           FROM questions q JOIN question_revisions r ON r.id = q.current_revision_id
           WHERE q.id = $1 AND q.deleted_at IS NULL"#,
        id
    )
    .fetch_optional(pool)
    .await
    .with_context(|| format!("loading question {id}"))?;
    match head {
        None => Ok(None),
        Some(head) => Ok(with_options(pool, vec![head]).await?.pop()),
    }
}

pub struct BankPage {
    pub rows: Vec<QuestionRow>,
    pub total: i64,
}

/// The live bank in its order; `limit = None` for all of it.
#[tracing::instrument(skip(pool))]
pub async fn list(
    pool: &PgPool,
    contest_id: Uuid,
    limit: Option<i64>,
    offset: i64,
) -> anyhow::Result<BankPage> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM questions WHERE contest_id = $1 AND deleted_at IS NULL"#,
        contest_id
    )
    .fetch_one(pool)
    .await
    .context("counting the bank")?;
    let heads = sqlx::query_as!(
        HeadRow,
        r#"SELECT q.id, q.contest_id, r.id AS revision_id, r.revision, r.kind, r.text, r.category,
                  r.difficulty, r.explanation, q.position, q.source, q.created_at, q.updated_at
           FROM questions q JOIN question_revisions r ON r.id = q.current_revision_id
           WHERE q.contest_id = $1 AND q.deleted_at IS NULL
           ORDER BY q.position, q.id
           LIMIT $2 OFFSET $3"#,
        contest_id,
        limit,
        offset
    )
    .fetch_all(pool)
    .await
    .context("listing the bank")?;
    Ok(BankPage {
        rows: with_options(pool, heads).await?,
        total,
    })
}

/// Stores new questions (revision 1 each) after the bank's last position. `sources[i]`
/// names where question i came from in a contest folder, if it did.
#[tracing::instrument(skip_all, fields(contest_id = %contest_id, count = specs.len()))]
pub async fn insert_many(
    tx: &mut Transaction<'_, Postgres>,
    contest_id: Uuid,
    author: Option<Uuid>,
    specs: &[QuestionSpec],
    sources: &[Option<String>],
) -> anyhow::Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = specs.iter().map(|_| Uuid::now_v7()).collect();
    let revision_ids: Vec<Uuid> = specs.iter().map(|_| Uuid::now_v7()).collect();
    let mut sources = sources.to_vec();
    sources.resize(specs.len(), None);
    sqlx::query!(
        "INSERT INTO questions (id, contest_id, current_revision_id, position, source)
         SELECT q.id, $1, q.rev, base.next + q.ord - 1, q.src
         FROM UNNEST($2::uuid[], $3::uuid[], $4::text[]) WITH ORDINALITY AS q(id, rev, src, ord),
              (SELECT coalesce(max(position) + 1, 0) AS next FROM questions WHERE contest_id = $1) AS base",
        contest_id,
        &ids,
        &revision_ids,
        &sources as &[Option<String>]
    )
    .execute(&mut **tx)
    .await
    .context("inserting questions")?;
    let pairs: Vec<(Uuid, &QuestionSpec)> = ids.iter().copied().zip(specs).collect();
    insert_revisions(tx, author, &pairs, &revision_ids).await?;
    Ok(ids)
}

/// Gives each question a new current revision with the given content.
#[tracing::instrument(skip_all, fields(count = updates.len()))]
pub async fn revise_many(
    tx: &mut Transaction<'_, Postgres>,
    author: Option<Uuid>,
    updates: &[(Uuid, QuestionSpec)],
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = updates.iter().map(|(id, _)| *id).collect();
    // Serialises concurrent edits of one question, so revision numbers never collide.
    sqlx::query!(
        "SELECT id FROM questions WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &ids
    )
    .fetch_all(&mut **tx)
    .await
    .context("locking questions")?;
    let revision_ids: Vec<Uuid> = updates.iter().map(|_| Uuid::now_v7()).collect();
    let pairs: Vec<(Uuid, &QuestionSpec)> = updates.iter().map(|(id, s)| (*id, s)).collect();
    insert_revisions(tx, author, &pairs, &revision_ids).await?;
    sqlx::query!(
        "UPDATE questions q SET current_revision_id = u.rev, updated_at = now()
         FROM UNNEST($1::uuid[], $2::uuid[]) AS u(id, rev) WHERE q.id = u.id",
        &ids,
        &revision_ids
    )
    .execute(&mut **tx)
    .await
    .context("pointing questions at their new revisions")?;
    Ok(())
}

async fn insert_revisions(
    tx: &mut Transaction<'_, Postgres>,
    author: Option<Uuid>,
    questions: &[(Uuid, &QuestionSpec)],
    revision_ids: &[Uuid],
) -> anyhow::Result<()> {
    let question_ids: Vec<Uuid> = questions.iter().map(|(id, _)| *id).collect();
    let kinds: Vec<&str> = questions.iter().map(|(_, q)| q.kind.as_str()).collect();
    let texts: Vec<&str> = questions.iter().map(|(_, q)| q.text.as_str()).collect();
    let categories: Vec<Option<&str>> = questions
        .iter()
        .map(|(_, q)| q.category.as_deref())
        .collect();
    let difficulties: Vec<Option<&str>> = questions
        .iter()
        .map(|(_, q)| q.difficulty.map(Difficulty::as_str))
        .collect();
    let explanations: Vec<Option<&str>> = questions
        .iter()
        .map(|(_, q)| q.explanation.as_deref())
        .collect();
    let masks: Vec<i16> = questions.iter().map(|(_, q)| q.correct_mask()).collect();
    let counts: Vec<i16> = questions
        .iter()
        // At most 8 options: QuestionSpec::parse guarantees it.
        .map(|(_, q)| q.options.len() as i16)
        .collect();
    sqlx::query!(
        "INSERT INTO question_revisions
             (id, question_id, revision, kind, text, category, difficulty, explanation,
              correct_mask, option_count, created_by)
         SELECT r.id, r.qid,
                coalesce((SELECT max(revision) FROM question_revisions p WHERE p.question_id = r.qid), 0) + 1,
                r.kind, r.text, r.category, r.difficulty, r.explanation, r.mask, r.n, $10
         FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::smallint[], $9::smallint[])
              AS r(id, qid, kind, text, category, difficulty, explanation, mask, n)",
        revision_ids,
        &question_ids,
        &kinds as &[&str],
        &texts as &[&str],
        &categories as &[Option<&str>],
        &difficulties as &[Option<&str>],
        &explanations as &[Option<&str>],
        &masks,
        &counts,
        author
    )
    .execute(&mut **tx)
    .await
    .context("inserting question revisions")?;

    let mut option_ids = Vec::new();
    let mut option_revisions = Vec::new();
    let mut positions: Vec<i16> = Vec::new();
    let mut option_texts: Vec<&str> = Vec::new();
    let mut correct = Vec::new();
    for ((_, q), revision_id) in questions.iter().zip(revision_ids) {
        for (position, option) in (0_i16..).zip(&q.options) {
            option_ids.push(Uuid::now_v7());
            option_revisions.push(*revision_id);
            positions.push(position);
            option_texts.push(&option.text);
            correct.push(option.correct);
        }
    }
    sqlx::query!(
        "INSERT INTO question_options (id, revision_id, position, text, is_correct)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::smallint[], $4::text[], $5::bool[])",
        &option_ids,
        &option_revisions,
        &positions,
        &option_texts as &[&str],
        &correct
    )
    .execute(&mut **tx)
    .await
    .context("inserting question options")?;
    Ok(())
}

/// Takes questions out of the bank. Their revisions stay for the attempts that showed them.
#[tracing::instrument(skip_all, fields(count = ids.len()))]
pub async fn delete_many(tx: &mut Transaction<'_, Postgres>, ids: &[Uuid]) -> anyhow::Result<u64> {
    let done = sqlx::query!(
        "UPDATE questions SET deleted_at = now(), updated_at = now()
         WHERE id = ANY($1) AND deleted_at IS NULL",
        ids
    )
    .execute(&mut **tx)
    .await
    .context("deleting questions")?;
    Ok(done.rows_affected())
}

/// How many live questions the bank holds per (category, difficulty): what a round's draw
/// can use.
#[tracing::instrument(skip(db))]
pub async fn pool_counts(
    db: impl sqlx::PgExecutor<'_>,
    contest_id: Uuid,
) -> anyhow::Result<PoolCounts> {
    let rows = sqlx::query!(
        r#"SELECT r.category, r.difficulty, count(*) AS "n!"
           FROM questions q JOIN question_revisions r ON r.id = q.current_revision_id
           WHERE q.contest_id = $1 AND q.deleted_at IS NULL
           GROUP BY r.category, r.difficulty"#,
        contest_id
    )
    .fetch_all(db)
    .await
    .context("counting the bank by category and difficulty")?;
    let mut counts = PoolCounts::default();
    for r in rows {
        counts.add(
            r.category,
            r.difficulty
                .as_deref()
                .and_then(|d| Difficulty::parse(d).ok()),
            r.n,
        );
    }
    Ok(counts)
}
