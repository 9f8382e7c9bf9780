//! The GitLab backend against an in-process wiremock server, with bodies modelled on GitLab's
//! documented examples. The client is blocking: the mock server runs on its own tokio runtime
//! and the test thread sends requests outside of it. Waits are recorded, not slept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::client::Policy;
use super::{GitLab, GitLabToken};
use crate::{DeploymentSpec, DeploymentState, DispatchSpec, Forge, Outcome, ReleaseSpec};
use relman_core::ExitCode;
use relman_core::ci::Secret;
use relman_core::error::{Error, ForgeErrorKind};

const TOKEN: &str = "glpat-SECRET-never-shown";
const P: &str = "/api/v4/projects/group%2Fsub%2Fproject";

struct Server {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl Server {
    fn start() -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(MockServer::start());
        Server {
            rt,
            server,
            waits: Arc::default(),
        }
    }

    fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    fn gitlab(&self, budget: u32) -> GitLab {
        self.gitlab_with(budget, Some(GitLabToken::Private(Secret::new(TOKEN))))
    }

    fn gitlab_with(&self, budget: u32, token: Option<GitLabToken>) -> GitLab {
        gitlab_at(&self.server.uri(), budget, token, self.waits.clone())
    }

    fn requests(&self) -> Vec<wiremock::Request> {
        self.rt
            .block_on(self.server.received_requests())
            .expect("recording")
    }

    fn waits(&self) -> Vec<Duration> {
        self.waits.lock().expect("lock").clone()
    }
}

/// A client of the server at `uri` with test timings (300 ms timeout, 4 attempts); waits are
/// recorded in `waits`, not slept.
fn gitlab_at(
    uri: &str,
    budget: u32,
    token: Option<GitLabToken>,
    waits: Arc<Mutex<Vec<Duration>>>,
) -> GitLab {
    GitLab::with_policy(
        &format!("{uri}/api/v4/"),
        "group/sub/project",
        token,
        budget,
        Policy {
            max_attempts: 4,
            backoff: Duration::from_millis(100),
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_millis(300),
            ..Policy::default()
        },
        Arc::new(move |d| waits.lock().expect("lock").push(d)),
        // Never the developer's own proxy settings.
        &|_| None,
    )
    .expect("client")
}

fn get(p: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path(format!("{P}{p}")))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

/// A release as documented for `GET /projects/:id/releases/:tag_name`.
fn release_json(name: &str, description: &str) -> Value {
    json!({
        "tag_name": "v0.1",
        "description": description,
        "name": name,
        "created_at": "2019-01-03T01:55:18.203Z",
        "released_at": "2019-01-03T01:55:18.203Z",
        "author": {"id": 1, "name": "Administrator", "username": "root"},
        "commit": {"id": "f8d3d94cbd347e924aa7b715845e439d00e80ca4", "short_id": "f8d3d94c"},
        "upcoming_release": false,
        "_links": {"self": "https://gitlab.example.com/group/sub/project/-/releases/v0.1"}
    })
}

fn spec(name: &str, body: &str) -> ReleaseSpec {
    ReleaseSpec {
        tag: "v0.1".into(),
        name: name.into(),
        body: body.into(),
        draft: false,
        prerelease: false,
        target: None,
    }
}

/// A deployment as documented for `GET /projects/:id/deployments`.
fn deployment_json(id: u64, sha: &str, status: &str) -> Value {
    json!({
        "id": id, "iid": id, "ref": "main", "sha": sha, "status": status,
        "created_at": "2016-08-11T07:36:40.222Z", "updated_at": "2016-08-11T07:38:12.414Z",
        "user": {"id": 1, "name": "Administrator", "username": "root", "state": "active"},
        "environment": {"id": 9, "name": "production", "external_url": "https://about.gitlab.com"},
        "deployable": null
    })
}

fn deploy_spec(sha: &str, key: &str) -> DeploymentSpec {
    DeploymentSpec {
        environment: "production".into(),
        sha: sha.into(),
        git_ref: "main".into(),
        creator: "ci".into(),
        idempotency_key: key.into(),
        payload: Value::Null,
    }
}

