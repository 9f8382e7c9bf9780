//! Following a dispatched run, `repository_dispatch`, the dispatch claim on the state branch
//! (two jobs, one POST) and validation without writes. Run bodies follow the examples of
//! `GET /repos/{owner}/{repo}/actions/runs/{run_id}`.

use std::sync::atomic::{AtomicUsize, Ordering};

use wiremock::Respond;

use super::fixtures;
use super::*;
use relman_core::state::StateStore;
use relman_core::state::testing::{git, origin_and_clones};

const RUNS: &str = "/repos/octocat/hello-world/actions/workflows/deploy.yml/runs";
const REPO_RUNS: &str = "/repos/octocat/hello-world/actions/runs";
const DISPATCHES: &str = "/repos/octocat/hello-world/actions/workflows/deploy.yml/dispatches";

fn run_json(id: u64, title: &str, status: &str, conclusion: Value) -> Value {
    json!({
        "id": id, "name": "Deploy", "display_title": title, "node_id": "MDEyOldvcmtmbG93IFJ1bjU=",
        "head_branch": "main", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "run_number": 562, "event": "workflow_dispatch", "status": status,
        "conclusion": conclusion, "workflow_id": 159038,
        "html_url": format!("https://github.com/octo-org/octo-repo/actions/runs/{id}"),
        "created_at": "2020-01-22T19:33:08Z", "updated_at": "2020-01-22T19:33:08Z"
    })
}

fn runs(list: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({ "total_count": list.len(), "workflow_runs": list }))
}

fn record(workflow: &str, id: u64, key: &str) -> DispatchRecord {
    DispatchRecord {
        id,
        workflow: workflow.into(),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "octocat".into(),
        idempotency_key: key.into(),
        created_at: Some("2020-01-22T19:33:08Z".parse().expect("time")),
        run_url: None,
    }
}

fn deploy_spec(key: &str) -> DispatchSpec {
    DispatchSpec {
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: [("version".to_string(), "1.2.0".to_string())].into(),
        requested_by: "octocat".into(),
        idempotency_key: key.into(),
    }
}

#[test]
fn a_run_is_read_by_id_or_found_by_its_key_and_only_success_succeeds() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO_RUNS}/30433642")))
            .respond_with(ResponseTemplate::new(200).set_body_json(run_json(
                30433642,
                "deploy k1",
                "completed",
                json!("success"),
            ))),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO_RUNS}/404404")))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            ),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .and(query_param("event", "workflow_dispatch"))
            .respond_with(runs(vec![
                run_json(7, "deploy rollback:prod:10", "completed", json!("success")),
                run_json(8, "deploy rollback:prod:1", "in_progress", Value::Null),
            ])),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(REPO_RUNS))
            .and(query_param("event", "repository_dispatch"))
            .respond_with(runs(vec![run_json(
                9,
                "rollback rollback:prod:3",
                "completed",
                json!("timed_out"),
            )])),
    );

    let done =
        h.gh.run_status(&record("deploy.yml", 30433642, "k1"))
            .expect("by id");
    assert_eq!(done.state, RunState::Succeeded);
    assert_eq!(done.id, Some(30433642));
    assert_eq!(
        done.url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/30433642")
    );
    assert_eq!(done.detail, "completed/success");

    // `rollback:prod:10` is another key: the run of `rollback:prod:1` is the running one.
    let running =
        h.gh.run_status(&record("deploy.yml", 0, "rollback:prod:1"))
            .expect("by key");
    assert_eq!((running.state, running.id), (RunState::Running, Some(8)));

    let unseen =
        h.gh.run_status(&record("deploy.yml", 0, "rollback:prod:2"))
            .expect("unseen");
    assert_eq!((unseen.state, unseen.id), (RunState::Pending, None));
    assert!(unseen.detail.contains("run-name"), "{}", unseen.detail);

    let timed_out =
        h.gh.run_status(&record(
            "repository_dispatch:rollback",
            0,
            "rollback:prod:3",
        ))
        .expect("repository_dispatch");
    assert_eq!((timed_out.state, timed_out.id), (RunState::Failed, Some(9)));
    assert!(timed_out.state.is_finished());

    let gone =
        h.gh.run_status(&record("deploy.yml", 404404, "k"))
            .expect_err("gone");
    assert!(matches!(gone, Error::NotFound { .. }), "{gone}");
    // One request per poll.
    assert_eq!(h.requests().len(), 5);
}

