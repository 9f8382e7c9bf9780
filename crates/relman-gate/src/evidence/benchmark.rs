//! The `benchmark` gate: no benchmark slower than the baseline by more than `max_regression`
//! percent (or, for higher-is-better results such as throughput, lower by more than that).
//!
//! Where both sides carry their spread (every run's time, or a standard error), "slower" must
//! be shown with `confidence`: the lower end of the ratio's confidence interval is over the
//! limit (see [`stats`]). Elsewhere, and with `method: mean`, the means decide.

mod formats;
mod stats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use relman_core::Error;
use relman_core::config;
use serde_json::json;

use self::formats::{Sample, Spread, Unit};
use self::stats::Ratio;
use crate::evidence::files;
use crate::{Context, Finding, Status};

/// How many regressions and improvements the evidence lists.
const EVIDENCE_ITEMS: usize = 5;

/// Evaluates the gate.
pub fn evaluate(spec: &config::BenchmarkGate, cx: &Context) -> Result<Finding, Error> {
    let mut explain = Vec::new();
    let current = load(&cx.root, &spec.paths, "results", &mut explain)?;
    if current.is_empty() {
        let mut f = Finding::new(
            Status::Fail,
            format!("no benchmark results in {}", spec.paths.join(", ")),
        );
        f.explain = explain;
        return Ok(f);
    }
    let baseline = if spec.baseline_at_release {
        baseline_at_release(spec, cx, &mut explain)?
    } else {
        load(&cx.root, &spec.baseline, "baseline", &mut explain)?
    };
    // A first release has nothing to regress against: that is known, not "cannot tell".
    let first_release = spec.baseline_at_release && cx.change.base_sha.is_none();
    let mut finding = judge(spec, &current, &baseline, first_release)?;
    let notes = std::mem::take(&mut finding.explain);
    finding.explain = explain;
    finding.explain.extend(notes);
    Ok(finding)
}

/// The baseline files as the base revision has them, read from a scratch directory.
fn baseline_at_release(
    spec: &config::BenchmarkGate,
    cx: &Context,
    explain: &mut Vec<String>,
) -> Result<BTreeMap<String, Located>, Error> {
    let (Some(sha), label) = (
        cx.change.base_sha.as_deref(),
        cx.change.base.as_deref().unwrap_or("the base"),
    ) else {
        explain.push("baseline: no earlier release to take it from (first release)".into());
        return Ok(BTreeMap::new());
    };
    let scratch = tempfile::tempdir().map_err(|e| Error::Write {
        path: std::env::temp_dir(),
        source: e,
    })?;
    let n = crate::diff::checkout_matching(&cx.root, sha, &spec.baseline, scratch.path())?;
    explain.push(format!(
        "baseline: {n} file(s) matching {:?} as committed at {label}",
        spec.baseline
    ));
    let mut found = load(scratch.path(), &spec.baseline, "baseline", explain)?;
    for located in found.values_mut() {
        located.file = PathBuf::from(format!("{label}:{}", located.file.display()));
    }
    Ok(found)
}

/// A result and the file it came from (for errors naming both sides).
#[derive(Debug, Clone)]
struct Located {
    sample: Sample,
    file: PathBuf,
}

/// Every sample matched by `patterns`, by name; a name twice is an error (which one counts?).
fn load(
    root: &Path,
    patterns: &[String],
    what: &str,
    explain: &mut Vec<String>,
) -> Result<BTreeMap<String, Located>, Error> {
    let mut out: BTreeMap<String, Located> = BTreeMap::new();
    let paths = files::find(root, patterns)?;
    if paths.is_empty() {
        explain.push(format!("{what}: no file matches {patterns:?}"));
    }
    for path in paths {
        let shown = PathBuf::from(files::relative(root, &path));
        let Some((format, samples)) = formats::read(&path, root)? else {
            explain.push(format!(
                "{what}: skipped {} (criterion's relative change)",
                shown.display()
            ));
            continue;
        };
        explain.push(format!(
            "{what}: read {} ({}, {} benchmarks)",
            shown.display(),
            format.name(),
            samples.len()
        ));
        for sample in samples {
            if let Some(first) = out.get(&sample.name) {
                return Err(Error::Evidence {
                    path: shown,
                    line: None,
                    message: format!(
                        "benchmark {:?} is also in {} (criterion keeps new/ and base/: match only …/new/estimates.json)",
                        sample.name,
                        first.file.display()
                    ),
                });
            }
            out.insert(
                sample.name.clone(),
                Located {
                    sample,
                    file: shown.clone(),
                },
            );
        }
    }
    Ok(out)
}

