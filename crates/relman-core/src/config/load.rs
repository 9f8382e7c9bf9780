//! Reading `.relman.yml`, with errors that name the file, line, column and key path.

use std::path::{Path, PathBuf};

use super::Config;
use super::locate::Source;
use crate::error::{Error, Result};

/// The configuration file relman looks for at the repository root.
pub const DEFAULT_FILE: &str = ".relman.yml";

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config> {
    load_source(path).map(|(config, _)| config)
}

/// Reads and validates a configuration file, keeping its text so that checks made later (by
/// a concern) can name the line and column of what they reject.
pub fn load_source(path: &Path) -> Result<(Config, Source)> {
    let bytes = super::budget::read_capped(path)?;
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(path, e.as_bytes(), e.utf8_error()))?;
    let config = parse_str(&text, path)?;
    Ok((config, Source::new(path, text)))
}

/// [`load_source`] when the file exists, else the defaults with an empty source.
pub fn load_source_or_default(path: &Path) -> Result<(Config, Source)> {
    if path.exists() {
        load_source(path)
    } else {
        Ok((Config::default(), Source::new(path, "")))
    }
}

/// Bad input (exit 2), located at the first byte that is not UTF-8.
fn not_utf8(path: &Path, bytes: &[u8], e: std::str::Utf8Error) -> Error {
    let good = &bytes[..e.valid_up_to()];
    let line = 1 + good.iter().filter(|b| **b == b'\n').count();
    let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = 1 + String::from_utf8_lossy(&good[line_start..]).chars().count();
    Error::Config {
        file: path.to_path_buf(),
        line,
        column,
        key: "(file)".into(),
        message: format!("not UTF-8 text (byte {})", e.valid_up_to()),
    }
}

/// Reads `path` when it exists, else the defaults (a repository without configuration works).
pub fn load_or_default(path: &Path) -> Result<Config> {
    if path.exists() {
        load(path)
    } else {
        Ok(Config::default())
    }
}

/// Parses configuration text; `path` only names the source in errors.
pub fn parse_str(text: &str, path: &Path) -> Result<Config> {
    // An empty file, or one holding only comments, is an empty mapping: all defaults.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Config::default());
    }
    super::budget::check(text, path)?;
    let de = serde_yaml::Deserializer::from_str(text);
    let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        config_error(path, &key, &inner)
    })?;
    validate(&config, text, path)?;
    Ok(config)
}

fn config_error(path: &Path, key: &str, err: &serde_yaml::Error) -> Error {
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    // serde_yaml appends " at line L column C" to its messages; the location is already given.
    let mut message = err.to_string();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    // ... and prefixes the parent key path, which `key` already names in full.
    if let Some((prefix, rest)) = message.split_once(": ")
        && !prefix.contains(' ')
        && key.starts_with(prefix)
    {
        message = rest.to_string();
    }
    Error::Config {
        file: path.to_path_buf(),
        line,
        column,
        key: if key == "." {
            "(root)".into()
        } else {
            key.into()
        },
        message,
    }
}

/// Checks that need the whole config (cross-field rules). Errors point at the key's own
/// node in the file (see `locate.rs`). Checks that need a concern's own machinery (time
/// zones, expressions) are the concern's: `relman config check` runs them too.
fn validate(config: &Config, text: &str, path: &Path) -> Result<()> {
    let source = Source::new(path, text);
    let at = |key: &str, message: String| source.error(key, message);
    let cl = &config.changelog;
    for (i, g) in cl.groups.iter().enumerate() {
        if let Some(p) = &g.pattern {
            check_regex(p).map_err(|m| at(&format!("changelog.groups[{i}].pattern"), m))?;
        }
    }
    for (i, m) in cl.skip.iter().enumerate() {
        if let Some(p) = &m.pattern {
            check_regex(p).map_err(|msg| at(&format!("changelog.skip[{i}].pattern"), msg))?;
        }
    }
    semver::Version::parse(&cl.version.initial).map_err(|e| {
        at(
            "changelog.version.initial",
            format!("{:?} is not a semver version: {e}", cl.version.initial),
        )
    })?;
    let mut names = std::collections::HashSet::new();
    for (i, p) in config.packages.iter().enumerate() {
        if !names.insert(p.name.as_str()) {
            return Err(at(
                &format!("packages[{i}].name"),
                format!("package {:?} is declared twice", p.name),
            ));
        }
        if p.paths.is_empty() {
            return Err(at(
                &format!("packages[{i}].paths"),
                "a package needs at least one path".into(),
            ));
        }
        if p.tag_prefix.is_empty() {
            return Err(at(
                &format!("packages[{i}].tag_prefix"),
                "a package needs its own tag prefix (e.g. \"api-v\")".into(),
            ));
        }
    }
    validate_gate(&config.gate, &at)?;
    super::rollback::validate(&config.rollback, &at)
}

