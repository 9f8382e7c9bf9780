//! Every GitLab flow relman runs (release upsert, deployment create and status, pipeline
//! dispatch, the reads the gate makes, the commit status) through the fault-injecting
//! stand-in (`forge::standin`): 5xx bursts, answers lost after the work was done,
//! connections dropped mid-body, answers slower than the timeout, 429 with `retry-after`,
//! listings that change between pages, another client creating the release first.
//!
//! Each flow must complete or fail with an external error (exit 3), and the fake forge must
//! end with at most one of everything relman asked for, counted on the forge's side.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::super::keys::{Bound, KeyRecord};
use super::{GitLabToken, P, Secret, TOKEN, gitlab_at};
use crate::LocalStore;
use crate::policy::suite::{
    Flows, Results, assert_external_and_listed_once, every_flow, succeeded,
};
use crate::standin::{Answer, Fake, Fault, Request, Rule, Standin};
use crate::{DeploymentSpec, DispatchSpec, Forge, ReleaseSpec};

const SHA: &str = "f8d3d94cbd347e924aa7b715845e439d00e80ca4";
const KEY: &str = "rollback:production:42";
/// At most this many items a page, whatever `per_page` asks, so listings span pages.
const PAGE: usize = 2;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Made {
    releases_created: usize,
    releases_updated: usize,
    deployments_created: usize,
    /// Deployment status changes (a PUT of the status it already has changes nothing).
    deployments_updated: usize,
    pipelines: usize,
    commit_statuses: usize,
}

#[derive(Default)]
struct GitLabFake {
    /// What another job does, given the id of the deployment it made, when a
    /// [`Fault::Race`] hits a deployment (else it deploys something else).
    on_deploy_race: Option<Box<dyn FnMut(u64) + Send>>,
    /// What happens right after the fake made a deployment a POST asked for (the job that
    /// sent it dies before it records the key).
    after_deploy: Option<Box<dyn FnMut() + Send>>,
    next_id: u64,
    releases: Vec<Value>,
    /// Oldest first.
    deployments: Vec<Value>,
    /// Oldest first, with their variables.
    pipelines: Vec<(Value, Value)>,
    statuses: Vec<Value>,
    made: Made,
}

fn not_found() -> Answer {
    Answer::json(404, json!({"message": "404 Not found"}))
}

