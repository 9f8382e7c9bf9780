//! A guarded quick-xml stream for coverage reports.
//!
//! Reports come from the build, so they are untrusted: nothing is ever expanded (a DOCTYPE
//! naming an external DTD, as JaCoCo writes, is fine; an internal subset or `<!ENTITY` is
//! refused, so entity bombs and external entities never get a chance), the whole file and
//! each single event are capped (a 500 MB attribute must not be buffered), and a document
//! that ends with elements still open is reported as truncated instead of silently counted.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use quick_xml::events::{BytesRef, Event};
use quick_xml::{Reader, escape};
use relman_core::Error;

use super::model::Ctx;
use crate::finding::MAX_EVIDENCE_BYTES;

/// Largest single tag, text or comment: real reports stay far below (a `<class>` tag is a
/// few hundred bytes), and it bounds what quick-xml buffers for one event.
pub(super) const MAX_EVENT_BYTES: u64 = 4 << 20;

/// What a report parser sees: start (or empty) tags with their attributes, end tags, and text.
#[derive(Debug)]
pub(super) enum Item<'a> {
    Open {
        name: &'a [u8],
        attrs: Attrs<'a>,
        empty: bool,
    },
    Close {
        name: &'a [u8],
    },
    Text(String),
}

/// The attributes of one tag, decoded on demand.
#[derive(Debug)]
pub(super) struct Attrs<'a> {
    start: &'a quick_xml::events::BytesStart<'a>,
    line: usize,
}

impl Attrs<'_> {
    /// The unescaped value of `key`, if present.
    pub(super) fn get(&self, cx: &Ctx, key: &str) -> Result<Option<String>, Error> {
        for attr in self.start.attributes() {
            let attr =
                attr.map_err(|e| cx.error(Some(self.line), format!("bad attribute: {e}")))?;
            if attr.key.as_ref() == key.as_bytes() {
                let value = attr
                    .unescape_value()
                    .map_err(|e| cx.error(Some(self.line), format!("attribute {key:?}: {e}")))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    /// The value of `key`, which must be present.
    pub(super) fn require(&self, cx: &Ctx, tag: &str, key: &str) -> Result<String, Error> {
        self.get(cx, key)?.ok_or_else(|| {
            cx.error(
                Some(self.line),
                format!("<{tag}> without the {key:?} attribute"),
            )
        })
    }
}

/// Streams `path` through `on(item, line)` and returns the root element's name. `on` sees the
/// root too.
pub(super) fn stream(
    cx: &Ctx,
    mut on: impl FnMut(Item<'_>, usize) -> Result<(), Error>,
) -> Result<String, Error> {
    let file = File::open(cx.path).map_err(|e| cx.read_error(e))?;
    let mut reader = Reader::from_reader(Guard::new(BufReader::new(file)));
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut root: Option<String> = None;
    let mut depth = 0usize;
    loop {
        buf.clear();
        reader.get_mut().start_event();
        let line = reader.get_ref().line;
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let guard = reader.get_ref();
                return Err(match &guard.refused {
                    Some(why) => cx.error(Some(guard.line), why.clone()),
                    None => cx.error(Some(guard.line), format!("not well-formed XML: {e}")),
                });
            }
        };
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(cx.error(
                            Some(line),
                            format!(
                                "encoding {enc:?} is not supported: re-encode the report as UTF-8"
                            ),
                        ));
                    }
                }
            }
            Event::DocType(dt) => {
                let text = String::from_utf8_lossy(dt.as_ref());
                if text.contains('[') || text.to_ascii_uppercase().contains("<!ENTITY") {
                    return Err(cx.error(
                        Some(line),
                        "DOCTYPE with an internal subset (entity declarations) is refused: \
                         reports never need one and it is how XML bombs work",
                    ));
                }
            }
            Event::Start(start) | Event::Empty(start) => {
                let name = start.local_name().into_inner();
                match &root {
                    Some(_) if depth == 0 => {
                        return Err(cx.error(Some(line), "a second root element"));
                    }
                    Some(_) => {}
                    None => root = Some(String::from_utf8_lossy(name).into_owned()),
                }
                if !empty {
                    depth += 1;
                }
                let attrs = Attrs {
                    start: &start,
                    line,
                };
                on(Item::Open { name, attrs, empty }, line)?;
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                on(
                    Item::Close {
                        name: end.local_name().into_inner(),
                    },
                    line,
                )?;
            }
            Event::Text(text) => {
                let raw = std::str::from_utf8(text.as_ref())
                    .map_err(|_| cx.error(Some(line), "invalid UTF-8 in text"))?;
                let value = escape::unescape(raw)
                    .map_err(|e| cx.error(Some(line), format!("text: {e}")))?;
                if !value.trim().is_empty() {
                    on(Item::Text(value.into_owned()), line)?;
                }
            }
            Event::CData(data) => {
                let value = std::str::from_utf8(data.as_ref())
                    .map_err(|_| cx.error(Some(line), "invalid UTF-8 in CDATA"))?;
                on(Item::Text(value.to_owned()), line)?;
            }
            Event::GeneralRef(reference) => {
                on(Item::Text(resolve(cx, &reference, line)?), line)?;
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    match root {
        None => Err(cx.error(None, "no XML element: empty or not XML")),
        Some(_) if depth > 0 => Err(cx.error(
            Some(reader.get_ref().line),
            format!("truncated: {depth} element(s) still open at the end of the file"),
        )),
        Some(root) => Ok(root),
    }
}

/// `&amp;`, `&#38;` and the other predefined references; anything else would need a DTD.
fn resolve(cx: &Ctx, reference: &BytesRef<'_>, line: usize) -> Result<String, Error> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Ok(c.to_string());
    }
    let name = String::from_utf8_lossy(reference.as_ref()).into_owned();
    match escape::resolve_xml_entity(&name) {
        Some(s) => Ok(s.to_owned()),
        None => Err(cx.error(
            Some(line),
            format!("reference to undeclared entity &{name}; (entities are never expanded)"),
        )),
    }
}

/// A `BufRead` that counts lines, caps the file and each event, and says why it refused.
struct Guard<R> {
    inner: R,
    total: u64,
    event: u64,
    /// 1-based line of the next unread byte.
    line: usize,
    refused: Option<String>,
}

impl<R: BufRead> Guard<R> {
    fn new(inner: R) -> Self {
        Guard {
            inner,
            total: 0,
            event: 0,
            line: 1,
            refused: None,
        }
    }

    fn start_event(&mut self) {
        self.event = 0;
    }

    fn refuse(&mut self, why: String) -> io::Error {
        self.refused = Some(why.clone());
        io::Error::new(io::ErrorKind::InvalidData, why)
    }
}

impl<R: BufRead> Read for Guard<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Guard<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.total > MAX_EVIDENCE_BYTES {
            return Err(self.refuse(format!("larger than {MAX_EVIDENCE_BYTES} bytes: refused")));
        }
        if self.event > MAX_EVENT_BYTES {
            return Err(self.refuse(format!(
                "a single tag or text longer than {MAX_EVENT_BYTES} bytes: refused"
            )));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let taken = &buf[..amount.min(buf.len())];
            self.line += taken.iter().filter(|&&b| b == b'\n').count();
        }
        self.total += amount as u64;
        self.event += amount as u64;
        self.inner.consume(amount);
    }
}
