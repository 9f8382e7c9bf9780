//! The GitHub backend against an in-process wiremock server. Bodies follow the examples of
//! GitHub's REST reference (`@octokit/openapi`); sleeps are recorded, not slept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::GitHub;
use super::client::endpoint;
use crate::Forge;
use crate::policy::pages::next_link;
use crate::types::*;
use relman_core::ExitCode;
use relman_core::ci::Secret;
use relman_core::error::{Error, ForgeErrorKind};

const TOKEN: &str = "ghp_s3cr3tT0kenValue1234567890abcdefABCD";
const REPO: &str = "/repos/octocat/hello-world";
const SHA: &str = "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d";

struct Harness {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    gh: GitHub,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

fn harness() -> Harness {
    harness_with_budget(1000)
}

fn harness_with_budget(budget: u32) -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(MockServer::start());
    let (gh, sleeps) = client_at(&server.uri(), budget);
    Harness {
        rt,
        server,
        gh,
        sleeps,
    }
}

/// A client of `url` with test timings: 300 ms timeout, 1 ms backoff, sleeps recorded (not
/// slept) in the returned list.
fn client_at(url: &str, budget: u32) -> (GitHub, Arc<Mutex<Vec<Duration>>>) {
    let mut gh =
        GitHub::new(url, "octocat/hello-world", Some(Secret::new(TOKEN)), budget).expect("client");
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&sleeps);
    gh.client.policy.timeout = Duration::from_millis(300);
    gh.client.policy.backoff = Duration::from_millis(1);
    gh.client.policy.max_wait = Duration::from_secs(10);
    gh.client.policy.sleep = Arc::new(move |d| recorded.lock().expect("lock").push(d));
    (gh, sleeps)
}

impl Harness {
    fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }
    fn requests(&self) -> Vec<Request> {
        self.rt
            .block_on(self.server.received_requests())
            .expect("recording on")
    }
    fn reset(&self) {
        self.rt.block_on(self.server.reset());
    }
    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().expect("lock").clone()
    }
    fn url(&self) -> String {
        self.server.uri()
    }
}

/// The documented example release (`GET /repos/{owner}/{repo}/releases/tags/{tag}`).
fn release_json(base: &str, name: &str, body: &str) -> Value {
    json!({
        "url": format!("{base}{REPO}/releases/1"),
        "html_url": "https://github.com/octocat/Hello-World/releases/v1.0.0",
        "id": 1,
        "author": { "login": "octocat", "id": 1, "type": "User" },
        "node_id": "MDc6UmVsZWFzZTE=",
        "tag_name": "v1.0.0",
        "target_commitish": "master",
        "name": name,
        "body": body,
        "draft": false,
        "prerelease": false,
        "created_at": "2013-02-27T19:35:32Z",
        "published_at": "2013-02-27T19:35:32Z",
        "assets": []
    })
}

fn spec(name: &str, body: &str) -> ReleaseSpec {
    ReleaseSpec {
        tag: "v1.0.0".into(),
        name: name.into(),
        body: body.into(),
        draft: false,
        prerelease: false,
        target: None,
    }
}

fn tag_path() -> String {
    format!("{REPO}/releases/tags/v1.0.0")
}

fn count(h: &Harness, m: &str, p: &str) -> usize {
    h.requests()
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .count()
}

// --- transport --------------------------------------------------------------------------------

