//! The transport under every GitHub call: one request at a time through octocrab's raw
//! `execute`, with relman's own policy around it.
//!
//! - **Retries**: 5xx, connection errors and timeouts are retried with exponential backoff
//!   and full jitter, at most [`MAX_ATTEMPTS`] attempts. Requests that create something
//!   (`Idempotent::No`) are not retried on 5xx or timeouts here: the first attempt may have
//!   gone through, so the caller looks again before it writes again.
//! - **Rate limits**: `retry-after` (403/429, primary and secondary limits) and
//!   `x-ratelimit-remaining: 0` + `x-ratelimit-reset` are honoured by sleeping, up to
//!   [`Policy::max_sleep`]; a longer wait fails with the time the limit resets. A secondary
//!   limit without headers waits one minute, as GitHub documents.
//! - **Budget**: every HTTP request (retries included) counts; the request past the budget is
//!   never sent and fails naming the budget.
//! - **Proxies**: `HTTPS_PROXY`, `NO_PROXY` and the others, as [`crate::proxy`]
//!   reads them; the connection itself is made in [`connect`].
//! - **Errors**: always [`Error::Forge`] with backend `github`, naming method and path; never
//!   a header, so never the token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use serde::de::DeserializeOwned;

use super::connect;
use crate::proxy::{self, Env};
use relman_core::error::{Error, ForgeError, ForgeErrorKind, Result};

pub(super) const BACKEND: &str = "github";

/// Attempts per request, the first included.
pub(super) const MAX_ATTEMPTS: u32 = 4;

/// Sleeps between attempts; injectable so that tests record waits instead of waiting.
pub(super) type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// Timing of the transport.
#[derive(Clone)]
pub(super) struct Policy {
    /// Whole-request deadline (connect, send, read the body).
    pub timeout: Duration,
    /// First backoff step; doubles every attempt (full jitter below it).
    pub backoff: Duration,
    /// The longest relman waits for a rate limit before failing.
    pub max_sleep: Duration,
    pub sleep: Sleeper,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(30),
            backoff: Duration::from_millis(500),
            max_sleep: Duration::from_secs(60),
            sleep: Arc::new(std::thread::sleep),
        }
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("timeout", &self.timeout)
            .field("backoff", &self.backoff)
            .field("max_sleep", &self.max_sleep)
            .finish_non_exhaustive()
    }
}

/// Whether a request may be sent twice with the same effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Idempotent {
    Yes,
    No,
    /// Safe to repeat, but a gateway timeout (502/504) goes back to the caller, who can ask
    /// for less (GraphQL batches) instead of sending the same heavy request again.
    YesButLighterOnTimeout,
}

/// A response: status, headers, body bytes.
#[derive(Debug)]
pub(super) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// `GET /repos/o/r/...` (no host, no query), for messages.
    pub endpoint: String,
}

impl Response {
    /// The body as `T`; malformed JSON is an [`Error::Forge`] naming the endpoint.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| malformed(&self.endpoint, format!("malformed JSON response: {e}")))
    }

    /// The `rel="next"` URL of the `Link` header, if any (see [`Client::next_page`]).
    fn next_link(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        crate::policy::pages::next_link(link)
    }

    /// The error for a status the caller did not expect, with GitHub's `message`.
    pub fn unexpected(&self) -> Error {
        let message = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                let mut m = v.get("message")?.as_str()?.to_string();
                if let Some(errors) = v.get("errors").filter(|e| !e.is_null()) {
                    m.push_str(&format!(" ({errors})"));
                }
                Some(m)
            })
            .unwrap_or_default();
        let hint = match self.status.as_u16() {
            401 => ": check the token (input `token` or GITHUB_TOKEN)",
            403 => ": the token lacks a permission this call needs",
            _ => "",
        };
        api(
            &self.endpoint,
            ForgeErrorKind::Status {
                status: self.status.as_u16(),
            },
            format!(
                "{}: {}{}{hint}",
                self.endpoint,
                self.status,
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            ),
        )
    }
}

/// A typed error about `endpoint` (`GET /repos/o/r/...`): the message starts with it.
pub(super) fn api(endpoint: &str, kind: ForgeErrorKind, message: String) -> Error {
    ForgeError::new(BACKEND, endpoint, kind, message).into()
}