impl GitLabFake {
    fn seeded() -> GitLabFake {
        let mut f = GitLabFake {
            next_id: 100,
            ..GitLabFake::default()
        };
        for (sha, status) in [("aaa", "success"), ("bbb", "failed"), ("ccc", "canceled")] {
            f.deployment(sha, "main", status);
        }
        f
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn deployment(&mut self, sha: &str, git_ref: &str, status: &str) -> Value {
        let id = self.id();
        // Made now, as GitLab stamps it: a retry looks for what was made since its claim.
        let now = jiff::Timestamp::now().to_string();
        let d = json!({
            "id": id, "iid": id, "ref": git_ref, "sha": sha, "status": status,
            "created_at": now, "updated_at": now,
            "user": {"username": "someone"}, "environment": {"name": "production"}
        });
        self.deployments.push(d.clone());
        d
    }

    fn release(&mut self, tag: &Value, name: &Value, description: &Value) -> Value {
        let r = json!({
            "tag_name": tag, "name": name, "description": description,
            "created_at": "2026-01-01T00:00:00.000Z", "released_at": "2026-01-01T00:00:00.000Z",
            "commit": {"id": SHA}, "_links": {"self": "https://gitlab.example.com/r"}
        });
        self.releases.push(r.clone());
        r
    }

    fn pipeline(&mut self, variables: Value) -> Value {
        let id = self.id();
        let p = json!({"id": id, "status": "created", "ref": "main", "sha": SHA,
                       "web_url": format!("https://gitlab.example.com/p/{id}"),
                       "created_at": "2026-01-01T00:00:00.000Z"});
        self.pipelines.push((p.clone(), variables));
        p
    }

    /// One page of `items` (newest first) with `x-next-page`.
    fn page(items: Vec<Value>, req: &Request) -> Answer {
        let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let chunk: Vec<Value> = items
            .iter()
            .skip((page - 1) * PAGE)
            .take(PAGE)
            .cloned()
            .collect();
        let next = if items.len() > page * PAGE {
            (page + 1).to_string()
        } else {
            String::new()
        };
        Answer::json(200, Value::Array(chunk)).with_header("x-next-page", next)
    }
}

impl Fake for GitLabFake {
    fn handle(&mut self, req: &Request, _base: &str) -> Answer {
        let Some(path) = req.path.strip_prefix(P) else {
            return not_found();
        };
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["releases", tag]) => self
                .releases
                .iter()
                .find(|r| r["tag_name"] == *tag)
                .map_or_else(not_found, |r| Answer::json(200, r.clone())),
            ("POST", ["releases"]) => {
                let b = req.json();
                if self.releases.iter().any(|r| r["tag_name"] == b["tag_name"]) {
                    return Answer::json(409, json!({"message": "Release already exists"}));
                }
                self.made.releases_created += 1;
                Answer::json(
                    201,
                    self.release(&b["tag_name"], &b["name"], &b["description"]),
                )
            }
            ("PUT", ["releases", tag]) => {
                let b = req.json();
                let Some(r) = self.releases.iter_mut().find(|r| r["tag_name"] == *tag) else {
                    return not_found();
                };
                if r["name"] != b["name"] || r["description"] != b["description"] {
                    self.made.releases_updated += 1;
                }
                r["name"] = b["name"].clone();
                r["description"] = b["description"].clone();
                Answer::json(200, r.clone())
            }
            ("GET", ["deployments"]) => {
                let items = self
                    .deployments
                    .iter()
                    .rev()
                    .filter(|d| req.param("status").is_none_or(|s| d["status"] == s))
                    .cloned()
                    .collect();
                Self::page(items, req)
            }
            ("GET", ["deployments", id]) => self
                .deployments
                .iter()
                .find(|d| d["id"].as_u64() == id.parse().ok())
                .map_or_else(not_found, |d| Answer::json(200, d.clone())),
            ("POST", ["deployments"]) => {
                let b = req.json();
                let d = self.deployment(
                    b["sha"].as_str().unwrap_or_default(),
                    b["ref"].as_str().unwrap_or_default(),
                    b["status"].as_str().unwrap_or("created"),
                );
                self.made.deployments_created += 1;
                if let Some(hook) = &mut self.after_deploy {
                    hook();
                }
                Answer::json(201, d)
            }
            ("PUT", ["deployments", id]) => {
                let b = req.json();
                let Some(d) = self
                    .deployments
                    .iter_mut()
                    .find(|d| d["id"].as_u64() == id.parse().ok())
                else {
                    return not_found();
                };
                if d["status"] != b["status"] {
                    self.made.deployments_updated += 1;
                }
                d["status"] = b["status"].clone();
                Answer::json(200, d.clone())
            }
            ("GET", ["repository", "tags", _]) => not_found(),
            ("GET", ["pipelines"]) => Self::page(
                self.pipelines
                    .iter()
                    .rev()
                    .map(|(p, _)| p.clone())
                    .collect(),
                req,
            ),
            ("GET", ["pipelines", id, "variables"]) => self
                .pipelines
                .iter()
                .find(|(p, _)| p["id"].as_u64() == id.parse().ok())
                .map_or_else(not_found, |(_, v)| Answer::json(200, v.clone())),
            ("POST", ["pipeline"]) => {
                let vars = req.json()["variables"].clone();
                self.made.pipelines += 1;
                Answer::json(201, self.pipeline(vars))
            }
            ("GET", ["repository", "commits", _, "statuses"]) => {
                Self::page(self.statuses.iter().rev().cloned().collect(), req)
            }
            ("POST", ["statuses", _]) => {
                let b = req.json();
                let s = json!({"id": self.id(), "name": b["name"], "status": b["state"],
                               "description": b["description"]});
                self.statuses.push(s.clone());
                self.made.commit_statuses += 1;
                Answer::json(201, s)
            }
            ("GET", ["merge_requests", "12", "approvals"]) => Answer::json(
                200,
                json!({"approved_by": [{"user": {"username": "ann"}}], "approvals_left": 0}),
            ),
            ("GET", ["merge_requests", "12"]) => Answer::json(
                200,
                json!({"iid": 12, "title": "t", "state": "opened", "author": {"username": "bob"},
                       "web_url": "https://gitlab.example.com/mr/12", "sha": SHA,
                       "diff_refs": {"base_sha": SHA, "head_sha": SHA}}),
            ),
            ("GET", ["issues"]) => Self::page(
                (1..=5)
                    .map(|n| {
                        json!({"iid": n, "title": format!("blocker {n}"),
                                    "web_url": "https://gitlab.example.com/i/1",
                                    "labels": ["blocker"]})
                    })
                    .collect(),
                req,
            ),
            _ => not_found(),
        }
    }

    fn race(&mut self, req: &Request) {
        if req.path.ends_with("/releases") {
            self.release(&json!("v0.1"), &json!("theirs"), &json!("their notes"));
        } else if req.path.ends_with("/deployments") {
            if let Some(mut hook) = self.on_deploy_race.take() {
                // Another job made this very deployment, for the same key.
                let id = self.deployment(SHA, "main", "running")["id"]
                    .as_u64()
                    .unwrap_or_default();
                hook(id);
                self.on_deploy_race = Some(hook);
                return;
            }
            // Another job deployed something else to the environment.
            self.deployment("ddd", "other", "success");
        } else if req.path.ends_with("/pipeline") {
            // Another job's pipeline, with its own key.
            self.pipeline(json!([{"key": "RELMAN_KEY", "value": "someone-else"}]));
        }
    }

    fn shift(&mut self, _req: &Request) {
        self.deployment("eee", "main", "running");
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// The flows' requests, as the GitLab fake expects them.
fn flows() -> Flows {
    Flows {
        release: ReleaseSpec {
            tag: "v0.1".into(),
            name: "v0.1".into(),
            body: "notes".into(),
            draft: false,
            prerelease: false,
            target: None,
        },
        deployment: DeploymentSpec {
            environment: "production".into(),
            sha: SHA.into(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: "promote:production:42".into(),
            payload: Value::Null,
        },
        status_description: "",
        dispatch: DispatchSpec {
            workflow: "deploy".into(),
            git_ref: "main".into(),
            inputs: Default::default(),
            requested_by: "ci".into(),
            idempotency_key: KEY.into(),
        },
        sha: SHA,
    }
}

/// A new client (a retried job) with a new handle on the state branch in `state` (what a
/// new process in the next job opens).
fn open_at(url: &str, state: &std::path::Path) -> Box<dyn Forge> {
    let store = LocalStore::scratch(state).expect("state store");
    let token = Some(GitLabToken::Private(Secret::new(TOKEN)));
    Box::new(gitlab_at(url, 500, token, Arc::default()).with_audit_store(store.state().clone()))
}

struct Outcome {
    results: Results,
    made: Made,
    faults: usize,
    standin: Standin,
    /// The state branch both attempts shared.
    state: tempfile::TempDir,
}

fn run(rules: Vec<Rule>) -> Outcome {
    let standin = Standin::start(GitLabFake::seeded(), rules);
    let state = tempfile::tempdir().expect("tempdir");
    let results = every_flow(&mut || open_at(&standin.url, state.path()), &flows());
    let made = standin.fake(|f: &mut GitLabFake| f.made.clone());
    Outcome {
        results,
        made,
        faults: standin.faults(),
        standin,
        state,
    }
}

/// Every failure is an external error (exit 3); nothing was made twice; no listing shows a
/// deployment twice.
fn assert_clean(o: &Outcome) {
    assert_external_and_listed_once(&o.results);
    let m = &o.made;
    assert!(m.releases_created <= 1, "{m:?}");
    assert!(m.deployments_created <= 1, "{m:?}");
    assert!(m.deployments_updated <= 1, "{m:?}");
    assert!(m.pipelines <= 1, "{m:?}");
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
            deployments_updated: 1,
            pipelines: 1,
            commit_statuses: 1,
        }
    );
    assert_eq!(o.faults, 0);
}