#[test]
fn link_headers_are_parsed_and_endpoints_named_without_host_or_query() {
    let link = r#"<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", <https://api.github.com/repositories/1300192/issues?page=4>; rel="next", <https://api.github.com/repositories/1300192/issues?page=515>; rel="last""#;
    assert_eq!(
        next_link(link).as_deref(),
        Some("https://api.github.com/repositories/1300192/issues?page=4")
    );
    assert_eq!(next_link(r#"<https://x/y?page=1>; rel="first""#), None);
    assert_eq!(
        endpoint(
            &http::Method::GET,
            "https://ghe.example.com/api/v3/repos/o/r?x=1"
        ),
        "GET /api/v3/repos/o/r"
    );
}

#[test]
fn enterprise_server_graphql_url_is_derived_from_the_rest_url() {
    let gh = GitHub::new("https://ghe.example.com/api/v3/", "o/r", None, 1).expect("client");
    assert_eq!(gh.graphql_url, "https://ghe.example.com/api/graphql");
    assert_eq!(gh.api_url, "https://ghe.example.com/api/v3");
    let gh = GitHub::new("https://api.github.com", "o/r", None, 1).expect("client");
    assert_eq!(gh.graphql_url, "https://api.github.com/graphql");
    let err = GitHub::new("https://api.github.com", "just-a-name", None, 1).expect_err("bad");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
}

#[test]
fn an_api_url_that_does_not_parse_is_bad_input() {
    let no_proxy = |_: &str| None::<String>;
    let err = GitHub::with_env("https://ghe example.com/api/v3", "o/r", None, 1, &no_proxy)
        .expect_err("a space in the host");
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert!(
        err.to_string().starts_with(
            "github: API URL `https://ghe example.com/api/v3` is not a valid URL (GITHUB_API_URL): "
        ),
        "{err}"
    );
}

/// Set in the child process [`a_runner_without_trusted_cas_cannot_set_up_a_client`] starts.
const NO_CA_CHILD: &str = "RELMAN_TEST_NO_CA_CHILD";

#[cfg(unix)]
#[test]
fn a_runner_without_trusted_cas_cannot_set_up_a_client() {
    if std::env::var_os(NO_CA_CHILD).is_some() {
        // The child: SSL_CERT_FILE names an empty file, so the platform has no trusted CA.
        let no_proxy = |_: &str| None::<String>;
        let err =
            GitHub::with_env("http://127.0.0.1:9", "o/r", None, 1, &no_proxy).expect_err("no CA");
        let Error::Api(e) = &err else {
            panic!("not a typed forge error: {err:?}");
        };
        assert_eq!(e.kind, ForgeErrorKind::Setup);
        assert_eq!(e.endpoint, "", "no request was made");
        assert!(!e.is_transient());
        assert!(std::error::Error::source(e).is_some(), "the cause is kept");
        assert_eq!(err.exit_code(), ExitCode::External);
        assert!(
            err.to_string()
                .starts_with("github: cannot load the platform's trusted CAs: "),
            "{err}"
        );
        return;
    }
    // The CA store is read from the process environment: change it in a child only, never
    // under the tests running beside this one.
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "github::tests::a_runner_without_trusted_cas_cannot_set_up_a_client",
            "--test-threads=1",
        ])
        .env(NO_CA_CHILD, "1")
        .env("SSL_CERT_FILE", "/dev/null")
        .env_remove("SSL_CERT_DIR")
        .output()
        .expect("child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pagination_follows_link_headers_for_checks_and_statuses() {
    let h = harness();
    let base = h.url();
    let runs_path = format!("{REPO}/commits/{SHA}/check-runs");
    let run = |id: u64, name: &str, conclusion: &str| {
        json!({ "id": id, "head_sha": SHA, "status": "completed", "conclusion": conclusion,
                "name": name, "html_url": format!("https://github.com/github/hello-world/runs/{id}") })
    };
    h.mount(
        Mock::given(method("GET"))
            .and(path(runs_path.clone()))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "total_count": 2, "check_runs": [run(5, "lint", "failure")] }),
            )),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(runs_path.clone()))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header(
                        "link",
                        format!(r#"<{base}{runs_path}?per_page=100&page=2>; rel="next", <{base}{runs_path}?per_page=100&page=2>; rel="last""#).as_str(),
                    )
                    .set_body_json(json!({ "total_count": 2, "check_runs": [run(4, "mighty_readme", "neutral")] })),
            ),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/commits/{SHA}/status")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "state": "success", "sha": SHA, "total_count": 1,
                "statuses": [{ "state": "success", "description": "Build has completed successfully",
                               "target_url": "https://ci.example.com/1000/output",
                               "context": "continuous-integration/jenkins" }]
            }))),
    );
    let checks = h.gh.checks_for_commit(SHA).expect("checks");
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["mighty_readme", "lint", "continuous-integration/jenkins"]
    );
    assert_eq!(checks[1].conclusion, Some(CheckConclusion::Failure));
    assert_eq!(checks[2].conclusion, Some(CheckConclusion::Success));
    assert_eq!(h.gh.requests_sent(), 3);
    // The token is sent, as a bearer token.
    let auth = h.requests()[0]
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap_or_default().to_string());
    assert_eq!(auth.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
}

#[test]
fn pagination_links_to_another_host_are_refused() {
    let h = harness();
    let runs_path = format!("{REPO}/commits/{SHA}/check-runs");
    h.mount(
        Mock::given(method("GET"))
            .and(path(runs_path.clone()))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header(
                        "link",
                        r#"<https://evil.example.com/steal?page=2>; rel="next""#,
                    )
                    .set_body_json(json!({ "total_count": 2, "check_runs": [] })),
            ),
    );
    let err = h.gh.checks_for_commit(SHA).expect_err("must not follow");
    let msg = err.to_string();
    assert!(
        msg.contains(
            "refusing to follow a pagination link to another host (https://evil.example.com)"
        ),
        "{msg}"
    );
    assert_eq!(
        h.gh.requests_sent(),
        1,
        "nothing was sent to the other host"
    );
}

#[test]
fn deployment_pages_on_another_host_are_refused_too() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/deployments")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("link", r#"<https://evil.example.com/d?page=2>; rel="next""#)
                    .set_body_json(json!([])),
            ),
    );
    let err =
        h.gh.deployments("production", 5)
            .expect_err("must not follow");
    assert!(
        err.to_string()
            .contains("refusing to follow a pagination link to another host"),
        "{err}"
    );
    assert_eq!(h.gh.requests_sent(), 1);
}

