//! The fault suite's client and checker; `scripts/fault-tests.sh` injects the faults.
//!
//! `fault take` plays members the way the app behaves on a bad link: start, answer, submit,
//! and retry whatever failed (a refused connection, a 5xx, a 408 or a 429, after its
//! `Retry-After`) until it is answered or the member's patience runs out. Every submission
//! answered 200 is an *acknowledged* one and is written down with its result; every
//! request's outcome goes to a timeline.
//!
//! `fault verify` holds that against PostgreSQL: an acknowledged submission missing or
//! with another result is *lost*, a member with two attempts where one was started is
//! *duplicated*; the live leaderboard must hold exactly PostgreSQL's entries; and the
//! timeline gives how long the service was unavailable and how soon it recovered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::scenarios::{answer_by, answer_key, token};
use crate::seed::member_id;

#[derive(clap::Subcommand)]
pub enum FaultCommand {
    /// Members start, answer and submit with retries; writes acknowledgements and a timeline.
    Take(TakeArgs),
    /// Checks the acknowledgements and the leaderboard against PostgreSQL.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct TakeArgs {
    /// The servers, comma-separated: requests go round-robin, as behind a load balancer.
    #[arg(long, value_delimiter = ',', required = true)]
    base: Vec<String>,
    #[arg(long, env = "HOITHI_JWT_SECRET", hide_env_values = true)]
    secret: String,
    #[arg(long)]
    round: Uuid,
    /// An admin's account id: the answer key is read with its token.
    #[arg(long)]
    admin: Uuid,
    /// Members first_member.. are played, each once.
    #[arg(long)]
    first_member: u64,
    #[arg(long)]
    members: u64,
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// No member starts after this many seconds.
    #[arg(long)]
    seconds: u64,
    /// How long a member keeps retrying one request before giving up.
    #[arg(long, default_value_t = 60)]
    patience: u64,
    /// Acknowledged submissions, one JSON line each.
    #[arg(long)]
    acks: PathBuf,
    /// Every request: `epoch_ms status latency_ms` (status 0: no answer).
    #[arg(long)]
    timeline: PathBuf,
    /// The take's own figures (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Send every start and every submission twice at once (a double tap, or a retry
    /// racing the original), through different servers behind a balancer.
    #[arg(long)]
    twice: bool,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[arg(long)]
    round: Uuid,
    #[arg(long)]
    scenario: String,
    /// The members `fault take` played (for duplicates: others may hold several attempts
    /// on purpose).
    #[arg(long)]
    first_member: u64,
    #[arg(long)]
    members: u64,
    /// What `fault take` wrote.
    #[arg(long)]
    acks: PathBuf,
    #[arg(long)]
    timeline: PathBuf,
    #[arg(long)]
    take: PathBuf,
    /// When the fault was injected and when the failed part was back (epoch ms).
    #[arg(long)]
    fault_at: Option<i64>,
    #[arg(long)]
    restored_at: Option<i64>,
    /// A server to read the live leaderboard from.
    #[arg(long)]
    base: Option<String>,
    /// Extra figures the script measured, `name=value` (repeatable).
    #[arg(long = "figure")]
    figures: Vec<String>,
    #[arg(long)]
    out: PathBuf,
}

pub async fn run(command: FaultCommand) -> anyhow::Result<()> {
    match command {
        FaultCommand::Take(args) => take(args).await,
        FaultCommand::Verify(args) => verify(args).await,
    }
}

