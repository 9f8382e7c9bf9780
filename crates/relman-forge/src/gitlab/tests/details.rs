//! Merge request details, group members, milestone issues and commit statuses, with bodies
//! modelled on GitLab's documented examples.

use super::*;
use crate::{CommitState, CommitStatusSpec, PullRequest};

fn mr_json(state: &str) -> Value {
    json!({
        "id": 155016530, "iid": 133, "project_id": 15513260,
        "title": "Manual job rules", "description": "", "state": state,
        "created_at": "2022-05-13T07:26:38.402Z", "updated_at": "2022-05-14T03:38:31.354Z",
        "merged_by": null, "merged_at": null, "target_branch": "main",
        "source_branch": "manual-job-rules",
        "author": { "id": 4155490, "username": "marcel.amirault", "name": "Marcel Amirault",
                    "state": "active" },
        "sha": "e82eb4a098e32c796079ca3915e07487fc4db24c",
        "merge_commit_sha": null, "squash_commit_sha": null,
        "web_url": "https://gitlab.com/marcel.amirault/test-project/-/merge_requests/133",
        "diff_refs": { "base_sha": "aa7f2e50ad5b8bb1d9ed83dd8e9ee33d94d5ec48",
                       "head_sha": "e82eb4a098e32c796079ca3915e07487fc4db24c",
                       "start_sha": "aa7f2e50ad5b8bb1d9ed83dd8e9ee33d94d5ec48" }
    })
}

#[test]
fn a_merge_request_is_read_with_its_diff_refs() {
    let s = Server::start();
    s.mount(get("/merge_requests/133").respond_with(ok(mr_json("opened"))));
    let gl = s.gitlab(10);
    assert_eq!(
        gl.pull_request(133).expect("mr"),
        PullRequest {
            number: 133,
            title: "Manual job rules".into(),
            author_login: "marcel.amirault".into(),
            url: "https://gitlab.com/marcel.amirault/test-project/-/merge_requests/133".into(),
            head_sha: "e82eb4a098e32c796079ca3915e07487fc4db24c".into(),
            base_sha: "aa7f2e50ad5b8bb1d9ed83dd8e9ee33d94d5ec48".into(),
            state: "open".into(),
        }
    );
    let err = gl.pull_request(134).expect_err("unknown");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[test]
fn a_merge_request_without_a_head_sha_is_a_malformed_answer() {
    let s = Server::start();
    let mut mr = mr_json("opened");
    mr["sha"] = Value::Null;
    mr["diff_refs"] = Value::Null;
    s.mount(get("/merge_requests/133").respond_with(ok(mr)));
    let err = s.gitlab(10).pull_request(133).expect_err("malformed");
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Malformed),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("merge_requests/133: malformed response: no head sha")
    );
}

#[test]
fn a_merge_request_whose_diff_is_not_ready_is_worth_asking_again() {
    // GitLab computes `diff_refs` after the merge request is made: null until then, while
    // `sha` already names the head.
    let s = Server::start();
    let mut mr = mr_json("opened");
    mr["diff_refs"] = Value::Null;
    s.mount(get("/merge_requests/133").respond_with(ok(mr)));
    let err = s.gitlab(10).pull_request(133).expect_err("no diff yet");
    let Error::Api(e) = &err else {
        panic!("not a typed forge error: {err:?}");
    };
    assert_eq!(e.kind, ForgeErrorKind::NotReady);
    assert!(e.is_transient(), "{err}");
    assert!(
        e.endpoint.starts_with("GET /projects/") && e.endpoint.ends_with("/merge_requests/133"),
        "{}",
        e.endpoint
    );
    assert_eq!(err.exit_code(), relman_core::ExitCode::External);
    assert_eq!(
        err.to_string(),
        format!(
            "gitlab: {}: merge request !133 has no diff yet (no `diff_refs.base_sha`)",
            e.endpoint
        )
    );
}

