//! Forge gates against a scripted forge: canned answers, counted requests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use relman_core::config::{ApprovalsGate, BlockersGate, ChecksGate};
use relman_core::{Error, Result};
use relman_forge::*;

use crate::{Change, Context, Status};

#[derive(Debug, Default)]
struct Scripted {
    /// Successive answers to checks_for_commit (the last repeats).
    checks: Mutex<Vec<Vec<Check>>>,
    reviews: Vec<Review>,
    prs_of_head: Vec<PullRequestRef>,
    teams: BTreeMap<String, Vec<String>>,
    labelled: BTreeMap<String, Vec<IssueRef>>,
    milestone: Vec<IssueRef>,
    /// The pull request's head and base commits (default: `HEAD` and zeros).
    pr_shas: Option<(String, String)>,
    calls: Mutex<Vec<String>>,
}

impl Scripted {
    fn call(&self, what: &str) {
        self.calls.lock().expect("lock").push(what.to_string());
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

impl Forge for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn capabilities(&self) -> Capabilities {
        use Capability::*;
        Capabilities::of(&[Checks, PullRequests, Approvals, TeamMembers, Issues, Audit])
    }
    relman_forge::unsupported_forge_methods!(releases, deployments, dispatch);
    fn checks_for_commit(&self, _: &str) -> Result<Vec<Check>> {
        self.call("checks");
        let mut c = self.checks.lock().expect("lock");
        Ok(if c.len() > 1 {
            c.remove(0)
        } else {
            c[0].clone()
        })
    }
    fn reviews(&self, _: u64) -> Result<Vec<Review>> {
        self.call("reviews");
        Ok(self.reviews.clone())
    }
    fn pull_requests_for_commits(
        &self,
        shas: &[&str],
    ) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
        self.call("prs-of-commits");
        Ok(shas
            .iter()
            .map(|s| (s.to_string(), self.prs_of_head.clone()))
            .collect())
    }
    fn pull_request(&self, number: u64) -> Result<PullRequest> {
        self.call("pr");
        Ok(PullRequest {
            number,
            title: "feat: x".into(),
            author_login: "alice".into(),
            url: format!("https://forge/pr/{number}"),
            head_sha: self
                .pr_shas
                .as_ref()
                .map_or(HEAD.into(), |(h, _)| h.clone()),
            base_sha: self
                .pr_shas
                .as_ref()
                .map_or("0".repeat(40), |(_, b)| b.clone()),
            state: "open".into(),
        })
    }
    fn team_members(&self, team: &str) -> Result<Vec<String>> {
        self.call(&format!("team {team}"));
        self.teams
            .get(team)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                backend: "scripted".into(),
                what: format!("team {team}"),
            })
    }
    fn issues_with_label(&self, label: &str) -> Result<Vec<IssueRef>> {
        self.call(&format!("label {label}"));
        Ok(self.labelled.get(label).cloned().unwrap_or_default())
    }
    fn issues_in_milestone(&self, _: &str) -> Result<Vec<IssueRef>> {
        self.call("milestone");
        Ok(self.milestone.clone())
    }
    fn append_audit(&self, _: &AuditRecord) -> Result<()> {
        Ok(())
    }
    fn audit_log(&self, _: &AuditFilter) -> Result<Vec<AuditRecord>> {
        Ok(Vec::new())
    }
}

const HEAD: &str = "1111111111111111111111111111111111111111";

fn cx(forge: &dyn Forge) -> Context<'_> {
    Context {
        change: Change {
            head: "HEAD".into(),
            head_sha: HEAD.into(),
            ..Change::default()
        },
        ..Context::for_test(forge, &std::env::temp_dir())
    }
}

fn check(name: &str, status: CheckStatus, conclusion: Option<CheckConclusion>) -> Check {
    Check {
        name: name.into(),
        status,
        conclusion,
        url: None,
    }
}

fn done(name: &str, c: CheckConclusion) -> Check {
    check(name, CheckStatus::Completed, Some(c))
}

