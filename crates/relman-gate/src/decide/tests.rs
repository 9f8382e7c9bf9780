//! `decide` only reads: run on a repository with a state store holding a deployment, through a
//! forge that refuses (and counts) every write, it leaves the tree, the `.git` directory and
//! the store as they were; `apply` with the same forge is the control that writes are caught.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use relman_core::git::Repo;
use relman_core::{Error, Result};
use relman_forge::*;

use super::{Facts, Question, decide};
use crate::diff::fixture::Fixture;
use crate::inputs::Rehearsal;
use crate::report::Verdict;

/// Reads go to the store; every write is refused and remembered.
#[derive(Debug)]
struct ReadOnly {
    store: LocalStore,
    writes: Mutex<Vec<String>>,
}

impl ReadOnly {
    fn refuse(&self, what: String) -> Error {
        self.writes.lock().expect("lock").push(what.clone());
        Error::Usage(format!("test double: write refused: {what}"))
    }
    fn writes(&self) -> Vec<String> {
        self.writes.lock().expect("lock").clone()
    }
}

impl Forge for ReadOnly {
    fn name(&self) -> &str {
        "read-only"
    }
    // Reads, and what it can do, are the store's: the writes are refused (and counted), not
    // missing.
    relman_forge::delegate_forge_methods!(store => capabilities, fn release_by_tag,
        fn deployments, fn last_successful_deployment, fn audit_log);
    fn upsert_release(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
        Err(self.refuse(format!("upsert_release {}", spec.tag)))
    }
    fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        Err(self.refuse(format!("create_deployment {}", spec.environment)))
    }
    fn set_deployment_status(
        &self,
        id: u64,
        _: DeploymentState,
        _: &str,
    ) -> Result<Upserted<Deployment>> {
        Err(self.refuse(format!("set_deployment_status {id}")))
    }
    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        Err(self.refuse(format!("dispatch {}", spec.workflow)))
    }
    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        Err(self.refuse(format!("set_commit_status {}", status.context)))
    }
    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        Err(self.refuse(format!("append_audit {}", record.action)))
    }
}

/// Every file under `dir` (the work tree and `.git`, state branch included) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.insert(path.display().to_string(), bytes);
            }
        }
    }
    files
}

const POLICY: &str = r#"
forge: { kind: local }
gate:
  default_policy: production
  policies:
    production:
      gates:
        - risk: { max_level: critical }
        - junit: { paths: ["reports/*.xml"] }
"#;

