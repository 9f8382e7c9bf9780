//! The `sarif` gate: results of any SARIF 2.1.0 scanner against per-level and
//! security-severity limits, with an expiring allow-list.

mod allow;
mod model;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use relman_core::Error;
use relman_core::config;
use serde_json::json;

use self::allow::AllowList;
use self::model::{Level, Log, Rule, Run, SarifResult};
use crate::evidence::files;
use crate::evidence::report_text::{
    MAX_LISTED, check_head, count, evidence, grouped, open, repo_path,
};
use crate::finding::{Annotation, AnnotationLevel, MAX_ANNOTATIONS};
use crate::{Context, Finding};

/// Security-severity bands as GitHub code scanning draws them, highest first.
const BANDS: [(&str, f64); 4] = [
    ("critical", 9.0),
    ("high", 7.0),
    ("medium", 4.0),
    ("low", f64::MIN_POSITIVE),
];

/// Evaluates the gate over every SARIF file matching `spec.paths`.
pub fn evaluate(spec: &config::SarifGate, cx: &Context) -> Result<Finding, Error> {
    let limits = Limits::new(spec)?;
    let allow = AllowList::new(&spec.allow, cx.now)?;
    let paths = files::find(&cx.root, &spec.paths)?;
    let mut tally = Tally::new(allow);
    let mut explain = Vec::with_capacity(paths.len());
    for path in &paths {
        let before = (tally.counted, tally.allowed, tally.suppressed);
        let log = read(path)?;
        for run in &log.runs {
            tally.run(cx, run);
        }
        explain.push(format!(
            "read {}: {} counted, {} allowed, {} suppressed",
            files::relative(&cx.root, path),
            count(tally.counted - before.0, "result"),
            grouped(tally.allowed - before.1),
            grouped(tally.suppressed - before.2),
        ));
    }
    if paths.is_empty() {
        let patterns = spec.paths.join(", ");
        let mut f = Finding::check(false, format!("no SARIF files match {patterns}"));
        f.explain.push(format!("no file matches {patterns}"));
        f.facts = tally.facts(0);
        return Ok(f);
    }
    Ok(tally.finding(&limits, paths.len(), explain))
}

/// Parses one file, streaming from disk: memory follows the results kept, not the file.
fn read(path: &Path) -> Result<Log, Error> {
    let mut input = open(path)?;
    check_head(path, &mut input, "SARIF log")?;
    serde_json::from_reader(input).map_err(|e| {
        let line = (e.line() > 0).then_some(e.line());
        let what = if e.is_eof() {
            "truncated JSON"
        } else if e.is_syntax() {
            "not valid JSON"
        } else {
            "not a SARIF 2.1.0 log"
        };
        evidence(path, line, format!("{what}: {e}"))
    })
}

struct Limits {
    level: Vec<(Level, u64)>,
    security: Vec<(&'static str, u64)>,
}

impl Limits {
    fn new(spec: &config::SarifGate) -> Result<Self, Error> {
        let mut level = Vec::new();
        if spec.max_level.is_empty() {
            level.push((Level::Error, 0));
        }
        for (name, max) in &spec.max_level {
            let l = Level::ALL
                .into_iter()
                .find(|l| l.as_str() == name)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "sarif: max_level: unknown level {name:?} (error, warning, note, none)"
                    ))
                })?;
            level.push((l, *max));
        }
        let mut security = Vec::new();
        for (name, max) in &spec.max_security {
            let band = BANDS.iter().find(|(b, _)| b == name).ok_or_else(|| {
                Error::Usage(format!(
                    "sarif: max_security: unknown band {name:?} (critical, high, medium, low)"
                ))
            })?;
            security.push((band.0, *max));
        }
        Ok(Limits { level, security })
    }
}

/// A counted or allowed result, kept for the evidence and annotations.
#[derive(Debug)]
struct Kept {
    tool: String,
    rule: String,
    level: Level,
    file: Option<String>,
    line: Option<u32>,
    message: String,
    /// Why it is allowed (`until …: reason`), for allowed results.
    allowed: Option<String>,
    /// Its security severity score (CVSS-like), when the tool gave one.
    security: Option<f64>,
}

