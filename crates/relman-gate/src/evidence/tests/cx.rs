//! A context over a fixed root and instant, for evidence gate tests.

use std::path::{Path, PathBuf};

use relman_core::{Error, ExitCode};
use relman_forge::LocalStore;

use crate::{Context, Finding};

pub fn evidence_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence")
}

pub fn store() -> LocalStore {
    // Evidence gates never touch the forge: one scratch store per test process will do.
    static STORE: std::sync::OnceLock<LocalStore> = std::sync::OnceLock::new();
    STORE
        .get_or_init(|| {
            let dir = std::env::temp_dir()
                .join(format!("relman-gate-evidence-tests-{}", std::process::id()));
            LocalStore::scratch(&dir).expect("store")
        })
        .clone()
}

pub fn context<'a>(root: &Path, forge: &'a LocalStore, now: &str) -> Context<'a> {
    Context {
        now: now.parse().expect("timestamp"),
        ..Context::for_test(forge, root)
    }
}

/// The file, line and message an evidence gate refused a file with; the error must exit 2.
pub fn evidence_error(result: Result<Finding, Error>) -> (PathBuf, Option<usize>, String) {
    match result {
        Err(e @ Error::Evidence { .. }) => {
            assert_eq!(e.exit_code(), ExitCode::BadInput);
            let Error::Evidence {
                path,
                line,
                message,
            } = e
            else {
                unreachable!()
            };
            (path, line, message)
        }
        other => panic!("expected an evidence error, got {other:?}"),
    }
}
