//! The `gate:` section: named policies of gates, change-risk weights.
//!
//! A gate is one list item naming exactly one kind of check (`junit:`, `sarif:`, `checks:`,
//! …) plus what every gate has (`name`, `severity`, `when`). Keeping the kind as a key rather
//! than a `kind:` tag lets each kind's settings be a documented struct with unknown keys
//! rejected; `load.rs` checks that exactly one kind is set.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HttpCheck, PrometheusCheck};

/// Release gates: named policies, and how change risk is scored.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GateSettings {
    /// Policy evaluated when `--policy` is not given.
    pub default_policy: String,
    /// Named gate sets, e.g. one per environment (`staging`, `production`).
    pub policies: BTreeMap<String, Policy>,
    /// How the change since the last release is scored.
    pub risk: RiskSettings,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            default_policy: "default".into(),
            policies: BTreeMap::new(),
            risk: RiskSettings::default(),
        }
    }
}

/// A named set of gates.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// What the policy is for, shown in reports.
    pub description: String,
    /// Another policy whose gates come first; a gate here with the same name replaces the
    /// inherited one.
    pub extends: Option<String>,
    /// The gates, evaluated in order.
    pub gates: Vec<GateSpec>,
}

/// Whether a failing gate stops the release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure makes the verdict no-go.
    #[default]
    Blocking,
    /// A failure is reported and annotated, the verdict stays go.
    Warning,
}

/// One gate: exactly one of the kind keys, plus a name, severity and condition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GateSpec {
    /// Name in reports and in condition facts (default: the kind, e.g. `junit`).
    pub name: Option<String>,
    /// `blocking` (default) or `warning`.
    pub severity: Severity,
    /// Evaluate this gate only when this expression over the facts so far is true, e.g.
    /// `risk.level in ["high", "critical"]`.
    pub when: Option<String>,
    /// Test reports (JUnit XML).
    pub junit: Option<JunitGate>,
    /// Static-analysis and security findings (SARIF 2.1).
    pub sarif: Option<SarifGate>,
    /// Line and branch coverage (Cobertura, LCOV, JaCoCo).
    pub coverage: Option<CoverageGate>,
    /// Performance against a baseline (criterion, hyperfine, generic JSON).
    pub benchmark: Option<BenchmarkGate>,
    /// Required check runs / commit statuses / pipelines on the forge are green.
    pub checks: Option<ChecksGate>,
    /// Approvals on the pull / merge request.
    pub approvals: Option<ApprovalsGate>,
    /// No open release-blocker issues.
    pub blockers: Option<BlockersGate>,
    /// Change risk at most a level.
    pub risk: Option<RiskGate>,
    /// Inside a release window and outside freezes.
    pub window: Option<WindowGate>,
    /// A known-good deployment to roll back to, and a recent rollback drill.
    pub rollback: Option<RollbackGate>,
    /// Health checks and metrics are in place and healthy.
    pub monitoring: Option<MonitoringGate>,
    /// A minijinja expression over the facts that must be true.
    pub condition: Option<ConditionGate>,
}

impl GateSpec {
    /// The kind keys that are set, in declaration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                k.push(name)
            }
        };
        add(self.junit.is_some(), "junit");
        add(self.sarif.is_some(), "sarif");
        add(self.coverage.is_some(), "coverage");
        add(self.benchmark.is_some(), "benchmark");
        add(self.checks.is_some(), "checks");
        add(self.approvals.is_some(), "approvals");
        add(self.blockers.is_some(), "blockers");
        add(self.risk.is_some(), "risk");
        add(self.window.is_some(), "window");
        add(self.rollback.is_some(), "rollback");
        add(self.monitoring.is_some(), "monitoring");
        add(self.condition.is_some(), "condition");
        k
    }

    /// The gate's name: `name`, else its kind.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.kinds().first().copied().unwrap_or("gate").to_string())
    }
}

