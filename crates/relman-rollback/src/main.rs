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
    // The same context `relman rollback` builds.
    let ctx = relman_forge::RunContext::from_common(&cli.common);
    match relman_rollback::run_with(&ctx, &cli.args) {
        Ok(code) => code.into(),
        Err(e) => report("relman-rollback", e.as_ref()).into(),
    }
}
