use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};

use super::*;
use relman_core::ExitCode;

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("open");
    (dir, store)
}

fn release(tag: &str, body: &str) -> ReleaseSpec {
    ReleaseSpec {
        tag: tag.into(),
        name: tag.into(),
        body: body.into(),
        draft: false,
        prerelease: false,
        target: Some("abc123".into()),
    }
}

fn deployment(env: &str, sha: &str, key: &str) -> DeploymentSpec {
    DeploymentSpec {
        environment: env.into(),
        sha: sha.into(),
        git_ref: "main".into(),
        creator: "ci-bot".into(),
        idempotency_key: key.into(),
        payload: serde_json::json!({ "image": format!("app@{sha}") }),
    }
}

fn audit(actor: &str, action: &str, when: &str, env: Option<&str>) -> AuditRecord {
    AuditRecord {
        when: when.parse().expect("time"),
        reason: "because".into(),
        subject: Subject {
            environment: env.map(Into::into),
            ..Subject::default()
        },
        ..AuditRecord::now(actor, action)
    }
}

// --- releases ---------------------------------------------------------------------------------

#[test]
fn release_upsert_is_created_then_unchanged_then_updated() {
    let (_dir, store) = store();
    let first = store
        .upsert_release(&release("v1.0.0", "notes"))
        .expect("create");
    assert_eq!(first.outcome, Outcome::Created);
    let again = store
        .upsert_release(&release("v1.0.0", "notes"))
        .expect("again");
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(again.value, first.value);
    let changed = store
        .upsert_release(&release("v1.0.0", "better notes"))
        .expect("update");
    assert_eq!(changed.outcome, Outcome::Updated);
    assert_eq!(changed.value.body, "better notes");
    assert_eq!(changed.value.created_at, first.value.created_at);
    let read = store.release_by_tag("v1.0.0").expect("read").expect("some");
    assert_eq!(read, changed.value);
    assert_eq!(store.release_by_tag("v9.9.9").expect("read"), None);
}

#[test]
fn reads_never_create_the_branch() {
    let (_dir, store) = store();
    assert_eq!(store.release_by_tag("v1.0.0").expect("read"), None);
    assert!(
        store
            .deployments("production", 10)
            .expect("read")
            .is_empty()
    );
    assert!(
        store
            .audit_log(&AuditFilter::default())
            .expect("read")
            .is_empty()
    );
    assert_eq!(store.state().tip().expect("tip"), None);
}

/// Every file on the state branch, sorted.
fn files(store: &LocalStore) -> Vec<String> {
    fn walk(snapshot: &relman_core::state::Snapshot, dir: &str, out: &mut Vec<String>) {
        for e in snapshot.list(dir).expect("list") {
            let path = if dir.is_empty() {
                e.name.clone()
            } else {
                format!("{dir}/{}", e.name)
            };
            if e.is_dir {
                walk(snapshot, &path, out);
            } else {
                out.push(path);
            }
        }
    }
    let snapshot = store.state().snapshot().expect("snapshot");
    let mut out = Vec::new();
    walk(&snapshot, "", &mut out);
    out.sort();
    out
}

#[test]
fn layout_is_one_readable_file_per_object() {
    let (_dir, store) = store();
    store
        .upsert_release(&release("v1.0.0", "notes"))
        .expect("release");
    store
        .upsert_release(&release("api/v2.0.0", "notes"))
        .expect("release");
    store
        .upsert_release(&release(".hidden", "notes"))
        .expect("release");
    store
        .create_deployment(&deployment("review/feat-x", "abc", "k1"))
        .expect("deploy");
    store
        .dispatch(&DispatchSpec {
            workflow: "deploy.yml".into(),
            git_ref: "v1.0.0".into(),
            inputs: BTreeMap::new(),
            requested_by: "ci-bot".into(),
            idempotency_key: "rollback:1".into(),
        })
        .expect("dispatch");
    store
        .append_audit(&audit(
            "ci-bot",
            "changelog.publish",
            "2025-03-04T05:06:07Z",
            None,
        ))
        .expect("audit");
    let all = files(&store);
    assert_eq!(all.len(), 8, "{all:?}");
    assert_eq!(
        all[1..],
        [
            "deployments/review%2Ffeat-x/000001.json",
            "dispatches/000001.json",
            "keys/deployment/k1.json",
            "keys/dispatch/rollback%3A1.json",
            "releases/%2Ehidden.json",
            "releases/api%2Fv2.0.0.json",
            "releases/v1.0.0.json",
        ]
    );
    assert!(
        all[0].starts_with("audit/2025/03/04/050607.") && all[0].contains("-changelog.publish-"),
        "{all:?}"
    );
    let snapshot = store.state().snapshot().expect("snapshot");
    let text = String::from_utf8(
        snapshot
            .read("releases/v1.0.0.json")
            .expect("read")
            .expect("some"),
    )
    .expect("utf-8");
    assert!(text.starts_with("{\n  \"tag\": \"v1.0.0\",\n"), "{text}");
    assert!(text.ends_with("}\n"));
    assert_eq!(
        store
            .release_by_tag("api/v2.0.0")
            .expect("read")
            .expect("some")
            .tag,
        "api/v2.0.0"
    );
}

