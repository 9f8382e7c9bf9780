//! Deciding, apart from acting: facts in, a report out.
//!
//! [`decide`] picks the base, measures the change, evaluates the policy and builds the
//! [`Report`]. It only reads: the repository, the configuration, the forge (deployments,
//! checks, approvals…), the clock and the CI variables it is handed. It writes no audit record,
//! prints nothing, writes no file and sends no forge write, so a caller that only wants the
//! verdict (a future `plan`, a test) gets it without side effects. [`crate::apply`] acts on it.

use relman_core::Error;
use relman_core::audit::{actor, run_url};
use relman_core::config::Config;
use relman_core::git::Repo;
use relman_forge::{Deployment, Forge};

use crate::evaluate::evaluate_with;
use crate::inputs::Rehearsal;
use crate::policy::Resolved;
use crate::report::{ChangeSummary, REPORT_VERSION, Report, Verdict};
use crate::{Annotation, Context};

/// What a run reads, gathered once by its caller: repository, configuration, forge, clock and
/// the CI variables (actor, run address, the pull request of the event).
pub struct Facts<'a> {
    pub repo: &'a Repo,
    pub config: &'a Config,
    pub forge: &'a dyn Forge,
    /// The evaluation instant (`--now`, else the clock).
    pub now: jiff::Timestamp,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// What the run is asked: the resolved policy and the inputs, already validated.
#[derive(Debug, Clone)]
pub struct Question {
    pub policy: Resolved,
    /// Environment the release goes to [default: the policy name].
    pub environment: Option<String>,
    /// Revision to measure from (`--base`, or `RELMAN_BASE` in a rehearsal) [default: the
    /// environment's current deployment, else the last release tag].
    pub base: Option<String>,
    /// Revision being released.
    pub head: String,
    pub pull_request: Option<u64>,
    pub override_reason: Option<String>,
    /// Why this run is a rehearsal (empty: a real decision).
    pub rehearsal: Rehearsal,
    /// `--dry-run`: gates the local store cannot answer are not evaluated, and [`crate::apply`]
    /// records nothing (the caller also adds the rehearsal reason and picks the local store).
    pub dry_run: bool,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("repo", &self.repo.root())
            .field("forge", &self.forge.name())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Everything a run decided; [`crate::apply`] records, prints and publishes it.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The report; `not_recorded` is `None` until the audit record is attempted.
    pub report: Report,
    /// Annotations of failed gates (shown on CI runners only).
    pub annotations: Vec<Annotation>,
    /// How the base was chosen, one line per fact (`--explain`).
    pub explain: Vec<String>,
    /// The commit status context: `relman/gate`, or `relman/gate/<policy>` for a policy other
    /// than the default one.
    pub status_context: String,
    /// Whether the run is a rehearsal (its verdict never becomes a commit status).
    pub rehearsal: bool,
    /// Whether the run is a dry run (its verdict is not recorded).
    pub dry_run: bool,
}

/// Decides the release: no audit, no output, no files, no forge writes.
pub fn decide(facts: &Facts, question: &Question) -> Result<Decision, Error> {
    let Question {
        policy,
        environment,
        base: given_base,
        head,
        pull_request,
        override_reason,
        rehearsal,
        dry_run,
    } = question;
    let repo = facts.repo;
    let root = repo.root();
    let cfg = facts.config;
    let forge = facts.forge;
    let now = facts.now;
    let environment = environment.clone().unwrap_or_else(|| policy.name.clone());
    let mut explain = Vec::new();
    let deployment = match given_base {
        Some(_) => None,
        None => current_deployment(forge, &environment, &mut explain),
    };
    // Not only under --explain: a base other than the one asked for changes every measure
    // of the change, so the verdict and the summary say it.
    let mut base_fallback = match (given_base, &deployment) {
        (None, None) => explain.last().cloned(),
        _ => None,
    };
    let deployed = deployment.clone().flatten().map(|d| d.sha).filter(|sha| {
        // A deployment of a commit this clone does not have (another branch, rewritten
        // history) cannot be diffed against: measure from the last release tag instead.
        let known = repo.resolve(sha).is_ok();
        if !known {
            let note = format!(
                "deployed commit {sha} is not in this clone: change measured from the last release tag"
            );
            explain.push(note.clone());
            base_fallback = Some(note);
        }
        known
    });
    let base = given_base.clone().or(deployed);
    let head_sha = repo.resolve(head)?.to_string();
    let mut change = crate::diff::change_with(
        &root,
        base.as_deref(),
        &head_sha,
        &cfg.changelog.tag_prefix,
        relman_core::conventional::ParseOptions {
            split_squash: cfg.changelog.split_squash,
        },
    )?;
    change.head = head.clone();
    let mut cx = Context {
        root: root.clone(),
        now,
        forge,
        change,
        environment: environment.clone(),
        pull_request: pull_request.or_else(|| crate::cli::pull_request_from_ci(facts.env)),
        override_reason: override_reason.clone(),
        facts: Default::default(),
        // Not asked, or the forge could not answer: a gate that needs it asks (and reports).
        deployment,
    };
    let eval = evaluate_with(policy, &cfg.gate.risk, &cfg.packages, &mut cx, *dry_run)?;
    let (verdict, summary) = Report::summarize(&eval.gates, rehearsal);
    let files = &cx.change.files;
    let report = Report {
        version: REPORT_VERSION,
        verdict,
        summary,
        policy: policy.name.clone(),
        policies: policy.chain.clone(),
        environment,
        evaluated_at: jiff::Timestamp::from_second(now.as_second())
            .unwrap_or(now)
            .to_string(),
        actor: actor(facts.env),
        run_url: run_url(facts.env),
        forge: forge.name().to_string(),
        change: ChangeSummary {
            base: cx.change.base.clone(),
            base_sha: cx.change.base_sha.clone(),
            head: cx.change.head.clone(),
            head_sha: cx.change.head_sha.clone(),
            commits: cx.change.commits,
            files: files.len(),
            lines_added: files.iter().map(|f| f.added).sum(),
            lines_removed: files.iter().map(|f| f.removed).sum(),
        },
        risk: eval.risk.clone(),
        override_reason: override_reason.clone(),
        rehearsal: rehearsal.describe(),
        base_fallback,
        gates: eval.gates,
        not_recorded: None,
    };
    debug_assert_eq!(
        report.verdict == Verdict::Go,
        eval.go && !rehearsal.is_rehearsal()
    );
    let status_context = if policy.name == cfg.gate.default_policy {
        "relman/gate".to_string()
    } else {
        format!("relman/gate/{}", policy.name)
    };
    Ok(Decision {
        report,
        annotations: eval.annotations,
        explain,
        status_context,
        rehearsal: rehearsal.is_rehearsal(),
        dry_run: *dry_run,
    })
}

/// The environment's current (last good) deployment, `Some(None)` when it has none, `None`
/// when the forge cannot say (the change is then measured from the last release tag).
fn current_deployment(
    forge: &dyn Forge,
    environment: &str,
    explain: &mut Vec<String>,
) -> Option<Option<Deployment>> {
    match forge.last_successful_deployment(environment) {
        Ok(Some(d)) => {
            explain.push(format!(
                "current deployment to {environment}: {} of {}",
                d.id, d.sha
            ));
            Some(Some(d))
        }
        Ok(None) => {
            explain.push(format!(
                "no deployment to {environment} yet: change measured from the last release tag"
            ));
            Some(None)
        }
        Err(e) => {
            explain.push(format!(
                "deployments of {environment} unavailable ({e}): change measured from the last release tag"
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests;