#[test]
fn repository_dispatch_sends_the_inputs_and_key_as_its_payload() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(REPO_RUNS))
            .and(query_param("event", "repository_dispatch"))
            .respond_with(runs(vec![])),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(format!("{REPO}/dispatches")))
            .and(body_partial_json(json!({
                "event_type": "rollback",
                "client_payload": { "version": "1.2.0", "relman_key": "rollback:prod:4" }
            })))
            .respond_with(ResponseTemplate::new(204))
            .expect(1),
    );
    let spec = DispatchSpec {
        workflow: "repository_dispatch:rollback".into(),
        ..deploy_spec("rollback:prod:4")
    };
    let up = h.gh.dispatch(&spec).expect("dispatched");
    assert_eq!((up.outcome, up.value.id), (Outcome::Created, 0));
    let post = h
        .requests()
        .into_iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("the POST");
    let body: Value = serde_json::from_slice(&post.body).expect("json");
    assert_eq!(body["client_payload"].as_object().map(|o| o.len()), Some(2));
    // Requests per dispatch: the recent runs (is the key's run there?) and the POST.
    assert_eq!(h.requests().len(), 2);

    let too_many = DispatchSpec {
        inputs: (0..10)
            .map(|i| (format!("i{i}"), "x".to_string()))
            .collect(),
        ..spec.clone()
    };
    let err = h.gh.dispatch(&too_many).expect_err("11 properties");
    assert!(matches!(err, Error::Usage(_)), "{err}");
    let own = DispatchSpec {
        inputs: [("relman_key".to_string(), "mine".to_string())].into(),
        ..spec
    };
    assert!(matches!(h.gh.dispatch(&own), Err(Error::Usage(_))));
    h.rt.block_on(h.server.verify());
}

/// Answers the runs listing with the run of `key` once a dispatch was POSTed.
struct RunsAfterPost {
    posts: Arc<AtomicUsize>,
    key: &'static str,
}

impl Respond for RunsAfterPost {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.posts.load(Ordering::SeqCst) == 0 {
            return runs(vec![]);
        }
        runs(vec![run_json(
            555,
            &format!("deploy {}", self.key),
            "queued",
            Value::Null,
        )])
    }
}

struct CountedPost(Arc<AtomicUsize>);

impl Respond for CountedPost {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(204).set_delay(Duration::from_millis(100))
    }
}

fn open_store(dir: &std::path::Path) -> Arc<StateStore> {
    let none = |_: &str| None;
    Arc::new(
        StateStore::open(dir, &relman_core::config::StateSettings::default(), &none)
            .expect("state store"),
    )
}

#[test]
fn two_jobs_dispatching_one_key_at_once_send_one_post() {
    let h = harness();
    let posts = Arc::new(AtomicUsize::new(0));
    let key = "rollback:production:v1.4.2:INC-7";
    h.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .respond_with(RunsAfterPost {
                posts: Arc::clone(&posts),
                key,
            }),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(DISPATCHES))
            .and(body_partial_json(
                json!({ "inputs": { "relman_key": key } }),
            ))
            .respond_with(CountedPost(Arc::clone(&posts))),
    );
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 2);
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let outcomes: Vec<Upserted<DispatchRecord>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                let barrier = Arc::clone(&barrier);
                let url = h.url();
                scope.spawn(move || {
                    let (mut gh, _) = client_at(&url, 100);
                    // The job that finds the key claimed waits for real (briefly) for the
                    // other's run to be listed.
                    gh.client.policy.sleep =
                        Arc::new(|d| std::thread::sleep(d.min(Duration::from_millis(100))));
                    let gh = gh.with_audit_store(open_store(job));
                    barrier.wait();
                    gh.dispatch(&deploy_spec(key)).expect("dispatch")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    });
    assert_eq!(posts.load(Ordering::SeqCst), 1, "exactly one POST");
    // The winner: runs listing + POST; the other job: one listing per look for the run.
    println!(
        "requests for two simultaneous triggers: {}",
        h.requests().len()
    );
    assert_eq!(count(&h, "POST", DISPATCHES), 1);
    let mut kinds: Vec<Outcome> = outcomes.iter().map(|u| u.outcome).collect();
    kinds.sort_by_key(|o| *o != Outcome::Created);
    assert_eq!(kinds, [Outcome::Created, Outcome::Unchanged]);
    // The claim on the shared branch names the dispatch that was made.
    let path = format!(
        "claims/github/octocat%2Fhello-world/dispatch/{}.json",
        relman_core::state::file_name(key)
    );
    let claim: Value =
        serde_json::from_str(&git(&origin, &["show", &format!("relman/state:{path}")]))
            .expect("claim json");
    assert_eq!(claim["dispatched"]["idempotency_key"], key);
    assert_eq!(claim["dispatched"]["inputs"]["version"], "1.2.0");

    // A later retried job finds it on the branch: no request to GitHub at all for it.
    let before = h.requests().len();
    let later = tempfile::tempdir().expect("tempdir");
    let clone = relman_core::state::testing::clone(&origin, &later.path().join("job"));
    let (gh, _) = client_at(&h.url(), 100);
    let again = gh
        .with_audit_store(open_store(&clone))
        .dispatch(&deploy_spec(key))
        .expect("again");
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(h.requests().len(), before);
}

