//! Test repositories built with the `git` command in a temporary directory.

use std::path::Path;
use std::process::Command;

/// A scratch repository; commits get increasing, fixed dates.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    tick: u32,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let f = Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
            tick: 0,
        };
        f.git(&["init", "-q", "-b", "main"]);
        f
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn git(&self, args: &[&str]) -> String {
        self.run(args, self.tick)
    }

    /// Runs git with a fixed identity and both dates at `tick`.
    fn run(&self, args: &[&str], tick: u32) -> String {
        let date = format!("@{} +0000", 1_767_225_600 + tick);
        let out = Command::new("git")
            .args(args)
            .current_dir(self.root())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub(crate) fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let p = self.root().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, content).expect("write");
    }

    /// Stages everything and commits with `message`.
    pub(crate) fn commit(&mut self, message: &str) -> String {
        self.tick += 60;
        self.git(&["add", "-A"]);
        self.run(&["commit", "-q", "--allow-empty", "-m", message], self.tick);
        self.git(&["rev-parse", "HEAD"])
    }

    pub(crate) fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }
}

/// `n` numbered lines, `line 1\n` … .
pub(crate) fn numbered(n: u32) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}
