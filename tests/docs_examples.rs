//! Every `.relman.yml` example in README.md and docs/gate.md passes `relman config check`,
//! which runs each check the concerns make before they run: an example a new user copies
//! must not be rejected later by the gate.

use std::path::Path;
use std::process::Command;

/// The fenced `yaml` blocks of `doc` whose first key is a `.relman.yml` section.
fn config_examples(doc: &str) -> Vec<(usize, String)> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).expect("read doc");
    let mut out = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut block {
            None if line.trim_start() == "```yaml" => block = Some((n + 2, String::new())),
            Some((start, body)) if line.trim_start() == "```" => {
                let first = body
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                    .unwrap_or_default();
                let key = first.split(':').next().unwrap_or_default();
                if ["changelog", "gate", "packages", "forge"].contains(&key) {
                    out.push((*start, std::mem::take(body)));
                }
                block = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_config_example_in_the_docs_passes_config_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut checked = 0;
    for doc in ["README.md", "docs/gate.md"] {
        let examples = config_examples(doc);
        assert!(!examples.is_empty(), "{doc}: no .relman.yml example found");
        for (line, body) in examples {
            let file = dir.path().join(format!("example-{checked}.yml"));
            std::fs::write(&file, &body).expect("write");
            let out = Command::new(env!("CARGO_BIN_EXE_relman"))
                .args(["config", "check"])
                .arg(&file)
                .current_dir(dir.path())
                .env("NO_COLOR", "1")
                .output()
                .expect("run relman");
            assert!(
                out.status.success(),
                "{doc}:{line}: the example fails `relman config check`:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked}");
}
