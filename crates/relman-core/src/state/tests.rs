//! The state branch against real repositories: bare `file://` origins stand in for the
//! forge's remote, and each clone is one CI job.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::audit::{AuditFilter, AuditRecord, Subject};
use crate::config::StateSettings;

pub(crate) use super::testing::{
    git, grow_main, origin_and_clones, refuse_pushes, repo, shallow_clone,
};

fn none(_: &str) -> Option<String> {
    None
}

fn open(dir: &Path) -> StateStore {
    StateStore::open(dir, &StateSettings::default(), &none).expect("open")
}

fn record(actor: &str, action: &str, env: &str) -> AuditRecord {
    AuditRecord {
        reason: format!("{actor} did {action}"),
        subject: Subject {
            environment: Some(env.into()),
            ..Subject::default()
        },
        ..AuditRecord::now(actor, action)
    }
}

#[test]
fn local_branch_is_the_store_and_the_working_tree_is_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    repo(dir.path());
    let before = git(dir.path(), &["status", "--porcelain", "--ignored"]);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    let store = open(dir.path());
    assert_eq!(store.remote(), None);
    store
        .append_audit(&record("a", "gate.evaluate", "prod"))
        .expect("append");
    store
        .append_audit(&record("b", "rollback.drill", "prod"))
        .expect("append");
    let all = store.audit_log(&AuditFilter::default()).expect("log");
    assert_eq!(all.len(), 2);
    let drills = store
        .audit_log(&AuditFilter {
            action: Some("rollback".into()),
            ..AuditFilter::default()
        })
        .expect("log");
    assert_eq!(drills.len(), 1);
    assert_eq!(drills[0].actor, "b");
    // Nothing in the working tree, the index or the checked-out branch changed.
    assert_eq!(
        git(dir.path(), &["status", "--porcelain", "--ignored"]),
        before
    );
    assert_eq!(git(dir.path(), &["rev-parse", "HEAD"]), head);
    assert!(!dir.path().join(".relman").exists());
    // A person reads it with git: one commit per record, [skip ci], readable JSON files.
    let log = git(dir.path(), &["log", "--format=%s", "relman/state"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.lines().all(|l| l.ends_with("[skip ci]")), "{log}");
    let files = git(
        dir.path(),
        &["ls-tree", "-r", "--name-only", "relman/state"],
    );
    assert!(files.lines().all(|f| f.starts_with("audit/20")), "{files}");
    let first = files.lines().next().expect("a file");
    let text = git(dir.path(), &["show", &format!("relman/state:{first}")]);
    assert!(text.contains("\n  \"actor\": "), "{text}");
}

#[test]
fn a_record_written_by_one_job_is_read_by_another() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 3);
    let a = open(&jobs[0]);
    assert_eq!(a.remote(), Some("origin"));
    a.append_audit(&record("job-a", "gate.evaluate", "staging"))
        .expect("append");
    let b = open(&jobs[1]);
    let seen = b.audit_log(&AuditFilter::default()).expect("log");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].actor, "job-a");
    b.append_audit(&record("job-b", "gate.evaluate", "staging"))
        .expect("append");
    // A third job sees both; the origin holds a linear chain of two commits.
    let c = open(&jobs[2]);
    let actors: Vec<_> = c
        .audit_log(&AuditFilter::default())
        .expect("log")
        .into_iter()
        .map(|r| r.actor)
        .collect();
    assert_eq!(actors.len(), 2);
    assert!(actors.contains(&"job-a".to_string()) && actors.contains(&"job-b".to_string()));
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "2");
    assert!(c.verify(None).expect("verify").ok());
    // The clones' own branches and working trees are untouched.
    for job in &jobs {
        assert_eq!(git(job, &["status", "--porcelain"]), "");
        assert_eq!(git(job, &["branch", "--format=%(refname:short)"]), "main");
    }
}

