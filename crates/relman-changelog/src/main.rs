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
    match relman_changelog::run(&cli.common, &cli.args) {
        Ok(code) => code.into(),
        Err(e) => report("relman-changelog", e.as_ref()).into(),
    }
}