#[test]
fn bursts_of_5xx_on_every_method_are_survived() {
    let o = run(vec![
        Rule::on("GET", "", Fault::Unavailable).times(2),
        Rule::on("POST", "", Fault::Unavailable).times(2),
        Rule::on("PUT", "", Fault::Unavailable).times(2),
    ]);
    assert_clean(&o);
    assert_eq!(o.faults, 6);
    for (flow, r) in &o.results {
        assert!(r.is_ok(), "{flow}: {r:?}");
    }
}

#[test]
fn answers_lost_after_the_forge_acted_are_not_acted_on_twice() {
    let o = run(vec![
        Rule::on("POST", "/releases", Fault::LostAnswer),
        Rule::on("POST", "/deployments", Fault::LostAnswer),
        Rule::on("POST", "/pipeline", Fault::LostAnswer),
        Rule::on("POST", "/statuses", Fault::LostAnswer),
        Rule::on("PUT", "/deployments", Fault::LostAnswer),
    ]);
    assert_clean(&o);
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(o.made.pipelines, 1);
    assert_eq!(o.made.commit_statuses, 1);
    for (flow, r) in &o.results {
        assert!(r.is_ok(), "{flow}: {r:?}");
    }
}

#[test]
fn connections_dropped_mid_body_fail_cleanly_and_are_not_repeated() {
    let o = run(vec![
        Rule::on("GET", "/deployments", Fault::DropMidBody).times(2),
        Rule::on("GET", "/pipelines", Fault::DropMidBody),
        Rule::on("POST", "/releases", Fault::DropMidBody),
        Rule::on("POST", "/deployments", Fault::DropMidBody),
        Rule::on("POST", "/pipeline", Fault::DropMidBody),
        Rule::on("PUT", "/deployments", Fault::DropMidBody),
    ]);
    assert_clean(&o);
    assert!(o.faults >= 6, "{}", o.faults);
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(o.made.pipelines, 1);
}

