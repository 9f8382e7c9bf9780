//! Evaluating a resolved policy: risk first, then each gate in order, severities applied.
//!
//! Order matters only for facts: a `condition` or a `when:` guard sees `risk` and the facts
//! of the gates listed before it, so a policy reads top to bottom. A gate whose guard is false
//! is reported as skipped with the guard, never silently dropped.

use std::time::Instant;

use relman_core::Error;
use relman_core::config::{GateSpec, Package, RiskSettings, Severity};

use crate::finding::{MAX_ANNOTATIONS, Status};
use crate::policy::Resolved;
use crate::report::GateReport;
use crate::{
    Annotation, AnnotationLevel, Context, Finding, condition, evidence, forge, readiness, risk,
    window,
};

/// Everything a run decided, before it is reported.
#[derive(Debug)]
pub struct Evaluation {
    pub risk: serde_json::Value,
    pub gates: Vec<GateReport>,
    pub annotations: Vec<Annotation>,
    /// Whether every blocking gate passed.
    pub go: bool,
}

/// Evaluates `policy` in `cx`, scoring risk with `settings` over `packages`.
pub fn evaluate(
    policy: &Resolved,
    settings: &RiskSettings,
    packages: &[Package],
    cx: &mut Context,
) -> Result<Evaluation, Error> {
    evaluate_with(policy, settings, packages, cx, false)
}

/// [`evaluate`]. A gate that needs a capability the forge lacks ([`forge::capable`]: the local
/// store asked for checks or approvals) fails naming it, before it runs; in a `dry_run` it
/// (or an [`Error::Unsupported`] it meets) is reported as not evaluated (`skipped`) instead. A dry run is never a release decision (the caller makes it a
/// rehearsal), so a gate left out cannot turn into a go.
pub fn evaluate_with(
    policy: &Resolved,
    settings: &RiskSettings,
    packages: &[Package],
    cx: &mut Context,
    dry_run: bool,
) -> Result<Evaluation, Error> {
    let assessment = risk::assess(settings, packages, &cx.change)?;
    let risk_facts = serde_json::to_value(&assessment).map_err(|e| Error::Usage(e.to_string()))?;
    cx.facts.insert("risk".into(), risk_facts.clone());
    let mut gates = Vec::new();
    let mut annotations = Vec::new();
    for (key, spec) in &policy.gates {
        let name = spec.display_name();
        let kind = spec.kinds().first().copied().unwrap_or("gate");
        if let Some(guard) = &spec.when
            && !condition::holds(guard, &cx.facts, &format!("{key}.when"))?
        {
            // Still a fact (`status: skipped`), so a later condition reads the same names on
            // every run.
            let mut f = Finding::new(Status::Skipped, format!("skipped: `{guard}` is false"));
            f.facts = gate_facts(&f);
            add_facts(&mut cx.facts, &name, &f.facts);
            gates.push(GateReport::new(&name, kind, spec, f, 0));
            continue;
        }
        let started = Instant::now();
        let missing = cx
            .forge
            .capabilities()
            .missing(&forge::capable::needs(spec));
        let mut finding = if !missing.is_empty() {
            let why: Vec<String> = missing
                .iter()
                .map(|&c| relman_forge::lacks(cx.forge.name(), c))
                .collect();
            let why = why.join("; ");
            if dry_run {
                Finding::new(
                    Status::Skipped,
                    format!("not evaluated in a dry run: {why}"),
                )
            } else {
                Finding::new(
                    Status::Fail,
                    format!(
                        "{why}: this gate cannot pass on it (configure a forge that can, or take \
                         the gate out of the policy)"
                    ),
                )
            }
        } else {
            match run_one(spec, key, &assessment, cx) {
                Err(e @ Error::Unsupported { .. }) if dry_run => {
                    Finding::new(Status::Skipped, format!("not evaluated in a dry run: {e}"))
                }
                other => other?,
            }
        };
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // One fact map: what expressions read is what the report shows.
        finding.facts = gate_facts(&finding);
        add_facts(&mut cx.facts, &name, &finding.facts);
        let failed = finding.status == Status::Fail;
        let level = match spec.severity {
            Severity::Blocking => AnnotationLevel::Error,
            Severity::Warning => AnnotationLevel::Warning,
        };
        if failed {
            let mut file_notes: Vec<Annotation> = finding
                .annotations
                .iter()
                .take(MAX_ANNOTATIONS)
                .cloned()
                .map(|mut a| {
                    // A warning gate's findings never show as errors.
                    if spec.severity == Severity::Warning && a.level == AnnotationLevel::Error {
                        a.level = AnnotationLevel::Warning;
                    }
                    a
                })
                .collect();
            annotations.push(Annotation {
                level,
                file: None,
                line: None,
                title: format!("relman gate: {name}"),
                message: finding.reason.clone(),
            });
            annotations.append(&mut file_notes);
        }
        gates.push(GateReport::new(&name, kind, spec, finding, ms));
    }
    let go = gates.iter().all(|g| !g.blocking);
    Ok(Evaluation {
        risk: risk_facts,
        gates,
        annotations,
        go,
    })
}