#[test]
fn twenty_writers_in_four_clones_lose_nothing() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, mut jobs) = origin_and_clones(base.path(), 4);
    // Two of the jobs are shallow CI checkouts: their first fetch asks for the tip alone, and
    // five writers in one clone race for .git/shallow.
    grow_main(&origin, "second");
    for (i, job) in jobs.iter_mut().enumerate().skip(2) {
        *job = shallow_clone(&origin, &base.path().join(format!("shallow{i}")));
    }
    std::thread::scope(|s| {
        for (i, job) in jobs.iter().enumerate() {
            for w in 0..5 {
                s.spawn(move || {
                    // One store per writer: separate CI jobs share nothing but the clone.
                    let store = open(job);
                    store
                        .append_audit(&record(&format!("w{i}-{w}"), "gate.evaluate", "prod"))
                        .expect("append");
                });
            }
        }
    });
    let reader = open(&jobs[0]);
    let mut actors: Vec<String> = reader
        .audit_log(&AuditFilter::default())
        .expect("log")
        .into_iter()
        .map(|r| r.actor)
        .collect();
    actors.sort();
    let mut want: Vec<String> = (0..4)
        .flat_map(|i| (0..5).map(move |w| format!("w{i}-{w}")))
        .collect();
    want.sort();
    assert_eq!(actors, want);
    assert_eq!(git(&origin, &["rev-list", "--count", "relman/state"]), "20");
    assert_eq!(
        git(
            &origin,
            &["rev-list", "--merges", "--count", "relman/state"]
        ),
        "0"
    );
    assert!(reader.verify(None).expect("verify").ok());
    for job in &jobs[2..] {
        assert_eq!(git(job, &["rev-list", "--count", "main"]), "1");
        assert_eq!(git(job, &["status", "--porcelain"]), "");
    }
}

