//! The next version, from the entries since the last release (semver 2.0.0).
//!
//! Two steps, kept apart so each is testable on its own and callers can report the bump
//! before (or without) computing a version: [`bump_for`] reduces entries to a [`Bump`], and
//! [`next_version`] applies it to the versions already released.

use semver::{Prerelease, Version};
use serde::Serialize;

use crate::conventional::Entry;

/// How much a set of changes moves the version.
///
/// Ordered (`None < Patch < Minor < Major`) so that the bump of several entries is their
/// maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// Nothing that users see changed (docs, chores, non-conventional commits): no release.
    None,
    /// Bug fixes only: `x.y.z+1`.
    Patch,
    /// New features, compatible: `x.y+1.0`.
    Minor,
    /// Breaking changes: `x+1.0.0` (or `0.y+1.0` before 1.0.0, see
    /// [`Policy::breaking_is_minor_before_1`]).
    Major,
}

/// Which commit types bump what, and where versioning starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Types that bump the minor version (compared case-insensitively). Default `["feat"]`.
    pub minor_types: Vec<String>,
    /// Types that bump the patch version (compared case-insensitively). Default
    /// `["fix", "perf"]`.
    pub patch_types: Vec<String>,
    /// While the major version is 0, a breaking change bumps the minor version. Semver allows
    /// anything to change in 0.y.z, and the common convention (cargo, release-please) treats
    /// 0.y as the compatibility level, so a breaking change should not leap to 1.0.0 on its
    /// own: going 1.0 is a decision, made with `Release-As`. Default `true`.
    pub breaking_is_minor_before_1: bool,
    /// The first version, when nothing was released yet. Default `0.1.0`.
    pub initial: Version,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            minor_types: vec!["feat".to_owned()],
            patch_types: vec!["fix".to_owned(), "perf".to_owned()],
            breaking_is_minor_before_1: true,
            initial: Version::new(0, 1, 0),
        }
    }
}

impl Policy {
    /// The policy `.relman.yml` describes (`changelog.version`); its `initial` was validated
    /// when the configuration was loaded.
    pub fn from_rules(rules: &crate::config::VersionRules) -> Result<Self, String> {
        Ok(Policy {
            minor_types: rules.minor_types.clone(),
            patch_types: rules.patch_types.clone(),
            breaking_is_minor_before_1: rules.breaking_is_minor_before_1,
            initial: Version::parse(&rules.initial)
                .map_err(|e| format!("changelog.version.initial: {e}"))?,
        })
    }
}

/// The bump one entry asks for.
fn entry_bump(entry: &Entry, policy: &Policy) -> Bump {
    if entry.breaking {
        return Bump::Major;
    }
    let Some(kind) = entry.kind.as_deref() else {
        return Bump::None;
    };
    let listed = |types: &[String]| types.iter().any(|t| t.eq_ignore_ascii_case(kind));
    if listed(&policy.minor_types) {
        Bump::Minor
    } else if listed(&policy.patch_types) {
        Bump::Patch
    } else {
        Bump::None
    }
}

/// The bump a set of entries asks for: the largest over the entries.
///
/// A breaking entry (`!` or a `BREAKING CHANGE` footer) is `Major` whatever its type, even
/// when its header is not conventional: the footer is an explicit statement. Otherwise a type
/// in `minor_types` is `Minor`, in `patch_types` `Patch`, and anything else (including
/// non-conventional entries) `None`.
pub fn bump_for<'a>(entries: impl IntoIterator<Item = &'a Entry>, policy: &Policy) -> Bump {
    let mut best = Bump::None;
    for entry in entries {
        best = best.max(entry_bump(entry, policy));
        if best == Bump::Major {
            break;
        }
    }
    best
}

/// What [`next_version`] decides from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The previous release of the commits being released: the nearest release tag reachable
    /// from them (may be a pre-release). The bump starts here, not at the highest tag of the
    /// repository, so a maintenance branch gets `1.0.1` while `main` is at `1.1.0`.
    pub latest: Option<&'a Version>,
    /// Every version already released (tags), pre-releases included, in any order: for
    /// pre-release numbers, and the starting point when `latest` is `None`.
    pub existing: &'a [Version],
    /// From [`bump_for`] over the entries since `latest`.
    pub bump: Bump,
    /// From a `Release-As:` footer: overrides the computed version.
    pub release_as: Option<&'a Version>,
    /// Pre-release channel (`rc`, `beta`): release `x.y.z-rc.N` instead of `x.y.z`. Must pass
    /// [`validate_pre`].
    pub pre: Option<&'a str>,
}

