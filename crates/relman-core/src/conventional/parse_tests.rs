//! Tests of [`super::parse_message`] as a whole: headers, references, footers, reverts,
//! merges, squash splitting, and property tests that no input panics.
//!
//! Kept in their own file because they outweigh the parser itself, and most of them exercise
//! several of its modules at once through the public entry point.

use proptest::prelude::*;

use super::footer::is_reference_list;
use super::parse::{ParseOptions, parse_message};
use super::{Entry, Footer, Person, RefKind, Reference, Revert};

fn parse(s: &str) -> Vec<Entry> {
    parse_message(s.as_bytes(), &ParseOptions::default())
}

fn one(s: &str) -> Entry {
    let mut v = parse(s);
    assert_eq!(v.len(), 1, "{v:#?}");
    v.remove(0)
}

fn issue(number: u64, source: &str) -> Reference {
    Reference {
        kind: RefKind::Issue,
        number,
        source: source.to_owned(),
    }
}

fn mr(number: u64, source: &str) -> Reference {
    Reference {
        kind: RefKind::MergeRequest,
        number,
        source: source.to_owned(),
    }
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: name.to_owned(),
        email: email.to_owned(),
    }
}

// --- headers --------------------------------------------------------------------------

#[test]
fn simple_header() {
    let e = one("feat: add the thing");
    assert_eq!(e.kind.as_deref(), Some("feat"));
    assert_eq!(e.scope, None);
    assert!(!e.breaking);
    assert_eq!(e.description, "add the thing");
    assert_eq!(e.body, "");
    assert!(e.footers.is_empty());
    assert!(e.references.is_empty());
    assert!(!e.merge);
    assert_eq!(e.revert, None);
}

#[test]
fn full_header_with_scope_and_bang() {
    let e = one("Fix(API-v2)!:   drop the old route  \n");
    assert_eq!(e.kind.as_deref(), Some("fix"));
    assert_eq!(e.scope.as_deref(), Some("API-v2"));
    assert!(e.breaking);
    assert_eq!(e.breaking_description, None);
    assert_eq!(e.description, "drop the old route");
}

#[test]
fn type_with_digits_underscore_and_dash() {
    let e = one("my_type-2: x");
    assert_eq!(e.kind.as_deref(), Some("my_type-2"));
    assert_eq!(e.description, "x");
}

#[test]
fn leading_whitespace_on_header_tolerated() {
    let e = one("   \t feat(ui): button");
    assert_eq!(e.kind.as_deref(), Some("feat"));
    assert_eq!(e.scope.as_deref(), Some("ui"));
    assert_eq!(e.description, "button");
}

#[test]
fn leading_blank_lines_skipped() {
    let e = one("\n\n  \nfix: y\n");
    assert_eq!(e.kind.as_deref(), Some("fix"));
    assert_eq!(e.description, "y");
}

#[test]
fn not_conventional_headers() {
    for h in [
        "feat:no space",
        "feat : spaced colon",
        "feat(): empty scope",
        "feat( ): blank scope",
        "feat(a(b)): nested",
        "feat(a: unclosed",
        "1feat: digit first",
        "_feat: underscore first",
        "feat:   ",
        "feat!!: double bang",
        "feat(x)y: junk",
        "Update README.md",
        ": x",
    ] {
        let e = one(h);
        assert_eq!(e.kind, None, "{h}");
        assert_eq!(e.scope, None, "{h}");
        assert!(!e.breaking, "{h}");
        assert_eq!(e.description, h.trim(), "{h}");
    }
}

#[test]
fn non_conventional_description_is_first_line_trimmed() {
    let e = one("  Update the docs  \n\nSome body\n");
    assert_eq!(e.kind, None);
    assert_eq!(e.description, "Update the docs");
    assert_eq!(e.body, "Some body");
}

