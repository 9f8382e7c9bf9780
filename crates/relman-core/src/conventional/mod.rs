//! Conventional Commits 1.0.0: a commit message becomes one or more [`Entry`]s.
//!
//! Parsing never fails: a message that is not conventional still yields an entry with
//! `kind == None`, so callers decide (by configuration) whether to keep it in an "Other" group
//! or drop it. Input is bytes because git does not promise UTF-8.

mod footer;
mod header;
mod parse;
#[cfg(test)]
mod parse_tests;
mod refs;
mod squash;

pub use parse::{ParseOptions, parse_message};

use serde::Serialize;

/// A reference to an issue, pull request or merge request found in a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reference {
    /// `issue` for `#12`/`GH-5`, `merge_request` for `!34`.
    pub kind: RefKind,
    /// The number as written (`12`).
    pub number: u64,
    /// Where it was found: `subject`, `body` or a footer token such as `Closes`.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    Issue,
    MergeRequest,
}

/// A `Token: value` or `Token #value` trailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Footer {
    pub token: String,
    /// `": "` or `" #"`, as written.
    pub separator: String,
    pub value: String,
}

/// A person from a `Co-authored-by: Name <email>` trailer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// What a revert commit points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revert {
    /// The reverted commit's id, from `This reverts commit <sha>.`, when present.
    pub commit: Option<String>,
    /// The reverted commit's header, from `Revert "<header>"` or `revert: <header>`.
    pub header: Option<String>,
}

/// One changelog entry parsed from a commit message.
///
/// A squash-merge whose body lists several conventional commits gives several entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The type, lower-cased (`feat`, `fix`); `None` when the header is not conventional.
    pub kind: Option<String>,
    pub scope: Option<String>,
    /// `!` in the header or a `BREAKING CHANGE`/`BREAKING-CHANGE` footer.
    pub breaking: bool,
    /// The description after `: `, or the whole first line when not conventional, with a
    /// trailing ` (#123)` pull-request suffix removed (kept in `references`).
    pub description: String,
    /// The body between header and footers, trimmed; empty when absent.
    pub body: String,
    pub footers: Vec<Footer>,
    /// The text of the `BREAKING CHANGE` footer, when present.
    pub breaking_description: Option<String>,
    pub references: Vec<Reference>,
    pub co_authors: Vec<Person>,
    /// From a `Release-As: x.y.z` footer.
    pub release_as: Option<String>,
    pub revert: Option<Revert>,
    /// A merge commit header (`Merge branch …`, `Merge pull request #… from …`).
    pub merge: bool,
}
