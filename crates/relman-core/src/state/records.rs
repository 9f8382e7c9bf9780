//! Typed records other concerns share through the state branch.

use serde::{Deserialize, Serialize};

use crate::audit::{AuditRecord, Subject};
use crate::config::RecordKind;

/// The audit action a rollback drill is recorded under (the gate's `drill_within_days`
/// reads it; a dotted suffix such as `rollback.drill.auto` is a drill too).
pub const DRILL_ACTION: &str = "rollback.drill";

/// The kind of record an audit action is, for `state.durable`.
pub fn kind_of_action(action: &str) -> RecordKind {
    let is = |prefix: &str| {
        action == prefix
            || action
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    if is("gate.override") {
        RecordKind::Override
    } else if is("gate") {
        RecordKind::Gate
    } else if is(DRILL_ACTION) {
        RecordKind::Drill
    } else if is("rollback") {
        RecordKind::Rollback
    } else if is("changelog") || is("release") {
        RecordKind::Release
    } else if is("forge.dispatch") || is("dispatch") {
        RecordKind::Dispatch
    } else if is("promote") || is("deployment") {
        RecordKind::Deployment
    } else if is("lock") {
        RecordKind::Lock
    } else {
        RecordKind::Other
    }
}

/// How a drill went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrillResult {
    Success,
    Failure,
}

impl DrillResult {
    /// `success` or `failure`, as recorded.
    pub fn as_str(self) -> &'static str {
        match self {
            DrillResult::Success => "success",
            DrillResult::Failure => "failure",
        }
    }
}

/// A rollback drill: rollback writes it, the gate's `rollback: { drill_within_days }` reads
/// it. Kept as an audit record (`rollback.drill`, `subject.environment`,
/// `details.result`), so that `relman audit` lists drills with everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drill {
    pub environment: String,
    pub result: DrillResult,
    pub when: jiff::Timestamp,
    pub actor: String,
    pub reason: String,
    pub run: Option<String>,
}

impl Drill {
    /// The audit record this drill is kept as.
    pub fn to_audit(&self) -> AuditRecord {
        AuditRecord {
            actor: self.actor.clone(),
            action: DRILL_ACTION.into(),
            when: self.when,
            reason: self.reason.clone(),
            subject: Subject {
                environment: Some(self.environment.clone()),
                ..Subject::default()
            },
            details: serde_json::json!({ "result": self.result }),
            run: self.run.clone(),
        }
    }

    /// The drill an audit record holds, if it is one. A result other than `success` (or a
    /// missing one) is a failed drill: only a recorded success counts.
    pub fn from_audit(record: &AuditRecord) -> Option<Drill> {
        if kind_of_action(&record.action) != RecordKind::Drill {
            return None;
        }
        let result = ["result", "outcome"]
            .iter()
            .find_map(|k| record.details.get(*k).and_then(|v| v.as_str()));
        Some(Drill {
            environment: record.subject.environment.clone()?,
            result: if result == Some("success") {
                DrillResult::Success
            } else {
                DrillResult::Failure
            },
            when: record.when,
            actor: record.actor.clone(),
            reason: record.reason.clone(),
            run: record.run.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_map_to_kinds() {
        assert_eq!(kind_of_action("gate.override"), RecordKind::Override);
        assert_eq!(kind_of_action("gate.evaluate"), RecordKind::Gate);
        assert_eq!(kind_of_action("rollback.drill.auto"), RecordKind::Drill);
        assert_eq!(kind_of_action("rollback.run"), RecordKind::Rollback);
        assert_eq!(kind_of_action("rollbacker"), RecordKind::Other);
        assert_eq!(kind_of_action("changelog.publish"), RecordKind::Release);
        assert_eq!(kind_of_action("forge.dispatch"), RecordKind::Dispatch);
    }

    #[test]
    fn a_drill_round_trips_through_its_audit_record() {
        let drill = Drill {
            environment: "production".into(),
            result: DrillResult::Success,
            when: "2026-01-02T03:04:05Z".parse().expect("time"),
            actor: "ops".into(),
            reason: "quarterly".into(),
            run: None,
        };
        let record = drill.to_audit();
        assert_eq!(record.details["result"], "success");
        assert_eq!(Drill::from_audit(&record), Some(drill));
        let mut odd = record.clone();
        odd.details = serde_json::json!({ "result": "partial" });
        assert_eq!(
            Drill::from_audit(&odd).map(|d| d.result),
            Some(DrillResult::Failure)
        );
    }

    /// Records on state branches written before times were typed: they read, and written
    /// back (a lock renewed, a record copied) their bytes do not change.
    #[test]
    fn records_written_before_typed_times_read_and_write_back_unchanged() {
        let old_audit = r#"{
  "actor": "ops",
  "action": "rollback.drill",
  "when": "2026-01-02T03:04:05Z",
  "reason": "quarterly",
  "subject": {
    "environment": "production"
  },
  "details": {
    "result": "success"
  },
  "run": null
}"#;
        let record: AuditRecord = serde_json::from_str(old_audit).expect("old audit record");
        assert_eq!(
            serde_json::to_string_pretty(&record).expect("json"),
            old_audit
        );
        let drill = Drill::from_audit(&record).expect("a drill");
        assert_eq!(drill.when.as_second(), 1_767_323_045);

        let old_lock = r#"{
  "environment": "production",
  "holder": "promote:run-1",
  "acquired_at": "2026-01-02T03:04:05Z",
  "expires_at": "2026-01-02T03:14:05Z"
}"#;
        let lock: crate::state::Lock = serde_json::from_str(old_lock).expect("old lock");
        assert!(lock.expires_at > lock.acquired_at);
        assert_eq!(serde_json::to_string_pretty(&lock).expect("json"), old_lock);

        // A record imported with an offset reads as the same instant.
        let offset = old_audit.replace("2026-01-02T03:04:05Z", "2026-01-02T05:04:05+02:00");
        let moved: AuditRecord = serde_json::from_str(&offset).expect("offset");
        assert_eq!(moved.when, record.when);
        // Text that is not a time is refused, never read as some default.
        let bad = old_audit.replace("2026-01-02T03:04:05Z", "last tuesday");
        assert!(serde_json::from_str::<AuditRecord>(&bad).is_err());
    }
}
