//! Starts, autosaves and submissions that arrive together are written together: the minutes
//! after a round opens and before it closes bring thousands of them a second, and PostgreSQL
//! spends most of a one-row INSERT or UPDATE on the statement and its commit, not on the
//! row. A writer task per kind takes whatever is waiting (up to [`MAX_BATCH`]) and writes it
//! all with one statement, so one commit (one WAL flush) covers the batch; each member is
//! answered only after that commit, as before. Nothing waits to fill a batch: a lone request
//! is written at once, and batches grow only while [`IN_FLIGHT`] earlier ones are still
//! being written.
//!
//! When a batch's statement fails (PostgreSQL away, a deadlock between two batches), each
//! of its requests is written again on its own by its handler, which then answers its own
//! error. A submission the failed batch did commit is then found ended and answered from
//! what was stored; a start finds the attempt in progress and answers it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use prometheus::{Histogram, HistogramVec};
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::taking::store::{self, AttemptRow, NewAttempt, Save, Submission, SubmittedRow};

/// Requests in one statement at most.
pub const MAX_BATCH: usize = 64;
/// Batches of one kind being written at once: the rest of the pool stays free for the
/// other statements.
pub const IN_FLIGHT: usize = 4;

/// A job and where its result goes; `Err(())` when its batch failed.
type Queued<J, R> = (J, oneshot::Sender<Result<R, ()>>);

/// Hands jobs to a writer task that writes them in batches; cheap to clone.
pub struct Batcher<J, R> {
    jobs: mpsc::Sender<Queued<J, R>>,
}

impl<J, R> Clone for Batcher<J, R> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
        }
    }
}

impl<J, R> std::fmt::Debug for Batcher<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<J: Send + 'static, R: Send + 'static> Batcher<J, R> {
    /// Starts the writer task on the current runtime; it ends when every handle is gone.
    /// `write` answers one result per job, in the jobs' order.
    fn spawn<F, Fut>(what: &'static str, sizes: &HistogramVec, write: F) -> Self
    where
        F: Fn(Vec<J>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Vec<R>>> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * IN_FLIGHT * 4);
        let sizes = sizes.with_label_values(&[what]);
        tokio::spawn(write_batches(what, sizes, Arc::new(write), queue));
        Self { jobs }
    }

    /// The job's result from its batch; `None` when the batch failed or the writer is gone
    /// (the server is stopping): the caller then writes it alone.
    async fn run(&self, job: J) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send((job, reply)).await.ok()?;
        answer.await.ok()?.ok()
    }
}

async fn write_batches<J, R, F, Fut>(
    what: &'static str,
    sizes: Histogram,
    write: Arc<F>,
    mut queue: mpsc::Receiver<Queued<J, R>>,
) where
    J: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<J>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Vec<R>>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(queued) => batch.push(queued),
                Err(_) => break,
            }
        }
        #[allow(clippy::cast_precision_loss)] // at most MAX_BATCH
        sizes.observe(batch.len() as f64);
        let write = Arc::clone(&write);
        tokio::spawn(async move {
            let (jobs, replies): (Vec<J>, Vec<_>) = batch.into_iter().unzip();
            let count = jobs.len();
            match write(jobs).await {
                Ok(results) if results.len() == count => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        // A request that stopped waiting (its client left) needs no answer.
                        let _ = reply.send(Ok(result));
                    }
                }
                outcome => {
                    let error = match outcome {
                        Ok(results) => format!("{} results for {count} requests", results.len()),
                        Err(e) => format!("{e:#}"),
                    };
                    tracing::warn!(
                        error,
                        count,
                        "a batch of {what} failed; each is written alone"
                    );
                    for reply in replies {
                        let _ = reply.send(Err(()));
                    }
                }
            }
            drop(slot);
        });
    }
}

/// [`Submission`] owned, to cross to the writer task.
pub struct SubmitJob {
    id: Uuid,
    answers: Vec<i16>,
    prediction: i64,
    submitted_at: DateTime<Utc>,
    duration_ms: i32,
    correct: i16,
}

/// [`NewAttempt`] owned, to cross to the writer task.
pub struct StartJob {
    id: Uuid,
    round_id: Uuid,
    member_id: Uuid,
    now: DateTime<Utc>,
    paper_revisions: Vec<Uuid>,
    paper_option_order: Vec<i32>,
}

/// An autosave, owned, to cross to the writer task.
pub struct SaveJob {
    id: Uuid,
    answers: Vec<i16>,
    now: DateTime<Utc>,
}

/// The batchers of taking a round, and what a request alone is written with.
#[derive(Clone, Debug)]
pub struct Writes {
    pool: PgPool,
    /// How long past its deadline an attempt still takes answers (`HOITHI_SUBMIT_GRACE_MS`).
    grace_ms: i64,
    submits: Batcher<SubmitJob, Option<SubmittedRow>>,
    starts: Batcher<StartJob, Option<AttemptRow>>,
    saves: Batcher<SaveJob, bool>,
}

