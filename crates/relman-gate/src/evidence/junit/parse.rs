//! One pass over a JUnit XML file with quick-xml's pull reader: no DOM, each `<testcase>`
//! handed to the caller as it closes, so memory follows the largest tag, not the report.
//!
//! The dialects differ only in details this reader absorbs: `<testsuites>` or `<testsuite>`
//! roots, suites nested in suites (Jest, Surefire), `<skipped>` with or without a message
//! (pytest), `file`/`line` on the test case (pytest xunit1, jest-junit `addFileAttribute`),
//! and re-runs (Surefire and cargo-nextest): `<flakyFailure>`/`<flakyError>` without a
//! `<failure>` means the test passed on a retry; `<rerunFailure>` next to a `<failure>` means
//! every retry failed.

use std::io::BufRead;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use relman_core::Error;

use super::frames::{Frame, Scanner};
use crate::evidence::report_text::{
    MAX_MESSAGE_CHARS, MAX_NAME_CHARS, check_head, cut, evidence, first_line, line_at, open,
};

/// A start tag this long is not a test report (a real one's longest is a failure message
/// attribute): refused so a hostile attribute cannot make relman hold it.
const MAX_TAG_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
    /// Failed, then passed on a retry.
    Flaky,
}

/// One test case as read.
#[derive(Debug, Default)]
pub(super) struct Case {
    pub name: String,
    pub classname: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// First line of the failure / error / skip message.
    pub message: String,
    /// Candidate locations read from the failure or error text, innermost first.
    pub frames: Vec<Frame>,
    failed: bool,
    errored: bool,
    skipped: bool,
    reran: bool,
}

impl Case {
    pub fn outcome(&self) -> Outcome {
        if self.failed {
            Outcome::Failed
        } else if self.errored {
            Outcome::Error
        } else if self.skipped {
            Outcome::Skipped
        } else if self.reran {
            Outcome::Flaky
        } else {
            Outcome::Passed
        }
    }
}

/// What is being read inside a `<testcase>`.
#[derive(Debug, Default)]
struct Open {
    case: Case,
    /// Depth of the `<failure>`/`<error>` whose text is being read, if any.
    text_depth: Option<usize>,
    /// The message attribute was missing: the text's first line is the message.
    message_from_text: bool,
    text: String,
    /// Frames are looked for only when the case has no `file`/`line` of its own.
    frames: Option<Scanner>,
}

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    Junit,
    /// Another report format that a broad glob (`reports/**/*.xml`) catches, named: not read.
    Other(&'static str),
}

/// Root elements of reports that sit next to JUnit files and are clearly not test results.
const OTHER_FORMATS: &[(&[u8], &str)] = &[
    (b"coverage", "a Cobertura coverage report"),
    (b"report", "a JaCoCo coverage report"),
    (b"checkstyle", "a Checkstyle report"),
    (b"pmd", "a PMD report"),
];