/// One benchmark against its baseline.
#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    name: String,
    baseline: f64,
    current: f64,
    unit: Unit,
    /// Positive: worse than the baseline, in percent of it (two decimals).
    regression: f64,
    /// The statistical comparison, when one was made.
    stat: Option<Stat>,
    /// `method: statistical` without the spread on both sides: cannot tell.
    undecided: bool,
}

/// A ratio worse/better (above 1: a regression) with its confidence interval.
#[derive(Debug, Clone, PartialEq)]
struct Stat {
    ratio: Ratio,
    how: How,
}

#[derive(Debug, Clone, PartialEq)]
enum How {
    /// Hodges–Lehmann with the Mann–Whitney interval, over this many runs a side.
    Ranks { current: usize, baseline: usize },
    /// Normal interval from standard errors of the means.
    Errors,
}

impl Stat {
    /// Percent worse at the interval's lower end: what must exceed the limit.
    fn low(&self) -> f64 {
        percent(self.ratio.low)
    }

    fn describe(&self, confidence: f64) -> String {
        let level = confidence * 100.0;
        let how = match &self.how {
            How::Ranks { current, baseline } => {
                format!("Hodges–Lehmann, Mann–Whitney interval over {current}/{baseline} runs")
            }
            How::Errors => "from the means' standard errors".to_string(),
        };
        format!(
            "{:+.2}%, {level}% CI {:+.2}% … {:+.2}%, {how}",
            percent(self.ratio.estimate),
            percent(self.ratio.low),
            percent(self.ratio.high)
        )
    }
}

/// `1.1` → `10.0` (percent worse), two decimals.
fn percent(ratio: f64) -> f64 {
    ((ratio - 1.0) * 100.0 * 100.0).round() / 100.0
}

/// The statistical comparison both sides allow, if any.
fn statistic(c: &Sample, b: &Sample, confidence: f64) -> Option<Stat> {
    let se = |s: &Sample| match &s.spread {
        Spread::StdError(se) => Some(*se),
        Spread::Samples(v) if v.len() >= 2 => {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            Some((var / n).sqrt())
        }
        _ => None,
    };
    let (ratio, how) = match (&c.spread, &b.spread) {
        (Spread::Samples(cs), Spread::Samples(bs)) => (
            stats::ratio_by_ranks(cs, bs, confidence)?,
            How::Ranks {
                current: cs.len(),
                baseline: bs.len(),
            },
        ),
        _ => (
            stats::ratio_by_errors(c.value, se(c)?, b.value, se(b)?, confidence)?,
            How::Errors,
        ),
    };
    let ratio = if c.lower_is_better {
        ratio
    } else {
        ratio.inverse()
    };
    Some(Stat { ratio, how })
}

fn compare(
    spec: &config::BenchmarkGate,
    cur: &Located,
    base: &Located,
) -> Result<Comparison, Error> {
    let (c, b) = (&cur.sample, &base.sample);
    let located = |message: String| Error::Evidence {
        path: cur.file.clone(),
        line: None,
        message,
    };
    if c.unit != b.unit {
        return Err(located(format!(
            "{}: unit {} here, {} in the baseline {}",
            c.name,
            unit_name(&c.unit),
            unit_name(&b.unit),
            base.file.display()
        )));
    }
    if b.value == 0.0 {
        return Err(Error::Evidence {
            path: base.file.clone(),
            line: None,
            message: format!(
                "{}: baseline value 0, a relative change is undefined",
                b.name
            ),
        });
    }
    // Multiplying before dividing keeps round numbers exact: 110 against 100 is 10%, not
    // 10.000000000000002%, so a limit of 10 holds at its boundary.
    let worse = if c.lower_is_better {
        c.value - b.value
    } else {
        b.value - c.value
    };
    let mean_regression = (worse * 100.0 / b.value * 100.0).round() / 100.0;
    let stat = match spec.method {
        config::BenchmarkMethod::Mean => None,
        _ => statistic(c, b, spec.confidence),
    };
    Ok(Comparison {
        name: c.name.clone(),
        baseline: b.value,
        current: c.value,
        unit: c.unit.clone(),
        regression: stat
            .as_ref()
            .map_or(mean_regression, |s| percent(s.ratio.estimate)),
        undecided: stat.is_none() && spec.method == config::BenchmarkMethod::Statistical,
        stat,
    })
}