#[test]
fn missing_release_is_none_and_the_token_travels_in_its_header() {
    let s = Server::start();
    s.mount(
        get("/releases/v9.9.9")
            .and(header("PRIVATE-TOKEN", TOKEN))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"message": "404 Not Found"})),
            ),
    );
    assert_eq!(s.gitlab(10).release_by_tag("v9.9.9").expect("ok"), None);

    let job = s.gitlab_with(10, Some(GitLabToken::Job(Secret::new("job-tok"))));
    s.mount(
        get("/releases/v1.0.0")
            .and(header("JOB-TOKEN", "job-tok"))
            .respond_with(ok(release_json("v1", "notes"))),
    );
    let r = job.release_by_tag("v1.0.0").expect("ok").expect("some");
    assert_eq!(r.body, "notes");
    assert_eq!(r.created_at.to_string(), "2019-01-03T01:55:18Z");
    assert_eq!(
        r.target.as_deref(),
        Some("f8d3d94cbd347e924aa7b715845e439d00e80ca4")
    );
}

#[test]
fn release_is_created_updated_or_left_unchanged() {
    let s = Server::start();
    // Created: GET 404, then POST.
    s.mount(
        get("/releases/v0.1")
            .respond_with(ResponseTemplate::new(404))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/releases")))
            .and(body_partial_json(
                json!({"tag_name": "v0.1", "name": "v0.1", "description": "new", "ref": "main"}),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(release_json("v0.1", "new")))
            .expect(1),
    );
    let gl = s.gitlab(20);
    let mut create = spec("v0.1", "new");
    create.target = Some("main".into());
    let up = gl.upsert_release(&create).expect("create");
    assert_eq!(up.outcome, Outcome::Created);

    // Unchanged: the same content again sends no write.
    s.mount(get("/releases/v0.1").respond_with(ok(release_json("v0.1", "new"))));
    let up = gl.upsert_release(&spec("v0.1", "new")).expect("same");
    assert_eq!(up.outcome, Outcome::Unchanged);

    // Updated: other notes → PUT.
    s.mount(
        Mock::given(method("PUT"))
            .and(path(format!("{P}/releases/v0.1")))
            .and(body_partial_json(json!({"description": "newer"})))
            .respond_with(ok(release_json("v0.1", "newer")))
            .expect(1),
    );
    let up = gl.upsert_release(&spec("v0.1", "newer")).expect("update");
    assert_eq!(up.outcome, Outcome::Updated);
    assert_eq!(up.value.body, "newer");

    let mut draft = spec("v0.1", "x");
    draft.draft = true;
    let err = gl.upsert_release(&draft).expect_err("no drafts on gitlab");
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    s.rt.block_on(s.server.verify());
}

#[test]
fn a_lost_create_is_found_by_the_recheck_not_sent_twice() {
    let s = Server::start();
    s.mount(
        get("/releases/v0.1")
            .respond_with(ResponseTemplate::new(404))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(get("/releases/v0.1").respond_with(ok(release_json("v0.1", "new"))));
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/releases")))
            .respond_with(ResponseTemplate::new(502))
            .expect(1),
    );
    let up = s
        .gitlab(10)
        .upsert_release(&spec("v0.1", "new"))
        .expect("ok");
    assert_eq!(up.outcome, Outcome::Created);
    s.rt.block_on(s.server.verify());
}

#[test]
fn server_errors_are_retried_with_backoff_then_succeed() {
    let s = Server::start();
    s.mount(
        get("/releases/v0.1")
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(2)
            .with_priority(1),
    );
    s.mount(get("/releases/v0.1").respond_with(ok(release_json("v0.1", "n"))));
    let r = s.gitlab(10).release_by_tag("v0.1").expect("ok");
    assert!(r.is_some());
    let waits = s.waits();
    assert_eq!(waits.len(), 2);
    assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
    assert!(waits[1] >= Duration::from_millis(100) && waits[1] <= Duration::from_millis(200));

    // Always failing: gives up after 4 attempts, exit 3, naming the endpoint.
    s.mount(get("/releases/v0.2").respond_with(ResponseTemplate::new(500)));
    let err = s.gitlab(10).release_by_tag("v0.2").expect_err("fails");
    assert_eq!(err.exit_code(), ExitCode::External);
    let msg = err.to_string();
    assert!(
        msg.contains("releases/v0.2") && msg.contains("4 attempts"),
        "{msg}"
    );
}

#[test]
fn rate_limits_wait_for_retry_after_or_fail_naming_the_reset() {
    let s = Server::start();
    s.mount(
        get("/releases/v0.1")
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(get("/releases/v0.1").respond_with(ok(release_json("v0.1", "n"))));
    assert!(s.gitlab(10).release_by_tag("v0.1").expect("ok").is_some());
    assert_eq!(s.waits(), vec![Duration::from_secs(7)]);

    let reset = jiff::Timestamp::now().as_second() + 3600;
    s.mount(
        get("/releases/v0.2").respond_with(
            ResponseTemplate::new(429)
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Reset", reset.to_string().as_str()),
        ),
    );
    let err = s.gitlab(10).release_by_tag("v0.2").expect_err("too long");
    let when = jiff::Timestamp::from_second(reset).expect("ts").to_string();
    assert!(err.to_string().contains(&when), "{err}");
    assert_eq!(err.exit_code(), ExitCode::External);
    assert!(
        matches!(&err, Error::Api(e)
            if matches!(e.kind, ForgeErrorKind::RateLimited { until: Some(_) })),
        "{err:?}"
    );
}

#[test]
fn an_exhausted_rate_limit_delays_the_next_request() {
    let s = Server::start();
    let reset = jiff::Timestamp::now().as_second() + 5;
    s.mount(
        get("/freeze_periods").respond_with(
            ok(json!([]))
                .insert_header("RateLimit-Remaining", "0")
                .insert_header("RateLimit-Reset", reset.to_string().as_str()),
        ),
    );
    let gl = s.gitlab(10);
    gl.freeze_periods().expect("first");
    gl.freeze_periods().expect("second");
    let waits = s.waits();
    assert_eq!(waits.len(), 1);
    assert!(waits[0] >= Duration::from_secs(3) && waits[0] <= Duration::from_secs(5));
}

#[test]
fn a_timeout_is_retried() {
    let s = Server::start();
    s.mount(
        get("/releases/v0.1")
            .respond_with(ok(release_json("v0.1", "n")).set_delay(Duration::from_secs(2)))
            .up_to_n_times(1)
            .with_priority(1),
    );
    s.mount(get("/releases/v0.1").respond_with(ok(release_json("v0.1", "n"))));
    assert!(s.gitlab(10).release_by_tag("v0.1").expect("ok").is_some());
    assert_eq!(s.waits().len(), 1);
}

#[test]
fn malformed_json_is_a_forge_error_naming_the_endpoint() {
    let s = Server::start();
    s.mount(get("/releases/v0.1").respond_with(
        ResponseTemplate::new(200).set_body_raw("{\"tag_name\": ", "application/json"),
    ));
    let err = s.gitlab(10).release_by_tag("v0.1").expect_err("malformed");
    assert!(
        matches!(&err, Error::Api(e) if e.backend == "gitlab" && e.kind == ForgeErrorKind::Malformed),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), ExitCode::External);
    let msg = err.to_string();
    assert!(
        msg.contains("GET /projects/group%2Fsub%2Fproject/releases/v0.1: malformed JSON"),
        "{msg}"
    );
}

#[test]
fn the_token_is_never_in_errors_or_debug_output() {
    let s = Server::start();
    s.mount(
        get("/releases/v0.1").respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": format!("401 Unauthorized {TOKEN}")})),
        ),
    );
    s.mount(get("/releases/v0.2").respond_with(ResponseTemplate::new(500)));
    let gl = s.gitlab(10);
    for tag in ["v0.1", "v0.2"] {
        let err = gl.release_by_tag(tag).expect_err("fails");
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN));
    }
    assert!(!format!("{gl:?}").contains(TOKEN), "{gl:?}");
    assert!(format!("{gl:?}").contains("PRIVATE-TOKEN"));
}

