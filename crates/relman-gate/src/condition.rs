//! Custom conditions and `when:` guards: minijinja expressions over the facts.
//!
//! Facts are the JSON each gate reports under its name plus `risk`, so a policy reads like
//! the release manager's own rule: `risk.level != "high" or approvals.count >= 2`. Undefined
//! names are errors, not false: a typo in a guard must not silently skip a gate. A value that
//! is not a boolean is an error too, never truthiness: `risk.score` alone does not "hold".

use relman_core::Error;
use relman_core::config::ConditionGate;

use crate::{Finding, Status};

/// Fuel for one expression: minijinja charges one per instruction and one per 64 bytes
/// allocated, so this is ~100k instructions or ~6 MB, far beyond any real condition.
pub const CONDITION_FUEL: u64 = 100_000;

/// Evaluates `expr` over `facts`; `key` names the config field in errors.
pub fn holds(
    expr: &str,
    facts: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<bool, Error> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // An expression comes from the repository: fuel bounds its instructions and the memory it
    // allocates (`range(100000)|join("x"*100000)` would take 10 GB), so a hostile one fails
    // fast with an error instead of exhausting the runner.
    env.set_fuel(Some(CONDITION_FUEL));
    let bad = |e: minijinja::Error, missing: Vec<String>| {
        let mut msg = e.kind().to_string();
        if let Some(d) = e.detail() {
            msg = format!("{msg}: {d}");
        }
        if !missing.is_empty() {
            msg = format!("{msg}: `{}` is not a fact here", missing.join("`, `"));
        }
        let names: Vec<&str> = facts.keys().map(String::as_str).collect();
        Error::Usage(format!(
            "{key}: {expr:?}: {msg} (facts available: {})",
            names.join(", ")
        ))
    };
    let compiled = env
        .compile_expression(expr)
        .map_err(|e| bad(e, Vec::new()))?;
    let value = compiled
        .eval(minijinja::Value::from(minijinja::value::Serde(facts)))
        .map_err(|e| {
            let missing = if e.kind() == minijinja::ErrorKind::UndefinedError {
                missing(&compiled.undeclared_variables(true), facts)
            } else {
                Vec::new()
            };
            bad(e, missing)
        })?;
    // Truthiness would let `risk.score` (any non-zero number) or a non-empty list pass: a
    // condition must say yes or no.
    match value.kind() {
        minijinja::value::ValueKind::Bool => Ok(value.is_true()),
        kind => Err(Error::Usage(format!(
            "{key}: {expr:?}: the value is {kind} ({}), not a boolean: compare it, e.g. `{expr} > 0`",
            preview(&value)
        ))),
    }
}

