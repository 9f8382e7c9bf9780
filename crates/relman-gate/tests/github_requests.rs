//! How many requests a full gate makes on GitHub: a fixed small number, whatever the number
//! of checks, changed files or reviews. A wiremock GitHub answers every endpoint the gate
//! reads (bodies shaped like the REST reference's examples) and counts what it is asked.

use std::path::Path;
use std::process::Command;

use relman_core::ci::Secret;
use relman_core::config::parse_str;
use relman_forge::{AuditRecord, Forge, GitHub, LocalStore, Subject};
use relman_gate::{Context, Status, evaluate, policy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPO: &str = "/repos/acme/shop";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "a")
        .env("GIT_AUTHOR_EMAIL", "a@example.com")
        .env("GIT_COMMITTER_NAME", "a")
        .env("GIT_COMMITTER_EMAIL", "a@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository with a release tag and `files` files changed after it.
fn repo(dir: &Path, files: usize) -> (String, String) {
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "x\n").expect("write");
    // Code owners come from the pull request's base, never from the change.
    std::fs::write(dir.join("CODEOWNERS"), "* @acme/sre\n").expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "feat: first"]);
    git(dir, &["tag", "v1.0.0"]);
    let base = git(dir, &["rev-parse", "HEAD"]);
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    for i in 0..files {
        std::fs::write(
            dir.join(format!("src/f{i}.rs")),
            format!("fn f{i}() {{}}\n"),
        )
        .expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "feat: many files"]);
    (base, git(dir, &["rev-parse", "HEAD"]))
}

