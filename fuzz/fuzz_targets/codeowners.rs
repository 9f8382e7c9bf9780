//! CODEOWNERS text, then owner look-ups for paths taken from the same input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_gate::forge::codeowners::CodeOwners;

fuzz_target!(|data: &[u8]| {
    let (text, paths) = relman_fuzz::split(data);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(owners) = CodeOwners::parse(text, "CODEOWNERS") {
        for path in String::from_utf8_lossy(paths).lines().take(64) {
            let _ = owners.owners(path);
        }
        for path in ["README.md", "src/main.rs", "docs/a/b.md", ".github/CODEOWNERS"] {
            let _ = owners.owners(path);
        }
    }
});
