//! End-to-end fixtures for `relman`, in the style of git-cliff's fixture suite.
//!
//! Each directory `tests/fixtures/<name>/` holds:
//!
//! - `commit.sh` (required): builds a repository. It runs with bash in an empty directory
//!   (`<tmp>/repo`) with a fixed environment: author/committer names, e-mails and dates, `HOME`
//!   set to `<tmp>/home`, `GIT_CONFIG_NOSYSTEM=1`, `LC_ALL=C`, and `FIXTURE` set to the fixture
//!   directory (absolute). Scripts source `$FIXTURE/../lib.sh` for `commit`, `tag`, `atag`, ...
//! - `relman.yml` (optional): copied to `.relman.yml` in `<tmp>/repo` *before* `commit.sh` runs
//!   (untracked, unless the script commits it).
//! - `cmd` (required): one line, the arguments of `relman` (whitespace-split; single and double
//!   quotes group words; `#` lines are ignored).
//! - `workdir` (optional): a directory, relative to `<tmp>/repo`, to run relman in.
//! - `expected.out`: relman's stdout. `expected.err` (optional): its stderr; not compared when
//!   the file is absent. `expected.code` (optional, default 0): its exit code.
//! - `after.sh` (optional): runs after relman, in the same directory and environment plus
//!   `RELMAN` (the binary); its stdout is compared with `expected.after`.
//! - `known-bug` (optional): the fixture documents a relman bug; a mismatch is printed as a note
//!   and the test passes (when it matches, a note asks to remove the marker).
//!
//! relman runs with every `GITHUB_*`, `CI_*`, `GITLAB_*` and `GIT_*` variable removed (links come
//! only from the fixture's repository), `NO_COLOR=1`, `RELMAN_LOG` unset. The temporary
//! directory's path is replaced with `$TMP` in everything compared.
//!
//! On a mismatch the test fails with the fixture name and a diff.
//!
//! **Updating**: `UPDATE_EXPECT=1 cargo test --test fixtures` rewrites the expected files with
//! what relman printed (`expected.err` is written when it exists or stderr is not empty,
//! `expected.code` when it exists or the code is not 0). Read every rewritten file before
//! committing it: the expected files are the specification, not a recording.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Fixed identity and start time; `lib.sh`'s `commit` moves the dates forward.
const ENV: &[(&str, &str)] = &[
    ("GIT_AUTHOR_NAME", "Alice Author"),
    ("GIT_AUTHOR_EMAIL", "alice@example.com"),
    ("GIT_COMMITTER_NAME", "Carl Committer"),
    ("GIT_COMMITTER_EMAIL", "carl@example.com"),
    ("GIT_AUTHOR_DATE", "@1700000000 +0000"),
    ("GIT_COMMITTER_DATE", "@1700000000 +0000"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_EDITOR", "true"),
    ("EDITOR", "true"),
    ("LC_ALL", "C"),
    ("TZ", "UTC"),
    ("NO_COLOR", "1"),
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A command with the inherited environment scrubbed of CI and git variables.
fn scrubbed(program: impl AsRef<std::ffi::OsStr>, tmp: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("GITHUB_")
            || k.starts_with("CI_")
            || k.starts_with("GITLAB_")
            || k.starts_with("GIT_")
            || k.starts_with("RELMAN_")
            || k.starts_with("XDG_")
            || k == "CI"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.envs(ENV.iter().copied());
    cmd.env("HOME", tmp.join("home"));
    cmd.stdin(Stdio::null());
    cmd
}

/// Splits a command line into words: whitespace separates, quotes group, `\` escapes in
/// double quotes and outside quotes.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// A line diff (LCS), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let show = |l: &str| {
        let mut s = l
            .strip_suffix('\n')
            .map_or_else(|| format!("{l}⏎(no newline)"), str::to_owned);
        s = s.replace('\r', "\\r");
        s
    };
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push_str(&format!("  {}\n", show(a[i])));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", show(a[i])));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", show(b[j])));
            j += 1;
        }
    }
    out
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn text(bytes: &[u8], tmp: &Path) -> String {
    let s = String::from_utf8_lossy(bytes).into_owned();
    // Both the path as given and as resolved (macOS /var vs /private/var).
    let mut s = s.replace(&tmp.display().to_string(), "$TMP");
    if let Ok(canon) = tmp.canonicalize() {
        s = s.replace(&canon.display().to_string(), "$TMP");
    }
    s
}

/// Compares (or, when updating, rewrites) one expected file.
fn compare_file(
    fixture: &Path,
    name: &str,
    update: bool,
    failures: &mut Vec<String>,
    file: &str,
    actual: String,
    always_write: bool,
) {
    let path = fixture.join(file);
    let expected = read_opt(&path);
    if update {
        if (expected.is_some() || always_write) && expected.as_deref() != Some(actual.as_str()) {
            std::fs::write(&path, &actual).expect("write expected file");
            eprintln!("fixture {name}: rewrote {file}");
        }
        return;
    }
    let Some(expected) = expected else {
        if always_write {
            failures.push(format!("{file}: missing; relman gave:\n{actual}"));
        }
        return;
    };
    if expected != actual {
        failures.push(format!(
            "{file} differs (- expected, + actual):\n{}",
            diff(&expected, &actual)
        ));
    }
}

fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"))
}

/// Runs one fixture; `Err` holds the report of every mismatch.
fn check(name: &str) -> Result<(), String> {
    let fixture = fixtures_dir().join(name);
    assert!(
        fixture.is_dir(),
        "no fixture directory {}",
        fixture.display()
    );
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let tmp_dir = tempfile::Builder::new()
        .prefix("relman-fixture-")
        .tempdir()
        .expect("temp dir");
    let tmp = tmp_dir.path();
    let repo = tmp.join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir repo");
    std::fs::create_dir_all(tmp.join("home")).expect("mkdir home");

    if fixture.join("relman.yml").is_file() {
        std::fs::copy(fixture.join("relman.yml"), repo.join(".relman.yml"))
            .expect("copy relman.yml");
    }

    let setup = run(
        scrubbed("bash", tmp)
            .arg(fixture.join("commit.sh"))
            .current_dir(&repo)
            .env("FIXTURE", &fixture),
        "commit.sh",
    );
    if !setup.status.success() {
        return Err(format!(
            "fixture {name}: commit.sh failed ({})\n--- stdout\n{}--- stderr\n{}",
            setup.status,
            String::from_utf8_lossy(&setup.stdout),
            String::from_utf8_lossy(&setup.stderr)
        ));
    }

    let cmd_line = std::fs::read_to_string(fixture.join("cmd")).expect("fixture has a cmd file");
    let args: Vec<String> = cmd_line
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(split_words)
        .collect();
    let workdir = match read_opt(&fixture.join("workdir")) {
        Some(w) => repo.join(w.trim()),
        None => repo.clone(),
    };
    let relman = env!("CARGO_BIN_EXE_relman");
    let out = run(
        scrubbed(relman, tmp)
            .args(&args)
            .current_dir(&workdir)
            .env("FIXTURE", &fixture),
        "relman",
    );

    let mut failures: Vec<String> = Vec::new();
    let compare = |failures: &mut Vec<String>, file: &str, actual: String, always_write: bool| {
        compare_file(&fixture, name, update, failures, file, actual, always_write);
    };

    let stdout = text(&out.stdout, tmp);
    let stderr = text(&out.stderr, tmp);
    let code = out
        .status
        .code()
        .map_or_else(|| format!("{}", out.status), |c| c.to_string());
    compare(&mut failures, "expected.out", stdout, true);
    compare(
        &mut failures,
        "expected.err",
        stderr.clone(),
        !stderr.is_empty() && update,
    );
    let expected_code = read_opt(&fixture.join("expected.code"))
        .map_or_else(|| "0".to_string(), |c| c.trim().to_string());
    if update {
        if (code != "0" || fixture.join("expected.code").exists()) && expected_code != code {
            std::fs::write(fixture.join("expected.code"), format!("{code}\n"))
                .expect("write expected.code");
            eprintln!("fixture {name}: rewrote expected.code");
        }
    } else if expected_code != code {
        failures.push(format!(
            "exit code: expected {expected_code}, got {code}\n--- stderr\n{stderr}"
        ));
    }

    if fixture.join("after.sh").is_file() {
        let after = run(
            scrubbed("bash", tmp)
                .arg(fixture.join("after.sh"))
                .current_dir(&workdir)
                .env("FIXTURE", &fixture)
                .env("RELMAN", relman),
            "after.sh",
        );
        if !after.status.success() {
            failures.push(format!(
                "after.sh failed ({})\n--- stderr\n{}",
                after.status,
                String::from_utf8_lossy(&after.stderr)
            ));
        }
        compare(
            &mut failures,
            "expected.after",
            text(&after.stdout, tmp),
            true,
        );
    }

    if failures.is_empty() {
        return Ok(());
    }
    Err(format!(
        "fixture {name} (relman {}) failed:\n{}",
        args.join(" "),
        failures.join("\n")
    ))
}

fn fixture(name: &str) {
    let known_bug = fixtures_dir().join(name).join("known-bug");
    match check(name) {
        Ok(()) if known_bug.exists() => {
            eprintln!(
                "note: fixture {name} is marked known-bug but passes: remove {}",
                known_bug.display()
            );
        }
        Ok(()) => {}
        Err(report) if known_bug.exists() => {
            let why = read_opt(&known_bug).unwrap_or_default();
            eprintln!(
                "note: fixture {name} fails as expected (known bug: {})\n{report}",
                why.trim()
            );
        }
        Err(report) => panic!("{report}"),
    }
}

