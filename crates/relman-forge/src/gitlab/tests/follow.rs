//! Following pipelines and jobs, a deployment's job and its artifacts, playing a manual job,
//! and validation without writes; bodies modelled on GitLab's documented examples.

use super::*;
use crate::{Deployment, DispatchRecord, RunState};

fn record(workflow: &str, id: u64) -> DispatchRecord {
    DispatchRecord {
        id,
        workflow: workflow.into(),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:1".into(),
        created_at: Some("2016-08-11T11:28:34Z".parse().expect("time")),
        run_url: None,
    }
}

fn job_json(id: u64, status: &str, artifacts: Value, expire: Value) -> Value {
    json!({
        "id": id, "name": "deploy-production", "stage": "deploy", "status": status,
        "ref": "main", "tag": false, "allow_failure": false,
        "created_at": "2015-12-24T15:51:21.727Z", "started_at": "2015-12-24T17:54:24.729Z",
        "finished_at": "2015-12-24T17:58:27.895Z", "duration": 243.166,
        "web_url": format!("https://example.com/foo/bar/-/jobs/{id}"),
        "artifacts": artifacts, "artifacts_expire_at": expire,
        "pipeline": {"id": 6, "ref": "main", "sha": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd", "status": status}
    })
}

fn archive() -> Value {
    json!([
        {"file_type": "archive", "size": 1000, "filename": "artifacts.zip", "file_format": "zip"},
        {"file_type": "trace", "size": 1500, "filename": "job.log", "file_format": null}
    ])
}

fn deployment(id: u64) -> Deployment {
    Deployment {
        id,
        environment: "production".into(),
        sha: "99d03678b90d914dbb1b109132516d71a4a03ea8".into(),
        git_ref: "main".into(),
        created_at: "2016-08-11T07:36:40Z".parse().expect("time"),
        creator: "root".into(),
        state: crate::DeploymentState::Success,
        statuses: vec![],
        idempotency_key: format!("gitlab-deployment:{id}"),
        payload: Value::Null,
    }
}

#[test]
fn pipelines_and_replayed_jobs_are_followed_and_only_success_succeeds() {
    let s = Server::start();
    for (id, status) in [(61, "running"), (62, "success"), (63, "a-new-status")] {
        s.mount(get(&format!("/pipelines/{id}")).respond_with(ok(json!({
            "id": id, "iid": 12, "project_id": 1, "status": status, "ref": "main",
            "sha": "959e04d7c7a30600c894bd3c0cd0e1ce7f42c11d",
            "web_url": format!("https://example.com/foo/bar/pipelines/{id}"),
            "created_at": "2016-08-11T11:28:34.085Z"
        }))));
    }
    s.mount(get("/jobs/6").respond_with(ok(job_json(6, "failed", archive(), Value::Null))));
    s.mount(get("/pipelines/99").respond_with(
        ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not found"})),
    ));
    let gl = s.gitlab(50);
    let running = gl.run_status(&record("deploy", 61)).expect("pipeline");
    assert_eq!(running.state, RunState::Running);
    assert_eq!(
        running.url.as_deref(),
        Some("https://example.com/foo/bar/pipelines/61")
    );
    assert_eq!(
        gl.run_status(&record("deploy", 62)).expect("done").state,
        RunState::Succeeded
    );
    assert_eq!(
        gl.run_status(&record("deploy", 63)).expect("new").state,
        RunState::Failed
    );
    let job = gl.run_status(&record("job:5", 6)).expect("job");
    assert_eq!((job.state, job.id), (RunState::Failed, Some(6)));
    assert_eq!(job.detail, "job failed");
    let err = gl.run_status(&record("deploy", 99)).expect_err("gone");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let err = gl.run_status(&record("deploy", 0)).expect_err("no id");
    assert!(matches!(err, Error::Usage(_)), "{err}");
    // One request per poll (none for a record without an id).
    assert_eq!(s.requests().len(), 5);
}

#[test]
fn a_deployments_job_says_whether_its_artifacts_last() {
    let s = Server::start();
    let mut with_job = deployment_json(42, "99d03678b90d914dbb1b109132516d71a4a03ea8", "success");
    with_job["deployable"] = job_json(14, "success", archive(), json!("2999-01-01T00:00:00.000Z"));
    s.mount(get("/deployments/42").respond_with(ok(with_job)));
    // A deployable without its artifacts: the job is read.
    let mut lean = deployment_json(43, "99d03678b90d914dbb1b109132516d71a4a03ea8", "success");
    lean["deployable"] = json!({"id": 15, "name": "deploy-production", "status": "success"});
    s.mount(get("/deployments/43").respond_with(ok(lean)));
    s.mount(get("/jobs/15").respond_with(ok(job_json(
        15,
        "success",
        archive(),
        json!("2016-01-24T17:58:27.895Z"),
    ))));
    s.mount(get("/deployments/44").respond_with(ok(deployment_json(
        44,
        "99d03678b90d914dbb1b109132516d71a4a03ea8",
        "success",
    ))));
    let mut manual = deployment_json(45, "99d03678b90d914dbb1b109132516d71a4a03ea8", "created");
    manual["deployable"] = job_json(16, "manual", json!([]), Value::Null);
    s.mount(get("/deployments/45").respond_with(ok(manual)));
    let gl = s.gitlab(50);

    let live = gl.deploy_job(&deployment(42)).expect("job").expect("some");
    assert_eq!((live.id, live.name.as_str()), (14, "deploy-production"));
    assert!(live.artifacts_available && !live.manual);
    assert_eq!(
        live.artifacts_expire_at.map(|t| t.to_string()).as_deref(),
        Some("2999-01-01T00:00:00Z")
    );
    assert_eq!(
        live.url.as_deref(),
        Some("https://example.com/foo/bar/-/jobs/14")
    );

    let expired = gl.deploy_job(&deployment(43)).expect("job").expect("some");
    assert_eq!(expired.id, 15);
    assert!(!expired.artifacts_available);
    assert_eq!(
        expired
            .artifacts_expire_at
            .map(|t| t.to_string())
            .as_deref(),
        Some("2016-01-24T17:58:27Z")
    );

    assert_eq!(gl.deploy_job(&deployment(44)).expect("none"), None);
    let manual = gl.deploy_job(&deployment(45)).expect("job").expect("some");
    assert!(manual.manual && !manual.artifacts_available);
    // 42: one request; 43: two; 44 and 45: one each.
    assert_eq!(s.requests().len(), 5);
}

#[test]
fn a_manual_job_is_played_not_retried() {
    let s = Server::start();
    s.mount(get("/jobs/16").respond_with(ok(job_json(16, "manual", json!([]), Value::Null))));
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/jobs/16/play")))
            .respond_with(ok(job_json(16, "pending", json!([]), Value::Null)))
            .expect(1),
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/jobs/16/retry")))
            .respond_with(ok(json!({})))
            .expect(0),
    );
    let gl = s.gitlab(50);
    let spec = DispatchSpec {
        workflow: "job:16".into(),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:production:16".into(),
    };
    let up = gl.dispatch(&spec).expect("played");
    assert_eq!((up.outcome, up.value.id), (Outcome::Created, 16));
    assert_eq!(
        up.value.run_url.as_deref(),
        Some("https://example.com/foo/bar/-/jobs/16")
    );
    // Requests per job replay: read the job (manual?), then play it, with no body (GitLab's
    // job actions take none).
    assert_eq!(s.requests().len(), 2);
    let play = &s.requests()[1];
    assert_eq!(play.method.as_str(), "POST");
    assert!(play.body.is_empty(), "{:?}", play.body);
    // The same process does not play it again, and asks GitLab nothing.
    assert_eq!(
        gl.dispatch(&spec).expect("again").outcome,
        Outcome::Unchanged
    );
    assert_eq!(s.requests().len(), 2);
    s.rt.block_on(s.server.verify());
}

