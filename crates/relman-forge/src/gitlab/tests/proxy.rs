//! Requests go through the proxy the environment names (ureq tunnels with `CONNECT`), unless
//! `NO_PROXY` exempts the API. The environment is a closure, never the process's.

use super::*;
use crate::proxy::recording::RecordingProxy;

fn gitlab_with_env(base: &str, vars: Vec<(&'static str, String)>) -> GitLab {
    let env = move |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    GitLab::with_policy(
        &format!("{base}/api/v4"),
        "group/sub/project",
        Some(GitLabToken::Private(Secret::new(TOKEN))),
        20,
        Policy {
            max_attempts: 1,
            backoff: Duration::from_millis(1),
            max_wait: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            ..Policy::default()
        },
        Arc::new(|_| {}),
        &env,
    )
    .expect("client")
}

#[test]
fn requests_are_tunnelled_through_the_proxy_with_its_credentials() {
    let proxy = RecordingProxy::start();
    let s = Server::start();
    let api = s.server.uri();
    let gl = gitlab_with_env(
        &api,
        vec![
            (
                "http_proxy",
                format!("http://relman:s3cret@127.0.0.1:{}", proxy.port),
            ),
            ("NO_PROXY", "gitlab.corp, .internal".into()),
        ],
    );
    // The proxy refuses the tunnel (407).
    let err = gl.release_by_tag("v0.1").expect_err("refused by the proxy");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let authority = api.trim_start_matches("http://");
    assert_eq!(seen[0].line, format!("CONNECT {authority} HTTP/1.1"));
    assert_eq!(
        seen[0].proxy_authorization.as_deref(),
        Some("Basic cmVsbWFuOnMzY3JldA==")
    );
    assert_eq!(seen[0].authorization, None);
    assert!(s.requests().is_empty(), "nothing went around the proxy");
}

#[test]
fn no_proxy_sends_requests_straight_to_the_api() {
    let proxy = RecordingProxy::start();
    let s = Server::start();
    s.mount(get("/releases/v0.1").respond_with(ok(release_json("v0.1", "notes"))));
    let via = format!("http://127.0.0.1:{}", proxy.port);
    for no_proxy in ["127.0.0.1", " localhost , 127.0.0.0/8", "*"] {
        let gl = gitlab_with_env(
            &s.server.uri(),
            vec![
                ("ALL_PROXY", via.clone()),
                ("no_proxy", no_proxy.to_string()),
            ],
        );
        assert!(gl.release_by_tag("v0.1").expect("direct").is_some());
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert_eq!(s.requests().len(), 3);
}