#[test]
fn empty_and_whitespace_messages() {
    for m in ["", " ", "\n\n", " \r\n\t\r "] {
        let v = parse(m);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0], Entry::default(), "{m:?}");
    }
}

#[test]
fn non_utf8_is_replaced() {
    let v = parse_message(b"feat: caf\xe9 \xff\n", &ParseOptions::default());
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].kind.as_deref(), Some("feat"));
    assert_eq!(v[0].description, "caf\u{FFFD} \u{FFFD}");
}

#[test]
fn crlf_and_cr_normalised() {
    let e = one("feat: a\r\n\r\nline one\r\nline two\rline three\r\n\r\nCloses #4\r\n");
    assert_eq!(e.description, "a");
    assert_eq!(e.body, "line one\nline two\nline three");
    assert_eq!(e.references, vec![issue(4, "Closes")]);
}

// --- PR suffix and references ------------------------------------------------------------

#[test]
fn pr_suffix_removed_and_recorded() {
    let e = one("feat(cli): add --json (#123)");
    assert_eq!(e.description, "add --json");
    assert_eq!(e.references, vec![issue(123, "subject")]);
}

#[test]
fn several_pr_suffixes() {
    let e = one("fix: x (#12) (#13)");
    assert_eq!(e.description, "x");
    assert_eq!(
        e.references,
        vec![issue(12, "subject"), issue(13, "subject")]
    );
}

#[test]
fn pr_suffix_on_non_conventional_header() {
    let e = one("Update deps (#7)");
    assert_eq!(e.kind, None);
    assert_eq!(e.description, "Update deps");
    assert_eq!(e.references, vec![issue(7, "subject")]);
}

#[test]
fn pr_suffix_needs_space_and_digits() {
    assert_eq!(one("fix: x(#12)").description, "x(#12)");
    assert_eq!(one("fix: x (#)").description, "x (#)");
    assert_eq!(one("fix: x (#1a)").description, "x (#1a)");
    // The whole description is never removed.
    assert_eq!(one("fix: (#12)").description, "(#12)");
}

#[test]
fn refs_in_subject_and_body() {
    let e = one(
        "fix: crash on #12 and GH-5\n\nSee !34, also (#12) again, gh-6.\nNot: a#1 x!2 #3abc C#4\n",
    );
    assert_eq!(
        e.references,
        vec![
            issue(12, "subject"),
            issue(5, "subject"),
            mr(34, "body"),
            issue(6, "body"),
        ]
    );
}

#[test]
fn refs_not_in_urls_or_headings() {
    let e = one(
        "docs: links\n\n# Title\n## 2 things\nhttps://github.com/o/r/issues/12#issuecomment-9 \
         see https://example.com/#13 and www.example.com/#14\n#15",
    );
    assert_eq!(e.references, vec![issue(15, "body")]);
}

#[test]
fn refs_deduplicated_keep_first() {
    let e = one("fix: x #12 (#12)\n\nAgain #12 and !12\n\nCloses #12");
    assert_eq!(e.references, vec![issue(12, "subject"), mr(12, "body")]);
}

#[test]
fn huge_numbers_ignored() {
    let e = one("fix: #99999999999999999999999 #1");
    assert_eq!(e.references, vec![issue(1, "subject")]);
}

// --- body and footers -------------------------------------------------------------------

#[test]
fn body_and_footers() {
    let e =
        one("feat: a\n\nFirst paragraph\nstill first.\n\n\nSecond.\n\nReviewed-by: Z\nRefs #7\n");
    assert_eq!(e.body, "First paragraph\nstill first.\n\n\nSecond.");
    assert_eq!(
        e.footers,
        vec![
            Footer {
                token: "Reviewed-by".into(),
                separator: ": ".into(),
                value: "Z".into()
            },
            Footer {
                token: "Refs".into(),
                separator: " #".into(),
                value: "7".into()
            },
        ]
    );
    assert_eq!(e.references, vec![issue(7, "Refs")]);
}

