//! Benchmark results and a baseline (split at the first 0xFF byte) through the `benchmark`
//! gate. Both sit where criterion puts its estimates, so every format can be recognised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::config::BenchmarkGate;

const CURRENT: &str = "current/criterion/b/new/estimates.json";
const BASELINE: &str = "baseline/criterion/b/base/estimates.json";

fuzz_target!(|data: &[u8]| {
    let (current, baseline) = relman_fuzz::split(data);
    relman_fuzz::put(CURRENT, current);
    relman_fuzz::put(BASELINE, baseline);
    let spec = BenchmarkGate {
        paths: vec![CURRENT.into()],
        baseline: vec![BASELINE.into()],
        max_regression: 0.1,
        require_baseline: false,
        baseline_at_release: false,
        ..BenchmarkGate::default()
    };
    let cx = relman_fuzz::context(jiff::Timestamp::UNIX_EPOCH);
    let _ = relman_gate::evidence::benchmark::evaluate(&spec, &cx);
});
