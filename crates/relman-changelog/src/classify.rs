//! Which group an entry goes to, or whether it is left out.

use regex::Regex;
use relman_core::config::{Changelog, Matcher, Unconventional};
use relman_core::conventional::Entry;

struct Compiled {
    types: Vec<String>,
    scopes: Vec<String>,
    pattern: Option<Regex>,
    breaking: Option<bool>,
}

impl Compiled {
    fn new(m: &Matcher) -> Self {
        Compiled {
            types: m.types.iter().map(|t| t.to_lowercase()).collect(),
            scopes: m.scopes.clone(),
            // Patterns were validated when the config was loaded.
            pattern: m.pattern.as_deref().and_then(|p| Regex::new(p).ok()),
            breaking: m.breaking,
        }
    }

    fn matches(&self, e: &Entry, header: &str) -> bool {
        if self.types.is_empty()
            && self.scopes.is_empty()
            && self.pattern.is_none()
            && self.breaking.is_none()
        {
            return false;
        }
        (self.types.is_empty() || e.kind.as_ref().is_some_and(|k| self.types.contains(k)))
            && (self.scopes.is_empty() || e.scope.as_ref().is_some_and(|s| self.scopes.contains(s)))
            && self.pattern.as_ref().is_none_or(|p| p.is_match(header))
            && self.breaking.is_none_or(|b| b == e.breaking)
    }
}

/// Where an entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Index into the configured groups; `groups.len()` is the "Other" group.
    Group(usize),
    /// Left out by a `skip` rule: it does not count for the version either.
    Skipped,
    /// Not listed (an ungrouped type, a merge commit); still counts for the version.
    Hidden,
}

/// Compiled grouping rules.
pub struct Classifier {
    skip: Vec<Compiled>,
    groups: Vec<Compiled>,
    unconventional: Unconventional,
    merge_commits: bool,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("groups", &self.groups.len())
            .finish()
    }
}

impl Classifier {
    pub fn new(cfg: &Changelog) -> Self {
        Classifier {
            skip: cfg.skip.iter().map(Compiled::new).collect(),
            groups: cfg
                .groups
                .iter()
                .map(|g| Compiled::new(&g.matcher()))
                .collect(),
            unconventional: cfg.unconventional,
            merge_commits: cfg.merge_commits,
        }
    }

    /// The index of the "Other" group.
    pub fn other(&self) -> usize {
        self.groups.len()
    }

    pub fn place(&self, e: &Entry, header: &str) -> Placement {
        if self.skip.iter().any(|m| m.matches(e, header)) {
            return Placement::Skipped;
        }
        // Merge commits (`Merge branch …`, or any header on a commit with two parents) are
        // hidden unless asked for; a merge titled as a conventional commit (GitLab's
        // `%{title}` merge message) is the change itself and stays listed.
        if e.merge && e.kind.is_none() && !self.merge_commits {
            return Placement::Hidden;
        }
        if let Some(i) = self.groups.iter().position(|m| m.matches(e, header)) {
            return Placement::Group(i);
        }
        // A breaking change is never hidden, whatever its type.
        if e.breaking || (e.kind.is_none() && self.unconventional == Unconventional::Keep) {
            return Placement::Group(self.other());
        }
        Placement::Hidden
    }
}
