//! The `hoithi` command line: `serve`, `migrate`, `user …` for staff accounts,
//! `units import`, `contest import` and `questions import`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::PasswordHasher;
use crate::auth::store::{self as accounts, NewAccount};
use crate::config::{DatabaseSettings, RedisSettings, Settings};
use crate::contests::{folder, store as contests};
use crate::domain::{FullName, Login, Password, Role};
use crate::error::ApiError;
use crate::judging::export;
use crate::judging::store as judging_store;
use crate::kv::Redis;
use crate::leaderboard::board;
use crate::questions::formats::Format;
use crate::questions::import as qimport;
use crate::startup::Application;
use crate::taking::cache::Caches;
use crate::{audit, db, telemetry, units};

#[derive(Debug, Parser)]
#[command(name = "hoithi", version, about = "Online multiple-choice contest engine", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (configuration from the environment; see .env.example).
    Serve,
    /// Apply pending database migrations; running it again changes nothing.
    Migrate,
    /// Staff accounts: organisers, judges, admins.
    #[command(subcommand)]
    User(UserCommand),
    /// The organisation tree.
    #[command(subcommand)]
    Units(UnitsCommand),
    /// Contests loaded from folders (see contests/README.md).
    #[command(subcommand)]
    Contest(ContestCommand),
    /// Question banks.
    #[command(subcommand)]
    Questions(QuestionsCommand),
    /// Live leaderboards in Redis.
    #[command(subcommand)]
    Leaderboard(LeaderboardCommand),
    /// Write a finalized round's winners or full results to a file (audited).
    Export {
        #[arg(value_enum)]
        what: ExportWhat,
        #[arg(long)]
        round: Uuid,
        #[arg(long, value_enum, default_value = "xlsx")]
        format: ExportFormat,
        /// The file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportWhat {
    Winners,
    Results,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Subcommand)]
