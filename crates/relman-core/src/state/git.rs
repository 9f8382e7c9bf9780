//! Fetching and pushing the state branch with the `git` command line (gitoxide cannot push),
//! bounded in time, with the token in the environment only ([`super::Auth`]).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gix::ObjectId;

use super::{Change, Host, Published, Remote, StateStore};
use crate::error::{Error, Result, StateErrorKind};

/// Longest a fetch or push may take before it is killed (a hung remote must not hang CI).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// What a git process said.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

fn run(store: &StateStore, args: &[&str], authenticated: bool) -> Result<Output> {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(&store.run_dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if store.user_dir.is_some() {
        // relman's own repository, whatever the caller's environment points git at.
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_COMMON_DIR",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_INDEX_FILE",
        ] {
            cmd.env_remove(var);
        }
    }
    if authenticated {
        // Talking to the remote: the user's settings for reaching it, then the CI's token.
        let inherited: usize = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        let mut count = inherited;
        for (key, value) in store.carried_config()? {
            cmd.env(format!("GIT_CONFIG_KEY_{count}"), key);
            cmd.env(format!("GIT_CONFIG_VALUE_{count}"), value);
            count += 1;
        }
        match &store.auth {
            Some(auth) => {
                cmd.envs(auth.env(Some(&count.to_string())));
            }
            None if count > inherited => {
                cmd.env("GIT_CONFIG_COUNT", count.to_string());
            }
            None => {}
        }
    }
    let what = args.first().copied().unwrap_or("git");
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Git(format!("cannot run git {what}: {e}")))?;
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.take(1 << 20).read_to_string(&mut s);
        }
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.take(1 << 20).read_to_string(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::State {
                    kind: StateErrorKind::Timeout,
                    message: format!("git {what} took longer than {}s", TIMEOUT.as_secs()),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(Error::Git(format!("git {what}: {e}"))),
        }
    };
    Ok(Output {
        success: status.success(),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    })
}

/// git's own words, on one line, without control characters, bounded.
pub fn reason(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_control())
                .collect::<String>()
                .replace("::", ": :")
        })
        .collect();
    let joined = lines.join(" | ");
    if joined.is_empty() {
        "git gave no reason".into()
    } else {
        joined.chars().take(400).collect()
    }
}

/// How much of the branch's history a fetch brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum History {
    /// What reading and appending need: the tip's tree, and the commits since the tip
    /// already here.
    Tip,
    /// Every commit (`audit verify` walks them).
    Full,
}

/// Fetches the branch into its tracking ref and returns the remote's tip. A remote without the
/// branch yet is an empty store; any other failure is an error (reading nothing would read as
/// "no records").
///
/// The fetch goes into the store's own repository ([`super::own_repo`]), so the first one
/// asks for the tip alone (`--depth=1`) whatever the user's clone is: after a year the full
/// history is 36,500 commits and ~28 MB, the tip's tree a quarter of that, and a commit on top
/// of a shallow tip pushes fine because the remote has its parent. Only `audit verify`
/// deepens it.
pub(super) fn fetch(
    store: &StateStore,
    remote: &Remote,
    history: History,
) -> Result<Option<ObjectId>> {
    let refspec = format!("+{}:{}", store.refname, remote.tracking);
    // relman's fetches in one clone take turns. Two reasons: a plain fetch running while
    // another rewrote .git/shallow was seen to leave a tip whose trees were not all here yet;
    // and fetches racing for the tracking ref make all but one fail to update it. The
    // advisory lock dies with its holder.
    let _turn = fetch_turn(store)?;
    let depth = match history {
        History::Full => store.is_shallow().then_some("--unshallow"),
        // With a tip here already, a plain fetch brings only the commits since (and does not
        // rewrite .git/shallow, so concurrent jobs in one clone do not contend for its lock).
        History::Tip if store.read_ref(&remote.tracking)?.is_some() => None,
        History::Tip => Some("--depth=1"),
    };
    let args = |depth: Option<&'static str>| {
        let mut args = vec!["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"];
        args.extend(depth);
        args.extend([remote.name.as_str(), refspec.as_str()]);
        args
    };
    let started = Instant::now();
    let mut jitter = super::Jitter::new();
    loop {
        store.clear_stale_lock(&remote.tracking);
        let mut out = run(store, &args(depth), true)?;
        if !out.success && depth.is_some() && out.stderr.contains("shallow.lock") {
            // Another fetch is rewriting .git/shallow (or a killed one left its lock, which is
            // git's and the user's: never removed here). A plain fetch needs no such lock: it
            // is slower, never wrong.
            tracing::debug!("state: .git/shallow is locked, fetching without --depth");
            out = run(store, &args(None), true)?;
        }
        if out.success {
            // git moves the tracking ref only after checking that every object the new tip
            // names is here, and relman moves it only to a commit it wrote itself: the tip read
            // here is always whole.
            return store.read_ref(&remote.tracking);
        }
        if out.stderr.contains("cannot lock ref") && started.elapsed() < LOCKED_TRACKING_WAIT {
            // A git that is not relman's holds the tracking ref for a moment, or a killed
            // writer left its lock (removed above once stale): fetch again. Never learn the
            // tip some other way (`ls-remote`): a tip learnt apart from its objects can name
            // a commit another fetch into this clone is still writing, trees after it.
            tracing::debug!("state: {} is locked, fetching again", remote.tracking);
            std::thread::sleep(Duration::from_millis(20 + jitter.next_u64() % 80));
            continue;
        }
        if out.stderr.contains("couldn't find remote ref") {
            // Nothing there yet (or it was deleted): forget a stale copy so the tip is "none".
            let _ = run(store, &["update-ref", "-d", &remote.tracking], false);
            return Ok(None);
        }
        return Err(Error::State {
            kind: StateErrorKind::Fetch,
            message: format!(
                "could not fetch {} from {}: {}",
                store.branch,
                remote.name,
                reason(&out.stderr)
            ),
        });
    }
}

