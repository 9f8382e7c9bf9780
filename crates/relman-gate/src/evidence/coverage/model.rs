//! Coverage as every format reduces to it: per repository-relative file, per line, hits and
//! branches; and the report being read, for located errors and path mapping.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use relman_core::Error;

/// The report being read.
#[derive(Debug)]
pub(super) struct Ctx<'a> {
    /// Where to open it.
    pub path: &'a Path,
    /// How errors name it (relative to the repository root).
    pub shown: PathBuf,
    pub root: &'a Path,
}

impl Ctx<'_> {
    pub fn error(&self, line: Option<usize>, message: impl Into<String>) -> Error {
        Error::Evidence {
            path: self.shown.clone(),
            line,
            message: message.into(),
        }
    }

    pub fn read_error(&self, source: std::io::Error) -> Error {
        Error::Read {
            path: self.shown.clone(),
            source,
        }
    }

    /// A report path as a repository-relative, `/`-separated path: absolute paths under the
    /// root lose the root; others are normalized (`./`, `..`) and kept as they are, since a
    /// report made in another checkout (a container's `/app`) is matched by suffix later.
    pub fn repo_path(&self, raw: &str) -> String {
        let raw = raw.replace('\\', "/");
        let p = Path::new(&raw);
        if p.is_absolute() {
            for root in [self.root.to_path_buf(), canonical(self.root)] {
                if let Ok(rel) = p.strip_prefix(&root) {
                    return normalize(rel);
                }
            }
        }
        normalize(p)
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

fn normalize(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for c in p.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => absolute = true,
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() && !absolute {
                    parts.push("..".into());
                }
            }
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// One executable line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCov {
    pub hits: u64,
    /// Branches (covered, total) on this line, when the report has branch data.
    pub branches: Option<(u64, u64)>,
}

/// One source file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCov {
    /// Executable lines by 1-based number.
    pub lines: BTreeMap<u32, LineCov>,
    /// Branch totals (covered, total) given only per file (LCOV `BRH`/`BRF` without `BRDA`).
    pub file_branches: Option<(u64, u64)>,
}

impl FileCov {
    /// Adds a line's data. A line in several reports (or twice in one) is covered when any
    /// says so; hits add up. Which branches were taken is not known across formats, so the
    /// merged count keeps the best single observation rather than over-counting.
    pub fn add(&mut self, number: u32, line: LineCov) {
        let entry = self.lines.entry(number).or_default();
        entry.hits = entry.hits.saturating_add(line.hits);
        entry.branches = match (entry.branches, line.branches) {
            (Some((c1, t1)), Some((c2, t2))) => Some((c1.max(c2), t1.max(t2))),
            (a, b) => a.or(b),
        };
    }

    pub fn merge(&mut self, other: FileCov) {
        for (n, l) in other.lines {
            self.add(n, l);
        }
        self.file_branches = match (self.file_branches, other.file_branches) {
            (Some((c1, t1)), Some((c2, t2))) => Some((c1.max(c2), t1.max(t2))),
            (a, b) => a.or(b),
        };
    }

    /// (covered, total) executable lines.
    pub fn line_totals(&self) -> (u64, u64) {
        let covered = self.lines.values().filter(|l| l.hits > 0).count() as u64;
        (covered, self.lines.len() as u64)
    }

    /// (covered, total) branches, `None` when the file has no branch data.
    pub fn branch_totals(&self) -> Option<(u64, u64)> {
        let mut seen = false;
        let (mut c, mut t) = (0u64, 0u64);
        for (bc, bt) in self.lines.values().filter_map(|l| l.branches) {
            seen = true;
            // Counts come from the report: a hostile one must not overflow.
            c = c.saturating_add(bc.min(bt));
            t = t.saturating_add(bt);
        }
        if seen {
            Some((c, t))
        } else {
            self.file_branches
        }
    }
}

/// Coverage of a whole run: every report merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub files: BTreeMap<String, FileCov>,
}

impl Coverage {
    pub fn file(&mut self, path: String) -> &mut FileCov {
        self.files.entry(path).or_default()
    }

    pub fn merge(&mut self, other: Coverage) {
        for (path, f) in other.files {
            self.file(path).merge(f);
        }
    }

    /// The report's file for a repository path: the same path, else the one that is a
    /// suffix of the other on a `/` boundary (a report made in another checkout, or JaCoCo's
    /// package-relative `com/acme/Foo.java` for `src/main/java/com/acme/Foo.java`); the
    /// longest such match wins.
    pub fn lookup(&self, repo_path: &str) -> Option<&FileCov> {
        if let Some(f) = self.files.get(repo_path) {
            return Some(f);
        }
        self.files
            .iter()
            .filter(|(p, _)| is_suffix(p, repo_path) || is_suffix(repo_path, p))
            .max_by_key(|(p, _)| p.len().min(repo_path.len()))
            .map(|(_, f)| f)
    }
}

/// `short` is `long` or a trailing run of its components.
fn is_suffix(short: &str, long: &str) -> bool {
    let short = short.trim_start_matches('/');
    !short.is_empty()
        && long.ends_with(short)
        && (long.len() == short.len() || long[..long.len() - short.len()].ends_with('/'))
}

/// Percent with two decimals. Thresholds compare this rounded value so that what the report
/// shows (`80.00%`) and the verdict never disagree.
pub fn percent(covered: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| (covered as f64 * 10000.0 / total as f64).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_unions_hits_and_keeps_best_branch_observation() {
        let mut a = FileCov::default();
        a.add(
            1,
            LineCov {
                hits: 0,
                branches: Some((1, 2)),
            },
        );
        a.add(
            2,
            LineCov {
                hits: 3,
                branches: None,
            },
        );
        let mut b = FileCov::default();
        b.add(
            1,
            LineCov {
                hits: 2,
                branches: Some((2, 2)),
            },
        );
        b.add(
            3,
            LineCov {
                hits: 0,
                branches: None,
            },
        );
        a.merge(b);
        assert_eq!(a.line_totals(), (2, 3));
        assert_eq!(a.branch_totals(), Some((2, 2)));
        assert_eq!(a.lines[&1].hits, 2);
    }

    #[test]
    fn lookup_matches_suffixes_on_component_boundaries() {
        let mut cov = Coverage::default();
        cov.file("com/acme/Foo.java".into());
        cov.file("/app/src/x.py".into());
        assert!(cov.lookup("src/main/java/com/acme/Foo.java").is_some());
        assert!(cov.lookup("src/x.py").is_some());
        assert!(cov.lookup("rc/x.py").is_none());
        assert!(cov.lookup("Foo.java.bak").is_none());
    }

    #[test]
    fn paths_lose_the_root_and_dots() {
        let root = Path::new("/work/repo");
        let cx = Ctx {
            path: root,
            shown: PathBuf::new(),
            root,
        };
        assert_eq!(cx.repo_path("/work/repo/src/a.py"), "src/a.py");
        assert_eq!(cx.repo_path("./src/../lib/b.rs"), "lib/b.rs");
        assert_eq!(cx.repo_path("/elsewhere/c.py"), "/elsewhere/c.py");
        assert_eq!(cx.repo_path("src\\win.cs"), "src/win.cs");
    }

    #[test]
    fn percent_rounds_to_two_decimals() {
        assert_eq!(percent(2, 3), Some(66.67));
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(4, 5), Some(80.0));
    }
}
