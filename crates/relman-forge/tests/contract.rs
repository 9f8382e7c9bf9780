//! Contract tests: the real GitHub and GitLab backends against Prism serving the forges' own
//! API descriptions (GitHub: `@octokit/openapi`; GitLab: the patched v4 description).
//!
//! Run by `tests/contract/run.sh`, which installs Prism, starts the servers and sets
//! `RELMAN_CONTRACT_GITHUB_URL` / `RELMAN_CONTRACT_GITLAB_URL`; the tests are `#[ignore]`d so
//! that a plain `cargo test` does not need them.
//!
//! Prism (`--errors`) validates every request against the description and answers with its
//! examples; it keeps no state. Between the backend and Prism sits a recording proxy (a
//! wiremock server forwarding every request) which
//! - records each exchange, so that a request Prism rejects fails the test with its method,
//!   path, body and Prism's violation message (`sl-violations`, or Prism's problem+json for
//!   unknown routes and bad parameters) — a backend that maps the 404 of an unknown route to
//!   "not found" cannot hide it;
//! - drops the example pagination headers (`Link`, `X-Next-Page`): they point at
//!   `https://api.github.com/resource?page=2`, and pagination is not what is checked here;
//! - can ask Prism for another documented response (`Prefer: code=404`), so that both the
//!   create and the update path of an upsert are exercised.

use std::sync::{Arc, Mutex};

use relman_core::ci::Secret;
use relman_forge::{
    CommitState, CommitStatusSpec, Deployment, DeploymentSpec, DeploymentState, DispatchRecord,
    DispatchSpec, Forge, GitHub, GitLab, GitLabToken, Outcome, ReleaseSpec,
};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const SHA: &str = "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d";
const SHA2: &str = "7638417db6d59f3c431d3e1f261cc637155684cd";

