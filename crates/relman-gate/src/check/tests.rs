use std::path::Path;

use relman_core::config::{Source, parse_str};

fn check(text: &str) -> Result<(), String> {
    let path = Path::new(".relman.yml");
    let cfg = parse_str(text, path).map_err(|e| e.to_string())?;
    super::config(&cfg.gate, &Source::new(path, text)).map_err(|e| e.to_string())
}

fn err(text: &str) -> String {
    check(text).expect_err(text)
}

#[test]
fn unknown_time_zone_is_located() {
    let e = err("gate:
  policies:
    prod:
      gates:
        - window:
            timezone: Europe/Nowhere
            allowed: [{cron_start: \"0 9 * * 1\", cron_end: \"0 17 * * 5\"}]
");
    assert!(
        e.starts_with(
            ".relman.yml:6:23: gate.policies.prod.gates[0].window.timezone: unknown time zone \"Europe/Nowhere\""
        ),
        "{e}"
    );
    let e = err("gate:
  policies:
    prod:
      gates:
        - window:
            freezes:
              - {from: \"2026-12-20\", to: \"2027-01-04\"}
              - {from: \"2026-12-20\", timezone: Mars/Base}
");
    assert!(
        e.starts_with(
            ".relman.yml:8:48: gate.policies.prod.gates[0].window.freezes[1].timezone: unknown time zone"
        ),
        "{e}"
    );
}

#[test]
fn expressions_compile_and_read_known_facts() {
    let e = err("gate:
  policies:
    prod:
      gates:
        - junit: {paths: [a.xml]}
        - condition: {expr: \"risk.level ==\"}
");
    assert!(
        e.starts_with(".relman.yml:6:29: gate.policies.prod.gates[1].condition.expr: \"risk.level ==\": syntax error"),
        "{e}"
    );
    // A guard reading a gate listed after it fails on every run, not only on some.
    let e = err("gate:
  policies:
    prod:
      gates:
        - name: extra
          when: approvals.count < 2
          junit: {paths: [a.xml]}
        - approvals: {min: 1}
");
    assert!(
        e.starts_with(".relman.yml:6:17: gate.policies.prod.gates[0].when: \"approvals.count < 2\" reads `approvals`, which is not a fact here: it sees risk, gates"),
        "{e}"
    );
    let e = err("gate:
  policies:
    prod:
      gates:
        - {name: second-approval, approvals: {min: 2}}
        - condition: {expr: \"second-approval.passed\"}
");
    assert!(
        e.contains("reads `approval`, `second`, which are not"),
        "{e}"
    );
    assert!(e.contains("second_approval.passed"), "{e}");
    // Normalised and quoted names are both facts.
    check("gate:
  policies:
    prod:
      gates:
        - {name: second-approval, approvals: {min: 2}}
        - condition: {expr: 'second_approval.passed and gates[\"second-approval\"].status == \"pass\"'}
")
    .expect("ok");
}

#[test]
fn default_policy_must_name_a_policy() {
    let e = err("gate:
  default_policy: prod
  policies:
    production:
      gates: [{junit: {paths: [a.xml]}}]
");
    assert_eq!(
        e,
        ".relman.yml:2:19: gate.default_policy: \"prod\" names no policy; defined: production"
    );
}

#[test]
fn a_policy_without_gates_is_refused() {
    let e = err("gate:
  policies:
    empty: {description: nothing}
");
    assert!(
        e.starts_with(".relman.yml:3:12: gate.policies.empty.gates: policy \"empty\" has no gates"),
        "{e}"
    );
}

#[test]
fn the_gate_at_fault_not_the_first_text_match() {
    // `prod` first appears on line 2; the duplicate gate is the policy's second one.
    let e = err("gate:
  default_policy: prod
  policies:
    prod:
      gates:
        - junit: {paths: [a.xml]}
        - name: junit
          junit: {paths: [b.xml]}
");
    assert!(
        e.starts_with(".relman.yml:7:11: gate.policies.prod.gates[1]: policy \"prod\" has two gates named \"junit\""),
        "{e}"
    );
}

#[test]
fn durations_globs_and_settings_are_checked() {
    let e = err("gate:
  policies:
    p:
      gates:
        - checks: {timeout: soon}
");
    assert!(
        e.starts_with(".relman.yml:5:29: gate.policies.p.gates[0].checks.timeout: "),
        "{e}"
    );
    let e = err("gate:
  policies:
    p:
      gates:
        - junit: {paths: [\"reports/[\"]}
");
    assert!(
        e.starts_with(".relman.yml:5:27: gate.policies.p.gates[0].junit.paths[0]: invalid glob"),
        "{e}"
    );
    let e = err("gate:
  policies:
    p:
      gates:
        - blockers: {labels: []}
");
    assert!(
        e.starts_with(
            ".relman.yml:5:21: gate.policies.p.gates[0].blockers: name at least one label"
        ),
        "{e}"
    );
}

#[test]
fn benchmark_confidence_is_a_probability_and_method_a_known_word() {
    let e = err("gate:
  policies:
    prod:
      gates:
        - benchmark: { paths: [b.json], baseline: [a.json], confidence: 95 }
");
    assert!(
        e.starts_with(".relman.yml:5:")
            && e.contains(
                "gate.policies.prod.gates[0].benchmark.confidence: 95 is not a confidence"
            ),
        "{e}"
    );
    let e = err("gate:
  policies:
    prod:
      gates:
        - benchmark: { paths: [b.json], baseline: [a.json], method: median }
");
    assert!(e.contains("unknown variant `median`"), "{e}");
    check(
        "gate:
  policies:
    prod:
      gates:
        - benchmark: { paths: [b.json], baseline: [a.json], method: statistical, confidence: 0.99 }
",
    )
    .expect("valid");
}
