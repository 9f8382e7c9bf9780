//! Benchmark result files, told apart by content: criterion `estimates.json`, cargo-criterion
//! `--message-format=json` lines, hyperfine `--export-json`, and a generic
//! `{"benchmarks":[{"name","value","unit","lower_is_better"}]}`.
//!
//! Each file is parsed twice: once loosely to tell the format, then into typed structs through
//! serde_path_to_error, so a string where a number belongs is reported with its JSON path and
//! line (`results[0].mean`, line 7) rather than as a generic type error.

use std::path::{Component, Path};

use relman_core::Error;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::evidence::files;
use std::io::Read;

/// Benchmark results are read whole (JSON documents, and the lines of cargo-criterion's
/// messages): a cap far below the streamed evidence's keeps memory bounded. Real results
/// are kilobytes to a few megabytes.
pub const MAX_BENCHMARK_BYTES: u64 = 64 << 20;

/// What a result is measured in. Times are normalized to nanoseconds so that a criterion
/// baseline compares with a hyperfine run; anything else compares only with the same unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    Nanos,
    Other(String),
}

impl Unit {
    /// The unit and the factor to its normalized value.
    fn parse(s: &str) -> (Unit, f64) {
        match s.trim() {
            "ns" => (Unit::Nanos, 1.0),
            "us" | "µs" | "μs" => (Unit::Nanos, 1e3),
            "ms" => (Unit::Nanos, 1e6),
            "s" => (Unit::Nanos, 1e9),
            other => (Unit::Other(other.to_owned()), 1.0),
        }
    }
}

/// One benchmark's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub value: f64,
    pub unit: Unit,
    pub lower_is_better: bool,
    /// What the tool recorded of the spread, for a statistical comparison.
    pub spread: Spread,
}

/// The spread behind a result's value, in the same (normalized) unit.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Spread {
    /// Only the value (cargo-criterion messages, generic results without `samples`).
    #[default]
    None,
    /// Every measurement: hyperfine's `times`, criterion's `sample.json` per iteration,
    /// generic `samples`.
    Samples(Vec<f64>),
    /// The standard error of the mean (criterion's bootstrap, without `sample.json`).
    StdError(f64),
}

/// Measurements kept per benchmark: enough for any real run (hyperfine's default is 10 to
/// a few hundred, criterion's 100); a hostile file cannot make the comparison quadratic.
pub const MAX_SAMPLES: usize = 100_000;

/// The formats, for `--explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Criterion,
    CargoCriterion,
    Hyperfine,
    Generic,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Criterion => "criterion estimates",
            Format::CargoCriterion => "cargo-criterion messages",
            Format::Hyperfine => "hyperfine JSON",
            Format::Generic => "generic JSON",
        }
    }
}