#[test]
fn readers_in_one_clone_never_build_on_a_tip_whose_objects_are_still_landing() {
    // One job appends while five others fetch into one shared clone at once. git writes the
    // few objects of a small fetch as loose files, commit first; with `core.fsync` each write
    // waits for the disk, so a fetch spends a while with a commit here and its trees not yet.
    // A reader must only ever use a tip whose objects its own fetch saw complete: relman used
    // to learn the tip from `ls-remote` when another fetch held the tracking ref, and read
    // such a half-landed commit ("object … could not be found").
    let base = tempfile::tempdir().expect("tempdir");
    let (_origin, jobs) = origin_and_clones(base.path(), 2);
    git(&jobs[1], &["config", "core.fsync", "loose-object"]);
    git(&jobs[1], &["config", "core.fsyncMethod", "fsync"]);
    let appends = 60;
    let done = std::sync::atomic::AtomicBool::new(false);
    let reads = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let store = open(&jobs[0]);
            for i in 0..appends {
                store
                    .append_audit(&record(&format!("w{i}"), "gate.evaluate", "prod"))
                    .expect("append");
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let readers: Vec<_> = (0..5)
            .map(|_| {
                s.spawn(|| {
                    let mut last = 0;
                    while !done.load(std::sync::atomic::Ordering::SeqCst) {
                        // A new store each time: a new job, which fetches before reading.
                        let seen = open(&jobs[1])
                            .audit_log(&AuditFilter::default())
                            .expect("a fetched tip is readable")
                            .len();
                        assert!(seen >= last && seen <= appends, "{last} then {seen}");
                        last = seen;
                        reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            })
            .collect();
        writer.join().expect("writer");
        for r in readers {
            r.join().expect("reader");
        }
    });
    assert!(reads.into_inner() >= 5, "the readers ran");
    let all = open(&jobs[1])
        .audit_log(&AuditFilter::default())
        .expect("log");
    assert_eq!(all.len(), appends);
}

#[test]
fn eight_racers_for_one_lock_exactly_one_holds_it_and_an_expired_lock_is_taken_over() {
    let base = tempfile::tempdir().expect("tempdir");
    let (_origin, jobs) = origin_and_clones(base.path(), 4);
    let now = jiff::Timestamp::now();
    let ttl = jiff::SignedDuration::from_mins(10);
    let outcomes: Vec<LockOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let job = &jobs[i % 4];
                s.spawn(move || {
                    open(job)
                        .lock("production", &format!("racer-{i}"), ttl, now)
                        .expect("lock")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    let winners: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            LockOutcome::Acquired(l) => Some(l.holder.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    for o in &outcomes {
        if let LockOutcome::Held(l) = o {
            assert_eq!(l.holder, winners[0]);
        }
    }
    // Later than the expiry, someone else takes it over, and that is audited.
    let later = now + jiff::SignedDuration::from_mins(11);
    let store = open(&jobs[1]);
    match store
        .lock("production", "latecomer", ttl, later)
        .expect("lock")
    {
        LockOutcome::TakenOver { lock, previous } => {
            assert_eq!(lock.holder, "latecomer");
            assert_eq!(previous.holder, winners[0]);
        }
        other => panic!("expected a takeover, got {other:?}"),
    }
    let audits = open(&jobs[2])
        .audit_log(&AuditFilter {
            action: Some("lock.takeover".into()),
            ..AuditFilter::default()
        })
        .expect("log");
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].actor, "latecomer");
    assert_eq!(audits[0].details["previous"]["holder"], winners[0].as_str());
    // Its holder releases it; then it is free.
    assert!(store.unlock("production", "latecomer").expect("unlock"));
    assert_eq!(
        open(&jobs[3]).current_lock("production").expect("read"),
        None
    );
}

#[test]
fn a_durable_record_that_cannot_be_pushed_fails_naming_the_permission() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    refuse_pushes(&origin);
    let github = |k: &str| (k == "GITHUB_ACTIONS").then(|| "true".to_string());
    let store = StateStore::open(&jobs[0], &StateSettings::default(), &github).expect("open");
    let err = store
        .append_audit(&record("ops", "rollback.drill", "prod"))
        .expect_err("refused");
    assert_eq!(err.exit_code(), crate::ExitCode::External);
    assert!(
        matches!(
            err,
            Error::State {
                kind: crate::StateErrorKind::NotPushed,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.starts_with("state: could not record"), "{text}");
    assert!(text.contains("contents: write"), "{text}");
    assert!(text.contains("denied: no write access"), "{text}");
    let gitlab = |k: &str| (k == "GITLAB_CI").then(|| "true".to_string());
    let store = StateStore::open(&jobs[0], &StateSettings::default(), &gitlab).expect("open");
    let text = store
        .append_audit(&record("ops", "gate.override", "prod"))
        .expect_err("refused")
        .to_string();
    assert!(text.contains("write_repository"), "{text}");
    // A gate verdict need not be durable: it is reported as not recorded.
    let err = store
        .append_audit(&record("ci", "gate.evaluate", "prod"))
        .expect_err("not recorded");
    match &err {
        Error::NotRecorded { why, .. } => {
            assert!(why.contains("denied: no write access"), "{why}");
            assert!(why.contains("write_repository"), "{why}");
        }
        other => panic!("expected not recorded, got {other}"),
    }
    // Nothing was kept locally either: the store is what the remote holds.
    assert!(
        store
            .audit_log(&AuditFilter::default())
            .expect("log")
            .is_empty()
    );
}

#[test]
fn verify_finds_a_removed_record_and_a_rewritten_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    repo(dir.path());
    let store = open(dir.path());
    store
        .append_audit(&record("a", "gate.evaluate", "prod"))
        .expect("append");
    let first = store.tip().expect("tip").expect("some");
    store
        .append_audit(&record("b", "gate.evaluate", "prod"))
        .expect("append");
    assert!(store.verify(Some(first)).expect("verify").ok());
    // Someone removes the first record and force-moves the branch.
    let files = git(
        dir.path(),
        &["ls-tree", "-r", "--name-only", &first.to_string()],
    );
    let victim = files.lines().next().expect("file").to_string();
    let wt = dir.path().join("wt");
    git(
        dir.path(),
        &[
            "worktree",
            "add",
            "-q",
            wt.to_str().unwrap(),
            "relman/state",
        ],
    );
    git(&wt, &["rm", "-q", &victim]);
    git(&wt, &["commit", "-q", "-m", "tamper"]);
    // The default ref is no branch: the worktree's commit is detached until the ref is moved.
    let tampered = git(&wt, &["rev-parse", "HEAD"]);
    git(dir.path(), &["update-ref", store.refname(), &tampered]);
    let report = store.verify(Some(first)).expect("verify");
    assert!(!report.ok(), "{report:?}");
    assert!(
        report.problems.iter().any(|p| p.contains("removed audit/")),
        "{report:?}"
    );
    let report = store.verify(None).expect("verify");
    assert!(
        report.problems.iter().any(|p| p.contains("removed audit/")),
        "{report:?}"
    );
    // A history that no longer contains the given tip was rewritten.
    git(&wt, &["reset", "-q", "--hard", &first.to_string()]);
    git(&wt, &["commit", "-q", "--amend", "-m", "rewritten"]);
    let rewritten = git(&wt, &["rev-parse", "HEAD"]);
    git(dir.path(), &["update-ref", store.refname(), &rewritten]);
    let report = store.verify(Some(first)).expect("verify");
    assert!(
        report.problems.iter().any(|p| p.contains("rewritten")),
        "{report:?}"
    );
}

#[test]
fn the_remote_and_branch_are_configurable() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    let local_only = StateSettings {
        remote: Some(String::new()),
        branch: "relman/state".into(),
        ..StateSettings::default()
    };
    let store = StateStore::open(&jobs[0], &local_only, &none).expect("open");
    assert_eq!(store.remote(), None);
    assert_eq!(store.refname(), "refs/heads/relman/state", "a branch name");
    store
        .append_audit(&record("a", "x.y", "e"))
        .expect("append");
    assert_eq!(
        git(
            &jobs[0],
            &["rev-list", "--count", "refs/heads/relman/state"]
        ),
        "1"
    );
    assert!(
        git(&origin, &["for-each-ref"])
            .lines()
            .all(|l| !l.contains("relman"))
    );
    let missing = StateSettings {
        remote: Some("upstream".into()),
        ..StateSettings::default()
    };
    let err = StateStore::open(&jobs[0], &missing, &none).expect_err("no such remote");
    assert!(err.to_string().contains("no remote `upstream`"), "{err}");
    let bad = StateSettings {
        branch: "bad..name".into(),
        ..StateSettings::default()
    };
    assert!(StateStore::open(&jobs[0], &bad, &none).is_err());
}

/// Run by [`killed_writers_leave_the_old_or_the_new_tip`] in a child process: appends
/// records until it is killed.
#[test]
#[ignore = "child process of killed_writers_leave_the_old_or_the_new_tip"]
fn child_writer() {
    let Some(dir) = std::env::var_os("RELMAN_STATE_CHILD_DIR") else {
        return;
    };
    let store = open(Path::new(&dir));
    for i in 0.. {
        store
            .append_audit(&record(&format!("child-{i}"), "gate.evaluate", "prod"))
            .expect("append");
    }
}

fn kill_child_writer_after(dir: &Path, millis: u64) {
    let exe = std::env::current_exe().expect("exe");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "state::tests::child_writer",
        "--ignored",
        "--nocapture",
    ])
    .env("RELMAN_STATE_CHILD_DIR", dir)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    // Its own process group: `kill -9` reaches the git push it runs too, as when a runner
    // kills a job.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(millis));
    let group = format!("-{}", child.id());
    let killed = Command::new("kill").args(["-9", "--", &group]).status();
    if !killed.is_ok_and(|s| s.success()) {
        child.kill().expect("kill -9");
    }
    child.wait().expect("wait");
}

