//! What an answer says about waiting: `Retry-After` in both of its forms (seconds, HTTP date),
//! the primary rate-limit headers (`x-ratelimit-*` on GitHub, `RateLimit-*` on GitLab: the
//! backend names its own with [`RateHeaders`]), and GitHub's secondary limits (a 403 whose
//! body says so, with or without headers).

use std::sync::Mutex;
use std::time::Duration;

use http::HeaderMap;
use jiff::Timestamp;

use relman_core::error::{Error, ForgeError, ForgeErrorKind};

/// The names of a forge's primary rate-limit headers (matched case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateHeaders {
    /// Requests left in the window; `0` means the next one will be refused.
    pub remaining: &'static str,
    /// Unix second at which the window resets.
    pub reset: &'static str,
}

/// GitHub documents that a secondary limit without headers wants at least a minute.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// A header's value, trimmed, if it is text.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// `Retry-After` as a wait from `now`: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, a date in the past meaning "now").
pub(crate) fn retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(until(when, now))
}

/// From `now` to `when`, zero when it is past.
fn until(when: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(when.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// The reset time of the primary limit, when the answer names one.
fn reset(headers: &HeaderMap, names: RateHeaders) -> Option<Timestamp> {
    header(headers, names.reset)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|s| Timestamp::from_second(s).ok())
}

/// A rate limit an answer reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Limit {
    /// How long to wait before the next attempt; `None`: the answer names no time, so back off.
    pub wait: Option<Duration>,
    /// When the limit resets, when known.
    pub until: Option<Timestamp>,
    /// `rate limit` or `secondary rate limit`, for messages.
    pub what: &'static str,
}

/// The rate limit a 403 or 429 reports, `None` for any other answer (a 403 without any sign
/// of a limit is a permission error, left to the caller). In order: `Retry-After`; the
/// primary limit's reset when it is spent (or on a 429); a secondary limit without headers
/// waits a minute (at most `max_wait`); a bare 429 backs off.
pub(crate) fn limit(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    names: RateHeaders,
    now: Timestamp,
    max_wait: Duration,
) -> Option<Limit> {
    if status != 403 && status != 429 {
        return None;
    }
    let secondary = String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("secondary rate limit");
    let what = if secondary {
        "secondary rate limit"
    } else {
        "rate limit"
    };
    if let Some(wait) = header(headers, "retry-after").and_then(|v| retry_after(v, now)) {
        let until = now.checked_add(wait).ok().map(whole_second);
        return Some(Limit {
            wait: Some(wait),
            until,
            what,
        });
    }
    let spent = header(headers, names.remaining) == Some("0");
    if (spent || status == 429)
        && let Some(at) = reset(headers, names)
    {
        return Some(Limit {
            wait: Some(until(at, now)),
            until: Some(at),
            what,
        });
    }
    if secondary {
        let wait = SECONDARY_WAIT.min(max_wait);
        return Some(Limit {
            wait: Some(wait),
            until: now.checked_add(wait).ok().map(whole_second),
            what,
        });
    }
    (status == 429 || spent).then_some(Limit {
        wait: None,
        until: None,
        what,
    })
}

fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// Holds the next request back when an answer relman kept said the window is spent
/// (`remaining: 0`), instead of sending a request bound to be refused.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    not_before: Mutex<Option<Timestamp>>,
}

impl Throttle {
    /// Notes a kept answer's headers.
    pub fn note(&self, headers: &HeaderMap, names: RateHeaders) {
        if header(headers, names.remaining) == Some("0")
            && let Some(at) = reset(headers, names)
        {
            *self.not_before.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
        }
    }

    /// Before a request: how long to wait first (once), or a rate-limited error naming the
    /// reset when that is longer than `max_wait`.
    pub fn before(
        &self,
        now: Timestamp,
        max_wait: Duration,
        backend: &str,
        endpoint: &str,
    ) -> Result<Option<Duration>, Error> {
        let at = self
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(at) = at else { return Ok(None) };
        let wait = until(at, now);
        if wait > max_wait {
            return Err(ForgeError::new(
                backend,
                endpoint,
                ForgeErrorKind::RateLimited { until: Some(at) },
                format!(
                    "{endpoint}: rate limit spent (remaining 0) until {at}, later than relman \
                     waits ({} s)",
                    max_wait.as_secs()
                ),
            )
            .into());
        }
        Ok((!wait.is_zero()).then_some(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: RateHeaders = RateHeaders {
        remaining: "x-ratelimit-remaining",
        reset: "x-ratelimit-reset",
    };
    const GL: RateHeaders = RateHeaders {
        remaining: "ratelimit-remaining",
        reset: "ratelimit-reset",
    };
    const MAX: Duration = Duration::from_secs(60);

    fn now() -> Timestamp {
        "2026-12-03T10:00:00Z".parse().expect("ts")
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after("7", now()), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Thu, 03 Dec 2026 10:00:42 GMT", now()),
            Some(Duration::from_secs(42))
        );
        // A date in the past: retry now.
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now()), None);
        assert_eq!(retry_after("-3", now()), None);
    }