fn judge(
    spec: &config::BenchmarkGate,
    current: &BTreeMap<String, Located>,
    baseline: &BTreeMap<String, Located>,
    first_release: bool,
) -> Result<Finding, Error> {
    let mut compared = Vec::new();
    let mut only_current = Vec::new();
    for (name, cur) in current {
        match baseline.get(name) {
            Some(base) => compared.push(compare(spec, cur, base)?),
            None => only_current.push(name.clone()),
        }
    }
    let only_baseline: Vec<String> = baseline
        .keys()
        .filter(|n| !current.contains_key(*n))
        .cloned()
        .collect();
    compared.sort_by(|a, b| {
        b.regression
            .total_cmp(&a.regression)
            .then(a.name.cmp(&b.name))
    });
    let over: Vec<&Comparison> = compared.iter().filter(|c| is_over(spec, c)).collect();
    let undecided: Vec<&str> = compared
        .iter()
        .filter(|c| c.undecided)
        .map(|c| c.name.as_str())
        .collect();
    let worst = compared.first().map(|c| c.regression);
    let unmatched = spec.require_baseline && !(only_current.is_empty() && only_baseline.is_empty());

    let mut problems = Vec::new();
    if !over.is_empty() {
        let names: Vec<String> = over
            .iter()
            .take(3)
            .map(|c| format!("{} {:+.2}%", c.name, c.regression))
            .collect();
        let more = if over.len() > 3 { ", …" } else { "" };
        let sure = if over.iter().any(|c| c.stat.is_some()) {
            format!(" (at {}% confidence)", spec.confidence * 100.0)
        } else {
            String::new()
        };
        problems.push(format!(
            "{} of {} benchmarks regressed more than {}%{sure}: {}{more}",
            over.len(),
            compared.len(),
            spec.max_regression,
            names.join(", ")
        ));
    }
    if !undecided.is_empty() {
        let more = if undecided.len() > 3 { ", …" } else { "" };
        let names: Vec<&str> = undecided.iter().take(3).copied().collect();
        problems.push(format!(
            "cannot tell whether {} regressed: no samples or standard errors on both sides \
             (method: statistical): {}{more}",
            crate::evidence::report_text::count(undecided.len() as u64, "benchmark"),
            names.join(", ")
        ));
    }
    if unmatched {
        problems.push(format!(
            "{} without a baseline, {} baseline benchmarks missing (require_baseline)",
            only_current.len(),
            only_baseline.len()
        ));
    }
    // Nothing compared is nothing known: the gate cannot tell, so it does not pass.
    let blind = compared.is_empty() && !first_release;
    let reason = if !problems.is_empty() {
        problems.join("; ")
    } else if compared.is_empty() && first_release {
        format!(
            "first release: no earlier results to compare {} benchmarks with",
            current.len()
        )
    } else if blind {
        format!(
            "no baseline to compare {} benchmarks with: cannot tell whether they regressed",
            current.len()
        )
    } else {
        let worst = &compared[0];
        format!(
            "{} benchmarks within {}% of the baseline (worst: {} {:+.2}%)",
            compared.len(),
            spec.max_regression,
            worst.name,
            worst.regression
        )
    };
    let mut finding = Finding::check(problems.is_empty() && !blind, reason);
    finding.evidence = evidence(spec, &compared, &only_current, &only_baseline);
    let by_stats = compared.iter().filter(|c| c.stat.is_some()).count();
    if spec.method != config::BenchmarkMethod::Mean && !compared.is_empty() {
        let rest = if spec.method == config::BenchmarkMethod::Statistical {
            "undecided"
        } else {
            "by their means"
        };
        finding.explain.push(format!(
            "{by_stats} of {} compared with statistics at {}% confidence; {} {rest} (no \
             samples or standard errors on both sides, or too few samples)",
            compared.len(),
            spec.confidence * 100.0,
            compared.len() - by_stats
        ));
    }
    finding.facts = json!({
        "benchmarks": compared.len(),
        "worst_regression_percent": worst,
        "method": method_name(spec.method),
        "confidence": spec.confidence,
        "statistical": compared.iter().filter(|c| c.stat.is_some()).count(),
        "undecided": undecided,
        "regressions": over.iter().map(|c| {
            let mut r = json!({
                "name": c.name,
                "baseline": c.baseline,
                "current": c.current,
                "unit": unit_name(&c.unit),
                "percent": c.regression,
            });
            if let Some(s) = &c.stat {
                r["ci_low_percent"] = json!(percent(s.ratio.low));
                r["ci_high_percent"] = json!(percent(s.ratio.high));
            }
            r
        }).collect::<Vec<_>>(),
        "without_baseline": only_current,
        "missing": only_baseline,
    });
    Ok(finding)
}

