//! Attempts, exponential backoff with jitter, and which answers are worth another attempt.
//!
//! - Retried: 5xx, connection failures (refused, reset, a body cut short) and timeouts, at
//!   most [`Policy::max_attempts`] attempts; rate limits ([`super::retry_after`]) wait what
//!   the forge asks, up to [`Policy::max_wait`], and fail at once naming the reset when that
//!   is longer.
//! - A request that is not idempotent ([`Idempotent::No`], a POST that creates) is never sent
//!   again after an ambiguous failure (5xx, timeout, reset): the first attempt may have gone
//!   through, so the caller looks before it writes again. A rate-limit refusal is not
//!   ambiguous (nothing was done) and is waited out.
//! - The wait before attempt `n + 1` is uniform in `[step/2, step]`, `step = backoff·2^(n-1)`,
//!   unless the answer said how long (`Retry-After`).

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use jiff::Timestamp;

use super::budget::Budget;
use super::retry_after::{self, RateHeaders, Throttle};
use relman_core::error::{Error, ForgeError, ForgeErrorKind, Result};

/// Sleeps between attempts; injectable so that tests record waits instead of waiting.
pub(crate) type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// The numbers of the policy, the same for both forges.
#[derive(Clone)]
pub(crate) struct Policy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff step; doubles every attempt (jitter below it).
    pub backoff: Duration,
    /// The longest relman waits for a rate limit or `Retry-After` before failing.
    pub max_wait: Duration,
    /// Whole-request deadline (connect, send, read the body).
    pub timeout: Duration,
    /// Pages of one listing at most; a listing that goes on is an error, not a truncation.
    pub max_pages: usize,
    pub sleep: Sleeper,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 4,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            max_pages: 200,
            sleep: Arc::new(std::thread::sleep),
        }
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("max_wait", &self.max_wait)
            .field("timeout", &self.timeout)
            .field("max_pages", &self.max_pages)
            .finish_non_exhaustive()
    }
}

/// Whether a request may be sent twice with the same effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotent {
    Yes,
    No,
    /// Safe to repeat, but a gateway timeout (502/504) goes back to the caller, who can ask
    /// for less (GraphQL batches) instead of sending the same heavy request again.
    YesButLighterOnTimeout,
}

/// What to do with one attempt's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand the answer to the caller, whatever its status.
    Done,
    /// Try again after `wait` (`None`: backoff); `why` and `kind` describe it should this be
    /// the last attempt.
    Retry {
        wait: Option<Duration>,
        why: String,
        kind: ForgeErrorKind,
    },
    /// Stop now with this error.
    Fail { kind: ForgeErrorKind, why: String },
}

impl Verdict {
    /// The step of [`Policy::run`] this verdict makes, `done` being the answer.
    pub fn step<T>(self, backend: &str, endpoint: &str, done: T) -> Result<Step<T>> {
        match self {
            Verdict::Done => Ok(Step::Done(done)),
            Verdict::Retry { wait, why, kind } => Ok(Step::Retry { wait, why, kind }),
            Verdict::Fail { kind, why } => Err(error(backend, endpoint, kind, &why)),
        }
    }
}

/// One attempt of [`Policy::run`].
#[derive(Debug)]
pub(crate) enum Step<T> {
    Done(T),
    Retry {
        wait: Option<Duration>,
        why: String,
        kind: ForgeErrorKind,
    },
}

/// A typed error about `endpoint`; the message starts with it.
pub(crate) fn error(backend: &str, endpoint: &str, kind: ForgeErrorKind, why: &str) -> Error {
    ForgeError::new(backend, endpoint, kind, format!("{endpoint}: {why}")).into()
}

impl Policy {
    /// The verdict on an answer with `status`, `headers` and `body` to a request that is
    /// `idempotent` or not, the forge naming its rate-limit headers `names`, at `now`.
    pub fn judge(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        idempotent: Idempotent,
        names: RateHeaders,
        now: Timestamp,
    ) -> Verdict {
        if let Some(limit) = retry_after::limit(status, headers, body, names, now, self.max_wait) {
            let kind = ForgeErrorKind::RateLimited { until: limit.until };
            return match limit.wait {
                Some(wait) if wait > self.max_wait => Verdict::Fail {
                    kind,
                    why: format!(
                        "{} exceeded (HTTP {status}); it resets at {} (in {} s), later than \
                         relman waits ({} s)",
                        limit.what,
                        limit
                            .until
                            .map_or_else(|| "an unknown time".into(), |t| t.to_string()),
                        wait.as_secs(),
                        self.max_wait.as_secs()
                    ),
                },
                wait => Verdict::Retry {
                    wait,
                    why: format!("{} (HTTP {status})", limit.what),
                    kind,
                },
            };
        }
        if !(500..600).contains(&status) {
            return Verdict::Done;
        }
        if idempotent == Idempotent::No
            || (idempotent == Idempotent::YesButLighterOnTimeout && matches!(status, 502 | 504))
        {
            return Verdict::Done;
        }
        let reason = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        Verdict::Retry {
            wait: retry_after::header(headers, "retry-after")
                .and_then(|v| retry_after::retry_after(v, now))
                .filter(|w| *w <= self.max_wait),
            why: format!("{status} {reason}").trim_end().to_string(),
            kind: ForgeErrorKind::Status { status },
        }
    }