#[test]
fn checks_required_patterns_ignore_and_latest_rerun() {
    use CheckConclusion::*;
    let forge = Scripted {
        checks: Mutex::new(vec![vec![
            done("ci/test", Success),
            done("ci/lint", Skipped),
            done("ci/test", Failure), // an older run of the same check
            done("relman/gate", Failure),
            done("docs", Failure),
        ]]),
        ..Scripted::default()
    };
    let spec = ChecksGate {
        required: vec!["ci/*".into()],
        ..ChecksGate::default()
    };
    let f = crate::forge::checks::evaluate(&spec, &cx(&forge)).expect("eval");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(f.reason, "2 check(s) green");

    // Without required patterns every check counts (except the gate's own).
    let f = crate::forge::checks::evaluate(&ChecksGate::default(), &cx(&forge)).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "1 failed");
    assert_eq!(f.evidence[0], "failed: docs: failure");
}

#[test]
fn checks_missing_required_and_none_at_all_fail() {
    let forge = Scripted {
        checks: Mutex::new(vec![vec![done("build", CheckConclusion::Success)]]),
        ..Scripted::default()
    };
    let spec = ChecksGate {
        required: vec!["build".into(), "security/*".into()],
        ..ChecksGate::default()
    };
    let f = crate::forge::checks::evaluate(&spec, &cx(&forge)).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "required but absent: security/*");

    let empty = Scripted {
        checks: Mutex::new(vec![vec![]]),
        ..Scripted::default()
    };
    let f = crate::forge::checks::evaluate(&ChecksGate::default(), &cx(&empty)).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "no checks on the commit");
}

#[test]
fn pending_checks_are_polled_until_done_or_timeout() {
    use CheckStatus::*;
    let running = vec![check("ci", InProgress, None)];
    let green = vec![done("ci", CheckConclusion::Success)];
    let forge = Scripted {
        checks: Mutex::new(vec![running.clone(), running.clone(), green]),
        ..Scripted::default()
    };
    let spec = ChecksGate {
        timeout: "5m".into(),
        poll_interval: "30s".into(),
        ..ChecksGate::default()
    };
    let mut slept = Vec::new();
    let f = crate::forge::checks::evaluate_with(&spec, &cx(&forge), &mut |d| slept.push(d))
        .expect("eval");
    assert_eq!(f.status, Status::Pass);
    assert_eq!(slept, [Duration::from_secs(30), Duration::from_secs(30)]);
    assert_eq!(forge.calls().len(), 3);

    let forge = Scripted {
        checks: Mutex::new(vec![running]),
        ..Scripted::default()
    };
    let spec = ChecksGate {
        timeout: "1m".into(),
        poll_interval: "25s".into(),
        ..ChecksGate::default()
    };
    let mut total = Duration::ZERO;
    let f =
        crate::forge::checks::evaluate_with(&spec, &cx(&forge), &mut |d| total += d).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(total, Duration::from_secs(60));
    assert_eq!(f.reason, "1 still running after 60s (timeout 60s)");
    assert!(
        crate::forge::checks::evaluate(
            &ChecksGate {
                timeout: "soon".into(),
                ..ChecksGate::default()
            },
            &cx(&forge)
        )
        .expect_err("bad duration")
        .to_string()
        .starts_with("checks.timeout: \"soon\"")
    );
}

fn review(who: &str, state: ReviewState, at: &str, commit: &str) -> Review {
    Review {
        author: who.into(),
        state,
        submitted_at: Some(at.parse().expect("time")),
        commit_id: Some(commit.into()),
    }
}

#[test]
fn approvals_count_latest_decisive_review_without_author_or_stale() {
    use ReviewState::*;
    let old = "2222222222222222222222222222222222222222";
    let forge = Scripted {
        reviews: vec![
            review("bob", Approved, "2026-01-01T10:00:00Z", HEAD),
            review("bob", Commented, "2026-01-01T11:00:00Z", HEAD),
            review("carol", Approved, "2026-01-01T09:00:00Z", old),
            review("alice", Approved, "2026-01-01T09:00:00Z", HEAD),
            review("dave", Approved, "2026-01-01T08:00:00Z", HEAD),
            review("dave", ChangesRequested, "2026-01-01T12:00:00Z", HEAD),
        ],
        prs_of_head: vec![PullRequestRef {
            number: 7,
            title: "feat".into(),
            author_login: "alice".into(),
            url: "u".into(),
            merged_at: None,
            first_time: false,
        }],
        ..Scripted::default()
    };
    let spec = ApprovalsGate {
        min: 2,
        ..ApprovalsGate::default()
    };
    let f = crate::forge::approvals::evaluate(&spec, &cx(&forge)).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "#7: 1 approval(s), 2 required; dave requested changes"
    );
    assert_eq!(f.facts["approvers"], serde_json::json!(["bob"]));
    assert_eq!(f.facts["stale"], serde_json::json!(["carol"]));
    assert_eq!(forge.calls(), ["prs-of-commits", "pr", "reviews"]);

    let lenient = ApprovalsGate {
        min: 3,
        exclude_author: false,
        dismiss_stale: false,
        ..ApprovalsGate::default()
    };
    let f = crate::forge::approvals::evaluate(&lenient, &cx(&forge)).expect("eval");
    assert_eq!(f.facts["count"], 3, "{f:?}");
}

