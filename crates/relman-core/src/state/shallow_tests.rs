//! The state branch in shallow CI checkouts: reads and appends fetch the tip alone, `audit
//! verify` deepens, and the clone's own branches are never made shallow or left unable to
//! unshallow.

use super::tests::{git, grow_main, origin_and_clones, shallow_clone};
use super::*;
use crate::audit::{AuditFilter, AuditRecord};
use crate::config::StateSettings;

fn none(_: &str) -> Option<String> {
    None
}

fn open(dir: &std::path::Path) -> StateStore {
    StateStore::open(dir, &StateSettings::default(), &none).expect("open")
}

fn append(store: &StateStore, actor: &str) {
    store
        .append_audit(&AuditRecord::now(actor, "gate.evaluate"))
        .expect("append");
}

fn count(store: &StateStore) -> usize {
    store.audit_log(&AuditFilter::default()).expect("log").len()
}

#[test]
fn a_shallow_checkout_fetches_the_tip_alone_and_its_own_branch_stays_whole() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    grow_main(&origin, "second");
    let full = open(&jobs[0]);
    for i in 0..5 {
        append(&full, &format!("r{i}"));
    }
    let job = shallow_clone(&origin, &base.path().join("ci"));
    let store = open(&job);
    assert_eq!(count(&store), 5);
    // One commit of the branch came, not its history.
    let tracking = "refs/relman-remotes/origin/relman/state";
    assert_eq!(git(&job, &["rev-list", "--count", tracking]), "1");
    // A commit on the shallow tip pushes: the origin has its parent, and stays whole.
    append(&store, "ci");
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "6");
    assert_eq!(
        git(
            &origin,
            &["rev-list", "--merges", "--count", "relman/state"]
        ),
        "0"
    );
    git(&origin, &["fsck", "--no-progress", "--connectivity-only"]);
    assert_eq!(count(&open(&jobs[0])), 6);
    // The clone's own branch: untouched and readable; git can still unshallow it.
    assert_eq!(git(&job, &["branch", "--format=%(refname:short)"]), "main");
    assert_eq!(git(&job, &["status", "--porcelain"]), "");
    assert_eq!(git(&job, &["rev-list", "--count", "main"]), "1");
    git(&job, &["log", "--oneline", "main"]);
    git(&job, &["fetch", "-q", "--unshallow", "origin"]);
    assert_eq!(git(&job, &["rev-list", "--count", "main"]), "2");
    assert_eq!(
        git(&job, &["rev-parse", "--is-shallow-repository"]),
        "false"
    );
    git(&job, &["fsck", "--no-progress", "--connectivity-only"]);
    // A complete clone is never made shallow by relman's fetches and writes.
    assert_eq!(
        git(&jobs[0], &["rev-parse", "--is-shallow-repository"]),
        "false"
    );
    assert!(!jobs[0].join(".git/shallow").exists());
}

#[test]
fn verify_in_a_shallow_checkout_deepens_and_walks_every_commit() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    grow_main(&origin, "second");
    let full = open(&jobs[0]);
    for i in 0..4 {
        append(&full, &format!("r{i}"));
    }
    let job = shallow_clone(&origin, &base.path().join("ci"));
    let store = open(&job);
    assert_eq!(count(&store), 4);
    let report = store.verify(None).expect("verify");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.commits, 4);
    let tracking = "refs/relman-remotes/origin/relman/state";
    assert_eq!(git(&job, &["rev-list", "--count", tracking]), "4");
    // The clone's branch is whole afterwards (git deepens every shallow root at once).
    git(&job, &["log", "--oneline", "main"]);
    assert_eq!(git(&job, &["status", "--porcelain"]), "");
    // And a write after the verify still goes through.
    append(&store, "after");
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "5");
}

#[test]
fn a_held_shallow_lock_falls_back_to_a_plain_fetch_and_is_left_alone() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    grow_main(&origin, "second");
    let full = open(&jobs[0]);
    append(&full, "a");
    append(&full, "b");
    let job = shallow_clone(&origin, &base.path().join("ci"));
    // A git fetch of the user's (or a killed one) holds .git/shallow.
    let lock = job.join(".git/shallow.lock");
    std::fs::write(&lock, "").expect("lock");
    let store = open(&job);
    assert_eq!(count(&store), 2);
    append(&store, "c");
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "3");
    assert!(lock.exists(), "git's lock is not relman's to remove");
}