    #[test]
    fn a_429_waits_for_retry_after_in_either_form() {
        for value in ["30", "Thu, 03 Dec 2026 10:00:30 GMT"] {
            let h = headers(&[("retry-after", value.into())]);
            let l = limit(429, &h, b"", GL, now(), MAX).expect("limited");
            assert_eq!(l.wait, Some(Duration::from_secs(30)), "{value}");
            assert_eq!(l.until, Some("2026-12-03T10:00:30Z".parse().expect("ts")));
        }
    }

    #[test]
    fn the_primary_limit_waits_for_its_reset_in_each_dialect() {
        let reset = (now().as_second() + 90).to_string();
        for names in [GH, GL] {
            let h = headers(&[(names.remaining, "0".into()), (names.reset, reset.clone())]);
            let l = limit(403, &h, b"{}", names, now(), MAX).expect("limited");
            assert_eq!(l.wait, Some(Duration::from_secs(90)));
            assert_eq!(l.until.map(|t| t.as_second()), Some(now().as_second() + 90));
            // The other forge's header names mean nothing here: a plain 403.
            let other = if names == GH { GL } else { GH };
            assert_eq!(limit(403, &h, b"{}", other, now(), MAX), None);
        }
        // GitLab's 429 names its reset without `remaining: 0`.
        let h = headers(&[("ratelimit-reset", reset)]);
        let l = limit(429, &h, b"", GL, now(), MAX).expect("limited");
        assert_eq!(l.wait, Some(Duration::from_secs(90)));
    }

    #[test]
    fn secondary_limits_wait_a_minute_without_headers_and_bare_429s_back_off() {
        let body = br#"{"message": "You have exceeded a secondary rate limit."}"#;
        let l = limit(403, &HeaderMap::new(), body, GH, now(), MAX).expect("limited");
        assert_eq!(l.what, "secondary rate limit");
        assert_eq!(l.wait, Some(Duration::from_secs(60)));
        let short = limit(
            403,
            &HeaderMap::new(),
            body,
            GH,
            now(),
            Duration::from_secs(5),
        );
        assert_eq!(short.expect("limited").wait, Some(Duration::from_secs(5)));
        // With retry-after, that wins.
        let h = headers(&[("retry-after", "3".into())]);
        let l = limit(403, &h, body, GH, now(), MAX).expect("limited");
        assert_eq!(l.wait, Some(Duration::from_secs(3)));
        let bare = limit(429, &HeaderMap::new(), b"", GH, now(), MAX).expect("limited");
        assert_eq!(bare.wait, None);
        // A 403 with no sign of a limit is a permission error; other statuses are not limits.
        assert_eq!(
            limit(403, &HeaderMap::new(), b"Forbidden", GH, now(), MAX),
            None
        );
        assert_eq!(limit(503, &h, b"", GH, now(), MAX), None);
    }

    #[test]
    fn a_spent_window_holds_the_next_request_once_or_fails_naming_the_reset() {
        let t = Throttle::default();
        assert_eq!(t.before(now(), MAX, "gitlab", "GET /x").expect("go"), None);
        let soon = (now().as_second() + 5).to_string();
        t.note(
            &headers(&[
                ("ratelimit-remaining", "1".into()),
                ("ratelimit-reset", soon.clone()),
            ]),
            GL,
        );
        assert_eq!(t.before(now(), MAX, "gitlab", "GET /x").expect("go"), None);
        t.note(
            &headers(&[
                ("ratelimit-remaining", "0".into()),
                ("ratelimit-reset", soon),
            ]),
            GL,
        );
        let wait = t.before(now(), MAX, "gitlab", "GET /x").expect("wait");
        assert_eq!(wait, Some(Duration::from_secs(5)));
        assert_eq!(
            t.before(now(), MAX, "gitlab", "GET /x").expect("once"),
            None
        );

        let late = now().as_second() + 3600;
        t.note(
            &headers(&[
                ("ratelimit-remaining", "0".into()),
                ("ratelimit-reset", late.to_string()),
            ]),
            GL,
        );
        let err = t
            .before(now(), MAX, "gitlab", "GET /x")
            .expect_err("too long");
        let at = Timestamp::from_second(late).expect("ts");
        assert!(err.to_string().contains(&at.to_string()), "{err}");
        assert!(
            matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::RateLimited { until: Some(at) }),
            "{err:?}"
        );
    }
}
