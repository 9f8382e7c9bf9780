//! The `rollback:` section: per environment, how a rollback is dispatched and followed.
//!
//! One `dispatch:` mapping per environment with exactly one of `workflow`,
//! `repository_dispatch`, `deployment`, `job` or `command` (a flat mapping rather than a
//! tagged enum: every key stays known to the schema and an unknown one is a located error).
//! String values are minijinja templates rendered with the target (`{{ target.sha }}`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HttpCheck, PrometheusCheck};
use crate::error::{Error, Result};

/// Rollback: back to the last known-good deployment of an environment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackSettings {
    /// How each environment is rolled back, by environment name.
    pub environments: BTreeMap<String, RollbackEnvironment>,
}

/// How one environment is rolled back.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackEnvironment {
    /// What a rollback starts: exactly one of `workflow`, `repository_dispatch`,
    /// `deployment`, `job`, `command`.
    pub dispatch: RollbackDispatch,
    /// How long to follow the dispatched run before calling the rollback failed, e.g. `30m`.
    pub timeout: String,
    /// Time between two looks at the dispatched run, e.g. `10s`.
    pub poll: String,
    /// What `--drill` does here: `validate` (resolve the target and check the dispatch
    /// without running it) or `execute` (really roll back: for a staging environment).
    pub drill: DrillMode,
    /// Checks that the service is healthy again once the rollback's run succeeded: the same
    /// HTTP and Prometheus probes as the gate's `monitoring`, retried while it comes back.
    pub verify: Option<RollbackVerify>,
}

/// Verification after a rollback: every probe must pass in one round, within `within`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackVerify {
    /// HTTP health checks (as the gate's `monitoring.http`).
    pub http: Vec<HttpCheck>,
    /// Prometheus instant queries with bounds (as the gate's `monitoring.prometheus`).
    pub prometheus: Vec<PrometheusCheck>,
    /// How long the service may take to come back once the rollback's run succeeded: rounds
    /// of every check repeat until one round passes or this much time has passed, e.g. `5m`
    /// (`0s`: one round).
    pub within: String,
    /// Time between two rounds, e.g. `15s`.
    pub every: String,
}

impl Default for RollbackVerify {
    fn default() -> Self {
        Self {
            http: Vec::new(),
            prometheus: Vec::new(),
            within: "5m".into(),
            every: "15s".into(),
        }
    }
}

impl Default for RollbackEnvironment {
    fn default() -> Self {
        Self {
            dispatch: RollbackDispatch::default(),
            timeout: "30m".into(),
            poll: "10s".into(),
            drill: DrillMode::Validate,
            verify: None,
        }
    }
}

/// What `--drill` does in an environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DrillMode {
    /// Resolve the target and validate the dispatch; nothing runs.
    #[default]
    Validate,
    /// Run the rollback for real (only where that is harmless, such as staging).
    Execute,
}

/// The dispatch of a rollback. Values are templates: `target` (`id`, `sha`, `ref`,
/// `created_at`), `current` (the deployment rolled back from, when there is one),
/// `environment`, `incident`, `reason`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackDispatch {
    /// A workflow to run: GitHub `workflow_dispatch` of this file (`deploy.yml`), GitLab a
    /// new pipeline (the name travels as a variable).
    pub workflow: Option<String>,
    /// GitHub `repository_dispatch` with this event type; `inputs` are its client payload.
    pub repository_dispatch: Option<String>,
    /// `true`: create a deployment of the target on the forge (a deploy job watching
    /// deployments does the rest).
    pub deployment: Option<bool>,
    /// GitLab: replay this deploy job of the target's pipeline while its artifacts exist,
    /// else run a new pipeline on the target's ref with `variables`.
    pub job: Option<String>,
    /// A local command, as argv (no shell): each element a template.
    pub command: Option<Vec<String>>,
    /// The ref to run on [default: `{{ target.ref }}`].
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// Workflow inputs (`workflow`), client payload (`repository_dispatch`).
    pub inputs: BTreeMap<String, String>,
    /// Pipeline variables (`job`, when a new pipeline is run).
    pub variables: BTreeMap<String, String>,
}

