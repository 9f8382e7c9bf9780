use relman_core::audit::{AuditRecord, now_rfc3339};

use super::*;
use crate::testing::jobs;

fn claim(actor: &str, target: u64) -> Claim {
    Claim {
        key: key("production", target, "0123456789ab"),
        environment: "production".into(),
        from: None,
        to: DeploymentRef {
            id: target,
            sha: "a".repeat(40),
            git_ref: "v1".into(),
            state: "success".into(),
            created_at: String::new(),
        },
        incident: Some("INC-1".into()),
        reason: "incident INC-1".into(),
        digest: "0123456789ab".into(),
        actor: actor.into(),
        claimed_at: now_rfc3339(),
        run: None,
        drill: false,
        dispatched: None,
        ended: None,
    }
}

#[test]
fn a_key_is_claimed_once_across_clones_and_an_outcome_is_never_overwritten() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 2);
    let (a, b) = (&jobs[0].1, &jobs[1].1);
    let start = AuditRecord::now("x", "rollback.start");
    assert_eq!(claim_in(a, "job-a"), Claimed::New);
    match claim_in(b, "job-b") {
        Claimed::Existing(first) => assert_eq!(first.actor, "job-a"),
        other => panic!("{other:?}"),
    }
    // The incident's claims are found from any clone, whatever the target.
    assert_eq!(
        earliest(b, "production", "0123456789ab")
            .expect("read")
            .map(|c| c.actor),
        Some("job-a".into())
    );
    assert_eq!(earliest(b, "staging", "0123456789ab").expect("read"), None);

    let mut done = claim("job-a", 4);
    done.ended = Some(Ended {
        state: "succeeded".into(),
        url: None,
        detail: String::new(),
        at: now_rfc3339(),
    });
    update(a, &done, &start).expect("recorded");
    let mut late = done.clone();
    late.ended = Some(Ended {
        state: "failed".into(),
        ..done.ended.clone().expect("ended")
    });
    let kept = update(b, &late, &start).expect("kept");
    assert_eq!(kept.ended.map(|e| e.state), Some("succeeded".into()));

    fn claim_in(store: &StateStore, actor: &str) -> Claimed {
        let start = AuditRecord::now(actor, "rollback.start");
        super::claim(store, &claim(actor, 4), &start).expect("claim")
    }
}
