//! The CI runtime adapter: how relman talks to the CI that runs it.
//!
//! Every concern reports the same way, whichever CI runs it: step outputs, a job summary,
//! annotations, log groups, secret masking, and untrusted text (commit messages, PR titles,
//! branch names) printed so that it can never act on the runner. [`Runtime::detect`] picks the
//! implementation from the environment:
//!
//! | | GitHub Actions | GitLab CI | terminal |
//! |---|---|---|---|
//! | outputs | `$GITHUB_OUTPUT`, heredoc with a random delimiter | dotenv report (`$RELMAN_DOTENV`), `RELMAN_OUT_<NAME>`; multi-line values go to a file named by `RELMAN_OUT_<NAME>_FILE` | ignored |
//! | summary | `$GITHUB_STEP_SUMMARY` | markdown file (`$RELMAN_SUMMARY`) and a collapsed log section | ignored (stdout has it) |
//! | annotations | `::error file=,line=,title=::` | log line, and a code-quality report entry (`$RELMAN_CODEQUALITY`) | `relman: error: …` |
//! | groups | `::group::` | `section_start`/`section_end` | plain header |
//! | masking | `::add-mask::` | not possible at run time (mask the CI variable) | — |
//! | untrusted text | inside `::stop-commands::<random>` | control characters replaced | raw |
//!
//! Secrets are held in [`Secret`], whose `Debug` and `Display` never show the value, so a token
//! cannot reach a log even through `tracing::debug!(?args)`.
//!
//! Inputs: the composite action and the GitLab component pass inputs through environment
//! variables (`RELMAN_CHANGELOG_TAG`, …, one per flag: [`crate::vars`]) that clap reads as flag
//! defaults; [`input`] reads the
//! `INPUT_<NAME>` variables that GitHub sets for JavaScript and Docker actions.

mod detect;
pub mod escape;
pub mod github;
pub mod gitlab;
pub mod output;
mod random;
mod untrusted;

pub use untrusted::{LogLines, LogMode, Untrusted};

use std::io::Write;
use std::path::{Path, PathBuf};

pub use detect::{
    ENV_CODEQUALITY, ENV_DOTENV, ENV_FORCE, ENV_STOP_COMMANDS, ENV_SUMMARY, stdout_is_file,
};

use crate::error::{Error, Result};

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

