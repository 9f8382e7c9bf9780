//! One report file: checked for size and encoding, its format told from its content, parsed.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use relman_core::Error;

use super::model::{Coverage, Ctx};
use super::xml::{self, Item};
use super::{cobertura, jacoco, lcov};
use crate::evidence::files;
use crate::finding::MAX_EVIDENCE_BYTES;

/// Report formats, told apart by content (file names vary too much: `coverage.xml`,
/// `lcov.info`, `jacocoTestReport.xml`, `cobertura.xml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Cobertura,
    Jacoco,
    Lcov,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Cobertura => "Cobertura XML",
            Format::Jacoco => "JaCoCo XML",
            Format::Lcov => "LCOV",
        }
    }
}

/// Reads the report at `path` (joined to `root`).
pub fn read(path: &Path, root: &Path) -> Result<(Format, Coverage), Error> {
    let cx = Ctx {
        path,
        shown: files::relative(root, path).into(),
        root,
    };
    let meta = std::fs::metadata(path).map_err(|e| cx.read_error(e))?;
    if meta.len() > MAX_EVIDENCE_BYTES {
        return Err(cx.error(
            None,
            format!(
                "{} bytes, larger than {MAX_EVIDENCE_BYTES}: refused",
                meta.len()
            ),
        ));
    }
    let mut head = Vec::with_capacity(4096);
    File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| cx.read_error(e))?;
    match sniff(&cx, &head)? {
        Sniffed::Lcov => Ok((Format::Lcov, lcov::parse(&cx)?)),
        Sniffed::Xml => parse_xml(&cx),
    }
}

enum Sniffed {
    Xml,
    Lcov,
}

/// The kind of file from its first bytes; XML is told apart by its root element later.
fn sniff(cx: &Ctx, head: &[u8]) -> Result<Sniffed, Error> {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(cx.error(
            Some(1),
            "UTF-16 encoded (byte order mark): re-encode the report as UTF-8",
        ));
    }
    if head.contains(&0) {
        return Err(cx.error(
            Some(1),
            "contains NUL bytes: binary, or UTF-16/32 without a byte order mark; reports must be UTF-8",
        ));
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(text);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(cx.error(None, "empty file: no coverage data"));
    }
    if trimmed.starts_with('<') {
        return Ok(Sniffed::Xml);
    }
    if ["TN:", "SF:", "VER:"]
        .iter()
        .any(|t| trimmed.starts_with(t))
    {
        return Ok(Sniffed::Lcov);
    }
    Err(cx.error(
        Some(1),
        "not a coverage report: expected Cobertura or JaCoCo XML, or LCOV (TN:/SF: lines)",
    ))
}

enum XmlParser {
    Unknown,
    Cobertura(cobertura::Parser),
    Jacoco(jacoco::Parser),
}

fn parse_xml(cx: &Ctx) -> Result<(Format, Coverage), Error> {
    let mut parser = XmlParser::Unknown;
    xml::stream(cx, |item, line| {
        if let (XmlParser::Unknown, Item::Open { name, .. }) = (&parser, &item) {
            parser = match *name {
                b"coverage" => XmlParser::Cobertura(cobertura::Parser::default()),
                b"report" => XmlParser::Jacoco(jacoco::Parser::default()),
                other => {
                    return Err(cx.error(
                        Some(line),
                        format!(
                            "root element <{}>: neither Cobertura (<coverage>) nor JaCoCo (<report>)",
                            String::from_utf8_lossy(other)
                        ),
                    ));
                }
            };
        }
        match &mut parser {
            XmlParser::Cobertura(p) => p.on(cx, item, line),
            XmlParser::Jacoco(p) => p.on(cx, item, line),
            XmlParser::Unknown => Ok(()),
        }
    })?;
    match parser {
        XmlParser::Cobertura(p) => Ok((Format::Cobertura, p.finish(cx))),
        XmlParser::Jacoco(p) => Ok((Format::Jacoco, p.finish())),
        XmlParser::Unknown => Err(cx.error(None, "no root element")),
    }
}
