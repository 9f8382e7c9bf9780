//! The `junit` gate: failed, errored and skipped tests across JUnit XML reports.
//!
//! Counts come from the `<testcase>` elements, not from suite totals: reporters disagree on
//! what the totals include (pytest counts a test failing in setup and teardown twice, Jest
//! leaves `skipped` out), and a hand-edited total must not turn a failure into a pass.

mod frames;
mod locate;
mod parse;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use relman_core::Error;
use relman_core::config;
use serde_json::json;

use self::parse::{Case, Outcome};
use crate::evidence::files;
use crate::evidence::report_text::{MAX_LISTED, count, grouped};
use crate::finding::{Annotation, AnnotationLevel, MAX_ANNOTATIONS};
use crate::{Context, Finding};

/// Evaluates the gate over every report matching `spec.paths`.
pub fn evaluate(spec: &config::JunitGate, cx: &Context) -> Result<Finding, Error> {
    let flaky = spec
        .flaky
        .iter()
        .map(|p| {
            Regex::new(p)
                .map_err(|e| Error::Usage(format!("junit: invalid flaky pattern {p:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let matched = files::find(&cx.root, &spec.paths)?;
    let mut tally = Tally::default();
    let mut explain = Vec::with_capacity(matched.len() + 1);
    // A file of another known format caught by a broad glob is named, never counted: it is
    // neither a passing report nor a malformed one.
    let mut others = Vec::new();
    let mut paths = Vec::with_capacity(matched.len());
    for path in &matched {
        let before = tally.counts;
        let report_dir = path.parent().unwrap_or(&cx.root);
        if let parse::Read::Other(what) =
            parse::read(path, &mut |case| tally.add(case, &flaky, report_dir))?
        {
            let note = format!(
                "skipped {}: {what}, not a JUnit report (narrow `paths` to leave it out)",
                files::relative(&cx.root, path)
            );
            explain.push(note.clone());
            others.push(note);
            continue;
        }
        paths.push(path.clone());
        let c = tally.counts.minus(&before);
        explain.push(format!(
            "read {}: {} ({} failed, {} errors, {} skipped, {} flaky)",
            files::relative(&cx.root, path),
            count(c.tests, "test"),
            grouped(c.failures),
            grouped(c.errors),
            grouped(c.skipped),
            grouped(c.flaky),
        ));
    }
    if paths.is_empty() {
        let patterns = spec.paths.join(", ");
        let mut f = Finding::check(
            spec.min_tests == 0,
            format!("no JUnit reports match {patterns}"),
        );
        f.explain.push(format!("no file matches {patterns}"));
        f.explain.extend(explain);
        f.evidence.extend(others);
        f.facts = tally.counts.facts(0);
        return Ok(f);
    }
    let mut f = tally.finding(spec, cx, paths.len(), explain);
    f.evidence.extend(others);
    Ok(f)
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tests: u64,
    failures: u64,
    errors: u64,
    skipped: u64,
    /// Passed on a retry, or failed but tolerated by a `flaky` pattern.
    flaky: u64,
    tolerated: u64,
}

impl Counts {
    fn minus(&self, o: &Counts) -> Counts {
        Counts {
            tests: self.tests - o.tests,
            failures: self.failures - o.failures,
            errors: self.errors - o.errors,
            skipped: self.skipped - o.skipped,
            flaky: self.flaky - o.flaky,
            tolerated: self.tolerated - o.tolerated,
        }
    }

    fn passed(&self) -> u64 {
        self.tests - self.failures - self.errors - self.skipped - self.tolerated
    }

    fn facts(&self, files: usize) -> serde_json::Value {
        json!({
            "tests": self.tests,
            "tests_passed": self.passed(),
            "failures": self.failures,
            "errors": self.errors,
            "skipped": self.skipped,
            "flaky": self.flaky,
            "tolerated": self.tolerated,
            "files": files,
        })
    }
}

/// A failed test kept for the evidence and annotations (only the first few are kept).
#[derive(Debug)]
struct Kept {
    case: Case,
    outcome: Outcome,
    /// The flaky pattern that tolerated it.
    tolerated_by: Option<String>,
    /// The folder of the report it came from: tools print paths relative to where they ran.
    report_dir: PathBuf,
}

#[derive(Debug, Default)]
struct Tally {
    counts: Counts,
    failed: Vec<Kept>,
    tolerated: Vec<Kept>,
    flaky_names: Vec<String>,
}

impl Tally {
    fn add(&mut self, case: Case, flaky: &[Regex], report_dir: &Path) {
        let c = &mut self.counts;
        c.tests += 1;
        let outcome = case.outcome();
        match outcome {
            Outcome::Passed => return,
            Outcome::Skipped => {
                c.skipped += 1;
                return;
            }
            Outcome::Flaky => {
                c.flaky += 1;
                if self.flaky_names.len() < MAX_LISTED {
                    self.flaky_names.push(test_id(&case));
                }
                return;
            }
            Outcome::Failed | Outcome::Error => {}
        }
        let full = format!("{}.{}", case.classname, case.name);
        if let Some(re) = flaky
            .iter()
            .find(|re| re.is_match(&full) || re.is_match(&case.name))
        {
            c.flaky += 1;
            c.tolerated += 1;
            if self.tolerated.len() < MAX_LISTED {
                self.tolerated.push(Kept {
                    case,
                    outcome,
                    tolerated_by: Some(re.as_str().to_string()),
                    report_dir: PathBuf::new(),
                });
            }
            return;
        }
        if outcome == Outcome::Failed {
            c.failures += 1;
        } else {
            c.errors += 1;
        }
        if self.failed.len() < MAX_ANNOTATIONS.max(MAX_LISTED) {
            self.failed.push(Kept {
                case,
                outcome,
                tolerated_by: None,
                report_dir: report_dir.to_path_buf(),
            });
        }
    }

    fn finding(
        self,
        spec: &config::JunitGate,
        cx: &Context,
        files: usize,
        explain: Vec<String>,
    ) -> Finding {
        let c = self.counts;
        let over_skipped = spec.max_skipped.is_some_and(|m| c.skipped > m);
        let ok = c.failures <= spec.max_failures
            && c.errors <= spec.max_errors
            && !over_skipped
            && c.tests >= spec.min_tests;
        let mut f = Finding::check(ok, reason(spec, &c));
        f.facts = c.facts(files);
        f.explain = explain;
        let problems = c.failures + c.errors;
        let mut guesses = HashMap::new();
        let places: Vec<Place> = self
            .failed
            .iter()
            .map(|k| place(cx, k, &mut guesses))
            .collect();
        for (k, at) in self.failed.iter().zip(&places).take(MAX_LISTED) {
            let what = if k.outcome == Outcome::Failed {
                "failed"
            } else {
                "error"
            };
            f.evidence.push(line(what, &k.case, at.shown().as_deref()));
        }
        if problems > MAX_LISTED as u64 {
            f.evidence.push(format!(
                "… and {} more failed tests",
                grouped(problems - MAX_LISTED as u64)
            ));
        }
        for k in &self.tolerated {
            let by = k.tolerated_by.as_deref().unwrap_or_default();
            f.evidence.push(line(
                &format!("tolerated (flaky pattern {by:?})"),
                &k.case,
                None,
            ));
        }
        if c.tolerated > self.tolerated.len() as u64 {
            f.evidence.push(format!(
                "… and {} more tolerated",
                grouped(c.tolerated - self.tolerated.len() as u64)
            ));
        }
        for name in &self.flaky_names {
            f.evidence
                .push(format!("flaky (passed on a retry): {name}"));
        }
        let retried = c.flaky - c.tolerated;
        if retried > self.flaky_names.len() as u64 {
            f.evidence.push(format!(
                "… and {} more flaky",
                grouped(retried - self.flaky_names.len() as u64)
            ));
        }
        for (k, at) in self.failed.iter().zip(places).take(MAX_ANNOTATIONS) {
            f.annotations.push(annotation(&k.case, k.outcome, at));
        }
        f
    }
}

fn reason(spec: &config::JunitGate, c: &Counts) -> String {
    let mut s = format!(
        "{} failed, {} of {}",
        grouped(c.failures),
        count(c.errors, "error"),
        count(c.tests, "test")
    );
    if c.skipped > 0 {
        s.push_str(&format!(", {} skipped", grouped(c.skipped)));
    }
    if c.flaky > 0 {
        s.push_str(&format!(", {} flaky", grouped(c.flaky)));
    }
    s.push_str(&format!(
        " (max {} failed, {}",
        grouped(spec.max_failures),
        count(spec.max_errors, "error")
    ));
    if let Some(m) = spec.max_skipped {
        s.push_str(&format!(", {} skipped", grouped(m)));
    }
    if c.tests < spec.min_tests {
        s.push_str(&format!("; min {}", count(spec.min_tests, "test")));
    }
    s.push(')');
    s
}

fn test_id(case: &Case) -> String {
    if case.classname.is_empty() || case.name.starts_with(&case.classname) {
        case.name.clone()
    } else {
        format!("{}.{}", case.classname, case.name)
    }
}

fn line(what: &str, case: &Case, at: Option<&str>) -> String {
    let at = at.map(|a| format!(" ({a})")).unwrap_or_default();
    if case.message.is_empty() {
        format!("{what}: {}{at}", test_id(case))
    } else {
        format!("{what}: {}{at}: {}", test_id(case), case.message)
    }
}

/// Where a failed test points: the case's own `file`/`line`, else a frame of its failure text
/// that is a file of this checkout, else a file guessed from the class name (no line).
#[derive(Debug, Default)]
struct Place {
    file: Option<String>,
    line: Option<u32>,
}

impl Place {
    /// `file:line`, when both are known.
    fn shown(&self) -> Option<String> {
        Some(format!("{}:{}", self.file.as_ref()?, self.line?))
    }
}

fn place(cx: &Context, k: &Kept, guesses: &mut HashMap<String, Option<String>>) -> Place {
    let case = &k.case;
    let own = case
        .file
        .as_deref()
        .map(|f| crate::evidence::report_text::repo_path(&cx.root, f));
    if own.is_some() && case.line.is_some() {
        return Place {
            file: own,
            line: case.line,
        };
    }
    let bases = locate::bases(&cx.root, &k.report_dir, &case.classname);
    let mut frames = case
        .frames
        .iter()
        .filter_map(|fr| Some((locate::resolve(&cx.root, &bases, fr)?, fr.line)));
    // A `file` without a line (jest-junit): the line of the first frame in that file.
    let found = match &own {
        Some(own) => frames.find(|(file, _)| file == own),
        None => frames.next(),
    };
    if let Some((file, line)) = found {
        return Place {
            file: Some(file),
            line: Some(line),
        };
    }
    let file = own.or_else(|| {
        guesses
            .entry(case.classname.clone())
            .or_insert_with(|| guess_file(&cx.root, &case.classname))
            .clone()
    });
    Place {
        file,
        line: case.line,
    }
}

fn annotation(case: &Case, outcome: Outcome, at: Place) -> Annotation {
    let what = if outcome == Outcome::Failed {
        "failed"
    } else {
        "error"
    };
    Annotation {
        level: AnnotationLevel::Error,
        file: at.file,
        line: at.line,
        title: format!("test {what}: {}", test_id(case)),
        message: if case.message.is_empty() {
            format!("{} {what}", test_id(case))
        } else {
            case.message.clone()
        },
    }
}

/// A source file for a dotted class name (`tests.test_api.TestX` → `tests/test_api.py`,
/// `com.acme.FooTest` → `src/test/java/com/acme/FooTest.java`), only if it exists.
fn guess_file(root: &Path, classname: &str) -> Option<String> {
    const EXTS: [&str; 9] = ["py", "java", "kt", "scala", "ts", "js", "rb", "cs", "go"];
    const DIRS: [&str; 4] = ["", "src/test/java/", "src/test/kotlin/", "src/test/scala/"];
    if classname.is_empty() || classname.contains("..") || classname.starts_with('/') {
        return None;
    }
    if classname.contains('/') {
        return root
            .join(classname)
            .is_file()
            .then(|| classname.to_string());
    }
    let parts: Vec<&str> = classname.split('.').collect();
    for end in (1..=parts.len()).rev() {
        let stem = parts[..end].join("/");
        for dir in DIRS {
            for ext in EXTS {
                let rel = format!("{dir}{stem}.{ext}");
                if root.join(&rel).is_file() {
                    return Some(rel);
                }
            }
        }
    }
    None
}

#[cfg(test)]
#[path = "tests/junit.rs"]
mod tests;
