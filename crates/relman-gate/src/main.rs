//! `relman-gate`: the gate concern as its own binary (`relman gate` is the same command).

use clap::Parser;
use relman_core::cli::{Common, init_logging, report};

#[derive(Debug, Parser)]
#[command(name = "relman-gate", version, about = "Go/no-go release decision")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    args: relman_gate::Args,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.common.verbose);
    relman_core::cli::warn_renamed_variables();
    // The same context `relman gate` builds.
    let ctx = relman_forge::RunContext::from_common(&cli.common);
    match relman_gate::run_with(&ctx, &cli.args) {
        Ok(code) => code.into(),
        Err(e) => report("relman-gate", e.as_ref()).into(),
    }
}
