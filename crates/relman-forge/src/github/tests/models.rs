//! octocrab's models relman does not read answers with, and why: each is stricter than GitHub's
//! REST description (`@octokit/openapi` 23.0.2) in a field relman does not even need, so an
//! answer GitHub may send would fail a release, a rollback or a gate as malformed. Each case
//! is the smallest answer showing it; when an octocrab release accepts it, its test fails, and
//! the model is worth taking up again (ARCHITECTURE.md, "The forge libraries").

use octocrab::models;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::super::client::decode;

/// `answer` as `T` must fail at `field` with `why`.
fn refused<T: DeserializeOwned + std::fmt::Debug>(answer: Value, field: &str, why: &str) {
    let err = decode::<T>("GET /x", answer.to_string().as_bytes()).expect_err(&format!(
        "{} now reads {answer}",
        std::any::type_name::<T>()
    ));
    let text = err.to_string();
    assert!(text.contains(&format!("`{field}`: {why}")), "{text}");
}

/// `simple-user` and `nullable-simple-user` allow `"gravatar_id": null` (answers from before
/// 2014 carry it); octocrab's `Author` and `SimpleUser` require a string. Every answer with a
/// user in it is refused whole: a release's author, a deployment's or a status's creator, a
/// review's or a pull request's user, a milestone's creator, a repository's owner, a team.
#[test]
fn a_user_without_a_gravatar_id_fails_every_model_holding_a_user() {
    let user = json!({ "login": "octocat", "gravatar_id": null });
    let null = "invalid type: null, expected a string";
    refused::<models::repos::Release>(json!({ "author": user }), "author.gravatar_id", null);
    refused::<models::repos::Deployment>(json!({ "creator": user }), "creator.gravatar_id", null);
    refused::<models::repos::DeploymentStatus>(
        json!({ "creator": user }),
        "creator.gravatar_id",
        null,
    );
    refused::<models::pulls::Review>(json!({ "user": user }), "user.gravatar_id", null);
    refused::<models::pulls::PullRequest>(json!({ "user": user }), "user.gravatar_id", null);
    refused::<models::Milestone>(json!({ "creator": user }), "creator.gravatar_id", null);
    refused::<models::Repository>(json!({ "owner": user }), "owner.gravatar_id", null);
    refused::<Vec<models::SimpleUser>>(json!([user]), "[0].gravatar_id", null);
}

/// A workflow run's `head_branch` is nullable (a run of a deleted branch); octocrab's `Run`
/// requires it. `Run` also has no `display_title`, the run name relman finds a dispatch by.
#[test]
fn a_run_without_a_branch_fails_octocrabs_run() {
    refused::<models::workflows::Run>(
        json!({ "head_branch": null }),
        "head_branch",
        "invalid type: null, expected a string",
    );
}

/// A check run's status may be `waiting`, `requested` or `pending` (GitHub Actions jobs
/// waiting for an environment's approval); octocrab knows queued, in_progress and completed.
/// Its other `CheckRun` (`models::checks`) has no `status` at all.
#[test]
fn a_waiting_check_run_fails_octocrabs_check_run() {
    for status in ["waiting", "requested", "pending"] {
        refused::<models::CheckRuns>(
            json!({ "check_runs": [{ "status": status }] }),
            "check_runs[0].status",
            "unknown variant",
        );
    }
}

/// An issue's `user` is nullable; octocrab's `Issue` requires one.
#[test]
fn an_issue_without_a_user_fails_octocrabs_issue() {
    refused::<models::issues::Issue>(
        json!({ "user": null }),
        "user",
        "invalid type: null, expected struct Author",
    );
}
