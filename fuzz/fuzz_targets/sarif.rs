//! A SARIF log through the `sarif` gate (levels, security bands, allow list, annotations).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use relman_core::config::{AllowRule, SarifGate};

fuzz_target!(|data: &[u8]| {
    relman_fuzz::put("sarif/report.sarif", data);
    let spec = SarifGate {
        paths: vec!["sarif/report.sarif".into()],
        max_level: BTreeMap::from([("error".into(), 0), ("warning".into(), 5)]),
        max_security: BTreeMap::from([("high".into(), 0)]),
        allow: vec![AllowRule {
            rule: "R1".into(),
            path: Some("src/**".into()),
            until: "2030-01-01".into(),
            reason: "fuzz".into(),
        }],
    };
    let cx = relman_fuzz::context(jiff::Timestamp::UNIX_EPOCH);
    let _ = relman_gate::evidence::sarif::evaluate(&spec, &cx);
});