#[test]
fn errors_say_which_status_and_whether_it_is_transient() {
    // Promote and rollback must tell "none" (404) from a conflict (409, 422) from a failure
    // worth retrying later (5xx after the retries, a dead connection).
    let kind = |e: &Error| match e {
        Error::Api(f) => (f.status(), f.is_transient(), f.endpoint.clone()),
        other => panic!("not a forge API error: {other:?}"),
    };
    for status in [409u16, 422] {
        let s = Server::start();
        s.mount(
            get("/freeze_periods").respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"message": "no"})),
            ),
        );
        let err = s.gitlab(10).freeze_periods().expect_err("status");
        assert_eq!(
            kind(&err),
            (
                Some(status),
                false,
                "GET /projects/group%2Fsub%2Fproject/freeze_periods".into()
            ),
            "{err}"
        );
        assert_eq!(err.exit_code(), ExitCode::External);
    }
    let s = Server::start();
    s.mount(get("/freeze_periods").respond_with(ResponseTemplate::new(503)));
    let err = s.gitlab(10).freeze_periods().expect_err("503");
    assert_eq!(kind(&err).0, Some(503), "{err}");
    assert!(kind(&err).1, "a 5xx after the retries is transient: {err}");

    // A port nobody listens on: a transport failure, transient.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let err = gitlab_at(&url, 10, None, Arc::default())
        .freeze_periods()
        .expect_err("refused");
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Transport && e.is_transient()),
        "{err:?}"
    );
}