// --- deployments ------------------------------------------------------------------------------

#[test]
fn deployment_is_idempotent_on_its_key() {
    let (_dir, store) = store();
    let spec = deployment("production", "abc", "promote:production:abc:42");
    let first = store.create_deployment(&spec).expect("create");
    assert_eq!(first.outcome, Outcome::Created);
    assert_eq!(first.value.id, 1);
    assert_eq!(first.value.state, DeploymentState::Pending);
    let retry = store.create_deployment(&spec).expect("retry");
    assert_eq!(retry.outcome, Outcome::Unchanged);
    assert_eq!(retry.value, first.value);
    assert_eq!(store.deployments("production", 10).expect("list").len(), 1);

    let err = store
        .create_deployment(&deployment(
            "production",
            "def",
            "promote:production:abc:42",
        ))
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert_eq!(
        err.to_string(),
        "local: idempotency key `promote:production:abc:42` already names deployment 1 of abc \
         (main) to `production`, not of def (main) to `production`"
    );
}

#[test]
fn deployments_are_newest_first_with_ids_across_environments() {
    let (_dir, store) = store();
    for (i, env) in ["staging", "production", "staging", "staging"]
        .iter()
        .enumerate()
    {
        let d = store
            .create_deployment(&deployment(env, &format!("sha{i}"), &format!("k{i}")))
            .expect("create");
        assert_eq!(d.value.id, i as u64 + 1);
    }
    let ids = |v: Vec<Deployment>| v.iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.deployments("staging", 10).expect("list")),
        [4, 3, 1]
    );
    assert_eq!(ids(store.deployments("staging", 2).expect("list")), [4, 3]);
    assert_eq!(
        ids(store.deployments("staging", 0).expect("list")),
        Vec::<u64>::new()
    );
    assert_eq!(ids(store.deployments("production", 10).expect("list")), [2]);
    assert!(store.deployments("dev", 10).expect("list").is_empty());
}

#[test]
fn status_history_is_kept_and_retries_do_not_double_it() {
    let (_dir, store) = store();
    let id = store
        .create_deployment(&deployment("production", "abc", "k"))
        .expect("create")
        .value
        .id;
    let s = store
        .set_deployment_status(id, DeploymentState::InProgress, "rolling out")
        .expect("status");
    assert_eq!(s.outcome, Outcome::Updated);
    let s = store
        .set_deployment_status(id, DeploymentState::Success, "healthy")
        .expect("status");
    assert_eq!(s.outcome, Outcome::Updated);
    let retry = store
        .set_deployment_status(id, DeploymentState::Success, "healthy")
        .expect("status");
    assert_eq!(retry.outcome, Outcome::Unchanged);
    let d = &store.deployments("production", 1).expect("list")[0];
    assert_eq!(d.state, DeploymentState::Success);
    let history: Vec<_> = d
        .statuses
        .iter()
        .map(|s| (s.state, s.description.as_str()))
        .collect();
    assert_eq!(
        history,
        [
            (DeploymentState::InProgress, "rolling out"),
            (DeploymentState::Success, "healthy")
        ]
    );

    let err = store
        .set_deployment_status(99, DeploymentState::Success, "")
        .unwrap_err();
    assert_eq!(err.to_string(), "local: deployment 99 not found");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
}