    /// Before an attempt is sent: waits out a window an earlier answer said was spent
    /// (or fails naming its reset), then takes the request from the run's budget.
    pub fn admit(
        &self,
        throttle: &Throttle,
        budget: &Budget,
        backend: &str,
        endpoint: &str,
    ) -> Result<()> {
        if let Some(wait) = throttle.before(Timestamp::now(), self.max_wait, backend, endpoint)? {
            (self.sleep)(wait);
        }
        budget.take(backend, endpoint)
    }

    /// [`Policy::judge`] now; an answer handed to the caller also tells `throttle` whether
    /// it spent the window.
    pub fn judge_now(
        &self,
        throttle: &Throttle,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        idempotent: Idempotent,
        names: RateHeaders,
    ) -> Verdict {
        let verdict = self.judge(status, headers, body, idempotent, names, Timestamp::now());
        if verdict == Verdict::Done {
            throttle.note(headers, names);
        }
        verdict
    }

    /// The step after an attempt that got no usable answer (`why`: refused, reset, timed
    /// out, body cut short): another attempt when the request is idempotent, else a
    /// transport error naming `endpoint`.
    pub fn judge_failure<T>(
        &self,
        backend: &str,
        endpoint: &str,
        why: String,
        idempotent: Idempotent,
    ) -> Result<Step<T>> {
        match idempotent {
            Idempotent::Yes | Idempotent::YesButLighterOnTimeout => Ok(Step::Retry {
                wait: None,
                why,
                kind: ForgeErrorKind::Transport,
            }),
            Idempotent::No => Err(error(
                backend,
                endpoint,
                ForgeErrorKind::Transport,
                &format!("{why}; not retried because the request may have been applied"),
            )),
        }
    }

    /// The backoff after attempt `attempt` (1-based) for a jitter `fraction` in `[0, 1)`.
    pub fn backoff_at(&self, attempt: u32, fraction: f64) -> Duration {
        let step = self
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        step / 2 + step.mul_f64(fraction.clamp(0.0, 1.0) / 2.0)
    }

    /// Runs `attempt(n)` for `n = 1, 2, …` until it is done, fails, or the attempts are
    /// spent (an error of the last retry's kind naming `endpoint`), sleeping between them.
    pub fn run<T>(
        &self,
        backend: &str,
        endpoint: &str,
        mut attempt: impl FnMut(u32) -> Result<Step<T>>,
    ) -> Result<T> {
        let max = self.max_attempts.max(1);
        let mut n = 1;
        loop {
            match attempt(n)? {
                Step::Done(t) => return Ok(t),
                Step::Retry { wait, why, kind } => {
                    if n >= max {
                        let why = format!("{why} (gave up after {n} attempts)");
                        return Err(error(backend, endpoint, kind, &why));
                    }
                    let wait = wait.unwrap_or_else(|| self.backoff_at(n, jitter()));
                    tracing::debug!("{backend}: {endpoint}: {why}; retrying in {wait:?}");
                    (self.sleep)(wait);
                    n += 1;
                }
            }
        }
    }
}

