//! Every GitHub flow relman runs (release upsert, deployment create and status, dispatch,
//! the reads the gate makes, the commit status) through the fault-injecting stand-in
//! (`forge::standin`): 5xx bursts, answers lost after the work was done, connections dropped
//! mid-body, answers slower than the timeout, secondary rate limits, 429 with `retry-after`,
//! listings that change between pages, another client creating the release first.
//!
//! Each flow must complete or fail with an external error (exit 3), and the fake forge must
//! end with at most one of everything relman asked for: the side effects are counted on the
//! forge's side, not on relman's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::{REPO, SHA, client_at};
use crate::policy::suite::{
    Flows, Results, assert_external_and_listed_once, every_flow, succeeded,
};
use crate::standin::{Answer, Fake, Fault, Request, Rule, Standin};
use crate::{DeploymentSpec, DispatchSpec, Forge, ReleaseSpec};

const KEY: &str = "promote:production:42";
const RUN_KEY: &str = "rollback:production:42";
/// The fake serves at most this many items a page, whatever `per_page` asks (GitHub may too),
/// so listings span pages and can change between them.
const PAGE: usize = 2;

/// What the fake forge made, counted where it happens.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Made {
    releases_created: usize,
    releases_updated: usize,
    deployments_created: usize,
    statuses_created: usize,
    dispatches: usize,
    commit_statuses: usize,
}

/// A small GitHub: releases, deployments with statuses, workflow runs, commit statuses, and
/// fixed answers for the gate's reads.
#[derive(Default)]
struct GitHubFake {
    next_id: u64,
    releases: Vec<Value>,
    /// Oldest first.
    deployments: Vec<Value>,
    /// Per deployment, oldest first.
    statuses: BTreeMap<u64, Vec<Value>>,
    runs: Vec<Value>,
    commit_statuses: Vec<Value>,
    made: Made,
}

fn not_found() -> Answer {
    Answer::json(404, json!({"message": "Not Found"}))
}