/// A short rendering of a value for an error message.
fn preview(value: &minijinja::Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// The dotted names an expression reads (`approvals.count`) that the facts do not hold.
fn missing(
    paths: &std::collections::HashSet<String>,
    facts: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    let mut out: Vec<String> = paths
        .iter()
        .filter(|path| {
            let mut parts = path.split('.');
            let Some(mut cur) = parts.next().and_then(|top| facts.get(top)) else {
                return true;
            };
            for part in parts {
                match cur.get(part) {
                    Some(v) => cur = v,
                    // A method call (`x.items`) or an index: not a fact path to judge.
                    None if !cur.is_object() => return false,
                    None => return true,
                }
            }
            false
        })
        .cloned()
        .collect();
    out.sort();
    out
}

/// The top-level names an expression reads, or why it does not compile (checked before any
/// gate runs, by `relman gate` and `relman config check`).
pub fn names(expr: &str) -> Result<Vec<String>, String> {
    let env = minijinja::Environment::new();
    let compiled = env.compile_expression(expr).map_err(|e| {
        let mut msg = e.kind().to_string();
        if let Some(d) = e.detail() {
            msg = format!("{msg}: {d}");
        }
        format!("{expr:?}: {msg}")
    })?;
    let mut names: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
    names.sort();
    Ok(names)
}

/// The `condition` gate.
pub fn evaluate(
    spec: &ConditionGate,
    facts: &serde_json::Map<String, serde_json::Value>,
    key: &str,
) -> Result<Finding, Error> {
    let ok = holds(&spec.expr, facts, &format!("{key}.condition.expr"))?;
    let reason = match (ok, spec.message.is_empty()) {
        (true, _) => format!("`{}` holds", spec.expr),
        (false, true) => format!("`{}` does not hold", spec.expr),
        (false, false) => format!("{} (`{}` does not hold)", spec.message, spec.expr),
    };
    let mut f = Finding::new(if ok { Status::Pass } else { Status::Fail }, reason);
    f.facts = serde_json::json!({ "holds": ok });
    f.explain.push(format!(
        "evaluated `{}` over the facts of the gates before it",
        spec.expr
    ));
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> serde_json::Map<String, serde_json::Value> {
        let v = serde_json::json!({
            "risk": {"level": "high", "score": 52.0},
            "approvals": {"count": 1},
        });
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn expressions_over_facts() {
        let f = facts();
        assert!(!holds(r#"risk.level != "high" or approvals.count >= 2"#, &f, "k").expect("eval"));
        assert!(holds(r#"risk.level in ["high", "critical"]"#, &f, "k").expect("eval"));
        assert!(holds("risk.score > 50", &f, "k").expect("eval"));
    }

    #[test]
    fn undefined_names_and_syntax_errors_are_errors_naming_the_key() {
        let f = facts();
        let e = holds("aprovals.count >= 2", &f, "gate.policies.p.gates[2].when")
            .expect_err("undefined")
            .to_string();
        assert!(
            e.starts_with("gate.policies.p.gates[2].when: \"aprovals.count >= 2\": "),
            "{e}"
        );
        assert!(e.contains("facts available: approvals, risk"), "{e}");
        assert!(e.contains("`aprovals.count` is not a fact here"), "{e}");
        let e = holds("approvals.cout >= 2", &f, "k")
            .expect_err("undefined attribute")
            .to_string();
        assert!(e.contains("`approvals.cout` is not a fact here"), "{e}");
        let e = holds("risk.level ==", &f, "k")
            .expect_err("syntax")
            .to_string();
        assert!(e.contains("syntax error"), "{e}");
    }

    #[test]
    fn a_value_that_is_not_a_boolean_is_an_error_not_truthiness() {
        let f = facts();
        for expr in ["risk.score", "risk.level", "approvals", "[1]", "none"] {
            let e = holds(expr, &f, "gate.policies.p.gates[1].condition.expr")
                .expect_err(expr)
                .to_string();
            assert!(
                e.starts_with(&format!(
                    "gate.policies.p.gates[1].condition.expr: {expr:?}: "
                )),
                "{e}"
            );
            assert!(e.contains("not a boolean"), "{e}");
        }
        // Comparisons and tests are booleans.
        assert!(holds("approvals.count is number", &f, "k").expect("eval"));
        assert!(holds("true", &f, "k").expect("eval"));
    }

    #[test]
    fn hostile_expressions_run_out_of_fuel_quickly() {
        let f = facts();
        let started = std::time::Instant::now();
        for expr in [
            r#"range(100000)|join("x"*100000) == "" "#,
            r#"("x"*100000000)|length > 0"#,
            "range(100000)|map('string')|join|length > 0 and range(100000)|sum > 0",
        ] {
            let e = holds(expr, &f, "gate.policies.p.gates[0].condition.expr")
                .expect_err(expr)
                .to_string();
            assert!(
                e.starts_with("gate.policies.p.gates[0].condition.expr: ") && e.contains("fuel"),
                "{expr}: {e}"
            );
        }
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }

    #[test]
    fn condition_gate_reports_message() {
        let spec = ConditionGate {
            expr: r#"risk.level != "high" or approvals.count >= 2"#.into(),
            message: "high risk needs two approvals".into(),
        };
        let out = evaluate(&spec, &facts(), "g").expect("eval");
        assert_eq!(out.status, Status::Fail);
        assert!(
            out.reason.starts_with("high risk needs two approvals"),
            "{}",
            out.reason
        );
    }
}