/// JUnit XML test reports (Surefire, pytest, Jest, cargo-nextest, go-junit-report, …).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct JunitGate {
    /// Glob patterns of report files, relative to the repository root.
    pub paths: Vec<String>,
    /// Most failed tests allowed (flaky ones not counted).
    pub max_failures: u64,
    /// Most tests in error allowed (flaky ones not counted).
    pub max_errors: u64,
    /// Most skipped tests allowed; unlimited when unset.
    pub max_skipped: Option<u64>,
    /// Fewest tests the reports must hold: no reports is not a pass.
    pub min_tests: u64,
    /// Regular expressions for tests whose failure is tolerated, matched against
    /// `classname.name` and `name`.
    pub flaky: Vec<String>,
}

impl Default for JunitGate {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            max_failures: 0,
            max_errors: 0,
            max_skipped: None,
            min_tests: 1,
            flaky: Vec::new(),
        }
    }
}

/// SARIF 2.1 results of any scanner.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SarifGate {
    /// Glob patterns of SARIF files, relative to the repository root.
    pub paths: Vec<String>,
    /// Most results allowed per SARIF level (`error`, `warning`, `note`); a level not listed
    /// is unlimited. Default: no `error`.
    pub max_level: BTreeMap<String, u64>,
    /// Most results allowed per security severity band (`critical` ≥ 9.0, `high` ≥ 7.0,
    /// `medium` ≥ 4.0, `low` > 0), from the rule's `security-severity` property.
    pub max_security: BTreeMap<String, u64>,
    /// Accepted findings: a rule id (and optionally a path glob) with a reason and an expiry.
    pub allow: Vec<AllowRule>,
}

/// An accepted finding. It stops counting on `until`; an expired entry is reported.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    /// Rule id, e.g. `template-injection` or `CVE-2024-1234`.
    pub rule: String,
    /// Only results in files matching this glob.
    #[serde(default)]
    pub path: Option<String>,
    /// Last day the entry holds, `YYYY-MM-DD` (inclusive, UTC).
    pub until: String,
    /// Why the finding is accepted (required: it goes to the audit log).
    pub reason: String,
}

/// Coverage reports.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageGate {
    /// Glob patterns of Cobertura XML, LCOV or JaCoCo XML files (format detected).
    pub paths: Vec<String>,
    /// Minimum line coverage overall, in percent.
    pub min_line: Option<f64>,
    /// Minimum branch coverage overall, in percent.
    pub min_branch: Option<f64>,
    /// Minimum line coverage of the lines in files changed since the base, in percent.
    pub min_changed_line: Option<f64>,
}

/// Benchmark results against a baseline.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BenchmarkGate {
    /// Glob patterns of current results: criterion `estimates.json` / `--message-format=json`
    /// lines, hyperfine `--export-json`, or generic `{"benchmarks":[{"name","value","unit"}]}`.
    pub paths: Vec<String>,
    /// Baseline results in the same formats (a file or glob in the repository).
    pub baseline: Vec<String>,
    /// Largest slowdown allowed for any benchmark, in percent of the baseline.
    pub max_regression: f64,
    /// Benchmarks only in the current results (or only in the baseline) fail the gate.
    pub require_baseline: bool,
    /// Read `baseline` as committed at the base revision (the last release tag, or the
    /// environment's current deployment) rather than from the working tree: the results the
    /// last release shipped with are the baseline.
    pub baseline_at_release: bool,
    /// How a slowdown is judged: `auto` (statistics where both sides carry samples or
    /// standard errors, the means elsewhere), `statistical` (statistics only: a benchmark
    /// without them fails the gate), or `mean` (the means alone, as in relman 0.x).
    pub method: BenchmarkMethod,
    /// With statistics, a benchmark fails only when it is slower than `max_regression` with
    /// this confidence (the lower end of the confidence interval of the ratio is over the
    /// limit). Between 0.5 and 0.9999.
    pub confidence: f64,
}

impl Default for BenchmarkGate {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            baseline: Vec::new(),
            max_regression: 0.0,
            require_baseline: false,
            baseline_at_release: false,
            method: BenchmarkMethod::Auto,
            confidence: 0.95,
        }
    }
}

