//! hoithi's load generator: `seed` fills a round with finished entries by `COPY`, `run`
//! plays one phase of a contest week against a running server with goose, and `summary`
//! gathers the phases and the machine's own limits into `latest.json`.
//! `scripts/bench.sh` runs them all; its README tells how to read the result.

mod fault;
mod report;
mod scenarios;
mod seed;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use report::PhaseReport;
use scenarios::{Pending, SHARED, Shared, burst, echo, me, submit_rush, take, top50};

#[derive(Parser)]
#[command(about = "hoithi's load generator and seeder")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Units, members and finished entries of a round, by COPY.
    Seed(seed::SeedArgs),
    /// One phase of the week against a running server; writes its figures as JSON.
    Run(Box<RunArgs>),
    /// Gathers the phases and the limits into one report.
    Summary(report::SummaryArgs),
    /// Prints member N's access token, signed with the server's secret.
    Token {
        #[arg(long)]
        member: u64,
        #[arg(long, env = "HOITHI_JWT_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// The fault suite's client and checker (`scripts/fault-tests.sh`).
    #[command(subcommand)]
    Fault(fault::FaultCommand),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Phase {
    /// An authenticated echo: the HTTP stack's own ceiling.
    Echo,
    /// The opening burst: `--members` fresh members each start once.
    Burst,
    /// The closing rush: the members the burst started submit (needs `--pending`).
    Submit,
    /// The steady take: fresh members start, autosave and submit.
    Take,
    /// Leaderboard readers of the top 50.
    Top50,
    /// Leaderboard readers of their own rank.
    Me,
    /// A mixed week: takers and both kinds of readers at once.
    Mixed,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(value_enum)]
    phase: Phase,
    /// The server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    base: String,
    /// The server's JWT secret: members' tokens are minted, not logged in for.
    #[arg(long, env = "HOITHI_JWT_SECRET", hide_env_values = true)]
    secret: String,
    #[arg(long)]
    round: Uuid,
    /// Members 1..=entries hold an entry of the round (seeded): the readers.
    #[arg(long)]
    entries: u64,
    /// The first member this run may start (none before it has an attempt).
    #[arg(long, default_value_t = 0)]
    first_member: u64,
    /// How many members this run may start.
    #[arg(long, default_value_t = 0)]
    members: u64,
    /// An admin's account id, to read the answer key (takers' grades are checked by it).
    #[arg(long)]
    admin: Option<Uuid>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Run for this many seconds; without it, until the members are used up.
    #[arg(long)]
    seconds: Option<usize>,
    /// The burst writes the attempts it started here (answered by the key, one JSON line
    /// each); the closing rush reads and submits them.
    #[arg(long)]
    pending: Option<PathBuf>,
    /// Share of questions takers answer right.
    #[arg(long, default_value_t = 0.7)]
    skill: f64,
    /// The server's process id, to report the CPU it used.
    #[arg(long)]
    server_pid: Option<String>,
    /// Where the phase's figures go (JSON).
    #[arg(long)]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Seed(args) => seed::run(&args).await,
        Command::Run(args) => run(*args).await,
        Command::Summary(args) => report::summary(&args),
        Command::Fault(command) => fault::run(command).await,
        Command::Token { member, secret } => {
            println!(
                "{}",
                scenarios::token(&secret, seed::member_id(member), "member")?
            );
            Ok(())
        }
    }
}

/// Reads what the scenarios check against: the round's question count and, for takers,
/// the bank's answer key (through the organisers' API, with an admin's token).
async fn prepare(args: &RunArgs) -> anyhow::Result<Shared> {
    let client = reqwest::Client::new();
    let admin = match args.admin {
        Some(id) => Some(scenarios::token(&args.secret, id, "admin")?),
        None => None,
    };
    let get = |path: String, token: Option<String>| {
        let request = client.get(format!("{}{path}", args.base));
        async move {
            let request = match token {
                Some(t) => request.bearer_auth(t),
                None => request,
            };
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            anyhow::ensure!(status.is_success(), "GET {path}: {status} {body}");
            anyhow::Ok(body)
        }
    };
    let round = get(format!("/api/v1/rounds/{}", args.round), admin.clone()).await?;
    let question_count = round["question_count"]
        .as_u64()
        .context("the round has no question_count")?;
    let mut key = HashMap::new();
    let needs_key = match args.phase {
        Phase::Take | Phase::Mixed => true,
        Phase::Burst => args.pending.is_some(),
        _ => false,
    };
    if needs_key {
        let Some(admin) = admin else {
            bail!("this phase needs --admin (to answer and grade by the bank's answer key)");
        };
        let contest = round["contest_id"].as_str().context("no contest_id")?;
        key = scenarios::answer_key(&client, &args.base, &admin, contest).await?;
    }
    let pending = match (args.phase, &args.pending) {
        (Phase::Burst, Some(_)) => Some(Mutex::new(VecDeque::new())),
        (Phase::Submit, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let queue = text
                .lines()
                .map(serde_json::from_str::<Pending>)
                .collect::<Result<VecDeque<_>, _>>()
                .context("a pending attempt that is not JSON")?;
            Some(Mutex::new(queue))
        }
        (Phase::Submit, None) => bail!("the submit phase needs --pending (written by the burst)"),
        _ => None,
    };
    Ok(Shared {
        round: args.round,
        secret: args.secret.clone(),
        entries: args.entries,
        next_member: AtomicU64::new(args.first_member),
        last_member: (args.first_member + args.members).saturating_sub(1),
        question_count: usize::try_from(question_count)?,
        key,
        skill: args.skill,
        pending,
    })
}