#[test]
fn body_paragraph_with_colon_is_not_a_footer_when_not_last() {
    let e = one("fix: a\n\nNote: this is prose.\n\nMore prose.");
    assert_eq!(e.body, "Note: this is prose.\n\nMore prose.");
    assert!(e.footers.is_empty());
}

#[test]
fn footer_value_continues_on_following_lines() {
    let e = one("fix: a\n\nbody\n\nBREAKING CHANGE: the config\n  moved elsewhere\nAcked-by: B");
    assert_eq!(e.body, "body");
    assert_eq!(e.footers.len(), 2);
    assert_eq!(e.footers[0].value, "the config\n  moved elsewhere");
    assert!(e.breaking);
    assert_eq!(
        e.breaking_description.as_deref(),
        Some("the config\n  moved elsewhere")
    );
    assert_eq!(e.footers[1].token, "Acked-by");
}

#[test]
fn several_footer_paragraphs() {
    let e = one("fix: a\n\nbody\n\nCloses: #1, #2\n\nSigned-off-by: A <a@x>");
    assert_eq!(e.body, "body");
    assert_eq!(e.footers.len(), 2);
    assert_eq!(e.references, vec![issue(1, "Closes"), issue(2, "Closes")]);
}

#[test]
fn breaking_change_footer_spans_paragraphs() {
    let e = one("feat: a\n\nbody\n\nBREAKING CHANGE: first\n\nmore explanation");
    assert_eq!(e.body, "body");
    assert!(e.breaking);
    assert_eq!(
        e.breaking_description.as_deref(),
        Some("first\n\nmore explanation")
    );
}

#[test]
fn breaking_change_with_empty_first_line() {
    let e = one("feat: a\n\nBREAKING CHANGE:\n  the API changed");
    assert!(e.breaking);
    assert_eq!(e.breaking_description.as_deref(), Some("the API changed"));
}

#[test]
fn breaking_change_hyphen_synonym() {
    let e = one("refactor: a\n\nBREAKING-CHANGE: gone");
    assert!(e.breaking);
    assert_eq!(e.breaking_description.as_deref(), Some("gone"));
    assert_eq!(e.footers[0].token, "BREAKING-CHANGE");
}

#[test]
fn breaking_change_must_be_upper_case() {
    let e = one("feat: a\n\nbreaking change: no");
    assert!(!e.breaking);
    assert_eq!(e.body, "breaking change: no");
}

#[test]
fn bang_and_footer_together() {
    let e = one("feat!: a\n\nBREAKING CHANGE: why");
    assert!(e.breaking);
    assert_eq!(e.breaking_description.as_deref(), Some("why"));
}

#[test]
fn footers_without_blank_line_after_header() {
    let e = one("fix: a\nCloses #9");
    assert_eq!(e.body, "");
    assert_eq!(e.references, vec![issue(9, "Closes")]);
}

#[test]
fn co_authors_parsed_and_deduplicated() {
    let e = one(
        "feat: a\n\nCo-authored-by: Ann <ann@x.org>\nco-authored-by: Bob <bob@x.org>\n\
         CO-AUTHORED-BY: Ann Again <ANN@x.org>\nCo-authored-by: Carl",
    );
    assert_eq!(
        e.co_authors,
        vec![
            person("Ann", "ann@x.org"),
            person("Bob", "bob@x.org"),
            person("Carl", "")
        ]
    );
}

#[test]
fn release_as_footer() {
    let e = one("chore: release\n\nRelease-As:  1.2.3  ");
    assert_eq!(e.release_as.as_deref(), Some("1.2.3"));
    let e = one("chore: release\n\nrelease-as: 2.0.0");
    assert_eq!(e.release_as.as_deref(), Some("2.0.0"));
}

