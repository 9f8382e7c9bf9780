//! Commit messages through the Conventional Commits parser, both ways it is configured.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::conventional::{ParseOptions, parse_message};

fuzz_target!(|data: &[u8]| {
    for split_squash in [true, false] {
        let entries = parse_message(data, &ParseOptions { split_squash });
        // Parsing never fails: some entry always comes back.
        assert!(!entries.is_empty());
    }
});