#[test]
fn decide_reads_the_store_and_writes_nothing() {
    let mut fx = Fixture::new();
    fx.write("src/a.py", "a = 1\n");
    fx.commit("feat: first");
    fx.tag("v1.0.0");
    fx.write("src/a.py", "a = 2\n");
    let deployed = fx.commit("fix: deployed to production");
    fx.write("src/b.py", "b = 1\n");
    fx.write(
        "reports/junit.xml",
        r#"<testsuite name="s" tests="1" failures="0"><testcase name="t"/></testsuite>"#,
    );
    let head = fx.commit("fix: after the deployment");
    let root = fx.root();
    // The state store on the repository's own state branch, holding production's deployment.
    let store = LocalStore::open(root).expect("store");
    let id = store
        .create_deployment(&DeploymentSpec {
            environment: "production".into(),
            sha: deployed.clone(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: "promote:production:1".into(),
            payload: serde_json::Value::Null,
        })
        .expect("deploy")
        .value
        .id;
    store
        .set_deployment_status(id, DeploymentState::Success, "deployed")
        .expect("status");
    let audit_before = store.audit_log(&AuditFilter::default()).expect("audit log");
    let forge = ReadOnly {
        store,
        writes: Mutex::default(),
    };
    let config = relman_core::config::parse_str(POLICY, Path::new(".relman.yml")).expect("cfg");
    let policy = crate::policy::resolve(&config.gate, None).expect("policy");
    let repo = Repo::discover(root).expect("repo");
    let before = snapshot(root);

    // CI variables that would make `apply` write outputs and a summary: `decide` ignores them.
    let out = root.join("github-output");
    let out_var = out.display().to_string();
    let env = |k: &str| match k {
        "GITHUB_ACTIONS" => Some("true".to_string()),
        "GITHUB_OUTPUT" | "GITHUB_STEP_SUMMARY" | "RUNNER_TEMP" => Some(out_var.clone()),
        "GITHUB_ACTOR" => Some("alice".into()),
        _ => None,
    };
    let facts = Facts {
        repo: &repo,
        config: &config,
        forge: &forge,
        now: "2026-11-02T10:00:00Z".parse().expect("now"),
        env: &env,
    };
    let question = Question {
        policy,
        environment: None,
        base: None,
        head: "HEAD".into(),
        pull_request: None,
        // An override is audited separately by `apply`, never by `decide`.
        override_reason: Some("INC-1: hotfix, on-call lead".into()),
        rehearsal: Rehearsal::default(),
        dry_run: false,
    };
    let decision = decide(&facts, &question).expect("decide");

    // It decided from what it read: the deployment is the base, the evidence passed.
    let report = &decision.report;
    assert_eq!(report.verdict, Verdict::Go, "{}", report.summary);
    assert_eq!(report.change.base_sha.as_deref(), Some(deployed.as_str()));
    assert_eq!(report.change.head_sha, head);
    assert_eq!(report.change.commits, 1);
    assert_eq!(report.actor, "alice");
    assert_eq!(report.not_recorded, None);
    assert_eq!(decision.status_context, "relman/gate");
    assert!(
        decision.explain[0].starts_with(&format!("current deployment to production: {id} of ")),
        "{:?}",
        decision.explain
    );
    // And it wrote nothing: no forge write, no audit record, no file (tree, .git, store).
    assert_eq!(forge.writes(), Vec::<String>::new());
    assert_eq!(
        forge
            .store
            .audit_log(&AuditFilter::default())
            .expect("audit log"),
        audit_before
    );
    assert!(!out.exists(), "decide wrote {}", out.display());
    assert!(
        before == snapshot(root),
        "decide changed files under the repository"
    );

    // The control: `apply` acts through the same forge, and the first thing it does is the
    // audit record. Refused, nothing else happens: no output, no report, no commit status.
    let runtime = relman_core::ci::Runtime::detect_with(&env, true);
    let effects = crate::apply::Effects {
        runtime: &runtime,
        forge: &forge,
        format: crate::cli::Format::Json,
        explain: false,
        report: None,
        commit_status: true,
        env: &env,
    };
    let e = crate::apply::apply(decision, &effects).expect_err("an unrecorded go is no go");
    assert!(e.to_string().contains("write refused"), "{e}");
    assert_eq!(
        forge.writes(),
        vec!["append_audit gate.override".to_string()]
    );
    assert!(!out.exists(), "apply acted on an unrecorded verdict");
}

/// Accepts audit records and commit statuses, and remembers each commit status it was sent.
#[derive(Debug)]
struct Statuses {
    store: LocalStore,
    sent: Mutex<Vec<String>>,
}

impl Forge for Statuses {
    relman_forge::unsupported_forge_methods!(releases, dispatch);
    relman_forge::delegate_forge_methods!(store => deployments, audit);
    fn name(&self) -> &str {
        "statuses"
    }
    fn capabilities(&self) -> Capabilities {
        use Capability::*;
        Capabilities::of(&[Deployments, CommitStatuses, Audit])
    }
    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        let line = format!("{} {:?} {}", status.context, status.state, status.sha);
        self.sent.lock().expect("lock").push(line);
        Ok(Outcome::Created)
    }
}

