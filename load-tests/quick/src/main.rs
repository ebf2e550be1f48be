//! A quick load run against a running hoithi: `starts` members start an attempt at a round
//! (each member once), submit it, then leaderboard readers read the top 50 for a while.
//! Prints requests/s and latency percentiles for each phase. Tokens are minted with the
//! server's JWT secret, so no password hashing stands in the way.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

#[derive(Parser, Debug)]
struct Args {
    /// e.g. http://127.0.0.1:8080
    #[arg(long)]
    base: String,
    #[arg(long, env = "HOITHI_JWT_SECRET")]
    secret: String,
    #[arg(long)]
    round: Uuid,
    /// A file of member ids, one a line.
    #[arg(long)]
    members: std::path::PathBuf,
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    #[arg(long, default_value_t = 4000)]
    starts: usize,
    /// Seconds of leaderboard reading.
    #[arg(long, default_value_t = 10)]
    read_seconds: u64,
}

fn token(secret: &str, member: Uuid) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = json!({
        "sub": member, "role": "member", "sid": Uuid::now_v7(),
        "iss": "hoithi", "aud": "hoithi-api", "iat": now, "exp": now + 3600,
    });
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

struct Phase {
    name: &'static str,
    latencies: Mutex<Histogram<u64>>,
    errors: AtomicUsize,
}

impl Phase {
    fn new(name: &'static str) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            name,
            latencies: Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3)?),
            errors: AtomicUsize::new(0),
        }))
    }

    async fn report(&self, elapsed: Duration) {
        let h = self.latencies.lock().await;
        let ok = h.len();
        println!(
            "{:<12} {:>7} ok {:>5} errors in {:>6.2}s = {:>8.1}/s   p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
            self.name,
            ok,
            self.errors.load(Ordering::Relaxed),
            elapsed.as_secs_f64(),
            ok as f64 / elapsed.as_secs_f64(),
            h.value_at_quantile(0.50) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0,
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let members: Vec<Uuid> = std::fs::read_to_string(&args.members)
        .context("reading the members file")?
        .lines()
        .filter_map(|l| Uuid::parse_str(l.trim()).ok())
        .collect();
    anyhow::ensure!(members.len() >= args.starts, "need {} members, have {}", args.starts, members.len());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let tokens: Arc<Vec<String>> = Arc::new(
        members[..args.starts]
            .iter()
            .map(|m| token(&args.secret, *m))
            .collect::<anyhow::Result<_>>()?,
    );

    // Phase 1: every member starts once.
    let starts = Phase::new("start")?;
    let papers: Arc<Mutex<Vec<(usize, Value)>>> = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, tokens, next, starts, papers) =
            (client.clone(), tokens.clone(), next.clone(), starts.clone(), papers.clone());
        let url = format!("{}/api/v1/rounds/{}/attempts", args.base, args.round);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= tokens.len() {
                    break;
                }
                let t0 = Instant::now();
                let result = client.post(&url).bearer_auth(&tokens[i]).send().await;
                match result {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        let _ = starts.latencies.lock().await.record(t0.elapsed().as_micros() as u64);
                        papers.lock().await.push((i, body));
                    }
                    _ => {
                        starts.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    starts.report(began.elapsed()).await;

    // Phase 2: each submits the first option of every question.
    let submits = Phase::new("submit")?;
    let papers = Arc::new(std::mem::take(&mut *papers.lock().await));
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, tokens, next, submits, papers) =
            (client.clone(), tokens.clone(), next.clone(), submits.clone(), papers.clone());
        let base = args.base.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((member, paper)) = papers.get(i) else { break };
                let answers: Vec<Value> = paper["questions"]
                    .as_array()
                    .map(|qs| {
                        qs.iter()
                            .map(|q| json!({"question_id": q["id"], "option_ids": [q["options"][0]["id"]]}))
                            .collect()
                    })
                    .unwrap_or_default();
                let url = format!("{base}/api/v1/attempts/{}/submit", paper["id"].as_str().unwrap_or_default());
                let t0 = Instant::now();
                let result = client
                    .post(&url)
                    .bearer_auth(&tokens[*member])
                    .json(&json!({"answers": answers, "prediction": i}))
                    .send()
                    .await;
                match result {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        let _ = submits.latencies.lock().await.record(t0.elapsed().as_micros() as u64);
                    }
                    _ => {
                        submits.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    submits.report(began.elapsed()).await;

    // Phase 3: the top 50, as fast as it is served.
    let reads = Phase::new("top-50 read")?;
    let until = Instant::now() + Duration::from_secs(args.read_seconds);
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, reads) = (client.clone(), reads.clone());
        let url = format!("{}/api/v1/rounds/{}/leaderboard?limit=50", args.base, args.round);
        workers.push(tokio::spawn(async move {
            while Instant::now() < until {
                let t0 = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        let _ = reads.latencies.lock().await.record(t0.elapsed().as_micros() as u64);
                    }
                    _ => {
                        reads.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    reads.report(began.elapsed()).await;
    Ok(())
}
