//! Pull request details, team members, milestone issues and commit statuses, with bodies
//! shaped like the examples of GitHub's REST reference.

use super::*;

fn pull_json(state: &str, merged_at: Value) -> Value {
    json!({
        "url": "https://api.github.com/repos/octocat/Hello-World/pulls/1347",
        "id": 1, "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": "https://github.com/octocat/Hello-World/pull/1347",
        "number": 1347, "state": state, "locked": true, "title": "Amazing new feature",
        "user": { "login": "octocat", "id": 1, "type": "User", "site_admin": false },
        "body": "Please pull these awesome changes in!",
        "created_at": "2011-01-26T19:01:12Z", "updated_at": "2011-01-26T19:01:12Z",
        "closed_at": "2011-01-26T19:01:12Z", "merged_at": merged_at,
        "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
        "head": { "label": "octocat:new-topic", "ref": "new-topic",
                  "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e" },
        "base": { "label": "octocat:master", "ref": "master",
                  "sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6" }
    })
}

#[test]
fn a_pull_request_is_read_with_its_head_base_and_merged_state() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/pulls/1347")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(pull_json("closed", json!("2011-01-26T19:01:12Z"))),
            ),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/pulls/1")))
            .respond_with(ResponseTemplate::new(200).set_body_json(pull_json("open", Value::Null))),
    );
    let pr = h.gh.pull_request(1347).expect("pr");
    assert_eq!(
        pr,
        PullRequest {
            number: 1347,
            title: "Amazing new feature".into(),
            author_login: "octocat".into(),
            url: "https://github.com/octocat/Hello-World/pull/1347".into(),
            head_sha: "6dcb09b5b57875f334f61aebed695e2e4193db5e".into(),
            base_sha: "e5bd3914e2e596debea16f433f57875b5b90bcd6".into(),
            state: "merged".into(),
        }
    );
    assert_eq!(h.gh.pull_request(1).expect("open").state, "open");
    let err = h.gh.pull_request(2).expect_err("unknown");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[test]
fn a_pull_request_without_a_head_sha_or_number_is_a_malformed_answer() {
    let h = harness();
    let mut no_sha = pull_json("open", Value::Null);
    no_sha["head"] = json!({ "ref": "new-topic" });
    let mut no_number = pull_json("open", Value::Null);
    no_number["number"] = Value::Null;
    for (n, body, missing) in [(3, no_sha, "`head.sha`"), (4, no_number, "`number`")] {
        h.mount(
            Mock::given(method("GET"))
                .and(path(format!("{REPO}/pulls/{n}")))
                .respond_with(ResponseTemplate::new(200).set_body_json(body)),
        );
        let err = h.gh.pull_request(n).expect_err("malformed");
        assert!(
            matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Malformed),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("no {missing}")), "{err}");
    }
}

#[test]
fn team_members_are_read_to_the_last_page() {
    let h = harness();
    let base = h.url();
    let members = "/orgs/octo-org/teams/justice-league/members";
    let user =
        |login: &str| json!({ "login": login, "id": 1, "type": "User", "site_admin": false });
    h.mount(
        Mock::given(method("GET"))
            .and(path(members))
            .and(query_param("page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([user("hubot")]))),
    );
    h.mount(
        Mock::given(method("GET")).and(path(members)).respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(r#"<{base}{members}?per_page=100&page=2>; rel="next""#).as_str(),
                )
                .set_body_json(json!([user("octocat")])),
        ),
    );
    assert_eq!(
        h.gh.team_members("octo-org/justice-league")
            .expect("members"),
        ["octocat", "hubot"]
    );
    assert_eq!(count(&h, "GET", members), 2);
    let err = h.gh.team_members("justice-league").expect_err("no org");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    let err = h.gh.team_members("octo-org/nobody").expect_err("unknown");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[test]
fn milestone_issues_are_found_by_title_and_pull_requests_skipped() {
    let h = harness();
    let milestone = |number: u64, title: &str| {
        json!({ "url": format!("https://api.github.com/repos/octocat/Hello-World/milestones/{number}"),
                "id": 1002604, "number": number, "state": "open", "title": title,
                "description": "Tracking milestone for version 1.0", "open_issues": 4 })
    };
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/milestones")))
            .and(query_param("state", "open"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([milestone(1, "v0.9"), milestone(7, "v1.0")])),
            ),
    );
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/issues")))
            .and(query_param("milestone", "7"))
            .and(query_param("state", "open"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                { "id": 1, "number": 1347, "state": "open", "title": "Found a bug",
                  "html_url": "https://github.com/octocat/Hello-World/issues/1347",
                  "labels": [{ "id": 208045946, "name": "bug", "color": "f29513" }] },
                { "id": 2, "number": 1348, "state": "open", "title": "A pull request",
                  "html_url": "https://github.com/octocat/Hello-World/pull/1348", "labels": [],
                  "pull_request": { "url": "https://api.github.com/repos/octocat/Hello-World/pulls/1348" } }
            ]))),
    );
    let issues = h.gh.issues_in_milestone("v1.0").expect("issues");
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].number, 1347);
    assert_eq!(issues[0].labels, ["bug"]);
    let err = h.gh.issues_in_milestone("v2.0").expect_err("unknown");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