fn evidence(
    spec: &config::BenchmarkGate,
    compared: &[Comparison],
    only_current: &[String],
    only_baseline: &[String],
) -> Vec<String> {
    let line = |c: &Comparison| {
        let mark = if is_over(spec, c) {
            " (over the limit)"
        } else if c.undecided {
            " (cannot tell: no samples)"
        } else if c
            .stat
            .as_ref()
            .is_some_and(|_| c.regression > spec.max_regression)
        {
            " (not significant)"
        } else {
            ""
        };
        let (base, cur) = show_pair(c.baseline, c.current, &c.unit);
        match &c.stat {
            Some(s) => format!(
                "{}: mean {base} → {cur}; {}{mark}",
                c.name,
                s.describe(spec.confidence)
            ),
            None => format!("{}: {base} → {cur} ({:+.2}%){mark}", c.name, c.regression),
        }
    };
    let mut out: Vec<String> = compared
        .iter()
        .filter(|c| c.regression > 0.0)
        .take(EVIDENCE_ITEMS)
        .map(line)
        .collect();
    out.extend(
        compared
            .iter()
            .rev()
            .filter(|c| c.regression < 0.0)
            .take(EVIDENCE_ITEMS)
            .map(line),
    );
    let list = |names: &[String]| {
        let shown: Vec<&str> = names
            .iter()
            .take(EVIDENCE_ITEMS)
            .map(String::as_str)
            .collect();
        let more = if names.len() > EVIDENCE_ITEMS {
            ", …"
        } else {
            ""
        };
        format!("{}{more}", shown.join(", "))
    };
    if !only_current.is_empty() {
        out.push(format!("not in the baseline: {}", list(only_current)));
    }
    if !only_baseline.is_empty() {
        out.push(format!("in the baseline only: {}", list(only_baseline)));
    }
    out
}

/// Over the limit: by the interval's lower end where statistics were made, else by the mean.
fn is_over(spec: &config::BenchmarkGate, c: &Comparison) -> bool {
    match &c.stat {
        Some(s) => s.low() > spec.max_regression,
        None => !c.undecided && c.regression > spec.max_regression,
    }
}

fn method_name(m: config::BenchmarkMethod) -> &'static str {
    match m {
        config::BenchmarkMethod::Auto => "auto",
        config::BenchmarkMethod::Statistical => "statistical",
        config::BenchmarkMethod::Mean => "mean",
    }
}

fn unit_name(unit: &Unit) -> String {
    match unit {
        Unit::Nanos => "ns".into(),
        Unit::Other(u) => u.clone(),
    }
}

/// Both values in the unit readable for the baseline (`812 µs → 1015 µs`, not `→ 1.01 ms`),
/// so the two read side by side.
fn show_pair(baseline: f64, current: f64, unit: &Unit) -> (String, String) {
    match unit {
        Unit::Nanos => {
            let (div, u) = if baseline >= 1e9 {
                (1e9, "s")
            } else if baseline >= 1e6 {
                (1e6, "ms")
            } else if baseline >= 1e3 {
                (1e3, "µs")
            } else {
                (1.0, "ns")
            };
            let f = |v: f64| format!("{} {u}", significant(v / div));
            (f(baseline), f(current))
        }
        Unit::Other(u) => {
            let f = |v: f64| {
                if u.is_empty() {
                    significant(v)
                } else {
                    format!("{} {u}", significant(v))
                }
            };
            (f(baseline), f(current))
        }
    }
}

fn significant(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests;
