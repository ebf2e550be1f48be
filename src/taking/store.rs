//! Attempts in PostgreSQL. A start is one INSERT whose WHERE clause enforces the round's
//! window and `max_attempts`, while the unique indexes enforce one attempt in progress and
//! one number per attempt: whatever the concurrency, the database decides.
//!
//! Statements that find attempts by id test their state as `(state = 'in_progress') IS
//! TRUE`, which means the same as `state = 'in_progress'` but lets PostgreSQL use only the
//! primary key. With the plain form, and statistics read while no attempt was in progress
//! (before a round's opening burst, say), the planner took the partial index of attempts in
//! progress for a one-row index and scanned all of it for every submission: the closing
//! rush fell from 3,600 to 2,100 submissions a second, and to 550 before submissions were
//! batched.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub id: Uuid,
    pub round_id: Uuid,
    pub member_id: Uuid,
    pub number: i16,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub paper_revisions: Vec<Uuid>,
    pub paper_option_order: Vec<i32>,
    pub answers: Vec<i16>,
    pub prediction: Option<i64>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub correct: Option<i16>,
    pub total: Option<i16>,
}

pub struct NewAttempt<'a> {
    pub id: Uuid,
    pub round_id: Uuid,
    pub member_id: Uuid,
    pub now: DateTime<Utc>,
    pub paper_revisions: &'a [Uuid],
    pub paper_option_order: &'a [i32],
}

/// Inserts the attempt if the round is open at `now`, the member has attempts left and none
/// in progress; `None` otherwise (the caller finds out which). [`insert_many`] for one.
pub async fn insert(pool: &PgPool, new: &NewAttempt<'_>) -> anyhow::Result<Option<AttemptRow>> {
    Ok(insert_many(pool, std::slice::from_ref(new)).await?.pop())
}

/// Autosave: replaces the answers while the attempt is in progress and its time (with
/// grace) has not run out. `false` when it no longer is. [`save_many`] for one.
pub async fn save_answers(pool: &PgPool, save: &Save<'_>, grace_ms: i64) -> anyhow::Result<bool> {
    Ok(!save_many(pool, std::slice::from_ref(save), grace_ms)
        .await?
        .is_empty())
}

/// Ends the attempt with its result, and reads the member's unit in the same statement (the
/// leaderboards need it). `None` when it had already ended (a concurrent submit or the
/// sweeper won): the caller reads back what was stored. [`submit_many`] for one.
pub async fn submit(pool: &PgPool, s: &Submission<'_>) -> anyhow::Result<Option<SubmittedRow>> {
    Ok(submit_many(pool, std::slice::from_ref(s)).await?.pop())
}

/// [`insert`] for many starts in one statement (and one commit): what the start batcher
/// writes. Answers the attempts it inserted; a start refused (the round not open, no
/// attempts left, one already in progress) is absent. Two starts of one member in one
/// batch insert one attempt: the other meets the unique indexes and is skipped.
pub async fn insert_many(
    pool: &PgPool,
    batch: &[NewAttempt<'_>],
) -> anyhow::Result<Vec<AttemptRow>> {
    let mut ids = Vec::with_capacity(batch.len());
    let mut rounds = Vec::with_capacity(batch.len());
    let mut members = Vec::with_capacity(batch.len());
    let mut nows = Vec::with_capacity(batch.len());
    let mut revisions = Vec::with_capacity(batch.len());
    let mut orders = Vec::with_capacity(batch.len());
    for new in batch {
        ids.push(new.id);
        rounds.push(new.round_id);
        members.push(new.member_id);
        nows.push(new.now);
        revisions.push(array_literal(new.paper_revisions));
        orders.push(array_literal(new.paper_option_order));
    }
    // The papers travel as array literals: `unnest` would flatten two-dimensional arrays.
    sqlx::query_as!(
        AttemptRow,
        r#"INSERT INTO attempts (id, round_id, member_id, number, started_at, deadline,
                                 paper_revisions, paper_option_order, answers)
           SELECT v.id, r.id, v.member_id, used.n + 1, v.now,
                  least(v.now + make_interval(secs => r.time_limit_seconds), r.closes_at),
                  v.revisions::uuid[], v.orders::int4[],
                  array_fill(0::smallint, ARRAY[cardinality(v.revisions::uuid[])])
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[])
                    WITH ORDINALITY AS v(id, round_id, member_id, now, revisions, orders, position)
           JOIN rounds r ON r.id = v.round_id
           CROSS JOIN LATERAL (
               SELECT coalesce(max(a.number), 0) AS n FROM attempts a
               WHERE a.round_id = v.round_id AND a.member_id = v.member_id
           ) used
           WHERE r.opens_at <= v.now AND r.closes_at > v.now AND r.finalized_at IS NULL
             AND used.n < r.max_attempts
           ORDER BY v.position
           ON CONFLICT DO NOTHING
           RETURNING id, round_id, member_id, number, state, started_at, deadline, paper_revisions,
                     paper_option_order, answers, prediction, submitted_at, duration_ms, correct, total"#,
        &ids,
        &rounds,
        &members,
        &nows,
        &revisions,
        &orders
    )
    .fetch_all(pool)
    .await
    .context("starting a batch of attempts")
}