/// How the benchmark gate decides a regression (see [`BenchmarkGate::method`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkMethod {
    /// Statistics where both sides have samples or standard errors, else the means.
    #[default]
    Auto,
    /// Statistics only; a benchmark without samples or standard errors cannot be judged.
    Statistical,
    /// Compare the means against `max_regression`, whatever the spread.
    Mean,
}

/// Required checks on the commit.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksGate {
    /// Names or glob patterns (`ci/*`) of checks that must exist and succeed. Empty: every
    /// check on the commit must succeed.
    pub required: Vec<String>,
    /// Names or glob patterns of checks to ignore (the gate's own `relman/gate`, …).
    pub ignore: Vec<String>,
    /// How long to wait for checks still queued or running, e.g. `10m`; `0s` fails at once.
    pub timeout: String,
    /// Time between polls while waiting, e.g. `30s`.
    pub poll_interval: String,
    /// Conclusions that count as green besides `success`.
    pub allow_conclusions: Vec<String>,
}

impl Default for ChecksGate {
    fn default() -> Self {
        Self {
            required: Vec::new(),
            ignore: vec!["relman/gate*".into()],
            timeout: "0s".into(),
            poll_interval: "30s".into(),
            allow_conclusions: vec!["neutral".into(), "skipped".into()],
        }
    }
}

/// Approvals of the pull / merge request the release commit came from.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsGate {
    /// Fewest distinct approvers.
    pub min: u32,
    /// Each of these users must approve.
    pub users: Vec<String>,
    /// At least one member of each of these teams (`org/team`) must approve.
    pub teams: Vec<String>,
    /// An owner (from CODEOWNERS) of every changed file must approve.
    pub codeowners: bool,
    /// The author's own approval does not count.
    pub exclude_author: bool,
    /// Approvals of an older head commit do not count.
    pub dismiss_stale: bool,
}

impl Default for ApprovalsGate {
    fn default() -> Self {
        Self {
            min: 1,
            users: Vec::new(),
            teams: Vec::new(),
            codeowners: false,
            exclude_author: true,
            dismiss_stale: true,
        }
    }
}

/// Open issues that block a release.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BlockersGate {
    /// Open issues with any of these labels block.
    pub labels: Vec<String>,
    /// Open issues in this milestone block.
    pub milestone: Option<String>,
}

impl Default for BlockersGate {
    fn default() -> Self {
        Self {
            labels: vec!["release-blocker".into()],
            milestone: None,
        }
    }
}

/// Change risk level.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        }
    }
}

/// Change risk must not exceed a level.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RiskGate {
    /// Highest level allowed.
    pub max_level: RiskLevel,
}

impl Default for RiskGate {
    fn default() -> Self {
        Self {
            max_level: RiskLevel::High,
        }
    }
}

/// How change risk is scored from the diff since the base (last release, or `--base`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RiskSettings {
    /// Points per changed file.
    pub per_file: f64,
    /// Points per 100 changed lines (added + removed).
    pub per_100_lines: f64,
    /// Points per monorepo package touched beyond the first.
    pub per_extra_package: f64,
    /// Points per breaking change among the commits.
    pub per_breaking: f64,
    /// Points when a dependency manifest or lock file changes.
    pub manifest: f64,
    /// Globs of dependency manifests and lock files.
    pub manifests: Vec<String>,
    /// Sensitive paths with the points they add (once per rule).
    pub sensitive: Vec<SensitivePath>,
    /// Lowest scores of `medium`, `high` and `critical`.
    pub levels: RiskThresholds,
}