/// Attempts waiting for the closing rush.
fn pending_len() -> usize {
    SHARED
        .get()
        .and_then(|s| s.pending.as_ref())
        .map_or(0, |p| p.lock().unwrap_or_else(|p| p.into_inner()).len())
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    if SHARED.set(prepare(&args).await?).is_err() {
        bail!("the run was prepared twice");
    }
    let phase = args.phase;
    let starts_members = matches!(phase, Phase::Burst | Phase::Take | Phase::Mixed);
    if starts_members && (args.first_member <= args.entries || args.members == 0) {
        bail!("{phase:?} starts members: give --members and a --first-member past --entries");
    }
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?;
    attack = match phase {
        Phase::Echo => {
            attack.register_scenario(scenario!("echo").register_transaction(transaction!(echo)))
        }
        Phase::Burst => {
            attack.register_scenario(scenario!("burst").register_transaction(transaction!(burst)))
        }
        Phase::Submit => attack
            .register_scenario(scenario!("submit").register_transaction(transaction!(submit_rush))),
        Phase::Take => {
            attack.register_scenario(scenario!("take").register_transaction(transaction!(take)))
        }
        Phase::Top50 => {
            attack.register_scenario(scenario!("top50").register_transaction(transaction!(top50)))
        }
        Phase::Me => {
            attack.register_scenario(scenario!("me").register_transaction(transaction!(me)))
        }
        Phase::Mixed => attack
            .register_scenario(
                scenario!("taker")
                    .set_weight(1)?
                    .register_transaction(transaction!(take)),
            )
            .register_scenario(
                scenario!("reader")
                    .set_weight(4)?
                    .register_transaction(transaction!(top50).set_weight(3)?)
                    .register_transaction(transaction!(me)),
            ),
    };
    let attack = attack
        .set_default(GooseDefault::Host, args.base.as_str())?
        .set_default(GooseDefault::Users, args.users)?
        // Every client is up within a fraction of a second.
        .set_default(GooseDefault::IncreaseRate, "10000")?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::Quiet, 1)?;
    let attack = match args.seconds {
        // Metrics count from the first request (with iterations goose never resets them).
        Some(seconds) => attack
            .set_default(GooseDefault::RunTime, seconds)?
            .set_default(GooseDefault::NoResetMetrics, true)?,
        None if starts_members || matches!(phase, Phase::Submit) => {
            let count = match phase {
                Phase::Submit => pending_len(),
                _ => usize::try_from(args.members)?,
            };
            attack.set_default(
                GooseDefault::Iterations,
                count.div_ceil(args.users.max(1)).max(1),
            )?
        }
        None => bail!("{phase:?} runs for a time: give --seconds"),
    };
    let server_cpu = args.server_pid.as_deref().and_then(report::cpu_seconds);
    let own_cpu = report::cpu_seconds("self");
    let began = Instant::now();
    let metrics = (*attack)
        .execute()
        .await
        .map_err(|e| anyhow::anyhow!("goose: {e:?}"))?;
    let seconds = began.elapsed().as_secs_f64();
    let mut report = PhaseReport::from_metrics(
        &format!("{phase:?}").to_lowercase(),
        args.users,
        seconds,
        &metrics,
    );
    if let (Some(before), Some(after)) = (
        server_cpu,
        args.server_pid.as_deref().and_then(report::cpu_seconds),
    ) {
        report.server_cpu_s = Some(((after - before) * 100.0).round() / 100.0);
    }
    if let (Some(before), Some(after)) = (own_cpu, report::cpu_seconds("self")) {
        report.generator_cpu_s = Some(((after - before) * 100.0).round() / 100.0);
    }
    report.print();
    if let (Phase::Burst, Some(path), Some(pending)) = (
        phase,
        &args.pending,
        SHARED.get().and_then(|s| s.pending.as_ref()),
    ) {
        let pending = pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::new();
        for p in pending.iter() {
            text.push_str(&serde_json::to_string(p)?);
            text.push('\n');
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}