/// A number in `[0, 1)` for jitter: no RNG dependency, the clock's nanoseconds hashed with
/// a per-process random key.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let h = RandomState::new().hash_one(nanos);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const GH: RateHeaders = RateHeaders {
        remaining: "x-ratelimit-remaining",
        reset: "x-ratelimit-reset",
    };

    fn now() -> Timestamp {
        "2026-12-03T10:00:00Z".parse().expect("ts")
    }

    fn recording() -> (Policy, Arc<Mutex<Vec<Duration>>>) {
        let slept = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&slept);
        let policy = Policy {
            backoff: Duration::from_millis(100),
            sleep: Arc::new(move |d| into.lock().expect("lock").push(d)),
            ..Policy::default()
        };
        (policy, slept)
    }

    fn judge(status: u16, headers: &[(&'static str, &str)], idem: Idempotent) -> Verdict {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().expect("value"));
        }
        Policy::default().judge(status, &h, b"", idem, GH, now())
    }

    #[test]
    fn backoff_doubles_with_jitter_in_the_upper_half_of_each_step() {
        let (p, _) = recording();
        assert_eq!(p.backoff_at(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff_at(1, 0.999_999), Duration::from_nanos(99_999_950));
        assert_eq!(p.backoff_at(2, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff_at(3, 0.5), Duration::from_millis(300));
        // Capped growth, never an overflow.
        assert!(p.backoff_at(u32::MAX, 1.0) <= Duration::from_millis(100 * 1024));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn server_errors_are_retried_only_when_idempotent() {
        let retry = judge(503, &[], Idempotent::Yes);
        assert_eq!(
            retry,
            Verdict::Retry {
                wait: None,
                why: "503 Service Unavailable".into(),
                kind: ForgeErrorKind::Status { status: 503 }
            }
        );
        // Retry-After on a 5xx sets the wait, when it is not longer than relman waits.
        assert!(matches!(
            judge(503, &[("retry-after", "2")], Idempotent::Yes),
            Verdict::Retry { wait: Some(w), .. } if w == Duration::from_secs(2)
        ));
        assert!(matches!(
            judge(503, &[("retry-after", "9999")], Idempotent::Yes),
            Verdict::Retry { wait: None, .. }
        ));
        // A POST that creates: the 5xx may hide a success, the caller looks first.
        assert_eq!(judge(502, &[], Idempotent::No), Verdict::Done);
        assert_eq!(
            judge(504, &[], Idempotent::YesButLighterOnTimeout),
            Verdict::Done
        );
        assert!(matches!(
            judge(500, &[], Idempotent::YesButLighterOnTimeout),
            Verdict::Retry { .. }
        ));
        for status in [200, 201, 204, 301, 400, 401, 404, 409, 422] {
            assert_eq!(
                judge(status, &[], Idempotent::Yes),
                Verdict::Done,
                "{status}"
            );
        }
        // A 403 that is no rate limit is the caller's (a permission error).
        assert_eq!(judge(403, &[], Idempotent::Yes), Verdict::Done);
    }

    #[test]
    fn rate_limits_are_waited_out_even_for_creates_or_fail_naming_the_reset() {
        // Nothing was done: a POST waits its turn like a GET.
        for idem in [Idempotent::Yes, Idempotent::No] {
            assert!(matches!(
                judge(429, &[("retry-after", "3")], idem),
                Verdict::Retry { wait: Some(w), kind: ForgeErrorKind::RateLimited { .. }, .. }
                    if w == Duration::from_secs(3)
            ));
        }
        let reset = (now().as_second() + 3600).to_string();
        let v = judge(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ],
            Idempotent::Yes,
        );
        let at = Timestamp::from_second(now().as_second() + 3600).expect("ts");
        match v {
            Verdict::Fail { kind, why } => {
                assert_eq!(kind, ForgeErrorKind::RateLimited { until: Some(at) });
                assert!(
                    why.contains(&at.to_string()) && why.contains("3600 s"),
                    "{why}"
                );
            }
            other => panic!("{other:?}"),
        }
        // An HTTP-date Retry-After past the limit fails too.
        assert!(matches!(
            judge(
                429,
                &[("retry-after", "Thu, 03 Dec 2026 12:00:00 GMT")],
                Idempotent::Yes
            ),
            Verdict::Fail {
                kind: ForgeErrorKind::RateLimited { until: Some(_) },
                ..
            }
        ));
    }

    #[test]
    fn ambiguous_failures_are_retried_unless_the_request_creates() {
        let p = Policy::default();
        assert!(matches!(
            p.judge_failure::<()>("github", "GET /x", "timed out".into(), Idempotent::Yes),
            Ok(Step::Retry {
                kind: ForgeErrorKind::Transport,
                ..
            })
        ));
        let err = p
            .judge_failure::<()>(
                "github",
                "POST /x",
                "connection reset".into(),
                Idempotent::No,
            )
            .expect_err("not retried");
        assert!(matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Transport));
        assert!(err.to_string().contains("may have been applied"), "{err}");
    }

    #[test]
    fn the_loop_sleeps_between_attempts_and_gives_up_naming_the_endpoint() {
        let (p, slept) = recording();
        let mut calls = 0;
        let got = p.run("gitlab", "GET /x", |n| {
            calls += 1;
            Ok(if n < 3 {
                Step::Retry {
                    wait: (n == 2).then_some(Duration::from_secs(7)),
                    why: "503".into(),
                    kind: ForgeErrorKind::Status { status: 503 },
                }
            } else {
                Step::Done(n)
            })
        });
        assert_eq!(got.expect("done"), 3);
        let slept = slept.lock().expect("lock").clone();
        assert_eq!(slept.len(), 2);
        assert!(slept[0] >= Duration::from_millis(50) && slept[0] <= Duration::from_millis(100));
        assert_eq!(slept[1], Duration::from_secs(7));

        let (p, slept) = recording();
        let err = p
            .run::<()>("github", "GET /y", |_| {
                Ok(Step::Retry {
                    wait: None,
                    why: "connection reset".into(),
                    kind: ForgeErrorKind::Transport,
                })
            })
            .expect_err("gives up");
        assert_eq!(
            err.to_string(),
            "github: GET /y: connection reset (gave up after 4 attempts)"
        );
        assert!(matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Transport));
        assert_eq!(slept.lock().expect("lock").len(), 3);

        // A failure stops at once, without sleeping.
        let (p, slept) = recording();
        let err = p
            .run("github", "POST /z", |_| {
                p.judge_failure::<()>("github", "POST /z", "reset".into(), Idempotent::No)
            })
            .expect_err("fails");
        assert!(
            err.to_string()
                .starts_with("github: POST /z: reset; not retried"),
            "{err}"
        );
        assert!(slept.lock().expect("lock").is_empty());
    }
}