impl GitHubFake {
    fn seeded() -> GitHubFake {
        let mut f = GitHubFake {
            next_id: 100,
            ..GitHubFake::default()
        };
        // Three earlier deployments (one good), so listings span pages.
        for (sha, state) in [("aaa", "success"), ("bbb", "failure"), ("ccc", "inactive")] {
            let id = f.deployment(sha, "older", json!({}));
            f.status(id, state, "earlier");
        }
        f
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn deployment(&mut self, sha: &str, key: &str, payload: Value) -> u64 {
        let id = self.id();
        let mut payload = payload;
        if let Value::Object(m) = &mut payload {
            m.entry("relman_key").or_insert(json!(key));
        }
        self.deployments.push(json!({
            "id": id, "sha": sha, "ref": sha, "task": "deploy", "environment": "production",
            "payload": payload, "creator": {"login": "someone"},
            "created_at": "2026-01-01T00:00:00Z"
        }));
        self.statuses.insert(id, Vec::new());
        id
    }

    fn status(&mut self, id: u64, state: &str, description: &str) -> Value {
        let s = json!({"id": self.id(), "state": state, "description": description,
                       "created_at": "2026-01-01T00:00:00Z"});
        self.statuses.entry(id).or_default().push(s.clone());
        s
    }

    fn release(&mut self, body: &Value) -> Value {
        let mut r = json!({
            "id": self.id(), "tag_name": body["tag_name"], "name": body["name"],
            "body": body["body"], "draft": body["draft"], "prerelease": body["prerelease"],
            "target_commitish": body.get("target_commitish").cloned().unwrap_or(json!("main")),
            "html_url": "https://github.com/octocat/hello-world/releases/x",
            "created_at": "2026-01-01T00:00:00Z", "published_at": "2026-01-01T00:00:00Z"
        });
        if r["draft"].is_null() {
            r["draft"] = json!(false);
        }
        self.releases.push(r.clone());
        r
    }

    /// One page of `items` (given newest first), with a `Link` to the next.
    fn page(items: Vec<Value>, req: &Request, base: &str) -> Answer {
        let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let chunk: Vec<Value> = items
            .iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .cloned()
            .collect();
        let mut answer = Answer::json(200, Value::Array(chunk));
        if items.len() > page * PAGE {
            let query: Vec<&str> = req
                .query
                .split('&')
                .filter(|kv| !kv.starts_with("page="))
                .collect();
            let next = format!("{base}{}?{}&page={}", req.path, query.join("&"), page + 1);
            answer = answer.with_header("link", format!("<{next}>; rel=\"next\""));
        }
        answer
    }
}

impl Fake for GitHubFake {
    fn handle(&mut self, req: &Request, base: &str) -> Answer {
        let Some(path) = req.path.strip_prefix(REPO) else {
            return not_found();
        };
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["releases", "tags", tag]) => self
                .releases
                .iter()
                .find(|r| r["tag_name"] == *tag && r["draft"] == false)
                .map_or_else(not_found, |r| Answer::json(200, r.clone())),
            ("GET", ["releases"]) => Answer::json(
                200,
                Value::Array(self.releases.iter().rev().cloned().collect()),
            ),
            ("POST", ["releases"]) => {
                let body = req.json();
                if self
                    .releases
                    .iter()
                    .any(|r| r["tag_name"] == body["tag_name"])
                {
                    return Answer::json(
                        422,
                        json!({"message": "Validation Failed", "errors": [
                            {"resource": "Release", "code": "already_exists", "field": "tag_name"}
                        ]}),
                    );
                }
                self.made.releases_created += 1;
                Answer::json(201, self.release(&body))
            }
            ("PATCH", ["releases", id]) => {
                let body = req.json();
                let Some(r) = self
                    .releases
                    .iter_mut()
                    .find(|r| r["id"].as_u64() == id.parse().ok())
                else {
                    return not_found();
                };
                for k in ["name", "body", "draft", "prerelease"] {
                    r[k] = body[k].clone();
                }
                self.made.releases_updated += 1;
                Answer::json(200, r.clone())
            }
            ("GET", ["deployments"]) => {
                let items = self
                    .deployments
                    .iter()
                    .rev()
                    .filter(|d| req.param("sha").is_none_or(|s| d["sha"] == s))
                    .cloned()
                    .collect();
                Self::page(items, req, base)
            }
            ("POST", ["deployments"]) => {
                let body = req.json();
                let sha = body["ref"].as_str().unwrap_or_default().to_string();
                let id = self.deployment(&sha, "", body["payload"].clone());
                self.made.deployments_created += 1;
                let d = self.deployments.iter().find(|d| d["id"] == id).cloned();
                Answer::json(201, d.unwrap_or_default())
            }
            ("GET", ["deployments", id]) => self
                .deployments
                .iter()
                .find(|d| d["id"].as_u64() == id.parse().ok())
                .map_or_else(not_found, |d| Answer::json(200, d.clone())),
            ("GET", ["deployments", id, "statuses"]) => {
                match id.parse().ok().and_then(|id: u64| self.statuses.get(&id)) {
                    Some(list) => Self::page(list.iter().rev().cloned().collect(), req, base),
                    None => not_found(),
                }
            }
            ("POST", ["deployments", id, "statuses"]) => {
                let Some(id) = id.parse().ok().filter(|id| self.statuses.contains_key(id)) else {
                    return not_found();
                };
                let body = req.json();
                let s = self.status(
                    id,
                    body["state"].as_str().unwrap_or_default(),
                    body["description"].as_str().unwrap_or_default(),
                );
                self.made.statuses_created += 1;
                Answer::json(201, s)
            }
            ("GET", ["actions", "workflows", _, "runs"]) => Answer::json(
                200,
                json!({"total_count": self.runs.len(),
                       "workflow_runs": self.runs.iter().rev().cloned().collect::<Vec<_>>()}),
            ),
            ("POST", ["actions", "workflows", _, "dispatches"]) => {
                let key = req.json()["inputs"]["relman_key"].clone();
                let id = self.id();
                self.runs.push(json!({"id": id, "display_title": format!("deploy {}", key.as_str().unwrap_or_default()),
                                      "created_at": "2026-01-01T00:00:00Z"}));
                self.made.dispatches += 1;
                Answer::empty(204)
            }
            ("GET", ["commits", _, "check-runs"]) => Answer::json(
                200,
                json!({"total_count": 1, "check_runs": [
                    {"name": "build", "status": "completed", "conclusion": "success"}]}),
            ),
            ("GET", ["commits", _, "status"]) => Answer::json(
                200,
                json!({"state": "success", "statuses": [{"context": "ci/lint", "state": "success"}]}),
            ),
            ("GET", ["commits", _, "statuses"]) => Answer::json(
                200,
                Value::Array(self.commit_statuses.iter().rev().cloned().collect()),
            ),
            ("POST", ["statuses", _]) => {
                let mut s = req.json();
                s["id"] = json!(self.id());
                self.commit_statuses.push(s.clone());
                self.made.commit_statuses += 1;
                Answer::json(201, s)
            }
            ("GET", ["pulls", "12", "reviews"]) => Answer::json(
                200,
                json!([{"id": 1, "user": {"login": "ann"}, "state": "APPROVED",
                        "commit_id": SHA, "submitted_at": "2026-01-01T00:00:00Z"}]),
            ),
            ("GET", ["pulls", "12"]) => Answer::json(
                200,
                json!({"number": 12, "title": "t", "state": "open", "user": {"login": "bob"},
                       "html_url": "https://github.com/o/r/pull/12",
                       "head": {"sha": SHA}, "base": {"sha": SHA}, "merged_at": null}),
            ),
            ("GET", ["issues"]) => Self::page(
                (1..=5)
                    .map(|n| {
                        json!({"number": n, "title": format!("blocker {n}"),
                                    "html_url": "https://github.com/o/r/issues/1"})
                    })
                    .collect(),
                req,
                base,
            ),
            _ => not_found(),
        }
    }

    fn race(&mut self, req: &Request) {
        if req.path.ends_with("/releases") {
            // Another job made the release under the same tag, with its own text.
            self.release(
                &json!({"tag_name": "v1.0.0", "name": "theirs", "body": "their notes",
                                 "draft": false, "prerelease": false}),
            );
        } else if req.path.ends_with("/deployments") {
            // Another job deployed something else to the environment.
            let id = self.deployment("ddd", "other-key", json!({}));
            self.status(id, "success", "theirs");
        }
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn shift(&mut self, _req: &Request) {
        // A new deployment arrives: every item moves one place down the listing.
        let id = self.deployment("eee", "newcomer", json!({}));
        self.status(id, "in_progress", "new");
    }
}