impl Writes {
    /// Starts the writer tasks on the current runtime; `sizes` counts their batches.
    pub fn spawn(pool: &PgPool, grace_ms: i64, sizes: &HistogramVec) -> Self {
        let for_submits = pool.clone();
        let for_starts = pool.clone();
        let for_saves = pool.clone();
        Self {
            pool: pool.clone(),
            grace_ms,
            saves: Batcher::spawn("autosaves", sizes, move |jobs| {
                write_saves(for_saves.clone(), jobs, grace_ms)
            }),
            submits: Batcher::spawn("submissions", sizes, move |jobs| {
                write_submissions(for_submits.clone(), jobs)
            }),
            starts: Batcher::spawn("starts", sizes, move |jobs| {
                write_starts(for_starts.clone(), jobs)
            }),
        }
    }

    /// Ends the attempt with its result, as [`store::submit`] does, in the next batch.
    pub async fn submit(&self, s: &Submission<'_>) -> anyhow::Result<Option<SubmittedRow>> {
        let job = SubmitJob {
            id: s.id,
            answers: s.answers.to_vec(),
            prediction: s.prediction,
            submitted_at: s.submitted_at,
            duration_ms: s.duration_ms,
            correct: s.correct,
        };
        match self.submits.run(job).await {
            Some(written) => Ok(written),
            None => store::submit(&self.pool, s).await,
        }
    }

    /// Saves the answers, as [`store::save_answers`] does, in the next batch.
    pub async fn save(
        &self,
        id: Uuid,
        answers: &[i16],
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let job = SaveJob {
            id,
            answers: answers.to_vec(),
            now,
        };
        match self.saves.run(job).await {
            Some(saved) => Ok(saved),
            None => {
                store::save_answers(&self.pool, &Save { id, answers, now }, self.grace_ms).await
            }
        }
    }

    /// Inserts the attempt, as [`store::insert`] does, in the next batch.
    pub async fn start(&self, new: &NewAttempt<'_>) -> anyhow::Result<Option<AttemptRow>> {
        let job = StartJob {
            id: new.id,
            round_id: new.round_id,
            member_id: new.member_id,
            now: new.now,
            paper_revisions: new.paper_revisions.to_vec(),
            paper_option_order: new.paper_option_order.to_vec(),
        };
        match self.starts.run(job).await {
            Some(inserted) => Ok(inserted),
            None => store::insert(&self.pool, new).await,
        }
    }
}

async fn write_submissions(
    pool: PgPool,
    jobs: Vec<SubmitJob>,
) -> anyhow::Result<Vec<Option<SubmittedRow>>> {
    let mut batch: Vec<Submission<'_>> = jobs
        .iter()
        .map(|j| Submission {
            id: j.id,
            answers: &j.answers,
            prediction: j.prediction,
            submitted_at: j.submitted_at,
            duration_ms: j.duration_ms,
            correct: j.correct,
        })
        .collect();
    // Rows are locked in one order by every batch, so two batches cannot deadlock.
    batch.sort_by_key(|s| s.id);
    let rows = store::submit_many(&pool, &batch).await?;
    let by_id: HashMap<Uuid, SubmittedRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(jobs.iter().map(|j| by_id.get(&j.id).cloned()).collect())
}

async fn write_starts(
    pool: PgPool,
    jobs: Vec<StartJob>,
) -> anyhow::Result<Vec<Option<AttemptRow>>> {
    let mut batch: Vec<NewAttempt<'_>> = jobs
        .iter()
        .map(|j| NewAttempt {
            id: j.id,
            round_id: j.round_id,
            member_id: j.member_id,
            now: j.now,
            paper_revisions: &j.paper_revisions,
            paper_option_order: &j.paper_option_order,
        })
        .collect();
    // Members' index entries are taken in one order by every batch (no deadlock).
    batch.sort_by_key(|n| (n.round_id, n.member_id));
    let rows = store::insert_many(&pool, &batch).await?;
    let mut by_id: HashMap<Uuid, AttemptRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(jobs.iter().map(|j| by_id.remove(&j.id)).collect())
}

async fn write_saves(pool: PgPool, jobs: Vec<SaveJob>, grace_ms: i64) -> anyhow::Result<Vec<bool>> {
    // Two saves of one attempt in a batch: the later one (the member's latest answers) is
    // written, and both are answered by its outcome.
    let mut latest: HashMap<Uuid, &SaveJob> = HashMap::with_capacity(jobs.len());
    for job in &jobs {
        latest.insert(job.id, job);
    }
    let mut batch: Vec<Save<'_>> = latest
        .values()
        .map(|j| Save {
            id: j.id,
            answers: &j.answers,
            now: j.now,
        })
        .collect();
    batch.sort_by_key(|s| s.id);
    let saved: std::collections::HashSet<Uuid> = store::save_many(&pool, &batch, grace_ms)
        .await?
        .into_iter()
        .collect();
    Ok(jobs.iter().map(|j| saved.contains(&j.id)).collect())
}
