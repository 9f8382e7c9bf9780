use relman_forge::{Deployment, DeploymentState, DeploymentStatus};

use super::*;
use DeploymentState::*;

/// A deployment of `sha` (one letter, repeated) whose statuses went through `states`.
fn dep(id: u64, sha: char, git_ref: &str, states: &[DeploymentState]) -> Deployment {
    Deployment {
        id,
        environment: "production".into(),
        sha: sha.to_string().repeat(40),
        git_ref: git_ref.into(),
        created_at: format!("2026-01-{id:02}T00:00:00Z").parse().expect("time"),
        creator: "ci".into(),
        state: states.last().copied().unwrap_or(Pending),
        statuses: states
            .iter()
            .map(|s| DeploymentStatus {
                state: *s,
                description: String::new(),
                created_at: format!("2026-01-{id:02}T00:05:00Z").parse().expect("time"),
            })
            .collect(),
        idempotency_key: format!("k{id}"),
        payload: serde_json::Value::Null,
    }
}

#[test]
fn the_target_skips_failed_errored_inactive_and_same_commit_deployments() {
    let history = [
        dep(9, 'f', "v1.4.0", &[InProgress, Failure]),
        dep(8, 'f', "v1.4.0", &[Success]),
        dep(7, 'e', "v1.3.2", &[Failure, Inactive]),
        dep(6, 'd', "v1.3.1", &[Error]),
        dep(5, 'c', "v1.3.0", &[Inactive]),
        dep(4, 'b', "v1.2.0", &[Success, Inactive]),
        dep(3, 'a', "v1.1.0", &[Success]),
    ];
    let picked = pick("production", &history, None).expect("a target");
    assert_eq!(picked.current.as_ref().map(|d| d.id), Some(9));
    // A success GitHub later marked inactive is superseded, not bad.
    assert_eq!(picked.target.id, 4);
    assert_eq!(
        picked.skipped,
        [
            "deployment 8 runs the current commit ffffffffffff",
            "deployment 7 of eeeeeeeeeeee: inactive after failure",
            "deployment 6 of dddddddddddd: error",
            "deployment 5 of cccccccccccc: inactive, never successful",
        ]
    );
}

#[test]
fn no_target_says_why() {
    let e = pick("production", &[], None).expect_err("empty");
    assert!(e.contains("no deployment to production"), "{e}");
    let only_bad = [
        dep(3, 'c', "v3", &[Success]),
        dep(2, 'b', "v2", &[Failure]),
        dep(1, 'c', "v1", &[Success]),
    ];
    let e = pick("production", &only_bad, None).expect_err("none good");
    assert!(
        e.contains("among 3 deployments")
            && e.contains("deployment 2 of bbbbbbbbbbbb: failure")
            && e.contains("deployment 1 runs the current commit"),
        "{e}"
    );
    // A pending deployment is not known-good.
    let pending = [dep(2, 'b', "v2", &[Success]), dep(1, 'a', "v1", &[])];
    let e = pick("production", &pending, None).expect_err("pending");
    assert!(e.contains("pending, never successful"), "{e}");
}

#[test]
fn to_names_an_id_a_version_or_a_sha() {
    let history = [
        dep(5, 'e', "v1.4.0", &[Failure]),
        dep(4, 'd', "v1.3.0", &[Success]),
        dep(3, 'c', "v1.2.0", &[Failure]),
        dep(2, 'b', "v1.1.0", &[Success, Inactive]),
        dep(1, 'a', "main", &[Success]),
    ];
    let to = |t: &str| pick("production", &history, Some(t)).map(|p| p.target.id);
    assert_eq!(to("2"), Ok(2));
    assert_eq!(to("v1.1.0"), Ok(2));
    assert_eq!(to("1.1.0"), Ok(2), "a version without its v");
    assert_eq!(to("main"), Ok(1));
    assert_eq!(to("aaaaaaa"), Ok(1), "a short sha");
    assert_eq!(to(&"B".repeat(40)), Ok(2), "a full sha, any case");
    // Blank is no --to at all.
    assert_eq!(to("  "), Ok(4));
    for (bad, needle) in [
        (
            "v9.9.9",
            "no deployment to production with that id, ref or sha",
        ),
        ("5", "the current one"),
        ("v1.2.0", "not known-good (failure)"),
        ("cccccccc", "not known-good"),
        ("abc", "no deployment"),
    ] {
        let e = to(bad).expect_err(bad);
        assert!(e.contains(needle), "{bad}: {e}");
    }
}
