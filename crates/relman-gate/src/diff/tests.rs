use super::change;
use super::fixture::{Fixture, numbered};

fn file<'a>(c: &'a crate::Change, path: &str) -> &'a crate::ChangedFile {
    c.files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not in {:?}", c.files))
}

#[test]
fn first_release_counts_every_file_as_added() {
    let mut f = Fixture::new();
    f.write("a.txt", numbered(3));
    f.write("src/b.rs", "fn main() {}");
    f.commit("feat: start");
    f.write("src/b.rs", "fn main() {}\n// two\n");
    f.commit("fix: more");
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    assert_eq!(c.base, None);
    assert_eq!(c.base_sha, None);
    assert_eq!(c.commits, 2);
    assert_eq!(c.files.len(), 2);
    assert_eq!(file(&c, "a.txt").added, 3);
    assert_eq!(file(&c, "a.txt").added_lines, vec![1, 2, 3]);
    assert_eq!(file(&c, "src/b.rs").added, 2);
    assert_eq!(file(&c, "src/b.rs").removed, 0);
}

#[test]
fn base_is_the_last_release_and_lines_are_counted() {
    let mut f = Fixture::new();
    f.write("a.txt", numbered(10));
    f.write("gone.txt", numbered(4));
    f.commit("feat: one");
    f.tag("v1.0.0");
    f.write(
        "a.txt",
        numbered(10).replace("line 3\n", "three\n") + "line 11\n",
    );
    std::fs::remove_file(f.root().join("gone.txt")).expect("rm");
    f.write("new.txt", "x\ny\n");
    f.commit("fix: two");
    f.tag("v1.1.0-rc.1");
    f.commit("feat!: three");
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    assert_eq!(
        c.base.as_deref(),
        Some("v1.0.0"),
        "pre-releases are not bases"
    );
    assert_eq!(c.commits, 2);
    assert_eq!(c.breaking, 1);
    let a = file(&c, "a.txt");
    assert_eq!((a.added, a.removed), (2, 1));
    assert_eq!(a.added_lines, vec![3, 11]);
    let gone = file(&c, "gone.txt");
    assert_eq!((gone.added, gone.removed), (0, 4));
    assert_eq!(file(&c, "new.txt").added_lines, vec![1, 2]);
}

#[test]
fn a_tag_on_head_is_not_its_own_base() {
    let mut f = Fixture::new();
    f.write("a.txt", "1\n");
    f.commit("feat: one");
    f.tag("v1.0.0");
    f.write("a.txt", "2\n");
    f.commit("feat: two");
    f.tag("v1.1.0");
    let c = change(f.root(), None, "v1.1.0", "v").expect("change");
    assert_eq!(c.base.as_deref(), Some("v1.0.0"));
    assert_eq!(c.commits, 1);
    assert_eq!(file(&c, "a.txt").added_lines, vec![1]);
}

#[test]
fn explicit_base_and_other_prefixes() {
    let mut f = Fixture::new();
    f.write("a.txt", "1\n");
    let first = f.commit("feat: one");
    f.tag("api-v1.0.0");
    f.write("b.txt", "1\n");
    f.commit("feat: two");
    f.write("c.txt", "1\n");
    f.commit("feat: three");
    let c = change(f.root(), Some(&first), "HEAD", "v").expect("change");
    assert_eq!(c.base.as_deref(), Some(first.as_str()));
    assert_eq!(c.commits, 2);
    let none = change(f.root(), None, "HEAD", "v").expect("change");
    assert_eq!(none.base, None, "api-v tags are not v releases");
    let api = change(f.root(), None, "HEAD", "api-v").expect("change");
    assert_eq!(api.base.as_deref(), Some("api-v1.0.0"));
    assert!(change(f.root(), Some("nope"), "HEAD", "v").is_err());
}

#[test]
fn renames_count_under_the_new_path() {
    let mut f = Fixture::new();
    f.write("old/same.txt", numbered(20));
    f.write("old/edit.txt", numbered(20));
    f.commit("feat: one");
    f.tag("v1.0.0");
    std::fs::create_dir_all(f.root().join("new")).expect("mkdir");
    f.git(&["mv", "old/same.txt", "new/same.txt"]);
    f.git(&["mv", "old/edit.txt", "new/edit.txt"]);
    f.write("new/edit.txt", numbered(20).replace("line 7\n", "seven\n"));
    f.commit("refactor: move");
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    let paths: Vec<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["new/edit.txt", "new/same.txt"]);
    let same = file(&c, "new/same.txt");
    assert_eq!((same.added, same.removed), (0, 0));
    let edit = file(&c, "new/edit.txt");
    assert_eq!((edit.added, edit.removed), (1, 1));
    assert_eq!(edit.added_lines, vec![7]);
}