#[test]
fn approvals_required_users_and_teams() {
    use ReviewState::*;
    let forge = Scripted {
        reviews: vec![review("bob", Approved, "2026-01-01T10:00:00Z", HEAD)],
        teams: [("org/sre".to_string(), vec!["erin".to_string()])].into(),
        ..Scripted::default()
    };
    let mut c = cx(&forge);
    c.pull_request = Some(9);
    let spec = ApprovalsGate {
        users: vec!["bob".into(), "frank".into()],
        teams: vec!["org/sre".into()],
        ..ApprovalsGate::default()
    };
    let f = crate::forge::approvals::evaluate(&spec, &c).expect("eval");
    assert_eq!(
        f.reason,
        "#9: no approval from required reviewer frank; no approval from a member of org/sre"
    );
    let missing_team = ApprovalsGate {
        teams: vec!["org/nope".into()],
        ..ApprovalsGate::default()
    };
    assert!(matches!(
        crate::forge::approvals::evaluate(&missing_team, &c),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn approvals_without_a_pull_request_fail() {
    let forge = Scripted::default();
    let f =
        crate::forge::approvals::evaluate(&ApprovalsGate::default(), &cx(&forge)).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.reason.starts_with("no pull request found for 1111"),
        "{}",
        f.reason
    );
}

#[test]
fn blockers_by_label_and_milestone_deduplicated() {
    let issue = |n: u64| IssueRef {
        number: n,
        title: format!("bug {n}"),
        url: format!("https://forge/issues/{n}"),
        labels: vec![],
    };
    let forge = Scripted {
        labelled: [("release-blocker".to_string(), vec![issue(1), issue(2)])].into(),
        milestone: vec![issue(2), issue(3)],
        ..Scripted::default()
    };
    let spec = BlockersGate {
        labels: vec!["release-blocker".into(), "p0".into()],
        milestone: Some("1.4".into()),
    };
    let f = crate::forge::blockers::evaluate(&spec, &cx(&forge)).expect("eval");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "3 open release blockers");
    assert_eq!(f.evidence[0], "#1 bug 1 (https://forge/issues/1)");
    assert_eq!(
        forge.calls(),
        ["label release-blocker", "label p0", "milestone"]
    );
    let quiet = Scripted::default();
    let f = crate::forge::blockers::evaluate(&BlockersGate::default(), &cx(&quiet)).expect("eval");
    assert_eq!(f.status, Status::Pass);
}

#[test]
fn the_local_store_cannot_answer_forge_gates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    let e = crate::forge::checks::evaluate(&ChecksGate::default(), &cx(&store))
        .expect_err("unsupported");
    assert!(matches!(e, Error::Unsupported { .. }));
}

/// A repository where `main` has CODEOWNERS `codeowners` (none when `None`) and a pull request
/// changes `src/a.rs` and, with `pr_codeowners`, rewrites (or deletes, `Some(None)`) it.
/// Returns the fixture, the base and the head.
fn pr_repo(
    codeowners: Option<&str>,
    pr_codeowners: Option<Option<&str>>,
) -> (crate::diff::fixture::Fixture, String, String) {
    let mut f = crate::diff::fixture::Fixture::new();
    f.write("src/a.rs", "fn a() {}\n");
    if let Some(c) = codeowners {
        f.write(".github/CODEOWNERS", c);
    }
    let base = f.commit("feat: a");
    f.write("src/a.rs", "fn a() { b() }\n");
    match pr_codeowners {
        Some(Some(c)) => f.write(".github/CODEOWNERS", c),
        Some(None) => {
            f.git(&["rm", "-q", ".github/CODEOWNERS"]);
        }
        None => {}
    }
    let head = f.commit("feat: b");
    (f, base, head)
}