#[test]
fn killed_writers_leave_the_old_or_the_new_tip() {
    // Mid-write (local branch) and mid-push (remote), killed at several points: the branch is
    // a readable tip every time, verify passes, and the next write goes through.
    let base = tempfile::tempdir().expect("tempdir");
    let local = base.path().join("local");
    std::fs::create_dir(&local).expect("mkdir");
    repo(&local);
    let (origin, jobs) = origin_and_clones(base.path(), 2);
    grow_main(&origin, "second");
    let shallow = shallow_clone(&origin, &base.path().join("shallow"));
    // The origin holds its ref lock for 100 ms per push, so kills land inside the server's
    // ref update too. A `file://` server is a child of the killed job's git; a forge's server
    // is not, and finishes (or drops) the update on its own. Without `setsid` the kill also
    // killed the server inside its update, leaving `refs/relman/state.lock` on the
    // origin for ever: every later push was refused and the write gave up after 32 attempts
    // (the flake seen under load, when the 180/330 ms kills hit that window).
    slow_ref_updates(&origin);
    for dir in [&jobs[0], &shallow] {
        git(
            dir,
            &[
                "config",
                "remote.origin.receivepack",
                "setsid git-receive-pack",
            ],
        );
    }
    for (round, millis) in [180u64, 330].into_iter().enumerate() {
        for (d, dir) in [&local, &jobs[0], &shallow].into_iter().enumerate() {
            kill_child_writer_after(dir, millis);
            let store = open(dir);
            let before = store
                .audit_log(&AuditFilter::default())
                .expect("readable")
                .len();
            assert!(store.verify(None).expect("verify").ok());
            store
                .append_audit(&record(
                    &format!("after-{round}-{d}"),
                    "gate.evaluate",
                    "prod",
                ))
                .expect("converges");
            // The killed job's server may still land its push meanwhile (as a forge would):
            // the new record is there, and nothing that was there is lost.
            let after = store.audit_log(&AuditFilter::default()).expect("log");
            assert!(after.len() > before, "{before} then {}", after.len());
            let mine = format!("after-{round}-{d}");
            assert_eq!(after.iter().filter(|r| r.actor == mine).count(), 1);
        }
    }
    // The origin's branch is intact and every pushed record is readable by another job.
    git(&origin, &["fsck", "--no-progress", "--connectivity-only"]);
    let other = open(&jobs[1]);
    assert!(other.verify(None).expect("verify").ok());
    assert!(other.audit_log(&AuditFilter::default()).expect("log").len() >= 3);
}

