//! The `relman` command line: every concern behind one binary (`relman changelog …`,
//! `relman gate …`), plus `relman audit` and `relman config`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use relman_core::cli::{Common, init_logging, report};
use relman_forge::RunContext;

use crate::{audit, variables};
use relman_core::{ExitCode, config};

#[derive(Debug, Parser)]
#[command(
    name = "relman",
    version,
    about = "Release manager for CI",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Release notes and the next version from conventional commits.
    Changelog(relman_changelog::Args),
    /// Go/no-go release decision from a gate policy (exit 0 go, 1 no-go).
    Gate(relman_gate::Args),
    /// Back to the last known-good deployment: dispatched once, followed, recorded; drills.
    Rollback(relman_rollback::Args),
    /// The audit trail on the state branch: list, filter, verify.
    Audit(audit::Args),
    /// Check the configuration file or print its JSON Schema.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file (default: .relman.yml in the repository).
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of .relman.yml.
    Schema,
    /// Print every environment variable relman reads and writes (markdown; the source of
    /// docs/reference/env.md).
    Variables,
}

fn config_command(ctx: &RunContext, cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Schema => {
            print!("{}", config::schema_json());
        }
        ConfigCommand::Variables => {
            print!("{}", variables::markdown());
        }
        ConfigCommand::Check { file } => {
            // The directory as given, not the repository: a file can be checked anywhere.
            let path = file
                .clone()
                .or_else(|| ctx.config_path().map(PathBuf::from))
                .unwrap_or_else(|| ctx.directory().join(config::DEFAULT_FILE));
            // The checks each concern makes before it runs, so "ok" here means the concerns
            // will not reject this file later.
            let (cfg, source) = config::load_source(&path)?;
            relman_gate::check::config(&cfg.gate, &source)?;
            println!("{}: ok", path.display());
        }
    }
    Ok(ExitCode::Success)
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.common.verbose);
    relman_core::cli::warn_renamed_variables();
    // One context for the run, built the way each concern's own binary builds it; its parts
    // are resolved when the command first asks for them.
    let ctx = RunContext::from_common(&cli.common);
    let result = match &cli.command {
        Command::Changelog(args) => relman_changelog::run_with(&ctx, args),
        Command::Gate(args) => relman_gate::run_with(&ctx, args),
        Command::Rollback(args) => relman_rollback::run_with(&ctx, args),
        Command::Audit(args) => audit::run_with(&ctx, args),
        Command::Config(cmd) => config_command(&ctx, cmd),
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => report("relman", e.as_ref()).into(),
    }
}