/// Which kind of dispatch a [`RollbackDispatch`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchKind {
    Workflow,
    RepositoryDispatch,
    Deployment,
    Job,
    Command,
}

impl DispatchKind {
    /// The key that selects it.
    pub fn key(self) -> &'static str {
        match self {
            DispatchKind::Workflow => "workflow",
            DispatchKind::RepositoryDispatch => "repository_dispatch",
            DispatchKind::Deployment => "deployment",
            DispatchKind::Job => "job",
            DispatchKind::Command => "command",
        }
    }
}

impl RollbackDispatch {
    /// The kinds set (a valid dispatch has exactly one).
    pub fn kinds(&self) -> Vec<DispatchKind> {
        let mut out = Vec::new();
        if self.workflow.is_some() {
            out.push(DispatchKind::Workflow);
        }
        if self.repository_dispatch.is_some() {
            out.push(DispatchKind::RepositoryDispatch);
        }
        if self.deployment.is_some() {
            out.push(DispatchKind::Deployment);
        }
        if self.job.is_some() {
            out.push(DispatchKind::Job);
        }
        if self.command.is_some() {
            out.push(DispatchKind::Command);
        }
        out
    }
}

/// A duration of the section (`30s`, `10m`, `1h30m`), not negative.
pub fn rollback_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    let d: jiff::SignedDuration = text
        .parse()
        .map_err(|e| format!("{text:?} is not a duration like 30s or 10m: {e}"))?;
    std::time::Duration::try_from(d).map_err(|_| format!("{text:?} must not be negative"))
}