/// GitHub Actions: the files the runner reads after the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHub {
    /// `$GITHUB_OUTPUT`.
    pub output: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`.
    pub summary: Option<PathBuf>,
    /// Wrap untrusted text in `::stop-commands::` (stdout is the runner's log, not a file).
    pub wrap_untrusted: bool,
}

/// GitLab CI: report files the component declares as artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLab {
    /// dotenv report (`artifacts:reports:dotenv`).
    pub dotenv: Option<PathBuf>,
    /// Markdown summary artifact.
    pub summary: Option<PathBuf>,
    /// Code-quality report (`artifacts:reports:codequality`).
    pub code_quality: Option<PathBuf>,
}

/// The CI relman runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    GitHub(GitHub),
    GitLab(GitLab),
    Terminal,
}

/// An open log group; pass it back to [`Runtime::group_end`].
#[derive(Debug)]
#[must_use = "close the group with Runtime::group_end"]
pub struct Group {
    name: String,
}

/// A secret (a token). Its `Debug` and `Display` print `***`; only [`Secret::expose`] gives the
/// value, so it cannot be logged by accident at any level.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that sends it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Whether colours may be written at all: not when `NO_COLOR` is set to anything
/// (<https://no-color.org>). Whether the stream is a terminal is the caller's question.
pub fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A GitHub action input as the runner passes it to JavaScript and Docker actions:
/// `INPUT_<NAME>` with the name upper-cased and spaces as `_` (hyphens stay), trimmed;
/// `None` when unset or empty.
pub fn input(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    let key = format!("INPUT_{}", name.replace(' ', "_").to_uppercase());
    env(&key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn log_err(e: std::io::Error) -> Error {
    Error::Write {
        path: "<log>".into(),
        source: e,
    }
}

/// Appends to a report file, never through a symlink: the GitLab summary, dotenv and
/// code-quality files sit in the checkout, where a repository can commit one.
fn append(path: &Path, text: &str) -> Result<()> {
    crate::fsutil::append_no_follow(path, text)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Runtime {
    /// Whether this is a CI runner (not a terminal).
    pub fn is_ci(&self) -> bool {
        !matches!(self, Runtime::Terminal)
    }

    /// Sets a step output. GitHub: a heredoc entry in `$GITHUB_OUTPUT`. GitLab:
    /// `RELMAN_OUT_<NAME>` in the dotenv report; a multi-line value (which dotenv cannot hold) is
    /// written to `relman-output-<name>.txt` beside the report and its path exported as
    /// `RELMAN_OUT_<NAME>_FILE`. Terminal: nothing. Invalid names are an error everywhere.
    pub fn set_output(&self, name: &str, value: &str) -> Result<()> {
        match self {
            Runtime::GitHub(gh) => {
                let entry = output::github_entry(name, value)?;
                match &gh.output {
                    Some(p) => append(p, &entry),
                    None => Ok(()),
                }
            }
            Runtime::GitLab(gl) => {
                let key = output::dotenv_name(name)?;
                let Some(dotenv) = &gl.dotenv else {
                    return Ok(());
                };
                if value.contains(['\n', '\r', '\0']) {
                    let file = dotenv.with_file_name(format!("relman-output-{name}.txt"));
                    crate::fsutil::write_no_follow(&file, value.as_bytes())?;
                    let shown = file.file_name().map(PathBuf::from).unwrap_or(file);
                    append(
                        dotenv,
                        &output::dotenv_line(&format!("{key}_FILE"), &shown.to_string_lossy())?,
                    )
                } else {
                    append(dotenv, &output::dotenv_line(&key, value)?)
                }
            }
            Runtime::Terminal => output::dotenv_name(name).map(|_| ()),
        }
    }

    /// Appends markdown to the job summary. GitLab also shows it in a collapsed log section on `log`.
    pub fn append_summary(&self, log: &mut dyn Write, markdown: &str) -> Result<()> {
        let mut text = markdown.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        match self {
            Runtime::GitHub(gh) => match &gh.summary {
                Some(p) => append(p, &text),
                None => Ok(()),
            },
            Runtime::GitLab(gl) => {
                if let Some(p) = &gl.summary {
                    append(p, &text)?;
                }
                let g = self.group_start(log, "Job summary")?;
                self.print_untrusted(log, &text)?;
                self.group_end(log, g)
            }
            Runtime::Terminal => Ok(()),
        }
    }

    /// On GitLab, creates the code-quality report as an empty list (`[]`) unless it exists:
    /// the job declares it as a report artifact, and a run with no finding to annotate (a go)
    /// must still leave a valid one. `create_new` never follows a symlink left in its place.
    pub fn begin_code_quality(&self) -> Result<()> {
        let Runtime::GitLab(gl) = self else {
            return Ok(());
        };
        let Some(report) = &gl.code_quality else {
            return Ok(());
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(report)
        {
            Ok(mut f) => f.write_all(b"[]\n").map_err(|e| Error::Write {
                path: report.clone(),
                source: e,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(Error::Write {
                path: report.clone(),
                source: e,
            }),
        }
    }

    /// Reports a finding tied (optionally) to a file and line.
    pub fn annotate(
        &self,
        log: &mut dyn Write,
        level: Level,
        file: Option<&str>,
        line: Option<u32>,
        title: Option<&str>,
        message: &str,
    ) -> Result<()> {
        match self {
            Runtime::GitHub(_) => log
                .write_all(github::annotation(level, file, line, title, message).as_bytes())
                .map_err(log_err),
            Runtime::GitLab(gl) => {
                let line_text =
                    gitlab::log_annotation(colour_allowed(), level, file, line, title, message);
                log.write_all(line_text.as_bytes()).map_err(log_err)?;
                if let (Some(report), Some(f)) = (&gl.code_quality, file) {
                    let mut entries: Vec<serde_json::Value> =
                        crate::fsutil::read_no_follow(report)?
                            .and_then(|s| serde_json::from_str(&s).ok())
                            .unwrap_or_default();
                    entries.push(gitlab::code_quality_entry(
                        level,
                        f,
                        line.unwrap_or(1),
                        title,
                        message,
                    ));
                    let json =
                        serde_json::to_string_pretty(&entries).map_err(|e| Error::Write {
                            path: report.clone(),
                            source: std::io::Error::other(e),
                        })?;
                    crate::fsutil::write_no_follow(report, json.as_bytes())?;
                }
                Ok(())
            }
            Runtime::Terminal => {
                let word = match level {
                    Level::Error => "error",
                    Level::Warning => "warning",
                    Level::Notice => "note",
                };
                let mut loc = String::new();
                if let Some(f) = file {
                    loc = match line {
                        Some(l) => format!("{f}:{l}: "),
                        None => format!("{f}: "),
                    };
                }
                let title = title.map(|t| format!("{t}: ")).unwrap_or_default();
                writeln!(log, "relman: {word}: {loc}{title}{message}").map_err(log_err)
            }
        }
    }

    /// Asks the runner to hide `secret` in every later log line. Call it before the secret is
    /// used. GitHub only: GitLab masks only variables declared masked in its settings.
    pub fn mask(&self, log: &mut dyn Write, secret: &Secret) -> Result<()> {
        match self {
            Runtime::GitHub(_) => log
                .write_all(github::mask(secret.expose()).as_bytes())
                .map_err(log_err),
            _ => Ok(()),
        }
    }

    /// Writes text that may come from anyone who can push a commit or open a pull request.
    /// GitHub: inside `::stop-commands::<random>` (unless stdout is a file). GitLab: control
    /// characters other than newline and tab are replaced. Terminal: as is.
    pub fn print_untrusted(&self, w: &mut dyn Write, text: &str) -> Result<()> {
        let out = match self {
            Runtime::GitHub(gh) if gh.wrap_untrusted && !text.is_empty() => {
                github::stop_commands(text)
            }
            Runtime::GitLab(_) => text
                .split('\n')
                .map(escape::log_line)
                .collect::<Vec<_>>()
                .join("\n"),
            _ => text.to_string(),
        };
        w.write_all(out.as_bytes()).map_err(log_err)
    }

    /// Reports a failed command as an error annotation: a configuration error points at its
    /// file and line; anything else is an annotation without a location. Nothing on a terminal
    /// (the caller prints the error there).
    pub fn annotate_error(
        &self,
        log: &mut dyn Write,
        err: &(dyn std::error::Error + 'static),
    ) -> Result<()> {
        if !self.is_ci() {
            return Ok(());
        }
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(Error::Config {
                file,
                line,
                column: _,
                key,
                message,
            }) = e.downcast_ref::<Error>()
            {
                let file = file.to_string_lossy();
                let line = u32::try_from(*line).ok();
                return self.annotate(
                    log,
                    Level::Error,
                    Some(&file),
                    line,
                    Some("relman"),
                    &format!("{key}: {message}"),
                );
            }
            // An evidence file's fault lands on that file (and line, when the parser knew it).
            if let Some(Error::Evidence { path, line, .. }) = e.downcast_ref::<Error>() {
                let file = path.to_string_lossy();
                let msg = crate::cli::chain_message(err);
                return self.annotate(
                    log,
                    Level::Error,
                    Some(&file),
                    line.and_then(|l| u32::try_from(l).ok()),
                    Some("relman"),
                    &msg,
                );
            }
            cur = e.source();
        }
        let msg = crate::cli::chain_message(err);
        self.annotate(log, Level::Error, None, None, Some("relman"), &msg)
    }

    /// Opens a collapsible log group.
    pub fn group_start(&self, log: &mut dyn Write, title: &str) -> Result<Group> {
        let name = escape::section_name(title).to_ascii_lowercase();
        let text = match self {
            Runtime::GitHub(_) => github::group_start(title),
            Runtime::GitLab(_) => gitlab::section_start(now(), &name, title, true),
            Runtime::Terminal => format!("== {title}\n"),
        };
        log.write_all(text.as_bytes()).map_err(log_err)?;
        Ok(Group { name })
    }

    /// Closes a group opened by [`Runtime::group_start`].
    pub fn group_end(&self, log: &mut dyn Write, group: Group) -> Result<()> {
        let text = match self {
            Runtime::GitHub(_) => github::group_end(),
            Runtime::GitLab(_) => gitlab::section_end(now(), &group.name),
            Runtime::Terminal => String::new(),
        };
        log.write_all(text.as_bytes()).map_err(log_err)
    }
}

#[cfg(test)]
mod tests;
