use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Barrier};

use super::*;
use crate::ExitCode;

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path()).expect("open");
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
        when: when.into(),
        reason: "because".into(),
        subject: Subject {
            environment: env.map(Into::into),
            ..Subject::default()
        },
        ..AuditRecord::now(actor, action)
    }
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("prefix");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
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
fn reads_never_create_the_store() {
    let (dir, store) = store();
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
    assert!(!dir.path().join(STORE_DIR).exists());
}

#[test]
fn layout_is_one_readable_file_per_object() {
    let (dir, store) = store();
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
        .append_audit(&AuditRecord::now("ci-bot", "changelog.publish"))
        .expect("audit");
    let root = dir.path().join(STORE_DIR);
    assert_eq!(
        files(&root),
        [
            ".gitignore",
            ".lock",
            "audit.jsonl",
            "deployments/review%2Ffeat-x/000001.json",
            "dispatches/000001.json",
            "releases/%2Ehidden.json",
            "releases/api%2Fv2.0.0.json",
            "releases/v1.0.0.json",
        ]
    );
    let text = std::fs::read_to_string(root.join("releases/v1.0.0.json")).expect("read");
    assert!(text.starts_with("{\n  \"tag\": \"v1.0.0\",\n"), "{text}");
    assert!(text.ends_with("}\n"));
    let ignore = std::fs::read_to_string(root.join(".gitignore")).expect("read");
    assert!(ignore.contains("\n/.lock\n.relman-*\n"), "{ignore}");
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
                let store = LocalStore::open(&root).expect("open");
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
    let store = LocalStore::open(dir.path()).expect("open");
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
                let store = LocalStore::open(&root).expect("open");
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
    let store = LocalStore::open(dir.path()).expect("open");
    assert_eq!(store.deployments("production", 10).expect("list").len(), 1);
}

// --- corrupt files ----------------------------------------------------------------------------

#[test]
fn corrupt_audit_line_names_file_and_line() {
    let (dir, store) = store();
    store
        .append_audit(&audit("a", "gate.evaluate", "2025-01-01T00:00:00Z", None))
        .expect("audit");
    store
        .append_audit(&audit("a", "gate.evaluate", "2025-01-02T00:00:00Z", None))
        .expect("audit");
    let path = dir.path().join(".relman/audit.jsonl");
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("garbage\n");
    std::fs::write(&path, &text).expect("write");
    let err = store.audit_log(&AuditFilter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:3: expected value at column 1", path.display())
    );
    assert_eq!(err.exit_code(), ExitCode::BadInput);

    // A record with a bad timestamp is as corrupt as bad JSON.
    let bad_when = text.lines().take(2).collect::<Vec<_>>().join("\n")
        + "\n\n"
        + r#"{"actor":"a","action":"x","when":"yesterday"}"#
        + "\n";
    std::fs::write(&path, bad_when).expect("write");
    let err = store.audit_log(&AuditFilter::default()).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}:4: when: `yesterday` is not an RFC 3339 timestamp: ",
            path.display()
        )),
        "{err}"
    );

    // A missing field names its column too.
    std::fs::write(&path, "{\"actor\":\"a\"}\n").expect("write");
    let err = store.audit_log(&AuditFilter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:1: missing field `action` at column 13", path.display())
    );
}

#[test]
fn an_interrupted_audit_line_is_reported_not_glued_to_the_next() {
    let (dir, store) = store();
    store
        .append_audit(&audit("a", "gate.evaluate", "2025-01-01T00:00:00Z", None))
        .expect("audit");
    let path = dir.path().join(".relman/audit.jsonl");
    let mut file = OpenOptions::new().append(true).open(&path).expect("open");
    file.write_all(br#"{"actor":"a","act"#).expect("write");
    drop(file);
    store
        .append_audit(&audit("b", "gate.evaluate", "2025-01-02T00:00:00Z", None))
        .expect("append after a torn line");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], r#"{"actor":"a","act"#);
    assert!(lines[2].starts_with(r#"{"actor":"b","#));
    let err = store.audit_log(&AuditFilter::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2: EOF while parsing a string at column 17",
            path.display()
        )
    );
}

#[test]
fn corrupt_record_files_name_file_and_line() {
    let (dir, store) = store();
    store
        .create_deployment(&deployment("production", "abc", "k1"))
        .expect("create");
    store
        .upsert_release(&release("v1.0.0", "notes"))
        .expect("release");

    let release_path = dir.path().join(".relman/releases/v1.0.0.json");
    std::fs::write(
        &release_path,
        "{\n  \"tag\": \"v1.0.0\",\n  \"name\": 3\n}\n",
    )
    .expect("write");
    let err = store.release_by_tag("v1.0.0").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: invalid type: integer `3`, expected a string at column 11",
            release_path.display()
        )
    );
    let err = store.upsert_release(&release("v1.0.0", "x")).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(
        std::fs::read_to_string(&release_path)
            .expect("read")
            .contains("\"name\": 3"),
        "a corrupt file is never overwritten"
    );

    let env_dir = dir.path().join(".relman/deployments/production");
    let one = env_dir.join("000001.json");
    std::fs::copy(&one, env_dir.join("000002.json")).expect("copy");
    let err = store.deployments("production", 10).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: holds deployment 1, but its file name says 2",
            env_dir.join("000002.json").display()
        )
    );
    std::fs::remove_file(env_dir.join("000002.json")).expect("rm");

    std::fs::write(env_dir.join("latest.json"), "{}").expect("write");
    let err = store
        .create_deployment(&deployment("production", "def", "k2"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unexpected file name: records here are named <id>.json",
            env_dir.join("latest.json").display()
        )
    );
    std::fs::remove_file(env_dir.join("latest.json")).expect("rm");

    let staging = dir.path().join(".relman/deployments/staging");
    std::fs::create_dir_all(&staging).expect("mkdir");
    std::fs::copy(&one, staging.join("000001.json")).expect("copy");
    let err = store
        .create_deployment(&deployment("production", "def", "k2"))
        .unwrap_err();
    assert!(
        err.to_string().ends_with(&format!(
            ": id 1 is also used by {}",
            env_dir.join("000001.json").display()
        )),
        "{err}"
    );
}

