//! The fault suite of the request policy, written once and run against each backend through
//! its own transport (`fault_suite!` in `github/tests/faults.rs` and `gitlab/tests/faults.rs`)
//! and the fault-injecting stand-in ([`crate::standin`]): 5xx bursts, connections reset
//! mid-body, answers slower than the timeout, 429 with `Retry-After` in both forms, secondary
//! limits, the dialect's rate-limit reset headers, listings that change between pages, next
//! links to another host, the page cap, the request budget, and creates whose answer was lost.
//!
//! What a backend gives the suite is its [`Dialect`]: how to open its transport, its
//! rate-limit header names, the shape of its error bodies and how it creates. The flows above
//! the transport (releases, deployments, dispatch) have their own fault tests beside each
//! backend.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::policy::RateHeaders;
use crate::standin::{Answer, Fake, Fault, Request, Rule, Standin};
use relman_core::ExitCode;
use relman_core::error::{Error, ForgeError, ForgeErrorKind, Result};

/// Sleeps a client asked for, recorded instead of slept.
pub(crate) type Sleeps = Arc<Mutex<Vec<Duration>>>;

/// A backend's transport as the suite uses it: its crate-visible helpers, nothing more.
pub(crate) trait Wire {
    /// GET `path` (under the API); `None` on 404.
    fn get(&self, path: &str) -> Result<Option<Value>>;
    /// Every item of the listing at `path`.
    fn list(&self, path: &str) -> Result<Vec<Value>>;
    /// Creates with a POST, which is not idempotent, the backend's own way.
    fn create(&self, path: &str, body: &Value) -> Result<Value>;
    /// HTTP requests sent so far.
    fn sent(&self) -> u32;
}

/// What differs between the forges.
pub(crate) struct Dialect {
    pub name: &'static str,
    /// Its primary rate-limit headers.
    pub rate: RateHeaders,
    /// The other forge's, which mean nothing to this one.
    pub foreign_rate: RateHeaders,
    /// A 422 body in this forge's shape, and the text its error must quote.
    pub error_body: fn() -> Value,
    pub error_text: &'static str,
    /// Whether a create whose answer was lost is found again in the same call (GitLab's
    /// recheck) rather than failing for the next job to find (GitHub).
    pub rechecks_creates: bool,
    /// A client of the stand-in at `url` with test timings (300 ms timeout, 1 ms backoff,
    /// 10 s longest wait, 4 attempts), `budget` and `max_pages`, sleeps recorded in `sleeps`.
    pub open: fn(url: &str, budget: u32, max_pages: usize, sleeps: Sleeps) -> Box<dyn Wire>,
}

/// Items a page of the scripted listing.
const PAGE: usize = 2;
/// Where a next link points when it leaves the API.
const ELSEWHERE: &str = "http://evil.invalid";

/// A forge of three resources: `/thing`, the listing `/items` (newest first, paged by
/// [`PAGE`] with `Link` headers), and `/made` (POST creates; `/made/mine` finds it again).
struct Script {
    items: Vec<u64>,
    next_elsewhere: bool,
    made: Vec<Value>,
    refusal: Value,
}

impl Script {
    fn new(d: &Dialect, items: u64) -> Script {
        Script {
            items: (1..=items).rev().collect(),
            next_elsewhere: false,
            made: Vec::new(),
            refusal: (d.error_body)(),
        }
    }
}

impl Fake for Script {
    fn handle(&mut self, req: &Request, base: &str) -> Answer {
        let path = req.path.strip_prefix("/api/v4").unwrap_or(&req.path);
        match (req.method.as_str(), path) {
            ("GET", "/thing") => Answer::json(200, json!({"id": 1, "name": "thing"})),
            ("GET", "/refused") => Answer::json(422, self.refusal.clone()),
            ("GET", "/items") => {
                let page: usize = req.param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let chunk: Vec<Value> = self
                    .items
                    .iter()
                    .skip((page - 1) * PAGE)
                    .take(PAGE)
                    .map(|id| json!({"id": id}))
                    .collect();
                let answer = Answer::json(200, Value::Array(chunk));
                if self.items.len() <= page * PAGE {
                    return answer;
                }
                let host = if self.next_elsewhere { ELSEWHERE } else { base };
                let next = format!("{host}{}?page={}", req.path, page + 1);
                answer.with_header("link", format!("<{next}>; rel=\"next\""))
            }
            ("POST", "/made") => {
                let made = json!({"id": 100 + self.made.len()});
                self.made.push(made.clone());
                Answer::json(201, made)
            }
            ("GET", "/made/mine") => match self.made.last() {
                Some(m) => Answer::json(200, m.clone()),
                None => Answer::json(404, json!({"message": "Not Found"})),
            },
            _ => Answer::json(404, json!({"message": "Not Found"})),
        }
    }

