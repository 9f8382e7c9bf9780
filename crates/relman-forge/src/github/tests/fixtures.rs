//! Answers shaped as GitHub sends them, shared by the tests: each starts from the example of
//! its operation in GitHub's REST description (`@octokit/openapi` 23.0.2,
//! `generated/api.github.com.json`, copied verbatim to `fixtures/*.json`), with only the
//! fields a test is about set. Models relman reads with octocrab require every field the
//! description requires, so a test must not get by with a minimal body a real answer never is.

use serde_json::{Value, json};

/// `GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}` (octocrab's `WorkFlow`).
pub(super) fn workflow(path: &str, state: &str) -> Value {
    with(
        include_str!("fixtures/workflow.json"),
        json!({ "name": "Deploy", "path": path, "state": state }),
    )
}

/// `GET /repos/{owner}/{repo}/contents/{path}` for a file (octocrab's `Content`), holding
/// `text` base64-encoded and wrapped at 60 columns, as GitHub sends it.
pub(super) fn content_file(path: &str, text: &str) -> Value {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let wrapped: Vec<String> = encoded
        .as_bytes()
        .chunks(60)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let name = path.rsplit('/').next().unwrap_or(path);
    with(
        include_str!("fixtures/content-file.json"),
        json!({ "name": name, "path": path, "size": text.len(), "content": wrapped.join("\n") }),
    )
}

/// `GET /repos/{owner}/{repo}` with the token's `permissions` (`null`: none shown, as for an
/// installation token).
pub(super) fn repository(permissions: Value) -> Value {
    let mut repo = with(include_str!("fixtures/full-repository.json"), json!({}));
    match (&mut repo, permissions) {
        (Value::Object(map), Value::Null) => {
            map.remove("permissions");
        }
        (Value::Object(map), permissions) => {
            map.insert("permissions".into(), permissions);
        }
        _ => {}
    }
    repo
}

/// The example `base`, with the top-level fields of `set` replacing its own.
fn with(base: &str, set: Value) -> Value {
    let mut v: Value = serde_json::from_str(base).expect("a fixture is JSON");
    if let (Value::Object(map), Value::Object(set)) = (&mut v, set) {
        map.extend(set);
    }
    v
}

/// Every fixture reads as the octocrab model relman reads it with, through the decoder the
/// client uses: a fixture that drifts from what the model requires fails here, naming the
/// field, not in a test about something else.
#[test]
fn the_fixtures_read_as_octocrab_models() {
    use super::super::client::decode;
    use octocrab::models::{repos::Content, workflows::WorkFlow};
    let body = |v: Value| v.to_string().into_bytes();
    let workflow = body(workflow(".github/workflows/deploy.yml", "active"));
    decode::<WorkFlow>("workflow", &workflow).expect("WorkFlow");
    decode::<Content>("content", &body(content_file("a/b.yml", "x"))).expect("Content");
}