/// The flows' requests, as the GitHub fake expects them.
fn flows() -> Flows {
    Flows {
        release: ReleaseSpec {
            tag: "v1.0.0".into(),
            name: "v1.0.0".into(),
            body: "notes".into(),
            draft: false,
            prerelease: false,
            target: None,
        },
        deployment: DeploymentSpec {
            environment: "production".into(),
            sha: SHA.into(),
            git_ref: "v1.0.0".into(),
            creator: "ci".into(),
            idempotency_key: KEY.into(),
            payload: json!({"image": "x"}),
        },
        status_description: "deployed",
        dispatch: DispatchSpec {
            workflow: "deploy.yml".into(),
            git_ref: "main".into(),
            inputs: Default::default(),
            requested_by: "ci".into(),
            idempotency_key: RUN_KEY.into(),
        },
        sha: SHA,
    }
}

/// What a scenario did: the flows' results, what the forge made, faults inflicted.
struct Outcome {
    results: Results,
    made: Made,
    faults: usize,
    posts: usize,
    standin: Standin,
}

fn run(rules: Vec<Rule>) -> Outcome {
    let standin = Standin::start(GitHubFake::seeded(), rules);
    let mut open = || Box::new(client_at(&standin.url, 500).0) as Box<dyn Forge>;
    let results = every_flow(&mut open, &flows());
    let made = standin.fake(|f: &mut GitHubFake| f.made.clone());
    Outcome {
        results,
        made,
        faults: standin.faults(),
        posts: standin.count("POST", ""),
        standin,
    }
}

/// Every failure is an external error (exit 3); nothing was made twice; no listing shows a
/// deployment twice.
fn assert_clean(o: &Outcome) {
    assert_external_and_listed_once(&o.results);
    let m = &o.made;
    assert!(m.releases_created <= 1, "{m:?}");
    assert!(m.deployments_created <= 1, "{m:?}");
    assert!(m.statuses_created <= 1, "{m:?}");
    assert!(m.dispatches <= 1, "{m:?}");
    assert!(m.commit_statuses <= 1, "{m:?}");
}

