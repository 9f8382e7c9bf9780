//! Where a failure happened, read from its text when the test case carries no `file`/`line`.
//!
//! Most reporters' default output puts the location only in the failure body: pytest's
//! `tests/test_x.py:14: AssertionError` (or `File "…", line 14` with `--tb=native`), Jest's and
//! Vitest's stack frames `at fn (src/x.test.js:12:5)` / `❯ x.test.js:4:39`, go test's
//! `    x_test.go:21: message`, Rust's `panicked at src/lib.rs:8:9`, Surefire's
//! `at com.acme.CartTest.total(CartTest.java:31)` and .NET's `in C:\src\X.cs:line 42`.
//!
//! The text streams past line by line (the reader never holds a whole stack trace); each line
//! gives at most one candidate frame. Frames are kept innermost first (where the failure
//! happened): stack traces print it first, Python tracebacks last, so theirs are reversed.
//! Which candidate is a file of this repository is decided later, against the checkout.

use std::collections::VecDeque;
use std::sync::LazyLock;

use regex::Regex;

use crate::evidence::report_text::{MAX_NAME_CHARS, cut};

/// Frames kept per failure, each side: a deep stack is mostly the framework's.
const MAX_FRAMES: usize = 48;

/// A line longer than this is not a traceback line (a minified bundle, a dumped payload):
/// read past, not scanned.
const MAX_LINE_BYTES: usize = 4096;

/// A candidate location of a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::evidence) struct Frame {
    /// As printed (absolute, relative to where the tool ran, or a bare file name).
    pub path: String,
    pub line: u32,
    /// For a JVM frame, the class whose package names the file's folder (`com.acme.CartTest`).
    pub class: Option<String>,
}

/// `File "/src/x.py", line 14` (a Python traceback, outermost call first).
static PYTHON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*File "([^"]+)", line (\d+)"#).expect("regex"));

/// `at com.acme.CartTest.total(CartTest.java:31)` (a JVM stack trace).
static JVM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at\s+([\w$.]+)\.[\w$<>-]+\(([\w$-]+\.(?:java|kt|kts|scala|groovy)):(\d+)\)")
        .expect("regex")
});

/// `at Shop.CartTest.Total() in /src/CartTest.cs:line 42` (.NET).
static DOTNET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*at .+ in (.+):line (\d+)\s*$").expect("regex"));

/// `path.ext:LINE` or `path.ext:LINE:COL` after a space, `(` or `[` or at the line's start,
/// and followed by `)`, `:`, a space or the end: pytest, go test, Jest, Vitest, Rust, tsc.
static LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\s(\[])(?:file://)?((?:[A-Za-z]:)?[^\s:()\[\]"'<>]*[^\s:()\[\]"'<>./\\]\.[A-Za-z][A-Za-z0-9]{0,9}):(\d+)(?::\d+)?(?:[):\s]|$)"#,
    )
    .expect("regex")
});

/// Collects the frames of one failure body as its text arrives.
#[derive(Debug, Default)]
pub(super) struct Scanner {
    line: String,
    overlong: bool,
    /// Innermost first (stack traces), the first [`MAX_FRAMES`].
    inner_first: Vec<Frame>,
    /// Outermost first (Python), the last [`MAX_FRAMES`].
    outer_first: VecDeque<Frame>,
}

impl Scanner {
    pub fn push(&mut self, mut text: &str) {
        while let Some(i) = text.find('\n') {
            self.append(&text[..i]);
            self.end_line();
            text = &text[i + 1..];
        }
        self.append(text);
    }

    /// The candidates, innermost first.
    pub fn finish(mut self) -> Vec<Frame> {
        self.end_line();
        let mut frames = self.inner_first;
        frames.extend(self.outer_first.into_iter().rev());
        frames
    }

    fn append(&mut self, s: &str) {
        if self.overlong || self.line.len() + s.len() > MAX_LINE_BYTES {
            self.overlong = true;
            return;
        }
        self.line.push_str(s);
    }

    fn end_line(&mut self) {
        if !self.overlong
            && let Some((frame, outer_first)) = frame_in(&self.line)
            && !in_dependency(&frame.path)
        {
            if outer_first {
                if self.outer_first.len() == MAX_FRAMES {
                    self.outer_first.pop_front();
                }
                self.outer_first.push_back(frame);
            } else if self.inner_first.len() < MAX_FRAMES {
                self.inner_first.push(frame);
            }
        }
        self.line.clear();
        self.overlong = false;
    }
}

