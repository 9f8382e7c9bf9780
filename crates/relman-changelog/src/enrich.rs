//! Enrichment from the forge: the pull/merge request each entry came from, with its link, its
//! author's login and whether it is their first contribution (`first_time_contributors`). One batched lookup per release (GitHub: ⌈N/50⌉ GraphQL requests; GitLab:
//! one listing of the merged MRs of the window), never one request per commit. Without a
//! forge, or when it fails, the notes are still made from git alone, with a warning.

use relman_core::Error;
use relman_forge::Forge;

use crate::release::{Link, Release};

/// Adds `pull_request` to every entry the forge knows a PR/MR for. Returns whether it did.
pub fn apply(forge: &dyn Forge, release: &mut Release) -> bool {
    let shas: Vec<String> = release
        .groups
        .iter()
        .flat_map(|g| g.entries.iter().map(|i| i.id.clone()))
        .collect();
    if shas.is_empty() {
        return true;
    }
    let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
    let found = match forge.pull_requests_for_commits(&refs) {
        Ok(found) => found,
        Err(Error::Unsupported { .. }) => return false,
        Err(e) => {
            tracing::warn!(
                "{}: no pull request links in the notes: {}",
                forge.name(),
                relman_core::cli::chain_message(&e)
            );
            return false;
        }
    };
    for item in release.groups.iter_mut().flat_map(|g| g.entries.iter_mut()) {
        // The PR that merged the commit: the earliest merged one, else the first listed.
        let Some(pr) = found.get(&item.id).and_then(|prs| {
            prs.iter()
                .filter(|p| p.merged_at.is_some())
                .min_by(|a, b| a.merged_at.cmp(&b.merged_at))
                .or_else(|| prs.first())
        }) else {
            continue;
        };
        let (sigil, number) = match forge.name() {
            "gitlab" => ("!", pr.number),
            _ => ("#", pr.number),
        };
        let text = format!("{sigil}{number}");
        // The PR suffix `(#12)` is already a link to the same number: give it the PR's URL
        // instead of adding a second one.
        match item
            .links
            .iter_mut()
            .find(|l| l.text == text || l.text == format!("#{number}"))
        {
            Some(l) => l.url = Some(pr.url.clone()),
            None => item.links.insert(
                0,
                Link {
                    text,
                    url: Some(pr.url.clone()),
                },
            ),
        }
        item.pull_request = Some(pr.clone());
    }
    release.first_time_contributors = first_timers(release);
    let by_id: std::collections::HashMap<String, _> = release
        .groups
        .iter()
        .flat_map(|g| g.entries.iter())
        .map(|i| (i.id.clone(), (i.pull_request.clone(), i.links.clone())))
        .collect();
    for b in &mut release.breaking {
        if let Some((pr, links)) = by_id.get(&b.id) {
            b.pull_request = pr.clone();
            b.links = links.clone();
        }
    }
    true
}