#[test]
fn reference_footers_keep_token_as_written() {
    let e =
        one("fix: a\n\nfixes #1\nResolves: #2, GH-3\nRef: !4\nSee-also #5\nCLOSES #6\nPart-of #7");
    assert_eq!(
        e.references,
        vec![
            issue(1, "fixes"),
            issue(2, "Resolves"),
            issue(3, "Resolves"),
            mr(4, "Ref"),
            issue(5, "See-also"),
            issue(6, "CLOSES"),
            issue(7, "Part-of"),
        ]
    );
}

#[test]
fn hash_footer_needs_a_reference_list() {
    assert!(is_reference_list("12"));
    assert!(is_reference_list("12, #13 GH-4 !5."));
    assert!(!is_reference_list(""));
    assert!(!is_reference_list("12 is fixed"));
    assert!(!is_reference_list("abc"));
    let e = one("fix: a\n\nIssue #12 is fixed now.");
    assert!(e.footers.is_empty());
    assert_eq!(e.body, "Issue #12 is fixed now.");
    assert_eq!(e.references, vec![issue(12, "body")]);
}

#[test]
fn non_reference_footer_values_are_not_scanned() {
    let e = one("fix: a\n\nReviewed-by: Someone #1 fan");
    assert!(e.references.is_empty());
}

// --- reverts and merges -----------------------------------------------------------------

#[test]
fn conventional_revert() {
    let e = one("revert: feat(api): add x (#44)\n\nThis reverts commit 1a2b3c4d5e6f.\n");
    assert_eq!(e.kind.as_deref(), Some("revert"));
    assert_eq!(e.description, "feat(api): add x");
    assert_eq!(
        e.revert,
        Some(Revert {
            commit: Some("1a2b3c4d5e6f".into()),
            header: Some("feat(api): add x".into()),
        })
    );
    assert_eq!(e.references, vec![issue(44, "subject")]);
}

#[test]
fn git_revert() {
    let e = one("Revert \"feat: add x (#12)\" (#15)\n\nThis reverts commit \
         0123456789abcdef0123456789abcdef01234567.\n");
    assert_eq!(e.kind.as_deref(), Some("revert"));
    assert_eq!(e.scope, None);
    assert_eq!(e.description, "feat: add x");
    assert_eq!(
        e.revert,
        Some(Revert {
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            header: Some("feat: add x (#12)".into()),
        })
    );
    assert_eq!(
        e.references,
        vec![issue(12, "subject"), issue(15, "subject")]
    );
    assert_eq!(
        e.body,
        "This reverts commit 0123456789abcdef0123456789abcdef01234567."
    );
}

#[test]
fn git_revert_without_sha() {
    let e = one("Revert \"fix: y\"");
    assert_eq!(
        e.revert,
        Some(Revert {
            commit: None,
            header: Some("fix: y".into())
        })
    );
    assert_eq!(one("Revert \"\"").kind, None);
}

#[test]
fn merge_headers() {
    for h in [
        "Merge branch 'main' into feature",
        "Merge branches 'a' and 'b'",
        "Merge pull request #42 from someone/branch",
        "Merge remote-tracking branch 'origin/main'",
        "Merge tag 'v1.2.3'",
        "Merge commit 'abc123'",
    ] {
        let e = one(h);
        assert!(e.merge, "{h}");
        assert_eq!(e.kind, None, "{h}");
        assert_eq!(e.description, h, "{h}");
    }
    assert_eq!(
        one("Merge pull request #42 from someone/branch").references,
        vec![issue(42, "subject")]
    );
    assert!(!one("Merged the thing").merge);
}

#[test]
fn gitlab_merge_commit() {
    let e = one(
        "Merge branch 'feature' into 'main'\n\nfeat: add thing\n\nSee merge request group/sub/proj!34",
    );
    assert!(e.merge);
    assert_eq!(e.kind, None);
    assert_eq!(e.references, vec![mr(34, "body")]);
    assert_eq!(
        e.body,
        "feat: add thing\n\nSee merge request group/sub/proj!34"
    );
}