#[test]
fn server_errors_are_retried_with_backoff_then_succeed() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(2)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(release_json(
                &h.url(),
                "v1.0.0",
                "notes",
            ))),
    );
    let release =
        h.gh.release_by_tag("v1.0.0")
            .expect("release")
            .expect("some");
    assert_eq!(release.body, "notes");
    assert_eq!(release.target.as_deref(), Some("master"));
    assert_eq!(h.gh.requests_sent(), 3);
    let sleeps = h.sleeps();
    assert_eq!(sleeps.len(), 2);
    // Exponential: the second wait's range starts where the first one's ends.
    assert!(sleeps[0] <= Duration::from_millis(1) && sleeps[1] >= Duration::from_millis(1));
}

#[test]
fn server_errors_give_up_after_four_attempts() {
    let h = harness();
    h.mount(Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)));
    let err = h.gh.release_by_tag("v1.0.0").expect_err("gives up");
    assert_eq!(err.exit_code(), ExitCode::External);
    let text = err.to_string();
    assert!(
        text.starts_with("github: GET /repos/octocat/hello-world/releases/tags/v1.0.0: 503"),
        "{text}"
    );
    assert!(text.contains("after 4 attempts"), "{text}");
    assert_eq!(h.gh.requests_sent(), 4);
}

#[test]
fn retry_after_is_honoured_on_429_and_403() {
    for status in [429, 403] {
        let h = harness();
        h.mount(
            Mock::given(method("GET"))
                .and(path(tag_path()))
                .respond_with(ResponseTemplate::new(status).insert_header("retry-after", "2"))
                .up_to_n_times(1)
                .with_priority(1),
        );
        h.mount(
            Mock::given(method("GET"))
                .and(path(tag_path()))
                .respond_with(ResponseTemplate::new(200).set_body_json(release_json(
                    &h.url(),
                    "n",
                    "b",
                ))),
        );
        assert!(h.gh.release_by_tag("v1.0.0").expect("ok").is_some());
        assert_eq!(h.sleeps(), [Duration::from_secs(2)], "status {status}");
    }
}

#[test]
fn primary_rate_limit_waits_for_the_reset_or_fails_naming_it() {
    let h = harness();
    let now = jiff::Timestamp::now().as_second();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", (now + 3).to_string().as_str())
                    .set_body_json(json!({ "message": "API rate limit exceeded for user ID 1." })),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(release_json(
                &h.url(),
                "n",
                "b",
            ))),
    );
    assert!(h.gh.release_by_tag("v1.0.0").expect("ok").is_some());
    let waited = h.sleeps()[0];
    assert!(
        waited >= Duration::from_secs(2) && waited <= Duration::from_secs(5),
        "{waited:?}"
    );

    let h = harness();
    let reset = now + 3600;
    h.mount(
        Mock::given(method("GET")).respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        ),
    );
    let err = h.gh.release_by_tag("v1.0.0").expect_err("too long");
    let when = jiff::Timestamp::from_second(reset).expect("ts").to_string();
    assert!(err.to_string().contains(&when), "{err}");
    assert_eq!(err.exit_code(), ExitCode::External);
    let until = jiff::Timestamp::from_second(reset).ok();
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::RateLimited { until }),
        "{err:?}"
    );
    assert!(h.sleeps().is_empty());
    assert_eq!(h.gh.requests_sent(), 1);
}

#[test]
fn secondary_rate_limit_without_headers_waits_then_retries() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#secondary-rate-limits"
            })))
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(release_json(
                &h.url(),
                "n",
                "b",
            ))),
    );
    assert!(h.gh.release_by_tag("v1.0.0").expect("ok").is_some());
    // One minute as documented, capped by the (test) maximum wait.
    assert_eq!(h.sleeps(), [Duration::from_secs(10)]);
}

#[test]
fn a_hanging_server_times_out_and_is_retried() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2))),
    );
    let err = h.gh.release_by_tag("v1.0.0").expect_err("timeout");
    assert!(
        err.to_string().contains("no response within 300ms"),
        "{err}"
    );
    assert_eq!(err.exit_code(), ExitCode::External);
    assert_eq!(h.gh.requests_sent(), 4);
}

#[test]
fn malformed_json_is_an_external_error_naming_the_endpoint() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": 1, \"tag_name\": ")),
    );
    let err = h.gh.release_by_tag("v1.0.0").expect_err("malformed");
    assert!(
        matches!(&err, Error::Api(e) if e.backend == "github" && e.kind == ForgeErrorKind::Malformed),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), ExitCode::External);
    let text = err.to_string();
    assert!(
        text.starts_with(
            "github: GET /repos/octocat/hello-world/releases/tags/v1.0.0: malformed JSON response"
        ),
        "{text}"
    );
}

