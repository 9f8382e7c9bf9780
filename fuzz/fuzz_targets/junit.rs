//! A JUnit XML report through the `junit` gate (streaming parse, tally, finding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::config::JunitGate;

fuzz_target!(|data: &[u8]| {
    relman_fuzz::put("junit/report.xml", data);
    let spec = JunitGate {
        paths: vec!["junit/report.xml".into()],
        flaky: vec!["^flaky_".into()],
        max_skipped: Some(3),
        ..JunitGate::default()
    };
    let cx = relman_fuzz::context(jiff::Timestamp::UNIX_EPOCH);
    let _ = relman_gate::evidence::junit::evaluate(&spec, &cx);
});
