//! The GitLab backend reading the fuzz input as the body of every answer (HTTP 200 from a
//! loopback stand-in), through every flow in `relman_fuzz::every_flow`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_core::ci::Secret;
use relman_forge::{GitLab, GitLabToken};

thread_local! {
    static GITLAB: GitLab = GitLab::new(
        &format!("{}/api/v4", relman_fuzz::Standin::get().url),
        "acme/widget",
        Some(GitLabToken::Private(Secret::new("fuzz-token"))),
        u32::MAX,
    )
    .expect("client");
}

fuzz_target!(|data: &[u8]| {
    relman_fuzz::Standin::get().answer_with(data);
    GITLAB.with(|gl| relman_fuzz::every_flow(gl));
});