/// fuzz/findings/forge_github-slow-retries.json: a 200 whose body is not UTF-8 was taken for
/// a broken connection and retried through growing back-offs. A malformed answer is not
/// transient: one request, no sleep, an error naming the endpoint.
#[test]
fn a_body_that_is_not_utf8_fails_at_once_without_retries() {
    let h = harness();
    let mut body = br#"[{"number": 3, "#.to_vec();
    body.push(0xFF);
    body.extend_from_slice(br#""title": "blocker"}]"#);
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(body)),
    );
    let err = h.gh.release_by_tag("v1.0.0").expect_err("malformed");
    assert_eq!(err.exit_code(), ExitCode::External);
    let text = err.to_string();
    assert!(
        text.starts_with(
            "github: GET /repos/octocat/hello-world/releases/tags/v1.0.0: malformed JSON response"
        ),
        "{text}"
    );
    assert_eq!(h.requests().len(), 1, "retried: {text}");
    assert!(h.sleeps().is_empty(), "slept {:?}", h.sleeps());
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
        let h = harness();
        h.mount(
            Mock::given(method("GET")).respond_with(
                ResponseTemplate::new(status).set_body_json(json!({"message": "no"})),
            ),
        );
        let err = h.gh.reviews(7).expect_err("status");
        assert_eq!(
            kind(&err),
            (
                Some(status),
                false,
                "GET /repos/octocat/hello-world/pulls/7/reviews".into()
            ),
            "{err}"
        );
        assert_eq!(err.exit_code(), ExitCode::External);
    }
    let h = harness();
    h.mount(Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)));
    let err = h.gh.reviews(7).expect_err("503");
    assert_eq!(kind(&err).0, Some(503), "{err}");
    assert!(kind(&err).1, "a 5xx after the retries is transient: {err}");

    // A port nobody listens on: a transport failure, transient.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let (gh, _) = client_at(&url, 10);
    let err = gh.reviews(7).expect_err("refused");
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Transport && e.is_transient()),
        "{err:?}"
    );
}

#[test]
fn the_token_never_appears_in_errors_or_debug_output() {
    let h = harness();
    h.mount(
        Mock::given(method("GET")).respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest"
        }))),
    );
    let err = h.gh.reviews(1347).expect_err("401");
    assert!(err.to_string().contains("401"), "{err}");
    assert!(err.to_string().contains("check the token"), "{err}");
    for text in [err.to_string(), format!("{err:?}"), format!("{:?}", h.gh)] {
        assert!(!text.contains(TOKEN), "{text}");
    }
}

// --- releases ---------------------------------------------------------------------------------

#[test]
fn a_missing_release_is_none() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "message": "Not Found", "documentation_url": "https://docs.github.com/rest"
            }))),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/releases")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    assert_eq!(h.gh.release_by_tag("v1.0.0").expect("ok"), None);
}

/// No release for the tag yet: the tag read answers 404 and the releases list is empty.
fn mount_no_release(h: &Harness) {
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(404)),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/releases")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
}

#[test]
fn release_is_created_then_updated_then_unchanged() {
    let h = harness();
    let base = h.url();
    // 1. Nothing there: created.
    mount_no_release(&h);
    h.mount(
        Mock::given(method("POST"))
            .and(path(format!("{REPO}/releases")))
            .and(body_partial_json(
                json!({ "tag_name": "v1.0.0", "body": "old", "draft": false }),
            ))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(release_json(&base, "v1.0.0", "old")),
            ),
    );
    let up = h.gh.upsert_release(&spec("v1.0.0", "old")).expect("create");
    assert_eq!(up.outcome, Outcome::Created);
    assert_eq!(up.value.body, "old");

    // 2. There with other notes: updated in place (PATCH by id), no second release.
    h.reset();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(release_json(&base, "v1.0.0", "old")),
            ),
    );
    h.mount(
        Mock::given(method("PATCH"))
            .and(path(format!("{REPO}/releases/1")))
            .and(body_partial_json(json!({ "body": "new" })))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(release_json(&base, "v1.0.0", "new")),
            ),
    );
    let up = h.gh.upsert_release(&spec("v1.0.0", "new")).expect("update");
    assert_eq!(up.outcome, Outcome::Updated);
    assert_eq!(count(&h, "POST", &format!("{REPO}/releases")), 0);

    // 3. There with these notes: nothing written.
    h.reset();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(release_json(&base, "v1.0.0", "new")),
            ),
    );
    let up =
        h.gh.upsert_release(&spec("v1.0.0", "new"))
            .expect("unchanged");
    assert_eq!(up.outcome, Outcome::Unchanged);
    assert_eq!(h.requests().len(), 1);
}

/// A release POST answered with `post` after the forge made the release (the draft shows in
/// the list only after it): found on the second look, and no second POST is sent.
fn a_release_made_despite(post: ResponseTemplate) {
    let h = harness();
    let base = h.url();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(404)),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/releases")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .up_to_n_times(1)
            .with_priority(1),
    );
    let mut draft = release_json(&base, "v1.0.0", "notes");
    draft["draft"] = json!(true);
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/releases")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([draft]))),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(format!("{REPO}/releases")))
            .respond_with(post),
    );
    let mut wanted = spec("v1.0.0", "notes");
    wanted.draft = true;
    let up =
        h.gh.upsert_release(&wanted)
            .expect("found on the second look");
    assert_eq!(up.outcome, Outcome::Created);
    assert_eq!(count(&h, "POST", &format!("{REPO}/releases")), 1);
}