#[test]
fn last_successful_deployment_is_the_newest_known_good_one() {
    let (_dir, store) = store();
    let create = |sha: &str, states: &[DeploymentState]| {
        let id = store
            .create_deployment(&deployment("production", sha, sha))
            .expect("create")
            .value
            .id;
        for state in states {
            store.set_deployment_status(id, *state, "").expect("status");
        }
        id
    };
    use DeploymentState::*;
    assert_eq!(
        store
            .last_successful_deployment("production")
            .expect("last"),
        None
    );
    let _old = create("a", &[Success, Inactive]);
    let superseded = create("b", &[InProgress, Success, Inactive]);
    let _failed = create("c", &[InProgress, Failure]);
    let _reverted = create("d", &[Success, Failure]);
    let _running = create("e", &[InProgress]);
    let _other_env = store
        .create_deployment(&deployment("staging", "f", "f"))
        .expect("create");
    store.set_deployment_status(6, Success, "").expect("status");
    let last = store
        .last_successful_deployment("production")
        .expect("last")
        .expect("some");
    assert_eq!((last.id, last.sha.as_str()), (superseded, "b"));
}

// --- dispatch ---------------------------------------------------------------------------------

#[test]
fn dispatch_is_idempotent_on_its_key() {
    let (_dir, store) = store();
    let spec = DispatchSpec {
        workflow: "deploy.yml".into(),
        git_ref: "v1.2.0".into(),
        inputs: BTreeMap::from([("environment".into(), "production".into())]),
        requested_by: "ci-bot".into(),
        idempotency_key: "rollback:production:7".into(),
    };
    let first = store.dispatch(&spec).expect("dispatch");
    assert_eq!((first.outcome, first.value.id), (Outcome::Created, 1));
    let retry = store.dispatch(&spec).expect("retry");
    assert_eq!(retry.outcome, Outcome::Unchanged);
    assert_eq!(retry.value, first.value);
    let second = store
        .dispatch(&DispatchSpec {
            idempotency_key: "rollback:production:8".into(),
            ..spec.clone()
        })
        .expect("dispatch");
    assert_eq!((second.outcome, second.value.id), (Outcome::Created, 2));
    let mut other_inputs = spec.clone();
    other_inputs.inputs.insert("force".into(), "true".into());
    let err = store.dispatch(&other_inputs).unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
}

// --- concurrency ------------------------------------------------------------------------------