#[test]
fn a_claim_with_no_record_and_no_run_is_a_clear_error_not_a_second_dispatch() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .respond_with(runs(vec![])),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(DISPATCHES))
            .respond_with(ResponseTemplate::new(204))
            .expect(0),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::LocalStore::scratch(dir.path())
        .expect("store")
        .state()
        .clone();
    let spec = deploy_spec("rollback:prod:5");
    // A job that claimed the key and died before dispatching.
    let path = crate::claim::path("github", "octocat/hello-world", &spec.idempotency_key);
    let claimed = crate::claim::claim(Some(&store), "github", &path, &spec).expect("claim");
    assert!(matches!(claimed, crate::claim::Claimed::Ours(_)));

    let (gh, sleeps) = client_at(&h.url(), 100);
    let mut gh = gh.with_audit_store(store);
    let err = gh.dispatch(&spec).expect_err("unfinished claim");
    // The outcome is unknown (exit 3), not a key reused for something else (exit 2).
    assert!(matches!(err, Error::InDoubt { .. }), "{err}");
    assert_eq!(err.exit_code(), relman_core::ExitCode::External);
    let text = err.to_string();
    assert!(text.contains("no dispatch was recorded"), "{text}");
    assert!(text.contains(&path), "{text}");
    // It looked for the other job's run for about half a minute, then gave up.
    assert_eq!(sleeps.lock().expect("lock").len(), 6);
    assert_eq!(count(&h, "GET", RUNS), 7);

    // The same key for other inputs is the caller's bug, said at once.
    let mut other = spec.clone();
    other.inputs.insert("version".into(), "9.9.9".into());
    gh.client.policy.sleep = Arc::new(|_| panic!("no wait for a conflicting key"));
    assert!(matches!(gh.dispatch(&other), Err(Error::Conflict { .. })));
    h.rt.block_on(h.server.verify());
}

#[test]
fn a_refused_dispatch_gives_its_claim_back_and_a_fixed_retry_dispatches() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .respond_with(runs(vec![])),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(DISPATCHES))
            .respond_with(
                ResponseTemplate::new(422)
                    .set_body_json(json!({"message": "No ref found for: nope"})),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(DISPATCHES))
            .respond_with(ResponseTemplate::new(204))
            .with_priority(2),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::LocalStore::scratch(dir.path())
        .expect("store")
        .state()
        .clone();
    let (gh, _) = client_at(&h.url(), 100);
    let gh = gh.with_audit_store(store.clone());
    let spec = deploy_spec("rollback:prod:6");
    let err = gh.dispatch(&spec).expect_err("refused");
    assert!(
        matches!(&err, Error::Api(e) if e.status() == Some(422)),
        "{err}"
    );
    let path = crate::claim::path("github", "octocat/hello-world", &spec.idempotency_key);
    assert!(
        store
            .snapshot()
            .expect("snapshot")
            .read(&path)
            .expect("read")
            .is_none(),
        "the refused dispatch's claim was given back"
    );
    let up = gh.dispatch(&spec).expect("retry");
    assert_eq!(up.outcome, Outcome::Created);
    assert_eq!(count(&h, "POST", DISPATCHES), 2);
    // A claim taken, given back, taken again and given its record is no tampering: claims
    // live outside the records `relman audit verify` holds to never change.
    let verified = store.verify(None).expect("verify");
    assert!(verified.commits >= 3, "{verified:?}");
    assert_eq!(verified.problems, Vec::<String>::new());
}

