//! CODEOWNERS: who owns a path. The last matching rule wins, as on GitHub and GitLab.
//!
//! Patterns follow the gitignore rules both forges document: a leading `/` anchors at the
//! root, a pattern without a slash elsewhere matches at any depth, a trailing `/` (or a
//! directory match) covers everything below. GitLab `[Section]` headers are read as plain
//! rules (sections' optional/approval counts are not modelled).

use std::path::Path;

use globset::GlobMatcher;
use relman_core::Error;

use crate::evidence::files::glob;

/// A parsed CODEOWNERS file.
#[derive(Debug, Default)]
pub struct CodeOwners {
    /// Where it was read from (for explanations).
    pub path: Option<String>,
    rules: Vec<(GlobMatcher, GlobMatcher, Vec<String>)>,
}

/// Where the forges look for the file, in their order of precedence.
const LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

impl CodeOwners {
    /// Reads the first CODEOWNERS file found under `root`; an empty set when there is none.
    pub fn load(root: &Path) -> Result<Self, Error> {
        for loc in LOCATIONS {
            let p = root.join(loc);
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    let mut c = Self::parse(&text, loc)?;
                    c.path = Some(loc.to_string());
                    return Ok(c);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::Read { path: p, source: e }),
            }
        }
        Ok(Self::default())
    }

    /// Parses the text of a CODEOWNERS file; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Self, Error> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.is_empty()
                || line.starts_with('#')
                || line.starts_with('[')
                || line.starts_with("^[")
            {
                continue;
            }
            let mut parts = line.split_whitespace();
            let Some(pattern) = parts.next() else {
                continue;
            };
            let owners: Vec<String> = parts
                .map(|o| o.trim_start_matches('@').to_string())
                .collect();
            let (exact, below) = globs(pattern).map_err(|e| Error::Evidence {
                path: name.into(),
                line: Some(n + 1),
                message: e.to_string(),
            })?;
            rules.push((exact, below, owners));
        }
        Ok(CodeOwners { path: None, rules })
    }

    /// Owners of `path` (logins and `org/team`s, without `@`); empty when no rule matches or
    /// the last matching rule lists nobody.
    pub fn owners(&self, path: &str) -> &[String] {
        self.rules
            .iter()
            .rev()
            .find(|(exact, below, _)| exact.is_match(path) || below.is_match(path))
            .map(|(_, _, o)| o.as_slice())
            .unwrap_or(&[])
    }
}

/// Two matchers per pattern: the path itself, and anything below it (a directory).
fn globs(pattern: &str) -> Result<(GlobMatcher, GlobMatcher), Error> {
    let anchored = pattern.starts_with('/');
    let trimmed = pattern.trim_start_matches('/');
    let dir_only = trimmed.ends_with('/');
    let trimmed = trimmed.trim_end_matches('/');
    let base = if anchored || trimmed.contains('/') {
        trimmed.to_string()
    } else {
        format!("**/{trimmed}")
    };
    let exact = if dir_only {
        // `docs/` owns what is below docs, not a file named docs.
        glob(&format!("{base}/**"))?
    } else {
        glob(&base)?
    };
    Ok((exact, glob(&format!("{base}/**"))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_match_wins_with_gitignore_anchoring() {
        let c = CodeOwners::parse(
            "# owners\n* @org/everyone\n*.rs @rustacean\n/docs/ @writer\nmigrations @dba @org/data\n/src/auth/ @sec # security\nsrc/generated/\n",
            "CODEOWNERS",
        )
        .expect("parse");
        assert_eq!(c.owners("README.md"), ["org/everyone"]);
        assert_eq!(c.owners("src/lib.rs"), ["rustacean"]);
        assert_eq!(c.owners("docs/guide/a.md"), ["writer"]);
        assert_eq!(c.owners("db/migrations/001.sql"), ["dba", "org/data"]);
        assert_eq!(c.owners("src/auth/login.rs"), ["sec"]);
        assert!(c.owners("src/generated/x.rs").is_empty());
        // Anchored: only at the root.
        assert_eq!(c.owners("other/docs/a.md"), ["org/everyone"]);
    }
}
