//! `relman-changelog`, the same as `relman changelog`.

use clap::Parser;
use relman_core::cli::{Common, init_logging, report};

#[derive(Debug, Parser)]
#[command(
    name = "relman-changelog",
    version,
    about = "Release notes and the next version from conventional commits"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    args: relman_changelog::Args,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.common.verbose);
    relman_core::cli::warn_renamed_variables();
    // The same context `relman changelog` builds.
    let ctx = relman_forge::RunContext::from_common(&cli.common);
    match relman_changelog::run_with(&ctx, &cli.args) {
        Ok(code) => code.into(),
        Err(e) => report("relman-changelog", e.as_ref()).into(),
    }
}
