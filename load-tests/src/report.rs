//! Figures: one phase's (from goose's metrics) and the whole run's `latest.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use goose::metrics::GooseMetrics;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One kind of request in a phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stat {
    pub requests: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Failed requests: a transport error, a wrong status or a body that failed its check.
    pub errors: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PhaseReport {
    pub phase: String,
    pub users: usize,
    pub seconds: f64,
    pub requests: BTreeMap<String, Stat>,
    /// Transactions that failed outside a request (e.g. a paper with an unknown question).
    pub transaction_errors: usize,
    /// What failed, with how often (the first hundred kinds).
    #[serde(default)]
    pub failures: BTreeMap<String, usize>,
    /// CPU seconds the server process used during the phase (user + system), when its pid
    /// was given: the machine's two cores are shared by server, databases and generator.
    #[serde(default)]
    pub server_cpu_s: Option<f64>,
    /// CPU seconds the load generator itself used.
    #[serde(default)]
    pub generator_cpu_s: Option<f64>,
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 of `rest`.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

impl PhaseReport {
    pub fn from_metrics(phase: &str, users: usize, seconds: f64, metrics: &GooseMetrics) -> Self {
        let requests = metrics
            .requests
            .values()
            .map(|r| {
                let count = r.success_count + r.fail_count;
                let data = &r.raw_data;
                (
                    r.path.clone(),
                    Stat {
                        requests: count,
                        rps: (count as f64 / seconds * 10.0).round() / 10.0,
                        p50_ms: ms(data.percentile_us(0.50)),
                        p95_ms: ms(data.percentile_us(0.95)),
                        p99_ms: ms(data.percentile_us(0.99)),
                        max_ms: ms(data.maximum_time_us),
                        errors: r.fail_count,
                    },
                )
            })
            .collect();
        let transaction_errors = metrics
            .transactions
            .iter()
            .flatten()
            .map(|t| t.fail_count)
            .sum();
        let failures = metrics
            .errors
            .values()
            .take(100)
            .map(|e| {
                (
                    format!("{} {}: {}", e.method, e.name, e.error),
                    e.occurrences,
                )
            })
            .collect();
        Self {
            server_cpu_s: None,
            generator_cpu_s: None,
            failures,
            phase: phase.to_owned(),
            users,
            seconds: (seconds * 100.0).round() / 100.0,
            requests,
            transaction_errors,
        }
    }

    pub fn print(&self) {
        println!(
            "{} — {} clients, {:.1} s",
            self.phase, self.users, self.seconds
        );
        for (name, s) in &self.requests {
            println!(
                "  {name:<9} {:>8} requests {:>9.1}/s  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  errors {}",
                s.requests, s.rps, s.p50_ms, s.p95_ms, s.p99_ms, s.errors
            );
        }
        let requests: usize = self.requests.values().map(|s| s.requests).sum();
        if let (Some(server), Some(generator)) = (self.server_cpu_s, self.generator_cpu_s) {
            println!(
                "  CPU: server {server:.1} s ({:.2} cores, {:.0} µs a request), generator {generator:.1} s ({:.2} cores)",
                server / self.seconds,
                server * 1e6 / requests.max(1) as f64,
                generator / self.seconds,
            );
        }
        if self.transaction_errors > 0 {
            println!("  {} transactions failed", self.transaction_errors);
        }
        for (what, n) in &self.failures {
            println!("  failed {n}×: {what}");
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// The folder holding the phases' JSON (echo, burst, submit, take, top50, me, mixed).
    #[arg(long)]
    phases: PathBuf,
    /// Concurrent clients of every phase and limit.
    #[arg(long)]
    clients: usize,
    /// pgbench's transactions/s running the statements of one submission.
    #[arg(long)]
    pgbench_tps: f64,
    /// redis-benchmark's ZADD/s.
    #[arg(long)]
    redis_zadd_rps: f64,
    /// The 1,000,000-entry week's steps, as `name=value` (seconds, MiB, counts).
    #[arg(long = "week", value_parser = parse_pair)]
    week: Vec<(String, f64)>,
    /// Free-form facts about the run, as `name=value`.
    #[arg(long = "about", value_parser = parse_text_pair)]
    about: Vec<(String, String)>,
    #[arg(long)]
    out: PathBuf,
}

fn parse_text_pair(raw: &str) -> Result<(String, String), String> {
    let (k, v) = raw.split_once('=').ok_or("expected name=value")?;
    Ok((k.to_owned(), v.to_owned()))
}

fn parse_pair(raw: &str) -> Result<(String, f64), String> {
    let (k, v) = parse_text_pair(raw)?;
    let v = v.parse().map_err(|e| format!("{k}: {e}"))?;
    Ok((k, v))
}

fn phase(dir: &Path, name: &str) -> anyhow::Result<PhaseReport> {
    let path = dir.join(format!("{name}.json"));
    let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_slice(&raw)?)
}

fn request(report: &PhaseReport, name: &str) -> anyhow::Result<Stat> {
    report
        .requests
        .get(name)
        .cloned()
        .with_context(|| format!("the {} phase made no {name} request", report.phase))
}

/// The throughput a submission cannot exceed when the HTTP stack, PostgreSQL and Redis each
/// spend their own time on it one after another: B = 1 / (1/H + 1/P + 1/R).
pub fn ceiling(h: f64, p: f64, r: f64) -> f64 {
    1.0 / (1.0 / h + 1.0 / p + 1.0 / r)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn summary(args: &SummaryArgs) -> anyhow::Result<()> {
    let echo = phase(&args.phases, "echo")?;
    let burst = phase(&args.phases, "burst")?;
    let rush = phase(&args.phases, "submit")?;
    let take = phase(&args.phases, "take")?;
    let top50 = phase(&args.phases, "top50")?;
    let me = phase(&args.phases, "me")?;
    let mixed = phase(&args.phases, "mixed")?;
    let h = request(&echo, "echo")?.rps;
    let submit = request(&rush, "submit")?;
    let b = ceiling(h, args.pgbench_tps, args.redis_zadd_rps);
    let errors: usize = [&echo, &burst, &rush, &take, &top50, &me, &mixed]
        .iter()
        .map(|p| p.requests.values().map(|s| s.errors).sum::<usize>() + p.transaction_errors)
        .sum();
    // Where each phase's CPU went: the two cores are shared by everyone.
    let cpu: BTreeMap<&str, Value> = [&echo, &burst, &rush, &take, &top50, &me, &mixed]
        .iter()
        .map(|p| {
            let requests: usize = p.requests.values().map(|s| s.requests).sum();
            (
                p.phase.as_str(),
                json!({
                    "seconds": p.seconds,
                    "server_cpu_s": p.server_cpu_s,
                    "server_cpu_us_per_request": p.server_cpu_s.map(|c| (c * 1e6 / requests.max(1) as f64).round()),
                    "generator_cpu_s": p.generator_cpu_s,
                }),
            )
        })
        .collect();
    let about: BTreeMap<_, _> = args.about.iter().cloned().collect();
    let week: BTreeMap<_, _> = args.week.iter().cloned().collect();
    let out = json!({
        "generated_at": chrono::Utc::now().to_rfc3339(),
        "about": about,
        "clients": args.clients,
        "start": request(&burst, "start")?,
        "submit": submit,
        "leaderboard": request(&top50, "top50")?,
        "leaderboard_me": request(&me, "me")?,
        "take": take.requests,
        "limits": {
            "http_echo_rps": h,
            "pgbench_tps": args.pgbench_tps,
            "redis_zadd_rps": args.redis_zadd_rps,
            "ceiling_rps": round1(b),
            "submit_to_ceiling": (submit.rps / b * 1000.0).round() / 1000.0,
        },
        "mixed": mixed.requests,
        "cpu": cpu,
        "week": week,
        "errors": errors,
    });
    let text = serde_json::to_string_pretty(&out)?;
    std::fs::write(&args.out, format!("{text}\n"))
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_is_the_harmonic_sum() {
        // Three equal stages of 300/s each leave 100/s for a request that needs all three.
        assert!((ceiling(300.0, 300.0, 300.0) - 100.0).abs() < 1e-9);
        // The slowest stage dominates: never above it.
        assert!(ceiling(50_000.0, 4_000.0, 100_000.0) < 4_000.0);
    }
}
