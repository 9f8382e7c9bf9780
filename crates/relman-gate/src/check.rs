//! Every check the gate makes of its configuration, before it reads anything else.
//!
//! `relman gate` and `relman config check` both call [`config`], so a configuration that
//! `config check` accepts is one the gate will not reject later for its own reasons (an unknown
//! time zone, an expression that does not compile, a default policy that names nothing). Each
//! error names the file, line and column of the value at fault.

use relman_core::Error;
use relman_core::config::{GateSettings, GateSpec, Source};

use crate::policy;

/// Checks the `gate:` section of a configuration read from `source`.
pub fn config(settings: &GateSettings, source: &Source) -> Result<(), Error> {
    let policies = &settings.policies;
    // `default_policy` left at its default is only read when no --policy is given (and that run
    // says which policies exist); one that was written down must name a policy.
    if !policies.is_empty()
        && !policies.contains_key(&settings.default_policy)
        && settings.default_policy != GateSettings::default().default_policy
    {
        let defined: Vec<&str> = policies.keys().map(String::as_str).collect();
        return Err(source.error(
            "gate.default_policy",
            format!(
                "{:?} names no policy; defined: {}",
                settings.default_policy,
                defined.join(", ")
            ),
        ));
    }
    crate::risk::check_settings(&settings.risk).map_err(|e| locate(source, "gate.risk", e))?;
    for name in policies.keys() {
        let resolved = policy::resolve(settings, Some(name))
            .map_err(|e| locate(source, &format!("gate.policies.{name}"), e))?;
        if resolved.gates.is_empty() {
            // Fail closed: a policy that checks nothing would say go to any release.
            return Err(source.error(
                &format!("gate.policies.{name}.gates"),
                format!(
                    "policy {name:?} has no gates, so it could not refuse anything; add a gate \
                     (a policy that always passes is not a policy)"
                ),
            ));
        }
        let mut known = vec!["risk".to_string(), "gates".to_string()];
        for (key, spec) in &resolved.gates {
            let in_policy = |e: Error| match e {
                Error::Config {
                    file,
                    line,
                    column,
                    key,
                    message,
                } if !key.starts_with(&format!("gate.policies.{name}.")) => Error::Config {
                    file,
                    line,
                    column,
                    key,
                    message: format!("{message} (in policy {name:?}, which extends it)"),
                },
                other => other,
            };
            if let Some(guard) = &spec.when {
                expression(guard, &known, source, &format!("{key}.when")).map_err(in_policy)?;
            }
            gate(spec, key, &known, source).map_err(in_policy)?;
            let gate_name = spec.display_name();
            known.push(crate::evaluate::fact_name(&gate_name));
            known.push(gate_name);
        }
    }
    Ok(())
}

/// The checks of one gate that need the gate's own machinery.
fn gate(spec: &GateSpec, key: &str, known: &[String], source: &Source) -> Result<(), Error> {
    let at = |field: &str, e: Error| locate(source, &format!("{key}.{field}"), e);
    for (field, paths) in [
        ("junit.paths", spec.junit.as_ref().map(|g| &g.paths)),
        ("sarif.paths", spec.sarif.as_ref().map(|g| &g.paths)),
        ("coverage.paths", spec.coverage.as_ref().map(|g| &g.paths)),
        ("benchmark.paths", spec.benchmark.as_ref().map(|g| &g.paths)),
        (
            "benchmark.baseline",
            spec.benchmark.as_ref().map(|g| &g.baseline),
        ),
    ] {
        for (i, p) in paths.into_iter().flatten().enumerate() {
            crate::evidence::files::glob(p.trim_start_matches("./"))
                .map_err(|e| at(&format!("{field}[{i}]"), e))?;
        }
    }
    if let Some(c) = &spec.checks {
        crate::forge::checks::duration(&c.timeout, "timeout")
            .map_err(|e| at("checks.timeout", e))?;
        crate::forge::checks::duration(&c.poll_interval, "poll_interval")
            .map_err(|e| at("checks.poll_interval", e))?;
    }
    if let Some(w) = &spec.window {
        crate::window::check(w).map_err(|e| at("window", e))?;
    }
    if let Some(b) = &spec.blockers {
        crate::forge::blockers::check(b).map_err(|e| at("blockers", e))?;
    }
    if let Some(m) = &spec.monitoring {
        crate::readiness::monitoring::check(m).map_err(|e| at("monitoring", e))?;
    }
    if let Some(b) = &spec.benchmark
        && !(0.5..=0.9999).contains(&b.confidence)
    {
        return Err(source.error(
            &format!("{key}.benchmark.confidence"),
            format!(
                "{} is not a confidence between 0.5 and 0.9999 (0.95 means 95%)",
                b.confidence
            ),
        ));
    }
    if let Some(c) = &spec.condition {
        expression(&c.expr, known, source, &format!("{key}.condition.expr"))?;
    }
    Ok(())
}

/// An expression compiles, and each name it reads is `risk`, `gates` or a gate listed
/// before it (an undefined name would be an error at run time, on some runs only).
fn expression(expr: &str, known: &[String], source: &Source, key: &str) -> Result<(), Error> {
    let names = crate::condition::names(expr).map_err(|m| source.error(key, m))?;
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| !known.contains(n))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let listed: Vec<&str> = known
            .iter()
            .map(String::as_str)
            .filter(|n| !n.contains('-'))
            .collect();
        let hyphenated = known
            .iter()
            .any(|n| n.contains('-') && expr.contains(n.as_str()));
        let hint = if hyphenated {
            " (a gate name with `-` reads as a subtraction: write it with `_`, e.g. \
             `second_approval.passed`, or as gates[\"second-approval\"])"
        } else {
            ""
        };
        return Err(source.error(
            key,
            format!(
                "{expr:?} reads `{}`, which {} not a fact here: it sees {}{hint}",
                unknown.join("`, `"),
                if unknown.len() == 1 { "is" } else { "are" },
                listed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// An error from the gate's own code, placed at the key it names: `gate.…` keys are absolute,
/// other `key: message` prefixes are relative to `at` (`window.freezes[1].timezone`), and any
/// other message is placed at `at` itself.
fn locate(source: &Source, at: &str, e: Error) -> Error {
    let Error::Usage(message) = e else {
        return e;
    };
    match message.split_once(": ") {
        Some((key, rest)) if key.starts_with("gate.") && !key.contains(' ') => {
            source.error(key, rest)
        }
        Some((key, rest)) if !key.contains(' ') && !key.is_empty() => {
            let last = at.rsplit('.').next().unwrap_or_default();
            // `window.timezone` under `…gates[0].window`: do not repeat `window`.
            let rel = key.strip_prefix(&format!("{last}.")).unwrap_or(key);
            if rel == last {
                source.error(at, rest)
            } else {
                source.error(&format!("{at}.{rel}"), rest)
            }
        }
        _ => source.error(at, message),
    }
}

#[cfg(test)]
mod tests;
