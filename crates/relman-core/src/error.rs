//! Errors shared by every relman binary, and the exit codes they map to.

use std::path::PathBuf;

pub use crate::forge_error::{ForgeError, ForgeErrorKind};

/// Exit codes shared by every relman binary (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The command did what was asked.
    Success = 0,
    /// The command ran, and policy refused (a no-go gate, a release that is not allowed).
    Refused = 1,
    /// Bad input: usage, configuration, template, an unknown tag or range.
    BadInput = 2,
    /// Something outside relman failed: git, the file system, the network, a forge.
    External = 3,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// Every error the core library reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be parsed or failed validation.
    #[error("{file}:{line}:{column}: {key}: {message}")]
    Config {
        file: PathBuf,
        line: usize,
        column: usize,
        /// Dotted path of the offending key, e.g. `changelog.groups[2].pattern`.
        key: String,
        message: String,
    },
    /// A file relman needs to read could not be read.
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file relman writes could not be written (the previous content is left untouched).
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The directory is not inside a git repository.
    #[error("{0}: not a git repository (nor any parent directory)")]
    NotARepository(PathBuf),
    /// The repository could not be read.
    #[error("git: {0}")]
    Git(String),
    /// A revision, tag or range named by the user does not exist or is malformed.
    #[error("{0}")]
    Revision(String),
    /// The history is incomplete (shallow clone) and the answer would be wrong.
    #[error("{0}")]
    Shallow(String),
    /// A template failed to parse or render.
    #[error("{name}: {message}")]
    Template { name: String, message: String },
    /// Anything else the user asked for that cannot be done as asked.
    #[error("{0}")]
    Usage(String),
    /// The configured forge backend cannot answer this question (the local store has no
    /// checks, reviews, …); never answered with an empty list that would read as "all green".
    #[error("{}", unsupported_message(backend, what))]
    Unsupported { backend: String, what: String },
    /// A forge object named by the user (a deployment id, …) does not exist.
    #[error("{backend}: {what} not found")]
    NotFound { backend: String, what: String },
    /// An idempotency key was reused for a different object: a bug in the caller's keys.
    #[error("{backend}: {message}")]
    Conflict { backend: String, message: String },
    /// A file of the local store (`.relman/`) does not parse or holds inconsistent data;
    /// `line` is 1-based when known.
    #[error("{}: {message}", located(path, *line))]
    Corrupt {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// An evidence file (test report, SARIF, coverage, benchmark) is malformed; `line` is
    /// 1-based when known.
    #[error("{}: {message}", located(path, *line))]
    Evidence {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// An idempotency key was claimed by another attempt that recorded nothing, and the forge
    /// cannot show what it did: the outcome is unknown (that job may still be acting, or it
    /// died), not bad input.
    #[error("{backend}: {message}")]
    InDoubt { backend: String, message: String },
    /// The state store could not fetch or publish its records through the remote; `kind`
    /// says how. The text names the ref, the remote and, for a push, the permission to grant.
    #[error("state: {message}")]
    State {
        kind: StateErrorKind,
        message: String,
    },
    /// A local command relman runs (a rollback's `command:`) could not be started or waited
    /// for: the runner's environment failed, not a forge and not the command's own exit.
    #[error("command: {message}")]
    Command {
        /// `could not start "deploy.sh": …`, naming the program.
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// A request to a forge's API failed; its kind says how (status, rate limit, transport,
    /// malformed answer, request budget, relman's own request).
    #[error(transparent)]
    Api(Box<ForgeError>),
    /// A record that need not be durable (`state.durable`) could not be pushed to the state
    /// branch's remote: the command answered, but nothing was recorded.
    #[error("not recorded: {what}: {why}")]
    NotRecorded { what: String, why: String },
    /// relman broke its own invariant (a report that cannot be serialised): a bug to report,
    /// never the user's input, so never exit 2.
    #[error("internal error (a relman bug, please report it): {0}")]
    Bug(String),
}

/// How the state store failed to reach its remote. Each is exit 3: the remote or the
/// runner's rights are at fault, not the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateErrorKind {
    /// The remote could not be fetched from (unreachable, refused, no such repository).
    Fetch,
    /// A record that must be durable could not be pushed (no permission, forge down).
    NotPushed,
    /// Other writers kept moving the tip, or a lock left on the server stayed, past
    /// [`crate::state::MAX_ATTEMPTS`] attempts.
    Contention,
    /// git took longer than its time limit (a hung remote), or another relman fetch in this
    /// clone did.
    Timeout,
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config { .. }
            | Error::NotARepository(_)
            | Error::Revision(_)
            | Error::Template { .. }
            | Error::Usage(_)
            | Error::Shallow(_)
            | Error::Unsupported { .. }
            | Error::NotFound { .. }
            | Error::Conflict { .. }
            | Error::Corrupt { .. }
            | Error::Evidence { .. } => ExitCode::BadInput,
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ExitCode::BadInput
            }
            Error::Read { .. }
            | Error::Write { .. }
            | Error::Git(_)
            | Error::State { .. }
            | Error::Command { .. }
            | Error::InDoubt { .. }
            | Error::Api(_)
            | Error::NotRecorded { .. }
            | Error::Bug(_) => ExitCode::External,
        }
    }
}

fn unsupported_message(backend: &str, what: &str) -> String {
    if backend == "local" {
        format!("the local store cannot answer `{what}`: configure a forge (github or gitlab)")
    } else {
        format!("the {backend} forge cannot answer `{what}`")
    }
}

fn located(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_is_an_external_failure_never_bad_input() {
        let err =
            Error::Bug("the gate report could not be serialised: key must be a string".into());
        assert_eq!(err.exit_code(), ExitCode::External);
        assert_ne!(Error::Usage(String::new()).exit_code(), err.exit_code());
        assert!(
            err.to_string().starts_with("internal error (a relman bug"),
            "{err}"
        );
    }

    #[test]
    fn a_claim_nobody_recorded_is_an_unknown_outcome_not_bad_input() {
        let err = Error::InDoubt {
            backend: "gitlab".into(),
            message: "key `k` was claimed but no dispatch was recorded".into(),
        };
        assert_eq!(err.exit_code(), ExitCode::External);
        let conflict = Error::Conflict {
            backend: "gitlab".into(),
            message: String::new(),
        };
        assert_eq!(conflict.exit_code(), ExitCode::BadInput);
        assert_eq!(
            err.to_string(),
            "gitlab: key `k` was claimed but no dispatch was recorded"
        );
    }
}