#[test]
fn concurrent_writers_lose_nothing() {
    let (dir, _) = store();
    let threads = 4;
    let per_thread = 15;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let root = dir.path().to_path_buf();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                // Each thread opens its own store: its own lock file handle, like a process.
                let store = LocalStore::scratch(&root).expect("open");
                barrier.wait();
                for i in 0..per_thread {
                    let key = format!("k{t}-{i}");
                    let d = store
                        .create_deployment(&deployment("production", &key, &key))
                        .expect("create");
                    assert_eq!(d.outcome, Outcome::Created);
                    store
                        .append_audit(&AuditRecord::now(format!("t{t}"), "promote.start"))
                        .expect("audit");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let store = LocalStore::scratch(dir.path()).expect("open");
    let all = store.deployments("production", usize::MAX).expect("list");
    let ids: BTreeSet<u64> = all.iter().map(|d| d.id).collect();
    let n = (threads * per_thread) as u64;
    assert_eq!(ids, (1..=n).collect::<BTreeSet<_>>());
    let keys: BTreeSet<&str> = all.iter().map(|d| d.idempotency_key.as_str()).collect();
    assert_eq!(keys.len(), threads * per_thread);
    let audit = store.audit_log(&AuditFilter::default()).expect("audit");
    assert_eq!(audit.len(), threads * per_thread);
}

#[test]
fn concurrent_retries_with_one_key_create_exactly_one_deployment() {
    let (dir, _) = store();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let root = dir.path().to_path_buf();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let store = LocalStore::scratch(&root).expect("open");
                barrier.wait();
                store
                    .create_deployment(&deployment("production", "abc", "promote:production:abc:1"))
                    .expect("create")
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let created = results
        .iter()
        .filter(|r| r.outcome == Outcome::Created)
        .count();
    assert_eq!(created, 1);
    assert!(results.iter().all(|r| r.value.id == 1));
    let store = LocalStore::scratch(dir.path()).expect("open");
    assert_eq!(store.deployments("production", 10).expect("list").len(), 1);
}

// --- corrupt records --------------------------------------------------------------------------

#[test]
fn a_corrupt_record_names_its_path_on_the_branch() {
    let (_dir, store) = store();
    store
        .upsert_release(&release("v1.0.0", "notes"))
        .expect("release");
    store
        .state()
        .transact(|_| {
            let mut change = Change::new(RecordKind::Other, "break it");
            change.files.push((
                "releases/v1.0.0.json".into(),
                b"{\n  \"tag\": oops\n}\n".to_vec(),
            ));
            Ok(Step::Write(change, ()))
        })
        .expect("write");
    let err = store.release_by_tag("v1.0.0").expect_err("corrupt");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert!(
        err.to_string()
            .starts_with("relman/state:releases/v1.0.0.json:2: expected value"),
        "{err}"
    );
}

#[test]
fn audit_log_filters() {
    let (_dir, store) = store();
    let records = [
        audit("alice", "changelog.publish", "2025-01-01T10:00:00Z", None),
        audit(
            "bob",
            "gate.evaluate",
            "2025-01-02T10:00:00Z",
            Some("production"),
        ),
        audit(
            "alice",
            "gate.evaluate",
            "2025-01-03T10:00:00Z",
            Some("staging"),
        ),
        audit(
            "alice",
            "gatekeeper.x",
            "2025-01-04T10:00:00Z",
            Some("staging"),
        ),
        audit(
            "bob",
            "rollback.drill",
            "2025-01-05T10:00:00+02:00",
            Some("production"),
        ),
    ];
    for r in &records {
        store.append_audit(r).expect("append");
    }
    let actions = |f: AuditFilter| -> Vec<String> {
        store
            .audit_log(&f)
            .expect("log")
            .into_iter()
            .map(|r| format!("{}:{}", r.actor, r.action))
            .collect()
    };
    assert_eq!(actions(AuditFilter::default()).len(), 5);
    assert_eq!(
        store.audit_log(&AuditFilter::default()).expect("log")[1],
        records[1]
    );
    assert_eq!(
        actions(AuditFilter {
            action: Some("gate".into()),
            ..Default::default()
        }),
        ["bob:gate.evaluate", "alice:gate.evaluate"]
    );
    assert_eq!(
        actions(AuditFilter {
            actor: Some("alice".into()),
            environment: Some("staging".into()),
            ..Default::default()
        }),
        ["alice:gate.evaluate", "alice:gatekeeper.x"]
    );
    assert_eq!(
        actions(AuditFilter {
            since: Some("2025-01-02T10:00:00Z".parse().expect("ts")),
            until: Some("2025-01-05T08:00:00Z".parse().expect("ts")),
            ..Default::default()
        }),
        [
            "bob:gate.evaluate",
            "alice:gate.evaluate",
            "alice:gatekeeper.x"
        ]
    );
    assert_eq!(
        actions(AuditFilter {
            limit: Some(2),
            ..Default::default()
        }),
        ["alice:gatekeeper.x", "bob:rollback.drill"]
    );
}

#[test]
fn invalid_audit_records_are_refused_before_writing() {
    let (_dir, store) = store();
    // A `when` that is not a time cannot be built any more (it is a Timestamp); one that
    // does not read in a stored file is refused where it is read, naming the file.
    let bad = r#"{"actor":"a","action":"gate.evaluate","when":"last tuesday"}"#;
    let err = serde_json::from_str::<AuditRecord>(bad).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("\"last tuesday\" is not an RFC 3339 time with an offset"),
        "{err}"
    );
    let err = store
        .append_audit(&audit("a", "", "2025-01-01T00:00:00Z", None))
        .unwrap_err();
    assert_eq!(err.to_string(), "audit record: action must not be empty");
    assert_eq!(store.state().tip().expect("tip"), None);
}

fn gate_status(sha: &str, state: CommitState, description: &str) -> CommitStatusSpec {
    CommitStatusSpec {
        sha: sha.into(),
        context: "relman/gate".into(),
        state,
        description: description.into(),
        target_url: None,
    }
}

