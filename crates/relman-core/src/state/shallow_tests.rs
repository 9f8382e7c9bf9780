//! The state branch in CI checkouts, shallow or complete: reads and appends fetch the tip
//! alone into relman's own repository, `audit verify` deepens that repository only, and the
//! clone's own branches and shallow mark are never touched.

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

/// relman's own repository inside the clone at `job`.
fn own(job: &std::path::Path) -> std::path::PathBuf {
    job.join(".git/relman/state.git")
}

const TRACKING: &str = "refs/relman-remotes/origin/relman/state";

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
    // One commit of the branch came, not its history, and into relman's repository: the
    // clone's shallow mark still names its own commit alone.
    assert_eq!(git(&own(&job), &["rev-list", "--count", TRACKING]), "1");
    let marked = std::fs::read_to_string(job.join(".git/shallow")).expect("shallow");
    assert_eq!(marked.lines().count(), 1, "{marked}");
    assert_eq!(marked.trim(), git(&job, &["rev-parse", "main"]));
    assert!(
        git(&job, &["for-each-ref", "--format=%(refname)"])
            .lines()
            .all(|r| !r.contains("relman")),
        "relman's refs stay out of the clone"
    );
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
    assert_eq!(git(&own(&job), &["rev-list", "--count", TRACKING]), "4");
    // Only relman's repository was deepened: the clone stays as it was checked out.
    assert_eq!(git(&job, &["rev-parse", "--is-shallow-repository"]), "true");
    assert_eq!(git(&job, &["rev-list", "--count", "main"]), "1");
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
    // A git fetch (the user's, or a killed relman's) holds the shallow lock of relman's
    // repository.
    open(&job);
    let lock = own(&job).join("shallow.lock");
    std::fs::write(&lock, "").expect("lock");
    let store = open(&job);
    assert_eq!(count(&store), 2);
    append(&store, "c");
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "3");
    assert!(lock.exists(), "git's lock is not relman's to remove");
}

#[test]
fn a_complete_clone_fetches_the_tip_alone_and_is_never_made_shallow() {
    // A gate job checks out everything (`fetch-depth: 0`): the state's history must not come
    // with it, nor may the clone be marked shallow to avoid it.
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 2);
    grow_main(&origin, "second");
    let first = open(&jobs[0]);
    for i in 0..6 {
        append(&first, &format!("r{i}"));
    }
    git(&jobs[1], &["fetch", "-q", "origin"]);
    let store = open(&jobs[1]);
    assert_eq!(count(&store), 6);
    assert_eq!(git(&own(&jobs[1]), &["rev-list", "--count", TRACKING]), "1");
    append(&store, "second job");
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "7");
    assert_eq!(
        git(&jobs[1], &["rev-parse", "--is-shallow-repository"]),
        "false"
    );
    assert!(!jobs[1].join(".git/shallow").exists());
    assert_eq!(git(&jobs[1], &["rev-list", "--count", "origin/main"]), "2");
    git(&jobs[1], &["fsck", "--no-progress", "--connectivity-only"]);
    // verify deepens relman's repository and walks every commit.
    let report = store.verify(None).expect("verify");
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.commits, 7);
    assert!(!jobs[1].join(".git/shallow").exists());
}

#[test]
fn the_remote_is_reached_with_the_clone_s_own_settings() {
    // The clone reaches its origin only through a `url.*.insteadOf` rule of its own config:
    // relman's repository must carry it (and the remote's URL) to fetch and push.
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    let job = &jobs[0];
    let prefix = format!("file://{}/", base.path().display());
    git(
        job,
        &["config", &format!("url.{prefix}.insteadOf"), "relman-test:"],
    );
    git(
        job,
        &["config", "remote.origin.url", "relman-test:origin.git"],
    );
    git(job, &["fetch", "-q", "origin"]);
    let store = open(job);
    append(&store, "through the rule");
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "1");
    assert_eq!(count(&open(job)), 1);
    // Nothing of it was written into relman's repository's config.
    let config = std::fs::read_to_string(own(job).join("config")).expect("config");
    assert!(!config.contains("relman-test"), "{config}");
}
