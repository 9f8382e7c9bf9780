//! `relman`: every concern behind one binary (`relman changelog …`, `relman gate …`), plus
//! `relman config`.

use std::path::PathBuf;

mod audit;

use clap::{Parser, Subcommand};
use relman_core::cli::{Common, init_logging, report};
use relman_core::{ExitCode, config};

#[derive(Debug, Parser)]
#[command(
    name = "relman",
    version,
    about = "Release manager for CI",
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Release notes and the next version from conventional commits.
    Changelog(relman_changelog::Args),
    /// Go/no-go release decision from a gate policy (exit 0 go, 1 no-go).
    Gate(relman_gate::Args),
    /// The audit trail on the state branch: list, filter, verify.
    Audit(audit::Args),
    /// Check the configuration file or print its JSON Schema.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file (default: .relman.yml in the repository).
    Check {
        /// The file to check.
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of .relman.yml.
    Schema,
}

fn config_command(common: &Common, cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Schema => {
            print!("{}", config::schema_json());
        }
        ConfigCommand::Check { file } => {
            let path = file
                .clone()
                .or_else(|| common.config.clone())
                .unwrap_or_else(|| common.directory.join(config::DEFAULT_FILE));
            // The checks each concern makes before it runs, so "ok" here means the concerns
            // will not reject this file later.
            let (cfg, source) = config::load_source(&path)?;
            relman_gate::check::config(&cfg.gate, &source)?;
            println!("{}: ok", path.display());
        }
    }
    Ok(ExitCode::Success)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.common.verbose);
    let result = match &cli.command {
        Command::Changelog(args) => relman_changelog::run(&cli.common, args),
        Command::Gate(args) => relman_gate::run(&cli.common, args),
        Command::Audit(args) => audit::run(&cli.common, args),
        Command::Config(cmd) => config_command(&cli.common, cmd),
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => report("relman", e.as_ref()).into(),
    }
}
