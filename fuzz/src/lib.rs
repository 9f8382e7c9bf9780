//! What the fuzz targets share: a scratch directory for parsers that read files, a gate
//! context over it, and a loopback HTTP stand-in that answers every request with the fuzz
//! input (for the forge targets).
//!
//! Targets go through relman's public entry points (the gate's `evaluate`, `Renderer`,
//! `config::load`, the `Forge` trait), so what is fuzzed is what ships.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use relman_forge::LocalStore;
use relman_gate::Context;

/// A directory of this process's own (on tmpfs when there is one), made once.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("relman-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// Writes `data` to `name` under the scratch directory and returns its path.
pub fn put(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch subdirectory");
    }
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// The local store the gate contexts point at (never written by the evidence gates).
pub fn store() -> &'static LocalStore {
    static STORE: OnceLock<LocalStore> = OnceLock::new();
    STORE.get_or_init(|| LocalStore::scratch(&scratch().join(".relman")).expect("store"))
}

/// A gate context rooted at the scratch directory at a fixed instant.
pub fn context(now: jiff::Timestamp) -> Context<'static> {
    Context {
        root: scratch().to_path_buf(),
        now,
        forge: store(),
        change: Default::default(),
        environment: "production".into(),
        pull_request: None,
        override_reason: None,
        facts: Default::default(),
        deployment: None,
    }
}

/// Splits `data` at the first `0xFF` byte (never valid in UTF-8 text, so both halves stay
/// meaningful to a text parser): two inputs from one.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A loopback HTTP server answering every request `200` with the current body, as a forge
/// would answer with JSON. One thread, one connection at a time, `Connection: close`.
#[derive(Debug)]
pub struct Standin {
    pub url: String,
    body: &'static Mutex<Vec<u8>>,
}

impl Standin {
    /// The process's one stand-in (started on first use).
    pub fn get() -> &'static Standin {
        static STANDIN: OnceLock<Standin> = OnceLock::new();
        STANDIN.get_or_init(|| {
            let body: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            let url = format!("http://{}", listener.local_addr().expect("address"));
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = answer(stream, body);
                }
            });
            Standin { url, body }
        })
    }

    /// Makes `data` the body of every answer from now on.
    pub fn answer_with(&self, data: &[u8]) {
        let mut body = self.body.lock().unwrap_or_else(|e| e.into_inner());
        body.clear();
        body.extend_from_slice(data);
    }
}

fn answer(stream: TcpStream, body: &Mutex<Vec<u8>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut request_body = vec![0; length];
    reader.read_exact(&mut request_body)?;
    let body = body.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)?;
    out.flush()
}

/// Every forge call the concerns make that reads an answer, except dispatch and the audit
/// trail (kept in a local store, not read from the forge): reads the gate uses, release
/// upsert, deployment create and status, commit status. Errors are fine; panics and hangs
/// are what the targets look for.
pub fn every_flow(forge: &dyn relman_forge::Forge) {
    use relman_forge::{
        CommitState, CommitStatusSpec, DeploymentSpec, DeploymentState, ReleaseSpec,
    };
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let _ = forge.release_by_tag("v1.2.0");
    let _ = forge.upsert_release(&ReleaseSpec {
        tag: "v1.2.0".into(),
        name: "v1.2.0".into(),
        body: "notes".into(),
        draft: false,
        prerelease: false,
        target: Some(sha.into()),
    });
    let _ = forge.deployments("production", 5);
    let _ = forge.last_successful_deployment("production");
    let _ = forge.create_deployment(&DeploymentSpec {
        environment: "production".into(),
        sha: sha.into(),
        git_ref: "main".into(),
        creator: "ci".into(),
        idempotency_key: "promote:production:1".into(),
        payload: serde_json::json!({"image": "x"}),
    });
    let _ = forge.set_deployment_status(7, DeploymentState::Success, "deployed");
    let _ = forge.checks_for_commit(sha);
    let _ = forge.reviews(12);
    let _ = forge.pull_requests_for_commits(&[sha, "fedcba9876543210fedcba9876543210fedcba98"]);
    let _ = forge.freeze_periods();
    let _ = forge.issues_with_label("release-blocker");
    let _ = forge.pull_request(12);
    let _ = forge.team_members("acme/release");
    let _ = forge.issues_in_milestone("v1.2.0");
    let _ = forge.set_commit_status(&CommitStatusSpec {
        sha: sha.into(),
        context: "relman/gate".into(),
        state: CommitState::Success,
        description: "go".into(),
        target_url: None,
    });
}
