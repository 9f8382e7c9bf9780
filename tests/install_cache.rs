//! `scripts/install.sh`'s tool cache and download checks (issue #12 finding 6), run as the
//! actions run it: bash, curl and tar against a loopback mirror (wiremock) and a tool cache in a
//! temporary directory, some slots of it planted by hand as a fork's job or an attacker with
//! write access to a self-hosted runner's cache would leave them.
//!
//! The "binary" in the archive is a shell script printing `genuine`; a planted one prints
//! `planted`. Each test runs whatever install.sh names as the path, as the action's next step
//! does, so "not run" is checked by what runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const VERSION: &str = "0.0.0-test";

/// The tools install.sh needs. On a developer's machine without them the tests say so and pass;
/// under `CI=true` a missing tool fails the test (it must never be skipped there).
fn tools_present() -> bool {
    let missing: Vec<&str> = ["bash", "curl", "tar", "sha256sum"]
        .into_iter()
        .filter(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "install.sh tests need {missing:?} (scripts/test.sh installs curl)"
    );
    eprintln!("skipped: {missing:?} not installed");
    false
}

fn sha256_hex(bytes: &[u8]) -> String {
    let tmp = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(tmp.path(), bytes).expect("write");
    let out = Command::new("sha256sum")
        .arg(tmp.path())
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// install.sh's names for this machine: `arch` (its cache folder) and the release asset.
fn asset() -> (&'static str, String) {
    let arch = match std::env::consts::ARCH {
        "aarch64" => "aarch64",
        _ => "x86_64",
    };
    (arch, format!("relman-{arch}-unknown-linux-musl.tar.gz"))
}

/// A release archive holding `relman`, a script that prints `says`.
fn archive(dir: &Path, says: &str) -> Vec<u8> {
    let stage = dir.join(format!("stage-{says}"));
    std::fs::create_dir_all(&stage).expect("stage");
    std::fs::write(stage.join("relman"), format!("#!/bin/sh\necho {says}\n")).expect("write");
    let ok = Command::new("chmod")
        .args(["+x", "relman"])
        .current_dir(&stage)
        .status()
        .expect("chmod")
        .success();
    assert!(ok);
    let tar = dir.join(format!("{says}.tar.gz"));
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&tar)
        .args(["-C"])
        .arg(&stage)
        .arg("relman")
        .status()
        .expect("tar runs")
        .success();
    assert!(ok);
    std::fs::read(tar).expect("archive")
}

/// A loopback mirror serving `bytes` as this machine's asset, with its `.sha256` beside it.
async fn mirror(bytes: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    let (_, name) = asset();
    let sum = format!("{}  {name}\n", sha256_hex(&bytes));
    Mock::given(method("GET"))
        .and(path(format!("/{name}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{name}.sha256")))
        .respond_with(ResponseTemplate::new(200).set_body_string(sum))
        .mount(&server)
        .await;
    server
}

struct Run {
    code: i32,
    /// stdout and stderr together (install.sh logs to stderr, `::error` goes to stdout).
    log: String,
    /// The `path` output, if any.
    path: Option<PathBuf>,
}

