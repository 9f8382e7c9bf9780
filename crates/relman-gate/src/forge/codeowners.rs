//! CODEOWNERS: who owns a path. The last matching rule wins, as on GitHub and GitLab.
//!
//! Patterns follow the gitignore rules both forges document: a leading `/` anchors at the
//! root, a pattern without a slash elsewhere matches at any depth, a trailing `/` (or a
//! directory match) covers everything below, and `docs/*` owns only the files directly in
//! `docs/` (not `docs/a/b.md`). GitLab sections are modelled: `[Section] @default-owners`
//! gives its rules without owners the section's owners, `[Section][2]` needs two approvals,
//! `^[Optional]` needs none; every non-optional section with a matching rule must approve.
//!
//! The file is read from a trusted revision (the target branch), never from the tree being
//! gated: a change must not be able to rewrite or delete its own reviewers.

use std::path::Path;

use globset::GlobMatcher;
use relman_core::Error;

use crate::evidence::files::glob;

/// GitHub ignores CODEOWNERS files over 3 MB; so does relman (a clear error, not a memory
/// spike).
const MAX_BYTES: u64 = 3 * 1024 * 1024;

/// A parsed CODEOWNERS file.
#[derive(Debug, Default)]
pub struct CodeOwners {
    /// Where it was read from (for explanations).
    pub path: Option<String>,
    sections: Vec<Section>,
    rules: Vec<Rule>,
}

#[derive(Debug, Default)]
struct Section {
    name: Option<String>,
    optional: bool,
    approvals: u32,
    default_owners: Vec<String>,
}

#[derive(Debug)]
struct Rule {
    section: usize,
    exact: GlobMatcher,
    below: Option<GlobMatcher>,
    owners: Vec<String>,
}

/// What one section asks of a path: `min` approvals from `owners` (logins and `org/team`s,
/// without `@`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required<'a> {
    /// The GitLab section, `None` for rules outside any section.
    pub section: Option<&'a str>,
    pub owners: &'a [String],
    pub min: u32,
}

/// Where the forges look for the file, in their order of precedence.
pub const LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

impl CodeOwners {
    /// Reads the first CODEOWNERS file found in the tree of commit `rev`; `None` when there
    /// is none.
    pub fn load_at(root: &Path, rev: &str) -> Result<Option<Self>, Error> {
        for loc in LOCATIONS {
            if let Some(bytes) = crate::diff::read_blob_at(root, rev, loc, MAX_BYTES)? {
                let text = String::from_utf8(bytes).map_err(|_| Error::Evidence {
                    path: format!("{loc} at {rev}").into(),
                    line: None,
                    message: "not UTF-8".into(),
                })?;
                let mut c = Self::parse(&text, loc)?;
                c.path = Some(format!("{loc} at {}", rev.get(..12).unwrap_or(rev)));
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Parses the text of a CODEOWNERS file; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Self, Error> {
        let mut sections = vec![Section {
            approvals: 1,
            ..Section::default()
        }];
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(section) = section_header(line) {
                sections.push(section);
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
            rules.push(Rule {
                section: sections.len() - 1,
                exact,
                below,
                owners,
            });
        }
        Ok(CodeOwners {
            path: None,
            sections,
            rules,
        })
    }

    /// What each section asks of `path`: in every section, the last matching rule; sections
    /// that are optional, or whose rule lists nobody, ask nothing.
    pub fn owners(&self, path: &str) -> Vec<Required<'_>> {
        let mut out = Vec::new();
        for (i, section) in self.sections.iter().enumerate() {
            let Some(rule) = self.rules.iter().rev().find(|r| {
                r.section == i
                    && (r.exact.is_match(path)
                        || r.below.as_ref().is_some_and(|b| b.is_match(path)))
            }) else {
                continue;
            };
            let owners = if rule.owners.is_empty() {
                &section.default_owners
            } else {
                &rule.owners
            };
            if section.optional || owners.is_empty() {
                continue;
            }
            out.push(Required {
                section: section.name.as_deref(),
                owners,
                min: section.approvals,
            });
        }
        out
    }
}

/// `[Name]`, `^[Name]`, `[Name][2]`, each optionally followed by default owners.
fn section_header(line: &str) -> Option<Section> {
    let (optional, rest) = match line.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, line),
    };
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let name = rest[..close].trim().to_string();
    let mut rest = &rest[close + 1..];
    let mut approvals = 1;
    if let Some(r) = rest.strip_prefix('[') {
        let close = r.find(']')?;
        approvals = r[..close].trim().parse().ok()?;
        rest = &r[close + 1..];
    }
    Some(Section {
        name: Some(name),
        optional,
        approvals: approvals.max(1),
        default_owners: rest
            .split_whitespace()
            .map(|o| o.trim_start_matches('@').to_string())
            .collect(),
    })
}