/// The cross-field checks of the section, located at the key at fault.
pub(super) fn validate(
    settings: &RollbackSettings,
    at: &dyn Fn(&str, String) -> Error,
) -> Result<()> {
    for (name, env) in &settings.environments {
        let base = format!("rollback.environments.{name}");
        let d = &env.dispatch;
        let kinds = d.kinds();
        match kinds.as_slice() {
            [_] => {}
            [] => {
                return Err(at(
                    &format!("{base}.dispatch"),
                    "a dispatch needs one of workflow, repository_dispatch, deployment, job, \
                     command"
                        .into(),
                ));
            }
            [_, second, ..] => {
                return Err(at(
                    &format!("{base}.dispatch.{}", second.key()),
                    format!(
                        "a dispatch has one of workflow, repository_dispatch, deployment, job, \
                         command; this one has {}",
                        kinds
                            .iter()
                            .map(|k| k.key())
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                ));
            }
        }
        let kind = kinds[0];
        if d.deployment == Some(false) {
            return Err(at(
                &format!("{base}.dispatch.deployment"),
                "`deployment: false` dispatches nothing; use `deployment: true` or another kind"
                    .into(),
            ));
        }
        let blank = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        for (key, value) in [
            ("workflow", &d.workflow),
            ("repository_dispatch", &d.repository_dispatch),
            ("job", &d.job),
            ("ref", &d.git_ref),
        ] {
            if blank(value) {
                return Err(at(
                    &format!("{base}.dispatch.{key}"),
                    "must not be empty".into(),
                ));
            }
        }
        if let Some(argv) = &d.command
            && argv.first().is_none_or(|p| p.trim().is_empty())
        {
            return Err(at(
                &format!("{base}.dispatch.command"),
                "a command needs a program: [program, arguments…]".into(),
            ));
        }
        if !d.inputs.is_empty()
            && !matches!(
                kind,
                DispatchKind::Workflow | DispatchKind::RepositoryDispatch
            )
        {
            return Err(at(
                &format!("{base}.dispatch.inputs"),
                format!(
                    "`inputs` are for workflow or repository_dispatch, not {}",
                    kind.key()
                ),
            ));
        }
        if !d.variables.is_empty() && kind != DispatchKind::Job {
            return Err(at(
                &format!("{base}.dispatch.variables"),
                format!(
                    "`variables` are for job (the new pipeline's), not {}",
                    kind.key()
                ),
            ));
        }
        for (key, text) in [("timeout", &env.timeout), ("poll", &env.poll)] {
            let d = rollback_duration(text).map_err(|m| at(&format!("{base}.{key}"), m))?;
            if key == "poll" && d.is_zero() {
                return Err(at(
                    &format!("{base}.poll"),
                    "must be more than 0s (a poll without pause hammers the forge)".into(),
                ));
            }
        }
        for (key, text) in dispatch_templates(d) {
            check_template(&text).map_err(|m| at(&format!("{base}.dispatch.{key}"), m))?;
        }
        if let Some(v) = &env.verify {
            validate_verify(v, &format!("{base}.verify"), at)?;
        }
    }
    Ok(())
}

/// A verification checks something, with probes the gate would accept, in valid durations.
fn validate_verify(
    v: &RollbackVerify,
    base: &str,
    at: &dyn Fn(&str, String) -> Error,
) -> Result<()> {
    if v.http.is_empty() && v.prometheus.is_empty() {
        return Err(at(
            base,
            "a verification needs at least one `http` check or `prometheus` query (without \
             any, nothing would be verified)"
                .into(),
        ));
    }
    for (n, c) in v.http.iter().enumerate() {
        if c.url.trim().is_empty() {
            return Err(at(
                &format!("{base}.http[{n}].url"),
                "must not be empty".into(),
            ));
        }
    }
    for (n, c) in v.prometheus.iter().enumerate() {
        for (key, value) in [("url", &c.url), ("query", &c.query)] {
            if value.trim().is_empty() {
                return Err(at(
                    &format!("{base}.prometheus[{n}].{key}"),
                    "must not be empty".into(),
                ));
            }
        }
    }
    super::probe::validate_prometheus(&v.prometheus, &format!("{base}.prometheus"), at)?;
    rollback_duration(&v.within).map_err(|m| at(&format!("{base}.within"), m))?;
    let every = rollback_duration(&v.every).map_err(|m| at(&format!("{base}.every"), m))?;
    if every.is_zero() {
        return Err(at(
            &format!("{base}.every"),
            "must be more than 0s (rounds without pause hammer the service)".into(),
        ));
    }
    Ok(())
}

/// Every templated value of a dispatch, with its key below `dispatch`.
pub fn dispatch_templates(d: &RollbackDispatch) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in [
        ("workflow", &d.workflow),
        ("repository_dispatch", &d.repository_dispatch),
        ("job", &d.job),
        ("ref", &d.git_ref),
    ] {
        if let Some(v) = value {
            out.push((key.to_string(), v.clone()));
        }
    }
    for (k, v) in &d.inputs {
        out.push((format!("inputs.{k}"), v.clone()));
    }
    for (k, v) in &d.variables {
        out.push((format!("variables.{k}"), v.clone()));
    }
    for (i, v) in d.command.iter().flatten().enumerate() {
        out.push((format!("command[{i}]"), v.clone()));
    }
    out
}

