//! LCOV tracefiles (`geninfo`, cargo-llvm-cov `--lcov`, coverage.py `coverage lcov`, c8,
//! Istanbul): `SF:` starts a file, `DA:line,hits`, `BRDA:line,block,branch,taken`,
//! `end_of_record` closes it.
//!
//! Record types relman does not need (`FN:`, `LF:`, newer ones) are skipped so that a newer
//! lcov still reads; a line that is not a record at all is an error, since it means the file is
//! not what it claims to be.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use relman_core::Error;

use super::model::{Coverage, Ctx, FileCov, LineCov};
use super::xml::MAX_EVENT_BYTES;
use crate::finding::MAX_EVIDENCE_BYTES;

pub(super) fn parse(cx: &Ctx) -> Result<Coverage, Error> {
    let file = File::open(cx.path).map_err(|e| cx.read_error(e))?;
    let mut input = BufReader::new(file).take(MAX_EVIDENCE_BYTES + 1);
    let mut cov = Coverage::default();
    let mut current: Option<Record> = None;
    let mut last_record_line = 0;
    let mut raw = Vec::new();
    let mut n = 0usize;
    loop {
        raw.clear();
        let read = (&mut input)
            .take(MAX_EVENT_BYTES)
            .read_until(b'\n', &mut raw)
            .map_err(|e| cx.read_error(e))?;
        if read == 0 {
            break;
        }
        n += 1;
        if raw.last() != Some(&b'\n') && read as u64 == MAX_EVENT_BYTES {
            return Err(cx.error(Some(n), format!("line longer than {MAX_EVENT_BYTES} bytes")));
        }
        if input.limit() == 0 {
            return Err(cx.error(
                None,
                format!("larger than {MAX_EVIDENCE_BYTES} bytes: refused"),
            ));
        }
        let text = std::str::from_utf8(&raw)
            .map_err(|_| cx.error(Some(n), "not UTF-8 text"))?
            .trim();
        if text.is_empty() {
            continue;
        }
        if text == "end_of_record" {
            let Some(record) = current.take() else {
                return Err(cx.error(Some(n), "end_of_record without SF:"));
            };
            let (path, f) = record.finish();
            cov.file(path).merge(f);
            last_record_line = n;
            continue;
        }
        let Some((tag, value)) = text.split_once(':').filter(|(t, _)| is_tag(t)) else {
            return Err(cx.error(Some(n), format!("not an LCOV record: {:?}", clip(text))));
        };
        let bad = |what: &str| cx.error(Some(n), format!("{tag}:{value}: {what}"));
        match tag {
            "SF" => {
                if current.is_some() {
                    return Err(cx.error(Some(n), "SF: inside a record (missing end_of_record)"));
                }
                current = Some(Record::new(cx.repo_path(value.trim())));
            }
            "DA" | "BRDA" | "BRF" | "BRH" => {
                let Some(r) = current.as_mut() else {
                    return Err(cx.error(Some(n), format!("{tag}: before SF:")));
                };
                let fields: Vec<&str> = value.split(',').map(str::trim).collect();
                match tag {
                    "DA" => {
                        let (Some(line), Some(hits)) = (fields.first(), fields.get(1)) else {
                            return Err(bad("expected DA:<line>,<hits>"));
                        };
                        let line: u32 = line.parse().map_err(|_| bad("line is not a number"))?;
                        let hits = count(hits).ok_or_else(|| bad("hits is not a count"))?;
                        if line > 0 {
                            r.file.add(
                                line,
                                LineCov {
                                    hits,
                                    branches: None,
                                },
                            );
                        }
                    }
                    "BRDA" => {
                        // The branch id is free text for some producers (coverage.py
                        // writes `jump to line 7`), so only the ends are positional.
                        let (Some(&line), Some(&taken), true) =
                            (fields.first(), fields.last(), fields.len() >= 4)
                        else {
                            return Err(bad("expected BRDA:<line>,<block>,<branch>,<taken>"));
                        };
                        let line: u32 = line.parse().map_err(|_| bad("line is not a number"))?;
                        let taken = if taken == "-" {
                            0
                        } else {
                            count(taken).ok_or_else(|| bad("taken is not a count or -"))?
                        };
                        if line > 0 {
                            let (c, t) = r.branches.entry(line).or_default();
                            *c += u64::from(taken > 0);
                            *t += 1;
                        }
                    }
                    _ => {
                        let v = value.trim().parse().map_err(|_| bad("not a count"))?;
                        if tag == "BRF" {
                            r.brf = Some(v)
                        } else {
                            r.brh = Some(v)
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(r) = current {
        return Err(cx.error(
            Some(n),
            format!("truncated: the record of {} has no end_of_record (last complete record ends on line {last_record_line})", r.path),
        ));
    }
    Ok(cov)
}

/// One `SF:` … `end_of_record` block being read.
struct Record {
    path: String,
    file: FileCov,
    /// Branches (taken, total) per line from `BRDA`, attached to the lines at the end.
    branches: BTreeMap<u32, (u64, u64)>,
    brf: Option<u64>,
    brh: Option<u64>,
}

impl Record {
    fn new(path: String) -> Self {
        Record {
            path,
            file: FileCov::default(),
            branches: BTreeMap::new(),
            brf: None,
            brh: None,
        }
    }

    fn finish(mut self) -> (String, FileCov) {
        for (line, (taken, total)) in self.branches {
            // A branch on a line without `DA:` still makes the line executable; it ran if
            // any branch was taken.
            let entry = self.file.lines.entry(line).or_insert(LineCov {
                hits: u64::from(taken > 0),
                branches: None,
            });
            entry.branches = Some((taken, total));
        }
        if let (Some(total), Some(hit)) = (self.brf, self.brh) {
            self.file.file_branches = Some((hit.min(total), total));
        }
        (self.path, self.file)
    }
}

/// `TN`, `SF`, `BRDA`, `FNL`: what LCOV record tags look like.
fn is_tag(t: &str) -> bool {
    !t.is_empty() && t.len() <= 16 && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// A hit count; gcov may write large counts in exponent form, which round-trip through f64.
fn count(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().or_else(|| {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}
