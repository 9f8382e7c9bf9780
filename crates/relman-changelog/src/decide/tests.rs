//! `decide` alone: the notes and the next version from a repository, with no effect.

use std::path::Path;

use relman_core::config::Config;
use relman_core::git::Repo;
use relman_core::state::testing::git;

use super::*;
use crate::collect::Options;
use crate::render::Renderer;

/// A sink that keeps what it is given.
#[derive(Default)]
struct Kept {
    summaries: bool,
    pieces: Vec<Piece>,
}

impl Sink for Kept {
    fn wants_summary(&self) -> bool {
        self.summaries
    }

    fn take(&mut self, piece: Piece) -> Result<(), Error> {
        self.pieces.push(piece);
        Ok(())
    }
}

/// v1.0.0 (a feature), then a fix and a feature not yet released.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    for (message, tag) in [
        ("feat: first feature", Some("v1.0.0")),
        ("fix: a crash on start", None),
        ("feat: second feature", None),
    ] {
        git(
            d,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        );
        if let Some(t) = tag {
            git(d, &["tag", t]);
        }
    }
    dir
}

fn run(
    dir: &Path,
    scope: Scope,
    template: Option<&str>,
    q: impl FnOnce(&mut Question),
    sink: &mut dyn Sink,
) -> Decision {
    let repo = Repo::discover(dir).unwrap();
    let cfg = Config::default();
    let collector = Collector::new(&repo, &cfg, None, Options::default()).unwrap();
    let renderer = template.map(|t| Renderer::load(t, &repo.root()).unwrap());
    let facts = Facts {
        collector: &collector,
        renderer: renderer.as_ref(),
        enricher: None,
    };
    let mut question = Question {
        scope,
        next_version: false,
        publish: false,
    };
    q(&mut question);
    decide(&facts, &question, sink).unwrap()
}

/// Every file under `dir` (but `.git/`'s index, which `git status` refreshes) and every ref.
fn snapshot(dir: &Path) -> String {
    let refs = git(dir, &["for-each-ref"]);
    let status = git(
        dir,
        &[
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
        ],
    );
    format!("{refs}\n{status}")
}

#[test]
fn unreleased_notes_come_to_the_sink_with_the_next_version_and_nothing_is_written() {
    let dir = repository();
    let before = snapshot(dir.path());
    let mut sink = Kept::default();
    let decision = run(
        dir.path(),
        Scope::Unreleased,
        Some("keepachangelog"),
        |_| (),
        &mut sink,
    );
    assert_eq!(sink.pieces.len(), 1);
    let Piece::Notes(notes) = &sink.pieces[0] else {
        panic!("markdown notes expected: {:?}", sink.pieces[0]);
    };
    assert!(notes.unreleased);
    assert!(notes.text.contains("second feature"), "{}", notes.text);
    assert!(notes.text.contains("a crash on start"), "{}", notes.text);
    assert!(!notes.text.contains("first feature"), "{}", notes.text);
    assert_eq!(notes.summary, None, "the sink did not ask for a summary");
    let next = decision
        .next
        .expect("unreleased commits have a next version");
    assert_eq!(next.version.as_deref(), Some("1.1.0"));
    assert_eq!(next.previous.as_deref(), Some("v1.0.0"));
    assert_eq!(decision.pieces, 1);
    assert_eq!(decision.publish_body, None, "not asked to publish");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "decide wrote into the repository"
    );
}

#[test]
fn a_sink_that_asks_for_summaries_gets_them_and_publish_keeps_the_first_notes() {
    let dir = repository();
    let mut sink = Kept {
        summaries: true,
        ..Kept::default()
    };
    let decision = run(
        dir.path(),
        Scope::Tag("v1.0.0".into()),
        Some("github"),
        |q| q.publish = true,
        &mut sink,
    );
    let [Piece::Notes(notes)] = sink.pieces.as_slice() else {
        panic!("one release expected: {:?}", sink.pieces);
    };
    assert!(notes.text.contains("first feature"), "{}", notes.text);
    let summary = notes.summary.as_deref().expect("asked for");
    assert!(summary.contains("first feature"), "{summary}");
    assert_eq!(decision.publish_body.as_deref(), Some(notes.text.as_str()));
    assert_eq!(
        decision.first,
        Some((Some("1.0.0".into()), None)),
        "the first release's version and its previous tag"
    );
}

#[test]
fn without_a_template_every_release_is_its_json_context() {
    let dir = repository();
    let mut sink = Kept::default();
    let decision = run(dir.path(), Scope::All, None, |_| (), &mut sink);
    assert_eq!(sink.pieces.len(), 2, "the unreleased commits and v1.0.0");
    for piece in &sink.pieces {
        let Piece::Json(json) = piece else {
            panic!("JSON expected: {piece:?}");
        };
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert!(v.is_object(), "{json}");
    }
    assert_eq!(decision.first, None, "no markdown notes were rendered");
}

#[test]
fn next_version_renders_no_release() {
    let dir = repository();
    let decision = run(
        dir.path(),
        Scope::Unreleased,
        None,
        |q| q.next_version = true,
        &mut NoPieces,
    );
    assert_eq!(decision.pieces, 0);
    assert_eq!(
        decision.next.and_then(|n| n.version).as_deref(),
        Some("1.1.0")
    );
}
