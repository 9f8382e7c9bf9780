//! The HTTP transport: one blocking `ureq` agent under the shared request policy
//! ([`crate::policy`]: retries, backoff, `Retry-After`, rate limits, the request budget,
//! same-host pagination and the page cap are decided there, for GitHub too). Everything above
//! it speaks paths (`/projects/:id/releases`) and serde types. What stays here is GitLab's
//! dialect:
//!
//! - Tokens travel in `PRIVATE-TOKEN` or `JOB-TOKEN` and appear nowhere else: not in `Debug`,
//!   not in errors. Redirects are not followed (a 3xx is an error), so the header never
//!   leaves the API host.
//! - The primary rate limit is read from `RateLimit-Remaining` / `RateLimit-Reset`
//!   ([`RATE_HEADERS`]); pagination from `Link`, else `X-Next-Page`.
//! - Writes that create objects are not blindly re-sent: between attempts the caller's
//!   `recheck` looks for the object the lost attempt may have made ([`Transport::create`]).
//! - Proxies: `HTTPS_PROXY`, `NO_PROXY` and the others, as [`crate::proxy`] reads them.
//! - Error bodies: GitLab's `message` or `error`, cut short, any token removed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::GitLabToken;
use crate::policy::{Budget, Idempotent, Pages, RateHeaders, Step, Throttle};
use crate::proxy::{self, Env};
use relman_core::error::{Error, ForgeError, ForgeErrorKind, Result};

pub(super) use crate::policy::{Policy, Sleeper};

pub(super) const BACKEND: &str = "gitlab";

/// GitLab's primary rate-limit headers.
pub(super) const RATE_HEADERS: RateHeaders = RateHeaders {
    remaining: "ratelimit-remaining",
    reset: "ratelimit-reset",
};

/// Longest response body read (a page of 100 objects is far below).
const BODY_LIMIT: u64 = 32 * 1024 * 1024;
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
    /// The path of `base` (`/api/v4`): next-page links must stay under it.
    base_path: String,
    token: Option<GitLabToken>,
    budget: Budget,
    throttle: Throttle,
    policy: Policy,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|t| t.header_name()))
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// A typed error about `method path`; the message starts with the endpoint.
fn api(method: Method, path: &str, kind: ForgeErrorKind, message: String) -> Error {
    ForgeError::new(BACKEND, endpoint(method, path), kind, message).into()
}

/// `GET /projects/…/releases`: method and path under the API, no query.
fn endpoint(method: Method, path: &str) -> String {
    format!("{method} {}", strip_query(path))
}

/// An answer to `GET path` that is not what GitLab documents (a required field missing).
pub(super) fn malformed(path: &str, why: String) -> Error {
    let endpoint = endpoint(Method::Get, path);
    let message = format!("{endpoint}: {why}");
    ForgeError::new(BACKEND, endpoint, ForgeErrorKind::Malformed, message).into()
}

/// An answer to `GET path` about something GitLab is still preparing (worth a later retry).
pub(super) fn not_ready(path: &str, why: String) -> Error {
    let endpoint = endpoint(Method::Get, path);
    let message = format!("{endpoint}: {why}");
    ForgeError::new(BACKEND, endpoint, ForgeErrorKind::NotReady, message).into()
}

impl Transport {
    pub fn new(
        base: &str,
        token: Option<GitLabToken>,
        budget: u32,
        mut policy: Policy,
        sleep: Sleeper,
        env: Env<'_>,
    ) -> Result<Self> {
        policy.sleep = sleep;
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
        let base_path = base
            .parse::<http::Uri>()
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        Ok(Transport {
            agent: ureq::Agent::new_with_config(config),
            base,
            base_path,
            token,
            budget: Budget::new(budget),
            throttle: Throttle::default(),
            policy,
        })
    }

    /// HTTP requests sent so far, retries included (the fault suite counts them).
    #[cfg(test)]
    pub fn requests(&self) -> u32 {
        self.budget.used()
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

    /// Waits `d` with the client's sleeper (recorded, not slept, in tests).
    pub fn sleep(&self, d: std::time::Duration) {
        (self.policy.sleep)(d);
    }

    /// POST that creates an object. It is not re-sent blindly: after a failed attempt (5xx,
    /// timeout, reset, 409) `recheck` looks for what that attempt may have created, and only if
    /// there is nothing is the POST sent again. A body of `()` sends none (GitLab's job
    /// actions, `…/jobs/:id/retry` and `…/play`, take no body).
    pub fn create<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        recheck: &dyn Fn() -> Result<Option<T>>,
    ) -> Result<Made<T>> {
        let bytes = Some(to_json(body)?).filter(|b| b.as_slice() != b"null");
        let endpoint = endpoint(Method::Post, path);
        self.policy.run(BACKEND, &endpoint, |attempt| {
            if attempt > 1
                && let Some(found) = recheck()?
            {
                return Ok(Step::Done(Made::Found(found)));
            }
            let reply = match self.attempt(Method::Post, path, bytes.as_deref(), &endpoint)? {
                Step::Done(reply) => reply,
                Step::Retry { wait, why, kind } => return Ok(Step::Retry { wait, why, kind }),
            };
            if reply.ok() {
                return parse(Method::Post, path, &reply.body)
                    .map(|t| Step::Done(Made::Created(t)));
            }
            if reply.status == 409
                && let Some(found) = recheck()?
            {
                return Ok(Step::Done(Made::Found(found)));
            }
            Err(self.status_error(Method::Post, path, &reply))
        })
    }

