//! `relman-rollback`: the rollback concern as its own binary (`relman rollback` is the same
//! command).

use clap::Parser;
use relman_core::cli::{Common, init_logging, report};

#[derive(Debug, Parser)]
#[command(
    name = "relman-rollback",
    version,
    about = "Back to the last known-good deployment"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    args: relman_rollback::Args,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.common.verbose);
    relman_core::cli::warn_renamed_variables();
    match relman_rollback::run(&cli.common, &cli.args) {
        Ok(code) => code.into(),
        Err(e) => report("relman-rollback", e.as_ref()).into(),
    }
}
