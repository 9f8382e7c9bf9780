//! The step outputs of `relman changelog`, declared once: the code sets them by these names, the
//! actions expose them and docs/reference/env.md lists them (both checked by tests/surfaces.rs).

use relman_core::vars::Output;

pub const VERSION: Output = Output {
    name: "version",
    multiline: false,
    meaning: "The next version (or the version of the release asked with `--tag`); empty when there is nothing to release.",
};
pub const NOTES: Output = Output {
    name: "notes",
    multiline: true,
    meaning: "The rendered release notes (markdown, multi-line).",
};
pub const RELEASE_URL: Output = Output {
    name: "release-url",
    multiline: false,
    meaning: "With `--publish`, the URL of the created or updated release.",
};
pub const PREVIOUS_TAG: Output = Output {
    name: "previous-tag",
    multiline: false,
    meaning: "The release tag the notes start from; empty for the first release.",
};

/// Every output, in the order the actions list them.
pub const ALL: &[Output] = &[VERSION, NOTES, RELEASE_URL, PREVIOUS_TAG];