#[test]
fn binary_files_have_no_lines() {
    let mut f = Fixture::new();
    f.write("logo.png", b"\x89PNG\0\0\x01");
    f.commit("feat: logo");
    f.tag("v1.0.0");
    f.write("logo.png", b"\x89PNG\0\0\x02\n\n");
    f.commit("fix: logo");
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    let png = file(&c, "logo.png");
    assert_eq!((png.added, png.removed, png.added_lines.len()), (0, 0, 0));
}

#[test]
fn merged_hotfix_behind_a_newer_release() {
    let mut f = Fixture::new();
    f.write("a.txt", "1\n");
    f.commit("feat: one");
    f.tag("v1.0.0");
    f.git(&["checkout", "-q", "-b", "hotfix"]);
    f.write("h.txt", "h\n");
    f.commit("fix: hot");
    f.tag("v1.0.1");
    f.git(&["checkout", "-q", "main"]);
    f.write("b.txt", "b\n");
    f.commit("feat: two");
    f.tag("v1.1.0");
    f.git(&["merge", "-q", "--no-ff", "-m", "merge hotfix", "hotfix"]);
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    assert_eq!(c.base.as_deref(), Some("v1.1.0"));
    // `git log v1.1.0..HEAD`: the merge and the hotfix commit.
    assert_eq!(c.commits, 2);
    let paths: Vec<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["h.txt"]);
}

#[test]
fn large_diff_is_fast() {
    let mut f = Fixture::new();
    for i in 0..400 {
        f.write(&format!("d{}/f{i}.txt", i % 20), numbered(200));
    }
    f.commit("feat: many");
    f.tag("v1.0.0");
    for i in 0..400 {
        f.write(
            &format!("d{}/f{i}.txt", i % 20),
            numbered(200).replace("line 100\n", "changed\n"),
        );
    }
    f.commit("fix: all");
    let started = std::time::Instant::now();
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    assert_eq!(c.files.len(), 400);
    assert!(
        c.files
            .iter()
            .all(|f| f.added == 1 && f.removed == 1 && f.added_lines == [100])
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn line_counts_match_git_numstat() {
    let mut f = Fixture::new();
    let text: String = (1..=60)
        .map(|i| format!("fn f{i}() {{\n    {i}\n}}\n"))
        .collect();
    f.write("src/lib.rs", &text);
    f.write("README.md", numbered(30));
    f.commit("feat: one");
    f.tag("v1.0.0");
    let edited = text
        .replace("    7\n", "    seven\n    and more\n")
        .replace("fn f30() {\n    30\n}\n", "")
        .replace("fn f50()", "fn fifty()");
    f.write("src/lib.rs", edited);
    f.write("README.md", numbered(30).replace("line 1\n", "") + "tail\n");
    f.commit("fix: edits");
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    let numstat = f.git(&["diff", "--numstat", "-M", "v1.0.0", "HEAD"]);
    for row in numstat.lines() {
        let cols: Vec<&str> = row.split('\t').collect();
        let ours = file(&c, cols[2]);
        assert_eq!(
            (ours.added.to_string(), ours.removed.to_string()),
            (cols[0].to_string(), cols[1].to_string()),
            "{row}"
        );
    }
}

#[test]
fn squash_bodies_count_as_the_changelog_reads_them() {
    // A GitHub squash merge whose body lists a work-in-progress `feat!` that the PR reverted:
    // the changelog (split_squash: false by default) takes the PR title, so risk must too.
    let mut f = Fixture::new();
    f.write("a.txt", "1\n");
    f.commit("feat: one");
    f.tag("v1.0.0");
    f.write("a.txt", "2\n");
    let squash = "feat: export carts (#12)\n\n* feat!: drop the v1 endpoint\n\n* revert the endpoint removal\n";
    f.commit(squash);
    let c = change(f.root(), None, "HEAD", "v").expect("change");
    assert_eq!((c.commits, c.breaking), (1, 0));
    let split = super::change_with(
        f.root(),
        None,
        "HEAD",
        "v",
        relman_core::conventional::ParseOptions { split_squash: true },
    )
    .expect("change");
    assert_eq!((split.commits, split.breaking), (1, 1));
}