fn check_template(text: &str) -> std::result::Result<(), String> {
    let env = crate::template::environment();
    env.template_from_str(text)
        .map(|_| ())
        .map_err(|e| format!("not a valid template: {e}"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn err(text: &str) -> String {
        crate::config::parse_str(text, Path::new(".relman.yml"))
            .expect_err(text)
            .to_string()
    }

    #[test]
    fn a_dispatch_is_one_kind_with_valid_templates_and_durations() {
        let ok = "rollback:\n  environments:\n    production:\n      dispatch:\n        \
                  workflow: deploy.yml\n        inputs: { sha: \"{{ target.sha }}\" }\n      \
                  timeout: 20m\n      poll: 5s\n      drill: execute\n";
        let cfg = crate::config::parse_str(ok, Path::new(".relman.yml")).expect("valid");
        let env = &cfg.rollback.environments["production"];
        assert_eq!(env.drill, super::DrillMode::Execute);
        assert_eq!(env.dispatch.inputs["sha"], "{{ target.sha }}");

        let e = err("rollback:\n  environments:\n    production:\n      dispatch: {}\n");
        assert!(
            e.starts_with(".relman.yml:4:")
                && e.contains("rollback.environments.production.dispatch: a dispatch needs one of"),
            "{e}"
        );
        let e = err(
            "rollback:\n  environments:\n    p:\n      dispatch:\n        workflow: d.yml\n        command: [x]\n",
        );
        assert!(
            e.contains(":6:") && e.contains("workflow and command"),
            "{e}"
        );
        let e = err(
            "rollback:\n  environments:\n    p:\n      dispatch: { workflow: d.yml, sha: x }\n",
        );
        assert!(e.contains("unknown field `sha`"), "{e}");
        let e = err(
            "rollback:\n  environments:\n    p:\n      dispatch: { job: d }\n      timeout: soon\n",
        );
        assert!(
            e.contains("rollback.environments.p.timeout") && e.contains("not a duration"),
            "{e}"
        );
        let e =
            err("rollback:\n  environments:\n    p:\n      dispatch: { job: d }\n      poll: 0s\n");
        assert!(e.contains("rollback.environments.p.poll"), "{e}");
        let e = err(
            "rollback:\n  environments:\n    p:\n      dispatch:\n        workflow: d.yml\n        inputs: { sha: \"{{ target.sha \" }\n",
        );
        assert!(
            e.contains("dispatch.inputs.sha: not a valid template"),
            "{e}"
        );
        let e = err("rollback:\n  environments:\n    p:\n      dispatch: { command: [] }\n");
        assert!(e.contains("needs a program"), "{e}");
        let e = err(
            "rollback:\n  environments:\n    p:\n      dispatch: { deployment: true, variables: { A: b } }\n",
        );
        assert!(e.contains("`variables` are for job"), "{e}");
        let e = err(
            "rollback:\n  environments:\n    p:\n      dispatch: { workflow: d.yml }\n      drill: sometimes\n",
        );
        assert!(e.contains("rollback.environments.p.drill"), "{e}");
    }

    #[test]
    fn a_verification_has_probes_the_gate_would_accept_and_valid_durations() {
        let env = |verify: &str| {
            format!(
                "rollback:\n  environments:\n    p:\n      dispatch: {{ job: d }}\n      verify:\n{verify}"
            )
        };
        let cfg = crate::config::parse_str(
            &env(
                "        http: [{ url: 'https://shop.example/healthz' }]\n        prometheus: [{ url: 'http://prom:9090', query: up, min: 1 }]\n        within: 10m\n",
            ),
            Path::new(".relman.yml"),
        )
        .expect("valid");
        let v = cfg.rollback.environments["p"]
            .verify
            .clone()
            .expect("verify");
        assert_eq!((v.http[0].status, v.http[0].timeout_seconds), (200, 10));
        assert!(v.prometheus[0].require_data);
        assert_eq!((v.within.as_str(), v.every.as_str()), ("10m", "15s"));

        let e = err(&env("        within: 1m\n"));
        assert!(
            e.starts_with(".relman.yml:6:")
                && e.contains("rollback.environments.p.verify: a verification needs at least one"),
            "{e}"
        );
        let e = err(&env(
            "        prometheus: [{ url: 'http://p', query: up, min: 2, max: 1 }]\n",
        ));
        assert!(
            e.contains("rollback.environments.p.verify.prometheus[0].max: 1 is below min (2)"),
            "{e}"
        );
        let e = err(&env(
            "        prometheus: [{ url: 'http://p', query: up, max: .inf }]\n",
        ));
        assert!(e.contains("verify.prometheus[0].max"), "{e}");
        let e = err(&env(
            "        http: [{ url: 'http://h' }]\n        every: 0s\n",
        ));
        assert!(
            e.contains("rollback.environments.p.verify.every: must be more than 0s"),
            "{e}"
        );
        let e = err(&env(
            "        http: [{ url: 'http://h' }]\n        within: later\n",
        ));
        assert!(
            e.contains("verify.within") && e.contains("not a duration"),
            "{e}"
        );
        let e = err(&env("        http: [{ url: 'http://h', expect: 200 }]\n"));
        assert!(e.contains("unknown field `expect`"), "{e}");
        let e = err(&env("        http: [{ url: ' ' }]\n"));
        assert!(e.contains("verify.http[0].url: must not be empty"), "{e}");
    }
}