#[test]
fn a_manual_job_is_played_with_the_dispatchs_variables_and_a_retry_takes_none() {
    let s = Server::start();
    s.mount(get("/jobs/16").respond_with(ok(job_json(16, "manual", json!([]), Value::Null))));
    s.mount(get("/jobs/17").respond_with(ok(job_json(17, "success", archive(), Value::Null))));
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/jobs/16/play")))
            .respond_with(ok(job_json(16, "pending", json!([]), Value::Null)))
            .expect(1),
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/jobs/17/retry")))
            .respond_with(ok(json!({})))
            .expect(0),
    );
    let gl = s.gitlab(50);
    let spec = |job: u64| DispatchSpec {
        workflow: format!("job:{job}"),
        git_ref: "main".into(),
        inputs: [
            ("DEPLOY_SHA".to_string(), "0ff3ae19".to_string()),
            ("REASON".to_string(), "INC-7 checkout errors".to_string()),
        ]
        .into(),
        requested_by: "ci".into(),
        idempotency_key: format!("rollback:production:{job}"),
    };
    let up = gl.dispatch(&spec(16)).expect("played");
    assert_eq!((up.outcome, up.value.id), (Outcome::Created, 16));
    assert_eq!(
        up.value.inputs,
        spec(16).inputs,
        "the record says what the job got"
    );
    let play = &s.requests()[1];
    assert_eq!(play.url.path(), format!("{P}/jobs/16/play"));
    let body: Value = serde_json::from_slice(&play.body).expect("a JSON body");
    assert_eq!(
        body,
        json!({"job_variables_attributes": [
            {"key": "DEPLOY_SHA", "value": "0ff3ae19"},
            {"key": "REASON", "value": "INC-7 checkout errors"}
        ]})
    );

    // GitLab retries a finished job with its own variables: refused, nothing sent.
    let e = gl
        .dispatch(&spec(17))
        .expect_err("a retry cannot take variables");
    assert!(matches!(e, relman_core::Error::Usage(_)), "{e}");
    assert!(e.to_string().contains("dispatch a pipeline"), "{e}");
    assert!(
        s.requests()
            .iter()
            .all(|r| !r.url.path().ends_with("/retry"))
    );
    s.rt.block_on(s.server.verify());
}

