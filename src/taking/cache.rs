//! In-process caches that let a start cost one INSERT: each contest's bank (revalidated
//! against `contests.bank_version` at most once a second, so an edit on any server is seen
//! within a second), every question revision ever shown (immutable, so cached for good),
//! and rounds (re-read after a second; the INSERT re-checks the window in SQL anyway).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::round::{RankKey, RankingChain};
use crate::domain::{Difficulty, QuestionKind};
use crate::leaderboard::encoding::live_keys;

/// How long a cached bank or round is used before it is checked again.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Revisions are small and immutable; this bounds memory after years of edits.
const MAX_REVISIONS: usize = 500_000;

#[derive(Debug, Clone)]
pub struct PaperOption {
    pub id: Uuid,
    pub text: String,
}

/// One question revision as a paper shows and grades it.
#[derive(Debug, Clone)]
pub struct PaperQuestion {
    pub revision_id: Uuid,
    pub question_id: Uuid,
    pub kind: QuestionKind,
    pub text: String,
    pub category: Option<String>,
    pub difficulty: Option<Difficulty>,
    /// In their original order; bit i of `correct_mask` is option i.
    pub options: Vec<PaperOption>,
    pub correct_mask: i16,
    /// Shown with the answer key once the round is finalized.
    pub explanation: Option<String>,
}

#[derive(Debug)]
pub struct Bank {
    pub version: i64,
    pub questions: Vec<Arc<PaperQuestion>>,
}

/// What starting and taking a round needs of it.
#[derive(Debug, Clone)]
pub struct RoundInfo {
    pub id: Uuid,
    pub contest_id: Uuid,
    pub contest_published: bool,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub finalized: bool,
    pub question_count: i16,
    pub time_limit_seconds: i32,
    pub max_attempts: i16,
    pub shuffle_options: bool,
    pub categories: BTreeMap<String, i32>,
    pub difficulties: BTreeMap<Difficulty, i32>,
    pub prediction_prompt: String,
    /// The live ranking chain's keys after `correct` (rule 7 without the prediction).
    pub live: Vec<RankKey>,
    /// Every round of the contest, this one included.
    pub contest_rounds: Vec<Uuid>,
}

#[derive(Default)]
pub struct Caches {
    banks: Mutex<HashMap<Uuid, (Instant, Arc<Bank>)>>,
    revisions: Mutex<HashMap<Uuid, Arc<PaperQuestion>>>,
    rounds: Mutex<HashMap<Uuid, (Instant, Arc<RoundInfo>)>>,
}

struct RevisionRow {
    revision_id: Uuid,
    question_id: Uuid,
    kind: String,
    text: String,
    category: Option<String>,
    difficulty: Option<String>,
    explanation: Option<String>,
    correct_mask: i16,
    option_ids: Vec<Uuid>,
    option_texts: Vec<String>,
}

fn paper_question(r: RevisionRow) -> anyhow::Result<PaperQuestion> {
    Ok(PaperQuestion {
        revision_id: r.revision_id,
        question_id: r.question_id,
        kind: QuestionKind::parse(&r.kind).map_err(anyhow::Error::msg)?,
        text: r.text,
        category: r.category,
        difficulty: r
            .difficulty
            .as_deref()
            .and_then(|d| Difficulty::parse(d).ok()),
        options: r
            .option_ids
            .into_iter()
            .zip(r.option_texts)
            .map(|(id, text)| PaperOption { id, text })
            .collect(),
        correct_mask: r.correct_mask,
        explanation: r.explanation,
    })
}

impl Caches {
    /// The contest's live bank, fresh to within a second.
    pub async fn bank(&self, pool: &PgPool, contest_id: Uuid) -> anyhow::Result<Arc<Bank>> {
        let cached = self.lock_banks().get(&contest_id).cloned();
        if let Some((checked, bank)) = &cached
            && checked.elapsed() < FRESH_FOR
        {
            return Ok(bank.clone());
        }
        let version = sqlx::query_scalar!(
            "SELECT bank_version FROM contests WHERE id = $1",
            contest_id
        )
        .fetch_one(pool)
        .await
        .context("checking the bank's version")?;
        let bank = match cached {
            Some((_, bank)) if bank.version == version => bank,
            _ => Arc::new(self.load_bank(pool, contest_id).await?),
        };
        self.lock_banks()
            .insert(contest_id, (Instant::now(), bank.clone()));
        Ok(bank)
    }

    async fn load_bank(&self, pool: &PgPool, contest_id: Uuid) -> anyhow::Result<Bank> {
        // The version is read first: a change racing this load leaves a version older than
        // the content, so the next check reloads rather than keeping stale content.
        let version = sqlx::query_scalar!(
            "SELECT bank_version FROM contests WHERE id = $1",
            contest_id
        )
        .fetch_one(pool)
        .await
        .context("reading the bank's version")?;
        let rows = sqlx::query_as!(
            RevisionRow,
            r#"SELECT r.id AS revision_id, r.question_id, r.kind, r.text, r.category, r.difficulty,
                      r.explanation, r.correct_mask,
                      array_agg(o.id ORDER BY o.position) AS "option_ids!",
                      array_agg(o.text ORDER BY o.position) AS "option_texts!"
               FROM questions q
               JOIN question_revisions r ON r.id = q.current_revision_id
               JOIN question_options o ON o.revision_id = r.id
               WHERE q.contest_id = $1 AND q.deleted_at IS NULL
               GROUP BY r.id, q.position
               ORDER BY q.position, r.id"#,
            contest_id
        )
        .fetch_all(pool)
        .await
        .context("loading the bank")?;
        let questions = self.remember(rows)?;
        Ok(Bank { version, questions })
    }

