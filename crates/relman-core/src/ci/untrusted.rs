//! Streaming untrusted text (commit messages, titles) to the job log.
//!
//! Release notes for a long history are large, so they are written as they are rendered, not
//! gathered first. On GitHub the stream is opened with `::stop-commands::<random>` and closed
//! with `::<random>::`: the token is drawn per run from the OS's randomness and never shown
//! before the text was fixed, so no commit can contain it. On GitLab each line is cleaned of
//! control characters (no forged section markers or terminal escapes).
//!
//! The fence opens at the first write and closes on `finish` or, when an error cuts the
//! stream short, on drop: the error's annotation printed afterwards must reach the runner.
//!
//! stderr (error chains at the binary edge, warnings, `tracing` logs) goes through
//! [`LogLines`]. The GitHub runner reads commands on stderr too, but it reads stdout and stderr
//! from two pipes and interleaves their lines in whatever order they arrive: a fence opened on
//! one stream can be closed by the other's marker while hostile text is still pending. So
//! stderr is never fenced; each of its lines is escaped on its own
//! ([`escape::github_log_line`]), which holds whatever the order. On GitLab its lines are
//! cleaned like stdout's. relman writes no workflow command of its own on stderr, except the
//! gate's annotations with `--format json` (stdout is then one JSON document, never fenced,
//! so there is no fence for them to break).

use std::io::Write;

use super::{Runtime, escape, random};
use crate::error::{Error, Result};

fn log_err(source: std::io::Error) -> Error {
    Error::Write {
        path: "<stdout>".into(),
        source,
    }
}

/// A writer for untrusted text; call [`Untrusted::finish`] at the end.
pub struct Untrusted<'w> {
    out: &'w mut dyn Write,
    mode: Mode,
    /// Whether the last byte written ended a line (the closing marker needs its own line).
    at_line_start: bool,
    /// GitLab: the unfinished last line, cleaned when complete.
    pending: String,
    /// GitHub: whether the opening marker was written (and the closing one is owed).
    open: bool,
}

impl std::fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Untrusted")
            .field("mode", &self.mode)
            .finish()
    }
}

#[derive(Debug)]
enum Mode {
    Raw,
    StopCommands(String),
    CleanLines,
    /// JSON documents: never fenced (stdout must parse as JSON), made inert by JSON's own
    /// escapes ([`escape::inert_json`]).
    Json,
}

impl Runtime {
    /// Opens a stream of untrusted text on `out`.
    pub fn untrusted<'w>(&self, out: &'w mut dyn Write) -> Result<Untrusted<'w>> {
        let mode = match self {
            Runtime::GitHub(gh) if gh.wrap_untrusted => Mode::StopCommands(random::token("relman")),
            Runtime::GitLab(_) => Mode::CleanLines,
            _ => Mode::Raw,
        };
        Ok(Untrusted {
            out,
            mode,
            at_line_start: true,
            pending: String::new(),
            open: false,
        })
    }
}

impl Runtime {
    /// Opens a stream of machine output (`--format json`) on `out`: never fenced, so a pipe to
    /// `jq` or a saved file is one JSON document on every runner. JSON escapes every control
    /// character, so no line starts with `::` or carries a section marker; the one pattern
    /// a runner obeys inside a line, `##[`, is written as `#\u0023[` (the same text once
    /// parsed). Pass each JSON value in one write, so the pattern is never split.
    pub fn machine<'w>(&self, out: &'w mut dyn Write) -> Untrusted<'w> {
        Untrusted {
            out,
            mode: if self.is_ci() { Mode::Json } else { Mode::Raw },
            at_line_start: true,
            pending: String::new(),
            open: false,
        }
    }
}

impl Untrusted<'_> {
    /// Writes a piece of text.
    pub fn write(&mut self, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        match self.mode {
            Mode::CleanLines => {
                self.pending.push_str(text);
                while let Some(i) = self.pending.find('\n') {
                    let line: String = self.pending.drain(..=i).collect();
                    let clean = escape::log_line(&line[..line.len() - 1]);
                    writeln!(self.out, "{clean}").map_err(log_err)?;
                }
            }
            Mode::StopCommands(ref token) => {
                if !self.open {
                    writeln!(self.out, "::stop-commands::{token}").map_err(log_err)?;
                    self.open = true;
                }
                self.out.write_all(text.as_bytes()).map_err(log_err)?;
            }
            Mode::Raw => self.out.write_all(text.as_bytes()).map_err(log_err)?,
            Mode::Json => self
                .out
                .write_all(escape::inert_json(text).as_bytes())
                .map_err(log_err)?,
        }
        self.at_line_start = text.ends_with('\n');
        Ok(())
    }

    /// Ends the stream (resumes workflow commands on GitHub) and flushes.
    pub fn finish(mut self) -> Result<()> {
        self.close()
    }

    fn close(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let clean = escape::log_line(&std::mem::take(&mut self.pending));
            writeln!(self.out, "{clean}").map_err(log_err)?;
        }
        if let (Mode::StopCommands(token), true) = (&self.mode, self.open) {
            let nl = if self.at_line_start { "" } else { "\n" };
            writeln!(self.out, "{nl}::{token}::").map_err(log_err)?;
            self.open = false;
        }
        self.out.flush().map_err(log_err)
    }
}