/// Makes `origin` hold its ref locks for 100 ms during each ref update (git's
/// `reference-transaction` hook runs while they are held).
fn slow_ref_updates(origin: &Path) {
    let hook = origin.join("hooks/reference-transaction");
    std::fs::write(
        &hook,
        "#!/bin/sh\n[ \"$1\" = prepared ] && sleep 0.1\nexit 0\n",
    )
    .expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let found = Command::new("sh")
        .args(["-c", "command -v setsid"])
        .output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "setsid (util-linux) is needed by this test"
    );
}

/// git's lock on the branch, made to look `age` old (written by a writer that began then).
fn old_ref_lock(store: &StateStore, contents: &str, age: std::time::Duration) -> PathBuf {
    let lock = store.ref_lock_path(store.refname());
    std::fs::write(&lock, contents).expect("lock");
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .and_then(|f| f.set_modified(std::time::SystemTime::now() - age))
        .expect("age the lock");
    lock
}

#[test]
fn a_stalled_writers_record_is_not_lost() {
    // A writer stalls inside its ref update for longer than STALE_LOCK (a stopped or starved
    // process): it holds git's lock on the branch with its new tip written in it. Another
    // writer must neither remove that lock (the stalled one would then rename it over the
    // other's record, or fail) nor lose its own record: it waits, then appends on top.
    let dir = tempfile::tempdir().expect("tempdir");
    repo(dir.path());
    let stalled = open(dir.path());
    stalled
        .append_audit(&record("first", "gate.evaluate", "prod"))
        .expect("append");
    let snapshot = stalled.snapshot().expect("snapshot");
    let mine = record("stalled", "gate.evaluate", "prod");
    let path = audit_path(&mine, jiff::Timestamp::now(), &mut Jitter::new());
    let change = Change::new(RecordKind::Gate, "audit: stalled")
        .json(path, &mine)
        .expect("change");
    let commit = stalled.commit(&snapshot, &change).expect("commit");
    let writer = stalled
        .writer_lock(stalled.refname())
        .expect("flock")
        .expect("free");
    let lock = old_ref_lock(
        &stalled,
        &format!("{commit}\n"),
        STALE_LOCK + std::time::Duration::from_secs(5),
    );
    let other = open(dir.path());
    std::thread::scope(|s| {
        let racer = s.spawn(|| other.append_audit(&record("other", "gate.evaluate", "prod")));
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(
            lock.exists(),
            "a lock held by a live writer was removed as stale"
        );
        // The stalled writer resumes: git renames its lock over the ref, then lets go.
        let branch = stalled.common_dir.join(stalled.refname());
        std::fs::rename(&lock, &branch).expect("the stalled writer's rename");
        drop(writer);
        racer
            .join()
            .expect("join")
            .expect("the other write goes through once the stalled one is done");
    });
    let mut actors: Vec<String> = open(dir.path())
        .audit_log(&AuditFilter::default())
        .expect("log")
        .into_iter()
        .map(|r| r.actor)
        .collect();
    actors.sort();
    assert_eq!(actors, ["first", "other", "stalled"]);
    assert!(other.verify(None).expect("verify").ok());
}

