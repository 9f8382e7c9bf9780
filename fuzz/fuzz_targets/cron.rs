//! Release windows and freezes: cron expressions, time zones and dates through the `window`
//! gate at an instant taken from the input.
//!
//! Input: the first 8 bytes are the instant (seconds, clamped to jiff's range); the rest is
//! lines: `cron_start`, `cron_end`, time zone, `from`, `to`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::config::{Period, WindowGate};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, rest) = data.split_at(8);
    let secs = i64::from_le_bytes(head.try_into().expect("8 bytes"));
    let min = jiff::Timestamp::MIN.as_second();
    let max = jiff::Timestamp::MAX.as_second();
    let Ok(now) = jiff::Timestamp::from_second(secs.rem_euclid(max - min) + min) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let mut next = || lines.next().map(str::to_string).filter(|l| !l.is_empty());
    let (cron_start, cron_end, timezone, from, to) = (next(), next(), next(), next(), next());
    let recurring = Period {
        name: "recurring".into(),
        cron_start,
        cron_end,
        timezone: timezone.clone(),
        ..Period::default()
    };
    let dated = Period {
        name: "dated".into(),
        from,
        to,
        timezone,
        ..Period::default()
    };
    let cx = relman_fuzz::context(now);
    for spec in [
        WindowGate {
            allowed: vec![recurring.clone()],
            freezes: vec![dated.clone()],
            ..WindowGate::default()
        },
        WindowGate {
            allowed: vec![dated],
            freezes: vec![recurring],
            ..WindowGate::default()
        },
    ] {
        let _ = relman_gate::window::evaluate(&spec, &cx);
    }
});
