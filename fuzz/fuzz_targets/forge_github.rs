//! The GitHub backend reading the fuzz input as the body of every answer (HTTP 200 from a
//! loopback stand-in), through every flow in `relman_fuzz::every_flow`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::ci::Secret;
use relman_forge::GitHub;

thread_local! {
    static GITHUB: GitHub = GitHub::new(
        &relman_fuzz::Standin::get().url,
        "acme/widget",
        Some(Secret::new("fuzz-token")),
        u32::MAX,
    )
    .expect("client");
}

fuzz_target!(|data: &[u8]| {
    relman_fuzz::Standin::get().answer_with(data);
    GITHUB.with(|gh| relman_fuzz::every_flow(gh));
});