/// An answer that is not what GitHub documents.
pub(super) fn malformed(endpoint: &str, why: String) -> Error {
    api(
        endpoint,
        ForgeErrorKind::Malformed,
        format!("{endpoint}: {why}"),
    )
}

pub(super) fn forge(message: impl Into<String>) -> Error {
    Error::Forge {
        backend: BACKEND.into(),
        message: message.into(),
    }
}

/// Octocrab, a private runtime, and the policy around them.
pub(super) struct Client {
    octocrab: Octocrab,
    runtime: tokio::runtime::Runtime,
    pub policy: Policy,
    budget: u32,
    used: AtomicU32,
    /// `scheme://host[:port]` of the API: pagination links elsewhere are not followed (the
    /// token would go with them).
    origin: String,
    /// `Proxy-Authorization` for a forwarding proxy (sensitive: hyper never logs it).
    proxy_authorization: Option<http::HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Done(Response),
    /// Retry after this wait (`None`: exponential backoff), for this reason, of this kind.
    Retry(Option<Duration>, String, ForgeErrorKind),
    Fail(Error),
}

impl Client {
    /// A client for the API at `api_url`, through the proxy `env` names (see
    /// [`crate::proxy`]).
    pub fn new(api_url: &str, token: Option<&str>, budget: u32, env: Env<'_>) -> Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| forge(format!("cannot start the HTTP runtime: {e}")))?;
        let policy = Policy::default();
        let proxy = proxy::for_url(api_url, env)?;
        let plain_http = api_url.starts_with("http://");
        let base_uri: http::Uri = api_url
            .parse()
            .map_err(|e| forge(format!("invalid API URL `{api_url}`: {e}")))?;
        let auth = token
            .map(|t| {
                let mut value =
                    http::HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                        Error::Usage("github: the token holds characters a header cannot".into())
                    })?;
                value.set_sensitive(true);
                Ok::<_, Error>(value)
            })
            .transpose()?;
        // hyper needs a runtime context while the client is built.
        let octocrab = {
            let _guard = runtime.enter();
            let http = connect::client(
                if plain_http { "http" } else { "https" },
                proxy.as_ref(),
                Duration::from_secs(10),
            )?;
            // The token goes to the API's host only, never to a host a response points at.
            OctocrabBuilder::new_empty()
                .with_service(http)
                .with_layer(&BaseUriLayer::new(base_uri.clone()))
                .with_layer(&AuthHeaderLayer::new(auth, base_uri.clone(), base_uri))
                .with_auth(AuthState::None)
                .build()
                .map_err(|e| forge(format!("cannot build the HTTP client: {e}")))?
        };
        // Through a forwarding proxy (http:// API) every request carries the proxy's
        // credentials; a tunnel sends them once, in its CONNECT.
        let proxy_authorization = match &proxy {
            Some(p) if plain_http => connect::proxy_authorization(p)?,
            _ => None,
        };
        Ok(Client {
            octocrab,
            runtime,
            policy,
            budget,
            used: AtomicU32::new(0),
            origin: origin(api_url),
            proxy_authorization,
        })
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u32 {
        self.used.load(Ordering::SeqCst)
    }

    /// Sends `method url` (absolute URL) with an optional JSON body, retrying per policy.
    /// Any status is returned as is once retries are over, except rate limits that cannot be
    /// waited out; callers decide what 404 or 422 means.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        idempotent: Idempotent,
    ) -> Result<Response> {
        let endpoint = endpoint(&method, url);
        let mut last = String::new();
        let mut last_kind = ForgeErrorKind::Transport;
        for attempt in 1..=MAX_ATTEMPTS {
            match self.attempt(&method, url, body, &endpoint, idempotent) {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(wait, why, kind) => {
                    last = why;
                    last_kind = kind;
                    if attempt == MAX_ATTEMPTS {
                        break;
                    }
                    let wait = wait.unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!("{endpoint}: {last}; retrying in {wait:?}");
                    (self.policy.sleep)(wait);
                }
            }
        }
        Err(api(
            &endpoint,
            last_kind,
            format!("{endpoint}: {last} (gave up after {MAX_ATTEMPTS} attempts)"),
        ))
    }

    /// Exponential backoff with full jitter: uniform in `[step/2, step]`, `step = base·2^(n-1)`.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .policy
            .backoff
            .saturating_mul(1 << (attempt - 1).min(10));
        let jitter = jitter_fraction();
        step / 2 + step.mul_f64(jitter / 2.0)
    }

    fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&serde_json::Value>,
        endpoint: &str,
        idempotent: Idempotent,
    ) -> Attempt {
        let used = self.used.fetch_add(1, Ordering::SeqCst);
        if used >= self.budget {
            self.used.fetch_sub(1, Ordering::SeqCst);
            return Attempt::Fail(api(
                endpoint,
                ForgeErrorKind::BudgetSpent {
                    budget: self.budget,
                },
                format!(
                    "{endpoint}: request budget of {} requests for this run exhausted \
                     (raise the budget or narrow the query)",
                    self.budget
                ),
            ));
        }
        let request = http::Request::builder()
            .method(method.clone())
            .uri(url)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header("user-agent", concat!("relman/", env!("CARGO_PKG_VERSION")));
        let request = match &self.proxy_authorization {
            Some(auth) => request.header(http::header::PROXY_AUTHORIZATION, auth.clone()),
            None => request,
        };
        let request = match self.octocrab.build_request(request, body) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Fail(api(
                    endpoint,
                    ForgeErrorKind::Request,
                    format!("{endpoint}: cannot build the request: {e}"),
                ));
            }
        };
        let timeout = self.policy.timeout;
        let result = self.runtime.block_on(async {
            tokio::time::timeout(timeout, async {
                let response = self.octocrab.execute(request).await?;
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = match self.octocrab.body_to_string(response).await {
                    Ok(text) => text.into_bytes(),
                    // A body that is not UTF-8 arrived whole: it is a malformed answer, not a
                    // broken connection. Keep its bytes so the JSON decode fails at once,
                    // naming the endpoint, instead of retrying through back-offs.
                    Err(octocrab::Error::InvalidUtf8 { source, .. }) => source.into_bytes(),
                    Err(e) => return Err(e),
                };
                Ok::<_, octocrab::Error>(((status, headers), bytes))
            })
            .await
        });
        let ((status, headers), bytes) = match result {
            Err(_) => {
                let why = format!("no response within {timeout:?}");
                return retry_or_fail(idempotent, endpoint, why);
            }
            Ok(Err(e)) => {
                let why = format!("connection failed: {}", describe(&e));
                return retry_or_fail(idempotent, endpoint, why);
            }
            Ok(Ok(ok)) => ok,
        };
        let response = Response {
            status,
            headers,
            body: bytes,
            endpoint: endpoint.to_string(),
        };
        self.classify(response, idempotent)
    }

    fn classify(&self, response: Response, idempotent: Idempotent) -> Attempt {
        let status = response.status;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            let secondary = String::from_utf8_lossy(&response.body)
                .to_ascii_lowercase()
                .contains("secondary rate limit");
            let what = if secondary {
                "secondary rate limit"
            } else {
                "rate limit"
            };
            if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
                let wait = Duration::from_secs(secs);
                if wait > self.policy.max_sleep {
                    return Attempt::Fail(api(
                        &response.endpoint,
                        ForgeErrorKind::RateLimited {
                            until: jiff::Timestamp::now().checked_add(wait).ok(),
                        },
                        format!(
                            "{}: {what} exceeded; GitHub asks to retry after {secs} s, longer \
                             than relman waits ({} s)",
                            response.endpoint,
                            self.policy.max_sleep.as_secs()
                        ),
                    ));
                }
                return Attempt::Retry(Some(wait), format!("{status}: {what}"), limited(None));
            }
            if header("x-ratelimit-remaining") == Some("0") {
                let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok());
                let now = jiff::Timestamp::now().as_second();
                let wait = reset.map(|r| (r - now).max(0) as u64 + 1);
                let reset_at = reset
                    .and_then(|r| jiff::Timestamp::from_second(r).ok())
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "an unknown time".into());
                return match wait {
                    Some(w) if Duration::from_secs(w) <= self.policy.max_sleep => Attempt::Retry(
                        Some(Duration::from_secs(w)),
                        format!("{status}: {what} exhausted until {reset_at}"),
                        limited(reset),
                    ),
                    _ => Attempt::Fail(api(
                        &response.endpoint,
                        limited(reset),
                        format!(
                            "{}: {what} exhausted; it resets at {reset_at}, later than relman \
                             waits ({} s)",
                            response.endpoint,
                            self.policy.max_sleep.as_secs()
                        ),
                    )),
                };
            }
            if secondary {
                // Documented: without headers, wait at least one minute.
                return Attempt::Retry(
                    Some(Duration::from_secs(60).min(self.policy.max_sleep)),
                    format!("{status}: {what}"),
                    limited(None),
                );
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Attempt::Retry(None, format!("{status}: {what}"), limited(None));
            }
            return Attempt::Done(response);
        }
        if idempotent == Idempotent::YesButLighterOnTimeout && matches!(status.as_u16(), 502 | 504)
        {
            return Attempt::Done(response);
        }
        if status.is_server_error() && idempotent != Idempotent::No {
            return Attempt::Retry(
                None,
                format!("{status}"),
                ForgeErrorKind::Status {
                    status: status.as_u16(),
                },
            );
        }
        Attempt::Done(response)
    }

    /// GET a JSON document; `None` on 404.
    pub fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>> {
        let response = self.send(Method::GET, url, None, Idempotent::Yes)?;
        match response.status.as_u16() {
            200 => response.json().map(Some),
            404 => Ok(None),
            _ => Err(response.unexpected()),
        }
    }

    /// The next page of a paginated answer. A link to another host is refused, not followed:
    /// the token would be sent there.
    pub fn next_page(&self, response: &Response) -> Result<Option<String>> {
        match response.next_link() {
            Some(url) if url == self.origin || url.starts_with(&format!("{}/", self.origin)) => {
                Ok(Some(url))
            }
            Some(url) => Err(forge(format!(
                "{}: refusing to follow a pagination link to another host ({}): the token \
                 would be sent there",
                response.endpoint,
                origin(&url)
            ))),
            None => Ok(None),
        }
    }

    /// Every page of a list endpoint, following `Link: rel="next"`, until `stop` says enough
    /// (it sees the items gathered so far). `extract` picks the items out of a page.
    pub fn paginate<T: DeserializeOwned>(
        &self,
        first: &str,
        extract: impl Fn(serde_json::Value) -> Option<serde_json::Value>,
        mut stop: impl FnMut(&[T]) -> bool,
    ) -> Result<Option<Vec<T>>> {
        let mut items: Vec<T> = Vec::new();
        let mut next = Some(first.to_string());
        let mut first_page = true;
        while let Some(url) = next.take() {
            let response = self.send(Method::GET, &url, None, Idempotent::Yes)?;
            match response.status.as_u16() {
                200 => {}
                404 if first_page => return Ok(None),
                _ => return Err(response.unexpected()),
            }
            first_page = false;
            let page: serde_json::Value = response.json()?;
            let list = extract(page).ok_or_else(|| {
                malformed(
                    &response.endpoint,
                    "malformed response: not the list expected".into(),
                )
            })?;
            let page_items: Vec<T> = serde_json::from_value(list).map_err(|e| {
                malformed(&response.endpoint, format!("malformed JSON response: {e}"))
            })?;
            items.extend(page_items);
            if stop(&items) {
                break;
            }
            next = self.next_page(&response)?;
        }
        Ok(Some(items))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_ascii_lowercase()
}

