//! Cobertura XML (coverage.py `coverage xml`, cargo-llvm-cov `--cobertura`, gcovr, Istanbul).
//!
//! Only `<class>/<lines>/<line>` counts: `<method>` repeats its class's lines, and counting
//! both would double every method line.

use std::collections::BTreeMap;

use relman_core::Error;

use super::model::{Coverage, Ctx, FileCov, LineCov};
use super::xml::Item;

/// Reading state; fed by the XML stream once the root turned out to be `<coverage>`.
#[derive(Debug, Default)]
pub(super) struct Parser {
    sources: Vec<String>,
    by_name: BTreeMap<String, FileCov>,
    /// Text of the `<source>` being read; quick-xml hands `a&amp;b` over in three pieces.
    source: Option<String>,
    class: Option<String>,
    method_depth: usize,
}

impl Parser {
    pub(super) fn on(&mut self, cx: &Ctx, item: Item<'_>, line: usize) -> Result<(), Error> {
        match item {
            Item::Open { name, attrs, empty } => match name {
                b"source" => self.source = (!empty).then(String::new),
                b"class" => {
                    let file = attrs.require(cx, "class", "filename")?;
                    // Registered even without lines: an empty `__init__.py` is still a file the
                    // report covers.
                    self.by_name.entry(file.clone()).or_default();
                    self.class = (!empty).then_some(file);
                }
                b"method" if !empty => self.method_depth += 1,
                b"line" if self.method_depth == 0 => {
                    let Some(file) = &self.class else {
                        return Ok(());
                    };
                    let nr = number(cx, line, "number", &attrs.require(cx, "line", "number")?)?;
                    let hits = number(cx, line, "hits", &attrs.require(cx, "line", "hits")?)?;
                    let branch = attrs.get(cx, "branch")?.is_some_and(|b| b == "true");
                    let branches = match attrs.get(cx, "condition-coverage")? {
                        Some(c) if branch => Some(condition(cx, line, &c)?),
                        _ => None,
                    };
                    if let Ok(n) = u32::try_from(nr)
                        && n > 0
                    {
                        let f = self.by_name.entry(file.clone()).or_default();
                        f.add(n, LineCov { hits, branches });
                    }
                }
                _ => {}
            },
            Item::Close { name } => match name {
                b"source" => {
                    if let Some(source) = self.source.take() {
                        self.sources.push(source.trim().to_owned());
                    }
                }
                b"class" => self.class = None,
                b"method" => self.method_depth = self.method_depth.saturating_sub(1),
                _ => {}
            },
            Item::Text(text) => {
                if let Some(source) = &mut self.source {
                    source.push_str(&text);
                }
            }
        }
        Ok(())
    }

    pub(super) fn finish(self, cx: &Ctx) -> Coverage {
        let mut cov = Coverage::default();
        for (name, file) in self.by_name {
            cov.file(locate(cx, &self.sources, &name)).merge(file);
        }
        cov
    }
}

/// The repository path of a `filename`: joined to the first `<source>` under which it exists,
/// else to the first source inside the repository, else as written.
fn locate(cx: &Ctx, sources: &[String], filename: &str) -> String {
    let direct = cx.repo_path(filename);
    if direct.starts_with('/') {
        return direct;
    }
    let inside = |p: &String| !p.starts_with('/') && !p.starts_with("..");
    let candidates: Vec<String> = sources
        .iter()
        .map(|s| cx.repo_path(&format!("{}/{filename}", s.trim_end_matches(['/', '\\']))))
        .filter(inside)
        .collect();
    if cx.root.join(&direct).is_file() {
        return direct;
    }
    candidates
        .iter()
        .find(|c| cx.root.join(c).is_file())
        .or(candidates.first())
        .cloned()
        .unwrap_or(direct)
}

fn number(cx: &Ctx, line: usize, what: &str, value: &str) -> Result<u64, Error> {
    let v = value.trim();
    v.parse::<u64>()
        .or_else(|_| {
            // Some generators write counts as `1.0`.
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
                .ok_or(())
        })
        .map_err(|_| cx.error(Some(line), format!("{what}={value:?} is not a count")))
}

/// `50% (1/2)` → (1, 2).
fn condition(cx: &Ctx, line: usize, value: &str) -> Result<(u64, u64), Error> {
    let bad = || {
        cx.error(
            Some(line),
            format!("condition-coverage={value:?}, expected `50% (1/2)`"),
        )
    };
    let inner = value
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or_else(bad)?;
    let (c, t) = inner.split_once('/').ok_or_else(bad)?;
    let c: u64 = c.trim().parse().map_err(|_| bad())?;
    let t: u64 = t.trim().parse().map_err(|_| bad())?;
    Ok((c.min(t), t))
}
