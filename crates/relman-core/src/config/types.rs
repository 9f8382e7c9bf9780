//! The configuration types. Every field has a default, so an empty file is a valid config.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// relman configuration (`.relman.yml`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Release notes and versioning.
    pub changelog: Changelog,
    /// Packages of a monorepo: each has its own paths, tags, notes and version.
    pub packages: Vec<Package>,
    /// Where releases, deployments and the audit log live.
    pub forge: ForgeSettings,
    /// Release gates: policies and change-risk scoring.
    pub gate: super::GateSettings,
    /// Where relman keeps its own records (audit trail, keys, drills, locks): a branch of
    /// this repository, shared through its remote.
    pub state: StateSettings,
    /// Rollback: per environment, how a rollback to the last known-good deployment is
    /// dispatched, followed and drilled.
    pub rollback: super::RollbackSettings,
}

/// The state branch: relman's records as commits on a branch of the repository itself.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StateSettings {
    /// Ref holding the records. The default, `refs/relman/state`, is outside `refs/heads/`:
    /// no clone or `fetch-depth: 0` checkout downloads it, no push to it starts a pipeline,
    /// and no forge lists it as a branch. A branch name (`relman/state` is
    /// `refs/heads/relman/state`) can be protected as append-only by the forge, at the price
    /// of growing every full clone (docs/state.md, "Size, and where the ref lives").
    pub branch: String,
    /// Remote the branch is shared through. Default: `origin` when the repository has it;
    /// `""` keeps the state in the local branch only.
    pub remote: Option<String>,
    /// Kinds of records that must reach the remote: a write that cannot be pushed fails the
    /// command (exit 3) instead of being kept locally. The others (by default a gate run's
    /// verdict) are reported as not recorded.
    pub durable: Vec<RecordKind>,
}

impl Default for StateSettings {
    fn default() -> Self {
        Self {
            branch: "refs/relman/state".into(),
            remote: None,
            durable: vec![
                RecordKind::Release,
                RecordKind::Deployment,
                RecordKind::Override,
                RecordKind::Rollback,
                RecordKind::Drill,
            ],
        }
    }
}

/// A kind of record in the state branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// A release published (`changelog.publish`, the local backend's releases).
    Release,
    /// A deployment created or its status changed.
    Deployment,
    /// A workflow dispatch and its idempotency key.
    Dispatch,
    /// A gate override (`gate.override`).
    Override,
    /// A rollback (`rollback.*` other than drills).
    Rollback,
    /// A rollback drill (`rollback.drill`).
    Drill,
    /// A gate verdict (`gate.evaluate`).
    Gate,
    /// A commit status kept by the local backend.
    Status,
    /// An environment lock (always durable: a lock nobody else sees holds nothing).
    Lock,
    /// Any other audit record.
    Other,
}

/// Which forge backend relman talks to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitHub inside GitHub Actions, GitLab inside GitLab CI, else the local store.
    #[default]
    Auto,
    /// The state branch of the repository (`state.branch`): works offline.
    Local,
    /// GitHub or GitHub Enterprise Server.
    Github,
    /// GitLab.com or self-managed GitLab.
    Gitlab,
}

/// Forge settings. Tokens are never configured here: they come from the environment
/// (`RELMAN_TOKEN`, `GITHUB_TOKEN`, `GITLAB_TOKEN`, `CI_JOB_TOKEN`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ForgeSettings {
    /// `auto`, `local`, `github` or `gitlab`.
    pub kind: ForgeKind,
    /// `owner/name` (GitHub) or `group/project` (GitLab). Default: from the CI environment
    /// (`GITHUB_REPOSITORY`, `CI_PROJECT_PATH`).
    pub repository: String,
    /// API base URL. Default: `GITHUB_API_URL` / `CI_API_V4_URL`, else the public service.
    pub api_url: String,
    /// Most HTTP requests one run may make (a runaway loop must not burn the rate limit).
    pub request_budget: u32,
}

impl Default for ForgeSettings {
    fn default() -> Self {
        Self {
            kind: ForgeKind::Auto,
            repository: String::new(),
            api_url: String::new(),
            request_budget: 500,
        }
    }
}

/// A package of a monorepo.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Name used with `--package`.
    pub name: String,
    /// Paths (directories or files, relative to the repository root) that belong to the
    /// package. A commit belongs to the package when it changes anything under one of them.
    pub paths: Vec<String>,
    /// Prefix of the package's release tags, e.g. `api-v` for `api-v1.2.3`.
    pub tag_prefix: String,
}

/// What to do with commits whose message is not a conventional commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unconventional {
    /// List them in a group titled by `other_title`.
    #[default]
    Keep,
    /// Leave them out of the notes.
    Drop,
}

