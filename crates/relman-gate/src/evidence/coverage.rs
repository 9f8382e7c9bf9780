//! The `coverage` gate: line and branch coverage overall and of the changed lines, from
//! Cobertura XML, LCOV and JaCoCo XML reports (format told by content, several merged).

mod changed;
mod cobertura;
mod jacoco;
mod lcov;
mod model;
mod read;
mod xml;

use relman_core::Error;
use relman_core::config;
use serde_json::json;

use self::changed::Changed;
use self::model::{Coverage, percent};
use crate::evidence::files;
use crate::{Context, Finding, Status};

/// How many changed files the evidence names, worst first.
const EVIDENCE_FILES: usize = 10;

/// Evaluates the gate.
pub fn evaluate(spec: &config::CoverageGate, cx: &Context) -> Result<Finding, Error> {
    let paths = files::find(&cx.root, &spec.paths)?;
    if paths.is_empty() {
        let mut f = Finding::new(
            Status::Fail,
            format!("no coverage report matches {}", spec.paths.join(", ")),
        );
        f.explain.push(format!(
            "searched {:?} under {}",
            spec.paths,
            cx.root.display()
        ));
        return Ok(f);
    }
    let mut cov = Coverage::default();
    let mut explain = Vec::new();
    for path in &paths {
        let (format, report) = read::read(path, &cx.root)?;
        explain.push(format!(
            "read {} ({}, {} files)",
            files::relative(&cx.root, path),
            format.name(),
            report.files.len()
        ));
        cov.merge(report);
    }
    let changed = Changed::of(&cov, &cx.change);
    let mut finding = judge(spec, &cov, &changed);
    explain.push(format!(
        "changed files with added lines: {} in the report ({} executable changed lines), {} not in it",
        changed.found,
        changed.totals().1,
        changed.missing.len()
    ));
    finding.explain = explain;
    Ok(finding)
}

/// The verdict from merged coverage and the change's lines.
fn judge(spec: &config::CoverageGate, cov: &Coverage, changed: &Changed) -> Finding {
    let (lines_covered, lines_total) = cov
        .files
        .values()
        .map(|f| f.line_totals())
        .fold((0, 0), |(c, t), (fc, ft)| (c + fc, t + ft));
    let branch_totals = cov
        .files
        .values()
        .filter_map(|f| f.branch_totals())
        .reduce(|(c, t), (fc, ft)| (c.saturating_add(fc), t.saturating_add(ft)));
    let (changed_covered, changed_total) = changed.totals();
    let line = percent(lines_covered, lines_total);
    let branch = branch_totals.and_then(|(c, t)| percent(c, t));
    let changed_line = percent(changed_covered, changed_total);

    let mut failed = Vec::new();
    let mut passed = Vec::new();
    let mut check = |what: &str, value: Option<f64>, min: Option<f64>, none: &str| {
        let Some(min) = min else { return };
        match value {
            Some(v) if v >= min => passed.push(format!("{what} {v:.2}% (min {min}%)")),
            Some(v) => failed.push(format!("{what} {v:.2}% below {min}%")),
            None if what == "changed lines" => passed.push(format!("{what}: {none}")),
            None => failed.push(format!("{what}: {none} (min {min}%)")),
        }
    };
    check(
        "line coverage",
        line,
        spec.min_line,
        "no executable lines in the reports",
    );
    check(
        "branch coverage",
        branch,
        spec.min_branch,
        "no branch data in the reports",
    );
    check(
        "changed lines",
        changed_line,
        spec.min_changed_line,
        "no executable changed lines",
    );

    let ok = failed.is_empty();
    let reason = if failed.is_empty() && passed.is_empty() {
        format!(
            "line coverage {} (no minimum set)",
            line.map_or("n/a".into(), |v| format!("{v:.2}%"))
        )
    } else {
        failed
            .iter()
            .chain(&passed)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut finding = Finding::check(ok, reason);
    finding.facts = json!({
        "line": line,
        "branch": branch,
        "changed_line": changed_line,
        "lines_total": lines_total,
        "lines_covered": lines_covered,
        "branches_total": branch_totals.map(|(_, t)| t),
        "branches_covered": branch_totals.map(|(c, _)| c),
        "changed_lines_total": changed_total,
        "changed_lines_covered": changed_covered,
        "files": cov.files.len(),
    });
    finding.evidence = evidence(changed);
    finding.annotations = changed.annotations();
    finding
}

fn evidence(changed: &Changed) -> Vec<String> {
    let mut out: Vec<String> = changed
        .least_covered()
        .into_iter()
        .take(EVIDENCE_FILES)
        .map(|f| {
            let ranges: Vec<String> = f
                .uncovered
                .iter()
                .take(5)
                .map(|&(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            let more = if f.uncovered.len() > 5 { ", …" } else { "" };
            format!(
                "{}: {}/{} changed lines covered ({:.1}%), uncovered: {}{more}",
                f.path,
                f.covered,
                f.total,
                f.covered as f64 * 100.0 / f.total as f64,
                ranges.join(", ")
            )
        })
        .collect();
    for path in changed.missing.iter().take(EVIDENCE_FILES) {
        out.push(format!("{path}: not in the coverage report"));
    }
    if changed.missing.len() > EVIDENCE_FILES {
        out.push(format!(
            "… and {} more changed files not in the coverage report",
            changed.missing.len() - EVIDENCE_FILES
        ));
    }
    out
}

#[cfg(test)]
mod tests;