#[test]
fn a_create_that_failed_with_5xx_but_went_through_is_not_repeated() {
    a_release_made_despite(ResponseTemplate::new(502));
}

#[test]
fn a_create_whose_answer_was_lost_is_found_not_repeated() {
    // The answer never comes within the client's timeout.
    a_release_made_despite(ResponseTemplate::new(201).set_delay(Duration::from_secs(2)));
}

#[test]
fn a_create_that_fails_twice_is_the_forges_own_answer() {
    let h = harness();
    mount_no_release(&h);
    h.mount(
        Mock::given(method("POST"))
            .and(path(format!("{REPO}/releases")))
            .respond_with(ResponseTemplate::new(502)),
    );
    let err =
        h.gh.upsert_release(&spec("v1.0.0", "notes"))
            .expect_err("502 twice");
    // Looked again after the first 502, posted once more, and gave the second 502 back as is.
    assert_eq!(count(&h, "POST", &format!("{REPO}/releases")), 2);
    let Error::Api(e) = &err else {
        panic!("not a typed forge error: {err:?}");
    };
    assert_eq!(e.kind, ForgeErrorKind::Status { status: 502 });
    assert_eq!(e.endpoint, format!("POST {REPO}/releases"));
    assert!(e.is_transient());
    assert_eq!(err.exit_code(), ExitCode::External);
}

// --- deployments ------------------------------------------------------------------------------

fn deployment_json(id: u64, key: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/octocat/example/deployments/{id}"),
        "id": id,
        "node_id": "MDEwOkRlcGxveW1lbnQx",
        "sha": SHA,
        "ref": SHA,
        "task": "deploy",
        "payload": { "image": "app@sha256:abc", "relman_idempotency_key": key,
                     "relman_ref": "main", "relman_creator": "octocat" },
        "original_environment": "production",
        "environment": "production",
        "description": "Deploy request from hubot",
        "creator": { "login": "github-actions[bot]", "id": 1, "type": "Bot" },
        "created_at": "2012-07-20T01:19:13Z",
        "updated_at": "2012-07-20T01:19:13Z",
        "statuses_url": format!("https://api.github.com/repos/octocat/example/deployments/{id}/statuses"),
        "repository_url": "https://api.github.com/repos/octocat/example"
    })
}

fn deployment_spec(key: &str) -> DeploymentSpec {
    DeploymentSpec {
        environment: "production".into(),
        sha: SHA.into(),
        git_ref: "main".into(),
        creator: "octocat".into(),
        idempotency_key: key.into(),
        payload: json!({ "image": "app@sha256:abc" }),
    }
}

#[test]
fn deployments_are_created_once_per_idempotency_key() {
    let h = harness();
    let key = format!("promote:production:{SHA}:42");
    let list = format!("{REPO}/deployments");
    h.mount(
        Mock::given(method("GET"))
            .and(path(list.clone()))
            .and(query_param("environment", "production"))
            .and(query_param("sha", SHA))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([deployment_json(7, "other")])),
            ),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(list.clone()))
            .and(body_partial_json(json!({
                "ref": SHA, "auto_merge": false, "required_contexts": [], "environment": "production",
                "payload": { "relman_idempotency_key": key, "image": "app@sha256:abc" }
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(deployment_json(8, &key))),
    );
    let first =
        h.gh.create_deployment(&deployment_spec(&key))
            .expect("create");
    assert_eq!(first.outcome, Outcome::Created);
    assert_eq!(first.value.id, 8);
    assert_eq!(first.value.git_ref, "main");
    assert_eq!(first.value.creator, "octocat");
    assert_eq!(first.value.payload, json!({ "image": "app@sha256:abc" }));
    assert_eq!(first.value.state, DeploymentState::Pending);

    // The retried job: the deployment is found by its key, nothing is posted.
    h.reset();
    h.mount(
        Mock::given(method("GET"))
            .and(path(list.clone()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([deployment_json(8, &key)])),
            ),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/deployments/8/statuses")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                { "id": 2, "state": "success", "description": "Deployment finished successfully.",
                  "environment": "production", "created_at": "2012-07-20T01:20:13Z" },
                { "id": 1, "state": "in_progress", "description": "",
                  "environment": "production", "created_at": "2012-07-20T01:19:13Z" }
            ]))),
    );
    let second =
        h.gh.create_deployment(&deployment_spec(&key))
            .expect("again");
    assert_eq!(second.outcome, Outcome::Unchanged);
    assert_eq!(second.value.id, 8);
    assert_eq!(second.value.state, DeploymentState::Success);
    assert!(second.value.is_good());
    assert_eq!(count(&h, "POST", &list), 0);

    // The same key for another ref is a bug in the caller's keys.
    let mut other = deployment_spec(&key);
    other.git_ref = "release/1.x".into();
    let err = h.gh.create_deployment(&other).expect_err("conflict");
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
}

