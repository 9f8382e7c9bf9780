//! The HTTP transport: one blocking `ureq` agent, retries, rate limits, pagination and the
//! request budget. Everything above it speaks paths (`/projects/:id/releases`) and serde types.
//!
//! - Retries: 5xx, timeouts and connection errors are retried with exponential backoff and full
//!   jitter, at most [`Policy::max_attempts`] attempts; a `Retry-After` header sets the wait.
//! - Rate limits: a 429 waits for `Retry-After` (else `RateLimit-Reset`); a response with
//!   `RateLimit-Remaining: 0` makes the next request wait until `RateLimit-Reset`. A wait longer
//!   than [`Policy::max_wait`] fails at once with the reset time instead of stalling the job.
//! - Writes that create objects are not blindly re-sent: between attempts the caller's
//!   `recheck` looks for the object the lost attempt may have made ([`Transport::create`]).
//! - Budget: every attempt counts; going over fails with an error naming the budget.
//! - Proxies: `HTTPS_PROXY`, `NO_PROXY` and the others, as [`crate::proxy`] reads them.
//! - Tokens are sent in one header and appear nowhere else: not in `Debug`, not in errors.
//!   Redirects are not followed (a 3xx is an error), so the header never leaves the API host.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::GitLabToken;
use crate::proxy::{self, Env};
use relman_core::error::{Error, ForgeError, ForgeErrorKind, Result};

pub(super) const BACKEND: &str = "gitlab";

/// Longest response body read (a page of 100 objects is far below).
const BODY_LIMIT: u64 = 32 * 1024 * 1024;
/// Hard bound on pages of one listing, whatever the budget.
const MAX_PAGES: usize = 200;

/// Retry and timeout settings.
#[derive(Debug, Clone)]
pub(super) struct Policy {
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled each time, with jitter.
    pub base_delay: Duration,
    /// Longest wait accepted for a rate limit or `Retry-After`.
    pub max_wait: Duration,
    /// Timeout of one request, connection to last byte.
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// How the transport waits; injectable so tests record waits instead of sleeping.
pub(super) type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
    Put,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        })
    }
}

/// A response worth looking at (any status that is not retried).
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    next_page: Option<String>,
    next_link: Option<String>,
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

enum Attempt {
    Done(Reply),
    Retry {
        reason: String,
        wait: Option<Duration>,
        /// What the failure is, should it be the last attempt.
        kind: ForgeErrorKind,
    },
}

/// What [`Transport::create`] did.
pub(super) enum Made<T> {
    /// This call created it.
    Created(T),
    /// A lost attempt (or an earlier run) had created it: found by the recheck.
    Found(T),
}