#[test]
fn merge_commits_are_not_split() {
    let v = parse("Merge pull request #5 from a/b\n\n* feat: x\n* fix: y");
    assert_eq!(v.len(), 1);
    assert!(v[0].merge);
}

// --- squash splitting -------------------------------------------------------------------

const SQUASH: &str = "feat(api): big change (#100)

Intro text.

* feat(api): big change

* fix: handle nulls (#98)
  with a detail line
  Closes #3

* chore: not conventional? yes it is
* Update README
  more words
* feat!: drop v1

* FIX: Handle Nulls

---------

Co-authored-by: Ann <ann@x.org>
Co-authored-by: Bob <bob@x.org>
BREAKING CHANGE: v1 routes are gone";

#[test]
fn squash_body_split() {
    let v = parse(SQUASH);
    let kinds: Vec<_> = v
        .iter()
        .map(|e| (e.kind.as_deref(), e.description.as_str(), e.breaking))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Some("feat"), "big change", true),
            (Some("fix"), "handle nulls", false),
            (Some("chore"), "not conventional? yes it is", false),
            (Some("feat"), "drop v1", true),
        ]
    );
    let head = &v[0];
    assert_eq!(head.scope.as_deref(), Some("api"));
    assert_eq!(head.body, "Intro text.\n\n* Update README\n  more words");
    assert_eq!(
        head.breaking_description.as_deref(),
        Some("v1 routes are gone")
    );
    assert_eq!(head.references, vec![issue(100, "subject")]);
    assert_eq!(head.footers.len(), 3);
    let both = vec![person("Ann", "ann@x.org"), person("Bob", "bob@x.org")];
    for e in &v {
        assert_eq!(e.co_authors, both, "{e:#?}");
    }
    let fix = &v[1];
    assert_eq!(fix.body, "with a detail line");
    assert_eq!(
        fix.references,
        vec![issue(98, "subject"), issue(3, "Closes")]
    );
    assert_eq!(fix.footers.len(), 1);
    assert_eq!(fix.breaking_description, None);
    assert!(v[2].footers.is_empty() && v[3].footers.is_empty());
    assert_eq!(v[3].breaking_description, None);
}

#[test]
fn squash_split_disabled() {
    let v = parse_message(
        b"feat: a\n\n* fix: b\n* fix: c",
        &ParseOptions {
            split_squash: false,
        },
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].body, "* fix: b\n* fix: c");
}

#[test]
fn squash_with_non_conventional_header_and_dash_bullets() {
    let v = parse("Big PR (#9)\n\n- fix: b\n- feat(x): c\n  - nested detail\n");
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].kind, None);
    assert_eq!(v[0].description, "Big PR");
    assert_eq!(v[0].body, "");
    assert_eq!(v[1].kind.as_deref(), Some("fix"));
    assert_eq!(v[2].scope.as_deref(), Some("x"));
    assert_eq!(v[2].body, "- nested detail");
}

#[test]
fn squash_without_conventional_bullets_is_not_split() {
    let v = parse("feat: a\n\n* one\n* two");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].body, "* one\n* two");
}

#[test]
fn squash_bullet_with_breaking_footer() {
    let v = parse("feat: a\n\n* feat: b\n  BREAKING CHANGE: c is gone");
    assert_eq!(v.len(), 2);
    assert!(!v[0].breaking);
    assert!(v[1].breaking);
    assert_eq!(v[1].breaking_description.as_deref(), Some("c is gone"));
}