#[test]
fn deployments_are_listed_across_pages_newest_first() {
    let s = Server::start();
    let shas = ["a1", "a2", "a3"];
    s.mount(
        get("/deployments")
            .and(query_param("environment", "production"))
            .and(query_param("order_by", "id"))
            .and(query_param("sort", "desc"))
            .and(query_param("page", "2"))
            .respond_with(ok(json!([deployment_json(1, shas[2], "failed")]))),
    );
    s.mount(
        get("/deployments")
            .and(query_param("environment", "production"))
            .respond_with(
                ok(json!([
                    deployment_json(3, shas[0], "success"),
                    deployment_json(2, shas[1], "running")
                ]))
                .insert_header("x-next-page", "2"),
            ),
    );
    let list = s.gitlab(10).deployments("production", 10).expect("ok");
    let ids: Vec<u64> = list.iter().map(|d| d.id).collect();
    assert_eq!(ids, [3, 2, 1]);
    assert_eq!(list[0].state, DeploymentState::Success);
    assert!(list[0].is_good());
    assert_eq!(list[1].state, DeploymentState::InProgress);
    assert_eq!(list[2].state, DeploymentState::Failure);
    assert_eq!(list[0].creator, "root");
}

#[test]
fn issues_follow_link_pagination() {
    let s = Server::start();
    let issue = |iid: u64| {
        json!({"id": iid + 100, "iid": iid, "title": format!("blocker {iid}"),
               "web_url": format!("http://gitlab.example.com/g/p/issues/{iid}"),
               "labels": ["release-blocker"], "state": "opened"})
    };
    let next = format!(
        "{}{P}/issues?labels=release-blocker&page=2&per_page=100",
        s.server.uri()
    );
    s.mount(
        get("/issues")
            .and(query_param("page", "2"))
            .respond_with(ok(json!([issue(3)]))),
    );
    s.mount(
        get("/issues")
            .and(query_param("labels", "release-blocker"))
            .and(query_param("state", "opened"))
            .respond_with(
                ok(json!([issue(1), issue(2)]))
                    .insert_header("link", format!("<{next}>; rel=\"next\"").as_str()),
            ),
    );
    let issues = s
        .gitlab(10)
        .issues_with_label("release-blocker")
        .expect("ok");
    assert_eq!(
        issues.iter().map(|i| i.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn a_deployment_is_never_made_twice() {
    let s = Server::start();
    let sha = "99d03678b90d914dbb1b109132516d71a4a03ea8";
    // The environment's newest deployment is this sha and ref: a retried job gets it back.
    s.mount(
        get("/deployments")
            .and(query_param("environment", "production"))
            .respond_with(ok(json!([deployment_json(41, sha, "running")]))),
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/deployments")))
            .respond_with(ResponseTemplate::new(201))
            .expect(0),
    );
    let gl = s.gitlab(20);
    let up = gl.create_deployment(&deploy_spec(sha, "k1")).expect("ok");
    assert_eq!(up.outcome, Outcome::Unchanged);
    assert_eq!(up.value.id, 41);
    assert_eq!(up.value.idempotency_key, "k1");
    s.rt.block_on(s.server.verify());
}

#[test]
fn a_new_deployment_is_created_then_its_key_is_remembered() {
    let s = Server::start();
    let sha = "b83d6e391c22777fca1ed3012fce84f633d7fed0";
    s.mount(get("/deployments").respond_with(ok(json!([deployment_json(41, "old", "success")]))));
    s.mount(get("/repository/tags/main").respond_with(ResponseTemplate::new(404)));
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/deployments")))
            .and(body_partial_json(
                json!({"environment": "production", "sha": sha,
                                          "ref": "main", "tag": false, "status": "running"}),
            ))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(deployment_json(42, sha, "running")),
            )
            .expect(1),
    );
    s.mount(get("/deployments/42").respond_with(ok(deployment_json(42, sha, "running"))));
    let gl = s.gitlab(20);
    let up = gl
        .create_deployment(&deploy_spec(sha, "k2"))
        .expect("create");
    assert_eq!((up.outcome, up.value.id), (Outcome::Created, 42));
    let again = gl
        .create_deployment(&deploy_spec(sha, "k2"))
        .expect("again");
    assert_eq!((again.outcome, again.value.id), (Outcome::Unchanged, 42));
    let err = gl
        .create_deployment(&deploy_spec("other", "k2"))
        .expect_err("key reused");
    assert!(matches!(err, Error::Conflict { .. }), "{err}");

    // Status: the same status is unchanged, another one is a PUT.
    let same = gl
        .set_deployment_status(42, DeploymentState::InProgress, "")
        .expect("same");
    assert_eq!(same.outcome, Outcome::Unchanged);
    s.mount(
        Mock::given(method("PUT"))
            .and(path(format!("{P}/deployments/42")))
            .and(body_partial_json(json!({"status": "success"})))
            .respond_with(ok(deployment_json(42, sha, "success")))
            .expect(1),
    );
    let done = gl
        .set_deployment_status(42, DeploymentState::Success, "ok")
        .expect("put");
    assert_eq!(done.outcome, Outcome::Updated);
    assert!(done.value.is_good());
    s.mount(get("/deployments/7").respond_with(ResponseTemplate::new(404)));
    let err = gl
        .set_deployment_status(7, DeploymentState::Success, "")
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    s.rt.block_on(s.server.verify());
}

#[test]
fn dispatch_finds_its_pipeline_by_key_or_creates_one() {
    let s = Server::start();
    s.mount(
        get("/pipelines")
            .and(query_param("ref", "main"))
            .respond_with(ok(json!([
                {"id": 47, "status": "pending", "ref": "main", "sha": "a91957a8", "web_url": "https://example.com/foo/bar/pipelines/47", "created_at": "2016-08-11T11:28:34.085Z"},
                {"id": 46, "status": "success", "ref": "main", "sha": "a91957a8", "web_url": "https://example.com/foo/bar/pipelines/46", "created_at": "2016-08-11T11:27:34.085Z"}
            ]))),
    );
    s.mount(get("/pipelines/47/variables").respond_with(ok(json!([]))));
    s.mount(get("/pipelines/46/variables").respond_with(ok(json!([
        {"key": "RELMAN_IDEMPOTENCY_KEY", "variable_type": "env_var", "value": "rollback:1"},
        {"key": "RELMAN_WORKFLOW", "variable_type": "env_var", "value": "deploy"},
        {"key": "VERSION", "variable_type": "env_var", "value": "1.2.0"}
    ]))));
    let gl = s.gitlab(50);
    let mut d = DispatchSpec {
        workflow: "deploy".into(),
        git_ref: "main".into(),
        inputs: [("VERSION".to_string(), "1.2.0".to_string())].into(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:1".into(),
    };
    let up = gl.dispatch(&d).expect("found");
    assert_eq!((up.outcome, up.value.id), (Outcome::Unchanged, 46));

    d.inputs.insert("VERSION".into(), "9.9.9".into());
    assert!(matches!(gl.dispatch(&d), Err(Error::Conflict { .. })));

    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/pipeline")))
            .and(body_partial_json(json!({"ref": "main", "variables": [
                {"key": "VERSION", "value": "9.9.9", "variable_type": "env_var"},
                {"key": "RELMAN_IDEMPOTENCY_KEY", "value": "rollback:2", "variable_type": "env_var"},
                {"key": "RELMAN_WORKFLOW", "value": "deploy", "variable_type": "env_var"}
            ]})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 61, "status": "pending", "ref": "main",
                "web_url": "https://example.com/foo/bar/pipelines/61",
                "created_at": "2016-11-04T09:36:13.747Z"})))
            .expect(1),
    );
    d.idempotency_key = "rollback:2".into();
    let up = gl.dispatch(&d).expect("created");
    assert_eq!((up.outcome, up.value.id), (Outcome::Created, 61));
    assert_eq!(
        up.value.run_url.as_deref(),
        Some("https://example.com/foo/bar/pipelines/61")
    );
    s.rt.block_on(s.server.verify());
}

