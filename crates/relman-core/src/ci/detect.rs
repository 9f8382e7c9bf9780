//! Which CI runs relman, from the environment alone.

use std::path::PathBuf;

use super::{GitHub, GitLab, Runtime};

/// Forces a runtime: `github`, `gitlab` or `terminal` (tests, or a runner that hides its kind).
pub const ENV_FORCE: &str = "RELMAN_CI";
/// GitLab: path of the dotenv report outputs are appended to (`artifacts:reports:dotenv`).
pub const ENV_DOTENV: &str = "RELMAN_DOTENV";
/// GitLab: path of the markdown job summary (an artifact, `expose_as` in the component).
pub const ENV_SUMMARY: &str = "RELMAN_SUMMARY";
/// GitLab: path of the code-quality report annotations are added to.
pub const ENV_CODEQUALITY: &str = "RELMAN_CODEQUALITY";
/// GitHub: `false` writes untrusted text unwrapped even when stdout is not a file.
pub const ENV_STOP_COMMANDS: &str = "RELMAN_STOP_COMMANDS";

impl Runtime {
    /// Detects the runtime: `GITHUB_ACTIONS=true` is GitHub, `GITLAB_CI=true` GitLab, anything
    /// else a terminal. `RELMAN_CI` overrides. `stdout_is_file` tells whether stdout is a regular
    /// file (`> notes.md`): untrusted text written there is not the runner's log and is kept raw.
    pub fn detect_with(env: &dyn Fn(&str) -> Option<String>, stdout_is_file: bool) -> Runtime {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let path = |k: &str| get(k).map(PathBuf::from);
        let kind = match get(ENV_FORCE).as_deref() {
            Some("github") => "github",
            Some("gitlab") => "gitlab",
            Some(_) => "terminal",
            None if get("GITHUB_ACTIONS").as_deref() == Some("true") => "github",
            None if get("GITLAB_CI").as_deref() == Some("true") => "gitlab",
            None => "terminal",
        };
        match kind {
            "github" => Runtime::GitHub(GitHub {
                output: path("GITHUB_OUTPUT"),
                summary: path("GITHUB_STEP_SUMMARY"),
                wrap_untrusted: !stdout_is_file
                    && get(ENV_STOP_COMMANDS).as_deref() != Some("false"),
            }),
            "gitlab" => Runtime::GitLab(GitLab {
                dotenv: path(ENV_DOTENV),
                summary: path(ENV_SUMMARY),
                code_quality: path(ENV_CODEQUALITY),
            }),
            _ => Runtime::Terminal,
        }
    }

    /// [`Runtime::detect_with`] on the process environment and stdout.
    pub fn detect() -> Runtime {
        Runtime::detect_with(&|k| std::env::var(k).ok(), stdout_is_file())
    }
}

/// Whether stdout is a regular file (a shell redirection), as opposed to a pipe or terminal.
pub fn stdout_is_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let out = std::io::stdout();
        out.as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata())
            .map(|m| m.file_type().is_file())
            .unwrap_or(false)
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        let out = std::io::stdout();
        out.as_handle()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata())
            .map(|m| m.file_type().is_file())
            .unwrap_or(false)
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn github() {
        let rt = Runtime::detect_with(
            &env(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_OUTPUT", "/o"),
                ("GITHUB_STEP_SUMMARY", "/s"),
            ]),
            false,
        );
        assert_eq!(
            rt,
            Runtime::GitHub(GitHub {
                output: Some("/o".into()),
                summary: Some("/s".into()),
                wrap_untrusted: true
            })
        );
    }

    #[test]
    fn github_stdout_to_file_or_opt_out_is_not_wrapped() {
        let e = env(&[("GITHUB_ACTIONS", "true")]);
        assert!(matches!(
            Runtime::detect_with(&e, true),
            Runtime::GitHub(GitHub {
                wrap_untrusted: false,
                ..
            })
        ));
        let e = env(&[("GITHUB_ACTIONS", "true"), (ENV_STOP_COMMANDS, "false")]);
        assert!(matches!(
            Runtime::detect_with(&e, false),
            Runtime::GitHub(GitHub {
                wrap_untrusted: false,
                ..
            })
        ));
    }

    #[test]
    fn gitlab() {
        let rt = Runtime::detect_with(
            &env(&[("GITLAB_CI", "true"), (ENV_DOTENV, "relman.env")]),
            false,
        );
        assert_eq!(
            rt,
            Runtime::GitLab(GitLab {
                dotenv: Some("relman.env".into()),
                summary: None,
                code_quality: None
            })
        );
    }

    #[test]
    fn terminal_and_overrides() {
        assert_eq!(Runtime::detect_with(&env(&[]), false), Runtime::Terminal);
        assert_eq!(
            Runtime::detect_with(&env(&[("GITHUB_ACTIONS", "false"), ("CI", "true")]), false),
            Runtime::Terminal
        );
        assert_eq!(
            Runtime::detect_with(
                &env(&[("GITHUB_ACTIONS", "true"), (ENV_FORCE, "none")]),
                false
            ),
            Runtime::Terminal
        );
        assert!(matches!(
            Runtime::detect_with(&env(&[(ENV_FORCE, "gitlab")]), false),
            Runtime::GitLab(_)
        ));
        // Empty values count as unset.
        assert!(matches!(
            Runtime::detect_with(&env(&[(ENV_FORCE, ""), ("GITHUB_ACTIONS", "true")]), false),
            Runtime::GitHub(_)
        ));
    }
}
