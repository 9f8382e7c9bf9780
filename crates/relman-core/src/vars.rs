//! The environment variables relman reads that are not flags, and the names it writes.
//!
//! A flag declares its variable on its clap definition (`env = …`), so the flag and its variable
//! cannot part; `relman config variables` lists those with these, and docs/reference/env.md is
//! generated from that list. Each name means one thing:
//!
//! - `RELMAN_<FLAG>`: a flag every command takes (`--directory`, `--config`, `--verbose`).
//! - `RELMAN_<COMMAND>_<FLAG>`: a flag of one command (`RELMAN_CHANGELOG_FORMAT` is
//!   markdown|json, `RELMAN_GATE_FORMAT` text|json).
//! - [`OUTPUT_PREFIX`] (`RELMAN_OUT_<OUTPUT>`): outputs in GitLab's dotenv report. No flag reads
//!   a name with that prefix, so an upstream job's output never becomes a downstream job's input.
//! - the names below, read by the CI adapter, the forge layer and logging.

/// One variable relman reads (or, with [`Use::Written`], sets for others) outside its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub use_: Use,
    /// What it means, one sentence of markdown.
    pub meaning: &'static str,
}

/// Who sets a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// The operator or the CI sets it; relman reads it.
    Read,
    /// relman sets it on a pipeline it starts.
    Written,
}

/// The prefix of every output written to GitLab's dotenv report.
pub const OUTPUT_PREFIX: &str = "RELMAN_OUT_";

/// A step output of a command: a GitHub step output `name`, and on GitLab the dotenv variable
/// `RELMAN_OUT_<NAME>` (or, for a multi-line value, `RELMAN_OUT_<NAME>_FILE` naming a file).
/// Each concern declares its outputs once as these; the actions and the docs are checked
/// against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub name: &'static str,
    /// Whether the value may span lines (on GitLab it is then written to a file).
    pub multiline: bool,
    /// What it holds, one sentence of markdown.
    pub meaning: &'static str,
}

impl Output {
    /// The dotenv variable on GitLab (`RELMAN_OUT_PREVIOUS_TAG`; `…_FILE` when multi-line).
    pub fn dotenv_variable(&self) -> String {
        let base = format!(
            "{OUTPUT_PREFIX}{}",
            self.name.to_ascii_uppercase().replace('-', "_")
        );
        if self.multiline {
            format!("{base}_FILE")
        } else {
            base
        }
    }
}

/// Tracing filter for logs (`relman_gate=debug`); wins over `--verbose`.
pub const LOG: &str = "RELMAN_LOG";
/// Forge token, preferred over the CI's own (`GITHUB_TOKEN`, `GITLAB_TOKEN`, `CI_JOB_TOKEN`).
pub const TOKEN: &str = "RELMAN_TOKEN";
/// The operator's explicit forge API URL.
pub const API_URL: &str = "RELMAN_API_URL";
/// The gate's base from the environment: only a rehearsal (`--base` is the real one).
pub const GATE_BASE: &str = "RELMAN_GATE_BASE";
/// Set on a GitLab pipeline relman starts: its idempotency key.
pub const IDEMPOTENCY_KEY: &str = "RELMAN_IDEMPOTENCY_KEY";
/// Set on a GitLab pipeline relman starts: the workflow it runs.
pub const WORKFLOW: &str = "RELMAN_WORKFLOW";

/// Every variable outside the flags, declared once.
pub const ALL: &[Variable] = &[
    Variable {
        name: LOG,
        use_: Use::Read,
        meaning: "Log filter in tracing syntax (`debug`, `relman_gate=debug`); wins over `--verbose`.",
    },
    Variable {
        name: TOKEN,
        use_: Use::Read,
        meaning: "Forge token, preferred over `GITHUB_TOKEN` / `GITLAB_TOKEN` / `CI_JOB_TOKEN`. Sent only to the CI's own API host, never printed.",
    },
    Variable {
        name: API_URL,
        use_: Use::Read,
        meaning: "Forge API URL chosen by the operator; wins over `forge.api_url` in `.relman.yml` (repository text) and the CI's own.",
    },
    Variable {
        name: GATE_BASE,
        use_: Use::Read,
        meaning: "The gate's base revision from the environment. Honoured only as a rehearsal (never a go): a project variable reaches every job, so only `--base` sets the base for real.",
    },
    Variable {
        name: crate::ci::ENV_FORCE,
        use_: Use::Read,
        meaning: "Forces the CI adapter: `github`, `gitlab` or `terminal`.",
    },
    Variable {
        name: crate::ci::ENV_DOTENV,
        use_: Use::Read,
        meaning: "GitLab: the dotenv report outputs are appended to (`RELMAN_OUT_<OUTPUT>` lines).",
    },
    Variable {
        name: crate::ci::ENV_SUMMARY,
        use_: Use::Read,
        meaning: "GitLab: the markdown job summary file.",
    },
    Variable {
        name: crate::ci::ENV_CODEQUALITY,
        use_: Use::Read,
        meaning: "GitLab: the code-quality report annotations are added to.",
    },
    Variable {
        name: crate::ci::ENV_STOP_COMMANDS,
        use_: Use::Read,
        meaning: "GitHub: `false` prints untrusted text without `::stop-commands::` even when stdout is not a file.",
    },
    Variable {
        name: IDEMPOTENCY_KEY,
        use_: Use::Written,
        meaning: "Set on a GitLab pipeline relman starts: the key that makes a retried dispatch find its first pipeline.",
    },
    Variable {
        name: WORKFLOW,
        use_: Use::Written,
        meaning: "Set on a GitLab pipeline relman starts: the workflow it runs.",
    },
];