pub(super) struct Transport {
    agent: ureq::Agent,
    /// `https://gitlab.example.com/api/v4`, no trailing slash.
    base: String,
    token: Option<GitLabToken>,
    budget: u32,
    used: AtomicU32,
    policy: Policy,
    sleep: Sleeper,
    /// Unix second before which no request is sent (`RateLimit-Remaining: 0`).
    not_before: Mutex<Option<i64>>,
    rng: Mutex<u64>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|t| t.header_name()))
            .field("budget", &self.budget)
            .field("used", &self.used.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A typed error about `method path`; the message starts with the endpoint.
fn api(method: Method, path: &str, kind: ForgeErrorKind, message: String) -> Error {
    ForgeError::new(
        BACKEND,
        format!("{method} {}", strip_query(path)),
        kind,
        message,
    )
    .into()
}

pub(super) fn forge_error(message: impl Into<String>) -> Error {
    Error::Forge {
        backend: BACKEND.into(),
        message: message.into(),
    }
}

impl Transport {
    pub fn new(
        base: &str,
        token: Option<GitLabToken>,
        budget: u32,
        policy: Policy,
        sleep: Sleeper,
        env: Env<'_>,
    ) -> Result<Self> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::Usage(format!(
                "gitlab: the API URL must start with https:// or http://, got `{base}`"
            )));
        }
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.timeout))
            .user_agent(concat!("relman/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            // Never follow a redirect: ureq would carry the PRIVATE-TOKEN / JOB-TOKEN header
            // to wherever it points. A 3xx comes back as a reply and fails with a hint.
            .max_redirects(0)
            // Always set, so that ureq's own reading of the environment (one variable for
            // every scheme, NO_PROXY entries neither trimmed nor matching subdomains) never
            // applies: both forges follow the same rules.
            .proxy(ureq_proxy(&base, env)?)
            .build();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
        Ok(Transport {
            agent: ureq::Agent::new_with_config(config),
            base,
            token,
            budget,
            used: AtomicU32::new(0),
            policy,
            sleep,
            not_before: Mutex::new(None),
            rng: Mutex::new(seed),
        })
    }

    // --- typed helpers ----------------------------------------------------------------------

    /// GET that must succeed.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let reply = self.call(Method::Get, path, None)?;
        self.expect_ok(Method::Get, path, &reply)?;
        parse(Method::Get, path, &reply.body)
    }

    /// GET where 404 means "there is none".
    pub fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let reply = self.call(Method::Get, path, None)?;
        if reply.status == 404 {
            return Ok(None);
        }
        self.expect_ok(Method::Get, path, &reply)?;
        parse(Method::Get, path, &reply.body).map(Some)
    }

    /// PUT (idempotent: retried like a GET).
    pub fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T> {
        let bytes = to_json(body)?;
        let reply = self.call(Method::Put, path, Some(&bytes))?;
        self.expect_ok(Method::Put, path, &reply)?;
        parse(Method::Put, path, &reply.body)
    }

    /// POST that creates an object. It is not re-sent blindly: after a failed attempt (5xx,
    /// timeout, reset, 409) `recheck` looks for what that attempt may have created, and only if
    /// there is nothing is the POST sent again.
    pub fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        recheck: &dyn Fn() -> Result<Option<T>>,
    ) -> Result<Made<T>> {
        let bytes = to_json(body)?;
        let mut attempt = 1;
        loop {
            let (reason, wait, kind) = match self.attempt(Method::Post, path, Some(&bytes))? {
                Attempt::Done(reply) if reply.ok() => {
                    return parse(Method::Post, path, &reply.body).map(Made::Created);
                }
                Attempt::Done(reply) if reply.status == 409 => {
                    return match recheck()? {
                        Some(found) => Ok(Made::Found(found)),
                        None => Err(self.status_error(Method::Post, path, &reply)),
                    };
                }
                Attempt::Done(reply) => return Err(self.status_error(Method::Post, path, &reply)),
                Attempt::Retry { reason, wait, kind } => (reason, wait, kind),
            };
            if attempt >= self.policy.max_attempts {
                return Err(gave_up(Method::Post, path, attempt, &reason, kind));
            }
            self.pause(attempt, wait);
            attempt += 1;
            if let Some(found) = recheck()? {
                return Ok(Made::Found(found));
            }
        }
    }

    /// Every item of a paginated listing, page after page, until `visit` returns `false`, the
    /// last page, or [`MAX_PAGES`]. `path` may carry a query; `per_page` is added.
    pub fn each_page<T: DeserializeOwned>(
        &self,
        path: &str,
        per_page: usize,
        visit: &mut dyn FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let first = format!("{path}{sep}per_page={}", per_page.clamp(1, 100));
        let mut next = Some(first.clone());
        let mut pages = 0;
        while let Some(current) = next.take() {
            let reply = self.call(Method::Get, &current, None)?;
            self.expect_ok(Method::Get, &current, &reply)?;
            let items: Vec<T> = parse(Method::Get, &current, &reply.body)?;
            pages += 1;
            if items.is_empty() || !visit(items) || pages >= MAX_PAGES {
                break;
            }
            next = self.next_page(&first, &reply);
        }
        Ok(())
    }

    /// Up to `limit` items of a listing.
    pub fn list<T: DeserializeOwned>(&self, path: &str, limit: usize) -> Result<Vec<T>> {
        let mut all = Vec::new();
        if limit == 0 {
            return Ok(all);
        }
        self.each_page(path, limit.min(100), &mut |items: Vec<T>| {
            all.extend(items);
            all.len() < limit
        })?;
        all.truncate(limit);
        Ok(all)
    }

    /// The next page: the `Link: <…>; rel="next"` URL when it points at this API (a link
    /// elsewhere would receive the token, so it is ignored), else `X-Next-Page`.
    fn next_page(&self, first: &str, reply: &Reply) -> Option<String> {
        if let Some(link) = &reply.next_link
            && let Some(rest) = link.strip_prefix(&self.base)
            && rest.starts_with('/')
        {
            return Some(rest.to_string());
        }
        let page = reply.next_page.as_deref()?;
        if page.is_empty() || !page.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(format!("{first}&page={page}"))
    }

    // --- the request loop -------------------------------------------------------------------

    /// Sends a request, retrying what is worth retrying; returns the first reply that is not.
    fn call(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Reply> {
        let mut attempt = 1;
        loop {
            match self.attempt(method, path, body)? {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Retry { reason, wait, kind } => {
                    if attempt >= self.policy.max_attempts {
                        return Err(gave_up(method, path, attempt, &reason, kind));
                    }
                    self.pause(attempt, wait);
                    attempt += 1;
                }
            }
        }
    }

    fn pause(&self, attempt: u32, wait: Option<Duration>) {
        let wait = wait.unwrap_or_else(|| self.backoff(attempt));
        tracing::debug!(?wait, attempt, "gitlab: retrying");
        (self.sleep)(wait);
    }

    /// Exponential backoff with full jitter: a random wait in `[d/2, d]`, `d = base·2^(n-1)`.
    fn backoff(&self, attempt: u32) -> Duration {
        let d = self.policy.base_delay * 2u32.saturating_pow(attempt.saturating_sub(1).min(10));
        let r = {
            let mut s = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            *s ^= *s << 13;
            *s ^= *s >> 7;
            *s ^= *s << 17;
            *s
        };
        let half = d / 2;
        half + Duration::from_nanos(r % (half.as_nanos() as u64).max(1))
    }

    fn attempt(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Attempt> {
        let used = self.used.fetch_add(1, Ordering::SeqCst) + 1;
        if used > self.budget {
            return Err(api(
                method,
                path,
                ForgeErrorKind::BudgetSpent {
                    budget: self.budget,
                },
                format!(
                    "request budget of {} requests for this run is spent; {method} {} was not \
                     sent (raise the forge request budget)",
                    self.budget,
                    strip_query(path)
                ),
            ));
        }
        self.wait_for_rate_limit(method, path)?;

        let url = format!("{}{path}", self.base);
        let result = match method {
            Method::Get => self.auth(self.agent.get(&url)).call(),
            Method::Post => self
                .auth(self.agent.post(&url))
                .header("content-type", "application/json")
                .send(body.unwrap_or(b"{}")),
            Method::Put => self
                .auth(self.agent.put(&url))
                .header("content-type", "application/json")
                .send(body.unwrap_or(b"{}")),
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return transport_failure(method, path, e),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v));
        let remaining = header("ratelimit-remaining");
        let reset = header("ratelimit-reset").and_then(|v| v.parse::<i64>().ok());
        let next_page = header("x-next-page");
        let next_link = header("link").and_then(|v| crate::policy::pages::next_link(&v));

        if status == 429 {
            let wait = retry_after
                .or_else(|| reset.map(|r| Duration::from_secs((r - now_unix()).max(0) as u64)))
                .unwrap_or_else(|| self.backoff(1));
            let until = jiff::Timestamp::now().checked_add(wait).ok();
            if wait > self.policy.max_wait {
                return Err(api(
                    method,
                    path,
                    ForgeErrorKind::RateLimited { until },
                    format!(
                        "{method} {}: rate limited (HTTP 429); the limit resets in {}s{} — \
                         longer than the {}s relman waits",
                        strip_query(path),
                        wait.as_secs(),
                        reset
                            .map(|r| format!(" (at {})", unix_to_rfc3339(r)))
                            .unwrap_or_default(),
                        self.policy.max_wait.as_secs()
                    ),
                ));
            }
            return Ok(Attempt::Retry {
                reason: "rate limited (HTTP 429)".into(),
                wait: Some(wait),
                kind: ForgeErrorKind::RateLimited { until },
            });
        }
        if status >= 500 {
            return Ok(Attempt::Retry {
                reason: format!("HTTP {status}"),
                wait: retry_after.filter(|w| *w <= self.policy.max_wait),
                kind: ForgeErrorKind::Status { status },
            });
        }
        if remaining.as_deref() == Some("0")
            && let Some(reset) = reset
        {
            *self.not_before.lock().unwrap_or_else(|e| e.into_inner()) = Some(reset);
        }
        let body = match response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(e) => return transport_failure(method, path, e),
        };
        Ok(Attempt::Done(Reply {
            status,
            body,
            next_page,
            next_link,
        }))
    }

    fn wait_for_rate_limit(&self, method: Method, path: &str) -> Result<()> {
        let reset = self
            .not_before
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(reset) = reset else { return Ok(()) };
        let wait = reset - now_unix();
        if wait <= 0 {
            return Ok(());
        }
        let wait = Duration::from_secs(wait as u64);
        if wait > self.policy.max_wait {
            return Err(api(
                method,
                path,
                ForgeErrorKind::RateLimited {
                    until: jiff::Timestamp::from_second(reset).ok(),
                },
                format!(
                    "{method} {}: rate limit exhausted (RateLimit-Remaining: 0) until {} — \
                     longer than the {}s relman waits",
                    strip_query(path),
                    unix_to_rfc3339(reset),
                    self.policy.max_wait.as_secs()
                ),
            ));
        }
        (self.sleep)(wait);
        Ok(())
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.header("accept", "application/json");
        match &self.token {
            Some(token) => request.header(token.header_name(), token.secret().expose()),
            None => request,
        }
    }

    fn expect_ok(&self, method: Method, path: &str, reply: &Reply) -> Result<()> {
        if reply.ok() {
            Ok(())
        } else {
            Err(self.status_error(method, path, reply))
        }
    }

    /// `GET /projects/…: HTTP 403: <GitLab's message>`. The message comes from the body,
    /// which never holds the token; it is cut short.
    pub fn status_error(&self, method: Method, path: &str, reply: &Reply) -> Error {
        let detail = serde_json::from_slice::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| {
                let m = v.get("message").or_else(|| v.get("error"))?;
                Some(match m {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .unwrap_or_default();
        let mut detail: String = detail.chars().take(300).collect();
        if let Some(token) = &self.token {
            let secret = token.secret().expose();
            if !secret.is_empty() {
                detail = detail.replace(secret, "***");
            }
        }
        let hint = match reply.status {
            401 => " (the token is missing, expired or revoked)",
            403 => " (the token lacks the permission or scope for this)",
            300..=399 => {
                " (a redirect, not followed: the token goes to the configured API only; \
                 set forge.api_url or CI_API_V4_URL to the API's real address)"
            }
            _ => "",
        };
        let sep = if detail.is_empty() { "" } else { ": " };
        api(
            method,
            path,
            ForgeErrorKind::Status {
                status: reply.status,
            },
            format!(
                "{method} {}: HTTP {}{hint}{sep}{detail}",
                strip_query(path),
                reply.status
            ),
        )
    }
}

/// The proxy for `base`, as [`crate::proxy`] decides it. ureq tunnels with `CONNECT`
/// whatever the API's scheme.
fn ureq_proxy(base: &str, env: Env<'_>) -> Result<Option<ureq::Proxy>> {
    let Some(p) = proxy::for_url(base, env)? else {
        return Ok(None);
    };
    let protocol = if p.scheme == "https" {
        ureq::ProxyProtocol::Https
    } else {
        ureq::ProxyProtocol::Http
    };
    let host = if p.host.contains(':') {
        format!("[{}]", p.host)
    } else {
        p.host.clone()
    };
    let mut builder = ureq::Proxy::builder(protocol).host(&host).port(p.port);
    if let Some(user) = &p.username {
        builder = builder.username(user);
    }
    if let Some(password) = &p.password {
        builder = builder.password(password);
    }
    // ureq's error would not show the URL either; the variable is enough to find it.
    builder
        .build()
        .map(Some)
        .map_err(|_| Error::Usage(format!("{}: the proxy URL is invalid", p.var)))
}

fn transport_failure(method: Method, path: &str, e: ureq::Error) -> Result<Attempt> {
    match e {
        ureq::Error::Timeout(_) => Ok(Attempt::Retry {
            reason: "timed out".into(),
            wait: None,
            kind: ForgeErrorKind::Transport,
        }),
        ureq::Error::Io(e) => Ok(Attempt::Retry {
            reason: format!("connection error: {e}"),
            wait: None,
            kind: ForgeErrorKind::Transport,
        }),
        ureq::Error::ConnectionFailed => Ok(Attempt::Retry {
            reason: "connection failed".into(),
            wait: None,
            kind: ForgeErrorKind::Transport,
        }),
        other => {
            let message = format!("{method} {}: {other}", strip_query(path));
            let e = ForgeError::new(
                BACKEND,
                format!("{method} {}", strip_query(path)),
                ForgeErrorKind::Transport,
                message,
            )
            .with_source(other);
            Err(e.into())
        }
    }
}

fn gave_up(method: Method, path: &str, attempts: u32, reason: &str, kind: ForgeErrorKind) -> Error {
    api(
        method,
        path,
        kind,
        format!(
            "{method} {}: {reason} (gave up after {attempts} attempts)",
            strip_query(path)
        ),
    )
}

/// relman's own request body; failing to encode it is a bug in relman (exit 3), not bad input.
fn to_json(body: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| {
        ForgeError::new(
            BACKEND,
            "",
            ForgeErrorKind::Request,
            format!("cannot encode request: {e}"),
        )
        .with_source(e)
        .into()
    })
}

/// Parses a response body; malformed JSON is a forge error naming the endpoint (exit 3).
pub(super) fn parse<T: DeserializeOwned>(method: Method, path: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        let message = format!(
            "{method} {}: malformed JSON in the response: {e}",
            strip_query(path)
        );
        ForgeError::new(
            BACKEND,
            format!("{method} {}", strip_query(path)),
            ForgeErrorKind::Malformed,
            message,
        )
        .with_source(e)
        .into()
    })
}

/// The path without its query (pagination cursors and filters make messages noisy).
fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // HTTP date: `Wed, 21 Oct 2015 07:28:00 GMT`.
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(Duration::from_secs(
        (when.as_second() - now_unix()).max(0) as u64
    ))
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn unix_to_rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// Percent-encodes one path segment or query value: the policy's one encoder.
pub(super) use crate::policy::encode as enc;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::pages::next_link;

    #[test]
    fn link_and_retry_after_headers_parse() {
        let h = r#"<https://gitlab.example.com/api/v4/projects/8/issues?page=2&per_page=3>; rel="next", <https://gitlab.example.com/api/v4/projects/8/issues?page=1&per_page=3>; rel="first""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://gitlab.example.com/api/v4/projects/8/issues?page=2&per_page=3")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="last""#), None);
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(enc("group/sub/project"), "group%2Fsub%2Fproject");
        assert_eq!(enc("v1.2.0+build"), "v1.2.0%2Bbuild");
    }
}
