//! The `blockers` gate: no open issues labelled as release blockers or in the milestone.

use relman_core::Error;
use relman_core::config::BlockersGate;
use relman_forge::IssueRef;

use crate::{Context, Finding, Status};

/// Evaluates the gate: one listing per label and one for the milestone.
pub fn evaluate(spec: &BlockersGate, cx: &Context) -> Result<Finding, Error> {
    check(spec)?;
    let mut open: Vec<IssueRef> = Vec::new();
    let mut explain = Vec::new();
    let mut add = |found: Vec<IssueRef>, what: String, open: &mut Vec<IssueRef>| {
        explain.push(format!(
            "{what}: {} open on {}",
            found.len(),
            cx.forge.name()
        ));
        for i in found {
            if !open.iter().any(|o| o.number == i.number) {
                open.push(i);
            }
        }
    };
    for label in &spec.labels {
        let found = cx.forge.issues_with_label(label)?;
        add(found, format!("issues labelled {label:?}"), &mut open);
    }
    if let Some(m) = &spec.milestone {
        let found = cx.forge.issues_in_milestone(m)?;
        add(found, format!("issues in milestone {m:?}"), &mut open);
    }
    let reason = match open.len() {
        0 => "no open release blockers".to_string(),
        1 => "1 open release blocker".to_string(),
        n => format!("{n} open release blockers"),
    };
    let mut f = Finding::new(
        if open.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        reason,
    );
    f.evidence = open
        .iter()
        .map(|i| format!("#{} {} ({})", i.number, i.title, i.url))
        .collect();
    f.facts = serde_json::json!({
        "count": open.len(),
        "issues": open.iter().map(|i| i.number).collect::<Vec<_>>(),
    });
    f.explain = explain;
    Ok(f)
}

/// What the gate needs from its settings (also run by `relman config check`).
pub(crate) fn check(spec: &BlockersGate) -> Result<(), Error> {
    if spec.labels.is_empty() && spec.milestone.is_none() {
        return Err(Error::Usage(
            "blockers: name at least one label or a milestone".into(),
        ));
    }
    Ok(())
}