/// Issue #12 finding 4: a rehearsal (`--now`, or a clock or base from the environment) sets no
/// commit status, even with commit statuses on; the same run as a real decision sets one (the
/// control: the double does see statuses).
#[test]
fn a_rehearsal_never_sets_a_commit_status() {
    let mut fx = Fixture::new();
    fx.write("src/a.py", "a = 1\n");
    fx.commit("feat: first");
    fx.tag("v1.0.0");
    fx.write(
        "reports/junit.xml",
        r#"<testsuite name="s" tests="1" failures="0"><testcase name="t"/></testsuite>"#,
    );
    let head = fx.commit("fix: second");
    let root = fx.root();
    let forge = Statuses {
        store: LocalStore::open(root).expect("store"),
        sent: Mutex::default(),
    };
    let config = relman_core::config::parse_str(POLICY, Path::new(".relman.yml")).expect("cfg");
    let repo = Repo::discover(root).expect("repo");
    let env = |_: &str| None;
    let runtime = relman_core::ci::Runtime::detect_with(&env, true);
    let run = |rehearsal: Rehearsal| {
        let facts = Facts {
            repo: &repo,
            config: &config,
            forge: &forge,
            now: "2026-11-02T10:00:00Z".parse().expect("now"),
            env: &env,
        };
        let question = Question {
            policy: crate::policy::resolve(&config.gate, None).expect("policy"),
            environment: None,
            base: None,
            head: "HEAD".into(),
            pull_request: None,
            override_reason: None,
            rehearsal,
            dry_run: false,
        };
        let decision = decide(&facts, &question).expect("decide");
        let effects = crate::apply::Effects {
            runtime: &runtime,
            forge: &forge,
            format: crate::cli::Format::Json,
            explain: false,
            report: None,
            commit_status: true,
            env: &env,
        };
        crate::apply::apply(decision, &effects).expect("apply")
    };

    let code = run(Rehearsal {
        reasons: vec!["--now 2026-11-02T10:00:00Z".into()],
    });
    assert_eq!(
        code,
        relman_core::ExitCode::Refused,
        "a rehearsal is never a go"
    );
    assert_eq!(
        forge.sent.lock().expect("lock").clone(),
        Vec::<String>::new()
    );

    let code = run(Rehearsal::default());
    assert_eq!(code, relman_core::ExitCode::Success);
    assert_eq!(
        forge.sent.lock().expect("lock").clone(),
        vec![format!("relman/gate Success {head}")]
    );
}

/// Issue #10: a gate that needs what the forge cannot answer is asked up front and fails,
/// naming the capability and the forge (no-go), while the other gates are still evaluated.
/// It used to stop the whole run at the first such gate with an error.
#[test]
fn a_gate_the_forge_cannot_answer_fails_naming_the_capability() {
    let mut fx = Fixture::new();
    fx.write("src/a.py", "a = 1\n");
    fx.commit("feat: first");
    fx.tag("v1.0.0");
    fx.write(
        "reports/junit.xml",
        r#"<testsuite name="s" tests="1" failures="0"><testcase name="t"/></testsuite>"#,
    );
    fx.commit("fix: second");
    let root = fx.root();
    let forge = LocalStore::open(root).expect("store");
    let policy = format!("{POLICY}        - checks: {{ required: [build] }}\n");
    let config = relman_core::config::parse_str(&policy, Path::new(".relman.yml")).expect("cfg");
    let repo = Repo::discover(root).expect("repo");
    let env = |_: &str| None;
    let decide_with = |dry_run: bool| {
        let facts = Facts {
            repo: &repo,
            config: &config,
            forge: &forge,
            now: "2026-11-02T10:00:00Z".parse().expect("now"),
            env: &env,
        };
        let question = Question {
            policy: crate::policy::resolve(&config.gate, None).expect("policy"),
            environment: None,
            base: None,
            head: "HEAD".into(),
            pull_request: None,
            override_reason: None,
            rehearsal: Rehearsal::default(),
            dry_run,
        };
        decide(&facts, &question).expect("a verdict, not an error")
    };
    let status = |d: &super::Decision| -> Vec<(String, String)> {
        d.report
            .gates
            .iter()
            .map(|g| (g.name.clone(), g.status.clone()))
            .collect()
    };
    let reason = |d: &super::Decision| {
        d.report
            .gates
            .iter()
            .find(|g| g.name == "checks")
            .map(|g| g.reason.clone())
            .expect("checks gate")
    };
    let lacks = "the local forge cannot read the checks of a commit (capability `checks`)";

    let decision = decide_with(false);
    assert_eq!(decision.report.verdict, Verdict::NoGo);
    assert_eq!(
        status(&decision),
        [
            ("risk".to_string(), "pass".to_string()),
            ("junit".into(), "pass".into()),
            ("checks".into(), "fail".into())
        ]
    );
    assert!(
        reason(&decision).starts_with(lacks),
        "{}",
        reason(&decision)
    );

    // A dry run (never a go) reports it as not evaluated, for the same reason.
    let dry = decide_with(true);
    assert_eq!(status(&dry)[2], ("checks".into(), "skipped".into()));
    assert_eq!(reason(&dry), format!("not evaluated in a dry run: {lacks}"));
}