#[test]
fn a_deployment_whose_create_answer_was_lost_is_not_created_again() {
    let h = harness();
    let list = format!("{REPO}/deployments");
    let key = "promote:production:7";
    h.mount(
        Mock::given(method("GET"))
            .and(path(list.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(list.clone()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!([deployment_json(41, key)])),
            ),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(list.clone()))
            .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(2))),
    );
    let up =
        h.gh.create_deployment(&deployment_spec(key))
            .expect("found after the lost answer");
    assert_eq!(up.outcome, Outcome::Created);
    assert_eq!(up.value.id, 41);
    assert_eq!(count(&h, "POST", &list), 1);
}

#[test]
fn a_deployment_whose_create_fails_twice_is_the_forges_own_answer() {
    let h = harness();
    let list = format!("{REPO}/deployments");
    h.mount(
        Mock::given(method("GET"))
            .and(path(list.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([]))),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(list.clone()))
            .respond_with(ResponseTemplate::new(503)),
    );
    let err =
        h.gh.create_deployment(&deployment_spec("promote:production:1"))
            .expect_err("503 twice");
    assert_eq!(count(&h, "POST", &list), 2);
    let Error::Api(e) = &err else {
        panic!("not a typed forge error: {err:?}");
    };
    assert_eq!(e.kind, ForgeErrorKind::Status { status: 503 });
    assert_eq!(e.endpoint, format!("POST {list}"));
    assert_eq!(err.exit_code(), ExitCode::External);
}

#[test]
fn deployment_status_is_not_repeated_and_unknown_ids_are_not_found() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/deployments/8")))
            .respond_with(ResponseTemplate::new(200).set_body_json(deployment_json(8, "k"))),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/deployments/8/statuses")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                { "id": 1, "state": "in_progress", "description": "rolling out",
                  "created_at": "2012-07-20T01:19:13Z" }
            ]))),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/deployments/9")))
            .respond_with(ResponseTemplate::new(404)),
    );
    let same =
        h.gh.set_deployment_status(8, DeploymentState::InProgress, "rolling out")
            .expect("same");
    assert_eq!(same.outcome, Outcome::Unchanged);
    assert_eq!(
        count(&h, "POST", &format!("{REPO}/deployments/8/statuses")),
        0
    );
    let err =
        h.gh.set_deployment_status(9, DeploymentState::Success, "")
            .expect_err("404");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

// --- evidence ---------------------------------------------------------------------------------

fn graphql_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": { "repository": {} } }))
}

#[test]
fn graphql_timeouts_halve_the_batch_size() {
    let h = harness();
    // GitHub's answer when a query is too heavy: a 502 ...
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(graphql_ok()),
    );
    let shas: Vec<String> = (0..120).map(|i| format!("{i:040x}")).collect();
    let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    let prs = h.gh.pull_requests_for_commits(&refs).expect("prs");
    assert_eq!(prs.len(), 120);
    // One 502 at 50 commits (not resent as is), then 25 per query for all 120: 5 queries.
    assert_eq!(count(&h, "POST", "/graphql"), 6);
}

#[test]
fn graphql_timeout_errors_halve_the_batch_size() {
    let h = harness();
    // ... or a 200 whose error says it timed out.
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": null,
                "errors": [{ "message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug." }]
            })))
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(graphql_ok()),
    );
    let shas: Vec<String> = (0..60).map(|i| format!("{i:040x}")).collect();
    let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    assert_eq!(
        h.gh.pull_requests_for_commits(&refs).expect("prs").len(),
        60
    );
    // 1 failed query of 50, then 25 + 25 + 10.
    assert_eq!(count(&h, "POST", "/graphql"), 4);
}

#[test]
fn a_graphql_timeout_at_the_smallest_batch_is_worth_asking_again() {
    let h = harness();
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": null,
                "errors": [{ "message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug." }]
            }))),
    );
    let shas: Vec<String> = (0..60).map(|i| format!("{i:040x}")).collect();
    let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    let err =
        h.gh.pull_requests_for_commits(&refs)
            .expect_err("timed out");
    let Error::Api(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind, ForgeErrorKind::Transport, "{err}");
    assert!(e.is_transient(), "{err}");
    assert!(
        err.to_string()
            .contains("GraphQL timed out even at 5 commits per query"),
        "{err}"
    );
    // 50, 25, 12, 6, 5: each size tried once, then given up.
    assert_eq!(count(&h, "POST", "/graphql"), 5);
}

