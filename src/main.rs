use std::process::ExitCode;

use clap::Parser;
use hoithi::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hoithi: {err:#}");
            ExitCode::FAILURE
        }
    }
}