fn ok(o: &Outcome, flow: &str) -> usize {
    succeeded(&o.results, flow)
}

#[test]
fn without_faults_every_flow_succeeds_once() {
    let o = run(Vec::new());
    assert_clean(&o);
    for (flow, r) in &o.results {
        assert!(r.is_ok(), "{flow}: {r:?}");
    }
    assert_eq!(
        o.made,
        Made {
            releases_created: 1,
            releases_updated: 0,
            deployments_created: 1,
            statuses_created: 1,
            dispatches: 1,
            commit_statuses: 1,
        }
    );
    assert_eq!(o.faults, 0);
}

#[test]
fn bursts_of_5xx_on_every_method_are_survived() {
    let o = run(vec![
        Rule::on("GET", "", Fault::Unavailable).times(3),
        Rule::on("POST", "", Fault::Unavailable).times(3),
        Rule::on("PATCH", "", Fault::Unavailable).times(3),
    ]);
    assert_clean(&o);
    assert!(o.faults >= 6, "{}", o.faults);
    // Reads are retried through a burst; by the second run everything is in place.
    for flow in [
        "release",
        "deployment",
        "checks",
        "reviews",
        "pull request",
        "blockers",
    ] {
        assert!(ok(&o, flow) >= 1, "{flow}: {:?}", o.results);
    }
}

#[test]
fn answers_lost_after_the_forge_acted_are_not_acted_on_twice() {
    let o = run(vec![
        Rule::on("POST", "/releases", Fault::LostAnswer),
        Rule::on("POST", "/deployments", Fault::LostAnswer),
        Rule::on("POST", "/statuses", Fault::LostAnswer),
        Rule::on("POST", "/dispatches", Fault::LostAnswer),
    ]);
    assert_clean(&o);
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(o.made.dispatches, 1);
    // The release and deployment are found again in the same call; the retried job finds the
    // status and the dispatch.
    assert_eq!(ok(&o, "release"), 2, "{:?}", o.results);
    assert_eq!(ok(&o, "deployment"), 2, "{:?}", o.results);
    assert_eq!(ok(&o, "dispatch"), 1, "{:?}", o.results);
}

#[test]
fn connections_dropped_mid_body_fail_cleanly_and_are_not_repeated() {
    let o = run(vec![
        Rule::on("GET", "/deployments", Fault::DropMidBody).times(2),
        Rule::on("GET", "/check-runs", Fault::DropMidBody),
        Rule::on("POST", "/releases", Fault::DropMidBody),
        Rule::on("POST", "/deployments", Fault::DropMidBody),
        // Deployment statuses only: a commit status is re-sent by design (an identical
        // status again changes nothing GitHub shows).
        Rule::on("POST", "/deployments/", Fault::DropMidBody),
    ]);
    assert_clean(&o);
    assert!(o.faults >= 5);
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(ok(&o, "checks"), 2, "{:?}", o.results);
}

#[test]
fn answers_slower_than_the_timeout_are_retried_or_fail_cleanly() {
    let slow = Fault::Slow(Duration::from_millis(700));
    let o = run(vec![
        Rule::on("GET", "/pulls/12", slow),
        Rule::on("GET", "/releases/tags", slow),
        Rule::on("POST", "/releases", slow),
        Rule::on("POST", "/deployments", slow),
    ]);
    assert_clean(&o);
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(ok(&o, "pull request"), 2, "{:?}", o.results);
    // A create that timed out is not re-sent blindly (it may have gone through): the same call
    // looks again, finds the release and deployment it made, and answers with them.
    assert_eq!(ok(&o, "release"), 2, "{:?}", o.results);
    assert_eq!(ok(&o, "deployment"), 2, "{:?}", o.results);
}

#[test]
fn secondary_rate_limits_and_429_retry_after_are_waited_out() {
    let o = run(vec![
        Rule::on("GET", "", Fault::SecondaryLimit).times(2),
        Rule::on("POST", "", Fault::TooMany(3)).times(2),
    ]);
    assert_clean(&o);
    for (flow, r) in &o.results {
        assert!(r.is_ok(), "{flow}: {r:?}");
    }
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.faults, 4);
}

