//! A user changelog template loaded and rendered over a small release, as `changelog.template`
//! would be. Whatever budget relman's template environment sets (fuel, output size) applies;
//! the fuzzer's own timeout and memory limit catch a template that escapes it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relman_changelog::release::{Group, Item, Link, Meta, Release};
use relman_changelog::render::Renderer;
use relman_core::conventional::{Entry, ParseOptions, Person, parse_message};

fn release() -> Release {
    let message = b"feat(api)!: add the thing (#12)\n\nBody text.\n\nBREAKING CHANGE: it changed\nCloses #3\nCo-authored-by: Ann <ann@example.com>\n";
    let entry: Entry = parse_message(message, &ParseOptions::default())
        .into_iter()
        .next()
        .unwrap_or_default();
    let author = Person {
        name: "Bob".into(),
        email: "bob@example.com".into(),
    };
    let item = Item {
        id: "0123456789abcdef0123456789abcdef01234567".into(),
        short_id: "0123456".into(),
        header: "feat(api)!: add the thing (#12)".into(),
        entry,
        author: author.clone(),
        date: "2026-01-02".into(),
        url: Some("https://example.com/c/0123456".into()),
        links: vec![Link {
            text: "#12".into(),
            url: Some("https://example.com/pull/12".into()),
        }],
        pull_request: None,
    };
    Release {
        meta: Meta {
            version: Some("1.2.0".into()),
            tag: Some("v1.2.0".into()),
            previous_tag: Some("v1.1.0".into()),
            date: Some("2026-01-02".into()),
            ..Meta::default()
        },
        groups: vec![Group {
            title: "Features".into(),
            entries: vec![item.clone()],
        }],
        breaking: vec![item],
        contributors: vec![author],
        first_time_contributors: vec!["bob".into()],
        commit_count: 1,
        repository_url: Some("https://example.com/r".into()),
        compare_url: Some("https://example.com/compare/v1.1.0...v1.2.0".into()),
        tag_url: Some("https://example.com/releases/tag/v1.2.0".into()),
    }
}

fuzz_target!(|data: &[u8]| {
    relman_fuzz::put("notes.md.j2", data);
    if let Ok(renderer) = Renderer::load("notes.md.j2", relman_fuzz::scratch()) {
        let _ = renderer.render(release());
    }
});
