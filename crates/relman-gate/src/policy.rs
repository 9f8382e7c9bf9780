//! Resolving a named policy into the gates it evaluates, following `extends`.
//!
//! The parent's gates come first, so a production policy reads as "everything staging
//! checks, plus …"; a child gate with the parent's gate name replaces it in place, which is
//! how a stricter policy tightens one threshold without restating the rest.

use relman_core::Error;
use relman_core::config::{GateSettings, GateSpec};

/// A policy with its inherited gates resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub name: String,
    pub description: String,
    /// The policy and the ones it extends, child first (`production → staging → base`).
    pub chain: Vec<String>,
    /// Gates in evaluation order, each with its config key for error messages.
    pub gates: Vec<(String, GateSpec)>,
}

/// Resolves `name` (or the default policy). An unknown name lists the defined ones.
pub fn resolve(settings: &GateSettings, name: Option<&str>) -> Result<Resolved, Error> {
    let name = name.unwrap_or(&settings.default_policy);
    let mut chain = Vec::new();
    let mut cur = Some(name);
    while let Some(n) = cur {
        let Some(policy) = settings.policies.get(n) else {
            return Err(unknown(settings, n));
        };
        if chain.iter().any(|c| c == n) {
            // load.rs rejects cycles; a config built in code could still hold one.
            return Err(Error::Usage(format!(
                "gate policies extend each other in a cycle at {n:?}"
            )));
        }
        chain.push(n.to_string());
        cur = policy.extends.as_deref();
    }
    let mut gates: Vec<(String, GateSpec)> = Vec::new();
    for policy_name in chain.iter().rev() {
        let policy = &settings.policies[policy_name];
        let mut own = std::collections::HashSet::new();
        for (i, gate) in policy.gates.iter().enumerate() {
            let key = format!("gate.policies.{policy_name}.gates[{i}]");
            let gate_name = gate.display_name();
            if !own.insert(gate_name.clone()) {
                return Err(Error::Usage(format!(
                    "{key}: policy {policy_name:?} has two gates named {gate_name:?}; give one a `name`"
                )));
            }
            match gates
                .iter_mut()
                .find(|(_, g)| g.display_name() == gate_name)
            {
                Some(slot) => *slot = (key, gate.clone()),
                None => gates.push((key, gate.clone())),
            }
        }
    }
    Ok(Resolved {
        name: name.to_string(),
        description: settings.policies[name].description.clone(),
        chain,
        gates,
    })
}

fn unknown(settings: &GateSettings, name: &str) -> Error {
    let defined: Vec<&str> = settings.policies.keys().map(String::as_str).collect();
    if defined.is_empty() {
        Error::Usage(format!(
            "no gate policy {name:?}: define gate.policies.{name} in .relman.yml (see docs/gate.md)"
        ))
    } else {
        Error::Usage(format!(
            "no gate policy {name:?}; defined: {}",
            defined.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relman_core::config::parse_str;

    fn settings(yaml: &str) -> GateSettings {
        parse_str(yaml, std::path::Path::new(".relman.yml"))
            .expect("config")
            .gate
    }

    const YAML: &str = "
gate:
  default_policy: staging
  policies:
    base:
      gates:
        - junit: { paths: [a.xml] }
        - risk: { max_level: critical }
    staging:
      extends: base
      gates:
        - blockers: {}
    production:
      extends: staging
      description: prod
      gates:
        - risk: { max_level: medium }
        - name: second-approval
          when: risk.level == \"high\"
          approvals: { min: 2 }
";

    #[test]
    fn parents_first_and_same_name_replaces_in_place() {
        let r = resolve(&settings(YAML), Some("production")).expect("resolve");
        assert_eq!(r.chain, ["production", "staging", "base"]);
        let names: Vec<String> = r.gates.iter().map(|(_, g)| g.display_name()).collect();
        assert_eq!(names, ["junit", "risk", "blockers", "second-approval"]);
        let (key, risk) = &r.gates[1];
        assert_eq!(key, "gate.policies.production.gates[0]");
        assert_eq!(
            risk.risk.as_ref().map(|r| r.max_level),
            Some(relman_core::config::RiskLevel::Medium)
        );
        assert_eq!(r.description, "prod");
    }

    #[test]
    fn default_policy_and_unknown_names() {
        let s = settings(YAML);
        assert_eq!(resolve(&s, None).expect("default").name, "staging");
        let err = resolve(&s, Some("prod")).expect_err("unknown").to_string();
        assert_eq!(
            err,
            "no gate policy \"prod\"; defined: base, production, staging"
        );
        let err = resolve(&GateSettings::default(), None)
            .expect_err("none")
            .to_string();
        assert!(err.contains("define gate.policies.default"), "{err}");
    }

    #[test]
    fn duplicate_names_in_one_policy_are_refused() {
        let s = settings(
            "gate:\n  policies:\n    default:\n      gates:\n        - junit: {paths: [a]}\n        - junit: {paths: [b]}\n",
        );
        let err = resolve(&s, None).expect_err("dup").to_string();
        assert!(err.starts_with("gate.policies.default.gates[1]: "), "{err}");
    }

    #[test]
    fn config_rejects_cycles_and_gates_with_no_or_two_kinds() {
        let err = |y: &str| {
            parse_str(y, std::path::Path::new(".relman.yml"))
                .expect_err("invalid")
                .to_string()
        };
        let e = err("gate:\n  policies:\n    a:\n      extends: b\n    b:\n      extends: a\n");
        assert!(e.contains("cycle: a → b → a"), "{e}");
        let e = err("gate:\n  policies:\n    a:\n      gates:\n        - name: x\n");
        assert!(e.starts_with(".relman.yml:5:"), "{e}");
        assert!(
            e.contains("gate.policies.a.gates[0]: a gate needs one kind"),
            "{e}"
        );
        let e = err(
            "gate:\n  policies:\n    a:\n      gates:\n        - junit: {}\n          sarif: {}\n",
        );
        assert!(
            e.contains("exactly one kind, this one has junit, sarif"),
            "{e}"
        );
        let e = err("gate:\n  policies:\n    a:\n      extends: nope\n");
        assert!(
            e.contains("gate.policies.a.extends: policy \"nope\" is not defined"),
            "{e}"
        );
        let e = err(
            "gate:\n  policies:\n    a:\n      gates:\n        - sarif:\n            allow:\n              - {rule: x, until: 2026-13-01, reason: r}\n",
        );
        assert!(
            e.contains("gate.policies.a.gates[0].sarif.allow[0].until"),
            "{e}"
        );
        let e = err(
            "gate:\n  policies:\n    a:\n      gates:\n        - sarif:\n            allow:\n              - {rule: x, until: 2026-12-01, reason: ''}\n",
        );
        assert!(e.contains("needs a reason"), "{e}");
    }
}