// --- validation ---------------------------------------------------------------------------

const WORKFLOW_YML: &str = r#"name: Deploy
run-name: "deploy ${{ inputs.relman_key }}"
on:
  workflow_dispatch:
    inputs:
      relman_key: { required: true, type: string }
      version: { required: true, type: string }
jobs:
  deploy: { runs-on: ubuntu-latest, steps: [{ run: echo deploy }] }
"#;

const LISTENER_YML: &str = r#"name: Rollback
run-name: "rollback ${{ github.event.client_payload.relman_key }}"
on:
  repository_dispatch:
    types: [rollback]
jobs:
  deploy: { runs-on: ubuntu-latest, steps: [{ run: echo deploy }] }
"#;

fn mount_repo(h: &Harness, permissions: Value) {
    h.mount(
        Mock::given(method("GET")).and(path(REPO)).respond_with(
            ResponseTemplate::new(200).set_body_json(fixtures::repository(permissions)),
        ),
    );
}

#[test]
fn a_workflow_dispatch_is_validated_with_reads_only() {
    let h = harness();
    mount_repo(&h, Value::Null);
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/actions/workflows/deploy.yml")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(fixtures::workflow(".github/workflows/deploy.yml", "active")),
            ),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!(
                "{REPO}/contents/.github/workflows/deploy.yml"
            )))
            .and(query_param("ref", "main"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(fixtures::content_file(
                    ".github/workflows/deploy.yml",
                    WORKFLOW_YML,
                )),
            ),
    );
    let good = h.gh.validate_dispatch(&deploy_spec("k")).expect("check");
    assert!(good.accepted(), "{good:?}");
    assert_eq!(good.checked.len(), 3, "{good:?}");
    // GITHUB_TOKEN shows no permissions: said, not claimed.
    assert_eq!(good.unverified.len(), 1, "{good:?}");
    assert!(good.unverified[0].contains("actions: write"), "{good:?}");

    let mut missing = deploy_spec("k");
    missing.inputs.clear();
    missing.inputs.insert("colour".into(), "red".into());
    let bad = h.gh.validate_dispatch(&missing).expect("check");
    assert!(!bad.accepted());
    assert_eq!(bad.problems.len(), 2, "{bad:?}");
    assert!(
        bad.problems
            .iter()
            .any(|p| p.contains("required input `version`"))
    );
    assert!(bad.problems.iter().any(|p| p.contains("`colour`")));

    let elsewhere = DispatchSpec {
        workflow: "nope.yml".into(),
        ..deploy_spec("k")
    };
    let gone = h.gh.validate_dispatch(&elsewhere).expect("check");
    assert!(
        gone.problems.iter().any(|p| p.contains("not found")),
        "{gone:?}"
    );
    assert!(
        h.requests().iter().all(|r| r.method.as_str() == "GET"),
        "validation sent a write"
    );
    // Requests per validation: repository, workflow, file.
    assert_eq!(h.requests().len(), 3 + 3 + 2);
}

#[test]
fn a_repository_dispatch_is_validated_against_its_listeners_and_the_token() {
    let h = harness();
    mount_repo(&h, json!({ "admin": false, "push": false, "pull": true }));
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/actions/workflows")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 3,
                "workflows": [
                    fixtures::workflow(".github/workflows/deploy.yml", "active"),
                    fixtures::workflow(".github/workflows/rollback.yml", "active"),
                    fixtures::workflow(".github/workflows/old.yml", "disabled_manually")
                ]
            }))),
    );
    for (file, text) in [("deploy.yml", WORKFLOW_YML), ("rollback.yml", LISTENER_YML)] {
        let p = format!(".github/workflows/{file}");
        h.mount(
            Mock::given(method("GET"))
                .and(path(format!("{REPO}/contents/{p}")))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(fixtures::content_file(&p, text)),
                ),
        );
    }
    let spec = DispatchSpec {
        workflow: "repository_dispatch:rollback".into(),
        ..deploy_spec("k")
    };
    let check = h.gh.validate_dispatch(&spec).expect("check");
    assert_eq!(check.problems.len(), 1, "{check:?}");
    assert!(check.problems[0].contains("no write access"), "{check:?}");
    assert!(
        check
            .checked
            .iter()
            .any(|c| c.contains("rollback.yml listens")),
        "{check:?}"
    );
    let other = DispatchSpec {
        workflow: "repository_dispatch:deploy-everything".into(),
        ..deploy_spec("k")
    };
    let none = h.gh.validate_dispatch(&other).expect("check");
    assert!(
        none.problems
            .iter()
            .any(|p| p.contains("no active workflow")),
        "{none:?}"
    );
    assert!(h.requests().iter().all(|r| r.method.as_str() == "GET"));
    // Requests per validation: repository, workflow list, each active workflow's file.
    assert_eq!(h.requests().len(), 4 + 4);
}