fn status_json(id: u64, state: &str, description: &str, context: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/octocat/Hello-World/statuses/{SHA}"),
        "avatar_url": "https://github.com/images/error/hubot_happy.gif",
        "id": id, "node_id": "MDY6U3RhdHVzMQ==", "state": state, "description": description,
        "target_url": "https://ci.example.com/1000/output", "context": context,
        "created_at": "2012-07-20T01:19:13Z", "updated_at": "2012-07-20T01:19:13Z",
        "creator": { "login": "octocat", "id": 1, "type": "User" }
    })
}

fn gate_status(state: CommitState, description: &str) -> CommitStatusSpec {
    CommitStatusSpec {
        sha: SHA.into(),
        context: "relman/gate".into(),
        state,
        description: description.into(),
        target_url: Some("https://github.com/octocat/Hello-World/actions/runs/1".into()),
    }
}

#[test]
fn commit_status_is_created_updated_or_left_unchanged() {
    let h = harness();
    let list = format!("{REPO}/commits/{SHA}/statuses");
    let post = format!("{REPO}/statuses/{SHA}");
    let mount_list = |statuses: Value| {
        h.reset();
        h.mount(
            Mock::given(method("GET"))
                .and(path(list.clone()))
                .respond_with(ResponseTemplate::new(200).set_body_json(statuses)),
        );
        h.mount(
            Mock::given(method("POST"))
                .and(path(post.clone()))
                .respond_with(ResponseTemplate::new(201).set_body_json(status_json(
                    9,
                    "success",
                    "go",
                    "relman/gate",
                ))),
        );
    };
    // Only another context: created.
    mount_list(json!([status_json(1, "success", "Build ok", "ci/jenkins")]));
    let long = "x".repeat(200);
    let outcome =
        h.gh.set_commit_status(&gate_status(CommitState::Failure, &long))
            .expect("created");
    assert_eq!(outcome, Outcome::Created);
    let sent: Value = serde_json::from_slice(
        &h.requests()
            .iter()
            .find(|r| r.method.as_str() == "POST")
            .expect("post")
            .body,
    )
    .expect("json");
    assert_eq!(sent["state"], "failure");
    assert_eq!(sent["context"], "relman/gate");
    assert_eq!(sent["description"].as_str().map(str::len), Some(140));
    assert_eq!(
        sent["target_url"],
        "https://github.com/octocat/Hello-World/actions/runs/1"
    );

    // The newest status of the context says the same: nothing is sent.
    mount_list(json!([
        status_json(3, "success", "go: 12 checks green", "relman/gate"),
        status_json(2, "failure", "no-go", "relman/gate")
    ]));
    let outcome =
        h.gh.set_commit_status(&gate_status(CommitState::Success, "go: 12 checks green"))
            .expect("unchanged");
    assert_eq!(outcome, Outcome::Unchanged);
    assert_eq!(count(&h, "POST", &post), 0);

    // It says something else: updated.
    let outcome =
        h.gh.set_commit_status(&gate_status(CommitState::Error, "go: 12 checks green"))
            .expect("updated");
    assert_eq!(outcome, Outcome::Updated);
    assert_eq!(count(&h, "POST", &post), 1);
    assert_eq!(h.requests().len(), 3, "one listing per call, one write");
}