/// One request through the proxy and Prism's answer.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    target: String,
    body: String,
    status: u16,
    /// Prism's verdict when it rejected the request.
    violation: Option<String>,
    /// Prism knows no such route: the description does not cover it.
    unrouted: bool,
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.target, self.status)?;
        if let Some(v) = &self.violation {
            write!(f, "\n      violation: {v}")?;
            if !self.body.is_empty() {
                write!(f, "\n      body: {}", self.body)?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    log: Vec<Exchange>,
    /// Requests whose `METHOD path` contains this get `Prefer: code=404`.
    not_found: Vec<String>,
    /// `(METHOD path part, JSON pointer, value)`: a 200 answer to a matching request gets that
    /// value before relman reads it (an example object in another state than a flow needs;
    /// the requests are still judged by Prism as sent).
    patches: Vec<(String, String, serde_json::Value)>,
}

struct Forward {
    upstream: String,
    agent: ureq::Agent,
    state: Arc<Mutex<State>>,
}

/// Prism's message for a request it rejected, if it did.
fn violation(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(v) = headers.get("sl-violations").and_then(|v| v.to_str().ok()) {
        let errors: Vec<String> = serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            // Prism also judges its own example answers (`response…`): not relman's doing.
            .filter(|e| e["severity"] == "Error" && e["location"][0] == "request")
            .map(|e| {
                let at: Vec<String> = e["location"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|p| p.as_str().unwrap_or("?").to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                format!("{}: {}", at.join("."), e["message"].as_str().unwrap_or(""))
            })
            .collect();
        if !errors.is_empty() {
            return Some(errors.join("; "));
        }
    }
    let problem = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("problem+json"));
    if problem || status == 400 || status == 422 {
        let text = String::from_utf8_lossy(body);
        let detail = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .map(|v| {
                let mut d = format!(
                    "{}: {}",
                    v["title"].as_str().unwrap_or(""),
                    v["detail"].as_str().unwrap_or("")
                );
                if let Some(list) = v["validation"].as_array() {
                    for e in list {
                        d.push_str(&format!(
                            "; {}: {}",
                            e["location"]
                                .as_array()
                                .map(|l| {
                                    l.iter()
                                        .map(|p| p.as_str().unwrap_or("?").to_string())
                                        .collect::<Vec<_>>()
                                        .join(".")
                                })
                                .unwrap_or_default(),
                            e["message"].as_str().unwrap_or("")
                        ));
                    }
                }
                d
            })
            .unwrap_or_else(|| text.chars().take(300).collect());
        return Some(detail);
    }
    None
}

impl Respond for Forward {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let target = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_string(),
        };
        let line = format!("{} {}", req.method, req.url.path());
        // What this call asked of the answers: a forced 404, a patched field.
        let (force_404, patch) = {
            let state = self.state.lock().expect("lock");
            (
                state.not_found.iter().any(|p| line.contains(p.as_str())),
                state
                    .patches
                    .iter()
                    .find(|(part, _, _)| line.contains(part.as_str()))
                    .cloned(),
            )
        };
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(format!("{}{target}", self.upstream));
        for (name, value) in &req.headers {
            match name.as_str() {
                "host" | "content-length" | "connection" | "accept-encoding"
                | "transfer-encoding" => {}
                // GitHub's description lists its answers as `application/json` only; Prism
                // would refuse the media type GitHub documents (406).
                "accept" if value == "application/vnd.github+json" => {
                    builder = builder.header(name, "application/json");
                }
                _ => builder = builder.header(name, value),
            }
        }
        if force_404 {
            builder = builder.header("prefer", "code=404");
        }
        let sent = if req.body.is_empty() {
            self.agent.run(builder.body(()).expect("request"))
        } else {
            self.agent
                .run(builder.body(req.body.clone()).expect("request"))
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                return ResponseTemplate::new(599).set_body_string(format!("proxy: {e}"));
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        self.state.lock().expect("lock").log.push(Exchange {
            method: req.method.to_string(),
            target,
            body: String::from_utf8_lossy(&req.body).into_owned(),
            status,
            violation: violation(status, &headers, &body),
            unrouted: status == 404 && String::from_utf8_lossy(&body).contains("NO_PATH_MATCHED"),
        });
        let body = match (status, patch) {
            (200, Some((_, pointer, value))) => {
                let mut v: serde_json::Value =
                    serde_json::from_slice(&body).expect("a JSON example answer to patch");
                *v.pointer_mut(&pointer).expect("the patched field") = value;
                serde_json::to_vec(&v).expect("json")
            }
            _ => body,
        };
        let mut template = ResponseTemplate::new(status);
        let mut content_type = "application/json".to_string();
        for (name, value) in &headers {
            let Ok(v) = value.to_str() else { continue };
            match name.as_str() {
                "content-type" => content_type = v.to_string(),
                "link" | "x-next-page" | "content-length" | "transfer-encoding" | "connection"
                | "keep-alive" | "date" => {}
                n => template = template.append_header(n, v),
            }
        }
        template.set_body_raw(body, &content_type)
    }
}

