//! Coverage of the lines added or modified since the base.
//!
//! Only lines the report knows as executable count: a changed comment or blank line is
//! neither covered nor uncovered.

use std::collections::BTreeSet;

use super::model::Coverage;
use crate::context::Change;
use crate::finding::{Annotation, AnnotationLevel, MAX_ANNOTATIONS};

/// One changed file found in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedFile {
    pub path: String,
    pub covered: u64,
    pub total: u64,
    /// Uncovered changed lines as inclusive ranges.
    pub uncovered: Vec<(u32, u32)>,
}

/// Changed-line coverage of a change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changed {
    /// Changed files the report covers and that have executable changed lines.
    pub files: Vec<ChangedFile>,
    /// Changed files with added lines that the report does not mention.
    pub missing: Vec<String>,
    /// Changed files with added lines that the report mentions (with or without executable
    /// changed lines).
    pub found: usize,
}

impl Changed {
    pub fn of(cov: &Coverage, change: &Change) -> Changed {
        let mut out = Changed::default();
        for file in change.files.iter().filter(|f| !f.added_lines.is_empty()) {
            let Some(report) = cov.lookup(&file.path) else {
                out.missing.push(file.path.clone());
                continue;
            };
            out.found += 1;
            let added: BTreeSet<u32> = file.added_lines.iter().copied().collect();
            let (mut covered, mut total) = (0, 0);
            let mut uncovered: Vec<(u32, u32)> = Vec::new();
            for &n in &added {
                let Some(line) = report.lines.get(&n) else {
                    continue;
                };
                total += 1;
                if line.hits > 0 {
                    covered += 1;
                    continue;
                }
                // Extend the previous range when everything between is changed and not
                // executable (a blank line or a comment inside a new function).
                match uncovered.last_mut() {
                    Some((_, end))
                        if (*end + 1..n)
                            .all(|k| added.contains(&k) && !report.lines.contains_key(&k)) =>
                    {
                        *end = n;
                    }
                    _ => uncovered.push((n, n)),
                }
            }
            if total > 0 {
                out.files.push(ChangedFile {
                    path: file.path.clone(),
                    covered,
                    total,
                    uncovered,
                });
            }
        }
        out
    }

    /// (covered, total) executable changed lines.
    pub fn totals(&self) -> (u64, u64) {
        self.files
            .iter()
            .fold((0, 0), |(c, t), f| (c + f.covered, t + f.total))
    }

    /// The files with the lowest changed-line coverage first (then the most uncovered lines).
    pub fn least_covered(&self) -> Vec<&ChangedFile> {
        let mut v: Vec<&ChangedFile> = self.files.iter().filter(|f| f.covered < f.total).collect();
        v.sort_by(|a, b| {
            let ra = a.covered as f64 / a.total as f64;
            let rb = b.covered as f64 / b.total as f64;
            ra.total_cmp(&rb)
                .then((b.total - b.covered).cmp(&(a.total - a.covered)))
                .then(a.path.cmp(&b.path))
        });
        v
    }

    /// A warning per uncovered range, at most [`MAX_ANNOTATIONS`].
    pub fn annotations(&self) -> Vec<Annotation> {
        self.files
            .iter()
            .flat_map(|f| f.uncovered.iter().map(move |r| (f, *r)))
            .take(MAX_ANNOTATIONS)
            .map(|(f, (start, end))| Annotation {
                level: AnnotationLevel::Warning,
                file: Some(f.path.clone()),
                line: Some(start),
                title: "Changed lines not covered".into(),
                message: if start == end {
                    format!("Line {start} was added or changed and no test runs it.")
                } else {
                    format!("Lines {start}-{end} were added or changed and no test runs them.")
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ChangedFile as Diff;
    use crate::evidence::coverage::model::LineCov;

    fn cov(lines: &[(u32, u64)]) -> Coverage {
        let mut c = Coverage::default();
        let f = c.file("src/a.py".into());
        for &(n, hits) in lines {
            f.add(
                n,
                LineCov {
                    hits,
                    branches: None,
                },
            );
        }
        c
    }

    fn change(path: &str, lines: &[u32]) -> Change {
        Change {
            files: vec![Diff {
                path: path.into(),
                added: lines.len() as u64,
                removed: 0,
                added_lines: lines.to_vec(),
            }],
            ..Change::default()
        }
    }

    #[test]
    fn ranges_skip_changed_non_executable_lines_but_not_covered_ones() {
        // 1 covered; 2, 4 uncovered with 3 blank between; 5 covered; 6 uncovered.
        let c = cov(&[(1, 1), (2, 0), (4, 0), (5, 3), (6, 0), (9, 0)]);
        let ch = Changed::of(&c, &change("src/a.py", &[1, 2, 3, 4, 5, 6, 9]));
        assert_eq!(ch.files[0].uncovered, [(2, 4), (6, 6), (9, 9)]);
        assert_eq!(ch.totals(), (2, 6));
        let notes = ch.annotations();
        assert_eq!(notes.len(), 3);
        assert_eq!(notes[0].line, Some(2));
        assert!(notes[0].message.contains("Lines 2-4"));
    }

    #[test]
    fn files_outside_the_report_are_listed_not_counted() {
        let c = cov(&[(1, 1)]);
        let ch = Changed::of(&c, &change("docs/README.md", &[1, 2]));
        assert_eq!(ch.missing, ["docs/README.md"]);
        assert_eq!(ch.totals(), (0, 0));
    }
}
