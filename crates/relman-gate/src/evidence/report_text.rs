//! What the junit and sarif gates share: opening evidence under the size cap, located
//! errors, and the short texts a finding keeps from a report.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use relman_core::Error;

use crate::finding::MAX_EVIDENCE_BYTES;

/// Failed tests / results listed in a finding's evidence; the rest are counted.
pub(crate) const MAX_LISTED: usize = 20;

/// Characters kept of a failure message or a result's text: enough to recognise it, bounded
/// so a hostile report cannot make the finding (and the audit log) huge.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;

/// Characters kept of a name, class name or path taken from a report.
pub(crate) const MAX_NAME_CHARS: usize = 1000;

pub(crate) fn evidence(path: &Path, line: Option<usize>, message: impl Into<String>) -> Error {
    Error::Evidence {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Opens `path` for streaming, refusing files over [`MAX_EVIDENCE_BYTES`] before reading.
pub(crate) fn open(path: &Path) -> Result<BufReader<File>, Error> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len > MAX_EVIDENCE_BYTES {
        return Err(evidence(
            path,
            None,
            format!("{len} bytes is over the {MAX_EVIDENCE_BYTES}-byte limit for evidence files"),
        ));
    }
    Ok(BufReader::with_capacity(1 << 16, file))
}

/// Refuses an empty file and UTF-16/32 by name (their first characters hold NUL bytes):
/// both parsers read UTF-8 only, and "invalid character at line 1" would not say why. A UTF-8
/// byte order mark is skipped.
pub(crate) fn check_head<R: BufRead>(path: &Path, input: &mut R, what: &str) -> Result<(), Error> {
    let head = input.fill_buf().map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if head.is_empty() {
        return Err(evidence(path, None, format!("empty file: not a {what}")));
    }
    let name = match head {
        [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0xFE, 0xFF, ..] => Some("UTF-32"),
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] => Some("UTF-16"),
        _ if head.iter().take(4).any(|&b| b == 0) => Some("UTF-16 or UTF-32 (no byte order mark)"),
        _ => None,
    };
    if let Some(name) = name {
        return Err(evidence(
            path,
            None,
            format!("encoded as {name}: only UTF-8 is read (re-encode the {what} as UTF-8)"),
        ));
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input.consume(3);
    }
    Ok(())
}

/// The 1-based line holding byte `offset`. Counted again from the file only when an error is
/// reported, so the happy path pays nothing for it.
pub(crate) fn line_at(path: &Path, offset: u64) -> Option<usize> {
    let mut file = File::open(path).ok()?.take(offset);
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 1;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(lines),
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            Err(_) => return None,
        }
    }
}

/// The first non-blank line of `s`, trimmed and cut to `max` characters (`…` when cut).
pub(crate) fn first_line(s: &str, max: usize) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    cut(line, max)
}

/// `s` cut to `max` characters, `…` appended when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `1234567` → `1 234 567`: counts in reasons are read at a glance.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `n` and the noun, plural unless 1 (`1 error`, `2 errors`).
pub(crate) fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", grouped(n))
    }
}

/// A path from a report made relative to the repository root: `file://` and the root
/// stripped, `\` turned into `/`, `./` dropped.
pub(crate) fn repo_path(root: &Path, raw: &str) -> String {
    let raw = raw.strip_prefix("file://").unwrap_or(raw);
    let raw = raw.replace('\\', "/");
    let root = root.to_string_lossy().replace('\\', "/");
    let rel = raw
        .strip_prefix(root.trim_end_matches('/'))
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(&raw);
    let rel = rel.trim_start_matches('/');
    cut(rel.strip_prefix("./").unwrap_or(rel), MAX_NAME_CHARS)
}

#[cfg(test)]
#[path = "tests/cx.rs"]
pub(crate) mod test_context;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234), "1 234");
        assert_eq!(grouped(123456), "123 456");
        assert_eq!(grouped(1234567), "1 234 567");
        assert_eq!(count(1, "error"), "1 error");
        assert_eq!(count(1234, "test"), "1 234 tests");
        assert_eq!(
            first_line("\n  assert 1 == 2  \nmore", 500),
            "assert 1 == 2"
        );
        assert_eq!(first_line("abcdef", 3), "abc…");
        assert_eq!(
            repo_path(Path::new("/repo"), "file:///repo/src/a.rs"),
            "src/a.rs"
        );
        assert_eq!(repo_path(Path::new("/repo"), "./src/a.rs"), "src/a.rs");
        assert_eq!(
            repo_path(Path::new("/repo"), "/repository/a"),
            "repository/a"
        );
    }
}