fn mount_project(s: &Server, level: Value) {
    s.mount(
        Mock::given(method("GET"))
            .and(path(P))
            .respond_with(ok(json!({
                "id": 3, "name": "project", "path_with_namespace": "group/sub/project",
                "default_branch": "main",
                "permissions": { "project_access": level, "group_access": null }
            }))),
    );
}

#[test]
fn a_pipeline_dispatch_is_validated_with_reads_only() {
    let s = Server::start();
    mount_project(&s, json!({"access_level": 30, "notification_level": 3}));
    s.mount(get("/repository/branches/main").respond_with(ok(json!({
        "name": "main", "merged": false, "protected": true, "default": true,
        "developers_can_push": false, "developers_can_merge": false,
        "commit": {"id": "7b5c3cc8be40ee161ae89a06bba6229da1032a0c"}
    }))));
    s.mount(get("/repository/branches/v1.2.0").respond_with(
        ResponseTemplate::new(404).set_body_json(json!({"message": "404 Branch Not Found"})),
    ));
    s.mount(get("/repository/tags/v1.2.0").respond_with(ok(json!({
        "name": "v1.2.0", "target": "2695effb5807a22ff3d138d593fd856244e155e7", "protected": false
    }))));
    for missing in ["/repository/branches/gone", "/repository/tags/gone"] {
        s.mount(get(missing).respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not Found"})),
        ));
    }
    let gl = s.gitlab(50);
    let spec = |r: &str| DispatchSpec {
        workflow: "deploy".into(),
        git_ref: r.into(),
        inputs: Default::default(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:1".into(),
    };
    let protected = gl.validate_dispatch(&spec("main")).expect("check");
    assert_eq!(protected.problems.len(), 1, "{protected:?}");
    assert!(protected.problems[0].contains("protected"), "{protected:?}");
    let tag = gl.validate_dispatch(&spec("v1.2.0")).expect("check");
    assert!(tag.accepted(), "{tag:?}");
    assert_eq!(tag.checked.len(), 2, "{tag:?}");
    let gone = gl.validate_dispatch(&spec("gone")).expect("check");
    assert!(
        gone.problems[0].contains("neither a branch nor a tag"),
        "{gone:?}"
    );
    assert!(s.requests().iter().all(|r| r.method.as_str() == "GET"));
    // Requests per validation: project + branch (+ tag when it is no branch).
    assert_eq!(s.requests().len(), 2 + 3 + 3);
}

