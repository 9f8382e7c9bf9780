//! Keeping CHANGELOG.md up to date: insert or replace release sections, never touch the rest.
//!
//! A section starts at a `## ` heading and runs to the next one. Its key is the version in the
//! heading (`## [1.2.0] - …` → `1.2.0`, `## [Unreleased]` → `unreleased`). Rendering the same
//! release again replaces its section with identical text, so a second run changes nothing.

use std::path::Path;

use relman_core::{Error, Result, fsutil};

/// A rendered section and its key.
#[derive(Debug, Clone)]
pub struct Section {
    pub key: String,
    pub text: String,
}

impl Section {
    /// A section for `version` (`None`: unreleased). Every `## ` line after the section's own
    /// heading is escaped (`\## …`, shown as text): it can only come from commit text, and
    /// would otherwise become a section boundary on the next run.
    pub fn new(version: Option<&str>, text: String) -> Self {
        Section {
            key: version.map_or_else(
                || "unreleased".to_string(),
                |v| v.trim_start_matches('v').to_lowercase(),
            ),
            text: escape_inner_headings(&text),
        }
    }
}

fn escape_inner_headings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut seen_heading = false;
    for line in text.split_inclusive('\n') {
        if heading_key(line).is_some() {
            if seen_heading {
                out.push('\\');
            }
            seen_heading = true;
        }
        out.push_str(line);
    }
    out
}

fn heading_key(line: &str) -> Option<String> {
    let rest = line.strip_prefix("## ")?.trim_start();
    let rest = rest.strip_prefix('[').unwrap_or(rest);
    let end = rest.find([']', ' ', '\t']).unwrap_or(rest.len());
    let key = rest[..end].trim_start_matches('v').to_lowercase();
    (!key.is_empty()).then_some(key)
}

fn order(key: &str) -> Option<semver::Version> {
    semver::Version::parse(key).ok()
}

/// Merges `sections` into `existing` (a whole CHANGELOG.md, or empty), returning the new text.
pub fn merge(existing: &str, sections: &[Section], header: &str) -> String {
    // Split into preamble and sections, keeping every byte of untouched text.
    let mut preamble = String::new();
    let mut parts: Vec<(Option<String>, String)> = Vec::new();
    for line in existing.split_inclusive('\n') {
        match heading_key(line) {
            Some(key) => parts.push((Some(key), line.to_string())),
            None => match parts.last_mut() {
                Some((_, text)) => text.push_str(line),
                None => preamble.push_str(line),
            },
        }
    }
    if existing.trim().is_empty() {
        preamble = format!("{}\n", header.trim_end());
    }
    let promotes = sections.iter().any(|s| s.key != "unreleased");
    for s in sections {
        let text = format!("{}\n", s.text.trim_end());
        if let Some(slot) = parts
            .iter_mut()
            .find(|(k, _)| k.as_deref() == Some(s.key.as_str()))
        {
            // Keep the blank line that separated it from the next section.
            slot.1 = text;
            continue;
        }
        // New: above the first section of a lower version (or above everything for unreleased).
        let new_v = order(&s.key);
        let at = parts
            .iter()
            .position(|(k, _)| match (&new_v, k.as_deref().and_then(order)) {
                (None, _) => true,
                (Some(n), Some(o)) => o < *n,
                (Some(_), None) => false,
            })
            .unwrap_or(parts.len());
        parts.insert(at, (Some(s.key.clone()), text));
    }
    // Notes written for a version replace the unreleased notes they came from.
    if promotes && !sections.iter().any(|s| s.key == "unreleased") {
        parts.retain(|(k, _)| k.as_deref() != Some("unreleased"));
    }
    let mut out = preamble;
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    let n = parts.len();
    for (i, (_, text)) in parts.into_iter().enumerate() {
        out.push_str(text.trim_end());
        out.push('\n');
        if i + 1 < n {
            out.push('\n');
        }
    }
    out
}