#[test]
fn commit_statuses_are_kept_per_sha_and_context_idempotently() {
    let (_dir, store) = store();
    let go = gate_status("abc123", CommitState::Success, "go");
    assert_eq!(store.set_commit_status(&go).expect("set"), Outcome::Created);
    assert_eq!(
        store.set_commit_status(&go).expect("set"),
        Outcome::Unchanged
    );
    let no_go = gate_status("abc123", CommitState::Failure, "no-go: 1 check red");
    assert_eq!(
        store.set_commit_status(&no_go).expect("set"),
        Outcome::Updated
    );
    let other = gate_status("def456", CommitState::Pending, "");
    assert_eq!(
        store.set_commit_status(&other).expect("set"),
        Outcome::Created
    );
    let snapshot = store.state().snapshot().expect("snapshot");
    let kept: serde_json::Value = snapshot
        .read_json("statuses/abc123/relman%2Fgate.json")
        .expect("read")
        .expect("some");
    assert_eq!(kept["state"], "failure");
    assert_eq!(kept["description"], "no-go: 1 check red");
    assert_eq!(snapshot.list("statuses").expect("list").len(), 2);
    let err = store
        .set_commit_status(&gate_status("", CommitState::Success, "go"))
        .expect_err("no sha");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
}

#[test]
fn a_former_relman_dir_is_imported_once_and_symlinks_are_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    relman_core::state::testing::repo(dir.path());
    let old = dir.path().join(LEGACY_DIR);
    std::fs::create_dir_all(old.join("releases")).expect("mkdir");
    std::fs::create_dir_all(old.join("deployments/production")).expect("mkdir");
    let mut r = serde_json::to_vec(&Release {
        tag: "v1.0.0".into(),
        name: "v1.0.0".into(),
        body: "old notes".into(),
        draft: false,
        prerelease: false,
        target: None,
        url: None,
        created_at: "2025-01-01T00:00:00Z".parse().expect("time"),
        updated_at: "2025-01-01T00:00:00Z".parse().expect("time"),
    })
    .expect("json");
    r.push(b'\n');
    std::fs::write(old.join("releases/v1.0.0.json"), &r).expect("write");
    let outside = dir.path().join("outside.json");
    std::fs::write(&outside, &r).expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, old.join("releases/v9.9.9.json")).expect("symlink");
    let d = Deployment {
        id: 3,
        environment: "production".into(),
        sha: "abc".into(),
        git_ref: "main".into(),
        created_at: "2025-01-01T00:00:00Z".parse().expect("time"),
        creator: "ci".into(),
        state: DeploymentState::Success,
        statuses: vec![DeploymentStatus {
            state: DeploymentState::Success,
            description: String::new(),
            created_at: "2025-01-01T00:01:00Z".parse().expect("time"),
        }],
        idempotency_key: "promote:1".into(),
        payload: serde_json::Value::Null,
    };
    std::fs::write(
        old.join("deployments/production/000003.json"),
        serde_json::to_vec(&d).expect("json"),
    )
    .expect("write");
    let line = serde_json::to_string(&audit(
        "sre",
        "rollback.drill",
        "2025-02-01T00:00:00Z",
        Some("production"),
    ))
    .expect("json");
    std::fs::write(old.join("audit.jsonl"), format!("{line}\n")).expect("write");

    let none = |_: &str| None;
    let cfg = relman_core::config::Config::default();
    let open = || {
        crate::open(
            &relman_core::config::ForgeSettings::default(),
            &cfg.state,
            dir.path(),
            &none,
        )
        .expect("open")
    };
    let forge = open();
    assert_eq!(
        forge
            .release_by_tag("v1.0.0")
            .expect("read")
            .expect("some")
            .body,
        "old notes"
    );
    assert_eq!(forge.release_by_tag("v9.9.9").expect("read"), None);
    assert_eq!(
        forge
            .last_successful_deployment("production")
            .expect("read")
            .map(|d| d.id),
        Some(3)
    );
    let again = forge
        .create_deployment(&deployment("production", "abc", "promote:1"))
        .expect("same key");
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(
        forge.audit_log(&AuditFilter::default()).expect("log").len(),
        1
    );
    // A second run finds the marker and imports nothing again.
    let before =
        relman_core::state::testing::git(dir.path(), &["rev-list", "--count", "relman/state"]);
    let _ = open();
    let after =
        relman_core::state::testing::git(dir.path(), &["rev-list", "--count", "relman/state"]);
    assert_eq!(before, after);
    // The working tree is left as it was: relman never deletes the old directory itself.
    assert!(old.join("audit.jsonl").exists());
}