#[test]
fn answers_slower_than_the_timeout_are_retried_or_fail_cleanly() {
    let slow = Fault::Slow(Duration::from_millis(700));
    let o = run(vec![
        Rule::on("GET", "/merge_requests/12", slow),
        Rule::on("GET", "/releases", slow),
        Rule::on("POST", "/releases", slow),
        Rule::on("POST", "/deployments", slow),
        Rule::on("POST", "/pipeline", slow),
    ]);
    assert_clean(&o);
    assert_eq!(o.made.releases_created, 1);
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(o.made.pipelines, 1);
    assert_eq!(ok(&o, "release"), 2, "{:?}", o.results);
    assert_eq!(ok(&o, "reviews"), 2, "{:?}", o.results);
}

#[test]
fn rate_limits_with_retry_after_are_waited_out() {
    let o = run(vec![
        Rule::on("GET", "", Fault::TooMany(2)).times(2),
        Rule::on("POST", "", Fault::TooMany(3)).times(2),
        Rule::on("PUT", "", Fault::TooMany(1)),
    ]);
    assert_clean(&o);
    for (flow, r) in &o.results {
        assert!(r.is_ok(), "{flow}: {r:?}");
    }
    assert_eq!(o.faults, 5);
}

#[test]
fn listings_that_change_between_pages_show_each_deployment_once() {
    // Reads only: a deployment arriving between relman's attempts is the next test's subject.
    let standin = Standin::start(
        GitLabFake::seeded(),
        vec![
            Rule::on("GET", "/deployments", Fault::Shift)
                .skip(1)
                .times(3),
        ],
    );
    let gl = gitlab_at(&standin.url, 50, None, Arc::default());
    let ids: Vec<u64> = gl
        .deployments("production", 10)
        .expect("listing")
        .iter()
        .map(|d| d.id)
        .collect();
    assert!(standin.faults() >= 1);
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate deployment in {ids:?}");
}