#[test]
fn a_lock_left_by_a_dead_writer_is_taken_back() {
    // No live writer holds the advisory lock (the kernel dropped it with the process): git's
    // lock on the branch is a killed writer's, removed once stale, and the write goes on.
    let dir = tempfile::tempdir().expect("tempdir");
    repo(dir.path());
    let store = open(dir.path());
    store
        .append_audit(&record("first", "gate.evaluate", "prod"))
        .expect("append");
    let tip = store.tip().expect("tip").expect("some");
    let lock = old_ref_lock(
        &store,
        &format!("{tip}\n"),
        STALE_LOCK + std::time::Duration::from_secs(1),
    );
    store
        .append_audit(&record("second", "gate.evaluate", "prod"))
        .expect("append after a dead writer");
    assert!(!lock.exists());
    assert_eq!(
        store.audit_log(&AuditFilter::default()).expect("log").len(),
        2
    );
}

/// The identity tests write to a branch: its ref updates write a reflog, which needs a
/// committer (the default ref, outside `refs/heads/`, keeps none).
fn identity_branch() -> StateSettings {
    StateSettings {
        branch: "relman/state".into(),
        ..StateSettings::default()
    }
}

/// Run by [`a_runner_without_a_git_identity_writes_the_state`] in a child process whose
/// environment has no git identity.
#[test]
#[ignore = "child process of a_runner_without_a_git_identity_writes_the_state"]
fn child_without_identity() {
    let Some(dir) = std::env::var_os("RELMAN_STATE_NO_IDENTITY_DIR") else {
        return;
    };
    let store = StateStore::open(Path::new(&dir), &identity_branch(), &none).expect("open");
    for i in 0..3 {
        store
            .append_audit(&record(&format!("ci-{i}"), "gate.evaluate", "prod"))
            .expect("append without a git identity");
    }
}