    fn race(&mut self, _req: &Request) {}

    fn shift(&mut self, _req: &Request) {
        // A new item arrives at the head: every item moves one place down.
        let newest = self.items.iter().max().copied().unwrap_or(0) + 1;
        self.items.insert(0, newest);
    }

    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

struct Run {
    standin: Standin,
    wire: Box<dyn Wire>,
    sleeps: Sleeps,
}

impl Run {
    fn slept(&self) -> Vec<Duration> {
        self.sleeps.lock().expect("lock").clone()
    }
}

fn run(d: &Dialect, script: Script, rules: Vec<Rule>, budget: u32, max_pages: usize) -> Run {
    let standin = Standin::start(script, rules);
    let sleeps = Sleeps::default();
    let wire = (d.open)(&standin.url, budget, max_pages, Arc::clone(&sleeps));
    Run {
        standin,
        wire,
        sleeps,
    }
}

fn simple(d: &Dialect, rules: Vec<Rule>) -> Run {
    run(d, Script::new(d, 5), rules, 100, 200)
}

/// The typed forge error inside `e`, which must be an external failure (exit 3).
fn api(e: &Error) -> &ForgeError {
    assert_eq!(e.exit_code(), ExitCode::External, "{e}");
    match e {
        Error::Api(f) => f,
        other => panic!("not a forge API error: {other:?}"),
    }
}

fn thing(r: &Run) -> Result<Option<Value>> {
    r.wire.get("/thing")
}

pub(crate) fn bursts_of_5xx_are_retried_with_backoff_then_given_up(d: &Dialect) {
    let r = simple(
        d,
        vec![Rule::on("GET", "/thing", Fault::Unavailable).times(3)],
    );
    assert_eq!(
        thing(&r).expect("through the burst").expect("found")["id"],
        1
    );
    assert_eq!(r.standin.count("GET", "/thing"), 4);
    let slept = r.slept();
    assert_eq!(slept.len(), 3, "{slept:?}");
    // 1 ms doubling, jitter in the upper half of each step.
    for (n, wait) in slept.iter().enumerate() {
        let step = Duration::from_millis(1 << n);
        assert!(*wait >= step / 2 && *wait <= step, "{n}: {wait:?}");
    }

    let r = simple(
        d,
        vec![Rule::on("GET", "/thing", Fault::Unavailable).times(9)],
    );
    let err = thing(&r).expect_err("gives up");
    let e = api(&err);
    assert_eq!(e.kind, ForgeErrorKind::Status { status: 503 });
    assert!(e.is_transient());
    let text = err.to_string();
    assert!(text.starts_with(&format!("{}: GET ", d.name)), "{text}");
    assert!(
        text.contains("/thing: 503") && text.contains("gave up after 4 attempts"),
        "{text}"
    );
    assert_eq!(r.standin.count("GET", "/thing"), 4);
}

pub(crate) fn a_connection_reset_mid_body_is_retried(d: &Dialect) {
    let r = simple(d, vec![Rule::on("GET", "/thing", Fault::DropMidBody)]);
    assert!(thing(&r).expect("retried").is_some());
    assert_eq!(r.standin.count("GET", "/thing"), 2);

    let r = simple(
        d,
        vec![Rule::on("GET", "/thing", Fault::DropMidBody).times(9)],
    );
    let err = thing(&r).expect_err("gives up");
    assert_eq!(api(&err).kind, ForgeErrorKind::Transport, "{err}");
    assert_eq!(r.standin.count("GET", "/thing"), 4);
}

pub(crate) fn an_answer_slower_than_the_timeout_is_retried(d: &Dialect) {
    let slow = Fault::Slow(Duration::from_millis(700));
    let r = simple(d, vec![Rule::on("GET", "/thing", slow)]);
    assert!(thing(&r).expect("retried").is_some());
    assert_eq!(r.standin.count("GET", "/thing"), 2);

    let r = simple(d, vec![Rule::on("GET", "/thing", slow).times(9)]);
    let err = thing(&r).expect_err("gives up");
    let e = api(&err);
    assert_eq!(e.kind, ForgeErrorKind::Transport, "{err}");
    assert!(e.is_transient());
    assert_eq!(r.standin.count("GET", "/thing"), 4);
}

pub(crate) fn a_429_waits_for_retry_after_in_seconds_or_as_an_http_date(d: &Dialect) {
    let r = simple(d, vec![Rule::on("GET", "/thing", Fault::TooMany(3))]);
    assert!(thing(&r).expect("waited").is_some());
    assert_eq!(r.slept(), [Duration::from_secs(3)]);

    let r = simple(d, vec![Rule::on("GET", "/thing", Fault::TooManyUntil(5))]);
    assert!(thing(&r).expect("waited").is_some());
    let slept = r.slept();
    assert_eq!(slept.len(), 1, "{slept:?}");
    // An HTTP date has whole seconds: 5 s ahead, read up to a second later.
    assert!(
        slept[0] >= Duration::from_secs(3) && slept[0] <= Duration::from_secs(5),
        "{slept:?}"
    );

    // Longer than relman waits (10 s here): fails at once naming when, sends nothing more.
    for fault in [Fault::TooMany(3600), Fault::TooManyUntil(3600)] {
        let r = simple(d, vec![Rule::on("GET", "/thing", fault)]);
        let err = thing(&r).expect_err("too long");
        let e = api(&err);
        assert!(
            matches!(e.kind, ForgeErrorKind::RateLimited { until: Some(_) }),
            "{fault:?}: {err:?}"
        );
        assert!(e.is_transient());
        assert!(r.slept().is_empty());
        assert_eq!(r.standin.count("GET", "/thing"), 1);
    }
}

pub(crate) fn a_secondary_limit_waits_for_retry_after_or_a_minute(d: &Dialect) {
    let r = simple(d, vec![Rule::on("GET", "/thing", Fault::SecondaryLimit)]);
    assert!(thing(&r).expect("waited").is_some());
    assert_eq!(r.slept(), [Duration::from_secs(1)]);

    // Without headers: a minute as GitHub documents, capped by the longest wait (10 s here).
    let r = simple(d, vec![Rule::on("GET", "/thing", Fault::SecondaryBare)]);
    assert!(thing(&r).expect("waited").is_some());
    assert_eq!(r.slept(), [Duration::from_secs(10)]);
}

pub(crate) fn a_spent_primary_limit_waits_for_the_dialects_reset(d: &Dialect) {
    let spent = |headers, in_secs, status| Fault::Spent {
        headers,
        in_secs,
        status,
    };
    let r = simple(
        d,
        vec![Rule::on("GET", "/thing", spent(d.rate, 3, Some(403)))],
    );
    assert!(thing(&r).expect("waited").is_some());
    let slept = r.slept();
    assert!(
        // Reset is a whole second 3 s ahead of the stand-in's clock.
        slept.len() == 1
            && slept[0] >= Duration::from_secs(1)
            && slept[0] <= Duration::from_secs(3),
        "{slept:?}"
    );

    let r = simple(
        d,
        vec![Rule::on("GET", "/thing", spent(d.rate, 3600, Some(403)))],
    );
    let err = thing(&r).expect_err("too long");
    let until = match api(&err).kind {
        ForgeErrorKind::RateLimited { until: Some(t) } => t,
        ref other => panic!("{other:?}"),
    };
    assert!(err.to_string().contains(&until.to_string()), "{err}");
    assert_eq!(r.standin.count("GET", "/thing"), 1);

    // Spent on an answer that went through: the next request waits for the reset first.
    let r = simple(d, vec![Rule::on("GET", "/thing", spent(d.rate, 3, None))]);
    assert!(thing(&r).expect("first").is_some());
    assert!(r.slept().is_empty());
    assert!(thing(&r).expect("second").is_some());
    assert_eq!(r.slept().len(), 1, "{:?}", r.slept());

    // The other forge's header names mean nothing here: a 403 is a permission error.
    let r = simple(
        d,
        vec![Rule::on(
            "GET",
            "/thing",
            spent(d.foreign_rate, 3, Some(403)),
        )],
    );
    let err = thing(&r).expect_err("403");
    assert_eq!(api(&err).kind, ForgeErrorKind::Status { status: 403 });
    assert!(r.slept().is_empty());
    assert_eq!(r.standin.count("GET", "/thing"), 1);
}

pub(crate) fn a_listing_that_changes_between_pages_is_read_to_its_end(d: &Dialect) {
    let r = run(
        d,
        Script::new(d, 5),
        vec![Rule::on("GET", "/items", Fault::Shift).skip(1)],
        100,
        200,
    );
    let ids: Vec<u64> = r
        .wire
        .list("/items")
        .expect("listing")
        .iter()
        .filter_map(|v| v["id"].as_u64())
        .collect();
    for id in 1..=5 {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    // Six items after the shift: three pages, one request each.
    assert_eq!(r.standin.count("GET", "/items"), 3);
    assert_eq!(r.wire.sent(), 3);
}

pub(crate) fn a_next_link_to_another_host_is_an_error_naming_the_endpoint(d: &Dialect) {
    let mut script = Script::new(d, 5);
    script.next_elsewhere = true;
    let r = run(d, script, Vec::new(), 100, 200);
    let err = r.wire.list("/items").expect_err("refused");
    assert_eq!(api(&err).kind, ForgeErrorKind::ForeignLink, "{err}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("{}: GET ", d.name)), "{text}");
    assert!(
        text.contains(&format!(
            "refusing to follow a pagination link to another host ({ELSEWHERE})"
        )),
        "{text}"
    );
    assert_eq!(r.wire.sent(), 1, "nothing was sent to the other host");
}

pub(crate) fn a_listing_past_the_page_cap_is_an_error(d: &Dialect) {
    // Seven items, two a page: four pages, one more than the cap.
    let r = run(d, Script::new(d, 7), Vec::new(), 100, 3);
    let err = r.wire.list("/items").expect_err("capped");
    assert!(err.to_string().contains("goes on past 3 pages"), "{err}");
    assert_eq!(api(&err).kind, ForgeErrorKind::PageCap { pages: 3 });
    assert_eq!(r.standin.count("GET", "/items"), 3);
    // Within the cap, the whole listing.
    let r = run(d, Script::new(d, 7), Vec::new(), 100, 4);
    assert_eq!(r.wire.list("/items").expect("4 pages").len(), 7);
}

pub(crate) fn the_request_past_the_budget_is_not_sent(d: &Dialect) {
    let r = run(
        d,
        Script::new(d, 5),
        vec![Rule::on("GET", "/thing", Fault::Unavailable).times(9)],
        2,
        200,
    );
    let err = thing(&r).expect_err("budget");
    let e = api(&err);
    assert_eq!(e.kind, ForgeErrorKind::BudgetSpent { budget: 2 });
    assert!(!e.is_transient());
    assert!(
        err.to_string().contains("request budget of 2 requests"),
        "{err}"
    );
    assert_eq!(r.standin.count("GET", "/thing"), 2);
    assert_eq!(r.wire.sent(), 2);
}

/// What the forge made, and how many POSTs reached it.
fn made(r: &Run) -> (usize, usize) {
    let made = r.standin.fake(|s: &mut Script| s.made.len());
    (made, r.standin.count("POST", "/made"))
}

pub(crate) fn a_create_whose_answer_was_lost_is_not_sent_again_blindly(d: &Dialect) {
    let slow = Fault::Slow(Duration::from_millis(700));
    for fault in [Fault::DropMidBody, Fault::LostAnswer, slow] {
        let r = simple(d, vec![Rule::on("POST", "/made", fault)]);
        let got = r.wire.create("/made", &json!({"name": "x"}));
        // The forge acted once and saw one POST, whatever the answer's fate.
        assert_eq!(made(&r), (1, 1), "{fault:?}: {got:?}");
        if d.rechecks_creates {
            assert_eq!(got.expect("found again")["id"], 100, "{fault:?}");
        } else {
            let err = got.expect_err("not sent again");
            assert!(api(&err).is_transient(), "{fault:?}: {err}");
        }
    }
    // A rate limit is no ambiguous failure: nothing was done, so the create waits its turn.
    let r = simple(d, vec![Rule::on("POST", "/made", Fault::TooMany(2))]);
    let got = r.wire.create("/made", &json!({"name": "x"}));
    assert_eq!(got.expect("created")["id"], 100);
    assert_eq!(made(&r), (1, 2));
    assert_eq!(r.slept(), [Duration::from_secs(2)]);
}

pub(crate) fn an_error_body_is_quoted_in_the_dialects_shape(d: &Dialect) {
    let r = simple(d, Vec::new());
    let err = r.wire.get("/refused").expect_err("422");
    let e = api(&err);
    assert_eq!(e.status(), Some(422));
    assert!(!e.is_transient());
    assert!(err.to_string().contains(d.error_text), "{err}");
    assert_eq!(r.standin.count("GET", "/refused"), 1);
    assert_eq!(r.wire.get("/nothing").expect("404 is none"), None);
}

/// The suite's tests, in a module `policy_suite`, for the backend whose [`Dialect`] the
/// function `$dialect` of the calling module returns.
macro_rules! fault_suite {
    ($dialect:ident) => {
        $crate::policy::suite::fault_suite!(@tests $dialect;
            bursts_of_5xx_are_retried_with_backoff_then_given_up,
            a_connection_reset_mid_body_is_retried,
            an_answer_slower_than_the_timeout_is_retried,
            a_429_waits_for_retry_after_in_seconds_or_as_an_http_date,
            a_secondary_limit_waits_for_retry_after_or_a_minute,
            a_spent_primary_limit_waits_for_the_dialects_reset,
            a_listing_that_changes_between_pages_is_read_to_its_end,
            a_next_link_to_another_host_is_an_error_naming_the_endpoint,
            a_listing_past_the_page_cap_is_an_error,
            the_request_past_the_budget_is_not_sent,
            a_create_whose_answer_was_lost_is_not_sent_again_blindly,
            an_error_body_is_quoted_in_the_dialects_shape,
        );
    };
    (@tests $dialect:ident; $($name:ident,)*) => {
        mod policy_suite {
            $(
                #[test]
                fn $name() {
                    $crate::policy::suite::$name(&super::$dialect());
                }
            )*
        }
    };
}
pub(crate) use fault_suite;

// --- the flows above the transport, for the backends' own fault tests --------------------------

/// Each flow's name and result: `Ok(debug text)` or the error's exit code and message.
pub(crate) type Results = Vec<(
    &'static str,
    std::result::Result<String, (ExitCode, String)>,
)>;

/// What every flow asks of a forge; the values differ between the forges' fakes.
pub(crate) struct Flows {
    pub release: crate::ReleaseSpec,
    pub deployment: crate::DeploymentSpec,
    pub status_description: &'static str,
    pub dispatch: crate::DispatchSpec,
    pub sha: &'static str,
}

/// Runs every flow relman runs (release upsert, deployment create and status, dispatch, the
/// gate's reads, the commit status) twice, the second time with a new forge from `open` (a
/// retried job). Panics propagate and fail the test.
pub(crate) fn every_flow(open: &mut dyn FnMut() -> Box<dyn crate::Forge>, f: &Flows) -> Results {
    use crate::{CommitState, CommitStatusSpec, DeploymentState};
    let mut out = Vec::new();
    let mut note = |name, r: Result<String>| {
        out.push((name, r.map_err(|e| (e.exit_code(), e.to_string()))));
    };
    for _ in 0..2 {
        let forge = open();
        let release = forge.upsert_release(&f.release);
        note("release", release.map(|u| format!("{u:?}")));
        let deployment = forge.create_deployment(&f.deployment);
        let id = deployment.as_ref().ok().map(|d| d.value.id);
        note("deployment", deployment.map(|u| format!("{u:?}")));
        if let Some(id) = id {
            let status =
                forge.set_deployment_status(id, DeploymentState::Success, f.status_description);
            note("deployment status", status.map(|u| format!("{u:?}")));
        }
        let dispatch = forge.dispatch(&f.dispatch);
        note("dispatch", dispatch.map(|u| format!("{u:?}")));
        let listing = forge.deployments("production", 10).map(|d| {
            let ids: Vec<u64> = d.iter().map(|d| d.id).collect();
            format!("{ids:?}")
        });
        note("deployments", listing);
        let good = forge.last_successful_deployment("production");
        note(
            "last good deployment",
            good.map(|d| format!("{:?}", d.map(|d| d.sha))),
        );
        note(
            "checks",
            forge.checks_for_commit(f.sha).map(|c| format!("{c:?}")),
        );
        note("reviews", forge.reviews(12).map(|r| format!("{r:?}")));
        note(
            "pull request",
            forge.pull_request(12).map(|p| format!("{p:?}")),
        );
        let blockers = forge.issues_with_label("blocker");
        note("blockers", blockers.map(|i| format!("{}", i.len())));
        let status = forge.set_commit_status(&CommitStatusSpec {
            sha: f.sha.into(),
            context: "relman/gate".into(),
            state: CommitState::Success,
            description: "go".into(),
            target_url: None,
        });
        note("commit status", status.map(|o| format!("{o:?}")));
    }
    out
}

/// Every failure is an external error (exit 3), never a panic or another kind, and no
/// listing shows one deployment twice, even when it changes between pages.
pub(crate) fn assert_external_and_listed_once(results: &Results) {
    for (flow, r) in results {
        if let Err((code, message)) = r {
            assert_eq!(*code, ExitCode::External, "{flow}: {message}");
        }
        if *flow == "deployments"
            && let Ok(ids) = r
        {
            let ids: Vec<u64> = serde_json::from_str(ids).expect("ids");
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "duplicate deployment in {ids:?}");
        }
    }
}

/// How many times `flow` succeeded.
pub(crate) fn succeeded(results: &Results, flow: &str) -> usize {
    results
        .iter()
        .filter(|(f, r)| *f == flow && r.is_ok())
        .count()
}