fn json_response(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

async fn mount(server: &MockServer, base: &str, head: &str, checks: usize) {
    let runs: Vec<Value> = (0..checks)
        .map(|i| json!({"id": i, "name": format!("ci/job-{i}"), "status": "completed", "conclusion": "success", "html_url": format!("https://github.com/acme/shop/runs/{i}")}))
        .collect();
    let routes: Vec<(&str, String, Value)> = vec![
        (
            "GET",
            format!("{REPO}/commits/{head}/check-runs"),
            json!({"total_count": checks, "check_runs": runs}),
        ),
        (
            "GET",
            format!("{REPO}/commits/{head}/status"),
            json!({"state": "success", "total_count": 1, "statuses": [{"context": "deploy/preview", "state": "success", "target_url": "https://preview"}]}),
        ),
        (
            "GET",
            format!("{REPO}/pulls/7"),
            json!({"number": 7, "title": "feat: many files", "state": "closed", "merged_at": "2026-11-20T10:00:00Z", "html_url": "https://github.com/acme/shop/pull/7", "user": {"login": "alice"}, "head": {"sha": head}, "base": {"sha": base}}),
        ),
        (
            "GET",
            format!("{REPO}/pulls/7/reviews"),
            json!([
                {"id": 1, "user": {"login": "bob"}, "state": "APPROVED", "submitted_at": "2026-11-20T09:00:00Z", "commit_id": head},
                {"id": 2, "user": {"login": "erin"}, "state": "APPROVED", "submitted_at": "2026-11-20T09:30:00Z", "commit_id": head}
            ]),
        ),
        (
            "GET",
            "/orgs/acme/teams/sre/members".into(),
            json!([{"login": "erin"}, {"login": "frank"}]),
        ),
        ("GET", format!("{REPO}/issues"), json!([])),
        (
            "GET",
            format!("{REPO}/milestones"),
            json!([{"number": 3, "title": "1.4", "state": "open"}]),
        ),
        (
            "GET",
            format!("{REPO}/deployments"),
            json!([{"id": 11, "sha": base, "ref": "v1.0.0", "environment": "production", "created_at": "2026-11-01T10:00:00Z", "creator": {"login": "deployer"}, "payload": {}}]),
        ),
        (
            "GET",
            format!("{REPO}/deployments/11/statuses"),
            json!([{"state": "success", "description": "", "created_at": "2026-11-01T10:05:00Z"}]),
        ),
        (
            "POST",
            "/graphql".into(),
            json!({"data": {"repository": {"c0": {"associatedPullRequests": {"nodes": [{"number": 7, "title": "feat: many files", "url": "https://github.com/acme/shop/pull/7", "mergedAt": "2026-11-20T10:00:00Z", "authorAssociation": "MEMBER", "author": {"login": "alice"}}]}}}}}),
        ),
    ];
    for (m, p, body) in routes {
        Mock::given(method(m))
            .and(path(p.as_str()))
            .respond_with(json_response(body))
            .mount(server)
            .await;
    }
    Mock::given(path_regex(".*"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(server)
        .await;
}

const POLICY: &str = r#"
gate:
  policies:
    production:
      gates:
        - checks: { required: ["ci/*", "deploy/*"] }
        - approvals: { min: 2, teams: [acme/sre], codeowners: true }
        - blockers: { labels: [release-blocker, p0], milestone: "1.4" }
        - rollback: { drill_within_days: 30 }
        - risk: { max_level: critical }
"#;

/// Requests of one full gate evaluation for `checks` checks and `files` changed files.
fn requests_for(checks: usize, files: usize) -> (Vec<String>, Vec<Status>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (base, head) = repo(dir.path(), files);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(MockServer::start());
    rt.block_on(mount(&server, &base, &head, checks));
    let store = LocalStore::open(dir.path()).expect("store");
    store
        .append_audit(&AuditRecord {
            subject: Subject {
                environment: Some("production".into()),
                ..Subject::default()
            },
            details: json!({"result": "success"}),
            ..AuditRecord::now("sre", "rollback.drill")
        })
        .expect("audit");
    let gh = GitHub::new(&server.uri(), "acme/shop", Some(Secret::new("t0ken")), 100)
        .expect("client")
        .with_audit_store(store.state().clone());
    let cfg = parse_str(POLICY, Path::new(".relman.yml")).expect("config");
    let resolved = policy::resolve(&cfg.gate, Some("production")).expect("policy");
    let change = relman_gate::diff::change(dir.path(), None, &head, "v").expect("change");
    assert_eq!(change.files.len(), files);
    let mut cx = Context {
        root: dir.path().to_path_buf(),
        now: jiff::Timestamp::now(),
        forge: &gh,
        change,
        environment: "production".into(),
        pull_request: None,
        override_reason: None,
        facts: Default::default(),
        deployment: None,
    };
    let eval = evaluate::evaluate(&resolved, &cfg.gate.risk, &[], &mut cx).expect("evaluate");
    let statuses = eval
        .gates
        .iter()
        .map(|g| match g.status.as_str() {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            _ => Status::Skipped,
        })
        .collect();
    let requests = rt
        .block_on(server.received_requests())
        .expect("recorded")
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    (requests, statuses)
}

#[test]
fn a_full_gate_makes_a_fixed_small_number_of_requests() {
    let (small, statuses) = requests_for(3, 5);
    assert!(statuses.iter().all(|s| *s == Status::Pass), "{statuses:?}");
    let (large, statuses) = requests_for(250, 400);
    assert!(statuses.iter().all(|s| *s == Status::Pass), "{statuses:?}");
    // The stand-in answers each listing in one page; on GitHub check runs come 100 per page,
    // the only listing that grows with the project (250 checks: 2 more requests).
    assert_eq!(large.len(), small.len(), "{large:#?}");
    let mut expected = vec![
        format!("GET {REPO}/commits/HEAD/check-runs"),
        format!("GET {REPO}/commits/HEAD/status"),
        "POST /graphql".to_string(),
        format!("GET {REPO}/pulls/7"),
        format!("GET {REPO}/pulls/7/reviews"),
        "GET /orgs/acme/teams/sre/members".to_string(),
        format!("GET {REPO}/issues"),
        format!("GET {REPO}/issues"),
        format!("GET {REPO}/milestones"),
        format!("GET {REPO}/issues"),
        format!("GET {REPO}/deployments"),
        format!("GET {REPO}/deployments/11/statuses"),
    ];
    let normalize = |r: &String| {
        let mut parts: Vec<&str> = r.split('/').collect();
        for p in parts.iter_mut() {
            if p.len() == 40 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
                *p = "HEAD";
            }
        }
        parts.join("/")
    };
    let mut got: Vec<String> = small.iter().map(normalize).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    println!(
        "full gate on GitHub: {} requests (3 checks, 5 files); {} (250 checks, 400 files)",
        small.len(),
        large.len()
    );
}