#[test]
fn evidence_reads_map_gitlab_objects() {
    let s = Server::start();
    let sha = "18f3e63d05582537db6d183d9d557be09e1f90c8";
    s.mount(get("/pipelines").and(query_param("sha", sha)).respond_with(ok(json!([
        {"id": 5, "status": "success", "source": "push", "web_url": "https://g/p/-/pipelines/5"}
    ]))));
    s.mount(get(&format!("/repository/commits/{sha}/statuses")).respond_with(ok(json!([
        {"id": 93, "sha": sha, "ref": "main", "status": "success", "name": "default", "target_url": "https://ci/93"},
        {"id": 94, "sha": sha, "ref": "main", "status": "pending", "name": "test", "target_url": null}
    ]))));
    s.mount(get("/merge_requests/5/approvals").respond_with(ok(json!({
        "id": 5, "iid": 5, "approvals_required": 2, "approvals_left": 1,
        "approved_by": [{"user": {"name": "Administrator", "username": "root", "id": 1}}]
    }))));
    s.mount(get("/freeze_periods").respond_with(ok(json!([
        {"id": 1, "freeze_start": "0 23 * * 5", "freeze_end": "0 7 * * 1", "cron_timezone": "UTC",
         "created_at": "2020-05-15T17:03:35.702Z", "updated_at": "2020-05-15T17:06:41.566Z"}
    ]))));
    let gl = s.gitlab(20);
    let checks = gl.checks_for_commit(sha).expect("checks");
    assert_eq!(checks.len(), 3);
    assert_eq!(checks[0].name, "pipeline #5 (push)");
    assert_eq!(checks[2].status, crate::CheckStatus::Queued);
    let reviews = gl.reviews(5).expect("reviews");
    assert_eq!(reviews[0].author, "root");
    let freezes = gl.freeze_periods().expect("freezes");
    assert_eq!(freezes[0].cron_start, "0 23 * * 5");
    assert_eq!(freezes[0].timezone, "UTC");
}