#[test]
fn a_job_replay_is_validated_with_its_artifacts_and_ref() {
    let s = Server::start();
    // A job token: GitLab shows no access level.
    s.mount(
        Mock::given(method("GET"))
            .and(path(P))
            .respond_with(ok(json!({"id": 3, "name": "project"}))),
    );
    s.mount(get("/jobs/14").respond_with(ok(job_json(
        14,
        "success",
        archive(),
        json!("2999-01-01T00:00:00.000Z"),
    ))));
    s.mount(get("/jobs/15").respond_with(ok(job_json(
        15,
        "running",
        archive(),
        json!("2016-01-24T17:58:27.895Z"),
    ))));
    let gl = s.gitlab(50);
    let spec = |job: u64| DispatchSpec {
        workflow: format!("job:{job}"),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:1".into(),
    };
    let good = gl.validate_dispatch(&spec(14)).expect("check");
    assert!(good.accepted(), "{good:?}");
    assert_eq!(good.checked.len(), 3, "{good:?}");
    assert_eq!(good.unverified.len(), 1, "{good:?}");
    assert!(good.unverified[0].contains("access level"), "{good:?}");
    let bad = gl.validate_dispatch(&spec(15)).expect("check");
    assert_eq!(bad.problems.len(), 2, "{bad:?}");
    assert!(bad.problems.iter().any(|p| p.contains("running")));
    assert!(bad.problems.iter().any(|p| p.contains("expired")));
    let other_ref = DispatchSpec {
        git_ref: "release".into(),
        ..spec(14)
    };
    let moved = gl.validate_dispatch(&other_ref).expect("check");
    assert!(moved.problems[0].contains("ran on `main`"), "{moved:?}");
    assert!(s.requests().iter().all(|r| r.method.as_str() == "GET"));
    assert_eq!(s.requests().len(), 6);
}

#[test]
fn two_jobs_replaying_one_key_at_once_send_one_retry() {
    let s = Server::start();
    s.mount(get("/jobs/5").respond_with(ok(job_json(5, "success", archive(), Value::Null))));
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/jobs/5/retry")))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(job_json(6, "pending", json!([]), Value::Null))
                    .set_delay(Duration::from_millis(100)),
            ),
    );
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = relman_core::state::testing::origin_and_clones(base.path(), 2);
    let spec = DispatchSpec {
        workflow: "job:5".into(),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:production:5:INC-9".into(),
    };
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                let (barrier, spec, s) = (&barrier, &spec, &s);
                scope.spawn(move || {
                    let none = |_: &str| None;
                    let store = relman_core::state::StateStore::open(
                        job,
                        &relman_core::config::StateSettings::default(),
                        &none,
                    )
                    .expect("state");
                    let gl = s.gitlab(10).with_audit_store(Arc::new(store));
                    barrier.wait();
                    gl.dispatch(spec)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let retries = s
        .requests()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(retries, 1, "exactly one retry: {results:?}");
    let created = results
        .iter()
        .filter(|r| matches!(r, Ok(u) if u.outcome == Outcome::Created))
        .count();
    assert_eq!(created, 1, "{results:?}");
    // The other reports the first's retry, or — when it looked while the first was still
    // retrying — says so, naming the claim; never a second retry.
    for r in &results {
        match r {
            Ok(u) => assert_eq!(u.value.id, 6),
            Err(e) => assert!(e.to_string().contains("no dispatch was recorded"), "{e}"),
        }
    }
    let claim = relman_core::state::testing::git(
        &origin,
        &[
            "show",
            "relman/state:claims/gitlab/group%2Fsub%2Fproject/dispatch/rollback%3Aproduction%3A5%3AINC-9.json",
        ],
    );
    assert!(claim.contains("\"dispatched\""), "{claim}");
}