/// Logins of the first-time authors of the release's pull requests, once each, in the order
/// the notes list their entries.
fn first_timers(release: &Release) -> Vec<String> {
    let mut logins: Vec<String> = Vec::new();
    let prs = release
        .groups
        .iter()
        .flat_map(|g| g.entries.iter())
        .filter_map(|i| i.pull_request.as_ref());
    for pr in prs {
        if pr.first_time && !logins.contains(&pr.author_login) {
            logins.push(pr.author_login.clone());
        }
    }
    logins
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use relman_core::Result;
    use relman_core::conventional::{ParseOptions, Person, parse_message};
    use relman_core::error::{ForgeError, ForgeErrorKind};
    use relman_forge::PullRequestRef;

    use super::*;
    use crate::release::{Group, Item, Meta};

    /// A forge that knows one PR, or fails every lookup.
    #[derive(Debug)]
    struct Fake {
        fail: bool,
    }

    impl Forge for Fake {
        fn name(&self) -> &str {
            "github"
        }
        fn capabilities(&self) -> relman_forge::Capabilities {
            relman_forge::Capabilities::of(&[relman_forge::Capability::PullRequests])
        }
        relman_forge::unsupported_forge_methods!(releases, deployments, dispatch, audit);
        fn pull_requests_for_commits(
            &self,
            shas: &[&str],
        ) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
            if self.fail {
                return Err(ForgeError::new(
                    "github",
                    "POST /graphql",
                    ForgeErrorKind::Status { status: 503 },
                    "POST /graphql: 503 Service Unavailable after 4 attempts",
                )
                .into());
            }
            assert_eq!(
                shas,
                ["aaaaaaa1", "bbbbbbb2", "ccccccc3", "ddddddd4"],
                "one batched lookup"
            );
            let pr = |number: u64, login: &str, first_time: bool| PullRequestRef {
                number,
                title: "Add x".into(),
                author_login: login.into(),
                url: format!("https://github.com/o/r/pull/{number}"),
                merged_at: Some("2026-01-01T00:00:00Z".parse().expect("time")),
                first_time,
            };
            Ok(BTreeMap::from([
                ("aaaaaaa1".to_string(), vec![pr(12, "octocat", false)]),
                ("ccccccc3".to_string(), vec![pr(14, "mona", true)]),
                ("ddddddd4".to_string(), vec![pr(15, "mona", true)]),
            ]))
        }
    }

    fn item(id: &str, message: &str) -> Item {
        let entry = parse_message(message.as_bytes(), &ParseOptions::default()).remove(0);
        let links = entry
            .references
            .iter()
            .map(|r| Link {
                text: format!("#{}", r.number),
                url: None,
            })
            .collect();
        Item {
            id: id.into(),
            short_id: id[..7].into(),
            header: message.into(),
            entry,
            author: Person {
                name: "Octo Cat".into(),
                email: "o@x".into(),
            },
            date: "2026-01-01".into(),
            url: None,
            links,
            pull_request: None,
        }
    }

    fn release() -> Release {
        Release {
            meta: Meta::default(),
            groups: vec![Group {
                title: "Features".into(),
                entries: vec![
                    item("aaaaaaa1", "feat: x (#12)"),
                    item("bbbbbbb2", "feat: y"),
                    item("ccccccc3", "feat: z (#14)"),
                    item("ddddddd4", "feat: w (#15)"),
                ],
            }],
            breaking: vec![],
            contributors: vec![],
            first_time_contributors: vec![],
            commit_count: 4,
            repository_url: None,
            compare_url: None,
            tag_url: None,
        }
    }

    #[test]
    fn the_pr_suffix_gets_the_pr_link_and_login() {
        let mut r = release();
        assert!(apply(&Fake { fail: false }, &mut r));
        let a = &r.groups[0].entries[0];
        assert_eq!(a.pull_request.as_ref().unwrap().author_login, "octocat");
        assert_eq!(a.links.len(), 1, "no second link for the same PR");
        assert_eq!(
            a.links[0].url.as_deref(),
            Some("https://github.com/o/r/pull/12")
        );
        assert!(r.groups[0].entries[1].pull_request.is_none());
    }

    #[test]
    fn first_time_contributors_are_listed_once_in_the_order_of_the_notes() {
        let mut r = release();
        assert!(apply(&Fake { fail: false }, &mut r));
        let entries = &r.groups[0].entries;
        assert!(!entries[0].pull_request.as_ref().unwrap().first_time);
        assert!(entries[2].pull_request.as_ref().unwrap().first_time);
        assert_eq!(r.first_time_contributors, ["mona"]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["first_time_contributors"], serde_json::json!(["mona"]));
        assert_eq!(
            json["groups"][0]["entries"][2]["pull_request"]["first_time"],
            true
        );
    }

    #[test]
    fn the_github_template_welcomes_new_contributors_only_when_there_are_some() {
        let renderer =
            crate::render::Renderer::load("github", std::path::Path::new(".")).expect("built-in");
        let mut r = release();
        assert!(apply(&Fake { fail: false }, &mut r));
        let notes = renderer.render(r).expect("render");
        assert!(
            notes
                .ends_with("## New Contributors\n\n* @mona made their first contribution in #14\n"),
            "{notes}"
        );
        let plain = renderer.render(release()).expect("render");
        assert!(!plain.contains("New Contributors"), "{plain}");
    }

    #[test]
    fn a_failing_forge_leaves_the_notes_as_git_made_them() {
        let mut r = release();
        let before = serde_json::to_string(&r).unwrap();
        assert!(!apply(&Fake { fail: true }, &mut r));
        assert_eq!(serde_json::to_string(&r).unwrap(), before);
    }
}