impl Run {
    /// What the binary install.sh chose prints when the next step runs it.
    fn says(&self) -> String {
        let bin = self
            .path
            .as_ref()
            .unwrap_or_else(|| panic!("no path: {}", self.log));
        let out = Command::new(bin)
            .output()
            .expect("the installed binary runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// install.sh with the tool cache in `home`, from `download_url`, with the extra `env`. No
/// action source beside it, so a cache miss can only download (never a cargo build).
async fn install(home: &Path, download_url: &str, env: &[(&str, &str)]) -> Run {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install.sh");
    let output = home.join(format!("output-{}", rand_suffix()));
    let mut cmd = Command::new("bash");
    cmd.arg(script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("RUNNER_TOOL_CACHE", home.join("toolcache"))
        .env("RELMAN_ACTION_PATH", home.join("no-action-source"))
        .env("RELMAN_VERSION", VERSION)
        .env("RELMAN_DOWNLOAD_URL", download_url)
        .env("GITHUB_OUTPUT", &output);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("bash runs"))
        .await
        .expect("join");
    let path = std::fs::read_to_string(&output).ok().and_then(|o| {
        o.lines()
            .find_map(|l| l.strip_prefix("path="))
            .map(PathBuf::from)
    });
    Run {
        code: out.status.code().unwrap_or(-1),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        path,
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos()
}

/// The cache slot install.sh uses for `download_url`: `<cache>/relman/<version>/<arch>/<origin>`
/// where the origin is the first 16 hex digits of the URL's sha256.
fn slot(home: &Path, download_url: &str) -> PathBuf {
    let (arch, _) = asset();
    home.join("toolcache/relman")
        .join(VERSION)
        .join(arch)
        .join(&sha256_hex(download_url.as_bytes())[..16])
}

/// Plants a slot as a complete one: a binary printing `planted` and a record naming `archive` as
/// the archive's sha256 and the planted binary's real sha256 (so the binary check alone passes).
fn plant(slot: &Path, archive: &str) {
    std::fs::create_dir_all(slot).expect("slot");
    let body = "#!/bin/sh\necho planted\n";
    std::fs::write(slot.join("relman"), body).expect("write");
    let ok = Command::new("chmod")
        .arg("+x")
        .arg(slot.join("relman"))
        .status()
        .expect("chmod")
        .success();
    assert!(ok);
    std::fs::write(
        slot.with_extension("complete"),
        format!(
            "archive {archive}\nbinary {}\n",
            sha256_hex(body.as_bytes())
        ),
    )
    .expect("record");
}

async fn archive_requests(server: &MockServer) -> usize {
    let (_, name) = asset();
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == format!("/{name}"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_binary_that_changed_since_it_was_recorded_is_not_run() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = mirror(archive(tmp.path(), "genuine")).await;
    let url = server.uri();

    let first = install(tmp.path(), &url, &[]).await;
    assert_eq!(first.code, 0, "{}", first.log);
    assert_eq!(first.says(), "genuine");
    // A hit is served from the cache, without a download (so the check below is about the hash,
    // not about the cache being ignored).
    let hit = install(tmp.path(), &url, &[]).await;
    assert_eq!((hit.code, hit.says()), (0, "genuine".into()), "{}", hit.log);
    assert_eq!(archive_requests(&server).await, 1);

    let bin = first.path.expect("a path");
    std::fs::write(&bin, "#!/bin/sh\necho planted\n").expect("tamper");
    let again = install(tmp.path(), &url, &[]).await;
    assert_eq!(again.code, 0, "{}", again.log);
    assert!(again.log.contains("does not match"), "{}", again.log);
    assert_eq!(again.says(), "genuine", "{}", again.log);
    assert_eq!(archive_requests(&server).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_binary_from_another_archive_than_the_pinned_sha256_is_not_run() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let genuine = archive(tmp.path(), "genuine");
    let pinned = sha256_hex(&genuine);
    let server = mirror(genuine).await;
    let url = server.uri();
    // A slot filled from another archive: its binary still has its recorded hash.
    plant(&slot(tmp.path(), &url), &"0".repeat(64));
    let unpinned = install(tmp.path(), &url, &[]).await;
    assert_eq!(unpinned.code, 0, "{}", unpinned.log);
    assert_eq!(
        unpinned.says(),
        "planted",
        "control: without a pin the planted slot is a hit, so the pin is what refuses it"
    );

    let run = install(tmp.path(), &url, &[("RELMAN_SHA256", &pinned)]).await;
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(run.log.contains("does not match"), "{}", run.log);
    assert_eq!(run.says(), "genuine", "{}", run.log);
    assert_eq!(archive_requests(&server).await, 1);
}

/// A fork's job installed from its own mirror on the same self-hosted runner (same version and
/// arch): the next job, from the real download-url, never gets the fork's binary.
#[tokio::test(flavor = "multi_thread")]
async fn a_slot_filled_from_another_download_url_is_never_read() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let fork = mirror(archive(tmp.path(), "planted")).await;
    let real = mirror(archive(tmp.path(), "genuine")).await;
    let forked = install(tmp.path(), &fork.uri(), &[]).await;
    assert_eq!(
        (forked.code, forked.says()),
        (0, "planted".into()),
        "{}",
        forked.log
    );
    let run = install(tmp.path(), &real.uri(), &[]).await;
    assert_eq!(run.code, 0, "{}", run.log);
    assert_eq!(run.says(), "genuine", "{}", run.log);
    assert_eq!(archive_requests(&real).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_that_does_not_match_the_pinned_sha256_is_never_installed() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = mirror(archive(tmp.path(), "genuine")).await;
    let run = install(
        tmp.path(),
        &server.uri(),
        &[("RELMAN_SHA256", &"2".repeat(64))],
    )
    .await;
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.log.contains("sha256 mismatch"), "{}", run.log);
    assert!(run.path.is_none(), "{}", run.log);
    assert!(!slot(tmp.path(), &server.uri()).join("relman").exists());
}

/// Plain http is accepted only to this machine's loopback names. Each URL below reaches the
/// loopback mirror all the same (0.0.0.0 is this machine to Linux and curl; a `user@` before it
/// is only a user name), so a refusal is install.sh's check, not a failed connection: the
/// mirror must see no request at all.
#[tokio::test(flavor = "multi_thread")]
async fn plain_http_is_refused_unless_the_host_is_loopback() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let server = mirror(archive(tmp.path(), "genuine")).await;
    let port = server.address().port();
    for url in [
        format!("http://0.0.0.0:{port}"),
        format!("http://127.0.0.1@0.0.0.0:{port}"),
        format!("http://localhost:{port}@0.0.0.0:{port}"),
        format!("http://[::1]@0.0.0.0:{port}"),
        format!("http://127.0.0.1:{port}@0.0.0.0:{port}/x"),
    ] {
        let run = install(tmp.path(), &url, &[]).await;
        assert_ne!(run.code, 0, "{url}: {}", run.log);
        assert!(run.log.contains("must be https"), "{url}: {}", run.log);
        assert!(run.path.is_none(), "{url}: {}", run.log);
    }
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        0,
        "a refused URL was fetched"
    );
    // Control: the same mirror by a loopback name is used.
    let run = install(tmp.path(), &format!("http://127.0.0.1:{port}"), &[]).await;
    assert_eq!((run.code, run.says()), (0, "genuine".into()), "{}", run.log);
}