    /// Turns loaded rows into paper questions and keeps them.
    fn remember(&self, rows: Vec<RevisionRow>) -> anyhow::Result<Vec<Arc<PaperQuestion>>> {
        let questions = rows
            .into_iter()
            .map(|r| paper_question(r).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut revisions = self.lock_revisions();
        if revisions.len() + questions.len() > MAX_REVISIONS {
            revisions.clear();
        }
        for q in &questions {
            revisions.insert(q.revision_id, q.clone());
        }
        Ok(questions)
    }

    /// The given revisions, in the given order.
    pub async fn revisions(
        &self,
        pool: &PgPool,
        ids: &[Uuid],
    ) -> anyhow::Result<Vec<Arc<PaperQuestion>>> {
        let missing: Vec<Uuid> = {
            let cache = self.lock_revisions();
            ids.iter()
                .filter(|id| !cache.contains_key(id))
                .copied()
                .collect()
        };
        if !missing.is_empty() {
            let rows = sqlx::query_as!(
                RevisionRow,
                r#"SELECT r.id AS revision_id, r.question_id, r.kind, r.text, r.category, r.difficulty,
                          r.explanation, r.correct_mask,
                          array_agg(o.id ORDER BY o.position) AS "option_ids!",
                          array_agg(o.text ORDER BY o.position) AS "option_texts!"
                   FROM question_revisions r JOIN question_options o ON o.revision_id = r.id
                   WHERE r.id = ANY($1)
                   GROUP BY r.id"#,
                &missing
            )
            .fetch_all(pool)
            .await
            .context("loading question revisions")?;
            let loaded = self.remember(rows)?;
            let cache = self.lock_revisions();
            return ids
                .iter()
                .map(|id| {
                    cache
                        .get(id)
                        .cloned()
                        .or_else(|| loaded.iter().find(|q| q.revision_id == *id).cloned())
                        .with_context(|| format!("question revision {id} is missing"))
                })
                .collect();
        }
        let cache = self.lock_revisions();
        ids.iter()
            .map(|id| {
                cache
                    .get(id)
                    .cloned()
                    .with_context(|| format!("question revision {id} is missing"))
            })
            .collect()
    }

    /// The round, fresh to within a second; `None` when there is no such round.
    /// The round as last read, however long ago, without asking PostgreSQL.
    pub fn stale_round(&self, id: Uuid) -> Option<Arc<RoundInfo>> {
        self.lock_rounds().get(&id).map(|(_, round)| round.clone())
    }

    pub async fn round(&self, pool: &PgPool, id: Uuid) -> anyhow::Result<Option<Arc<RoundInfo>>> {
        if let Some((checked, round)) = self.lock_rounds().get(&id)
            && checked.elapsed() < FRESH_FOR
        {
            return Ok(Some(round.clone()));
        }
        let row = sqlx::query!(
            r#"SELECT r.id, r.contest_id, c.published_at IS NOT NULL AS "published!", r.opens_at,
                      r.closes_at, r.finalized_at IS NOT NULL AS "finalized!", r.question_count,
                      r.time_limit_seconds, r.max_attempts, r.shuffle_options,
                      r.category_quotas AS "category_quotas!: sqlx::types::Json<BTreeMap<String, i32>>",
                      r.difficulty_quotas AS "difficulty_quotas!: sqlx::types::Json<BTreeMap<String, i32>>",
                      r.prediction_prompt, r.ranking,
                      (SELECT array_agg(o.id ORDER BY o.number) FROM rounds o WHERE o.contest_id = r.contest_id)
                          AS "contest_rounds!"
               FROM rounds r JOIN contests c ON c.id = r.contest_id WHERE r.id = $1"#,
            id
        )
        .fetch_optional(pool)
        .await
        .with_context(|| format!("loading round {id}"))?;
        let Some(r) = row else { return Ok(None) };
        let round = Arc::new(RoundInfo {
            id: r.id,
            contest_id: r.contest_id,
            contest_published: r.published,
            opens_at: r.opens_at,
            closes_at: r.closes_at,
            finalized: r.finalized,
            question_count: r.question_count,
            time_limit_seconds: r.time_limit_seconds,
            max_attempts: r.max_attempts,
            shuffle_options: r.shuffle_options,
            categories: r.category_quotas.0,
            difficulties: r
                .difficulty_quotas
                .0
                .into_iter()
                .filter_map(|(k, v)| Difficulty::parse(&k).ok().map(|d| (d, v)))
                .collect(),
            prediction_prompt: r.prediction_prompt,
            live: live_keys(
                RankingChain::parse(&r.ranking)
                    .map_err(anyhow::Error::msg)?
                    .keys(),
            ),
            contest_rounds: r.contest_rounds,
        });
        self.lock_rounds()
            .insert(id, (Instant::now(), round.clone()));
        Ok(Some(round))
    }

    /// Forget a round now (this server changed it).
    pub fn forget_round(&self, id: Uuid) {
        self.lock_rounds().remove(&id);
    }

    // A poisoned lock only means another request panicked mid-update of a cache map; the
    // map itself is still valid, so carry on with it.
    fn lock_banks(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, Arc<Bank>)>> {
        self.banks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_revisions(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<PaperQuestion>>> {
        self.revisions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_rounds(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, Arc<RoundInfo>)>> {
        self.rounds.lock().unwrap_or_else(|p| p.into_inner())
    }
}