/// What a number in the configuration may be. NaN and infinities are never allowed: every
/// comparison with NaN is false, so `max_regression: .nan` would let any regression through.
#[derive(Clone, Copy)]
pub(super) enum Range {
    /// Any finite number (a Prometheus bound: a delta can be negative).
    Finite,
    /// Finite and at least 0 (weights, thresholds of a regression).
    NonNegative,
    /// 0 to 100 (a percentage).
    Percent,
}

pub(super) fn check_number(
    at: &dyn Fn(&str, String) -> Error,
    key: &str,
    v: f64,
    range: Range,
) -> Result<()> {
    let shown = if v.is_nan() {
        ".nan".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        v.to_string()
    };
    let problem = if !v.is_finite() {
        Some(format!("{shown} is not a finite number"))
    } else {
        match range {
            Range::Finite => None,
            Range::NonNegative | Range::Percent if v < 0.0 => Some(format!("{shown} is negative")),
            Range::Percent if v > 100.0 => Some(format!("{shown} is above 100 (a percentage)")),
            _ => None,
        }
    };
    match problem {
        Some(m) => Err(at(key, m)),
        None => Ok(()),
    }
}

/// Risk weights and level thresholds: finite, not negative, levels in increasing order.
fn validate_risk(risk: &super::RiskSettings, at: &dyn Fn(&str, String) -> Error) -> Result<()> {
    let base = "gate.risk";
    for (k, v) in [
        ("per_file", risk.per_file),
        ("per_100_lines", risk.per_100_lines),
        ("per_extra_package", risk.per_extra_package),
        ("per_breaking", risk.per_breaking),
        ("manifest", risk.manifest),
    ] {
        check_number(at, &format!("{base}.{k}"), v, Range::NonNegative)?;
    }
    for (i, s) in risk.sensitive.iter().enumerate() {
        check_number(
            at,
            &format!("{base}.sensitive[{i}].weight"),
            s.weight,
            Range::NonNegative,
        )?;
    }
    let l = &risk.levels;
    let levels = [
        ("medium", l.medium),
        ("high", l.high),
        ("critical", l.critical),
    ];
    for (k, v) in levels {
        check_number(at, &format!("{base}.levels.{k}"), v, Range::NonNegative)?;
    }
    for pair in levels.windows(2) {
        let ((lo, a), (hi, b)) = (pair[0], pair[1]);
        if b < a {
            return Err(at(
                &format!("{base}.levels.{hi}"),
                format!("{b} is below {lo} ({a}): levels go up from medium to critical"),
            ));
        }
    }
    Ok(())
}