impl Kept {
    /// Worst first: level, then security severity; `Less` is worse.
    fn worse(&self, other: &Kept) -> std::cmp::Ordering {
        other.level.cmp(&self.level).then_with(|| {
            other
                .security
                .unwrap_or(-1.0)
                .total_cmp(&self.security.unwrap_or(-1.0))
        })
    }

    fn describe(&self) -> String {
        let mut s = format!("{} {}", self.level.as_str(), self.rule);
        if let Some(file) = &self.file {
            s.push_str(&format!(" at {file}"));
            if let Some(line) = self.line {
                s.push_str(&format!(":{line}"));
            }
        }
        if !self.message.is_empty() {
            s.push_str(&format!(": {}", self.message));
        }
        s
    }
}

struct Tally {
    allow: AllowList,
    counted: u64,
    allowed: u64,
    suppressed: u64,
    by_level: BTreeMap<Level, u64>,
    by_security: HashMap<&'static str, u64>,
    kept: Vec<Kept>,
    kept_allowed: Vec<Kept>,
}

/// What a rule contributes to its results.
#[derive(Clone, Copy, Default)]
struct RuleMeta<'a> {
    id: Option<&'a str>,
    level: Option<Level>,
    security: Option<f64>,
}

impl<'a> RuleMeta<'a> {
    fn of(rule: &'a Rule) -> Self {
        let props = rule.properties.as_ref();
        let problem = props
            .and_then(|p| p.problem_severity.as_deref())
            .and_then(|s| match s {
                "error" => Some(Level::Error),
                "warning" => Some(Level::Warning),
                "recommendation" => Some(Level::Note),
                _ => None,
            });
        RuleMeta {
            id: Some(rule.id.as_str()).filter(|s| !s.is_empty()),
            level: rule
                .default_configuration
                .as_ref()
                .and_then(|c| c.level)
                .or(problem),
            security: props.and_then(|p| p.security_severity),
        }
    }
}

impl Tally {
    fn new(allow: AllowList) -> Self {
        Tally {
            allow,
            counted: 0,
            allowed: 0,
            suppressed: 0,
            by_level: Level::ALL.iter().map(|l| (*l, 0)).collect(),
            by_security: BANDS.iter().map(|(b, _)| (*b, 0)).collect(),
            kept: Vec::new(),
            kept_allowed: Vec::new(),
        }
    }