// --- audit ------------------------------------------------------------------------------------

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
    let (dir, store) = store();
    let err = store
        .append_audit(&audit("a", "gate.evaluate", "last tuesday", None))
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert!(
        err.to_string()
            .starts_with("audit record: when: `last tuesday` is not an RFC 3339 timestamp"),
        "{err}"
    );
    let err = store
        .append_audit(&audit("a", "", "2025-01-01T00:00:00Z", None))
        .unwrap_err();
    assert_eq!(err.to_string(), "action must not be empty");
    assert!(!dir.path().join(".relman/audit.jsonl").exists());
}

// --- crashes ----------------------------------------------------------------------------------

#[test]
fn temp_files_left_by_a_crash_are_ignored() {
    let (dir, store) = store();
    store
        .upsert_release(&release("v1.0.0", "notes"))
        .expect("release");
    store
        .create_deployment(&deployment("production", "abc", "k1"))
        .expect("create");
    let root = dir.path().join(STORE_DIR);
    // What a crash between writing the temporary file and renaming it leaves behind.
    for dir in [
        "releases",
        "deployments/production",
        "dispatches",
        "deployments",
    ] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
        std::fs::write(root.join(dir).join(".relman-Xa3k9q"), "{\"half").expect("write");
    }
    assert_eq!(
        store
            .release_by_tag("v1.0.0")
            .expect("read")
            .expect("some")
            .body,
        "notes"
    );
    assert_eq!(store.deployments("production", 10).expect("list").len(), 1);
    let next = store
        .create_deployment(&deployment("production", "def", "k2"))
        .expect("create");
    assert_eq!(next.value.id, 2);
    store
        .dispatch(&DispatchSpec {
            workflow: "deploy.yml".into(),
            git_ref: "main".into(),
            inputs: BTreeMap::new(),
            requested_by: "ci".into(),
            idempotency_key: "d1".into(),
        })
        .expect("dispatch");
}

/// Makes a directory unwritable for the length of a test, even for root (via `chattr +i`
/// where permissions do not stop it); `None` if neither works here.
struct ReadOnlyDir {
    path: PathBuf,
    immutable: bool,
}

impl ReadOnlyDir {
    #[cfg(unix)]
    fn new(path: &Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o555)).ok()?;
        let mut guard = ReadOnlyDir {
            path: path.to_path_buf(),
            immutable: false,
        };
        if guard.writable() {
            let ok = std::process::Command::new("chattr")
                .arg("+i")
                .arg(path)
                .status()
                .is_ok_and(|s| s.success());
            guard.immutable = ok;
            if !ok || guard.writable() {
                return None;
            }
        }
        Some(guard)
    }

    #[cfg(not(unix))]
    fn new(_: &Path) -> Option<Self> {
        None
    }

    fn writable(&self) -> bool {
        let probe = self.path.join(".probe");
        let ok = std::fs::write(&probe, "").is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.path)
                .status();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temp_file() {
    let (dir, store) = store();
    store
        .upsert_release(&release("v1.0.0", "old notes"))
        .expect("release");
    let releases = dir.path().join(".relman/releases");
    let before = files(&releases);
    let old = std::fs::read(releases.join("v1.0.0.json")).expect("read");
    let Some(guard) = ReadOnlyDir::new(&releases) else {
        // In CI a test that cannot run fails; a developer's machine may lack chattr.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cannot make a directory read-only here (needs chmod, or chattr as root)"
        );
        eprintln!("skipped: cannot make a directory read-only here");
        return;
    };
    let err = store
        .upsert_release(&release("v1.0.0", "new notes"))
        .unwrap_err();
    drop(guard);
    assert!(
        err.to_string().starts_with(&format!(
            "{}: cannot write: ",
            releases.join("v1.0.0.json").display()
        )),
        "{err}"
    );
    assert_eq!(err.exit_code(), ExitCode::External);
    assert_eq!(
        std::fs::read(releases.join("v1.0.0.json")).expect("read"),
        old
    );
    assert_eq!(files(&releases), before);
    assert_eq!(
        store
            .release_by_tag("v1.0.0")
            .expect("read")
            .expect("some")
            .body,
        "old notes"
    );
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
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.statuses_path()).expect("read")).expect("json");
    assert_eq!(kept["abc123/relman/gate"]["state"], "failure");
    assert_eq!(
        kept["abc123/relman/gate"]["description"],
        "no-go: 1 check red"
    );
    assert_eq!(kept["def456/relman/gate"]["state"], "pending");
    assert_eq!(kept.as_object().map(|o| o.len()), Some(2));
    let err = store
        .set_commit_status(&gate_status("", CommitState::Success, "go"))
        .expect_err("no sha");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
}
