//! Encoding of step outputs: GitHub's `$GITHUB_OUTPUT` file and GitLab's dotenv report.

use crate::error::{Error, Result};

use super::random;

/// Whether `name` is a valid GitHub output name: a letter or `_`, then letters, digits, `-`, `_`.
pub fn is_github_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// One `$GITHUB_OUTPUT` entry, always in heredoc form (as actions/toolkit writes it):
/// `name<<DELIM\nvalue\nDELIM\n`. The delimiter is random and re-drawn while it occurs in the
/// value, so no value (a commit message included) can end the entry early or add another output.
pub fn github_entry(name: &str, value: &str) -> Result<String> {
    if !is_github_name(name) {
        return Err(Error::Usage(format!(
            "invalid output name {name:?}: use letters, digits, '-' and '_'"
        )));
    }
    Ok(github_entry_with(
        name,
        value,
        random::token_not_in("ghadelimiter_", value),
    ))
}

fn github_entry_with(name: &str, value: &str, delim: String) -> String {
    format!("{name}<<{delim}\n{value}\n{delim}\n")
}

/// The dotenv variable name for an output: [`crate::vars::OUTPUT_PREFIX`] + upper-case, `-` as
/// `_` (`previous-tag` → `RELMAN_OUT_PREVIOUS_TAG`). No flag reads a variable with that prefix,
/// so an upstream job's outputs never become a downstream relman's inputs.
pub fn dotenv_name(name: &str) -> Result<String> {
    if !is_github_name(name) {
        return Err(Error::Usage(format!(
            "invalid output name {name:?}: use letters, digits, '-' and '_'"
        )));
    }
    Ok(format!(
        "{}{}",
        crate::vars::OUTPUT_PREFIX,
        name.to_ascii_uppercase().replace('-', "_")
    ))
}

/// One dotenv line `KEY=value\n` for GitLab's `artifacts:reports:dotenv`.
///
/// GitLab's dotenv parser takes one variable per line and has no escaping, so a value holding a
/// line break (or NUL) is refused here rather than silently cut. Callers with multi-line values
/// (release notes) write them to a file and export its path instead — see
/// [`super::Runtime::set_output`]. GitLab also strips surrounding whitespace from values.
pub fn dotenv_line(key: &str, value: &str) -> Result<String> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(Error::Usage(format!(
            "{key}: a dotenv value must be a single line"
        )));
    }
    Ok(format!("{key}={value}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_names() {
        for ok in ["version", "previous-tag", "_x", "a1_b-2"] {
            assert!(is_github_name(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", "a b", "a<<b", "a=b", "é", "a\nb"] {
            assert!(!is_github_name(bad), "{bad:?}");
            assert!(github_entry(bad, "v").is_err());
        }
    }

    #[test]
    fn heredoc_entry_shape() {
        let e = github_entry("notes", "line 1\nline 2").expect("valid");
        let mut lines = e.lines();
        let head = lines.next().expect("head");
        let delim = head.strip_prefix("notes<<").expect("heredoc");
        assert!(delim.starts_with("ghadelimiter_") && delim.len() > 20);
        assert_eq!(lines.collect::<Vec<_>>(), ["line 1", "line 2", delim]);
        assert!(e.ends_with('\n'));
    }

    #[test]
    fn delimiter_never_occurs_in_value() {
        // A value that tries to close the heredoc with a guessed delimiter, and to add an output.
        let value = "x\nghadelimiter_\nEOF\nversion=9.9.9\n";
        for _ in 0..100 {
            let e = github_entry("notes", value).expect("valid");
            let delim = e
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("notes<<"))
                .expect("head")
                .to_string();
            assert!(!value.contains(&delim));
            // The delimiter occurs exactly twice: opening and closing.
            assert_eq!(e.matches(&delim).count(), 2);
        }
    }

    #[test]
    fn fixed_delimiter_layout() {
        assert_eq!(github_entry_with("v", "", "D".into()), "v<<D\n\nD\n");
        assert_eq!(github_entry_with("v", "a\n", "D".into()), "v<<D\na\n\nD\n");
    }

    #[test]
    fn dotenv() {
        assert_eq!(
            dotenv_name("previous-tag").expect("ok"),
            "RELMAN_OUT_PREVIOUS_TAG"
        );
        assert_eq!(dotenv_name("version").expect("ok"), "RELMAN_OUT_VERSION");
        assert!(dotenv_name("a b").is_err());
        assert_eq!(
            dotenv_line("RELMAN_OUT_VERSION", "1.2.3").expect("ok"),
            "RELMAN_OUT_VERSION=1.2.3\n"
        );
        assert!(dotenv_line("K", "a\nb").is_err());
        assert!(dotenv_line("K", "a\rb").is_err());
        assert!(dotenv_line("K", "a\0b").is_err());
    }
}