/// The member's attempts at the round, newest first.
pub async fn of_member(
    pool: &PgPool,
    round_id: Uuid,
    member_id: Uuid,
) -> anyhow::Result<Vec<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        r#"SELECT id, round_id, member_id, number, state, started_at, deadline, paper_revisions,
                  paper_option_order, answers, prediction, submitted_at, duration_ms, correct, total
           FROM attempts WHERE round_id = $1 AND member_id = $2 ORDER BY number DESC"#,
        round_id,
        member_id
    )
    .fetch_all(pool)
    .await
    .context("loading the member's attempts")
}

/// The attempt if it is `member_id`'s (anyone else's is absent).
pub async fn get(pool: &PgPool, id: Uuid, member_id: Uuid) -> anyhow::Result<Option<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        r#"SELECT id, round_id, member_id, number, state, started_at, deadline, paper_revisions,
                  paper_option_order, answers, prediction, submitted_at, duration_ms, correct, total
           FROM attempts WHERE id = $1 AND member_id = $2"#,
        id,
        member_id
    )
    .fetch_optional(pool)
    .await
    .with_context(|| format!("loading attempt {id}"))
}

/// An autosave: [`save_answers`]'s arguments.
pub struct Save<'a> {
    pub id: Uuid,
    pub answers: &'a [i16],
    pub now: DateTime<Utc>,
}

/// [`save_answers`] for many attempts in one statement (and one commit): what the autosave
/// batcher writes. Answers the ids it saved. Each attempt must appear once: with two
/// saves of one attempt, PostgreSQL would apply either.
pub async fn save_many(
    pool: &PgPool,
    batch: &[Save<'_>],
    grace_ms: i64,
) -> anyhow::Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = batch.iter().map(|s| s.id).collect();
    let answers: Vec<String> = batch.iter().map(|s| array_literal(s.answers)).collect();
    let nows: Vec<DateTime<Utc>> = batch.iter().map(|s| s.now).collect();
    sqlx::query_scalar!(
        r#"UPDATE attempts a SET answers = v.answers::smallint[], answers_saved_at = v.now
           FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS v(id, answers, now)
           WHERE a.id = v.id AND (a.state = 'in_progress') IS TRUE
             AND a.deadline + make_interval(secs => $4::float8 / 1000) >= v.now
           RETURNING a.id"#,
        &ids,
        &answers,
        &nows,
        grace_ms as f64
    )
    .fetch_all(pool)
    .await
    .context("saving a batch of answers")
}

pub struct Submission<'a> {
    pub id: Uuid,
    pub answers: &'a [i16],
    pub prediction: i64,
    pub submitted_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub correct: i16,
}

/// A submitted attempt with its member's unit, which the leaderboards count it under.
#[derive(Debug, Clone)]
pub struct SubmittedRow {
    pub id: Uuid,
    pub round_id: Uuid,
    pub member_id: Uuid,
    pub number: i16,
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub paper_revisions: Vec<Uuid>,
    pub paper_option_order: Vec<i32>,
    pub answers: Vec<i16>,
    pub prediction: Option<i64>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub correct: Option<i16>,
    pub total: Option<i16>,
    pub unit_id: Option<Uuid>,
}

impl SubmittedRow {
    pub fn split(self) -> (AttemptRow, Option<Uuid>) {
        let row = AttemptRow {
            id: self.id,
            round_id: self.round_id,
            member_id: self.member_id,
            number: self.number,
            state: self.state,
            started_at: self.started_at,
            deadline: self.deadline,
            paper_revisions: self.paper_revisions,
            paper_option_order: self.paper_option_order,
            answers: self.answers,
            prediction: self.prediction,
            submitted_at: self.submitted_at,
            duration_ms: self.duration_ms,
            correct: self.correct,
            total: self.total,
        };
        (row, self.unit_id)
    }
}

