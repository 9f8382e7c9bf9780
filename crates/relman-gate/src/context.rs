//! What every gate may read: the repository, the forge, the clock, the change under review.
//!
//! Built once per run by `evaluate.rs`; gates never read the environment or the clock
//! themselves, so tests fix `now`, the forge and the change and get the same verdict every time.

use std::path::PathBuf;

use relman_forge::Forge;

/// One changed file between the base and the head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChangedFile {
    /// Path relative to the repository root, `/`-separated (the new path of a rename).
    pub path: String,
    /// Lines added; 0 for binary files.
    pub added: u64,
    /// Lines removed; 0 for binary files.
    pub removed: u64,
    /// Line numbers (1-based, in the head version) that were added or modified.
    #[serde(skip)]
    pub added_lines: Vec<u32>,
}

/// The change a gate run is about: from `base` (last release tag, the environment's current
/// deployment, or `--base`) to `head`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Change {
    /// Base revision as given (`v1.2.0`) and its full id; `None` for a first release.
    pub base: Option<String>,
    pub base_sha: Option<String>,
    pub head: String,
    pub head_sha: String,
    pub files: Vec<ChangedFile>,
    /// Commits in base..head.
    pub commits: usize,
    /// Breaking changes among them (conventional commits).
    pub breaking: usize,
}

/// Everything a gate may read. Gates take `&Context` and return a `Finding`.
pub struct Context<'a> {
    /// Repository root (evidence globs and CODEOWNERS are relative to it).
    pub root: PathBuf,
    /// The evaluation instant (fixed by `--now` in tests and drills).
    pub now: jiff::Timestamp,
    /// The configured forge or the local store.
    pub forge: &'a dyn Forge,
    /// The change under review.
    pub change: Change,
    /// Environment the release goes to (`--environment`, default: the policy name).
    pub environment: String,
    /// Pull / merge request to check approvals on (`--pull-request`, the CI event, or the
    /// one the head commit came from).
    pub pull_request: Option<u64>,
    /// Emergency override reason (`--override`): windows and freezes pass, recorded.
    pub override_reason: Option<String>,
    /// Facts of the gates evaluated so far, keyed by gate name, plus `risk` (for conditions).
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// The environment's newest good deployment when the run already asked the forge for it
    /// (`Some(None)`: it has none), so a gate does not ask again; `None`: not asked.
    pub deployment: Option<Option<relman_forge::Deployment>>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("root", &self.root)
            .field("now", &self.now)
            .field("forge", &self.forge.name())
            .field("change", &self.change)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
impl<'a> Context<'a> {
    /// A context for tests: `forge` and `root`, the clock at the Unix epoch, no change, the
    /// `production` environment; tests set what they are about with struct update syntax.
    pub(crate) fn for_test(forge: &'a dyn Forge, root: &std::path::Path) -> Self {
        Context {
            root: root.to_path_buf(),
            now: jiff::Timestamp::UNIX_EPOCH,
            forge,
            change: Change::default(),
            environment: "production".into(),
            pull_request: None,
            override_reason: None,
            facts: Default::default(),
            deployment: None,
        }
    }
}