/// Checks that `pre` can prefix a pre-release (`rc` gives `1.2.0-rc.1`).
///
/// Separate from [`next_version`] so that configuration and command-line input are rejected
/// up front with a message, instead of silently producing no version.
pub fn validate_pre(pre: &str) -> Result<(), String> {
    if pre.is_empty() {
        return Err("pre-release identifier \"\" is not valid semver: it is empty".to_owned());
    }
    Prerelease::new(pre)
        .map(drop)
        .map_err(|e| format!("pre-release identifier {pre:?} is not valid semver: {e}"))
}

/// The next version to release, or `None` when there is nothing to release.
///
/// In order:
/// 1. `release_as` wins (with `pre` applied when it has no pre-release of its own).
/// 2. `bump == None`: nothing to release.
/// 3. Nothing released yet (`latest` is `None` and `existing` empty): `policy.initial`.
/// 4. Otherwise the bump applies to the highest stable version not above `latest` (the
///    previous release of these commits; with no `latest`, the highest stable version in
///    `existing`) (0.y.z: see [`Policy::breaking_is_minor_before_1`]); when `latest` is a
///    pre-release of a higher version, that version is the target instead, so a fix after
///    `1.3.0-rc.2` releases `1.3.0`, not `1.2.4`. Versions above `latest` belong to other
///    lines of history (a maintenance branch's fix after `1.0.0` is `1.0.1` even when `1.1.0`
///    exists); callers that must avoid versions already tagged elsewhere check the result.
///
/// With `pre`, the result is `target-pre.N`, `N` one more than the highest `pre.n` already
/// released for the same `major.minor.patch` (1 when none).
///
/// Also `None` when `pre` fails [`validate_pre`] (callers validate first; guessing a stable
/// release instead would publish one by accident) or when a component would overflow `u64`.
pub fn next_version(inputs: &Inputs<'_>, policy: &Policy) -> Option<Version> {
    if let Some(pre) = inputs.pre
        && validate_pre(pre).is_err()
    {
        return None;
    }
    if let Some(release_as) = inputs.release_as {
        return with_pre(release_as.clone(), inputs);
    }
    if inputs.bump == Bump::None {
        return None;
    }
    // `latest` counts as released even if the caller left it out of `existing`.
    let known = || inputs.existing.iter().chain(inputs.latest);
    if known().next().is_none() {
        return with_pre(policy.initial.clone(), inputs);
    }
    let mut target = match known()
        .filter(|v| v.pre.is_empty() && inputs.latest.is_none_or(|l| *v <= l))
        .max()
    {
        Some(stable) => bump_version(stable, inputs.bump, policy)?,
        None => policy.initial.clone(),
    };
    if let Some(latest) = inputs.latest
        && !latest.pre.is_empty()
    {
        let base = Version::new(latest.major, latest.minor, latest.patch);
        if base > target {
            target = base;
        }
    }
    with_pre(target, inputs)
}

/// Applies `bump` to a stable version; `None` on overflow.
fn bump_version(v: &Version, bump: Bump, policy: &Policy) -> Option<Version> {
    let bump = if bump == Bump::Major && v.major == 0 && policy.breaking_is_minor_before_1 {
        Bump::Minor
    } else {
        bump
    };
    Some(match bump {
        Bump::Major => Version::new(v.major.checked_add(1)?, 0, 0),
        Bump::Minor => Version::new(v.major, v.minor.checked_add(1)?, 0),
        Bump::Patch => Version::new(v.major, v.minor, v.patch.checked_add(1)?),
        Bump::None => Version::new(v.major, v.minor, v.patch),
    })
}

/// `v` with `pre.N` appended when a channel is asked for and `v` has no pre-release yet.
fn with_pre(mut v: Version, inputs: &Inputs<'_>) -> Option<Version> {
    let Some(pre) = inputs.pre else {
        return Some(v);
    };
    if !v.pre.is_empty() {
        return Some(v);
    }
    let highest = inputs
        .existing
        .iter()
        .chain(inputs.latest)
        .filter(|e| (e.major, e.minor, e.patch) == (v.major, v.minor, v.patch))
        .filter_map(|e| pre_number(e.pre.as_str(), pre))
        .max();
    let n = match highest {
        Some(h) => h.checked_add(1)?,
        None => 1,
    };
    v.pre = Prerelease::new(&format!("{pre}.{n}")).ok()?;
    Some(v)
}

