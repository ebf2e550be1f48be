//! Submissions that arrive together are written together: the closing minutes of a round
//! bring thousands of submissions a second, and PostgreSQL spends most of a one-row UPDATE
//! on the statement and its commit, not on the row. A writer task takes whatever
//! submissions are waiting (up to [`MAX_BATCH`]) and ends them all with one UPDATE, so one
//! commit (one WAL flush) covers the batch; each member is answered only after that commit,
//! as before. Nothing waits to fill a batch: a lone submission is written at once, and
//! batches grow only while [`IN_FLIGHT`] earlier ones are still being written.
//!
//! When a batch's statement fails (PostgreSQL away, say), each of its submissions is
//! written again on its own by its request, which then answers its own error; one that
//! the failed batch did commit is found ended and answered from what was stored.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::taking::store::{self, Submission, SubmittedRow};

/// Submissions in one statement at most.
pub const MAX_BATCH: usize = 64;
/// Batches being written at once: the rest of the pool stays free for starts and reads.
pub const IN_FLIGHT: usize = 4;

/// [`Submission`] owned, to cross to the writer task.
struct Job {
    id: Uuid,
    answers: Vec<i16>,
    prediction: i64,
    submitted_at: DateTime<Utc>,
    duration_ms: i32,
    correct: i16,
    /// `Err(())`: the batch failed; the request writes its submission alone.
    reply: oneshot::Sender<Result<Option<SubmittedRow>, ()>>,
}

/// The handle requests submit through; cheap to clone.
#[derive(Clone, Debug)]
pub struct SubmitBatcher {
    jobs: mpsc::Sender<Job>,
}

impl SubmitBatcher {
    /// Starts the writer task on the current runtime; it ends when every handle is gone.
    pub fn spawn(pool: PgPool) -> Self {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * IN_FLIGHT * 4);
        tokio::spawn(write_batches(pool, queue));
        Self { jobs }
    }

    /// Ends the attempt with its result, as [`store::submit`] does, in the next batch.
    pub async fn submit(
        &self,
        pool: &PgPool,
        s: &Submission<'_>,
    ) -> anyhow::Result<Option<SubmittedRow>> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            id: s.id,
            answers: s.answers.to_vec(),
            prediction: s.prediction,
            submitted_at: s.submitted_at,
            duration_ms: s.duration_ms,
            correct: s.correct,
            reply,
        };
        if self.jobs.send(job).await.is_ok()
            && let Ok(Ok(written)) = answer.await
        {
            return Ok(written);
        }
        // The batch failed, or the writer is gone (the server is stopping): alone.
        store::submit(pool, s).await
    }
}

async fn write_batches(pool: PgPool, mut queue: mpsc::Receiver<Job>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            write(&pool, jobs).await;
            drop(slot);
        });
    }
}

async fn write(pool: &PgPool, jobs: Vec<Job>) {
    let batch: Vec<Submission<'_>> = jobs
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
    let written = store::submit_many(pool, &batch).await;
    drop(batch);
    match written {
        Ok(rows) => {
            let by_id: HashMap<Uuid, SubmittedRow> = rows.into_iter().map(|r| (r.id, r)).collect();
            for job in jobs {
                // A request that stopped waiting (its client left) needs no answer.
                let _ = job.reply.send(Ok(by_id.get(&job.id).cloned()));
            }
        }
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                submissions = jobs.len(),
                "a batch of submissions failed; each is written alone"
            );
            for job in jobs {
                let _ = job.reply.send(Err(()));
            }
        }
    }
}