/// Updates the file at `path` (created when missing), atomically. Returns whether it changed.
pub fn update(path: &Path, sections: &[Section], header: &str) -> Result<bool> {
    let existing = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            Error::Usage(format!(
                "{}: not UTF-8 text (byte {}): refusing to rewrite it",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let new = merge(&existing, sections, header);
    if new == existing {
        return Ok(false);
    }
    fsutil::write_atomic(path, new.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sec(v: Option<&str>, body: &str) -> Section {
        let title = v.unwrap_or("Unreleased");
        Section::new(v, format!("## [{title}]\n\n{body}\n"))
    }

    #[test]
    fn commit_text_cannot_open_a_section() {
        // Issue #12 finding 8: a commit footer line `## [Unreleased]` rendered into 1.0.0's
        // notes must not become a section boundary on the next run.
        let injected = "## [1.0.0]\n\n### Features\n\n- a\n\n## [Unreleased]\n## 0.0.1\n\n- b\n";
        let once = merge(
            "",
            &[Section::new(Some("1.0.0"), injected.into())],
            "# Changelog\n",
        );
        let again = merge(&once, &[Section::new(Some("1.0.0"), injected.into())], "");
        assert_eq!(again, once, "re-rendering the same release changes nothing");
        let next = merge(&once, &[sec(None, "- c")], "");
        let promoted = merge(&next, &[sec(Some("1.1.0"), "- c")], "");
        assert!(
            promoted.contains("- a\n") && promoted.contains("- b\n"),
            "{promoted}"
        );
        assert!(
            promoted.contains("## [1.1.0]\n\n- c\n\n## [1.0.0]"),
            "{promoted}"
        );
        // The text is still shown (as text, not a heading).
        assert!(once.contains("\\## [Unreleased]\n\\## 0.0.1\n"), "{once}");
    }

    #[test]
    fn new_file_gets_header_and_section() {
        let out = merge("", &[sec(Some("1.0.0"), "- a")], "# Changelog\n");
        assert_eq!(out, "# Changelog\n\n## [1.0.0]\n\n- a\n");
    }

    #[test]
    fn replaces_in_place_and_is_idempotent() {
        let before =
            "# Changelog\n\nintro\n\n## [1.1.0] - 2026-01-02\n\n- old\n\n## [1.0.0]\n\n- a\n";
        let once = merge(before, &[sec(Some("1.1.0"), "- new")], "");
        assert_eq!(
            once,
            "# Changelog\n\nintro\n\n## [1.1.0]\n\n- new\n\n## [1.0.0]\n\n- a\n"
        );
        assert_eq!(merge(&once, &[sec(Some("1.1.0"), "- new")], ""), once);
    }

    #[test]
    fn inserts_by_version_and_promotes_unreleased() {
        let before = "# C\n\n## [Unreleased]\n\n- wip\n\n## [1.0.0]\n\n- a\n";
        let out = merge(before, &[sec(Some("1.1.0"), "- b")], "");
        assert_eq!(out, "# C\n\n## [1.1.0]\n\n- b\n\n## [1.0.0]\n\n- a\n");
        let out = merge(
            "# C\n\n## [2.0.0]\n\n- z\n\n## [1.0.0]\n\n- a\n",
            &[sec(Some("1.5.0"), "- m")],
            "",
        );
        assert_eq!(
            out,
            "# C\n\n## [2.0.0]\n\n- z\n\n## [1.5.0]\n\n- m\n\n## [1.0.0]\n\n- a\n"
        );
    }

    #[test]
    fn unreleased_goes_on_top() {
        let out = merge("# C\n\n## [1.0.0]\n\n- a\n", &[sec(None, "- wip")], "");
        assert_eq!(
            out,
            "# C\n\n## [Unreleased]\n\n- wip\n\n## [1.0.0]\n\n- a\n"
        );
    }

    #[test]
    fn refuses_non_utf8_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("CHANGELOG.md");
        std::fs::write(&p, b"# C\n\xff\n").unwrap();
        let e = update(&p, &[sec(None, "- x")], "").unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"# C\n\xff\n");
    }
}
