//! The `hoithi` command line: `serve`, `migrate`.

use clap::{Parser, Subcommand};

use crate::config::{DatabaseSettings, Settings};
use crate::startup::Application;
use crate::{db, telemetry};

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
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => serve().await,
        Command::Migrate => migrate().await,
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

async fn migrate() -> anyhow::Result<()> {
    telemetry::init("warn", std::io::stderr);
    let settings = DatabaseSettings::from_env()?;
    let pool = db::connect_lazy(&settings)?;
    db::migrate(&pool).await?;
    let latest = db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    println!(
        "database is up to date: {} migrations, latest version {latest}",
        db::MIGRATOR.iter().count()
    );
    pool.close().await;
    Ok(())
}