/// Gate policies: each gate names exactly one kind, `extends` names a policy without cycles,
/// patterns compile, allow-list entries have a reason and a date.
fn validate_gate(gate: &super::GateSettings, at: &dyn Fn(&str, String) -> Error) -> Result<()> {
    validate_risk(&gate.risk, at)?;
    for (name, policy) in &gate.policies {
        let base = format!("gate.policies.{name}");
        if let Some(parent) = &policy.extends {
            if !gate.policies.contains_key(parent) {
                return Err(at(
                    &format!("{base}.extends"),
                    format!("policy {parent:?} is not defined"),
                ));
            }
            let mut seen = vec![name.as_str()];
            let mut cur = Some(parent.as_str());
            while let Some(p) = cur {
                if seen.contains(&p) {
                    seen.push(p);
                    return Err(at(
                        &format!("{base}.extends"),
                        format!(
                            "policies extend each other in a cycle: {}",
                            seen.join(" → ")
                        ),
                    ));
                }
                seen.push(p);
                cur = gate.policies.get(p).and_then(|q| q.extends.as_deref());
            }
        }
        for (i, g) in policy.gates.iter().enumerate() {
            let key = format!("{base}.gates[{i}]");
            let kinds = g.kinds();
            if kinds.len() != 1 {
                let msg = if kinds.is_empty() {
                    "a gate needs one kind: junit, sarif, coverage, benchmark, checks, approvals, \
                     blockers, risk, window, rollback, monitoring or condition"
                        .to_string()
                } else {
                    format!(
                        "a gate has exactly one kind, this one has {}",
                        kinds.join(", ")
                    )
                };
                return Err(at(&key, msg));
            }
            if let Some(j) = &g.junit {
                for (n, p) in j.flaky.iter().enumerate() {
                    check_regex(p).map_err(|m| at(&format!("{key}.junit.flaky[{n}]"), m))?;
                }
            }
            if let Some(s) = &g.sarif {
                for (n, a) in s.allow.iter().enumerate() {
                    let k = format!("{key}.sarif.allow[{n}]");
                    if a.reason.trim().is_empty() {
                        return Err(at(
                            &format!("{k}.reason"),
                            "an accepted finding needs a reason".into(),
                        ));
                    }
                    a.until.parse::<jiff::civil::Date>().map_err(|e| {
                        at(
                            &format!("{k}.until"),
                            format!("{:?} is not a date (YYYY-MM-DD): {e}", a.until),
                        )
                    })?;
                }
                for level in s.max_level.keys() {
                    if !["error", "warning", "note", "none"].contains(&level.as_str()) {
                        return Err(at(
                            &format!("{key}.sarif.max_level.{level}"),
                            "SARIF levels are error, warning, note and none".into(),
                        ));
                    }
                }
                for band in s.max_security.keys() {
                    if !["critical", "high", "medium", "low"].contains(&band.as_str()) {
                        return Err(at(
                            &format!("{key}.sarif.max_security.{band}"),
                            "security bands are critical, high, medium and low".into(),
                        ));
                    }
                }
            }
            if let Some(c) = &g.coverage {
                for (k, v) in [
                    ("min_line", c.min_line),
                    ("min_branch", c.min_branch),
                    ("min_changed_line", c.min_changed_line),
                ] {
                    if let Some(v) = v {
                        check_number(at, &format!("{key}.coverage.{k}"), v, Range::Percent)?;
                    }
                }
            }
            if let Some(b) = &g.benchmark {
                check_number(
                    at,
                    &format!("{key}.benchmark.max_regression"),
                    b.max_regression,
                    Range::NonNegative,
                )?;
            }
            if let Some(m) = &g.monitoring {
                super::probe::validate_prometheus(
                    &m.prometheus,
                    &format!("{key}.monitoring.prometheus"),
                    at,
                )?;
            }
            if let Some(c) = &g.condition
                && c.expr.trim().is_empty()
            {
                return Err(at(
                    &format!("{key}.condition.expr"),
                    "a condition needs an expression".into(),
                ));
            }
        }
    }
    Ok(())
}

fn check_regex(pattern: &str) -> std::result::Result<(), String> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|e| format!("invalid regular expression: {e}"))
}

/// The JSON Schema of the configuration, as committed in `schema/relman.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Config);
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}

