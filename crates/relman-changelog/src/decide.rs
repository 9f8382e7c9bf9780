//! Deciding the notes: history → releases → groups → template, one rendered piece per release,
//! and the next version.
//!
//! It only reads (the repository, the template, the forge's pull-request links). Every effect —
//! stdout, outputs, the job summary, CHANGELOG.md, the release on the forge, the audit record —
//! is [`crate::apply`]'s, so a caller (a release plan, a test) can have the notes without them.
//! Pieces are handed to a [`Sink`] as each release is rendered: a history of hundreds of
//! releases is never held in memory.

use relman_core::Error;
use relman_forge::Forge;

use crate::collect::{Collector, NextVersion, Scope};
use crate::enrich;
use crate::render::Renderer;

/// What the notes are made from.
pub struct Facts<'a> {
    pub collector: &'a Collector<'a>,
    /// The template; `None` renders each release's template context as JSON.
    pub renderer: Option<&'a Renderer>,
    /// Where pull-request links come from; `None` when no forge is asked (`--all`, offline).
    pub enricher: Option<&'a dyn Forge>,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("collector", &self.collector)
            .field("json", &self.renderer.is_none())
            .field("enricher", &self.enricher.map(|e| e.name()))
            .finish()
    }
}

/// What is asked.
#[derive(Debug, Clone)]
pub struct Question {
    pub scope: Scope,
    /// Only the next version: no release is rendered.
    pub next_version: bool,
    /// Keep the first release's notes: the body of the release `--publish` writes.
    pub publish: bool,
}

/// One release, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// `--format json`: the release's template context, pretty-printed.
    Json(String),
    /// The release's notes from the template.
    Notes(Notes),
}

/// A release's notes and what the CHANGELOG.md section and the outputs need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notes {
    pub version: Option<String>,
    pub previous: Option<String>,
    pub unreleased: bool,
    /// Plain markdown: commit text as written.
    pub text: String,
    /// The job-summary rendering (commit text escaped: a summary is a web page), when the
    /// sink asked for it.
    pub summary: Option<String>,
}

/// Where rendered releases go, newest first.
pub trait Sink {
    /// Whether the next release also needs its job-summary rendering (a second render: asked
    /// only on a CI runner, and only until the summary is full).
    fn wants_summary(&self) -> bool;
    fn take(&mut self, piece: Piece) -> Result<(), Error>;
}

/// What the run found besides the pieces.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// The next version, when the scope includes unreleased commits.
    pub next: Option<NextVersion>,
    /// `--all`: release tags the tip's history does not contain, oldest first.
    pub unreachable: Vec<String>,
    /// The first release rendered as notes: its version and previous tag.
    pub first: Option<(Option<String>, Option<String>)>,
    /// With [`Question::publish`]: the first release's notes.
    pub publish_body: Option<String>,
    /// How many pieces the sink took.
    pub pieces: usize,
}

/// Renders the releases `question` asks for into `sink`.
pub fn decide(facts: &Facts, question: &Question, sink: &mut dyn Sink) -> Result<Decision, Error> {
    let mut decision = Decision::default();
    let outcome = facts.collector.run(&question.scope, &mut |mut release| {
        if question.next_version {
            return Ok(());
        }
        if let Some(f) = facts.enricher {
            enrich::apply(f, &mut release);
        }
        if release.meta.unreleased && release.commit_count == 0 {
            return Ok(());
        }
        let piece =
            match facts.renderer {
                None => Piece::Json(serde_json::to_string_pretty(&release).map_err(|e| {
                    Error::Bug(format!("a release's template context as JSON: {e}"))
                })?),
                Some(r) => {
                    let (version, previous, unreleased) = (
                        release.meta.version.clone(),
                        release.meta.previous_tag.clone(),
                        release.meta.unreleased,
                    );
                    let summary = match sink.wants_summary() {
                        true => Some(r.render_summary(release.clone())?),
                        false => None,
                    };
                    // The renderer consumes the release (its entries become template objects).
                    let text = r.render(release)?;
                    if question.publish && decision.publish_body.is_none() {
                        decision.publish_body = Some(text.clone());
                    }
                    if decision.first.is_none() {
                        decision.first = Some((version.clone(), previous.clone()));
                    }
                    Piece::Notes(Notes {
                        version,
                        previous,
                        unreleased,
                        text,
                        summary,
                    })
                }
            };
        decision.pieces += 1;
        sink.take(piece)
    })?;
    decision.next = outcome.next;
    decision.unreachable = outcome.unreachable;
    Ok(decision)
}

/// The sink of `--next-version`, which renders no release: a piece reaching it is a bug.
#[derive(Debug)]
pub struct NoPieces;

impl Sink for NoPieces {
    fn wants_summary(&self) -> bool {
        false
    }

    fn take(&mut self, _: Piece) -> Result<(), Error> {
        Err(Error::Bug("--next-version rendered a release".into()))
    }
}

#[cfg(test)]
mod tests;