/// [`submit`] for many attempts in one statement (and one commit): what the submission
/// batcher writes. Answers the rows it ended; an attempt that had already ended is absent.
/// An id given twice is written once, with one of its submissions.
pub async fn submit_many(
    pool: &PgPool,
    batch: &[Submission<'_>],
) -> anyhow::Result<Vec<SubmittedRow>> {
    let mut ids = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    let mut predictions = Vec::with_capacity(batch.len());
    let mut submitted_at = Vec::with_capacity(batch.len());
    let mut durations = Vec::with_capacity(batch.len());
    let mut correct = Vec::with_capacity(batch.len());
    for s in batch {
        ids.push(s.id);
        answers.push(array_literal(s.answers));
        predictions.push(s.prediction);
        submitted_at.push(s.submitted_at);
        durations.push(s.duration_ms);
        correct.push(s.correct);
    }
    // Answers travel as array literals: `unnest` would flatten a two-dimensional array.
    sqlx::query_as!(
        SubmittedRow,
        r#"UPDATE attempts a SET state = 'submitted', answers = v.answers::smallint[],
                  prediction = v.prediction, submitted_at = v.submitted_at,
                  duration_ms = v.duration_ms, correct = v.correct,
                  total = cardinality(a.paper_revisions)
           FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::timestamptz[], $5::int4[], $6::int2[])
                AS v(id, answers, prediction, submitted_at, duration_ms, correct)
           WHERE a.id = v.id AND (a.state = 'in_progress') IS TRUE
           RETURNING a.id, a.round_id, a.member_id, a.number, a.state, a.started_at, a.deadline,
                     a.paper_revisions, a.paper_option_order, a.answers, a.prediction,
                     a.submitted_at, a.duration_ms, a.correct, a.total,
                     (SELECT unit_id FROM accounts WHERE accounts.id = a.member_id) AS unit_id"#,
        &ids,
        &answers,
        &predictions,
        &submitted_at,
        &durations,
        &correct
    )
    .fetch_all(pool)
    .await
    .context("submitting a batch of attempts")
}

/// `{1,0,4}`: PostgreSQL's text form of a one-dimensional array of numbers or UUIDs
/// (neither needs quoting).
fn array_literal<T: std::fmt::Display>(values: &[T]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(2 + values.len() * 8);
    out.push('{');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{v}");
    }
    out.push('}');
    out
}

/// Closes attempts whose time ran out (deadline + grace before `now`) with their autosaved
/// answers, graded in SQL: `only` one attempt (lazily, when touched) or up to `limit` of
/// them (the sweeper). `SKIP LOCKED` lets several sweepers run at once without waiting on
/// or double-closing each other.
#[tracing::instrument(skip(pool))]
pub async fn expire_due(
    pool: &PgPool,
    only: Option<Uuid>,
    now: DateTime<Utc>,
    grace_ms: i64,
    limit: i64,
) -> anyhow::Result<Vec<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        r#"UPDATE attempts a SET
               state = 'expired',
               submitted_at = a.deadline,
               duration_ms = (extract(epoch FROM a.deadline - a.started_at) * 1000)::integer,
               total = cardinality(a.paper_revisions),
               correct = (SELECT count(*) FROM unnest(a.paper_revisions, a.answers) AS p(rev, answer)
                          JOIN question_revisions q ON q.id = p.rev
                          WHERE q.correct_mask = p.answer)
           WHERE a.id IN (
               SELECT id FROM attempts
               WHERE state = 'in_progress'
                 AND deadline < $1::timestamptz - make_interval(secs => $2::float8 / 1000)
                 AND ($3::uuid IS NULL OR id = $3)
               ORDER BY deadline
               LIMIT $4
               FOR UPDATE SKIP LOCKED)
           RETURNING a.id, a.round_id, a.member_id, a.number, a.state, a.started_at, a.deadline,
                     a.paper_revisions, a.paper_option_order, a.answers, a.prediction,
                     a.submitted_at, a.duration_ms, a.correct, a.total"#,
        now,
        grace_ms as f64,
        only,
        limit
    )
    .fetch_all(pool)
    .await
    .context("closing attempts whose time ran out")
}