    /// Every item of a paginated listing, page after page, until `visit` returns `false` or
    /// the last page; past [`Policy::max_pages`] pages it is an error. `path` may carry a
    /// query; `per_page` is added.
    pub fn each_page<T: DeserializeOwned>(
        &self,
        path: &str,
        per_page: usize,
        visit: &mut dyn FnMut(Vec<T>) -> bool,
    ) -> Result<()> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let first = format!("{path}{sep}per_page={}", per_page.clamp(1, 100));
        let mut next = Some(first.clone());
        let mut pages = Pages::new(&self.base, self.policy.max_pages);
        while let Some(current) = next.take() {
            pages.another(BACKEND, &endpoint(Method::Get, &current))?;
            let reply = self.call(Method::Get, &current, None)?;
            self.expect_ok(Method::Get, &current, &reply)?;
            let items: Vec<T> = parse(Method::Get, &current, &reply.body)?;
            if items.is_empty() || !visit(items) {
                break;
            }
            next = self.next_page(&first, &current, &reply, &pages)?;
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

    /// The next page: the `Link: <…>; rel="next"` URL, which must stay on this API (scheme,
    /// host, port and path: a link elsewhere would receive the token, so it is an error),
    /// else `X-Next-Page`.
    fn next_page(
        &self,
        first: &str,
        current: &str,
        reply: &Reply,
        pages: &Pages,
    ) -> Result<Option<String>> {
        if let Some(link) = &reply.next_link {
            let here = endpoint(Method::Get, current);
            let url = pages.follow(BACKEND, &here, link)?;
            let path = url
                .parse::<http::Uri>()
                .ok()
                .and_then(|u| u.path_and_query().map(|pq| pq.as_str().to_string()))
                .unwrap_or_default();
            return match path.strip_prefix(&self.base_path) {
                Some(rest) if rest.starts_with('/') => Ok(Some(rest.to_string())),
                _ => Err(api(
                    Method::Get,
                    current,
                    ForgeErrorKind::ForeignLink,
                    format!(
                        "{here}: refusing to follow a pagination link outside the API ({}): \
                         the token would be sent there",
                        strip_query(&path)
                    ),
                )),
            };
        }
        let Some(page) = reply.next_page.as_deref() else {
            return Ok(None);
        };
        if page.is_empty() || !page.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(Some(format!("{first}&page={page}")))
    }

    // --- the request loop -------------------------------------------------------------------

    /// Sends a request, retrying what is worth retrying; returns the first reply that is not.
    /// A PUT is idempotent and retried like a GET.
    fn call(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Reply> {
        let endpoint = endpoint(method, path);
        self.policy.run(BACKEND, &endpoint, |_| {
            self.attempt(method, path, body, &endpoint)
        })
    }

    /// One request. Every method is judged idempotent: a POST goes through
    /// [`Transport::create`], whose recheck stands between its attempts.
    fn attempt(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        endpoint: &str,
    ) -> Result<Step<Reply>> {
        self.policy
            .admit(&self.throttle, &self.budget, BACKEND, endpoint)?;

        let url = format!("{}{path}", self.base);
        let result = match method {
            Method::Get => self.auth(self.agent.get(&url)).call(),
            Method::Post => match body {
                Some(body) => self
                    .auth(self.agent.post(&url))
                    .header("content-type", "application/json")
                    .send(body),
                None => self.auth(self.agent.post(&url)).send_empty(),
            },
            Method::Put => self
                .auth(self.agent.put(&url))
                .header("content-type", "application/json")
                .send(body.unwrap_or(b"{}")),
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return self.transport_failure(endpoint, e),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(e) => return self.transport_failure(endpoint, e),
        };
        let verdict = self.policy.judge_now(
            &self.throttle,
            status,
            &headers,
            &body,
            Idempotent::Yes,
            RATE_HEADERS,
        );
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_string())
        };
        let reply = Reply {
            status,
            body,
            next_page: header("x-next-page"),
            next_link: header("link").and_then(|v| crate::policy::pages::next_link(&v)),
        };
        verdict.step(BACKEND, endpoint, reply)
    }

    /// No usable answer: a timeout or a broken connection is worth another attempt; anything
    /// else ureq reports (a bad URL, TLS) is not.
    fn transport_failure(&self, endpoint: &str, e: ureq::Error) -> Result<Step<Reply>> {
        let why = match e {
            ureq::Error::Timeout(_) => "timed out".to_string(),
            ureq::Error::Io(e) => format!("connection error: {e}"),
            ureq::Error::ConnectionFailed => "connection failed".into(),
            other => {
                let message = format!("{endpoint}: {other}");
                return Err(
                    ForgeError::new(BACKEND, endpoint, ForgeErrorKind::Transport, message)
                        .with_source(other)
                        .into(),
                );
            }
        };
        self.policy
            .judge_failure(BACKEND, endpoint, why, Idempotent::Yes)
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

/// Percent-encodes one path segment or query value: the policy's one encoder.
pub(super) use crate::policy::encode as enc;
