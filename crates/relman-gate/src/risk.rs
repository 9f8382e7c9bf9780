//! Change risk: a score from the change since the base, a level, and the reasons behind it.
//!
//! The score is a sum of named contributions, so a reader can check it by hand and tune the
//! weights in `.relman.yml`: size (files, lines), spread (monorepo packages), dependency
//! manifests, sensitive paths (once per rule, however many files match) and breaking changes.

#[cfg(test)]
mod tests;

use globset::GlobMatcher;
use relman_core::Error;
use relman_core::config::{self, Package, RiskLevel, RiskSettings};
use serde::Serialize;

use crate::evidence::files::glob;
use crate::{Change, Finding, Status};

/// One contribution to the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub points: f64,
    pub why: String,
}

/// A sensitive-path rule that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitiveHit {
    /// The rule's reason, e.g. `database migration`.
    pub reason: String,
    pub weight: f64,
    /// Changed files matching the rule.
    pub files: Vec<String>,
}

/// The `risk` facts conditions read (`risk.level`, `risk.score`, `risk.packages`, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub score: f64,
    pub level: RiskLevel,
    /// Contributions, largest first.
    pub reasons: Vec<Reason>,
    /// Changed files.
    pub files: usize,
    /// Lines added plus removed.
    pub lines: u64,
    pub added: u64,
    pub removed: u64,
    pub commits: usize,
    /// Breaking changes among the commits.
    pub breaking: usize,
    /// Monorepo packages touched, in declaration order.
    pub packages: Vec<String>,
    /// Changed dependency manifests and lock files.
    pub manifests: Vec<String>,
    pub sensitive: Vec<SensitiveHit>,
    /// The base the change was measured from (`None`: the whole history).
    pub base: Option<String>,
}

/// Scores `change` with `settings`; `packages` are the monorepo packages of `.relman.yml`.
pub fn assess(
    settings: &RiskSettings,
    packages: &[Package],
    change: &Change,
) -> Result<Assessment, Error> {
    check_levels(settings)?;
    let manifest_globs = compile(&settings.manifests, "gate.risk.manifests")?;
    let mut reasons = Vec::new();
    let mut add = |points: f64, why: String| {
        if points != 0.0 {
            reasons.push(Reason { points, why });
        }
    };

    let files = change.files.len();
    let added: u64 = change.files.iter().map(|f| f.added).sum();
    let removed: u64 = change.files.iter().map(|f| f.removed).sum();
    let lines = added + removed;
    add(
        settings.per_file * files as f64,
        plural(files as u64, "file", "changed"),
    );
    add(
        settings.per_100_lines * lines as f64 / 100.0,
        format!("{} (+{added} −{removed})", plural(lines, "line", "changed")),
    );

    let touched: Vec<String> = packages
        .iter()
        .filter(|p| change.files.iter().any(|f| in_package(&f.path, p)))
        .map(|p| p.name.clone())
        .collect();
    if touched.len() > 1 {
        let extra = (touched.len() - 1) as f64;
        add(
            settings.per_extra_package * extra,
            format!("{} packages touched: {}", touched.len(), touched.join(", ")),
        );
    }

    let manifests: Vec<String> = change
        .files
        .iter()
        .filter(|f| manifest_globs.iter().any(|g| g.is_match(&f.path)))
        .map(|f| f.path.clone())
        .collect();
    if !manifests.is_empty() {
        add(
            settings.manifest,
            format!("dependency manifests changed: {}", sample(&manifests)),
        );
    }

    let mut sensitive = Vec::new();
    for (i, rule) in settings.sensitive.iter().enumerate() {
        let globs = compile(&rule.paths, &format!("gate.risk.sensitive[{i}].paths"))?;
        let hits: Vec<String> = change
            .files
            .iter()
            .filter(|f| globs.iter().any(|g| g.is_match(&f.path)))
            .map(|f| f.path.clone())
            .collect();
        if hits.is_empty() {
            continue;
        }
        add(rule.weight, format!("{}: {}", rule.reason, sample(&hits)));
        sensitive.push(SensitiveHit {
            reason: rule.reason.clone(),
            weight: rule.weight,
            files: hits,
        });
    }

    if change.breaking > 0 {
        add(
            settings.per_breaking * change.breaking as f64,
            plural(change.breaking as u64, "breaking change", "in the commits"),
        );
    }

    // Largest first: the evidence and the one-line reason lead with what matters most.
    reasons.sort_by(|a, b| b.points.total_cmp(&a.points));
    let score = round(reasons.iter().map(|r| r.points).sum());
    Ok(Assessment {
        score,
        level: level_of(score, settings),
        reasons,
        files,
        lines,
        added,
        removed,
        commits: change.commits,
        breaking: change.breaking,
        packages: touched,
        manifests,
        sensitive,
        base: change.base.clone(),
    })
}