#[test]
fn a_claim_that_cannot_be_pushed_follows_state_durable() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .respond_with(runs(vec![])),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(DISPATCHES))
            .respond_with(ResponseTemplate::new(204)),
    );
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 2);
    relman_core::state::testing::refuse_pushes(&origin);
    let none = |_: &str| None;

    // Dispatch records need not be durable (the default): the dispatch goes ahead unshared.
    let (gh, _) = client_at(&h.url(), 100);
    let gh = gh.with_audit_store(open_store(&jobs[0]));
    let up = gh
        .dispatch(&deploy_spec("rollback:prod:7"))
        .expect("unshared");
    assert_eq!(up.outcome, Outcome::Created);
    assert_eq!(count(&h, "POST", DISPATCHES), 1);

    // `state.durable` lists dispatch: no claim, no dispatch (exit 3 naming the permission).
    let settings = relman_core::config::StateSettings {
        durable: vec![relman_core::config::RecordKind::Dispatch],
        ..Default::default()
    };
    let store = StateStore::open(&jobs[1], &settings, &none).expect("state store");
    let (gh, _) = client_at(&h.url(), 100);
    let gh = gh.with_audit_store(Arc::new(store));
    let err = gh
        .dispatch(&deploy_spec("rollback:prod:8"))
        .expect_err("no claim, no dispatch");
    assert_eq!(err.exit_code(), ExitCode::External, "{err}");
    assert_eq!(count(&h, "POST", DISPATCHES), 1);
}

#[test]
fn a_workflow_answer_octocrab_cannot_read_is_malformed_naming_the_field() {
    let h = harness();
    mount_repo(&h, Value::Null);
    let mut workflow = fixtures::workflow(".github/workflows/deploy.yml", "active");
    workflow["state"] = json!(5);
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/actions/workflows/deploy.yml")))
            .respond_with(ResponseTemplate::new(200).set_body_json(workflow)),
    );
    let err =
        h.gh.validate_dispatch(&deploy_spec("k"))
            .expect_err("malformed");
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Malformed
            && e.endpoint == "GET /repos/octocat/hello-world/actions/workflows/deploy.yml"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("malformed JSON response: `state`: invalid type: integer `5`"),
        "{text}"
    );
    assert_eq!(err.exit_code(), ExitCode::External);
}

/// The file example of GitHub's description holds `\n` as two characters inside its base64:
/// Prism serves it as is. octocrab's `Content::decoded_content` would panic on it; relman
/// reports a file it cannot read, naming it.
#[test]
fn a_workflow_file_whose_base64_does_not_decode_is_a_problem_not_a_panic() {
    let h = harness();
    mount_repo(&h, Value::Null);
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/actions/workflows/deploy.yml")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(fixtures::workflow(".github/workflows/deploy.yml", "active")),
            ),
    );
    let verbatim: Value =
        serde_json::from_str(include_str!("fixtures/content-file.json")).expect("json");
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!(
                "{REPO}/contents/.github/workflows/deploy.yml"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(verbatim)),
    );
    let check = h.gh.validate_dispatch(&deploy_spec("k")).expect("check");
    assert!(!check.accepted(), "{check:?}");
    assert!(
        check.problems.iter().any(|p| p.contains(
            ".github/workflows/deploy.yml at main: GitHub's answer holds no readable file"
        )),
        "{check:?}"
    );
}