/// A submission answered 200, with the result it was answered with.
#[derive(Debug, Serialize, Deserialize)]
struct Ack {
    member: Uuid,
    attempt: Uuid,
    correct: i64,
    duration_ms: i64,
    submitted_at: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TakeReport {
    members: u64,
    acknowledged: u64,
    /// Members whose request kept failing past `--patience`.
    gave_up: u64,
    /// Members refused for good (4xx other than 408/429), with the codes.
    refused: BTreeMap<String, u64>,
    /// Acknowledged grades that differ from the bank's key.
    wrong_grades: u64,
    /// 503 answers without `Retry-After`.
    unavailable_without_retry_after: u64,
    /// Responses that broke the contract (a body that is not the promised JSON).
    malformed: u64,
    /// With `--twice`: the two copies of a request answered differently (two attempts
    /// started, or two results for one submission).
    twins_differ: u64,
}

struct Ctx {
    args: TakeArgs,
    client: reqwest::Client,
    key: HashMap<Uuid, HashSet<Uuid>>,
    started: Instant,
    next_member: AtomicU64,
    next_base: AtomicUsize,
    timeline: Mutex<Vec<(i64, u16, u32)>>,
    acks: Mutex<Vec<Ack>>,
    report: Mutex<TakeReport>,
}

enum Answer {
    Ok(Value),
    /// A final 4xx: the member cannot go on.
    Refused(String),
    GaveUp,
}

impl Ctx {
    fn record(&self, status: u16, latency: Duration) {
        let at = Utc::now().timestamp_millis();
        let ms = u32::try_from(latency.as_millis()).unwrap_or(u32::MAX);
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at, status, ms));
    }

    fn tally(&self, f: impl FnOnce(&mut TakeReport)) {
        f(&mut self.report.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// One request, retried as the app retries it.
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Answer {
        let patience = Duration::from_secs(self.args.patience);
        let first = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            let n = self.next_base.fetch_add(1, Ordering::Relaxed);
            let base = &self.args.base[n % self.args.base.len()];
            let mut request = self
                .client
                .request(method.clone(), format!("{base}{path}"))
                .bearer_auth(token)
                .timeout(Duration::from_secs(15));
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = Instant::now();
            let mut wait = backoff;
            match request.send().await {
                Err(_) => self.record(0, sent.elapsed()),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let text = response.text().await;
                    self.record(if text.is_ok() { status } else { 0 }, sent.elapsed());
                    if let Ok(text) = text {
                        let retry = status == 408 || status == 429 || status >= 500;
                        if status == 503 && retry_after.is_none() {
                            self.tally(|r| r.unavailable_without_retry_after += 1);
                        }
                        if !retry {
                            let value = if text.is_empty() {
                                Value::Null
                            } else if let Ok(v) = serde_json::from_str(&text) {
                                v
                            } else {
                                self.tally(|r| r.malformed += 1);
                                Value::Null
                            };
                            return if status < 400 {
                                Answer::Ok(value)
                            } else {
                                let code = value["code"].as_str().unwrap_or("?");
                                Answer::Refused(format!("{status} {code}"))
                            };
                        }
                        if let Some(seconds) = retry_after {
                            // The app honours Retry-After, but a contest closing soon
                            // does not wait long: at most 2 s between tries.
                            wait = Duration::from_secs(seconds).min(Duration::from_secs(2));
                        }
                    }
                }
            }
            if first.elapsed() + wait > patience {
                return Answer::GaveUp;
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// One member: start, answer by the key, submit.
    async fn member(&self, number: u64) -> anyhow::Result<()> {
        let id = member_id(number);
        let token = token(&self.args.secret, id, "member")?;
        let start = format!("/api/v1/rounds/{}/attempts", self.args.round);
        let paper = match self.send(&start, &token, None, |a| a["id"].clone()).await {
            Answer::Ok(paper) => paper,
            failed => {
                self.stopped(failed);
                return Ok(());
            }
        };
        let attempt: Uuid = serde_json::from_value(paper["id"].clone())
            .with_context(|| format!("member {number}: a start without an attempt id: {paper}"))?;
        let (answers, right) = answer_by(&self.key, 0.7, &paper).map_err(anyhow::Error::msg)?;
        let submit = format!("/api/v1/attempts/{attempt}/submit");
        let body = json!({"answers": answers, "prediction": number % 50_000});
        let result = match self.send(&submit, &token, Some(&body), Value::clone).await {
            Answer::Ok(result) => result,
            failed => {
                self.stopped(failed);
                return Ok(());
            }
        };
        let ack = Ack {
            member: id,
            attempt,
            correct: result["correct"].as_i64().context("no correct")?,
            duration_ms: result["duration_ms"].as_i64().context("no duration_ms")?,
            submitted_at: serde_json::from_value(result["submitted_at"].clone())
                .context("no submitted_at")?,
        };
        let wrong = usize::try_from(ack.correct).ok() != Some(right);
        self.tally(|r| {
            r.acknowledged += 1;
            r.wrong_grades += u64::from(wrong);
        });
        self.acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ack);
        Ok(())
    }

    /// A POST, or with `--twice` two identical POSTs at once whose answers must agree on
    /// `same` (the attempt's id for a start, the whole result for a submission).
    async fn send(
        &self,
        path: &str,
        token: &str,
        body: Option<&Value>,
        same: impl Fn(&Value) -> Value,
    ) -> Answer {
        if !self.args.twice {
            return self.call(Method::POST, path, token, body).await;
        }
        let (first, second) = tokio::join!(
            self.call(Method::POST, path, token, body),
            self.call(Method::POST, path, token, body)
        );
        match (first, second) {
            (Answer::Ok(a), Answer::Ok(b)) => {
                if same(&a) != same(&b) {
                    self.tally(|r| r.twins_differ += 1);
                }
                Answer::Ok(a)
            }
            (Answer::Ok(a), _) | (_, Answer::Ok(a)) => Answer::Ok(a),
            (failed, _) => failed,
        }
    }

    /// Counts a member who could not go on.
    fn stopped(&self, answer: Answer) {
        match answer {
            Answer::Ok(_) => {}
            Answer::Refused(code) => self.tally(|r| *r.refused.entry(code).or_default() += 1),
            Answer::GaveUp => self.tally(|r| r.gave_up += 1),
        }
    }
}

async fn take(args: TakeArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = args.base[0].clone();
    let admin = token(&args.secret, args.admin, "admin")?;
    let round: Value = client
        .get(format!("{base}/api/v1/rounds/{}", args.round))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let contest = round["contest_id"]
        .as_str()
        .with_context(|| format!("reading the round: {round}"))?;
    let key = answer_key(&client, &base, &admin, contest).await?;
    let ctx = std::sync::Arc::new(Ctx {
        next_member: AtomicU64::new(args.first_member),
        args,
        client,
        key,
        started: Instant::now(),
        next_base: AtomicUsize::new(0),
        timeline: Mutex::default(),
        acks: Mutex::default(),
        report: Mutex::default(),
    });
    let last = ctx.args.first_member + ctx.args.members;
    let deadline = Duration::from_secs(ctx.args.seconds);
    let mut workers = Vec::new();
    for _ in 0..ctx.args.concurrency {
        let ctx = ctx.clone();
        workers.push(tokio::spawn(async move {
            loop {
                if ctx.started.elapsed() >= deadline {
                    return anyhow::Ok(());
                }
                let number = ctx.next_member.fetch_add(1, Ordering::Relaxed);
                if number >= last {
                    return Ok(());
                }
                ctx.tally(|r| r.members += 1);
                ctx.member(number).await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let mut acks = std::io::BufWriter::new(std::fs::File::create(&ctx.args.acks)?);
    for ack in ctx.acks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        serde_json::to_writer(&mut acks, ack)?;
        acks.write_all(b"\n")?;
    }
    acks.flush()?;
    let mut timeline = std::io::BufWriter::new(std::fs::File::create(&ctx.args.timeline)?);
    let mut lines = ctx.timeline.lock().unwrap_or_else(|p| p.into_inner());
    lines.sort_unstable();
    for (at, status, ms) in lines.iter() {
        writeln!(timeline, "{at} {status} {ms}")?;
    }
    timeline.flush()?;
    let report = ctx.report.lock().unwrap_or_else(|p| p.into_inner());
    std::fs::write(&ctx.args.out, serde_json::to_vec_pretty(&*report)?)?;
    println!(
        "{} members: {} acknowledged, {} gave up, refused {:?}, {} wrong grades",
        report.members, report.acknowledged, report.gave_up, report.refused, report.wrong_grades
    );
    Ok(())
}

/// What the timeline says about the outage.
#[derive(Debug, Default, Serialize)]
struct Outage {
    requests: u64,
    /// No answer at all (refused or cut connection, timeout).
    no_answer: u64,
    by_status: BTreeMap<u16, u64>,
    /// From the first failure (no answer or 5xx) to the last.
    unavailable_s: f64,
    /// From `--restored-at` to the first success after the last failure.
    recovered_after_restore_s: Option<f64>,
    /// The slowest failed request: failing fast means no client waits long for a 503.
    slowest_failure_ms: u32,
    /// The median failed request (only the first few, before an outage is confirmed, wait
    /// out the pool's acquire timeout).
    median_failure_ms: u32,
    #[serde(skip)]
    first_at: i64,
    #[serde(skip)]
    last_at: i64,
}

fn outage(timeline: &str, restored_at: Option<i64>) -> anyhow::Result<Outage> {
    let mut o = Outage::default();
    let mut events = Vec::new();
    let mut failure_ms = Vec::new();
    for line in timeline.lines() {
        let mut parts = line.split(' ').map(str::parse::<i64>);
        let (Some(Ok(at)), Some(Ok(status)), Some(Ok(ms))) =
            (parts.next(), parts.next(), parts.next())
        else {
            bail!("a timeline line that is not `epoch_ms status ms`: {line}");
        };
        let status = u16::try_from(status)?;
        let failed = status == 0 || status >= 500;
        o.requests += 1;
        *o.by_status.entry(status).or_default() += 1;
        if status == 0 {
            o.no_answer += 1;
        }
        if failed {
            failure_ms.push(u32::try_from(ms)?);
        }
        events.push((at, failed));
    }
    failure_ms.sort_unstable();
    o.slowest_failure_ms = failure_ms.last().copied().unwrap_or(0);
    o.median_failure_ms = failure_ms.get(failure_ms.len() / 2).copied().unwrap_or(0);
    o.first_at = events.first().map_or(0, |e| e.0);
    o.last_at = events.last().map_or(0, |e| e.0);
    let failures: Vec<i64> = events.iter().filter(|e| e.1).map(|e| e.0).collect();
    if let (Some(first), Some(last)) = (failures.first(), failures.last()) {
        o.unavailable_s = (last - first) as f64 / 1000.0;
    }
    if let Some(restored) = restored_at {
        let after = failures
            .last()
            .map_or(restored, |last| (*last).max(restored));
        o.recovered_after_restore_s = events
            .iter()
            .find(|(at, failed)| *at >= after && !failed)
            .map(|(at, _)| (at - restored).max(0) as f64 / 1000.0);
    }
    Ok(o)
}

/// An attempt as PostgreSQL holds it: state, correct, duration_ms, submitted_at.
type Stored = (String, Option<i16>, Option<i32>, Option<DateTime<Utc>>);

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let acks: Vec<Ack> = std::fs::read_to_string(&args.acks)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("reading the acknowledgements")?;
    let take: TakeReport = serde_json::from_slice(&std::fs::read(&args.take)?)?;
    let outage = outage(&std::fs::read_to_string(&args.timeline)?, args.restored_at)?;
    let mut db = PgConnection::connect(&args.database_url).await?;

    let ids: Vec<Uuid> = acks.iter().map(|a| a.attempt).collect();
    let stored: HashMap<Uuid, Stored> = sqlx::query_as::<
        _,
        (
            Uuid,
            String,
            Option<i16>,
            Option<i32>,
            Option<DateTime<Utc>>,
        ),
    >(
        "SELECT id, state, correct, duration_ms, submitted_at FROM attempts WHERE id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut db)
    .await?
    .into_iter()
    .map(|(id, state, correct, duration, at)| (id, (state, correct, duration, at)))
    .collect();
    let mut lost = Vec::new();
    for ack in &acks {
        let same = stored.get(&ack.attempt).is_some_and(|(state, c, d, at)| {
            state == "submitted"
                && c.map(i64::from) == Some(ack.correct)
                && d.map(i64::from) == Some(ack.duration_ms)
                && at.map(|t| t.timestamp_millis()) == Some(ack.submitted_at.timestamp_millis())
        });
        if !same {
            lost.push(
                json!({"ack": ack, "stored": stored.get(&ack.attempt).map(|s| format!("{s:?}"))}),
            );
        }
    }
    let members: Vec<Uuid> = acks.iter().map(|a| a.member).collect();
    let played: Vec<Uuid> = (args.first_member..args.first_member + args.members)
        .map(member_id)
        .collect();
    let duplicated: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT member_id FROM attempts
           WHERE round_id = $1 AND member_id = ANY($2)
           GROUP BY member_id HAVING count(*) > 1) d",
    )
    .bind(args.round)
    .bind(&played)
    .fetch_one(&mut db)
    .await?;
    let acked_members: HashSet<Uuid> = members.iter().copied().collect();

    let leaderboard = match &args.base {
        Some(base) => Some(leaderboard_matches(base, args.round, &mut db).await?),
        None => None,
    };
    let mut figures = serde_json::Map::new();
    for figure in &args.figures {
        let (name, value) = figure
            .split_once('=')
            .with_context(|| format!("--figure {figure}: not name=value"))?;
        let value = value
            .parse::<f64>()
            .map_or_else(|_| json!(value), |v| json!(v));
        figures.insert(name.to_owned(), value);
    }
    let server_errors = outage.by_status.get(&500).copied().unwrap_or(0);
    // The load must have run through the fault, or the scenario proved nothing.
    let straddled = match (args.fault_at, args.restored_at) {
        (Some(fault), Some(restored)) => outage.first_at < fault && outage.last_at > restored,
        _ => true,
    };
    let report = json!({
        "scenario": args.scenario,
        "members": take.members,
        "acknowledged": acks.len(),
        "lost": lost.len(),
        "duplicated": duplicated,
        "acknowledged_twice": acks.len() - acked_members.len(),
        "wrong_grades": take.wrong_grades,
        "gave_up": take.gave_up,
        "refused": take.refused,
        "malformed": take.malformed,
        "twins_differ": take.twins_differ,
        "unavailable_without_retry_after": take.unavailable_without_retry_after,
        "load_ran_through_the_fault": straddled,
        "server_errors": server_errors,
        "requests": outage,
        "fault_at": args.fault_at,
        "restored_at": args.restored_at,
        "leaderboard_equals_postgres": leaderboard,
        "figures": figures,
        "lost_examples": lost.iter().take(5).collect::<Vec<_>>(),
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    let broken = !straddled
        || !lost.is_empty()
        || server_errors > 0
        || duplicated > 0
        || acks.len() != acked_members.len()
        || take.wrong_grades > 0
        || take.malformed > 0
        || take.twins_differ > 0
        || take.unavailable_without_retry_after > 0
        || leaderboard == Some(false);
    if broken {
        bail!("scenario {}: the guarantees did not hold", args.scenario);
    }
    Ok(())
}

/// The round's live leaderboard holds exactly PostgreSQL's entries: every member with a
/// submitted or expired attempt, once, with that attempt's score and time. Read a few
/// times: an attempt closed by the sweeper a moment ago may not be on the board yet.
async fn leaderboard_matches(
    base: &str,
    round: Uuid,
    db: &mut PgConnection,
) -> anyhow::Result<bool> {
    let client = reqwest::Client::new();
    for try_number in 0..5 {
        if try_number > 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        // Each member's best entry, as the board ranks: most correct, then fastest.
        let expected: HashMap<Uuid, (i64, i64)> = sqlx::query_as::<_, (Uuid, i64, i64)>(
            "SELECT DISTINCT ON (member_id) member_id, correct::int8, duration_ms::int8
               FROM attempts
              WHERE round_id = $1 AND state IN ('submitted', 'expired')
              ORDER BY member_id, correct DESC, duration_ms, submitted_at",
        )
        .bind(round)
        .fetch_all(&mut *db)
        .await?
        .into_iter()
        .map(|(m, c, d)| (m, (c, d)))
        .collect();
        let mut board = HashMap::new();
        let mut total;
        let mut offset = 0;
        loop {
            let page: Value = client
                .get(format!(
                    "{base}/api/v1/rounds/{round}/leaderboard?limit=500&offset={offset}"
                ))
                .send()
                .await?
                .json()
                .await?;
            let items = page["items"].as_array().context("a board without items")?;
            total = page["total"].as_u64().unwrap_or(0);
            for item in items {
                let member: Uuid = serde_json::from_value(item["member_id"].clone())?;
                let entry = (
                    item["correct"].as_i64().unwrap_or(-1),
                    item["duration_ms"].as_i64().unwrap_or(-1),
                );
                board.insert(member, entry);
            }
            offset += items.len();
            if items.is_empty() || offset as u64 >= total {
                break;
            }
        }
        if board == expected && total == expected.len() as u64 {
            return Ok(true);
        }
        eprintln!(
            "leaderboard: {} on the board (total {total}), {} in PostgreSQL",
            board.len(),
            expected.len()
        );
    }
    Ok(false)
}
