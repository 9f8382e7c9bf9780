//! cli (in progress)

use relman_core::ExitCode;
use relman_core::cli::Common;

/// Go/no-go release decision.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Policy to evaluate (default: gate.default_policy).
    #[arg(long, env = "RELMAN_POLICY")]
    pub policy: Option<String>,
}

/// Runs the gate.
pub fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let _ = (common, args);
    anyhow::bail!("gate: not implemented yet")
}