#[test]
fn group_members_are_read_to_the_last_page() {
    let s = Server::start();
    let members = "/api/v4/groups/my-org%2Freleasers/members/all";
    let member = |id: u64, username: &str| {
        json!({ "id": id, "username": username, "name": "Raymond Smith", "state": "active",
                "access_level": 30, "created_at": "2012-10-22T14:13:35Z" })
    };
    s.mount(
        Mock::given(method("GET"))
            .and(path(members))
            .and(query_param("page", "2"))
            .respond_with(ok(json!([member(2, "john_doe")]))),
    );
    s.mount(
        Mock::given(method("GET")).and(path(members)).respond_with(
            ok(json!([member(1, "raymond_smith")])).insert_header("x-next-page", "2"),
        ),
    );
    let gl = s.gitlab(10);
    assert_eq!(
        gl.team_members("my-org/releasers").expect("members"),
        ["raymond_smith", "john_doe"]
    );
}

#[test]
fn milestone_issues_are_filtered_by_title() {
    let s = Server::start();
    s.mount(
        get("/issues")
            .and(query_param("milestone", "v1.0"))
            .and(query_param("state", "opened"))
            .respond_with(ok(json!([{
                "id": 76, "iid": 6, "project_id": 1, "state": "opened",
                "title": "Consequatur vero maxime deserunt laboriosam est voluptas dolorem.",
                "labels": ["foo", "bar"],
                "milestone": { "id": 1, "iid": 1, "title": "v1.0", "state": "active" },
                "web_url": "http://gitlab.example.com/my-group/my-project/issues/6"
            }]))),
    );
    let issues = s.gitlab(10).issues_in_milestone("v1.0").expect("issues");
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].number, 6);
    assert_eq!(issues[0].labels, ["foo", "bar"]);
}

fn status_json(status: &str, description: &str) -> Value {
    json!({
        "status": status, "created_at": "2016-01-19T08:40:25.934Z", "started_at": null,
        "name": "relman/gate", "allow_failure": false,
        "author": { "username": "root", "state": "active", "id": 1, "name": "Administrator" },
        "description": description, "sha": "18f3e63d05582537db6d183d9d557be09e1f90c8",
        "target_url": "https://gitlab.example.com/root/project/builds/91",
        "finished_at": null, "id": 91, "ref": "main"
    })
}

fn gate(state: CommitState, description: &str) -> CommitStatusSpec {
    CommitStatusSpec {
        sha: "18f3e63d05582537db6d183d9d557be09e1f90c8".into(),
        context: "relman/gate".into(),
        state,
        description: description.into(),
        target_url: Some("https://gitlab.example.com/root/project/-/jobs/91".into()),
    }
}

#[test]
fn commit_status_is_posted_once_and_error_becomes_failed() {
    let s = Server::start();
    let sha = "18f3e63d05582537db6d183d9d557be09e1f90c8";
    s.mount(
        get(&format!("/repository/commits/{sha}/statuses"))
            .and(query_param("name", "relman/gate"))
            .respond_with(ok(json!([status_json("success", "go: 12 checks green")]))),
    );
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/statuses/{sha}")))
            .and(body_partial_json(json!({
                "state": "failed", "name": "relman/gate", "description": "no-go",
                "target_url": "https://gitlab.example.com/root/project/-/jobs/91"
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(status_json("failed", "no-go"))),
    );
    let gl = s.gitlab(10);
    assert_eq!(
        gl.set_commit_status(&gate(CommitState::Success, "go: 12 checks green"))
            .expect("unchanged"),
        Outcome::Unchanged
    );
    assert_eq!(
        gl.set_commit_status(&gate(CommitState::Error, "no-go"))
            .expect("updated"),
        Outcome::Updated
    );
    let posts = s
        .requests()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1);
    assert_eq!(s.requests().len(), 3);
}

#[test]
fn a_first_commit_status_is_created() {
    let s = Server::start();
    let sha = "18f3e63d05582537db6d183d9d557be09e1f90c8";
    s.mount(get(&format!("/repository/commits/{sha}/statuses")).respond_with(ok(json!([]))));
    s.mount(
        Mock::given(method("POST"))
            .and(path(format!("{P}/statuses/{sha}")))
            .and(body_partial_json(json!({ "state": "pending" })))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(status_json("pending", "evaluating")),
            ),
    );
    assert_eq!(
        s.gitlab(10)
            .set_commit_status(&gate(CommitState::Pending, "evaluating"))
            .expect("created"),
        Outcome::Created
    );
}