/// How long a fetch keeps trying while the tracking ref is locked: long enough for a lock
/// left by a killed writer to become stale and be removed.
const LOCKED_TRACKING_WAIT: Duration =
    Duration::from_secs(super::reflock::STALE_LOCK.as_secs() + 5);

/// Waits (bounded) for this clone's other relman fetches to finish.
pub(super) fn fetch_turn(store: &StateStore) -> Result<super::reflock::WriterLock> {
    let started = Instant::now();
    let mut jitter = super::Jitter::new();
    loop {
        if let Some(lock) = store.writer_lock("fetch")? {
            return Ok(lock);
        }
        if started.elapsed() > TIMEOUT {
            return Err(Error::State {
                kind: StateErrorKind::Timeout,
                message: format!(
                    "another relman fetch of {} in this clone took longer than {}s",
                    store.branch,
                    TIMEOUT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(5 + jitter.next_u64() % 20));
    }
}

/// Pushes `commit` to the branch, fast-forward only.
pub(super) fn push(
    store: &StateStore,
    remote: &Remote,
    commit: ObjectId,
    change: &Change,
) -> Result<Published> {
    let refspec = format!("{commit}:{}", store.refname);
    let mut options = store.host == Host::GitLab;
    loop {
        let mut args = vec!["push", "--porcelain"];
        if options {
            args.extend(["-o", "ci.skip"]);
        }
        args.extend([remote.name.as_str(), refspec.as_str()]);
        let out = run(store, &args, true)?;
        if out.success {
            return Ok(Published::Yes);
        }
        if options && out.stderr.contains("does not support push options") {
            // `[skip ci]` in the message still keeps pipelines from starting.
            options = false;
            continue;
        }
        // `!\t<src>:<dst>\t[rejected] (fetch first)`: someone pushed first. The server's
        // own compare-and-swap losing (`[remote rejected] (failed to update ref)`, `cannot
        // lock ref … is at X but expected Y`) is the same race, seen a moment later.
        let lost = out.stdout.lines().any(|l| {
            l.starts_with('!')
                && ((l.contains("[rejected]")
                    && (l.contains("fetch first") || l.contains("non-fast-forward")))
                    || (l.contains("[remote rejected]")
                        && (l.contains("failed to update ref")
                            || l.contains("failed to lock")
                            || l.contains("cannot lock ref"))))
        });
        if lost {
            // A lock file the server cannot create (`Unable to create '….lock': File exists`)
            // is one a server-side update left behind, not another writer: remembered so that
            // giving up says so.
            let stuck =
                out.stderr.contains("Unable to create") && out.stderr.contains("File exists");
            store
                .remote_locked
                .store(stuck, std::sync::atomic::Ordering::Relaxed);
            return Ok(Published::LostRace);
        }
        let text = format!("{}\n{}", out.stderr, out.stdout);
        return Err(store.not_pushed(change, &reason(&text)));
    }
}

/// Creates the local ref `name` at `new` unless it exists (then another writer won).
pub(super) fn create_ref(store: &StateStore, name: &str, new: ObjectId) -> Result<Published> {
    let zero = ObjectId::null(new.kind()).to_string();
    let id = new.to_string();
    let out = run(
        store,
        &["update-ref", "-m", "relman: state", name, &id, &zero],
        false,
    )?;
    if out.success {
        Ok(Published::Yes)
    } else if store.read_ref(name)?.is_some() || out.stderr.contains("lock") {
        Ok(Published::LostRace)
    } else {
        Err(Error::Git(format!("{name}: {}", reason(&out.stderr))))
    }
}