impl Default for RiskSettings {
    fn default() -> Self {
        let sensitive = |glob: &str, weight: f64, reason: &str| SensitivePath {
            paths: vec![glob.into()],
            weight,
            reason: reason.into(),
        };
        Self {
            per_file: 0.5,
            per_100_lines: 1.0,
            per_extra_package: 5.0,
            per_breaking: 15.0,
            manifest: 5.0,
            manifests: [
                "**/Cargo.toml",
                "**/Cargo.lock",
                "**/package.json",
                "**/package-lock.json",
                "**/yarn.lock",
                "**/pnpm-lock.yaml",
                "**/go.mod",
                "**/go.sum",
                "**/requirements*.txt",
                "**/pyproject.toml",
                "**/poetry.lock",
                "**/uv.lock",
                "**/Gemfile.lock",
                "**/pom.xml",
                "**/build.gradle*",
            ]
            .map(String::from)
            .to_vec(),
            sensitive: vec![
                sensitive("**/migrations/**", 20.0, "database migration"),
                sensitive("**/*.sql", 10.0, "SQL"),
                sensitive("**/auth/**", 15.0, "authentication"),
                sensitive("**/*.tf", 15.0, "infrastructure"),
                sensitive("**/Dockerfile", 5.0, "container image"),
                sensitive(".github/workflows/**", 10.0, "CI workflow"),
                sensitive(".gitlab-ci.yml", 10.0, "CI pipeline"),
            ],
            levels: RiskThresholds::default(),
        }
    }
}

/// Paths that make a change riskier.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitivePath {
    /// Glob patterns.
    pub paths: Vec<String>,
    /// Points added when any changed file matches.
    pub weight: f64,
    /// Shown in the reasons, e.g. `database migration`.
    pub reason: String,
}

/// Score thresholds of the risk levels.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RiskThresholds {
    pub medium: f64,
    pub high: f64,
    pub critical: f64,
}

impl Default for RiskThresholds {
    fn default() -> Self {
        Self {
            medium: 20.0,
            high: 45.0,
            critical: 80.0,
        }
    }
}

/// Release windows and freezes. Outside every `allowed` period (when any is listed) or
/// inside any `freezes` period, the gate fails, unless overridden with a reason.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WindowGate {
    /// IANA time zone of the periods that do not name one, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Periods when releasing is allowed; empty: always.
    pub allowed: Vec<Period>,
    /// Periods when releasing is not allowed.
    pub freezes: Vec<Period>,
    /// Also honour the forge's deploy freezes (GitLab freeze periods).
    pub forge_freezes: bool,
}

impl Default for WindowGate {
    fn default() -> Self {
        Self {
            timezone: "UTC".into(),
            allowed: Vec::new(),
            freezes: Vec::new(),
            forge_freezes: false,
        }
    }
}

/// A calendar period: either recurring (`cron_start` to the next `cron_end`, like GitLab freeze
/// periods) or a date range (`from` to `to`, civil date-times or dates in the time zone).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Period {
    /// Shown in reasons, e.g. `year-end freeze`.
    pub name: String,
    /// Five-field cron expression of the start, e.g. `0 18 * * 5` (Friday 18:00).
    pub cron_start: Option<String>,
    /// Five-field cron expression of the end, e.g. `0 8 * * 1` (Monday 08:00).
    pub cron_end: Option<String>,
    /// Start, `2026-12-20` or `2026-12-20T18:00` (inclusive).
    pub from: Option<String>,
    /// End, `2027-01-04` or `2027-01-04T08:00` (exclusive; a bare date means its start).
    pub to: Option<String>,
    /// IANA time zone; default: the gate's.
    pub timezone: Option<String>,
}

/// Rollback readiness.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackGate {
    /// Environment to roll back in (default: the policy name).
    pub environment: Option<String>,
    /// A successful rollback drill (`rollback.drill` in the audit log) within this many days.
    pub drill_within_days: Option<u32>,
}

/// Monitoring in place.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringGate {
    /// HTTP health checks.
    pub http: Vec<HttpCheck>,
    /// Prometheus instant queries with a threshold.
    pub prometheus: Vec<PrometheusCheck>,
}

/// A custom condition.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionGate {
    /// minijinja expression over the facts, e.g. `risk.level != "high" or approvals.count >= 2`.
    pub expr: String,
    /// Shown when the expression is false.
    pub message: String,
}