#[test]
fn a_graphql_answer_without_data_is_typed_by_its_errors() {
    let h = harness();
    let errors = |kind: &str, message: &str| {
        ResponseTemplate::new(200).set_body_json(json!({
            "data": { "repository": null },
            "errors": [{ "type": kind, "path": ["repository"],
                         "locations": [{ "line": 1, "column": 40 }], "message": message }]
        }))
    };
    let sha = format!("{:040x}", 1);
    let ask = |h: &Harness| h.gh.pull_requests_for_commits(&[sha.as_str()]);
    let kind = |err: &Error| match err {
        Error::Api(e) => (e.kind.clone(), e.is_transient(), e.endpoint.clone()),
        _ => panic!("not a typed forge error: {err:?}"),
    };

    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(errors(
                "NOT_FOUND",
                "Could not resolve to a Repository with the name 'octocat/hello-world'.",
            )),
    );
    let err = ask(&h).expect_err("not found");
    assert_eq!(
        kind(&err),
        (
            ForgeErrorKind::GraphQl {
                types: vec!["NOT_FOUND".into()]
            },
            false,
            "POST /graphql".into()
        )
    );
    assert_eq!(err.exit_code(), ExitCode::External);
    assert!(
        err.to_string()
            .starts_with("github: POST /graphql: GraphQL answered without data: [{"),
        "{err}"
    );
    assert!(err.to_string().contains("Could not resolve"), "{err}");

    h.reset();
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(errors("RATE_LIMITED", "API rate limit exceeded")),
    );
    let (limited, transient, _) = kind(&ask(&h).expect_err("rate limited"));
    assert_eq!(
        (limited, transient),
        (
            ForgeErrorKind::GraphQl {
                types: vec!["RATE_LIMITED".into()]
            },
            true
        )
    );

    // Neither data nor errors: not an answer GitHub documents.
    h.reset();
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": null }))),
    );
    let err = ask(&h).expect_err("empty");
    assert_eq!(kind(&err).0, ForgeErrorKind::Malformed);
    assert!(
        err.to_string()
            .ends_with("POST /graphql: GraphQL answered without data or errors"),
        "{err}"
    );
}

#[test]
fn pull_requests_for_120_commits_take_three_graphql_requests() {
    let h = harness();
    h.mount(
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": { "repository": {
                    "c0": { "associatedPullRequests": { "nodes": [{
                        "number": 1347, "title": "Amazing new feature",
                        "url": "https://github.com/octocat/Hello-World/pull/1347",
                        "mergedAt": "2011-01-26T19:01:12Z", "author": { "login": "octocat" },
                        "authorAssociation": "FIRST_TIME_CONTRIBUTOR"
                    }] } },
                    "c1": { "associatedPullRequests": { "nodes": [] } },
                    "c3": { "associatedPullRequests": { "nodes": [{
                        "number": 1348, "title": "Fix", "url": "https://github.com/octocat/Hello-World/pull/1348",
                        "mergedAt": null, "author": { "login": "hubot" }, "authorAssociation": "MEMBER"
                    }] } },
                    "c2": null
                } }
            }))),
    );
    let shas: Vec<String> = (0..120).map(|i| format!("{i:040x}")).collect();
    let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    let prs = h.gh.pull_requests_for_commits(&refs).expect("prs");
    assert_eq!(prs.len(), 120);
    assert_eq!(count(&h, "POST", "/graphql"), 3);
    assert_eq!(h.gh.requests_sent(), 3);
    let first = &prs[&shas[0]];
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].number, 1347);
    assert_eq!(first[0].author_login, "octocat");
    assert!(first[0].first_time, "FIRST_TIME_CONTRIBUTOR");
    assert!(!prs[&shas[3]][0].first_time, "MEMBER");
    assert!(prs[&shas[1]].is_empty());
    // Each query asks for at most 50 commits.
    for request in h.requests() {
        let body: Value = serde_json::from_slice(&request.body).expect("json");
        let query = body["query"].as_str().unwrap_or_default();
        assert!(query.matches("object(oid:").count() <= 50);
        assert!(
            query.contains("authorAssociation"),
            "asked in the same query"
        );
        assert_eq!(body["variables"]["owner"], "octocat");
    }
    let err =
        h.gh.pull_requests_for_commits(&["HEAD"])
            .expect_err("not a sha");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
}

#[test]
fn reviews_and_labelled_issues_are_mapped() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/pulls/12/reviews")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": 80, "node_id": "MDE3OlB1bGxSZXF1ZXN0UmV2aWV3ODA=",
                "user": { "login": "octocat", "id": 1 },
                "body": "Here is the body for the review.", "state": "APPROVED",
                "html_url": "https://github.com/octocat/Hello-World/pull/12#pullrequestreview-80",
                "submitted_at": "2019-11-17T17:43:43Z",
                "commit_id": "ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091",
                "author_association": "COLLABORATOR"
            }]))),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/issues")))
            .and(query_param("labels", "release-blocker"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                { "number": 1347, "title": "Found a bug", "state": "open",
                  "html_url": "https://github.com/octocat/Hello-World/issues/1347",
                  "labels": [{ "id": 208045946, "name": "release-blocker", "color": "f29513" }] },
                { "number": 1348, "title": "A PR", "state": "open",
                  "html_url": "https://github.com/octocat/Hello-World/pull/1348",
                  "labels": [], "pull_request": { "url": "x" } }
            ]))),
    );
    let reviews = h.gh.reviews(12).expect("reviews");
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].state, ReviewState::Approved);
    assert_eq!(reviews[0].author, "octocat");
    let issues = h.gh.issues_with_label("release-blocker").expect("issues");
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].labels, ["release-blocker"]);
    let err = h.gh.freeze_periods().expect_err("unsupported");
    assert!(matches!(err, Error::Unsupported { .. }));
    let err =
        h.gh.audit_log(&AuditFilter::default())
            .expect_err("no store");
    assert!(matches!(err, Error::Unsupported { .. }));
}

