//! Times the junit and sarif gates over one JUnit report and one SARIF log, for
//! `bench/gate-evidence.sh`: `evidence_bench JUNIT_XML SARIF_JSON`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use relman_core::config::{JunitGate, SarifGate};
use relman_forge::LocalStore;
use relman_gate::evidence::{junit, sarif};
use relman_gate::{Change, Context, Finding};

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [junit_file, sarif_file] = args.as_slice() else {
        bail!("usage: evidence_bench JUNIT_XML SARIF_JSON");
    };
    let store = LocalStore::scratch(&std::env::temp_dir().join("relman-evidence-bench-store"))?;
    let start = Instant::now();
    let (cx, name) = context(junit_file, &store)?;
    let j = junit::evaluate(
        &JunitGate {
            paths: vec![name],
            max_failures: 1_000_000,
            max_errors: 1_000_000,
            ..JunitGate::default()
        },
        &cx,
    )?;
    let junit_ms = start.elapsed().as_secs_f64() * 1000.0;
    let (cx, name) = context(sarif_file, &store)?;
    let s = sarif::evaluate(
        &SarifGate {
            paths: vec![name],
            ..SarifGate::default()
        },
        &cx,
    )?;
    let total_ms = start.elapsed().as_secs_f64() * 1000.0;
    report("junit", &j, junit_ms);
    report("sarif", &s, total_ms - junit_ms);
    println!("total: {total_ms:.1} ms");
    Ok(())
}

fn context<'a>(file: &Path, store: &'a LocalStore) -> anyhow::Result<(Context<'a>, String)> {
    let file = file
        .canonicalize()
        .with_context(|| format!("{}", file.display()))?;
    let root = file.parent().context("no parent")?.to_path_buf();
    let name = file
        .file_name()
        .context("no file name")?
        .to_string_lossy()
        .into_owned();
    let cx = Context {
        root,
        now: jiff::Timestamp::now(),
        forge: store,
        change: Change::default(),
        environment: "bench".into(),
        pull_request: None,
        override_reason: None,
        facts: Default::default(),
        deployment: None,
    };
    Ok((cx, name))
}

fn report(gate: &str, f: &Finding, ms: f64) {
    println!("{gate}: {ms:.1} ms: {:?}: {}", f.status, f.reason);
}