pub enum LeaderboardCommand {
    /// Rebuild leaderboards in Redis from PostgreSQL: one round's, or every round's and
    /// every contest's.
    Rebuild {
        #[arg(long)]
        round: Option<Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContestCommand {
    /// Load a contest folder: contest.toml (or contest.json) and its question files. Running
    /// it again changes nothing; a changed file updates the contest in place.
    Import {
        dir: PathBuf,
        /// Put this organiser (e-mail or phone) on the contest's staff.
        #[arg(long)]
        owner: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuestionsCommand {
    /// Add the questions of a file to a contest's bank. Nothing is stored when any
    /// question is malformed, unless --partial.
    Import {
        /// The contest's slug or id.
        #[arg(long)]
        contest: String,
        file: PathBuf,
        /// csv, xlsx, gift, aiken, json, docx or txt; default: from the file's extension.
        #[arg(long)]
        format: Option<String>,
        /// Check only; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Store the good questions even when others are malformed.
        #[arg(long)]
        partial: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        /// An e-mail address or a Vietnamese mobile number.
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// Read the password from standard input (one line); required, so that it never
        /// appears in the shell history or the process list.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List staff accounts (members are not listed).
    List,
    /// Change an account's role.
    SetRole {
        #[arg(long)]
        login: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// Import units from a CSV file (code,name,parent_code,member_count); updates in place.
    Import { file: PathBuf },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
        Command::User(command) => user(command).await,
        Command::Units(UnitsCommand::Import { file }) => import_units(&file).await,
        Command::Contest(ContestCommand::Import { dir, owner }) => {
            import_contest(&dir, owner.as_deref()).await
        }
        Command::Questions(QuestionsCommand::Import {
            contest,
            file,
            format,
            dry_run,
            partial,
        }) => import_questions(&contest, &file, format.as_deref(), dry_run, partial).await,
        Command::Leaderboard(LeaderboardCommand::Rebuild { round }) => {
            rebuild_leaderboards(round).await
        }
        Command::Export {
            what,
            round,
            format,
            output,
        } => export_round(what, round, format, &output).await,
    }
}

async fn serve() -> anyhow::Result<()> {
    telemetry::init("info", std::io::stdout);
    let settings = Settings::from_env()?;
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    tracing::info!("hoithi stopped");
    Ok(())
}

/// A pool for the one-shot commands, which log only warnings (to stderr).
async fn cli_pool() -> anyhow::Result<PgPool> {
    telemetry::init("warn", std::io::stderr);
    let settings = DatabaseSettings::from_env()?;
    db::connect_lazy(&settings)
}

async fn migrate() -> anyhow::Result<()> {
    let pool = cli_pool().await?;
    db::migrate(&pool).await?;
    let latest = db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    println!(
        "database is up to date: {} migrations, latest version {latest}",
        db::MIGRATOR.iter().count()
    );
    pool.close().await;
    Ok(())
}

fn parse_login(raw: &str) -> anyhow::Result<Login> {
    Login::parse(raw).map_err(|e| anyhow::anyhow!("--login `{raw}`: {e}"))
}

/// Client errors from the shared storage code, in the words of a command line.
fn cli_error(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Unexpected(e) => e,
        other => anyhow::anyhow!("{}", other.problem().detail),
    }
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    let pool = cli_pool().await?;
    match command {
        UserCommand::Create {
            role, login, name, ..
        } => {
            let login = parse_login(&login)?;
            let name = FullName::parse(&name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let mut line = String::new();
            std::io::stdin()
                .read_to_string(&mut line)
                .context("reading the password from standard input")?;
            let password = Password::parse(line.trim_end_matches(['\r', '\n']).to_owned())
                .map_err(|e| anyhow::anyhow!("password: {e}"))?;
            if role == Role::Member && matches!(login, Login::Email(_)) {
                bail!("a member signs in by phone: give --login a phone number");
            }
            let hash = PasswordHasher::new(1)
                .hash(&password)
                .await
                .map_err(cli_error)?;
            let id = Uuid::now_v7();
            let (phone, email) = match &login {
                Login::Phone(p) => (Some(p.as_str()), None),
                Login::Email(e) => (None, Some(e.as_str())),
            };
            let mut tx = pool.begin().await.context("starting a transaction")?;
            accounts::insert_account(
                &mut *tx,
                &NewAccount {
                    id,
                    role,
                    phone,
                    email,
                    full_name: name.as_str(),
                    password_hash: &hash,
                    birth_year: None,
                    id_number: None,
                    gender: None,
                    address: None,
                    unit_id: None,
                },
            )
            .await
            .map_err(cli_error)?;
            audit_cli(
                &mut tx,
                "account.create",
                id,
                serde_json::json!({"role": role}),
            )
            .await?;
            tx.commit().await.context("committing the account")?;
            println!(
                "created {role} {id} ({})",
                phone.or(email).unwrap_or_default()
            );
        }
        UserCommand::List => {
            let rows = sqlx::query!(
                "SELECT id, role, email, phone, full_name, created_at FROM accounts
                 WHERE role <> 'member' ORDER BY role, created_at"
            )
            .fetch_all(&pool)
            .await
            .context("listing staff accounts")?;
            println!("{:<36}  {:<9}  {:<32}  name", "id", "role", "login");
            for r in &rows {
                let login = r.email.as_deref().or(r.phone.as_deref()).unwrap_or("");
                println!(
                    "{:<36}  {:<9}  {:<32}  {}",
                    r.id, r.role, login, r.full_name
                );
            }
            println!("{} staff accounts", rows.len());
        }
        UserCommand::SetRole { login, role } => {
            let (phone, email) = match parse_login(&login)? {
                Login::Phone(p) => (Some(p.as_str().to_owned()), None),
                Login::Email(e) => (None, Some(e.as_str().to_owned())),
            };
            let mut tx = pool.begin().await.context("starting a transaction")?;
            let row = sqlx::query!(
                r#"UPDATE accounts a SET role = $3, updated_at = now()
                   FROM (SELECT id, role FROM accounts
                         WHERE ($1::text IS NOT NULL AND phone = $1) OR ($2::text IS NOT NULL AND email = $2)
                         FOR UPDATE) old
                   WHERE a.id = old.id
                   RETURNING a.id, old.role AS "old_role!""#,
                phone,
                email,
                role.as_str()
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.constraint() == Some("accounts_member_has_phone") => {
                    anyhow::anyhow!("a member must have a phone number; this account signs in by e-mail only")
                }
                _ => anyhow::Error::new(e).context("changing a role"),
            })?
            .with_context(|| format!("no account has the login `{login}`"))?;
            audit_cli(
                &mut tx,
                "account.set_role",
                row.id,
                serde_json::json!({"from": row.old_role, "to": role}),
            )
            .await?;
            tx.commit().await.context("committing the role change")?;
            println!("{} is now {role} (was {})", row.id, row.old_role);
        }
    }
    pool.close().await;
    Ok(())
}

async fn audit_cli(
    tx: &mut sqlx::PgConnection,
    action: &str,
    account: Uuid,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    audit::record(
        tx,
        audit::Entry {
            object_id: Some(account.to_string()),
            details,
            ..audit::Entry::new(audit::Actor::Cli, action)
        },
    )
    .await
}

async fn import_units(file: &PathBuf) -> anyhow::Result<()> {
    let pool = cli_pool().await?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let report = units::routes::import_csv(&pool, &bytes).await?;
    pool.close().await;
    if !report.errors.is_empty() {
        for e in &report.errors {
            eprintln!("{}:{}: {}", file.display(), e.line, e.message);
        }
        bail!("{} errors; nothing was imported", report.errors.len());
    }
    println!("imported {} units from {}", report.imported, file.display());
    Ok(())
}

/// A progress bar over a folder's question files; drawn only on a terminal.
struct FileBar(indicatif::ProgressBar);

impl folder::Progress for FileBar {
    fn files(&self, count: usize) {
        self.0.set_length(u64::try_from(count).unwrap_or(u64::MAX));
    }

    fn file_done(&self, name: &str) {
        self.0.set_message(name.to_owned());
        self.0.inc(1);
    }
}

async fn import_contest(dir: &Path, owner: Option<&str>) -> anyhow::Result<()> {
    let pool = cli_pool().await?;
    let owner = match owner {
        None => None,
        Some(raw) => {
            let account = accounts::find_login(&pool, &parse_login(raw)?)
                .await?
                .with_context(|| format!("no account signs in as `{raw}`"))?;
            if !matches!(account.role, Role::Organizer | Role::Admin) {
                bail!("`{raw}` is a {}, not an organiser", account.role.as_str());
            }
            Some(account.id)
        }
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = folder::import_folder(&pool, dir, owner, &FileBar(bar.clone())).await;
    bar.finish_and_clear();
    pool.close().await;
    let report = result?;
    println!(
        "contest {}: {}; questions: {} added, {} updated, {} removed, {} unchanged; rounds: {} added, {} updated, {} unchanged",
        report.slug,
        report.contest,
        report.questions_added,
        report.questions_updated,
        report.questions_removed,
        report.questions_unchanged,
        report.rounds_added,
        report.rounds_updated,
        report.rounds_unchanged,
    );
    if report.published {
        println!("published");
    }
    if !report.rounds_not_in_file.is_empty() {
        println!(
            "kept rounds that are no longer in the file: {:?}",
            report.rounds_not_in_file
        );
    }
    for line in &report.skipped {
        println!("skipped {line}");
    }
    if !report.changed() {
        println!("nothing changed");
    }
    Ok(())
}

async fn import_questions(
    contest: &str,
    file: &Path,
    format: Option<&str>,
    dry_run: bool,
    partial: bool,
) -> anyhow::Result<()> {
    let format = match format {
        Some(raw) => Format::parse(raw).with_context(|| {
            format!("unknown format `{raw}`: use csv, xlsx, gift, aiken, json, docx or txt")
        })?,
        None => Format::from_path(file)
            .with_context(|| format!("{}: say the format with --format", file.display()))?,
    };
    let pool = cli_pool().await?;
    let found = contests::find(&pool, contest)
        .await?
        .with_context(|| format!("no contest `{contest}`"))?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let checked = tokio::task::spawn_blocking(move || qimport::check(format, &bytes))
        .await
        .context("checking the file")?;
    let report = qimport::store_checked(
        &pool,
        found.id,
        None,
        checked,
        qimport::ImportOptions { dry_run, partial },
    )
    .await?;
    if report.imported > 0 {
        audit::record(
            &pool,
            audit::Entry {
                contest_id: Some(found.id),
                row_count: i32::try_from(report.imported).ok(),
                details: serde_json::json!({"file": file.display().to_string(), "format": format.as_str()}),
                ..audit::Entry::new(audit::Actor::Cli, "questions.import")
            },
        )
        .await?;
    }
    pool.close().await;
    for s in &report.skipped {
        println!("{}:{}: skipped: {}", file.display(), s.line, s.reason);
    }
    for e in &report.errors {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    println!(
        "{} questions valid, {} imported{}",
        report.valid,
        report.imported,
        if dry_run { " (dry run)" } else { "" }
    );
    if !report.errors.is_empty() && !partial {
        bail!(
            "{} malformed questions; nothing was stored",
            report.errors.len()
        );
    }
    Ok(())
}

/// Rebuilds one round's board from PostgreSQL; answers its contest and the contest's rounds.
async fn rebuild_one_round(
    pool: &sqlx::PgPool,
    redis: &Redis,
    caches: &Caches,
    id: Uuid,
) -> anyhow::Result<(Uuid, Vec<Uuid>)> {
    let round = caches
        .round(pool, id)
        .await?
        .with_context(|| format!("no round {id}"))?;
    let ctx = board::RoundContext {
        round_id: round.id,
        contest_id: round.contest_id,
        live: &round.live,
        contest_rounds: &round.contest_rounds,
    };
    if !board::rebuild_round(pool, redis, &ctx).await? {
        bail!("round {id}: another rebuild is running; try again in a minute");
    }
    Ok((round.contest_id, round.contest_rounds.clone()))
}

async fn rebuild_leaderboards(only: Option<Uuid>) -> anyhow::Result<()> {
    let pool = cli_pool().await?;
    let redis = Redis::connect_lazy(&RedisSettings::from_env()?)?;
    let caches = Caches::default();
    let rounds: Vec<Uuid> = match only {
        Some(id) => vec![id],
        None => sqlx::query_scalar!("SELECT id FROM rounds ORDER BY contest_id, number")
            .fetch_all(&pool)
            .await
            .context("listing rounds")?,
    };
    let mut contests = std::collections::BTreeMap::new();
    for id in rounds {
        let (contest, contest_rounds) = rebuild_one_round(&pool, &redis, &caches, id).await?;
        println!("rebuilt round {id}");
        contests.insert(contest, contest_rounds);
    }
    for (contest, rounds) in contests {
        // The standing is kept from every round board of the contest: put missing ones
        // back first (a round without entries costs nothing).
        for id in &rounds {
            let keys = board::RoundKeys::new(&redis, *id);
            if !board::is_ready(&redis, &keys.ready).await? {
                rebuild_one_round(&pool, &redis, &caches, *id).await?;
                println!("rebuilt round {id} (of the same contest)");
            }
        }
        if !board::rebuild_contest(&pool, &redis, contest, &rounds).await? {
            bail!("contest {contest}: another rebuild is running; try again in a minute");
        }
        println!("rebuilt contest {contest}");
    }
    pool.close().await;
    Ok(())
}

async fn export_round(
    what: ExportWhat,
    round: Uuid,
    format: ExportFormat,
    output: &Path,
) -> anyhow::Result<()> {
    let pool = cli_pool().await?;
    let finalized = crate::rounds::store::get(&pool, round)
        .await?
        .with_context(|| format!("no round {round}"))?
        .finalized_at
        .is_some();
    if !finalized {
        bail!("round {round} is not finalized yet");
    }
    let (name, sheet) = match what {
        ExportWhat::Results => ("results", "Kết quả"),
        ExportWhat::Winners => ("winners", "Người đoạt giải"),
    };
    let file =
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let written = match what {
        // The whole ranking goes row by row from the database to the file.
        ExportWhat::Results => match format {
            ExportFormat::Csv => {
                use futures_util::StreamExt;
                use std::io::Write;

                let mut out = std::io::BufWriter::new(file);
                out.write_all(&export::csv_head())?;
                let mut rows = judging_store::result_rows(&pool, round, None, 0);
                let mut written = 0_u64;
                while let Some(row) = rows.next().await {
                    out.write_all(&export::csv_row(&row?))?;
                    written += 1;
                }
                out.flush()?;
                written
            }
            ExportFormat::Xlsx => {
                let pool = pool.clone();
                let handle = tokio::runtime::Handle::current();
                let written = tokio::task::spawn_blocking(move || {
                    let rows = judging_store::result_rows(&pool, round, None, 0);
                    export::stream_xlsx(&handle, sheet, rows, std::io::BufWriter::new(file))
                })
                .await
                .context("writing the workbook")??;
                u64::from(written)
            }
        },
        ExportWhat::Winners => {
            let rows: Vec<export::ResultRow> = judging_store::winners(&pool, round)
                .await?
                .into_iter()
                .map(export::ResultRow::from)
                .collect();
            let bytes = match format {
                ExportFormat::Csv => export::csv(&rows),
                ExportFormat::Xlsx => export::xlsx(sheet, &rows)?,
            };
            let mut file = file;
            std::io::Write::write_all(&mut file, &bytes)?;
            rows.len() as u64
        }
    };
    audit::record(
        &pool,
        audit::Entry {
            round_id: Some(round),
            row_count: i32::try_from(written).ok(),
            details: serde_json::json!({"what": name, "file": output.display().to_string()}),
            ..audit::Entry::new(audit::Actor::Cli, "round.export")
        },
    )
    .await?;
    pool.close().await;
    println!("wrote {written} rows to {}", output.display());
    Ok(())
}