macro_rules! fixtures {
    ($($test:ident => $dir:literal,)*) => {
        $(
            #[test]
            fn $test() {
                fixture($dir);
            }
        )*

        /// Every fixture directory is listed above (a new one cannot be silently skipped).
        #[test]
        fn every_fixture_is_listed() {
            let listed: BTreeSet<&str> = [$($dir),*].into_iter().collect();
            let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
                .expect("tests/fixtures")
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("cmd").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let missing: Vec<&String> = on_disk.iter().filter(|d| !listed.contains(d.as_str())).collect();
            assert!(missing.is_empty(), "fixtures not listed in tests/fixtures.rs: {missing:?}");
        }
    };
}

#[test]
fn split_words_handles_quotes() {
    assert_eq!(
        split_words(r#"changelog --range 'a b'.. "c\"d" e\ f"#),
        vec!["changelog", "--range", "a b..", "c\"d", "e f"]
    );
    assert!(split_words("  ").is_empty());
    assert_eq!(split_words("x ''"), vec!["x", ""]);
}

fixtures! {
    gate_bad_evidence => "gate-bad-evidence",
    gate_env_base => "gate-env-base",
    gate_base_deployment => "gate-base-deployment",
    gate_freeze_override => "gate-freeze-override",
    gate_go => "gate-go",
    gate_nogo => "gate-nogo",
    gate_unknown_policy => "gate-unknown-policy",
    all_history => "all-history",
    annotated_lightweight => "annotated-lightweight",
    bad_range => "bad-range",
    bad_range_three_dots => "bad-range-three-dots",
    bad_range_unknown_rev => "bad-range-unknown-rev",
    config_bad_regex => "config-bad-regex",
    config_check_bad => "config-check-bad",
    config_check_gate => "config-check-gate",
    config_invalid_utf8 => "config-invalid-utf8",
    config_check_good => "config-check-good",
    config_unknown_key => "config-unknown-key",
    config_wrong_type => "config-wrong-type",
    conventional_features => "conventional-features",
    conventional_features_github => "conventional-features-github",
    custom_groups => "custom-groups",
    format_json => "format-json",
    links_file_remote => "links-file-remote",
    merge_history => "merge-history",
    merge_history_tag => "merge-history-tag",
    merge_history_unreleased => "merge-history-unreleased",
    same_second_merge => "same-second-merge",
    publish_local => "publish-local",
    publish_needs_tag => "publish-needs-tag",
    message_empty => "message-empty",
    message_encodings => "message-encodings",
    multi_tag_one_commit => "multi-tag-one-commit",
    multi_tag_rc => "multi-tag-rc",
    next_version_breaking => "next-version-breaking",
    next_version_breaking_footer => "next-version-breaking-footer",
    next_version_breaking_pre1 => "next-version-breaking-pre1",
    next_version_breaking_pre1_major => "next-version-breaking-pre1-major",
    next_version_feat => "next-version-feat",
    next_version_fix => "next-version-fix",
    next_version_no_tags => "next-version-no-tags",
    next_version_no_tags_unreleased => "next-version-no-tags-unreleased",
    next_version_nothing => "next-version-nothing",
    next_version_perf => "next-version-perf",
    next_version_pre => "next-version-pre",
    next_version_pre_again => "next-version-pre-again",
    next_version_release_as => "next-version-release-as",
    not_a_repo => "not-a-repo",
    output_changelog => "output-changelog",
    output_changelog_release => "output-changelog-release",
    package_api => "package-api",
    package_merges => "package-merges",
    package_unreleased => "package-unreleased",
    package_web_tag => "package-web-tag",
    range => "range",
    range_open => "range-open",
    reverts => "reverts",
    next_version_maint_branch => "next-version-maint-branch",
    next_version_maint_branch_bump => "next-version-maint-branch-bump",
    next_version_taken_elsewhere => "next-version-taken-elsewhere",
    next_version_at_tag_parent => "next-version-at-tag-parent",
    squash_reverted_breaking => "squash-reverted-breaking",
    squash_split_pr_link => "squash-split-pr-link",
    revert_hidden_chore => "revert-hidden-chore",
    next_version_reverted_feat => "next-version-reverted-feat",
    range_releases => "range-releases",
    tag_not_release => "tag-not-release",
    contributors_two_emails => "contributors-two-emails",
    all_unreachable_tags => "all-unreachable-tags",
    shallow_clone => "shallow-clone",
    shallow_clone_enough => "shallow-clone-enough",
    squash_merge => "squash-merge",
    tag_render => "tag-render",
    tags_non_semver => "tags-non-semver",
    template_github => "template-github",
    template_gitlab => "template-gitlab",
    template_keepachangelog_links => "template-keepachangelog-links",
    template_syntax_error => "template-syntax-error",
    template_undefined_var => "template-undefined-var",
    template_user => "template-user",
    unconventional_drop => "unconventional-drop",
    unconventional_keep => "unconventional-keep",
    unknown_package => "unknown-package",
    unknown_tag => "unknown-tag",
    unknown_template => "unknown-template",
    unreleased_basic => "unreleased-basic",
}