/// Found by this suite: GitLab deployments hold no idempotency key, so a retried job (a new
/// process) used to recognise its deployment only as the environment's newest one, and a
/// deployment landing between the attempts made the retry create a second one. The key is
/// now kept on the state branch.
#[test]
fn a_deployment_by_another_job_between_attempts_is_not_duplicated() {
    let o = run(vec![
        Rule::on("GET", "/deployments", Fault::Shift)
            .skip(1)
            .times(8),
    ]);
    assert_clean(&o);
    assert!(o.faults >= 1, "another job deployed between the attempts");
    assert_eq!(o.made.deployments_created, 1);
    let answers: Vec<&String> = o
        .results
        .iter()
        .filter(|(flow, _)| *flow == "deployment")
        .map(|(_, r)| r.as_ref().expect("deployment"))
        .collect();
    assert_eq!(answers.len(), 2);
    assert!(answers[1].contains("Unchanged"), "{answers:?}");
    // The key is a file on the state branch, naming the deployment the first attempt made.
    let first_id = o.standin.fake(|f: &mut GitLabFake| {
        f.deployments
            .iter()
            .find(|d| d["sha"] == SHA)
            .map(|d| d["id"].clone())
    });
    let store = LocalStore::scratch(o.state.path()).expect("state");
    let key: Value = store
        .state()
        .snapshot()
        .expect("snapshot")
        .read_json("keys/gitlab/group%2Fsub%2Fproject/deployment/promote%3Aproduction%3A42.json")
        .expect("read")
        .expect("the key is recorded");
    assert_eq!(Some(key["id"].clone()), first_id, "{key}");
    assert_eq!(key["sha"], SHA);
}