/// Reads `path`, calling `on_case` for every test case in document order.
pub(super) fn read(path: &Path, on_case: &mut dyn FnMut(Case)) -> Result<Read, Error> {
    let mut input = open(path)?;
    check_head(path, &mut input, "JUnit report")?;
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::with_capacity(1 << 12);
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut open_case: Option<Open> = None;
    // pytest writes the 0-based line of the test function (xunit1 `line`).
    let mut zero_based_lines = false;
    let located = |pos: u64, msg: String| evidence(path, line_at(path, pos), msg);
    loop {
        buf.clear();
        let pos = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position();
                return Err(located(at, format!("not well-formed XML: {e}")));
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if e.len() > MAX_TAG_BYTES {
                    return Err(located(
                        pos,
                        format!("a tag of {} bytes: not a test report", e.len()),
                    ));
                }
                let name = e.local_name();
                let name = name.as_ref();
                if !root_seen {
                    if let Some((_, what)) = OTHER_FORMATS.iter().find(|(n, _)| *n == name) {
                        return Ok(Read::Other(what));
                    }
                    if name != b"testsuites" && name != b"testsuite" {
                        let shown = cut(&String::from_utf8_lossy(name), 40);
                        return Err(located(
                            pos,
                            format!(
                                "root element <{shown}> is not <testsuites> or <testsuite>: not a JUnit report"
                            ),
                        ));
                    }
                    root_seen = true;
                }
                if !empty {
                    depth += 1;
                }
                let attr = |key: &[u8], max: usize| attribute(&reader, e, key, max);
                if name == b"testsuites" || name == b"testsuite" {
                    let suite = attr(b"name", 40).map_err(|m| located(pos, m))?;
                    zero_based_lines |= matches!(suite.as_deref(), Some("pytest" | "pytest tests"));
                }
                match (&mut open_case, name) {
                    (None, b"testcase") => {
                        let line_attr = attr(b"line", 20).map_err(|m| located(pos, m))?;
                        let case = Case {
                            name: attr(b"name", MAX_NAME_CHARS)
                                .map_err(|m| located(pos, m))?
                                .unwrap_or_default(),
                            classname: attr(b"classname", MAX_NAME_CHARS)
                                .map_err(|m| located(pos, m))?
                                .unwrap_or_default(),
                            file: attr(b"file", MAX_NAME_CHARS)
                                .map_err(|m| located(pos, m))?
                                .filter(|f| !f.is_empty()),
                            line: line_attr
                                .and_then(|l| l.trim().parse::<u32>().ok())
                                .map(|l| {
                                    if zero_based_lines {
                                        l.saturating_add(1)
                                    } else {
                                        l
                                    }
                                }),
                            ..Case::default()
                        };
                        if empty {
                            on_case(case);
                        } else {
                            open_case = Some(Open {
                                case,
                                ..Open::default()
                            });
                        }
                    }
                    (Some(open), b"failure" | b"error" | b"skipped") => {
                        let case = &mut open.case;
                        let first_problem = !case.failed && !case.errored;
                        match name {
                            b"failure" => case.failed = true,
                            b"error" => case.errored = true,
                            _ => case.skipped = true,
                        }
                        if first_problem || (name != b"skipped" && case.message.is_empty()) {
                            let message = attr(b"message", MAX_MESSAGE_CHARS * 4)
                                .map_err(|m| located(pos, m))?
                                .unwrap_or_default();
                            case.message = first_line(&message, MAX_MESSAGE_CHARS);
                            if !empty && name != b"skipped" && open.text_depth.is_none() {
                                open.text_depth = Some(depth);
                                open.message_from_text = case.message.is_empty();
                                open.text.clear();
                                if (case.file.is_none() || case.line.is_none())
                                    && case.frames.is_empty()
                                {
                                    open.frames = Some(Scanner::default());
                                }
                            }
                        }
                    }
                    (
                        Some(open),
                        b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError",
                    ) => open.case.reran = true,
                    _ => {}
                }
            }
            Event::End(ref e) => {
                if let Some(open) = open_case.as_mut() {
                    if open.text_depth == Some(depth) {
                        open.text_depth = None;
                        if open.message_from_text {
                            open.case.message = first_line(&open.text, MAX_MESSAGE_CHARS);
                        }
                        if let Some(scanner) = open.frames.take() {
                            open.case.frames = scanner.finish();
                        }
                    }
                    if e.local_name().as_ref() == b"testcase"
                        && let Some(open) = open_case.take()
                    {
                        on_case(open.case);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(ref t) => {
                if depth == 0 {
                    if t.iter().any(|b| !b.is_ascii_whitespace()) {
                        return Err(located(
                            pos,
                            "text outside the root element: not an XML report".into(),
                        ));
                    }
                } else if let Some(open) = keeping_text(&mut open_case) {
                    let text = t
                        .decode()
                        .map_err(|e| located(pos, format!("invalid text: {e}")))?;
                    open.push(&text);
                }
            }
            Event::CData(ref t) => {
                if let Some(open) = keeping_text(&mut open_case) {
                    open.push(&String::from_utf8_lossy(t));
                }
            }
            Event::GeneralRef(ref r) => {
                if let Some(open) = keeping_text(&mut open_case) {
                    let c = r.resolve_char_ref().ok().flatten();
                    let s = match (c, &**r) {
                        (Some(c), _) => c.to_string(),
                        (None, b"lt") => "<".into(),
                        (None, b"gt") => ">".into(),
                        (None, b"amp") => "&".into(),
                        (None, b"apos") => "'".into(),
                        (None, b"quot") => "\"".into(),
                        (None, other) => format!("&{};", String::from_utf8_lossy(other)),
                    };
                    open.push(&s);
                }
            }
            Event::Decl(ref d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(located(
                            pos,
                            format!(
                                "declares encoding {enc:?}: only UTF-8 reports are read (re-encode it as UTF-8)"
                            ),
                        ));
                    }
                }
            }
            // Entity definitions are how XML bombs expand; a test report never needs one.
            Event::DocType(_) => {
                return Err(located(
                    pos,
                    "DTDs are not accepted (<!DOCTYPE>): entity definitions are refused".into(),
                ));
            }
            Event::Eof => {
                if !root_seen {
                    return Err(evidence(
                        path,
                        None,
                        "no <testsuites> or <testsuite> element: not a JUnit report",
                    ));
                }
                if depth > 0 {
                    let end = reader.buffer_position();
                    return Err(located(
                        end,
                        format!("truncated: {depth} element(s) not closed at the end of the file"),
                    ));
                }
                return Ok(Read::Junit);
            }
            Event::Comment(_) | Event::PI(_) => {}
        }
    }
}

fn keeping_text(open: &mut Option<Open>) -> Option<&mut Open> {
    open.as_mut().filter(|o| o.text_depth.is_some())
}

impl Open {
    fn push(&mut self, text: &str) {
        if self.message_from_text {
            push_capped(&mut self.text, text);
        }
        if let Some(scanner) = self.frames.as_mut() {
            scanner.push(text);
        }
    }
}

/// Appends while under the cap: only the first line is kept, so the rest of a stack trace is
/// read past, not stored.
fn push_capped(text: &mut String, more: &str) {
    let room = (MAX_MESSAGE_CHARS * 4).saturating_sub(text.len());
    if room == 0 {
        return;
    }
    let mut end = more.len().min(room);
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    text.push_str(&more[..end]);
}

/// The attribute `key` unescaped, cut to `max` characters; `Err` holds the message.
fn attribute<R: BufRead>(
    reader: &Reader<R>,
    e: &BytesStart,
    key: &[u8],
    max: usize,
) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("invalid attribute: {e}"))?;
        if a.key.local_name().as_ref() == key {
            let v = a.decode_and_unescape_value(reader.decoder()).map_err(|e| {
                format!(
                    "invalid value of attribute {:?}: {e}",
                    String::from_utf8_lossy(key)
                )
            })?;
            return Ok(Some(cut(&v, max)));
        }
    }
    Ok(None)
}