/// The recording proxy in front of one Prism server.
struct Proxy {
    _rt: tokio::runtime::Runtime,
    server: MockServer,
    state: Arc<Mutex<State>>,
    /// What each call sent, for the summary.
    report: Vec<String>,
    failures: Vec<String>,
    /// Calls hit by a defect of the description itself, and what it is (see [`Proxy::call`]).
    known_gaps: Vec<(&'static str, Gap)>,
}

/// A defect of the API description (not of relman) that a call runs into.
#[derive(Clone, Copy)]
enum Gap {
    /// The description lacks the route: Prism cannot judge the call.
    NoRoute(&'static str),
    /// The description's answer has another shape than the real API's (a list described as
    /// one object): the requests are judged, relman cannot read the example answer.
    AnswerShape(&'static str),
    /// The description types a path parameter as an integer where the real API takes a name
    /// (GitLab's `GET …/repository/branches/{branch}`): Prism refuses the request as
    /// `must be integer`, so the call is not judged.
    IntegerParameter(&'static str),
}

impl Proxy {
    fn new(var: &str) -> Proxy {
        let upstream = std::env::var(var).unwrap_or_else(|_| {
            panic!(
                "{var} is not set: these contract tests run against Prism; \
                 run them with `bash tests/contract/run.sh`"
            )
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(MockServer::start());
        let state = Arc::new(Mutex::new(State::default()));
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build();
        let forward = Forward {
            upstream: upstream.trim_end_matches('/').to_string(),
            agent: ureq::Agent::new_with_config(config),
            state: Arc::clone(&state),
        };
        rt.block_on(Mock::given(any()).respond_with(forward).mount(&server));
        Proxy {
            _rt: rt,
            server,
            state,
            report: Vec::new(),
            failures: Vec::new(),
            known_gaps: Vec::new(),
        }
    }

    fn uri(&self) -> String {
        self.server.uri()
    }

    /// Runs one backend call: every request it sent must be accepted by the contract, and
    /// the call must succeed (`check` may look at its result). `not_found`: `METHOD path`
    /// fragments Prism answers with their documented 404 during this call.
    fn call<T: std::fmt::Debug>(
        &mut self,
        name: &str,
        not_found: &[&str],
        run: impl FnOnce() -> relman_core::Result<T>,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) {
        {
            let mut state = self.state.lock().expect("lock");
            state.log.clear();
            state.not_found = not_found.iter().map(|s| s.to_string()).collect();
        }
        let result = run();
        let log = std::mem::take(&mut self.state.lock().expect("lock").log);
        self.state.lock().expect("lock").patches.clear();
        let rejected: Vec<&Exchange> = log.iter().filter(|e| e.violation.is_some()).collect();
        let gap = self
            .known_gaps
            .iter()
            .find(|(call, _)| *call == name)
            .map(|(_, g)| *g);
        let malformed = matches!(&result, Err(relman_core::Error::Api(e))
            if e.kind == relman_core::error::ForgeErrorKind::Malformed);
        let excused = |e: &&Exchange| match gap {
            Some(Gap::NoRoute(_)) => e.unrouted,
            Some(Gap::IntegerParameter(_)) => e
                .violation
                .as_deref()
                .is_some_and(|v| v.contains("must be integer")),
            _ => false,
        };
        let not_judged = match gap {
            Some(Gap::NoRoute(why) | Gap::IntegerParameter(why)) => Some(why),
            _ => None,
        };
        let verdict = if let (Some(why), false, true) = (
            not_judged,
            rejected.is_empty(),
            rejected.iter().all(excused),
        ) {
            self.report.push(format!(
                "gap  {name}: not judged: {why}\n    {}",
                rejected[0]
            ));
            return;
        } else if !rejected.is_empty() {
            Err(format!(
                "the contract rejected {} request(s):\n    {}",
                rejected.len(),
                rejected
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ))
        } else if log.is_empty() {
            Err("sent no request".to_string())
        } else {
            match &result {
                Err(e) if malformed && matches!(gap, Some(Gap::AnswerShape(_))) => {
                    let Some(Gap::AnswerShape(why)) = gap else {
                        unreachable!()
                    };
                    self.report.push(format!(
                        "ok   {name} (requests accepted; the example answer is unreadable: \
                         {why}: {e})"
                    ));
                    for e in &log {
                        self.report
                            .push(format!("    {} {} -> {}", e.method, e.target, e.status));
                    }
                    return;
                }
                Err(e) => Err(format!("failed: {e}")),
                Ok(v) => check(v),
            }
        };
        let sent: Vec<String> = log
            .iter()
            .map(|e| format!("    {} {} -> {}", e.method, e.target, e.status))
            .collect();
        match verdict {
            Ok(()) => self
                .report
                .push(format!("ok   {name}\n{}", sent.join("\n"))),
            Err(why) => {
                self.report
                    .push(format!("FAIL {name}: {why}\n{}", sent.join("\n")));
                self.failures.push(format!("{name}: {why}"));
            }
        }
    }

    /// The next call's 200 answers to requests whose `METHOD path` contains `part` get
    /// `value` at `pointer` (cleared after that call).
    fn patch_answer(&mut self, part: &str, pointer: &str, value: serde_json::Value) {
        self.state
            .lock()
            .expect("lock")
            .patches
            .push((part.into(), pointer.into(), value));
    }

    /// Fails the run unless the last call's report lists a request containing `line`.
    fn expect_sent(&mut self, line: &str) {
        if !self.report.last().is_some_and(|r| r.contains(line)) {
            self.failures
                .push(format!("the last call did not send `{line}`"));
        }
    }

    fn finish(self, backend: &str) {
        println!("--- {backend}\n{}", self.report.join("\n"));
        assert!(
            self.failures.is_empty(),
            "{backend}: {} call(s) failed the contract:\n  {}",
            self.failures.len(),
            self.failures.join("\n  ")
        );
    }
}

fn written(outcome: Outcome) -> Result<(), String> {
    match outcome {
        Outcome::Created | Outcome::Updated => Ok(()),
        Outcome::Unchanged => {
            Err("nothing was written (Unchanged): no write request checked".into())
        }
    }
}

fn release_spec(tag: &str) -> ReleaseSpec {
    ReleaseSpec {
        tag: tag.into(),
        name: format!("{tag} (contract)"),
        body: "## Features\n\n- contract tested".into(),
        draft: false,
        prerelease: false,
        target: Some(SHA.into()),
    }
}

fn deployment_spec() -> DeploymentSpec {
    DeploymentSpec {
        environment: "production".into(),
        sha: SHA2.into(),
        git_ref: "v9.9.9".into(),
        creator: "relman-contract".into(),
        idempotency_key: "promote:production:contract:1".into(),
        payload: json!({ "image": "registry.example.com/app@sha256:abc" }),
    }
}

fn gate_status() -> CommitStatusSpec {
    CommitStatusSpec {
        sha: SHA.into(),
        context: "relman/gate".into(),
        state: CommitState::Failure,
        description: "no-go: 1 required check failed (contract)".into(),
        target_url: Some("https://ci.example.com/runs/1".into()),
    }
}

fn dispatch_spec(workflow: &str) -> DispatchSpec {
    DispatchSpec {
        workflow: workflow.into(),
        git_ref: "main".into(),
        inputs: [("environment".to_string(), "production".to_string())].into(),
        requested_by: "relman-contract".into(),
        idempotency_key: "rollback:production:contract:1".into(),
    }
}

/// The record of a dispatch of `workflow` that started run / pipeline / job `id` (0: unknown).
fn dispatched(workflow: &str, id: u64) -> DispatchRecord {
    DispatchRecord::of(
        &dispatch_spec(workflow),
        id,
        Some("2020-01-22T19:33:08Z".parse().expect("time")),
        None,
    )
}

/// A deployment as a rollback target (only its id is sent).
fn target_deployment(id: u64) -> Deployment {
    Deployment {
        id,
        environment: "production".into(),
        sha: SHA.into(),
        git_ref: "main".into(),
        created_at: "2016-08-11T07:36:40Z".parse().expect("time"),
        creator: "root".into(),
        state: DeploymentState::Success,
        statuses: vec![],
        idempotency_key: format!("gitlab-deployment:{id}"),
        payload: serde_json::Value::Null,
    }
}

#[test]
#[ignore = "needs Prism: run tests/contract/run.sh"]
fn github_requests_match_the_github_openapi_description() {
    let mut proxy = Proxy::new("RELMAN_CONTRACT_GITHUB_URL");
    let gh = GitHub::new(
        &proxy.uri(),
        "octocat/hello-world",
        Some(Secret::new("ghp_contractTestToken0000000000000000000")),
        500,
    )
    .expect("client");

    // Release on tag: read, create (the tag lookup answered 404), update (it answered the
    // example release, whose content differs).
    proxy.call(
        "release_by_tag",
        &[],
        || gh.release_by_tag("v1.0.0"),
        |r| {
            r.as_ref()
                .map(|_| ())
                .ok_or_else(|| "no release read".into())
        },
    );
    proxy.call(
        "upsert_release (create)",
        &["GET /repos/octocat/hello-world/releases/tags/"],
        || gh.upsert_release(&release_spec("v9.9.9")),
        |u| written(u.outcome),
    );
    proxy.call(
        "upsert_release (update)",
        &[],
        || gh.upsert_release(&release_spec("v1.0.0")),
        |u| written(u.outcome),
    );

    // Deployments.
    proxy.call(
        "deployments",
        &[],
        || gh.deployments("production", 5),
        |_| Ok(()),
    );
    proxy.call(
        "create_deployment",
        &[],
        || gh.create_deployment(&deployment_spec()),
        |u| written(u.outcome),
    );
    proxy.call(
        "set_deployment_status",
        &[],
        || gh.set_deployment_status(42, DeploymentState::Success, "deployed by relman"),
        |u| written(u.outcome),
    );

    // Dispatch (workflow_dispatch).
    proxy.call(
        "dispatch",
        &[],
        || gh.dispatch(&dispatch_spec("deploy.yml")),
        |u| written(u.outcome),
    );
    proxy.call(
        "dispatch (repository_dispatch)",
        &[],
        || gh.dispatch(&dispatch_spec("repository_dispatch:rollback")),
        |u| written(u.outcome),
    );

    // Following a dispatched run: by id, and by key among the recent runs.
    proxy.call(
        "run_status (by run id)",
        &[],
        || gh.run_status(&dispatched("deploy.yml", 30433642)),
        |s| s.id.map(|_| ()).ok_or_else(|| "no run id read".into()),
    );
    proxy.call(
        "run_status (workflow_dispatch, by key)",
        &[],
        || gh.run_status(&dispatched("deploy.yml", 0)),
        |_| Ok(()),
    );
    proxy.call(
        "run_status (repository_dispatch, by key)",
        &[],
        || gh.run_status(&dispatched("repository_dispatch:rollback", 0)),
        |_| Ok(()),
    );

    // Validation for drills: reads only. The workflow file is read at
    // `/contents/.github/workflows/<file>`: GitHub (and its own clients) take the path's
    // slashes literally, which OpenAPI's `{path}` template cannot match, so Prism cannot
    // route that one request; the others of these calls are judged.
    let slashes = Gap::NoRoute(
        "GET /repos/{o}/{r}/contents/{path} with a path of several segments: an OpenAPI path \
         parameter cannot hold `/`",
    );
    proxy.known_gaps = vec![
        ("validate_dispatch (workflow_dispatch)", slashes),
        ("validate_dispatch (repository_dispatch)", slashes),
    ];
    proxy.call(
        "validate_dispatch (workflow_dispatch)",
        &[],
        || gh.validate_dispatch(&dispatch_spec("deploy.yml")),
        |_| Ok(()),
    );
    proxy.call(
        "validate_dispatch (repository_dispatch)",
        &[],
        || gh.validate_dispatch(&dispatch_spec("repository_dispatch:rollback")),
        |_| Ok(()),
    );

    // Evidence. `pull_requests_for_commits` is one GraphQL query (POST /graphql): the REST
    // description does not describe GraphQL bodies, so Prism cannot judge it; it is left to the
    // wiremock tests of the backend.
    proxy.call(
        "checks_for_commit",
        &[],
        || gh.checks_for_commit(SHA),
        |_| Ok(()),
    );
    proxy.call("reviews", &[], || gh.reviews(1347), |_| Ok(()));
    proxy.call(
        "issues_with_label",
        &[],
        || gh.issues_with_label("release blocker"),
        |_| Ok(()),
    );

    proxy.call("pull_request", &[], || gh.pull_request(1347), |_| Ok(()));
    proxy.call(
        "team_members",
        &[],
        || gh.team_members("octo-org/justice-league"),
        |_| Ok(()),
    );
    // The example milestone is titled `v1.0`.
    proxy.call(
        "issues_in_milestone",
        &[],
        || gh.issues_in_milestone("v1.0"),
        |_| Ok(()),
    );
    proxy.call(
        "set_commit_status",
        &[],
        || gh.set_commit_status(&gate_status()),
        |o| written(*o),
    );

    proxy.finish("github");
}

#[test]
#[ignore = "needs Prism: run tests/contract/run.sh"]
fn gitlab_requests_match_the_gitlab_openapi_description() {
    let mut proxy = Proxy::new("RELMAN_CONTRACT_GITLAB_URL");
    let gl = GitLab::new(
        &format!("{}/api/v4", proxy.uri()),
        "group/sub/project",
        Some(GitLabToken::Private(Secret::new(
            "glpat-contractTestToken000",
        ))),
        500,
    )
    .expect("client");
    let releases = "/api/v4/projects/group%2Fsub%2Fproject/releases/";
    // GitLab's description (generated from its Grape entities) describes some list answers
    // as one object, and has no `/projects/:id/issues` yet; relman is right on both.
    proxy.known_gaps = vec![
        (
            "reviews",
            Gap::AnswerShape("`approved_by` is described as an object, GitLab answers a list"),
        ),
        (
            "pull_requests_for_commits",
            Gap::AnswerShape(
                "GET /projects/:id/merge_requests is described as answering one object, GitLab \
                 answers a list (so `/merge_requests/:iid/commits` is not reached)",
            ),
        ),
        (
            "issues_with_label",
            Gap::NoRoute("GET /projects/:id/issues is not in GitLab's description"),
        ),
        (
            "issues_in_milestone",
            Gap::NoRoute("GET /projects/:id/issues is not in GitLab's description"),
        ),
    ];

    proxy.call(
        "release_by_tag",
        &[],
        || gl.release_by_tag("v1.0.0"),
        |r| {
            r.as_ref()
                .map(|_| ())
                .ok_or_else(|| "no release read".into())
        },
    );
    let get_release = format!("GET {releases}");
    proxy.call(
        "upsert_release (create)",
        &[get_release.as_str()],
        || gl.upsert_release(&release_spec("v9.9.9")),
        |u| written(u.outcome),
    );
    proxy.call(
        "upsert_release (update)",
        &[],
        || gl.upsert_release(&release_spec("v1.0.0")),
        |u| written(u.outcome),
    );

    proxy.call(
        "deployments",
        &[],
        || gl.deployments("production", 5),
        |_| Ok(()),
    );
    proxy.call(
        "create_deployment",
        &[],
        || gl.create_deployment(&deployment_spec()),
        |u| written(u.outcome),
    );
    proxy.call(
        "set_deployment_status",
        &[],
        || gl.set_deployment_status(42, DeploymentState::Success, "deployed by relman"),
        |u| written(u.outcome),
    );

    // Dispatch: a pipeline with variables.
    proxy.call(
        "dispatch",
        &[],
        || gl.dispatch(&dispatch_spec("deploy")),
        |u| written(u.outcome),
    );
    // A job replay: read the job, then play (manual) or retry it.
    proxy.call(
        "dispatch (job replay)",
        &[],
        || {
            gl.dispatch(&DispatchSpec {
                inputs: Default::default(),
                ..dispatch_spec("job:42")
            })
        },
        |u| written(u.outcome),
    );

    // Playing a manual job with the dispatch's variables (`job_variables_attributes`):
    // Prism's example job is not manual (it would be retried, without variables), so its
    // answer says `manual` here, and the play request with its body is judged.
    proxy.patch_answer(
        "GET /api/v4/projects/group%2Fsub%2Fproject/jobs/43",
        "/status",
        serde_json::json!("manual"),
    );
    proxy.call(
        "dispatch (manual job played with variables)",
        &[],
        || {
            gl.dispatch(&DispatchSpec {
                idempotency_key: "rollback:production:contract:played".into(),
                ..dispatch_spec("job:43")
            })
        },
        |u| written(u.outcome),
    );
    proxy.expect_sent("POST /api/v4/projects/group%2Fsub%2Fproject/jobs/43/play");

    proxy.known_gaps.push((
        "validate_dispatch (pipeline)",
        Gap::IntegerParameter(
            "GET /projects/:id/repository/branches/{branch} types `branch` as an integer",
        ),
    ));
    // Following a pipeline and a replayed job; a deployment's job; validation (reads only).
    proxy.call(
        "run_status (pipeline)",
        &[],
        || gl.run_status(&dispatched("deploy", 42)),
        |_| Ok(()),
    );
    proxy.call(
        "run_status (job)",
        &[],
        || gl.run_status(&dispatched("job:42", 42)),
        |_| Ok(()),
    );
    proxy.call(
        "deploy_job",
        &[],
        || gl.deploy_job(&target_deployment(42)),
        |_| Ok(()),
    );
    proxy.call(
        "validate_dispatch (pipeline)",
        &[],
        || gl.validate_dispatch(&dispatch_spec("deploy")),
        |_| Ok(()),
    );
    proxy.call(
        "validate_dispatch (job)",
        &[],
        || {
            gl.validate_dispatch(&DispatchSpec {
                inputs: Default::default(),
                ..dispatch_spec("job:42")
            })
        },
        |_| Ok(()),
    );

    proxy.call(
        "checks_for_commit",
        &[],
        || gl.checks_for_commit(SHA),
        |_| Ok(()),
    );
    proxy.call("reviews", &[], || gl.reviews(1), |_| Ok(()));
    proxy.call(
        "pull_requests_for_commits",
        &[],
        || gl.pull_requests_for_commits(&[SHA, SHA2]),
        |_| Ok(()),
    );
    proxy.call(
        "issues_with_label",
        &[],
        || gl.issues_with_label("release blocker"),
        |_| Ok(()),
    );
    proxy.call("freeze_periods", &[], || gl.freeze_periods(), |_| Ok(()));
    proxy.call("pull_request", &[], || gl.pull_request(1), |_| Ok(()));
    proxy.call(
        "team_members",
        &[],
        || gl.team_members("my-org/releasers"),
        |_| Ok(()),
    );
    proxy.call(
        "issues_in_milestone",
        &[],
        || gl.issues_in_milestone("v1.0"),
        |_| Ok(()),
    );
    proxy.call(
        "set_commit_status",
        &[],
        || gl.set_commit_status(&gate_status()),
        |o| written(*o),
    );

    proxy.finish("gitlab");
}

/// The proxy's judge itself: requests that break GitHub's contract are reported as such.
#[test]
#[ignore = "needs Prism: run tests/contract/run.sh"]
fn contract_violations_are_detected() {
    let proxy = Proxy::new("RELMAN_CONTRACT_GITHUB_URL");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let base = proxy.uri();
    let _ = agent
        .post(format!("{base}/repos/o/r/releases"))
        .header("content-type", "application/json")
        .send(r#"{"name":"no tag"}"#.as_bytes());
    let _ = agent
        .get(format!("{base}/repos/o/r/releases?per_page=many"))
        .call();
    let _ = agent.get(format!("{base}/repos/o/r/no-such-thing")).call();
    let _ = agent
        .get(format!("{base}/repos/o/r/releases?per_page=5"))
        .call();
    let log = std::mem::take(&mut proxy.state.lock().expect("lock").log);
    let verdicts: Vec<(u16, Option<String>, bool)> = log
        .into_iter()
        .map(|e| (e.status, e.violation, e.unrouted))
        .collect();
    assert_eq!(verdicts.len(), 4, "{verdicts:?}");
    let (status, v, _) = &verdicts[0];
    assert!(
        *status == 422 && v.as_deref().is_some_and(|v| v.contains("tag_name")),
        "{verdicts:?}"
    );
    let (status, v, _) = &verdicts[1];
    assert!(
        *status == 422 && v.as_deref().is_some_and(|v| v.contains("per_page")),
        "{verdicts:?}"
    );
    assert!(verdicts[2].1.is_some() && verdicts[2].2, "{verdicts:?}");
    assert_eq!(verdicts[3], (200, None, false));
}