/// `n` when `existing` is exactly `pre.n` with `n` numeric.
fn pre_number(existing: &str, pre: &str) -> Option<u64> {
    let n = existing.strip_prefix(pre)?.strip_prefix('.')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("test version")
    }

    fn entry(kind: Option<&str>, breaking: bool) -> Entry {
        Entry {
            kind: kind.map(str::to_owned),
            breaking,
            description: "d".to_owned(),
            ..Entry::default()
        }
    }

    /// `next_version` with the default policy.
    fn next(
        latest: Option<&str>,
        existing: &[&str],
        bump: Bump,
        release_as: Option<&str>,
        pre: Option<&str>,
    ) -> Option<String> {
        let latest = latest.map(v);
        let existing: Vec<Version> = existing.iter().map(|s| v(s)).collect();
        let release_as = release_as.map(v);
        let inputs = Inputs {
            latest: latest.as_ref(),
            existing: &existing,
            bump,
            release_as: release_as.as_ref(),
            pre,
        };
        next_version(&inputs, &Policy::default()).map(|v| v.to_string())
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn policy_defaults() {
        let p = Policy::default();
        assert_eq!(p.minor_types, vec!["feat"]);
        assert_eq!(p.patch_types, vec!["fix", "perf"]);
        assert!(p.breaking_is_minor_before_1);
        assert_eq!(p.initial, v("0.1.0"));
    }

    #[test]
    fn bump_serialises_lowercase_and_orders() {
        assert_eq!(
            serde_json::to_string(&[Bump::None, Bump::Patch, Bump::Minor, Bump::Major])
                .expect("serialise"),
            r#"["none","patch","minor","major"]"#
        );
        assert!(Bump::None < Bump::Patch && Bump::Patch < Bump::Minor);
        assert!(Bump::Minor < Bump::Major);
    }

    #[test]
    fn bump_for_entries() {
        let p = Policy::default();
        let b = |es: &[Entry]| bump_for(es, &p);
        assert_eq!(b(&[]), Bump::None);
        assert_eq!(b(&[entry(None, false)]), Bump::None);
        assert_eq!(b(&[entry(Some("docs"), false)]), Bump::None);
        assert_eq!(
            b(&[entry(Some("chore"), false), entry(Some("perf"), false)]),
            Bump::Patch
        );
        assert_eq!(
            b(&[entry(Some("fix"), false), entry(Some("FEAT"), false)]),
            Bump::Minor
        );
        assert_eq!(
            b(&[entry(Some("feat"), false), entry(Some("docs"), true)]),
            Bump::Major
        );
        assert_eq!(b(&[entry(None, true)]), Bump::Major);
        let custom = Policy {
            minor_types: vec!["add".into()],
            patch_types: vec![],
            ..Policy::default()
        };
        assert_eq!(bump_for(&[entry(Some("feat"), false)], &custom), Bump::None);
        assert_eq!(bump_for(&[entry(Some("add"), false)], &custom), Bump::Minor);
        assert_eq!(bump_for(&[entry(Some("fix"), false)], &custom), Bump::None);
    }

    #[test]
    fn stable_bumps() {
        let e = &["1.2.3"];
        assert_eq!(
            next(Some("1.2.3"), e, Bump::Patch, None, None),
            some("1.2.4")
        );
        assert_eq!(
            next(Some("1.2.3"), e, Bump::Minor, None, None),
            some("1.3.0")
        );
        assert_eq!(
            next(Some("1.2.3"), e, Bump::Major, None, None),
            some("2.0.0")
        );
    }

    #[test]
    fn bump_applies_to_highest_stable_in_any_order() {
        let e = &["1.10.0", "1.9.5", "2.0.0-rc.1", "1.2.0"];
        assert_eq!(
            next(Some("1.10.0"), e, Bump::Patch, None, None),
            some("1.10.1")
        );
        // `latest` counts even when missing from `existing`.
        assert_eq!(
            next(Some("3.0.0"), &[], Bump::Patch, None, None),
            some("3.0.1")
        );
    }

    #[test]
    fn bump_starts_from_the_previous_release_of_these_commits() {
        // A maintenance branch forked at 1.0.0 while main released 1.1.0 and 2.0.0-rc.1.
        let e = &["1.0.0", "1.1.0", "2.0.0-rc.1"];
        assert_eq!(
            next(Some("1.0.0"), e, Bump::Patch, None, None),
            some("1.0.1")
        );
        assert_eq!(
            next(Some("1.0.0"), e, Bump::Minor, None, None),
            some("1.1.0")
        );
        // Without a release in this history, the highest stable version is the start.
        assert_eq!(next(None, e, Bump::Patch, None, None), some("1.1.1"));
        // A pre-release as the previous release: the stable base is the highest below it.
        let e = &["1.2.0", "1.2.7", "1.3.0-rc.1", "1.9.0"];
        assert_eq!(
            next(Some("1.3.0-rc.1"), e, Bump::Patch, None, None),
            some("1.3.0")
        );
        assert_eq!(
            next(Some("1.3.0-rc.1"), e, Bump::Major, None, None),
            some("2.0.0")
        );
    }

    #[test]
    fn zero_major_breaking_is_minor() {
        let e = &["0.4.2"];
        assert_eq!(
            next(Some("0.4.2"), e, Bump::Major, None, None),
            some("0.5.0")
        );
        assert_eq!(
            next(Some("0.4.2"), e, Bump::Minor, None, None),
            some("0.5.0")
        );
        assert_eq!(
            next(Some("0.4.2"), e, Bump::Patch, None, None),
            some("0.4.3")
        );
        let strict = Policy {
            breaking_is_minor_before_1: false,
            ..Policy::default()
        };
        let existing = [v("0.4.2")];
        let inputs = Inputs {
            latest: existing.first(),
            existing: &existing,
            bump: Bump::Major,
            release_as: None,
            pre: None,
        };
        assert_eq!(next_version(&inputs, &strict), Some(v("1.0.0")));
    }

    #[test]
    fn nothing_to_release() {
        assert_eq!(
            next(Some("1.2.3"), &["1.2.3"], Bump::None, None, None),
            None
        );
        assert_eq!(next(None, &[], Bump::None, None, None), None);
        assert_eq!(
            next(Some("1.2.3"), &["1.2.3"], Bump::None, None, Some("rc")),
            None
        );
    }

    #[test]
    fn initial_version() {
        assert_eq!(next(None, &[], Bump::Patch, None, None), some("0.1.0"));
        assert_eq!(next(None, &[], Bump::Major, None, None), some("0.1.0"));
        assert_eq!(
            next(None, &[], Bump::Minor, None, Some("rc")),
            some("0.1.0-rc.1")
        );
        let p = Policy {
            initial: v("1.0.0"),
            ..Policy::default()
        };
        let inputs = Inputs {
            latest: None,
            existing: &[],
            bump: Bump::Minor,
            release_as: None,
            pre: None,
        };
        assert_eq!(next_version(&inputs, &p), Some(v("1.0.0")));
    }

    #[test]
    fn only_pre_releases_so_far() {
        // No stable release yet: the target is the initial version, then its rc counter.
        let e = &["0.1.0-rc.1"];
        assert_eq!(
            next(Some("0.1.0-rc.1"), e, Bump::Patch, None, Some("rc")),
            some("0.1.0-rc.2")
        );
        assert_eq!(
            next(Some("0.1.0-rc.1"), e, Bump::Patch, None, None),
            some("0.1.0")
        );
    }

    #[test]
    fn rc_increments() {
        assert_eq!(
            next(Some("1.2.3"), &["1.2.3"], Bump::Minor, None, Some("rc")),
            some("1.3.0-rc.1")
        );
        let e = &["1.2.3", "1.3.0-rc.1"];
        assert_eq!(
            next(Some("1.3.0-rc.1"), e, Bump::Patch, None, Some("rc")),
            some("1.3.0-rc.2")
        );
        // Gaps and other channels do not matter; the highest `rc.n` does.
        let e = &[
            "1.2.3",
            "1.3.0-rc.1",
            "1.3.0-rc.7",
            "1.3.0-beta.9",
            "1.3.0-rc.x",
            "1.2.0-rc.20",
        ];
        assert_eq!(
            next(Some("1.3.0-rc.7"), e, Bump::Patch, None, Some("rc")),
            some("1.3.0-rc.8")
        );
        assert_eq!(
            next(Some("1.3.0-rc.7"), e, Bump::Patch, None, Some("beta")),
            some("1.3.0-beta.10")
        );
        assert_eq!(
            next(Some("1.3.0-rc.7"), e, Bump::Patch, None, Some("alpha")),
            some("1.3.0-alpha.1")
        );
        // `rc.1.2` is not `rc.n`.
        assert_eq!(
            next(
                Some("1.2.3"),
                &["1.2.3", "1.3.0-rc.1.2"],
                Bump::Minor,
                None,
                Some("rc")
            ),
            some("1.3.0-rc.1")
        );
    }

    #[test]
    fn dotted_pre_channel() {
        let e = &["1.0.0", "1.1.0-beta.x.3"];
        assert_eq!(
            next(Some("1.1.0-beta.x.3"), e, Bump::Patch, None, Some("beta.x")),
            some("1.1.0-beta.x.4")
        );
    }

    #[test]
    fn rc_then_stable() {
        let e = &["1.2.3", "1.3.0-rc.1", "1.3.0-rc.2"];
        // A fix after 1.3.0-rc.2 still releases 1.3.0, not 1.2.4.
        assert_eq!(
            next(Some("1.3.0-rc.2"), e, Bump::Patch, None, None),
            some("1.3.0")
        );
        assert_eq!(
            next(Some("1.3.0-rc.2"), e, Bump::Minor, None, None),
            some("1.3.0")
        );
        // A bigger bump than the pre-release's goes past it.
        assert_eq!(
            next(Some("1.3.0-rc.2"), e, Bump::Major, None, None),
            some("2.0.0")
        );
        assert_eq!(
            next(Some("1.3.0-rc.2"), e, Bump::Major, None, Some("rc")),
            some("2.0.0-rc.1")
        );
        // A pre-release that is not `latest` does not pull the target.
        assert_eq!(
            next(Some("1.2.3"), e, Bump::Patch, None, None),
            some("1.2.4")
        );
    }

    #[test]
    fn release_as_wins() {
        let e = &["1.2.3"];
        assert_eq!(
            next(Some("1.2.3"), e, Bump::Patch, Some("2.0.0"), None),
            some("2.0.0")
        );
        assert_eq!(
            next(Some("1.2.3"), e, Bump::None, Some("1.5.0"), None),
            some("1.5.0")
        );
        assert_eq!(
            next(None, &[], Bump::None, Some("1.0.0"), None),
            some("1.0.0")
        );
        assert_eq!(
            next(Some("1.2.3"), e, Bump::Patch, Some("2.0.0"), Some("rc")),
            some("2.0.0-rc.1")
        );
        let e = &["1.2.3", "2.0.0-rc.1"];
        assert_eq!(
            next(
                Some("2.0.0-rc.1"),
                e,
                Bump::Patch,
                Some("2.0.0"),
                Some("rc")
            ),
            some("2.0.0-rc.2")
        );
        // Its own pre-release is kept as written.
        assert_eq!(
            next(
                Some("1.2.3"),
                e,
                Bump::Patch,
                Some("2.0.0-beta.5"),
                Some("rc")
            ),
            some("2.0.0-beta.5")
        );
    }

    #[test]
    fn validate_pre_messages() {
        assert_eq!(validate_pre("rc"), Ok(()));
        assert_eq!(validate_pre("beta.x"), Ok(()));
        let err = validate_pre("rc 1").expect_err("space");
        assert!(
            err.starts_with("pre-release identifier \"rc 1\" is not valid semver: "),
            "{err}"
        );
        assert!(validate_pre("").expect_err("empty").contains("empty"));
        assert!(validate_pre("rc..1").is_err());
        assert!(validate_pre("01").is_err());
    }

    #[test]
    fn invalid_pre_gives_no_version() {
        assert_eq!(
            next(Some("1.2.3"), &["1.2.3"], Bump::Minor, None, Some("rc 1")),
            None
        );
    }

    #[test]
    fn overflow_gives_no_version() {
        let max = u64::MAX.to_string();
        let top = format!("{max}.0.0");
        assert_eq!(next(Some(&top), &[&top], Bump::Major, None, None), None);
        assert_eq!(
            next(Some(&top), &[&top], Bump::Patch, None, None),
            some(&format!("{max}.0.1"))
        );
    }
}