/// Names read before each flag had its own (relman 0.1), and what replaced them. They are no
/// longer read: several meant two things (`RELMAN_FORMAT`), and outputs reused some
/// (`RELMAN_REPORT`). One set in the environment gets a warning, for one release.
pub const RENAMED: &[(&str, &str)] = &[
    ("RELMAN_TAG", "RELMAN_CHANGELOG_TAG"),
    ("RELMAN_RANGE", "RELMAN_CHANGELOG_RANGE"),
    ("RELMAN_ALL", "RELMAN_CHANGELOG_ALL"),
    ("RELMAN_NEXT_VERSION", "RELMAN_CHANGELOG_NEXT_VERSION"),
    ("RELMAN_PACKAGE", "RELMAN_CHANGELOG_PACKAGE"),
    ("RELMAN_PRE", "RELMAN_CHANGELOG_PRE"),
    ("RELMAN_BUMP", "RELMAN_CHANGELOG_BUMP"),
    ("RELMAN_OUTPUT", "RELMAN_CHANGELOG_OUTPUT"),
    ("RELMAN_TEMPLATE", "RELMAN_CHANGELOG_TEMPLATE"),
    ("RELMAN_PUBLISH", "RELMAN_CHANGELOG_PUBLISH"),
    ("RELMAN_DRAFT", "RELMAN_CHANGELOG_DRAFT"),
    (
        "RELMAN_FORMAT",
        "RELMAN_CHANGELOG_FORMAT, RELMAN_GATE_FORMAT, RELMAN_AUDIT_FORMAT or RELMAN_AUDIT_VERIFY_FORMAT",
    ),
    ("RELMAN_HEAD", "RELMAN_CHANGELOG_HEAD or RELMAN_GATE_HEAD"),
    ("RELMAN_POLICY", "RELMAN_GATE_POLICY"),
    (
        "RELMAN_ENVIRONMENT",
        "RELMAN_GATE_ENVIRONMENT or RELMAN_AUDIT_ENVIRONMENT",
    ),
    ("RELMAN_PULL_REQUEST", "RELMAN_GATE_PULL_REQUEST"),
    ("RELMAN_OVERRIDE", "RELMAN_GATE_OVERRIDE"),
    ("RELMAN_NOW", "RELMAN_GATE_NOW"),
    ("RELMAN_BASE", "RELMAN_GATE_BASE"),
    ("RELMAN_REPORT", "RELMAN_GATE_REPORT"),
    ("RELMAN_EXPLAIN", "RELMAN_GATE_EXPLAIN"),
    ("RELMAN_NO_COMMIT_STATUS", "RELMAN_GATE_NO_COMMIT_STATUS"),
    ("RELMAN_AUDIT_SINCE_TIP", "RELMAN_AUDIT_VERIFY_SINCE_TIP"),
];

/// One warning line per renamed variable set (non-empty) in `env`; names only, never values.
pub fn renamed_warnings(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    RENAMED
        .iter()
        .filter(|(old, _)| env(old).is_some_and(|v| !v.is_empty()))
        .map(|(old, new)| format!("{old} is no longer read; use {new} (see docs/reference/env.md)"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_once_and_never_an_output() {
        let mut names: Vec<_> = ALL.iter().map(|v| v.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a variable is declared twice");
        for n in names {
            assert!(n.starts_with("RELMAN_"), "{n}");
            assert!(
                !n.starts_with(OUTPUT_PREFIX),
                "{n} is in the outputs' namespace"
            );
        }
    }

    #[test]
    fn a_renamed_variable_is_warned_about_by_name() {
        let env = |k: &str| match k {
            "RELMAN_FORMAT" => Some("json".to_string()),
            "RELMAN_TAG" => Some(String::new()),
            _ => None,
        };
        let w = renamed_warnings(&env);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("RELMAN_FORMAT is no longer read; use RELMAN_CHANGELOG_FORMAT"));
        assert!(!w[0].contains("json"), "a value is never printed");
    }
}
