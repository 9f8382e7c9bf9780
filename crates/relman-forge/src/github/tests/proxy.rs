//! Requests go through the proxy the environment names, unless `NO_PROXY` exempts the API.
//! The environment is a closure: the process environment is never touched.

use super::*;
use crate::proxy::recording::RecordingProxy;

fn github_with_env(api_url: &str, vars: Vec<(&'static str, String)>) -> GitHub {
    let env = move |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let mut gh = GitHub::with_env(
        api_url,
        "octocat/hello-world",
        Some(Secret::new(TOKEN)),
        100,
        &env,
    )
    .expect("client");
    gh.client.policy.sleep = Arc::new(|_| {});
    gh.client.policy.timeout = Duration::from_secs(5);
    gh
}

#[test]
fn an_http_api_is_reached_through_the_proxy_with_its_credentials() {
    let proxy = RecordingProxy::start();
    let h = harness();
    let gh = github_with_env(
        &h.url(),
        vec![(
            "HTTP_PROXY",
            format!("http://relman:s3cret%21@127.0.0.1:{}", proxy.port),
        )],
    );
    // The proxy answers 404 itself: no release.
    assert_eq!(
        gh.release_by_tag("v1.0.0").expect("through the proxy"),
        None
    );
    // The tag, then the release list (a draft has no tag yet): both through the proxy.
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[0].line,
        format!("GET {}{REPO}/releases/tags/v1.0.0 HTTP/1.1", h.url()),
        "absolute form, as proxies expect"
    );
    assert!(
        seen[1]
            .line
            .starts_with(&format!("GET {}{REPO}/releases?", h.url()))
    );
    // relman:s3cret!
    assert_eq!(
        seen[0].proxy_authorization.as_deref(),
        Some("Basic cmVsbWFuOnMzY3JldCE=")
    );
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(h.requests().is_empty(), "nothing went around the proxy");
}

#[test]
fn no_proxy_sends_requests_straight_to_the_api() {
    let proxy = RecordingProxy::start();
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(release_json(
                &h.url(),
                "v1",
                "notes",
            ))),
    );
    let via = format!("http://127.0.0.1:{}", proxy.port);
    for no_proxy in ["127.0.0.1", "localhost,127.0.0.0/8", "*"] {
        let gh = github_with_env(
            &h.url(),
            vec![
                ("HTTP_PROXY", via.clone()),
                ("no_proxy", no_proxy.to_string()),
            ],
        );
        assert!(gh.release_by_tag("v1.0.0").expect("direct").is_some());
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert_eq!(h.requests().len(), 3);
}

#[test]
fn an_https_api_is_tunnelled_with_connect_and_the_credentials_stay_out_of_errors() {
    let proxy = RecordingProxy::start();
    let gh = github_with_env(
        "https://api.github.invalid",
        vec![
            (
                "HTTPS_PROXY",
                format!("http://relman:s3cret@127.0.0.1:{}", proxy.port),
            ),
            ("NO_PROXY", "localhost,.corp".into()),
        ],
    );
    // The proxy refuses the tunnel (407): a connection failure, retried, then reported.
    let err = gh.release_by_tag("v1.0.0").expect_err("refused");
    let message = err.to_string();
    assert!(!message.contains("s3cret"), "{message}");
    assert!(!format!("{gh:?}").contains("s3cret"));
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    assert_eq!(seen[0].line, "CONNECT api.github.invalid:443 HTTP/1.1");
    assert_eq!(
        seen[0].proxy_authorization.as_deref(),
        Some("Basic cmVsbWFuOnMzY3JldA==")
    );
    assert_eq!(
        seen[0].authorization, None,
        "the token never reaches the proxy"
    );
}

#[test]
fn a_proxy_url_hyper_cannot_use_is_bad_input() {
    // A host with a space passes the proxy parser but is no URI: the environment is wrong
    // (exit 2), as GitLab's client says for a proxy it cannot build.
    let env = |name: &str| (name == "HTTP_PROXY").then(|| "http://pro xy:3128".to_string());
    let err = GitHub::with_env("http://127.0.0.1:9", "octocat/hello-world", None, 1, &env)
        .expect_err("invalid proxy");
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert_eq!(err.to_string(), "HTTP_PROXY: the proxy URL is invalid");
}
