//! A context over a fixed root and instant, for evidence gate tests.

use std::path::{Path, PathBuf};

use relman_core::forge::LocalStore;

use crate::Context;

pub fn evidence_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence")
}

pub fn store() -> LocalStore {
    LocalStore::at(std::env::temp_dir().join("relman-gate-evidence-tests-unused")).expect("store")
}

pub fn context<'a>(root: &Path, forge: &'a LocalStore, now: &str) -> Context<'a> {
    Context {
        now: now.parse().expect("timestamp"),
        ..Context::for_test(forge, root)
    }
}