/// The frame a line names, and whether its tool prints the outermost call first.
fn frame_in(line: &str) -> Option<(Frame, bool)> {
    let frame = |path: &str, line: &str, class: Option<&str>| {
        Some(Frame {
            path: cut(path.trim(), MAX_NAME_CHARS),
            line: line.parse().ok().filter(|&l| l > 0)?,
            class: class.map(str::to_string),
        })
    };
    if let Some(c) = PYTHON.captures(line) {
        return Some((frame(&c[1], &c[2], None)?, true));
    }
    if let Some(c) = JVM.captures(line) {
        return Some((frame(&c[2], &c[3], Some(&c[1]))?, false));
    }
    if let Some(c) = DOTNET.captures(line) {
        return Some((frame(&c[1], &c[2], None)?, false));
    }
    let c = LOCATION.captures(line)?;
    let python = c[1].ends_with(".py");
    Some((frame(&c[1], &c[2], None)?, python))
}

/// Frames in installed dependencies and toolchains are never the repository's code, even when
/// a virtualenv or `node_modules` sits inside the checkout.
fn in_dependency(path: &str) -> bool {
    path.split(['/', '\\']).any(|c| {
        matches!(
            c,
            "node_modules" | "site-packages" | "dist-packages" | ".cargo" | ".rustup" | "rustc"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<(String, u32)> {
        let mut s = Scanner::default();
        // Split mid-line, as XML entities split the reader's text events.
        let (a, b) = text.split_at(text.len() / 2);
        s.push(a);
        s.push(b);
        s.finish().into_iter().map(|f| (f.path, f.line)).collect()
    }

    #[test]
    fn each_dialect() {
        let f = |p: &str, l| (p.to_string(), l);
        assert_eq!(
            scan("E  assert 1\n\ntests/a.py:11: \n_ _ _\nsrc/b.py:3: ValueError"),
            [f("src/b.py", 3), f("tests/a.py", 11)]
        );
        assert_eq!(
            scan(
                "Traceback:\n  File \"/v/site-packages/x.py\", line 9, in f\n  File \"/b/t.py\", line 7, in t\n"
            ),
            [f("/b/t.py", 7)]
        );
        assert_eq!(
            scan(
                "Error: x\n    at Object.<anonymous> (/b/x.test.js:5:32)\n    at run (/b/node_modules/j/a.js:1:2)"
            ),
            [f("/b/x.test.js", 5)]
        );
        assert_eq!(scan(" ❯ s.test.ts:4:39\n"), [f("s.test.ts", 4)]);
        assert_eq!(
            scan("    cart_test.go:21: total = 41, want 42"),
            [f("cart_test.go", 21)]
        );
        assert_eq!(
            scan(
                "thread 't' panicked at src/lib.rs:8:9:\n at /rustc/abc/library/core/src/panicking.rs:80:14"
            ),
            [f("src/lib.rs", 8)]
        );
        let mut s = Scanner::default();
        s.push("org.x.Failed\n\tat com.acme.CartTest$Inner.total(CartTest.java:31)\n");
        assert_eq!(
            s.finish(),
            [Frame {
                path: "CartTest.java".into(),
                line: 31,
                class: Some("com.acme.CartTest$Inner".into())
            }]
        );
        assert_eq!(
            scan("   at Shop.T.Total() in C:\\src\\T.cs:line 42"),
            [f("C:\\src\\T.cs", 42)]
        );
    }

    #[test]
    fn not_locations() {
        assert!(scan("expected 1.5:2 ratio, see http://x.org:80/a.html and v1.2:3").is_empty());
        assert!(scan("line 0: x.py:0: nothing").is_empty());
        let long = format!("{} src/a.rs:3:1\nsrc/b.rs:4:1", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(scan(&long), [("src/b.rs".to_string(), 4)]);
    }

    #[test]
    fn frames_are_bounded() {
        let mut s = Scanner::default();
        for i in 1..=1000 {
            s.push(&format!(
                "  at f (src/a{i}.js:{i}:1)\n  File \"p{i}.py\", line {i}\n"
            ));
        }
        let frames = s.finish();
        assert_eq!(frames.len(), 2 * MAX_FRAMES);
        assert_eq!(frames[0].path, "src/a1.js");
        // Python: the innermost (last printed) survive.
        assert_eq!(frames[MAX_FRAMES].path, "p1000.py");
    }
}
