//! Why a rollback runs: the incident and the reason, checked before anything is read.
//!
//! Both go into the audit record and the idempotency key, so neither may be empty, blank or a
//! variable reference a CI left unexpanded (`$REASON`, `${{ inputs.reason }}`,
//! `$[[ inputs.reason ]]`): two triggers whose "reason" is the same literal `$REASON` would
//! share a key by accident, and the record would say nothing.

use relman_core::Error;
use relman_core::unexpanded::unexpanded_variable;
use sha2::{Digest, Sha256};

/// The incident and reason of a run, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    /// An incident id (`INC-42`), when given.
    pub incident: Option<String>,
    /// Why, in words: `--reason`, else `incident <id>`.
    pub reason: String,
    /// What identifies this rollback among others of the environment: the incident when
    /// given, else the reason.
    pub identity: String,
}

impl Why {
    /// The first 12 hex digits of the identity's SHA-256: the key part naming the incident.
    pub fn digest(&self) -> String {
        let hash = Sha256::digest(self.identity.as_bytes());
        hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}

/// Validates `--incident` and `--reason`. A rollback needs at least one; a drill without
/// either is a drill of `default_drill` (its run, or its day).
pub fn why(
    incident: Option<&str>,
    reason: Option<&str>,
    default_drill: Option<String>,
) -> Result<Why, Error> {
    let incident = incident.map(|i| checked("--incident", i, 1)).transpose()?;
    let reason = reason.map(|r| checked("--reason", r, 3)).transpose()?;
    let (reason, identity) = match (&incident, reason, default_drill) {
        (Some(i), Some(r), _) => (r, i.clone()),
        (Some(i), None, _) => (format!("incident {i}"), i.clone()),
        (None, Some(r), _) => (r.clone(), r),
        (None, None, Some(drill)) => (drill.clone(), drill),
        (None, None, None) => {
            return Err(Error::Usage(
                "a rollback needs --reason or --incident (who asked and why): it goes into the \
                 audit record and makes a retried trigger the same rollback"
                    .into(),
            ));
        }
    };
    Ok(Why {
        incident,
        reason,
        identity,
    })
}

fn checked(flag: &str, raw: &str, min: usize) -> Result<String, Error> {
    let text = raw.trim();
    if text.chars().count() < min {
        return Err(Error::Usage(format!(
            "{flag} is empty or too short: say who asked and why (it is recorded)"
        )));
    }
    if let Some(var) = unexpanded_variable(text) {
        return Err(Error::Usage(format!(
            "{flag} {text:?}: `{var}` is a variable the CI did not expand, not a reason; \
             nothing was rolled back (on GitLab, pass the text itself in the input, or run the \
             pipeline with it in the variable)"
        )));
    }
    if text.contains(['\n', '\r']) {
        return Err(Error::Usage(format!("{flag}: one line, please")));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_or_incident_is_needed_and_must_be_real_text() {
        let w = why(Some(" INC-42 "), Some("checkout 500s"), None).expect("ok");
        assert_eq!(w.incident.as_deref(), Some("INC-42"));
        assert_eq!(w.reason, "checkout 500s");
        assert_eq!(w.identity, "INC-42");
        assert_eq!(w.digest().len(), 12);
        // The incident names the rollback: another wording of the reason is the same one.
        assert_eq!(
            w.digest(),
            why(Some("INC-42"), Some("other words"), None)
                .expect("ok")
                .digest()
        );
        assert_eq!(
            why(None, Some("errors up"), None).expect("ok").identity,
            "errors up"
        );
        assert!(why(None, None, None).is_err());
        assert_eq!(
            why(None, None, Some("drill".into())).expect("drill").reason,
            "drill"
        );
        for (incident, reason, needle) in [
            (None, Some(""), "empty"),
            (None, Some("  "), "empty"),
            (Some(""), None, "empty"),
            (None, Some("$REASON"), "`$REASON` is a variable"),
            (None, Some("${REASON}"), "`${REASON}` is a variable"),
            (None, Some("$[[ inputs.reason ]]"), "`$[[ inputs.reason ]]`"),
            (Some("$INCIDENT"), Some("ok then"), "`$INCIDENT`"),
            (None, Some("two\nlines"), "one line"),
        ] {
            let e = why(incident, reason, None).expect_err(needle).to_string();
            assert!(e.contains(needle), "{e}");
            assert_eq!(
                why(incident, reason, None).expect_err(needle).exit_code(),
                relman_core::ExitCode::BadInput
            );
        }
    }
}