fn gated<'a>(forge: &'a Scripted, root: &std::path::Path, head: &str) -> Context<'a> {
    Context {
        change: Change {
            head: "HEAD".into(),
            head_sha: head.into(),
            ..Change::default()
        },
        pull_request: Some(5),
        ..Context::for_test(forge, root)
    }
}

#[test]
fn codeowners_come_from_the_target_branch_not_the_change() {
    use ReviewState::*;
    let spec = ApprovalsGate {
        codeowners: true,
        ..ApprovalsGate::default()
    };
    // The PR deletes CODEOWNERS, or rewrites it to make its own reviewer the owner.
    for rewrite in [None, Some("* @bob\n")] {
        let (f, base, head) = pr_repo(Some("* @owner\n"), Some(rewrite));
        let forge = Scripted {
            reviews: vec![review("bob", Approved, "2026-01-01T10:00:00Z", &head)],
            pr_shas: Some((head.clone(), base.clone())),
            ..Scripted::default()
        };
        let fx = crate::forge::approvals::evaluate(&spec, &gated(&forge, f.root(), &head))
            .expect("eval");
        assert_eq!(fx.status, Status::Fail, "{rewrite:?}: {fx:?}");
        assert_eq!(
            fx.reason, "#5: no code-owner approval (owner) for .github/CODEOWNERS, src/a.rs",
            "{rewrite:?}"
        );
    }
    // No CODEOWNERS on the target branch while the policy asks for code owners: no-go.
    let (f, base, head) = pr_repo(None, Some(Some("* @bob\n")));
    let forge = Scripted {
        reviews: vec![review("bob", Approved, "2026-01-01T10:00:00Z", &head)],
        pr_shas: Some((head.clone(), base.clone())),
        ..Scripted::default()
    };
    let fx =
        crate::forge::approvals::evaluate(&spec, &gated(&forge, f.root(), &head)).expect("eval");
    assert_eq!(fx.status, Status::Fail, "{fx:?}");
    assert!(
        fx.reason.contains("has no CODEOWNERS file"),
        "{}",
        fx.reason
    );
    // The owner's approval passes.
    let (f, base, head) = pr_repo(Some("* @owner\n"), None);
    let forge = Scripted {
        reviews: vec![review("owner", Approved, "2026-01-01T10:00:00Z", &head)],
        pr_shas: Some((head.clone(), base)),
        ..Scripted::default()
    };
    let fx =
        crate::forge::approvals::evaluate(&spec, &gated(&forge, f.root(), &head)).expect("eval");
    assert_eq!(fx.status, Status::Pass, "{fx:?}");
}

#[test]
fn approvals_cover_only_the_reviewed_head() {
    use ReviewState::*;
    let (mut f, base, reviewed) = pr_repo(None, None);
    let forge = Scripted {
        reviews: vec![review("bob", Approved, "2026-01-01T10:00:00Z", &reviewed)],
        pr_shas: Some((reviewed.clone(), base.clone())),
        ..Scripted::default()
    };
    let spec = ApprovalsGate::default();
    // The approved head plus one unreviewed commit: no-go.
    f.write("src/evil.rs", "fn evil() {}\n");
    let unreviewed = f.commit("chore: nothing to see");
    let fx = crate::forge::approvals::evaluate(&spec, &gated(&forge, f.root(), &unreviewed))
        .expect("eval");
    assert_eq!(fx.status, Status::Fail, "{fx:?}");
    assert!(
        fx.reason.contains("is not #5's reviewed head"),
        "{}",
        fx.reason
    );
    // A merge commit whose content is exactly the reviewed head's: go.
    f.git(&["checkout", "-q", "-b", "target", &base]);
    f.git(&["merge", "-q", "--no-ff", "-m", "Merge #5", &reviewed]);
    let merge = f.git(&["rev-parse", "HEAD"]);
    let fx =
        crate::forge::approvals::evaluate(&spec, &gated(&forge, f.root(), &merge)).expect("eval");
    assert_eq!(fx.status, Status::Pass, "{fx:?}");
    // A head this clone does not have: cannot tell, no-go.
    let fx = crate::forge::approvals::evaluate(&spec, &gated(&forge, f.root(), &"3".repeat(40)))
        .expect("eval");
    assert_eq!(fx.status, Status::Fail, "{fx:?}");
    assert!(fx.reason.contains("cannot tell"), "{}", fx.reason);
}
