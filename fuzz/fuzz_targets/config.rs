//! `.relman.yml` bytes through the loader (read, UTF-8 check, YAML, types, validation).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = relman_fuzz::put(".relman.yml", data);
    if let Ok(config) = relman_core::config::load(&path) {
        // A loaded configuration serialises again (what `config check --format json` does).
        let _ = serde_json::to_string(&config);
    }
});