#[test]
fn dispatch_passes_the_key_and_is_not_repeated() {
    let h = harness();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::LocalStore::scratch(dir.path())
        .expect("store")
        .state()
        .clone();
    let h_gh = GitHub::new(&h.url(), "octocat/hello-world", None, 100)
        .expect("client")
        .with_audit_store(store);
    let runs = format!("{REPO}/actions/workflows/deploy.yml/runs");
    h.mount(
        Mock::given(method("GET"))
            .and(path(runs))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 1,
                "workflow_runs": [{ "id": 30433642, "name": "Build", "display_title": "deploy other-key",
                                    "event": "workflow_dispatch", "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642" }]
            }))),
    );
    let dispatches = format!("{REPO}/actions/workflows/deploy.yml/dispatches");
    h.mount(
        Mock::given(method("POST"))
            .and(path(dispatches.clone()))
            .and(body_partial_json(json!({ "ref": "main", "inputs": { "relman_key": "rollback:prod:1", "version": "1.2.0" } })))
            .respond_with(ResponseTemplate::new(204)),
    );
    let spec = DispatchSpec {
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: [("version".to_string(), "1.2.0".to_string())].into(),
        requested_by: "octocat".into(),
        idempotency_key: "rollback:prod:1".into(),
    };
    assert_eq!(
        h_gh.dispatch(&spec).expect("first").outcome,
        Outcome::Created
    );
    assert_eq!(
        h_gh.dispatch(&spec).expect("again").outcome,
        Outcome::Unchanged
    );
    assert_eq!(count(&h, "POST", &dispatches), 1);
}

#[test]
fn a_dispatch_refused_for_want_of_the_key_input_is_a_422_and_gives_its_claim_back() {
    let h = harness();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = crate::LocalStore::scratch(dir.path())
        .expect("store")
        .state()
        .clone();
    let gh = GitHub::new(&h.url(), "octocat/hello-world", None, 100)
        .expect("client")
        .with_audit_store(store);
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/actions/workflows/deploy.yml/runs")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "total_count": 0, "workflow_runs": [] })),
            ),
    );
    let dispatches = format!("{REPO}/actions/workflows/deploy.yml/dispatches");
    // GitHub's answer to an input the workflow does not declare; the workflow is then fixed.
    h.mount(
        Mock::given(method("POST"))
            .and(path(dispatches.clone()))
            .respond_with(ResponseTemplate::new(422).set_body_json(json!({
                "message": "Unexpected inputs provided: [\"relman_key\"]",
                "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
            })))
            .up_to_n_times(1)
            .with_priority(1),
    );
    h.mount(
        Mock::given(method("POST"))
            .and(path(dispatches.clone()))
            .respond_with(ResponseTemplate::new(204)),
    );
    let spec = DispatchSpec {
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: Default::default(),
        requested_by: "octocat".into(),
        idempotency_key: "rollback:prod:2".into(),
    };
    let err = gh.dispatch(&spec).expect_err("refused");
    let Error::Api(e) = &err else {
        panic!("not a typed forge error: {err:?}");
    };
    assert_eq!(e.kind, ForgeErrorKind::Status { status: 422 });
    assert_eq!(e.endpoint, format!("POST {dispatches}"));
    assert_eq!(err.exit_code(), ExitCode::External);
    assert!(
        err.to_string().contains(
            "workflow `deploy.yml` does not declare the input `relman_key` relman passes its \
             idempotency key in; add it under `on.workflow_dispatch.inputs`"
        ),
        "{err}"
    );
    // Nothing ran, so the claim was given back: the next attempt dispatches.
    assert_eq!(gh.dispatch(&spec).expect("fixed").outcome, Outcome::Created);
    assert_eq!(count(&h, "POST", &dispatches), 2);
}

mod details;
mod faults;
mod fixtures;
mod follow;
mod models;
mod proxy;
mod times;

#[test]
fn a_redirect_is_not_followed_and_the_token_stays_home() {
    // Issue #12, "secrets only where they belong": octocrab is built without its
    // follow-redirect layer; this keeps it so (a 307 to another origin never gets the token).
    let h = harness();
    let elsewhere = h.rt.block_on(MockServer::start());
    h.rt.block_on(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
            .mount(&elsewhere),
    );
    let target = format!("{}{REPO}/releases/tags/v1.0.0", elsewhere.uri());
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/releases/tags/v1.0.0")))
            .respond_with(ResponseTemplate::new(307).insert_header("location", target.as_str())),
    );
    let got = h.gh.release_by_tag("v1.0.0");
    assert!(got.is_err(), "{got:?}");
    let asked =
        h.rt.block_on(elsewhere.received_requests())
            .expect("recording");
    assert!(asked.is_empty(), "the other origin was asked: {asked:?}");
}