    fn run<'r>(&mut self, cx: &Context, run: &'r Run) {
        let driver = &run.tool.driver;
        let extensions = run.tool.extensions.as_deref().unwrap_or_default();
        let by_id: HashMap<&str, &Rule> = std::iter::once(driver)
            .chain(extensions)
            .flat_map(|c| c.rules.as_deref().unwrap_or_default())
            .map(|r| (r.id.as_str(), r))
            .collect();
        let lookup = |r: &'r SarifResult| -> RuleMeta<'r> {
            let reference = r.rule.as_ref();
            let index = reference.and_then(|x| x.index).or(r.rule_index);
            let component = reference
                .and_then(|x| x.tool_component.as_ref())
                .and_then(|c| c.index)
                .and_then(|i| extensions.get(i))
                .unwrap_or(driver);
            let id = r
                .rule_id
                .as_deref()
                .or_else(|| reference.and_then(|x| x.id.as_deref()));
            let rule = index
                .and_then(|i| component.rules.as_deref().unwrap_or_default().get(i))
                .or_else(|| id.and_then(|id| by_id.get(id).copied()));
            let mut meta = rule.map(RuleMeta::of).unwrap_or_default();
            meta.id = id.or(meta.id);
            meta
        };
        for r in run.results.as_deref().unwrap_or_default() {
            if r.kind.as_deref().is_some_and(|k| k != "fail") {
                continue;
            }
            let suppressions = r.suppressions.as_deref().unwrap_or_default();
            if suppressions
                .iter()
                .any(|s| s.status.as_deref().is_none_or(|s| s == "accepted"))
            {
                self.suppressed += 1;
                continue;
            }
            let meta = lookup(r);
            let level = r.level.or(meta.level).unwrap_or(Level::Warning);
            let security = r
                .properties
                .as_ref()
                .and_then(|p| p.security_severity)
                .or(meta.security);
            let (file, line) = location(cx, run, r);
            let rule = meta.id.unwrap_or("(no rule id)");
            let kept = |allowed| Kept {
                tool: driver.name.clone(),
                rule: rule.to_string(),
                level,
                file: file.clone(),
                line,
                message: r
                    .message
                    .text
                    .clone()
                    .or_else(|| r.message.id.as_ref().map(|id| format!("(message {id})")))
                    .unwrap_or_default(),
                allowed,
                security,
            };
            if let Some(why) = self.allow.allows(rule, file.as_deref()) {
                self.allowed += 1;
                if self.kept_allowed.len() < MAX_LISTED {
                    self.kept_allowed.push(kept(Some(why)));
                }
                continue;
            }
            self.counted += 1;
            *self.by_level.entry(level).or_default() += 1;
            if let Some(band) = security.and_then(band) {
                *self.by_security.entry(band).or_default() += 1;
            }
            // Keep the worst results, not the first ones in file order: the evidence shown is
            // the evidence that failed (1 error among 1,000 warnings is listed).
            let new = kept(None);
            if self.kept.len() < MAX_ANNOTATIONS.max(MAX_LISTED) {
                self.kept.push(new);
            } else if let Some((i, least)) = self
                .kept
                .iter()
                .enumerate()
                .max_by(|(_, a), (_, b)| a.worse(b))
                && new.worse(least) == std::cmp::Ordering::Less
            {
                self.kept[i] = new;
            }
        }
    }

    fn facts(&self, files: usize) -> serde_json::Value {
        let by_level: serde_json::Map<_, _> = self
            .by_level
            .iter()
            .map(|(l, n)| (l.as_str().to_string(), json!(n)))
            .collect();
        let by_security: serde_json::Map<_, _> = BANDS
            .iter()
            .map(|(b, _)| {
                (
                    b.to_string(),
                    json!(self.by_security.get(b).copied().unwrap_or(0)),
                )
            })
            .collect();
        json!({
            "results": self.counted,
            "by_level": by_level,
            "by_security": by_security,
            "allowed": self.allowed,
            "suppressed": self.suppressed,
            "files": files,
        })
    }

    fn finding(mut self, limits: &Limits, files: usize, explain: Vec<String>) -> Finding {
        // Worst first; stable, so equally severe results keep their order in the files.
        self.kept.sort_by(|a, b| a.worse(b));
        let mut over = Vec::new();
        let mut within = Vec::new();
        for (level, max) in &limits.level {
            let n = self.by_level.get(level).copied().unwrap_or(0);
            let part = format!("{} {} (max {})", grouped(n), level.as_str(), grouped(*max));
            if n > *max { &mut over } else { &mut within }.push(part);
        }
        for (band, max) in &limits.security {
            let n = self.by_security.get(band).copied().unwrap_or(0);
            let part = format!("{} {band} (max {})", grouped(n), grouped(*max));
            if n > *max { &mut over } else { &mut within }.push(part);
        }
        let ok = over.is_empty();
        let mut reason = format!(
            "{}: {}",
            count(self.counted, "result"),
            if ok {
                within.join(", ")
            } else {
                over.join(", ")
            }
        );
        if self.allowed > 0 {
            reason.push_str(&format!(", {} allowed", grouped(self.allowed)));
        }
        let expired = self.allow.expired_hits();
        for (entry, hits) in &expired {
            reason.push_str(&format!(
                "; allow-list entry for {} expired on {} ({} counted again)",
                entry.rule,
                entry.until,
                count(*hits, "result")
            ));
        }
        let mut f = Finding::check(ok, reason);
        f.facts = self.facts(files);
        f.explain = explain;
        for k in self.kept.iter().take(MAX_LISTED) {
            f.evidence.push(k.describe());
        }
        if self.counted > MAX_LISTED as u64 {
            f.evidence.push(format!(
                "… and {} more results",
                grouped(self.counted - MAX_LISTED as u64)
            ));
        }
        for k in &self.kept_allowed {
            let why = k.allowed.as_deref().unwrap_or_default();
            f.evidence.push(format!("allowed {} ({why})", k.describe()));
        }
        if self.allowed > self.kept_allowed.len() as u64 {
            f.evidence.push(format!(
                "… and {} more allowed",
                grouped(self.allowed - self.kept_allowed.len() as u64)
            ));
        }
        for entry in self.allow.expired() {
            f.evidence.push(format!(
                "allow-list entry for {} expired on {} ({})",
                entry.rule, entry.until, entry.reason
            ));
        }
        for k in self.kept.iter().take(MAX_ANNOTATIONS) {
            f.annotations.push(Annotation {
                level: match k.level {
                    Level::Error => AnnotationLevel::Error,
                    Level::Warning => AnnotationLevel::Warning,
                    Level::Note | Level::None => AnnotationLevel::Notice,
                },
                file: k.file.clone(),
                line: k.line,
                title: if k.tool.is_empty() {
                    k.rule.clone()
                } else {
                    format!("{}: {}", k.tool, k.rule)
                },
                message: if k.message.is_empty() {
                    k.rule.clone()
                } else {
                    k.message.clone()
                },
            });
        }
        f
    }
}