/// The name a gate's facts go under at the top level: `second-approval` reads as a
/// subtraction in an expression, so it is also `second_approval` (and always
/// `gates["second-approval"]`).
pub fn fact_name(gate: &str) -> String {
    gate.replace('-', "_")
}

fn add_facts(
    facts: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    gate: &serde_json::Value,
) {
    facts.insert(name.to_string(), gate.clone());
    let alias = fact_name(name);
    if alias != name {
        facts.insert(alias, gate.clone());
    }
    let all = facts
        .entry("gates")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(all) = all.as_object_mut() {
        all.insert(name.to_string(), gate.clone());
    }
}

/// A gate's facts plus its outcome (`passed`, `status`), so conditions can say `junit.passed`.
fn gate_facts(f: &Finding) -> serde_json::Value {
    let mut facts = match &f.facts {
        serde_json::Value::Object(m) => m.clone(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other.clone());
            m
        }
    };
    facts.insert("passed".into(), (f.status == Status::Pass).into());
    facts.insert(
        "status".into(),
        serde_json::to_value(f.status).unwrap_or_default(),
    );
    serde_json::Value::Object(facts)
}

fn run_one(
    spec: &GateSpec,
    key: &str,
    assessment: &risk::Assessment,
    cx: &Context,
) -> Result<Finding, Error> {
    let located = |e: Error| match e {
        Error::Usage(m) if !m.starts_with("gate.") => Error::Usage(format!("{key}: {m}")),
        other => other,
    };
    let f = if let Some(s) = &spec.junit {
        evidence::junit::evaluate(s, cx)
    } else if let Some(s) = &spec.sarif {
        evidence::sarif::evaluate(s, cx)
    } else if let Some(s) = &spec.coverage {
        evidence::coverage::evaluate(s, cx)
    } else if let Some(s) = &spec.benchmark {
        evidence::benchmark::evaluate(s, cx)
    } else if let Some(s) = &spec.checks {
        forge::checks::evaluate(s, cx)
    } else if let Some(s) = &spec.approvals {
        forge::approvals::evaluate(s, cx)
    } else if let Some(s) = &spec.blockers {
        forge::blockers::evaluate(s, cx)
    } else if let Some(s) = &spec.risk {
        Ok(risk::evaluate(s, assessment))
    } else if let Some(s) = &spec.window {
        window::evaluate(s, cx)
    } else if let Some(s) = &spec.rollback {
        readiness::rollback::evaluate(s, cx)
    } else if let Some(s) = &spec.monitoring {
        readiness::monitoring::evaluate(s, cx)
    } else if let Some(s) = &spec.condition {
        condition::evaluate(s, &cx.facts, key)
    } else {
        Err(Error::Usage(format!("{key}: a gate needs one kind")))
    };
    f.map_err(located)
}