impl Drop for Untrusted<'_> {
    fn drop(&mut self) {
        // Best effort: an error is already on its way out.
        let _ = self.close();
    }
}

/// How lines of a log stream that is never fenced (stderr) are made inert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// A terminal: as is.
    Raw,
    /// [`escape::github_log_line`].
    GitHub,
    /// [`escape::log_line`].
    GitLab,
}

impl Runtime {
    /// How this runtime's stderr lines are cleaned.
    pub fn log_mode(&self) -> LogMode {
        match self {
            Runtime::GitHub(_) => LogMode::GitHub,
            Runtime::GitLab(_) => LogMode::GitLab,
            Runtime::Terminal => LogMode::Raw,
        }
    }
}

/// A writer that cleans each complete line before passing it on (see [`LogMode`]). A line is
/// passed on only once its newline arrives (a partial line flushed early could be completed
/// into a command by the next write); the unfinished rest is written, with a newline, on drop.
pub struct LogLines<W: Write> {
    out: W,
    mode: LogMode,
    pending: Vec<u8>,
}

impl<W: Write> std::fmt::Debug for LogLines<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLines")
            .field("mode", &self.mode)
            .finish()
    }
}

impl<W: Write> LogLines<W> {
    pub fn new(out: W, mode: LogMode) -> Self {
        LogLines {
            out,
            mode,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, line: &[u8]) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(line);
        let clean = match self.mode {
            LogMode::GitHub => escape::github_log_line(&text),
            LogMode::GitLab => escape::log_line(&text),
            LogMode::Raw => text.into_owned(),
        };
        writeln!(self.out, "{clean}")
    }
}

impl<W: Write> Write for LogLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.mode == LogMode::Raw {
            return self.out.write(buf);
        }
        self.pending.extend_from_slice(buf);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=i).collect();
            self.emit(&line[..i])?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<W: Write> Drop for LogLines<W> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            // Best effort: nowhere left to report a failing stderr.
            let _ = self.emit(&rest);
        }
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::{GitHub, GitLab};

    fn log_lines(mode: LogMode, chunks: &[&str]) -> String {
        let mut buf = Vec::new();
        {
            let mut w = LogLines::new(&mut buf, mode);
            for c in chunks {
                w.write_all(c.as_bytes()).unwrap();
                w.flush().unwrap();
            }
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn stderr_lines_are_escaped_whatever_the_chunks() {
        let text = log_lines(
            LogMode::GitHub,
            &[
                "relman: error: x\n ",
                ":",
                ":set-output name=v::go\r::error::y",
            ],
        );
        assert_eq!(
            text,
            "relman: error: x\n\\ ::set-output name=v::go\u{FFFD}::error::y\n"
        );
        let text = log_lines(LogMode::GitLab, &["a\x1b[0Ksection_end:1:x\r\x1b[0K\nb"]);
        assert_eq!(text, "a\u{FFFD}[0Ksection_end:1:x\u{FFFD}\u{FFFD}[0K\nb\n");
        assert_eq!(log_lines(LogMode::Raw, &["::x", "\n"]), "::x\n");
    }

    fn github() -> Runtime {
        Runtime::GitHub(GitHub {
            output: None,
            summary: None,
            wrap_untrusted: true,
        })
    }

    #[test]
    fn github_stream_is_fenced_by_a_fresh_token() {
        let mut buf = Vec::new();
        let mut u = github().untrusted(&mut buf).unwrap();
        u.write("::error::pwned\n").unwrap();
        u.write("%0A no newline").unwrap();
        u.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let token = lines[0].strip_prefix("::stop-commands::").unwrap();
        assert!(token.len() >= 16, "{token}");
        assert_eq!(&lines[1..3], &["::error::pwned", "%0A no newline"]);
        assert_eq!(lines[3], format!("::{token}::"));
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn gitlab_lines_are_cleaned_across_chunks() {
        let rt = Runtime::GitLab(GitLab {
            dotenv: None,
            summary: None,
            code_quality: None,
        });
        let mut buf = Vec::new();
        let mut u = rt.untrusted(&mut buf).unwrap();
        u.write("a\x1b[0Ksection_").unwrap();
        u.write("start:1:x\r\nb").unwrap();
        u.finish().unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert_eq!(text.lines().count(), 2, "{text:?}");
    }

    #[test]
    fn github_fence_opens_on_first_write_and_closes_on_drop() {
        let mut buf = Vec::new();
        github().untrusted(&mut buf).unwrap().finish().unwrap();
        assert!(buf.is_empty(), "nothing written, no fence");
        {
            let mut u = github().untrusted(&mut buf).unwrap();
            u.write("partial").unwrap();
            // dropped without finish, as when an error cuts the stream short
        }
        let text = String::from_utf8(buf).unwrap();
        let token = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("::stop-commands::")
            .unwrap();
        assert!(
            text.ends_with(&format!("partial\n::{token}::\n")),
            "{text:?}"
        );
    }

    #[test]
    fn terminal_is_untouched() {
        let mut buf = Vec::new();
        let mut u = Runtime::Terminal.untrusted(&mut buf).unwrap();
        u.write("::error::x\n").unwrap();
        u.finish().unwrap();
        assert_eq!(buf, b"::error::x\n");
    }
}
