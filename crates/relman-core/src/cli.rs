//! What every relman binary shares at its edge: common flags, logging, exit codes.

use std::path::PathBuf;

use crate::ci::{LogLines, LogMode, Runtime};
use crate::error::{Error, ExitCode};

/// How stderr lines are cleaned in this process (from the CI environment, decided once).
fn stderr_mode() -> LogMode {
    static MODE: std::sync::OnceLock<LogMode> = std::sync::OnceLock::new();
    *MODE.get_or_init(|| Runtime::detect_with(&|k| std::env::var(k).ok(), false).log_mode())
}

/// stderr for anything relman prints there (errors, warnings, logs): on a CI runner each line
/// is made inert, since it may quote repository text ([`LogLines`]). Use `writeln!`; a line
/// reaches stderr when complete.
pub fn stderr() -> LogLines<std::io::Stderr> {
    LogLines::new(std::io::stderr(), stderr_mode())
}

/// Flags every concern accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Run as if started in this directory (the repository).
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = ".",
        env = "RELMAN_DIRECTORY",
        global = true
    )]
    pub directory: PathBuf,
    /// Configuration file [default: .relman.yml at the repository root].
    #[arg(long, value_name = "FILE", env = "RELMAN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// More logging (-v info, -vv debug; from the environment a number: RELMAN_VERBOSE=2);
    /// RELMAN_LOG takes tracing filter syntax.
    #[arg(short, long, action = clap::ArgAction::Count, env = "RELMAN_VERBOSE", global = true)]
    pub verbose: u8,
}

/// Logs go to stderr so stdout stays the command's output.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var(crate::vars::LOG)
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    // Colours are escape sequences: only for a terminal (a runner's log would show them
    // cleaned, a file would keep them), and never under NO_COLOR.
    let ansi = stderr_mode() == LogMode::Raw
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
        && crate::ci::colour_allowed();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Warns about each variable set under a name relman no longer reads
/// ([`crate::vars::RENAMED`]). Call after [`init_logging`].
pub fn warn_renamed_variables() {
    for w in crate::vars::renamed_warnings(&|k| std::env::var(k).ok()) {
        tracing::warn!("{w}");
    }
}

/// The exit code for an error chain: the first relman error in it decides; anything else is
/// an external failure.
pub fn exit_code_for(err: &(dyn std::error::Error + 'static)) -> ExitCode {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(e) = e.downcast_ref::<Error>() {
            return e.exit_code();
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // Output closed early (`relman changelog | head`) is not a failure worth a code.
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::Success;
            }
        }
        cur = e.source();
    }
    ExitCode::External
}

/// Prints an error chain as `relman: error: outer: inner` and returns its exit code.
pub fn report(program: &str, err: &(dyn std::error::Error + 'static)) -> ExitCode {
    let code = exit_code_for(err);
    if code != ExitCode::Success {
        use std::io::Write;
        // Nowhere left to report a failing stderr.
        let _ = writeln!(stderr(), "{program}: error: {}", chain_message(err));
    }
    code
}

/// An error and its causes on one line, `outer: inner`, skipping causes the outer message
/// already quotes.
pub fn chain_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !msg.contains(&s) {
            msg.push_str(": ");
            msg.push_str(&s);
        }
        cur = e.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge_error::{ForgeError, ForgeErrorKind};

    /// The kinds of their own reach the binaries' exit codes through `anyhow` context: an
    /// unknown outcome, a page cap and a refused next link are external failures (3), a key
    /// reused for something else is bad input (2).
    #[test]
    fn forge_error_kinds_map_to_the_exit_codes_through_context() {
        let wrapped = |e: Error| anyhow::Error::new(e).context("relman rollback");
        let in_doubt = Error::InDoubt {
            backend: "gitlab".into(),
            message: "claimed, never recorded".into(),
        };
        assert_eq!(
            exit_code_for(wrapped(in_doubt).as_ref()),
            ExitCode::External
        );
        for kind in [
            ForgeErrorKind::PageCap { pages: 100 },
            ForgeErrorKind::ForeignLink,
        ] {
            let e: Error = ForgeError::new("github", "GET /x", kind, "GET /x: no").into();
            assert_eq!(exit_code_for(wrapped(e).as_ref()), ExitCode::External);
        }
        let conflict = Error::Conflict {
            backend: "gitlab".into(),
            message: "key reused".into(),
        };
        assert_eq!(
            exit_code_for(wrapped(conflict).as_ref()),
            ExitCode::BadInput
        );
    }
}