/// Release-notes settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Changelog {
    /// Prefix of release tags: `v` matches `v1.2.3`. Tags that are not `<prefix><semver>` are
    /// ignored.
    pub tag_prefix: String,
    /// Non-conventional commits: `keep` (in the "Other" group) or `drop`.
    pub unconventional: Unconventional,
    /// Title of the group for non-conventional commits and breaking changes no group takes.
    pub other_title: String,
    /// List merge commits (`Merge branch …`) as entries. Off by default: the merged commits
    /// carry the content.
    pub merge_commits: bool,
    /// Split GitHub squash-merge bodies (`* feat: …` lists) into one entry per item, each
    /// counting for the version. Off by default: the pull request's title is what was
    /// reviewed, while the list holds work in progress (a `feat!` reverted within the same
    /// pull request would make a major release). Back-tested on release-please: 361 of 365
    /// release versions right with the title alone, 357 with splitting (BENCHMARKS.md).
    pub split_squash: bool,
    /// Groups in display order; an entry goes to the first group that matches it. Conventional
    /// entries no group takes are left out, unless breaking.
    pub groups: Vec<Group>,
    /// Entries matching any of these are left out (checked before groups).
    pub skip: Vec<Matcher>,
    /// Versioning rules.
    pub version: VersionRules,
    /// Template for the notes: a built-in name (`keepachangelog`, `github`, `gitlab`) or a
    /// path to a minijinja template, relative to the repository root.
    pub template: String,
    /// Web URL of the repository (`https://github.com/o/r`), for commit and PR links. When
    /// empty, taken from the CI environment or the `origin` remote.
    pub repository_url: String,
    /// Look up each entry's pull/merge request on the forge (GitHub, GitLab) for links and
    /// author logins: one batched lookup per release. Never for `--all`.
    pub enrich: bool,
}

impl Default for Changelog {
    fn default() -> Self {
        Self {
            tag_prefix: "v".into(),
            unconventional: Unconventional::Keep,
            other_title: "Other".into(),
            merge_commits: false,
            split_squash: false,
            groups: default_groups(),
            skip: vec![Matcher {
                pattern: Some(r"^chore\(release\)".into()),
                ..Matcher::default()
            }],
            version: VersionRules::default(),
            template: "keepachangelog".into(),
            repository_url: String::new(),
            enrich: true,
        }
    }
}

fn default_groups() -> Vec<Group> {
    [
        ("Features", "feat"),
        ("Bug Fixes", "fix"),
        ("Performance", "perf"),
        ("Reverts", "revert"),
        ("Documentation", "docs"),
        ("Refactoring", "refactor"),
    ]
    .into_iter()
    .map(|(title, kind)| Group {
        title: title.into(),
        types: vec![kind.into()],
        scopes: Vec::new(),
        pattern: None,
        breaking: None,
    })
    .collect()
}

/// A group of entries in the notes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Heading of the group.
    pub title: String,
    /// Conventional types (`feat`, `fix`), compared lower-case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Scopes; an entry without scope never matches a non-empty list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Regular expression tested against the commit's first line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Match only breaking (`true`) or only non-breaking (`false`) entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaking: Option<bool>,
}

impl Group {
    /// The group's selection rule (serde's `flatten` would lose `deny_unknown_fields` and
    /// error locations, so the fields are repeated here).
    pub fn matcher(&self) -> Matcher {
        Matcher {
            types: self.types.clone(),
            scopes: self.scopes.clone(),
            pattern: self.pattern.clone(),
            breaking: self.breaking,
        }
    }
}

/// Selects entries. Every condition given must hold; an empty matcher matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Matcher {
    /// Conventional types (`feat`, `fix`), compared lower-case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Scopes; an entry without scope never matches a non-empty list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Regular expression tested against the commit's first line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Match only breaking (`true`) or only non-breaking (`false`) entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaking: Option<bool>,
}

/// Versioning rules (semver).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct VersionRules {
    /// Types that bump the minor version.
    pub minor_types: Vec<String>,
    /// Types that bump the patch version.
    pub patch_types: Vec<String>,
    /// While the major version is 0, a breaking change bumps the minor version.
    pub breaking_is_minor_before_1: bool,
    /// Version of the first release when no release tag exists.
    pub initial: String,
}

impl Default for VersionRules {
    fn default() -> Self {
        Self {
            minor_types: vec!["feat".into()],
            patch_types: vec!["fix".into(), "perf".into()],
            breaking_is_minor_before_1: true,
            initial: "0.1.0".into(),
        }
    }
}
