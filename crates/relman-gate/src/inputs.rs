//! How far the run's own inputs are trusted: an override reason, a clock, a base.
//!
//! CI systems pass inputs as variables, and some get there without anyone meaning them: a GitLab
//! component input with `expand: false` keeps `$GATE_OVERRIDE` as literal text, and a project
//! variable named `RELMAN_GATE_NOW` or `RELMAN_GATE_BASE` reaches every job. None of these may turn a
//! no-go into a go: an override must be a real reason, and a clock or a base that came from the
//! environment makes the run a rehearsal, which is never a release decision.

use relman_core::Error;
use relman_core::unexpanded::unexpanded_variable;

/// The override reason to honour, or an error when what was given is not a reason (empty,
/// blank, too short, or a variable reference the CI left unexpanded).
pub fn override_reason(raw: Option<&str>) -> Result<Option<String>, Error> {
    let Some(raw) = raw else { return Ok(None) };
    let reason = raw.trim();
    if reason.chars().count() < 3 {
        return Err(Error::Usage(
            "--override needs a reason (who asked and why)".into(),
        ));
    }
    if let Some(var) = unexpanded_variable(reason) {
        return Err(Error::Usage(format!(
            "--override {reason:?}: `{var}` is a variable the CI did not expand, not a reason; \
             nothing is overridden (on GitLab, run the pipeline with the reason in the \
             RELMAN_GATE_OVERRIDE variable, or put the text itself in the `override` input)"
        )));
    }
    Ok(Some(reason.to_string()))
}

/// Why a run is a rehearsal (empty: it is a real decision).
#[derive(Debug, Default, Clone)]
pub struct Rehearsal {
    pub reasons: Vec<String>,
}

impl Rehearsal {
    /// Whether anything made this run a rehearsal.
    pub fn is_rehearsal(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// One line for reports, `None` for a real decision.
    pub fn describe(&self) -> Option<String> {
        self.is_rehearsal().then(|| self.reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_text_not_an_empty_or_unexpanded_variable() {
        assert_eq!(override_reason(None).expect("none"), None);
        assert_eq!(
            override_reason(Some("  INC-42: hotfix, on-call lead  ")).expect("reason"),
            Some("INC-42: hotfix, on-call lead".into())
        );
        // A dollar amount or a lone `$` is text.
        assert!(override_reason(Some("refund bug costs $5 per order")).is_ok());
        assert!(override_reason(Some("fix $ sign in prices")).is_ok());
        for bad in ["", "   ", "ok", "\t\n"] {
            let e = override_reason(Some(bad)).expect_err(bad).to_string();
            assert!(e.contains("needs a reason"), "{e}");
        }
        for (bad, var) in [
            ("$GATE_OVERRIDE", "$GATE_OVERRIDE"),
            ("${GATE_OVERRIDE}", "${GATE_OVERRIDE}"),
            ("$[[ inputs.override ]]", "$[[ inputs.override ]]"),
            ("${{ inputs.reason }}", "${{ inputs.reason }}"),
            ("hotfix: $REASON (INC-1)", "$REASON"),
            ("$(cat reason.txt)", "$(cat reason.txt)"),
            ("because ${UNCLOSED", "${UNCLOSED"),
        ] {
            let e = override_reason(Some(bad)).expect_err(bad).to_string();
            assert!(e.contains(&format!("`{var}` is a variable")), "{bad}: {e}");
        }
    }
}