#[test]
fn merge_requests_for_commits_come_from_one_listing_of_the_window() {
    let s = Server::start();
    let (newest, middle, oldest) = ("c3", "c2", "c1");
    s.mount(get("/repository/commits/c3").respond_with(ok(
        json!({"id": "c3", "committed_date": "2024-05-02T10:00:00.000+02:00"}),
    )));
    s.mount(get("/repository/commits/c1").respond_with(ok(
        json!({"id": "c1", "committed_date": "2024-05-01T10:00:00.000+02:00"}),
    )));
    s.mount(
        get("/merge_requests")
            .and(query_param("state", "merged"))
            .and(query_param("updated_after", "2024-05-01T07:00:00Z"))
            .respond_with(ok(json!([
                {"id": 1, "iid": 7, "title": "feat: squash", "web_url": "https://g/p/-/merge_requests/7",
                 "author": {"username": "alice"}, "merged_at": "2024-05-02T10:00:00.000Z",
                 "sha": "h7", "merge_commit_sha": null, "squash_commit_sha": "c3"},
                {"id": 2, "iid": 6, "title": "fix: merge", "web_url": "https://g/p/-/merge_requests/6",
                 "author": {"username": "bob"}, "merged_at": "2024-05-01T12:00:00.000Z",
                 "sha": "h6", "merge_commit_sha": "c2", "squash_commit_sha": null}
            ]))),
    );
    s.mount(get("/merge_requests/6/commits").respond_with(ok(json!([{"id": "c1"}]))));
    let map = s
        .gitlab(20)
        .pull_requests_for_commits(&[newest, "direct", middle, oldest])
        .expect("ok");
    assert_eq!(map["c3"][0].number, 7);
    assert_eq!(map["c3"][0].author_login, "alice");
    assert_eq!(map["c2"][0].number, 6);
    assert_eq!(map["c1"][0].number, 6);
    assert!(map["direct"].is_empty());
    assert_eq!(s.requests().len(), 4);
}