fn band(score: f64) -> Option<&'static str> {
    BANDS.iter().find(|(_, min)| score >= *min).map(|(b, _)| *b)
}

/// The result's first location as a repository path and line. A relative URI with a
/// `uriBaseId` is resolved against the run's `originalUriBaseIds` when it names an absolute
/// base (then made relative to the root again), else taken as relative to the root.
fn location(cx: &Context, run: &Run, r: &SarifResult) -> (Option<String>, Option<u32>) {
    let Some(physical) = r.locations.as_ref().and_then(|l| l.physical.as_ref()) else {
        return (None, None);
    };
    let line = physical.region.as_ref().and_then(|r| r.start_line);
    let Some(artifact) = physical.artifact.as_ref() else {
        return (None, line);
    };
    let Some(uri) = artifact.uri.as_deref() else {
        return (None, line);
    };
    let uri = percent_decode(uri);
    let bases = || {
        run.uri_bases
            .iter()
            .flatten()
            .filter_map(|(_, b)| b.uri.as_deref()?.strip_prefix("file://"))
            .map(percent_decode)
    };
    let abs = uri.strip_prefix("file://").unwrap_or(&uri);
    let path = if abs.starts_with('/') {
        // Outside the root, an absolute path is made relative to the scanner's source root.
        let under_root = Path::new(abs).starts_with(&cx.root);
        let base = bases().find(|b| !under_root && abs.starts_with(b.as_str()));
        match base {
            Some(b) => repo_path(&cx.root, &abs[b.len()..]),
            None => repo_path(&cx.root, abs),
        }
    } else {
        // A base inside the root (a monorepo package scanned alone) prefixes the path.
        let base = artifact
            .uri_base_id
            .as_deref()
            .and_then(|id| run.uri_bases.as_ref()?.get(id)?.uri.as_deref())
            .and_then(|b| b.strip_prefix("file://"))
            .map(percent_decode)
            .filter(|b| Path::new(b).starts_with(&cx.root));
        match base {
            Some(b) => repo_path(&cx.root, &format!("{}/{uri}", b.trim_end_matches('/'))),
            None => repo_path(&cx.root, &uri),
        }
    };
    (Some(path), line)
}

/// `%20` → ` `: URIs in SARIF are percent-encoded, paths in annotations are not.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "tests/sarif.rs"]
mod tests;