/// Path of the committed schema, relative to the repository root.
pub fn schema_path() -> PathBuf {
    PathBuf::from("schema/relman.schema.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_str(text, Path::new(".relman.yml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn empty_and_comment_only_files_are_defaults() {
        let p = Path::new("x");
        assert_eq!(parse_str("", p).unwrap(), Config::default());
        assert_eq!(parse_str("# nothing\n\n", p).unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_line_column_and_path() {
        let e = err("changelog:\n  tag_prefix: v\n  tag_prefx: x\n");
        assert!(
            e.starts_with(
                ".relman.yml:3:3: changelog.tag_prefx: unknown field `tag_prefx`, expected one of"
            ),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_nested_path() {
        let e = err("changelog:\n  groups:\n    - title: A\n      types: feat\n");
        assert!(
            e.starts_with(".relman.yml:4:14: changelog.groups[0].types: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn bad_regex_is_located() {
        let e = err("changelog:\n  skip:\n    - pattern: \"(unclosed\"\n");
        assert!(
            e.starts_with(
                ".relman.yml:3:16: changelog.skip[0].pattern: invalid regular expression"
            ),
            "{e}"
        );
    }

    #[test]
    fn package_rules() {
        let e = err("packages:\n  - name: api\n    paths: []\n    tag_prefix: api-v\n");
        assert!(
            e.contains("packages[0].paths: a package needs at least one path"),
            "{e}"
        );
        let e = err(
            "packages:\n  - {name: a, paths: [a], tag_prefix: a-v}\n  - {name: a, paths: [b], tag_prefix: b-v}\n",
        );
        assert!(
            e.contains("packages[1].name: package \"a\" is declared twice"),
            "{e}"
        );
    }

    #[test]
    fn thresholds_must_be_finite_and_not_negative() {
        let gate =
            |g: &str| format!("gate:\n  policies:\n    default:\n      gates:\n        - {g}\n");
        let e = err(&gate(
            "benchmark: { paths: [b.json], max_regression: .nan }",
        ));
        assert!(e.starts_with(".relman.yml:5:"), "{e}");
        assert!(
            e.contains("gate.policies.default.gates[0].benchmark.max_regression: .nan is not a finite number"),
            "{e}"
        );
        let e = err(&gate("benchmark: { paths: [b.json], max_regression: -5 }"));
        assert!(
            e.contains("gate.policies.default.gates[0].benchmark.max_regression: -5 is negative"),
            "{e}"
        );
        let e = err(&gate("coverage: { paths: [c.xml], min_line: .inf }"));
        assert!(e.contains("gates[0].coverage.min_line: "), "{e}");
        let e = err(&gate("coverage: { paths: [c.xml], min_branch: 120 }"));
        assert!(
            e.contains("gates[0].coverage.min_branch: 120 is above 100"),
            "{e}"
        );
        let e = err(&gate(
            "monitoring: { prometheus: [{ url: 'http://p', query: up, max: .nan }] }",
        ));
        assert!(e.contains("gates[0].monitoring.prometheus[0].max: "), "{e}");
        let e = err("gate:\n  risk:\n    per_file: -1\n");
        assert!(
            e.starts_with(".relman.yml:3:15: gate.risk.per_file: -1 is negative"),
            "{e}"
        );
        let e = err("gate:\n  risk:\n    levels: { medium: 50, high: 40 }\n");
        assert!(e.contains("gate.risk.levels.high: "), "{e}");
        let e = err("gate:\n  risk:\n    sensitive: [{ paths: [a], weight: .nan, reason: r }]\n");
        assert!(e.contains("gate.risk.sensitive[0].weight: "), "{e}");
        // Negative bounds of a Prometheus query are fine (a delta can be negative).
        parse_str(
            &gate("monitoring: { prometheus: [{ url: 'http://p', query: up, min: -1, max: 1 }] }"),
            Path::new("x"),
        )
        .expect("negative min");
    }

    #[test]
    fn bad_initial_version() {
        let e = err("changelog:\n  version:\n    initial: one\n");
        assert!(
            e.starts_with(".relman.yml:3:14: changelog.version.initial:"),
            "{e}"
        );
    }
}