#[test]
fn a_runner_without_a_git_identity_writes_the_state() {
    // A fresh runner: no ~/.gitconfig, no system config, no user.* in the repository. The
    // first write creates the branch; the next ones move it, which writes a reflog entry
    // (gix refused it without a committer: "Could not update reflog", exit 3).
    let base = tempfile::tempdir().expect("tempdir");
    let local = base.path().join("local");
    std::fs::create_dir(&local).expect("mkdir");
    repo(&local);
    let (_origin, jobs) = origin_and_clones(base.path(), 1);
    let home = base.path().join("home");
    std::fs::create_dir(&home).expect("mkdir");
    for dir in [&local, &jobs[0]] {
        let _ = Command::new("git")
            .args(["-C", dir.to_str().expect("utf-8")])
            .args(["config", "--remove-section", "user"])
            .status();
        let exe = std::env::current_exe().expect("exe");
        let mut cmd = Command::new(exe);
        cmd.args([
            "--exact",
            "state::tests::child_without_identity",
            "--ignored",
            "--nocapture",
        ])
        .env("RELMAN_STATE_NO_IDENTITY_DIR", dir)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1");
        for var in [
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_SYSTEM",
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
            "EMAIL",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.output().expect("child runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(
            StateStore::open(dir, &identity_branch(), &none)
                .expect("open")
                .audit_log(&AuditFilter::default())
                .expect("log")
                .len(),
            3
        );
    }
    // The local branch's reflog names relman, not an identity made up from the host name.
    let reflog = git(
        &local,
        &[
            "reflog",
            "show",
            "--format=%gn <%ge>",
            "refs/heads/relman/state",
        ],
    );
    assert!(
        reflog.lines().any(|l| l == "relman <relman@localhost>"),
        "{reflog}"
    );
}

fn on_day(actor: &str, env: &str, day: u32) -> AuditRecord {
    AuditRecord {
        when: format!("2026-01-{day:02}T12:00:00Z").parse().expect("time"),
        ..record(actor, "gate.evaluate", env)
    }
}

#[test]
fn a_listing_keeps_its_filter_before_its_limit() {
    // `relman audit --subject X --limit N`: the newest N records about X, not the newest N
    // records of which those about X are then shown.
    let dir = tempfile::tempdir().expect("tempdir");
    repo(dir.path());
    let store = open(dir.path());
    for (i, env) in ["a", "b", "a", "b", "a", "b"].iter().enumerate() {
        store
            .append_audit(&on_day(&format!("r{i}"), env, i as u32 + 1))
            .expect("append");
    }
    let filter = AuditFilter {
        limit: Some(2),
        ..AuditFilter::default()
    };
    let keep = |r: &AuditRecord| r.subject.environment.as_deref() == Some("a");
    let mut seen = Vec::new();
    store
        .each_audit(&filter, &keep, &mut |r| {
            seen.push(r.actor);
            Ok(())
        })
        .expect("list");
    assert_eq!(seen, ["r2", "r4"]);
}

#[test]
fn a_listing_hands_over_each_day_before_reading_the_next() {
    // Memory bounded by one day's records: what was read is handed over before later days
    // are read, so a damaged record on a later day stops the listing after the earlier days
    // were given out (a walk that collected everything first would give out nothing).
    let dir = tempfile::tempdir().expect("tempdir");
    repo(dir.path());
    let store = open(dir.path());
    for day in 1..=3 {
        store
            .append_audit(&on_day(&format!("d{day}"), "prod", day))
            .expect("append");
    }
    store
        .transact(|_| {
            let mut change = Change::new(RecordKind::Gate, "audit: damaged");
            change.files.push((
                "audit/2026/01/09/120000.0-x-0.json".into(),
                b"{ not json".to_vec(),
            ));
            Ok(Step::Write(change, ()))
        })
        .expect("write");
    let mut seen = Vec::new();
    let err = store
        .each_audit(&AuditFilter::default(), &|_| true, &mut |r| {
            seen.push(r.actor);
            Ok(())
        })
        .expect_err("the damaged record stops the listing");
    assert!(err.to_string().contains("2026/01/09"), "{err}");
    assert_eq!(seen, ["d1", "d2", "d3"]);
}

#[test]
fn a_state_ref_outside_refs_heads_is_shared_but_never_cloned() {
    // The default, `refs/relman/state`: jobs share it through the remote like a branch, and
    // neither `git clone` nor a fetch of every branch (`fetch-depth: 0`) brings it.
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 2);
    let settings = StateSettings::default();
    assert_eq!(settings.branch, "refs/relman/state");
    let a = StateStore::open(&jobs[0], &settings, &none).expect("open");
    a.append_audit(&record("job-a", "gate.evaluate", "prod"))
        .expect("append");
    let b = StateStore::open(&jobs[1], &settings, &none).expect("open");
    b.append_audit(&record("job-b", "gate.evaluate", "prod"))
        .expect("append");
    assert_eq!(b.audit_log(&AuditFilter::default()).expect("log").len(), 2);
    assert_eq!(
        git(&origin, &["rev-list", "--count", "refs/relman/state"]),
        "2"
    );
    let fresh = super::testing::clone(&origin, &base.path().join("fresh"));
    git(
        &fresh,
        &[
            "fetch",
            "-q",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*",
        ],
    );
    let refs = git(&fresh, &["for-each-ref", "--format=%(refname)"]);
    assert!(refs.lines().all(|r| !r.contains("relman")), "{refs}");
}

#[test]
fn a_ref_lock_stuck_on_the_server_is_named_when_the_write_gives_up() {
    // Not another writer: a `.lock` a server-side update left (what a `file://` server killed
    // with its client leaves). The write gives up, saying so rather than "other writers".
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    let store = open(&jobs[0]);
    store
        .append_audit(&record("first", "gate.evaluate", "prod"))
        .expect("append");
    std::fs::write(origin.join("refs/relman/state.lock"), "").expect("lock");
    let err = open(&jobs[0])
        .append_audit(&record("second", "gate.evaluate", "prod"))
        .expect_err("the server's ref stays locked");
    assert!(
        matches!(
            err,
            Error::State {
                kind: crate::StateErrorKind::Contention,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("stays locked"), "{text}");
    assert!(!text.contains("other writers"), "{text}");
}

#[test]
fn a_remote_that_cannot_be_fetched_is_a_fetch_error_not_an_empty_store() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, jobs) = origin_and_clones(base.path(), 1);
    std::fs::remove_dir_all(&origin).expect("rm origin");
    let store = open(&jobs[0]);
    let err = store
        .audit_log(&AuditFilter::default())
        .expect_err("an unreachable remote is not \"no records\"");
    assert!(
        matches!(
            err,
            Error::State {
                kind: crate::StateErrorKind::Fetch,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), crate::ExitCode::External);
    assert!(
        err.to_string().starts_with("state: could not fetch"),
        "{err}"
    );
}
