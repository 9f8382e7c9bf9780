//! A coverage report (Cobertura, JaCoCo or LCOV, told apart by content) through the
//! `coverage` gate, with changed lines so changed-line coverage is computed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::config::CoverageGate;
use relman_gate::{Change, ChangedFile};

fuzz_target!(|data: &[u8]| {
    relman_fuzz::put("coverage/report", data);
    let spec = CoverageGate {
        paths: vec!["coverage/report".into()],
        min_line: Some(50.0),
        min_branch: Some(10.0),
        min_changed_line: Some(80.0),
    };
    let mut cx = relman_fuzz::context(jiff::Timestamp::UNIX_EPOCH);
    cx.change = Change {
        files: vec![ChangedFile {
            path: "src/shapes/area.py".into(),
            added: 3,
            removed: 0,
            added_lines: vec![1, 2, 7],
        }],
        ..Change::default()
    };
    let _ = relman_gate::evidence::coverage::evaluate(&spec, &cx);
});