fn retry_or_fail(idempotent: Idempotent, endpoint: &str, why: String) -> Attempt {
    match idempotent {
        Idempotent::Yes | Idempotent::YesButLighterOnTimeout => {
            Attempt::Retry(None, why, ForgeErrorKind::Transport)
        }
        Idempotent::No => Attempt::Fail(api(
            endpoint,
            ForgeErrorKind::Transport,
            format!("{endpoint}: {why}; not retried because the request may have been applied"),
        )),
    }
}

/// A rate limit that resets at unix second `reset`, when the forge said.
fn limited(reset: Option<i64>) -> ForgeErrorKind {
    ForgeErrorKind::RateLimited {
        until: reset.and_then(|r| jiff::Timestamp::from_second(r).ok()),
    }
}

/// An octocrab transport error with its causes, which name the I/O failure.
fn describe(e: &octocrab::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    out
}

/// `GET /repos/o/r/releases` from a method and absolute URL (query dropped).
pub(super) fn endpoint(method: &Method, url: &str) -> String {
    let path = url
        .split_once("://")
        .map(|(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    format!("{method} {path}")
}

/// A number in `[0, 1)` for jitter: no RNG dependency, the clock's nanoseconds hashed.
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let h = RandomState::new().hash_one(nanos);
    (h >> 11) as f64 / (1u64 << 53) as f64
}