#[test]
fn squash_duplicate_bullets_skipped() {
    let v = parse("fix: x (#1)\n\n* fix: x\n* fix: X \n* fix(s): x\n* feat: x");
    let keys: Vec<_> = v
        .iter()
        .map(|e| {
            (
                e.kind.as_deref(),
                e.scope.as_deref(),
                e.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![(Some("fix"), None, "x"), (Some("fix"), Some("s"), "x"),]
    );
    // Between items the type still tells changes apart.
    let v = parse("chore: y (#1)\n\n* fix: x\n* feat: x");
    assert_eq!(v.len(), 3);
}

#[test]
fn squash_items_keep_the_pull_request_link() {
    let v = parse("feat: a (#40)\n\n* fix: b\n* fix: c (#12)");
    assert_eq!(v[1].references, vec![issue(40, "subject")]);
    assert_eq!(v[2].references, vec![issue(12, "subject")]);
}

#[test]
fn squash_revert_cancels_the_item_it_reverts() {
    let v = parse(
        "build: node 12 (#1435)\n\n* feat!: use Node 12\n\n* fix: b\n\n\
         * Revert \"feat!: use Node 12\"\n\nThis reverts commit 0123456.\n\n\
         * revert: fix: unrelated",
    );
    let kinds: Vec<_> = v.iter().map(|e| e.kind.as_deref()).collect();
    assert_eq!(kinds, vec![Some("build"), Some("fix")]);
    assert!(v.iter().all(|e| !e.breaking && e.revert.is_none()));
}

#[test]
fn breaking_paragraph_before_bullets_stays_in_body() {
    let v = parse("feat: a\n\nBREAKING CHANGE: b\n\n* fix: c");
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].body, "BREAKING CHANGE: b");
    assert!(!v[0].breaking);
    assert_eq!(v[1].description, "c");
}

/// Speed budget: a typical three-line message well under 2 µs. Timing is meaningless in a
/// debug build, so run it on request:
/// `cargo test -p relman-core --release --lib -- --ignored --nocapture typical_message_speed`.
#[test]
#[ignore = "timing; run in release with --ignored"]
fn typical_message_speed() {
    let msg = b"feat(cli): add --json output (#123)\n\nPrints one JSON object per line.\n";
    let opts = ParseOptions::default();
    let n = 200_000u32;
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(parse_message(std::hint::black_box(msg), &opts));
    }
    let per = start.elapsed() / n;
    println!("parse_message: {per:?} per message");
    assert!(per < std::time::Duration::from_micros(2), "{per:?}");
}

// --- property tests ---------------------------------------------------------------------

fn check(message: &[u8]) -> Result<(), TestCaseError> {
    for opts in [
        ParseOptions::default(),
        ParseOptions {
            split_squash: false,
        },
    ] {
        let v = parse_message(message, &opts);
        prop_assert!(!v.is_empty());
        for e in &v {
            prop_assert!(!e.description.contains('\n'));
            prop_assert!(!e.description.contains('\r'));
            prop_assert!(!e.body.contains('\r'));
        }
    }
    Ok(())
}

const PIECES: &[&[u8]] = &[
    b"feat",
    b"fix",
    b"revert",
    b"Revert \"",
    b"\"",
    b"Merge branch ",
    b"(",
    b")",
    b"!",
    b":",
    b" ",
    b"  ",
    b"\t",
    b"\n",
    b"\n\n",
    b"\r\n",
    b"\r",
    b"BREAKING CHANGE",
    b"BREAKING-CHANGE",
    b"Co-authored-by",
    b"Release-As",
    b"Closes",
    b" #",
    b"#12",
    b"#",
    b"GH-5",
    b"!34",
    b"(#7)",
    b"* ",
    b"- ",
    b"x",
    b"scope",
    b"<a@b>",
    b"This reverts commit abc123.",
    b"See merge request g/p!3",
    b"https://",
    b"---",
    b"\xff",
    b"\xe9",
    b"\xc3",
    "é".as_bytes(),
    "\u{3000}".as_bytes(),
    b"9999999999999999999999",
];

fn message_like() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(PIECES), 0..60).prop_map(|ps| ps.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_bytes(bytes in any::<Vec<u8>>()) {
        check(&bytes)?;
    }

    #[test]
    fn never_panics_on_message_like(bytes in message_like()) {
        check(&bytes)?;
    }
}