/// Two matchers per pattern: the path itself, and anything below it when the pattern can
/// name a directory. A last segment with a wildcard (`docs/*`, `*.rs`) matches files only.
fn globs(pattern: &str) -> Result<(GlobMatcher, Option<GlobMatcher>), Error> {
    let anchored = pattern.starts_with('/');
    let trimmed = pattern.trim_start_matches('/');
    let dir_only = trimmed.ends_with('/');
    let trimmed = trimmed.trim_end_matches('/');
    let base = if anchored || trimmed.contains('/') {
        trimmed.to_string()
    } else {
        format!("**/{trimmed}")
    };
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    let names_files_only = !dir_only && last != "**" && last.contains(['*', '?', '[']);
    let exact = if dir_only {
        // `docs/` owns what is below docs, not a file named docs.
        glob(&format!("{base}/**"))?
    } else {
        glob(&base)?
    };
    let below = if names_files_only {
        None
    } else {
        Some(glob(&format!("{base}/**"))?)
    };
    Ok((exact, below))
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
        assert_eq!(who(&c, "README.md"), ["org/everyone"]);
        assert_eq!(who(&c, "src/lib.rs"), ["rustacean"]);
        assert_eq!(who(&c, "docs/guide/a.md"), ["writer"]);
        assert_eq!(who(&c, "db/migrations/001.sql"), ["dba", "org/data"]);
        assert_eq!(who(&c, "src/auth/login.rs"), ["sec"]);
        assert!(who(&c, "src/generated/x.rs").is_empty());
        // Anchored: only at the root.
        assert_eq!(who(&c, "other/docs/a.md"), ["org/everyone"]);
    }

    fn who(c: &CodeOwners, path: &str) -> Vec<String> {
        c.owners(path)
            .iter()
            .flat_map(|r| r.owners.iter().cloned())
            .collect()
    }

    #[test]
    fn a_star_as_last_segment_owns_direct_children_only() {
        // GitHub's documented example: `docs/*` owns docs/getting-started.md, not
        // docs/build-app/troubleshooting.md.
        let c =
            CodeOwners::parse("* @all\ndocs/* @docs\napps/ @apps\n", "CODEOWNERS").expect("parse");
        assert_eq!(who(&c, "docs/getting-started.md"), ["docs"]);
        assert_eq!(who(&c, "docs/build-app/troubleshooting.md"), ["all"]);
        assert_eq!(who(&c, "x/apps/y/z.rs"), ["apps"]);
    }

    #[test]
    fn gitlab_sections_default_optional_and_counted_owners() {
        let c = CodeOwners::parse(
            "* @all\n\n[Backend] @backend-lead\nsrc/\nsrc/api/ @api-owner\n\n^[Docs] @writer\n*.md\n\n[Security][2] @alice @bob @carol\nsrc/auth/\n",
            "CODEOWNERS",
        )
        .expect("parse");
        let req = c.owners("src/auth/login.rs");
        assert_eq!(req.len(), 3, "{req:?}");
        assert_eq!(req[0].owners, ["all"]);
        assert_eq!(req[1].section, Some("Backend"));
        assert_eq!(req[1].owners, ["backend-lead"]);
        assert_eq!(req[2].section, Some("Security"));
        assert_eq!(req[2].owners, ["alice", "bob", "carol"]);
        assert_eq!(req[2].min, 2);
        assert_eq!(who(&c, "src/api/x.rs"), ["all", "api-owner"]);
        // The optional Docs section asks nothing.
        assert_eq!(who(&c, "README.md"), ["all"]);
    }
}
