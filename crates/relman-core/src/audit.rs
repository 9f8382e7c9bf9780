//! Audit records: one decision or action relman took, and the filter that reads them back.
//!
//! They live in the core because the state branch ([`crate::state`]) stores them; every forge
//! backend writes them through its own `append_audit` and reads them through `audit_log`.

use serde::{Deserialize, Serialize};

/// What an audit record is about. Every field is optional: a gate evaluates a sha, a
/// changelog publishes a tag, a rollback drill targets an environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// One decision or action relman took: who, what, when, why, on what, and from which CI run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Who: the CI actor or user.
    pub actor: String,
    /// What: a dotted action name, `<concern>.<verb>` (`changelog.publish`, `gate.evaluate`,
    /// `rollback.drill`).
    pub action: String,
    /// When: RFC 3339 UTC on disk (`2025-05-01T12:00:00Z`, as relman has always written it);
    /// read once with the record, so a filter, a soak or a drill's age compares instants.
    #[serde(deserialize_with = "time")]
    pub when: jiff::Timestamp,
    /// Why: the reason given, or the verdict reached (`go: 12 checks green`).
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub subject: Subject,
    /// Anything else worth keeping (the gate's evidence, the versions involved).
    #[serde(default)]
    pub details: serde_json::Value,
    /// URL of the CI run that acted, if any.
    #[serde(default)]
    pub run: Option<String>,
}

impl AuditRecord {
    /// A record stamped with the current time; fill in the rest with struct update syntax.
    pub fn now(actor: impl Into<String>, action: impl Into<String>) -> Self {
        AuditRecord {
            actor: actor.into(),
            action: action.into(),
            when: now_second(),
            reason: String::new(),
            subject: Subject::default(),
            details: serde_json::Value::Null,
            run: None,
        }
    }
}

/// Which audit records to read. Every field set must match; an empty filter reads everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An action, or a dotted prefix of one: `gate` matches `gate` and `gate.evaluate`, not
    /// `gatekeeper.x`.
    pub action: Option<String>,
    pub actor: Option<String>,
    pub sha: Option<String>,
    pub tag: Option<String>,
    pub environment: Option<String>,
    /// Records at or after this instant.
    pub since: Option<jiff::Timestamp>,
    /// Records strictly before this instant.
    pub until: Option<jiff::Timestamp>,
    /// Keep only the newest `limit` matching records.
    pub limit: Option<usize>,
}

impl AuditFilter {
    /// Whether `record` passes the filter.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let when = record.when;
        let action_ok = self.action.as_deref().is_none_or(|want| {
            record.action == want
                || record
                    .action
                    .strip_prefix(want)
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        action_ok
            && eq(&self.actor, Some(&record.actor))
            && eq(&self.sha, record.subject.sha.as_deref())
            && eq(&self.tag, record.subject.tag.as_deref())
            && eq(&self.environment, record.subject.environment.as_deref())
            && self.since.is_none_or(|s| when >= s)
            && self.until.is_none_or(|u| when < u)
    }
}

/// Who acts, for an audit record: the CI's actor (`GITHUB_ACTOR`, `GITLAB_USER_LOGIN`), else
/// the local user, else `unknown`. One definition, so every concern's records name people alike.
pub fn actor(env: &dyn Fn(&str) -> Option<String>) -> String {
    ["GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER", "USERNAME"]
        .iter()
        .find_map(|k| env(k))
        .unwrap_or_else(|| "unknown".into())
}

/// The CI run acting, if any: the GitHub Actions run, else the GitLab job, else its pipeline.
pub fn run_url(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let (Some(server), Some(repo), Some(id)) = (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{id}"));
    }
    env("CI_JOB_URL").or_else(|| env("CI_PIPELINE_URL"))
}

/// `#[serde(deserialize_with)]` for a stored time: RFC 3339 with an offset, else an error that
/// quotes the text (the file and line are added by whoever reads the file).
pub fn time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<jiff::Timestamp, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|e| {
        serde::de::Error::custom(format!(
            "{text:?} is not an RFC 3339 time with an offset: {e}"
        ))
    })
}

/// The current time to the second: what records keep (`2025-05-01T12:00:00Z` on disk).
pub fn now_second() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    // Second precision: enough for people, and stable-width in files.
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// The current time as RFC 3339 UTC with second precision (`2025-05-01T12:00:00Z`).
pub fn now_rfc3339() -> String {
    now_second().to_string()
}
