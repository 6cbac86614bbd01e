//! `token-admin`: manage the issuer's tables and users.

use clap::Parser;
use std::process::ExitCode;
use token_issuer::admin::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    token_issuer::telemetry::init_cli();
    match admin::run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