/// A file's results; `None` for criterion's `change/estimates.json` (a relative change, not a
/// measurement), which a `**/estimates.json` glob picks up alongside `new/`.
pub fn read(path: &Path, root: &Path) -> Result<Option<(Format, Vec<Sample>)>, Error> {
    let shown = files::relative(root, path);
    let err = |line: Option<usize>, message: String| Error::Evidence {
        path: shown.clone().into(),
        line,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::Read {
        path: shown.clone().into(),
        source: e,
    })?;
    if !meta.is_file() {
        return Err(err(
            None,
            "not a regular file (a device, FIFO or directory): refused".into(),
        ));
    }
    if meta.len() > MAX_BENCHMARK_BYTES {
        return Err(err(
            None,
            format!(
                "{} bytes, larger than {MAX_BENCHMARK_BYTES}: refused",
                meta.len()
            ),
        ));
    }
    // Read through the cap too: the file may grow between the check and the read.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BENCHMARK_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| Error::Read {
            path: shown.clone().into(),
            source: e,
        })?;
    if bytes.len() as u64 > MAX_BENCHMARK_BYTES {
        return Err(err(
            None,
            format!("larger than {MAX_BENCHMARK_BYTES} bytes: refused"),
        ));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) || bytes.contains(&0) {
        return Err(err(
            Some(1),
            "not UTF-8 (UTF-16 or binary): re-encode as UTF-8".into(),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        err(
            Some(line_at(&bytes, e.valid_up_to())),
            "not UTF-8 text".into(),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(err(None, "empty file: no benchmark results".into()));
    }

    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        values.push(value.map_err(|e| err(Some(e.line()), format!("not JSON: {e}")))?);
    }
    let messages = values.len() > 1 || values.iter().any(|v| v.get("reason").is_some());
    if messages {
        return cargo_criterion(text, &err).map(|s| Some((Format::CargoCriterion, s)));
    }
    let Some(Value::Object(top)) = values.first() else {
        return Err(err(None, "not a JSON object".into()));
    };
    if top.contains_key("results") {
        let h: Hyperfine = typed(text, &err)?;
        let samples = h
            .results
            .into_iter()
            .map(|r| {
                let mut s = sample(r.command, r.mean, "s", true, &err)?;
                s.spread = samples(r.times, 1e9, &s.name, &err)?;
                Ok(s)
            })
            .collect::<Result<_, Error>>()?;
        return Ok(Some((Format::Hyperfine, samples)));
    }
    if top.contains_key("benchmarks") {
        let g: Generic = typed(text, &err)?;
        let samples = g
            .benchmarks
            .into_iter()
            .map(|b| {
                let mut s = sample(
                    b.name,
                    b.value,
                    b.unit.as_deref().unwrap_or(""),
                    b.lower_is_better,
                    &err,
                )?;
                let factor = Unit::parse(b.unit.as_deref().unwrap_or("")).1;
                s.spread = samples(b.samples, factor, &s.name, &err)?;
                Ok(s)
            })
            .collect::<Result<_, Error>>()?;
        return Ok(Some((Format::Generic, samples)));
    }
    if top.contains_key("mean") {
        let Some(name) = criterion_name(Path::new(&shown)) else {
            return Ok(None);
        };
        let name = name.map_err(|m| err(None, m))?;
        let e: Estimates = typed(text, &err)?;
        let mut s = sample(name, e.mean.point_estimate, "ns", true, &err)?;
        s.spread = criterion_spread(path, &shown, &s.name, e.mean.standard_error)?;
        return Ok(Some((Format::Criterion, vec![s])));
    }
    Err(err(
        None,
        "not a benchmark result: expected criterion estimates.json, cargo-criterion messages, \
         hyperfine --export-json or {\"benchmarks\": [...]}"
            .into(),
    ))
}

type ErrFn<'a> = dyn Fn(Option<usize>, String) -> Error + 'a;

fn typed<T: DeserializeOwned>(text: &str, err: &ErrFn) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let line = e.inner().line();
        err(Some(line), format!("{}: {}", e.path(), e.inner()))
    })
}

fn sample(
    name: String,
    value: f64,
    unit: &str,
    lower_is_better: bool,
    err: &ErrFn,
) -> Result<Sample, Error> {
    if !value.is_finite() || value < 0.0 {
        return Err(err(
            None,
            format!("{name}: value {value} is not a non-negative number"),
        ));
    }
    if name.trim().is_empty() {
        return Err(err(None, "a benchmark without a name".into()));
    }
    let (unit, factor) = Unit::parse(unit);
    Ok(Sample {
        name,
        value: value * factor,
        unit,
        lower_is_better,
        spread: Spread::None,
    })
}

/// Measurements as recorded, times `factor` (to the normalized unit); each must be a positive
/// finite number, since the comparison works on their logarithms.
fn samples(raw: Option<Vec<f64>>, factor: f64, name: &str, err: &ErrFn) -> Result<Spread, Error> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Spread::None);
    };
    if raw.len() > MAX_SAMPLES {
        return Err(err(
            None,
            format!("{name}: {} samples, more than {MAX_SAMPLES}", raw.len()),
        ));
    }
    if let Some(bad) = raw.iter().find(|v| !v.is_finite() || **v <= 0.0) {
        return Err(err(
            None,
            format!("{name}: sample {bad} is not a positive number"),
        ));
    }
    Ok(Spread::Samples(
        raw.into_iter().map(|v| v * factor).collect(),
    ))
}