mod details;
mod faults;
mod follow;
mod proxy;
mod times;

#[test]
fn a_redirect_is_not_followed_and_the_token_stays_home() {
    // Issue #12 finding 2: a 307 to another origin must not carry PRIVATE-TOKEN / JOB-TOKEN there.
    let s = Server::start();
    let elsewhere = Server::start();
    elsewhere
        .mount(Mock::given(method("GET")).respond_with(ok(release_json("v1", "from elsewhere"))));
    let target = format!("{}{P}/releases/v1.0.0", elsewhere.server.uri());
    for status in [301, 302, 307, 308] {
        s.mount(
            get("/releases/v1.0.0")
                .respond_with(
                    ResponseTemplate::new(status).insert_header("location", target.as_str()),
                )
                .up_to_n_times(1),
        );
        for gl in [
            s.gitlab(10),
            s.gitlab_with(10, Some(GitLabToken::Job(Secret::new("job-tok")))),
        ] {
            let err = gl
                .release_by_tag("v1.0.0")
                .expect_err("a redirect is refused");
            let msg = err.to_string();
            assert!(msg.contains("redirect"), "{status}: {msg}");
            assert!(!msg.contains(TOKEN) && !msg.contains("job-tok"), "{msg}");
            s.rt.block_on(s.server.reset());
            s.mount(get("/releases/v1.0.0").respond_with(
                ResponseTemplate::new(status).insert_header("location", target.as_str()),
            ));
        }
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the other origin was asked: {:?}",
        elsewhere
            .requests()
            .iter()
            .map(|r| r.headers.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_job_retry_is_not_repeated_by_the_next_job() {
    // The key of a `job:<id>` dispatch lives on the state branch: a new client (a retried or
    // later job, a new process) with its own handle on the branch does not retry again.
    let s = Server::start();
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/jobs/5/retry")))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": 6, "status": "pending", "web_url": "https://example.com/foo/bar/-/jobs/6",
                "created_at": "2016-08-11T11:28:34.085Z"
            })))
            .expect(1),
    );
    // Job 5 finished: it is retried (a manual one would be played).
    s.mount(get("/jobs/5").respond_with(ok(json!({
        "id": 5, "name": "deploy", "status": "success", "ref": "main",
        "web_url": "https://example.com/foo/bar/-/jobs/5", "artifacts": []
    }))));
    let state = tempfile::tempdir().expect("tempdir");
    let spec = DispatchSpec {
        workflow: "job:5".into(),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:production:5".into(),
    };
    let job = || {
        let store = crate::LocalStore::scratch(state.path()).expect("state");
        s.gitlab(10).with_audit_store(store.state().clone())
    };
    let first = job().dispatch(&spec).expect("retry");
    assert_eq!((first.outcome, first.value.id), (Outcome::Created, 6));
    let again = job().dispatch(&spec).expect("again");
    assert_eq!((again.outcome, again.value.id), (Outcome::Unchanged, 6));
    let other = DispatchSpec {
        workflow: "job:9".into(),
        ..spec.clone()
    };
    let err = job().dispatch(&other).expect_err("key reused");
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    s.rt.block_on(s.server.verify());
}