#[test]
fn listings_that_change_between_pages_show_each_deployment_once() {
    let o = run(vec![
        Rule::on("GET", "/deployments", Fault::Shift)
            .skip(1)
            .times(6),
        Rule::on("GET", "/issues", Fault::Unavailable).skip(1),
    ]);
    assert_clean(&o);
    assert_eq!(ok(&o, "deployments"), 2, "{:?}", o.results);
    assert_eq!(o.made.deployments_created, 1);
}

#[test]
fn a_release_made_by_someone_else_between_read_and_write_is_updated_not_duplicated() {
    let o = run(vec![
        Rule::on("POST", "/releases", Fault::Race),
        Rule::on("POST", "/deployments", Fault::Race),
    ]);
    assert_clean(&o);
    assert_eq!(
        o.made.releases_created, 0,
        "the other job's release stays the one"
    );
    assert_eq!(o.made.releases_updated, 1);
    assert_eq!(ok(&o, "release"), 2, "{:?}", o.results);
    let releases = o.standin.fake(|f: &mut GitHubFake| f.releases.len());
    assert_eq!(releases, 1);
    // Another job's deployment to the environment does not stop ours.
    assert_eq!(o.made.deployments_created, 1);
    assert!(o.posts >= 2);
}

// --- the request policy's shared fault suite, through GitHub's transport ----------------------

mod wire {
    use std::sync::Arc;
    use std::time::Duration;

    use http::Method;
    use serde_json::{Value, json};

    use super::super::client_at;
    use crate::GitHub;
    use crate::github::client::Idempotent;
    use crate::policy::suite::{Dialect, Sleeps, Wire, fault_suite};
    use crate::policy::{Policy, RateHeaders};

    struct GitHubWire {
        gh: GitHub,
        base: String,
    }

    impl Wire for GitHubWire {
        fn get(&self, path: &str) -> crate::Result<Option<Value>> {
            self.gh.client.get_json(&format!("{}{path}", self.base))
        }

        fn list(&self, path: &str) -> crate::Result<Vec<Value>> {
            let url = format!("{}{path}", self.base);
            let items = self.gh.client.paginate(&url, Some, |_: &[Value]| false)?;
            Ok(items.unwrap_or_default())
        }

        /// GitHub's creates are sent once: after an ambiguous failure the caller (or the
        /// retried job) looks before it writes again.
        fn create(&self, path: &str, body: &Value) -> crate::Result<Value> {
            let url = format!("{}{path}", self.base);
            let response = self
                .gh
                .client
                .send(Method::POST, &url, Some(body), Idempotent::No)?;
            match response.status.as_u16() {
                200 | 201 => response.json(),
                _ => Err(response.unexpected()),
            }
        }

        fn sent(&self) -> u32 {
            self.gh.requests_sent()
        }
    }

    fn open(url: &str, budget: u32, max_pages: usize, sleeps: Sleeps) -> Box<dyn Wire> {
        let (mut gh, _) = client_at(url, budget);
        gh.client.policy = Policy {
            max_attempts: 4,
            backoff: Duration::from_millis(1),
            max_wait: Duration::from_secs(10),
            timeout: Duration::from_millis(300),
            max_pages,
            sleep: Arc::new(move |d| sleeps.lock().expect("lock").push(d)),
        };
        Box::new(GitHubWire {
            gh,
            base: url.to_string(),
        })
    }

    fn dialect() -> Dialect {
        Dialect {
            name: "github",
            rate: RateHeaders {
                remaining: "x-ratelimit-remaining",
                reset: "x-ratelimit-reset",
            },
            foreign_rate: RateHeaders {
                remaining: "ratelimit-remaining",
                reset: "ratelimit-reset",
            },
            error_body: || json!({"message": "Validation Failed", "errors": [{"code": "already_exists"}]}),
            error_text: r#"422 Unprocessable Entity: Validation Failed ([{"code":"already_exists"}])"#,
            rechecks_creates: false,
            open,
        }
    }

    fault_suite!(dialect);
}