/// criterion's `sample.json` beside `estimates.json` (each sample's total time over its
/// iteration count), else the mean's standard error from the estimates.
fn criterion_spread(
    path: &Path,
    shown: &str,
    name: &str,
    standard_error: Option<f64>,
) -> Result<Spread, Error> {
    let sample_path = path.with_file_name("sample.json");
    let shown_sample = Path::new(shown).with_file_name("sample.json");
    let err = |line: Option<usize>, message: String| Error::Evidence {
        path: shown_sample.clone(),
        line,
        message,
    };
    if std::fs::symlink_metadata(&sample_path).is_ok_and(|m| m.is_file()) {
        let meta_len = std::fs::metadata(&sample_path).map_or(0, |m| m.len());
        if meta_len > MAX_BENCHMARK_BYTES {
            return Err(err(
                None,
                format!("larger than {MAX_BENCHMARK_BYTES} bytes: refused"),
            ));
        }
        let text = std::fs::read_to_string(&sample_path).map_err(|e| Error::Read {
            path: shown_sample.clone(),
            source: e,
        })?;
        let s: CriterionSamples = typed(&text, &err)?;
        if s.iters.len() != s.times.len() {
            return Err(err(
                None,
                format!(
                    "{name}: {} iteration counts for {} times",
                    s.iters.len(),
                    s.times.len()
                ),
            ));
        }
        if s.iters.iter().any(|i| !i.is_finite() || *i <= 0.0) {
            return Err(err(
                None,
                format!("{name}: an iteration count is not positive"),
            ));
        }
        let per_iteration = s.times.iter().zip(&s.iters).map(|(t, i)| t / i).collect();
        return samples(Some(per_iteration), 1.0, name, &err);
    }
    Ok(match standard_error {
        Some(se) if se.is_finite() && se >= 0.0 => Spread::StdError(se),
        _ => Spread::None,
    })
}
fn cargo_criterion(text: &str, err: &ErrFn) -> Result<Vec<Sample>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let wrap = |e: Error| match e {
            Error::Evidence { path, message, .. } => Error::Evidence {
                path,
                line: Some(i + 1),
                message,
            },
            other => other,
        };
        let head: Reason = typed(line, err).map_err(wrap)?;
        if head.reason != "benchmark-complete" {
            continue;
        }
        let m: Complete = typed(line, err).map_err(wrap)?;
        out.push(sample(m.id, m.typical.estimate, &m.typical.unit, true, err).map_err(wrap)?);
    }
    Ok(out)
}

/// `…/criterion/<id>/<new|base|saved>/estimates.json` → `<id>`; `None` for `change/`.
fn criterion_name(path: &Path) -> Option<Result<String, String>> {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if parts.len() >= 2 && parts[parts.len() - 2] == "change" {
        return None;
    }
    let at = parts.iter().rposition(|p| p == "criterion");
    Some(match at {
        Some(at) if parts.len() >= at + 4 => Ok(parts[at + 1..parts.len() - 2].join("/")),
        _ => Err(
            "criterion estimates must be at …/criterion/<benchmark id>/new/estimates.json \
                  (the id is taken from the path)"
                .into(),
        ),
    })
}

fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[derive(Deserialize)]
struct Hyperfine {
    results: Vec<HyperfineResult>,
}

#[derive(Deserialize)]
struct HyperfineResult {
    command: String,
    /// Seconds.
    mean: f64,
    /// Every run's wall-clock time, seconds (hyperfine ≥ 1.7).
    #[serde(default)]
    times: Option<Vec<f64>>,
}

#[derive(Deserialize)]
struct Generic {
    benchmarks: Vec<GenericBenchmark>,
}

#[derive(Deserialize)]
struct GenericBenchmark {
    name: String,
    value: f64,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default = "yes")]
    lower_is_better: bool,
    /// Every measurement, in `unit`.
    #[serde(default)]
    samples: Option<Vec<f64>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    /// Nanoseconds.
    point_estimate: f64,
    #[serde(default)]
    standard_error: Option<f64>,
}

/// criterion's `new/sample.json`: each sample's iteration count and total time (ns).
#[derive(Deserialize)]
struct CriterionSamples {
    iters: Vec<f64>,
    times: Vec<f64>,
}

#[derive(Deserialize)]
struct Reason {
    reason: String,
}

#[derive(Deserialize)]
struct Complete {
    id: String,
    typical: Typical,
}

#[derive(Deserialize)]
struct Typical {
    estimate: f64,
    unit: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_names_come_from_the_path() {
        let name = |p: &str| criterion_name(Path::new(p));
        assert_eq!(
            name("target/criterion/fib/20/new/estimates.json"),
            Some(Ok("fib/20".into()))
        );
        assert_eq!(
            name("bench/criterion/parse/base/estimates.json"),
            Some(Ok("parse".into()))
        );
        assert_eq!(name("target/criterion/fib/change/estimates.json"), None);
        assert!(matches!(name("results/new/estimates.json"), Some(Err(_))));
        assert!(matches!(name("criterion/new/estimates.json"), Some(Err(_))));
    }

    #[test]
    fn times_normalize_to_nanoseconds() {
        assert_eq!(Unit::parse("ms"), (Unit::Nanos, 1e6));
        assert_eq!(Unit::parse("µs"), (Unit::Nanos, 1e3));
        assert_eq!(Unit::parse("ops/s"), (Unit::Other("ops/s".into()), 1.0));
    }
}