/// The `risk` gate: fails when the level is above `max_level`.
pub fn evaluate(spec: &config::RiskGate, assessment: &Assessment) -> Finding {
    let ok = assessment.level <= spec.max_level;
    let top: Vec<&str> = assessment
        .reasons
        .iter()
        .take(3)
        .map(|r| r.why.as_str())
        .collect();
    let mut reason = format!(
        "risk {} (score {})",
        assessment.level.as_str(),
        score_text(assessment.score)
    );
    if !top.is_empty() {
        reason.push_str(": ");
        reason.push_str(&top.join("; "));
    }
    if !ok {
        reason.push_str(&format!(" — above the maximum {}", spec.max_level.as_str()));
    }
    let mut f = Finding::new(if ok { Status::Pass } else { Status::Fail }, reason);
    f.evidence = assessment
        .reasons
        .iter()
        .map(|r| format!("{:+} {}", Points(r.points), r.why))
        .collect();
    f.facts = serde_json::to_value(assessment).unwrap_or_default();
    f.explain.push(format!(
        "scored {} files, {} lines and {} commits since {}",
        assessment.files,
        assessment.lines,
        assessment.commits,
        assessment.base.as_deref().unwrap_or("the first commit")
    ));
    f
}

/// The level of `score`: the highest threshold it reaches.
pub fn level_of(score: f64, settings: &RiskSettings) -> RiskLevel {
    let t = &settings.levels;
    if score >= t.critical {
        RiskLevel::Critical
    } else if score >= t.high {
        RiskLevel::High
    } else if score >= t.medium {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    }
}

/// The settings' own checks (run by `relman config check` too): thresholds, globs.
pub(crate) fn check_settings(settings: &RiskSettings) -> Result<(), Error> {
    check_levels(settings)?;
    compile(&settings.manifests, "gate.risk.manifests")?;
    for (i, rule) in settings.sensitive.iter().enumerate() {
        compile(&rule.paths, &format!("gate.risk.sensitive[{i}].paths"))?;
    }
    Ok(())
}

fn check_levels(settings: &RiskSettings) -> Result<(), Error> {
    let t = &settings.levels;
    let finite = [t.medium, t.high, t.critical].iter().all(|v| v.is_finite());
    if !finite || t.medium > t.high || t.high > t.critical {
        return Err(Error::Usage(format!(
            "gate.risk.levels: thresholds must be finite and rising (medium ≤ high ≤ critical), \
             got {} / {} / {}",
            t.medium, t.high, t.critical
        )));
    }
    Ok(())
}

fn compile(patterns: &[String], key: &str) -> Result<Vec<GlobMatcher>, Error> {
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            glob(p.trim_start_matches("./")).map_err(|e| Error::Usage(format!("{key}[{i}]: {e}")))
        })
        .collect()
}

/// Whether `path` lies under one of the package's paths (a directory or a file).
fn in_package(path: &str, package: &Package) -> bool {
    package.paths.iter().any(|p| {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        p.is_empty()
            || p == "."
            || path == p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn plural(n: u64, noun: &str, tail: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {noun}{s} {tail}")
}

/// The first few paths, then a count: a reason stays one line.
fn sample(paths: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut s = paths
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        s.push_str(&format!(" (+{} more)", paths.len() - SHOWN));
    }
    s
}

/// Scores are shown with one decimal at most; rounding the value itself keeps `risk.score`
/// in conditions equal to what the report shows.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub(crate) fn score_text(v: f64) -> String {
    Points(v).to_string()
}

struct Points(f64);

impl std::fmt::Display for Points {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = round(self.0);
        let sign = if f.sign_plus() && v >= 0.0 { "+" } else { "" };
        if v.fract() == 0.0 {
            write!(f, "{sign}{v:.0}")
        } else {
            write!(f, "{sign}{v:.1}")
        }
    }
}