/// Two jobs with one key, both looking before either recorded it: each creates, the first to
/// record keeps the key, the other cancels its own and answers with the recorded one.
#[test]
fn two_jobs_creating_for_one_key_at_once_keep_one_deployment() {
    const KEY7: &str = "promote:production:7";
    let state = tempfile::tempdir().expect("tempdir");
    let store = |dir: &std::path::Path| LocalStore::scratch(dir).expect("state").state().clone();
    let mut fake = GitLabFake::seeded();
    // Job B, just before job A's POST: it made the same deployment and recorded the key.
    let b_dir = state.path().to_path_buf();
    fake.on_deploy_race = Some(Box::new(move |id| {
        let b = gitlab_at("http://127.0.0.1:9", 1, None, Arc::default())
            .with_audit_store(store(&b_dir));
        let record = KeyRecord {
            id,
            environment: "production".into(),
            sha: SHA.into(),
            git_ref: "main".into(),
        };
        assert_eq!(b.bind_key(KEY7, &record).expect("B records"), Bound::Ours);
    }));
    let standin = Standin::start(fake, vec![Rule::on("POST", "/deployments", Fault::Race)]);
    let a = gitlab_at(&standin.url, 50, None, Arc::default()).with_audit_store(store(state.path()));
    let answer = a
        .create_deployment(&DeploymentSpec {
            environment: "production".into(),
            sha: SHA.into(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: KEY7.into(),
            payload: Value::Null,
        })
        .expect("A");
    assert!(!answer.changed(), "{answer:?}");
    let (theirs, ours) = standin.fake(|f: &mut GitLabFake| {
        let mine: Vec<Value> = f
            .deployments
            .iter()
            .filter(|d| d["sha"] == SHA)
            .cloned()
            .collect();
        assert_eq!(mine.len(), 2, "{mine:?}");
        (mine[0].clone(), mine[1].clone())
    });
    assert_eq!(Some(answer.value.id), theirs["id"].as_u64());
    assert_eq!(theirs["status"], "running");
    assert_eq!(ours["status"], "canceled", "A's duplicate is cancelled");
    // A later job finds B's deployment by the key.
    let later =
        gitlab_at(&standin.url, 50, None, Arc::default()).with_audit_store(store(state.path()));
    assert_eq!(later.known_key(KEY7).expect("read"), theirs["id"].as_u64());
}

#[test]
fn a_release_made_by_someone_else_between_read_and_write_is_updated_not_duplicated() {
    let o = run(vec![
        Rule::on("POST", "/releases", Fault::Race),
        Rule::on("POST", "/deployments", Fault::Race),
        Rule::on("POST", "/pipeline", Fault::Race),
    ]);
    assert_clean(&o);
    assert_eq!(
        o.made.releases_created, 0,
        "the other job's release stays the one"
    );
    assert_eq!(o.made.releases_updated, 1);
    assert_eq!(o.standin.fake(|f: &mut GitLabFake| f.releases.len()), 1);
    for (flow, r) in &o.results {
        assert!(r.is_ok(), "{flow}: {r:?}");
    }
    // Other jobs' deployments and pipelines do not stop ours, nor pass for ours.
    assert_eq!(o.made.deployments_created, 1);
    assert_eq!(o.made.pipelines, 1);
}

// --- claim first: a job dying between creating a deployment and recording its key ----------

mod claimed {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use serde_json::Value;

    use super::super::super::deployments_claim::{CLAIM_TTL, WAIT_STEP};
    use super::super::gitlab_at;
    use super::{GitLabFake, SHA};
    use crate::standin::Standin;
    use crate::{DeploymentSpec, Forge, GitLab, Outcome};
    use relman_core::ExitCode;
    use relman_core::state::StateStore;
    use relman_core::state::testing::{origin_and_clones, refuse_pushes};

    const KEY_PATH: &str = "keys/gitlab/group%2Fsub%2Fproject/deployment";
    const CLAIM_PATH: &str = "claims/gitlab/group%2Fsub%2Fproject/deployment";

    fn spec(key: &str) -> DeploymentSpec {
        DeploymentSpec {
            environment: "production".into(),
            sha: SHA.into(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: key.into(),
            payload: Value::Null,
        }
    }

    /// A job: a GitLab client over its own clone of the state branch; waits go to `waits`.
    fn job(url: &str, clone: &Path, waits: Arc<Mutex<Vec<Duration>>>) -> GitLab {
        let none = |_: &str| None;
        let settings = relman_core::config::StateSettings::default();
        let store = StateStore::open(clone, &settings, &none).expect("state");
        gitlab_at(url, 50, None, waits).with_audit_store(Arc::new(store))
    }

    /// Job A creates the deployment of `key` and dies before its key is recorded: the state
    /// branch refuses its push right after GitLab made the deployment. Returns the id GitLab
    /// gave it; pushes are accepted again afterwards.
    fn dies_after_creating(standin: &Standin, origin: &Path, clone: &Path, key: &str) -> u64 {
        let refused: PathBuf = origin.to_path_buf();
        standin.fake(|f: &mut GitLabFake| {
            f.after_deploy = Some(Box::new(move || refuse_pushes(&refused)));
        });
        let a = job(&standin.url, clone, Arc::default());
        let lost = a
            .create_deployment(&spec(key))
            .expect_err("A cannot record");
        assert_eq!(lost.exit_code(), ExitCode::External, "{lost}");
        standin.fake(|f: &mut GitLabFake| f.after_deploy = None);
        std::fs::remove_file(origin.join("hooks/pre-receive")).expect("accept pushes again");
        standin.fake(|f: &mut GitLabFake| {
            f.deployments
                .iter()
                .rev()
                .find(|d| d["sha"] == SHA)
                .and_then(|d| d["id"].as_u64())
                .expect("A's deployment was made")
        })
    }

    fn on_branch(origin: &Path, path: &str) -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(origin)
            .args(["show", &format!("relman/state:{path}")])
            .output()
            .expect("git");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The retried job used to take the environment's newest deployment for its own: one
    /// landing in between made it create a second deployment.
    #[test]
    fn a_retry_after_a_crash_binds_the_deployment_made_even_with_another_in_between() {
        let base = tempfile::tempdir().expect("tempdir");
        let (origin, clones) = origin_and_clones(base.path(), 2);
        let standin = Standin::start(GitLabFake::seeded(), Vec::new());
        let key = "promote:production:1";
        let made = dies_after_creating(&standin, &origin, &clones[0], key);
        // Another job deploys to the environment before the retry.
        standin.fake(|f: &mut GitLabFake| f.deployment("eee", "main", "running"));

        let waits: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let retry = job(&standin.url, &clones[1], waits.clone());
        let again = retry.create_deployment(&spec(key)).expect("retry");
        assert_eq!((again.outcome, again.value.id), (Outcome::Unchanged, made));
        let created = standin.fake(|f: &mut GitLabFake| f.made.deployments_created);
        assert_eq!(created, 1, "one deployment for one key");
        // A's claim was fresh: the retry waited it out (A might still have been creating),
        // never longer than a claim lives, then took it over.
        let waited: Duration = waits.lock().expect("lock").iter().sum();
        assert!(
            waited <= CLAIM_TTL && waited + 6 * WAIT_STEP >= CLAIM_TTL,
            "{waited:?}"
        );
        // The key and the deployment's owner are recorded; the claim is gone.
        let bound = on_branch(
            &origin,
            &format!("{KEY_PATH}/promote%3Aproduction%3A1.json"),
        )
        .expect("key recorded");
        assert!(bound.contains(&format!("\"id\": {made}")), "{bound}");
        let owner = on_branch(
            &origin,
            &format!("keys/gitlab/group%2Fsub%2Fproject/deployment-id/{made}.json"),
        )
        .expect("owner recorded");
        assert!(owner.contains("promote:production:1"), "{owner}");
        assert!(
            on_branch(
                &origin,
                &format!("{CLAIM_PATH}/promote%3Aproduction%3A1.json")
            )
            .is_none()
        );
        // `audit verify` holds keys/ immutable: claims live elsewhere, so it stays clean.
        let none = |_: &str| None;
        let store = StateStore::open(
            &clones[1],
            &relman_core::config::StateSettings::default(),
            &none,
        )
        .expect("state");
        let report = store.verify(None).expect("verify");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    /// Another key deploying the same commit used to be answered with the dead job's
    /// deployment (`Unchanged`, nothing made); and the dead job's retry must not take the
    /// other key's deployment either.
    #[test]
    fn another_key_for_the_same_commit_is_never_taken_for_a_crashed_one() {
        let base = tempfile::tempdir().expect("tempdir");
        let (origin, clones) = origin_and_clones(base.path(), 3);
        let standin = Standin::start(GitLabFake::seeded(), Vec::new());
        let made = dies_after_creating(&standin, &origin, &clones[0], "promote:production:1");

        let redeploy = job(&standin.url, &clones[1], Arc::default())
            .create_deployment(&spec("promote:production:2"))
            .expect("redeploy");
        assert_eq!(redeploy.outcome, Outcome::Created, "{redeploy:?}");
        assert_ne!(redeploy.value.id, made);

        let retry = job(&standin.url, &clones[2], Arc::default())
            .create_deployment(&spec("promote:production:1"))
            .expect("retry");
        assert_eq!((retry.outcome, retry.value.id), (Outcome::Unchanged, made));
        let created = standin.fake(|f: &mut GitLabFake| f.made.deployments_created);
        assert_eq!(created, 2, "one deployment for each key");
    }

    /// Two jobs with one key at once: one claims and creates, the other waits for its
    /// binding; exactly one POST.
    #[test]
    fn two_jobs_creating_one_key_at_once_send_one_post() {
        let base = tempfile::tempdir().expect("tempdir");
        let (origin, clones) = origin_and_clones(base.path(), 2);
        let standin = Standin::start(GitLabFake::seeded(), Vec::new());
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = clones
                .iter()
                .map(|clone| {
                    let (barrier, url) = (&barrier, &standin.url);
                    scope.spawn(move || {
                        let none = |_: &str| None;
                        let settings = relman_core::config::StateSettings::default();
                        let store = StateStore::open(clone, &settings, &none).expect("state");
                        // Waits are slept (briefly): the other job must get on meanwhile.
                        let gl = GitLab::with_policy(
                            &format!("{url}/api/v4/"),
                            "group/sub/project",
                            None,
                            50,
                            super::super::Policy::default(),
                            Arc::new(|_| std::thread::sleep(Duration::from_millis(20))),
                            &|_| None,
                        )
                        .expect("client")
                        .with_audit_store(Arc::new(store));
                        barrier.wait();
                        gl.create_deployment(&spec("promote:production:9"))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let posts = standin.fake(|f: &mut GitLabFake| f.made.deployments_created);
        assert_eq!(posts, 1, "exactly one POST: {results:?}");
        let answers: Vec<_> = results
            .into_iter()
            .map(|r| r.expect("both answer"))
            .collect();
        assert_eq!(answers[0].value.id, answers[1].value.id);
        let created = answers
            .iter()
            .filter(|u| u.outcome == Outcome::Created)
            .count();
        assert_eq!(created, 1, "{answers:?}");
        assert!(
            on_branch(
                &origin,
                &format!("{KEY_PATH}/promote%3Aproduction%3A9.json")
            )
            .is_some()
        );
    }
}

// --- the request policy's shared fault suite, through GitLab's transport ----------------------

mod wire {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::{GitLabToken, Secret, TOKEN};
    use crate::GitLab;
    use crate::gitlab::client::Made;
    use crate::policy::suite::{Dialect, Sleeps, Wire, fault_suite};
    use crate::policy::{Policy, RateHeaders};

    struct GitLabWire {
        gl: GitLab,
    }

    impl Wire for GitLabWire {
        fn get(&self, path: &str) -> crate::Result<Option<Value>> {
            self.gl.http.get_opt(path)
        }

        fn list(&self, path: &str) -> crate::Result<Vec<Value>> {
            self.gl.http.list(path, usize::MAX)
        }

        /// GitLab's creates look again (`{path}/mine`) before a POST is sent again.
        fn create(&self, path: &str, body: &Value) -> crate::Result<Value> {
            let recheck = || self.gl.http.get_opt::<Value>(&format!("{path}/mine"));
            match self.gl.http.create(path, body, &recheck)? {
                Made::Created(v) | Made::Found(v) => Ok(v),
            }
        }

        fn sent(&self) -> u32 {
            self.gl.http.requests()
        }
    }

    fn open(url: &str, budget: u32, max_pages: usize, sleeps: Sleeps) -> Box<dyn Wire> {
        let policy = Policy {
            max_attempts: 4,
            backoff: Duration::from_millis(1),
            max_wait: Duration::from_secs(10),
            timeout: Duration::from_millis(300),
            max_pages,
            ..Policy::default()
        };
        let gl = GitLab::with_policy(
            &format!("{url}/api/v4/"),
            "group/sub/project",
            Some(GitLabToken::Private(Secret::new(TOKEN))),
            budget,
            policy,
            Arc::new(move |d| sleeps.lock().expect("lock").push(d)),
            &|_| None,
        )
        .expect("client");
        Box::new(GitLabWire { gl })
    }

    fn dialect() -> Dialect {
        Dialect {
            name: "gitlab",
            rate: RateHeaders {
                remaining: "ratelimit-remaining",
                reset: "ratelimit-reset",
            },
            foreign_rate: RateHeaders {
                remaining: "x-ratelimit-remaining",
                reset: "x-ratelimit-reset",
            },
            error_body: || json!({"error": "ref is invalid"}),
            error_text: "HTTP 422: ref is invalid",
            rechecks_creates: true,
            open,
        }
    }

    fault_suite!(dialect);
}
