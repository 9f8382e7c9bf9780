//! The transport under every GitHub call: one request at a time through octocrab's raw
//! `execute`, with the shared request policy ([`crate::policy`]) around it: retries, backoff,
//! `Retry-After`, rate limits, the request budget, same-host pagination and the page cap are
//! decided there, for GitLab too. What stays here is GitHub's dialect:
//!
//! - **Headers**: `Authorization: Bearer`, GitHub's media type and API version; the primary
//!   rate limit is read from `x-ratelimit-remaining` / `x-ratelimit-reset` ([`RATE_HEADERS`]),
//!   a secondary limit from a 403 whose body says so.
//! - **Proxies**: `HTTPS_PROXY`, `NO_PROXY` and the others, as [`crate::proxy`]
//!   reads them; the connection itself is made in [`connect`].
//! - **Errors**: typed [`ForgeError`]s with backend `github`, naming method and path, with
//!   GitHub's `message` and `errors`; never a header, so never the token.

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::service::middleware::base_uri::BaseUriLayer;
use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use serde::de::DeserializeOwned;

use super::connect;
use crate::policy::{Budget, Pages, Policy, RateHeaders, Step, Throttle};
use crate::proxy::{self, Env};
use relman_core::error::{Error, ForgeError, ForgeErrorKind, Result};

pub(super) const BACKEND: &str = "github";

pub(super) use crate::policy::Idempotent;

/// GitHub's primary rate-limit headers.
pub(super) const RATE_HEADERS: RateHeaders = RateHeaders {
    remaining: "x-ratelimit-remaining",
    reset: "x-ratelimit-reset",
};

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
    /// The body as `T` (see [`decode`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode(&self.endpoint, &self.body)
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

/// `body` as `T`, decoded by octocrab's own `FromResponse`, as its API calls decode their
/// answers: an answer that is not `T` (bad JSON, a missing field, a wrong type) is a
/// [`ForgeErrorKind::Malformed`] error naming the endpoint and the field that failed
/// (`workflows[3].state`), never a panic or a default.
pub(super) fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    use octocrab::FromResponse;
    use std::task::{Context, Poll, Waker};
    let response = http::Response::new(octocrab::OctoBody::from(body.to_vec()));
    let mut decoding = std::pin::pin!(T::from_response(response));
    // The body is already in memory, so the decode finishes at its first poll: no runtime.
    let decoded = decoding
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    let why = match decoded {
        Poll::Ready(Ok(value)) => return Ok(value),
        Poll::Ready(Err(octocrab::Error::Json { source, .. })) => {
            if source.path().iter().next().is_some() {
                format!("`{}`: {}", source.path(), source.inner())
            } else {
                source.inner().to_string()
            }
        }
        Poll::Ready(Err(e)) => e.to_string(),
        Poll::Pending => "the decoder waited for a body already read".to_string(),
    };
    Err(malformed(
        endpoint,
        format!("malformed JSON response: {why}"),
    ))
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

/// A client that could not be set up (trusted CAs, the runtime): nothing was sent, so there
/// is no endpoint; the cause is kept as the source.
pub(super) fn setup(what: &str, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    let message = format!("{what}: {source}");
    ForgeError::new(BACKEND, "", ForgeErrorKind::Setup, message)
        .with_source(source)
        .into()
}

/// A request relman could not build: a bug in relman (exit 3), not bad input.
pub(super) fn request_bug(message: String) -> Error {
    ForgeError::new(BACKEND, "", ForgeErrorKind::Request, message).into()
}

/// Octocrab, a private runtime, and the policy around them.
pub(super) struct Client {
    octocrab: Octocrab,
    runtime: tokio::runtime::Runtime,
    pub policy: Policy,
    budget: Budget,
    throttle: Throttle,
    /// The API's URL: pagination links to another scheme, host or port are refused.
    api_url: String,
    /// `Proxy-Authorization` for a forwarding proxy (sensitive: hyper never logs it).
    proxy_authorization: Option<http::HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the API at `api_url`, through the proxy `env` names (see
    /// [`crate::proxy`]).
    pub fn new(api_url: &str, token: Option<&str>, budget: u32, env: Env<'_>) -> Result<Client> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| setup("cannot start the HTTP runtime", e))?;
        let policy = Policy::default();
        let proxy = proxy::for_url(api_url, env)?;
        let plain_http = api_url.starts_with("http://");
        // The URL is the user's (GITHUB_API_URL): one that does not parse is bad input.
        let base_uri: http::Uri = api_url.parse().map_err(|e| {
            Error::Usage(format!(
                "github: API URL `{api_url}` is not a valid URL (GITHUB_API_URL): {e}"
            ))
        })?;
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
                .map_err(|e| setup("cannot build the HTTP client", e))?
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
            budget: Budget::new(budget),
            throttle: Throttle::default(),
            api_url: api_url.to_string(),
            proxy_authorization,
        })
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u32 {
        self.budget.used()
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
        self.policy.run(BACKEND, &endpoint, |_| {
            self.attempt(&method, url, body, &endpoint, idempotent)
        })
    }

    fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&serde_json::Value>,
        endpoint: &str,
        idempotent: Idempotent,
    ) -> Result<Step<Response>> {
        self.policy
            .admit(&self.throttle, &self.budget, BACKEND, endpoint)?;
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
        let request = self.octocrab.build_request(request, body).map_err(|e| {
            api(
                endpoint,
                ForgeErrorKind::Request,
                format!("{endpoint}: cannot build the request: {e}"),
            )
        })?;
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
                return self
                    .policy
                    .judge_failure(BACKEND, endpoint, why, idempotent);
            }
            Ok(Err(e)) => {
                let why = format!("connection failed: {}", describe(&e));
                return self
                    .policy
                    .judge_failure(BACKEND, endpoint, why, idempotent);
            }
            Ok(Ok(ok)) => ok,
        };
        let verdict = self.policy.judge_now(
            &self.throttle,
            status.as_u16(),
            &headers,
            &bytes,
            idempotent,
            RATE_HEADERS,
        );
        let response = Response {
            status,
            headers,
            body: bytes,
            endpoint: endpoint.to_string(),
        };
        verdict.step(BACKEND, endpoint, response)
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

    /// A new page count for one listing, capped at [`Policy::max_pages`].
    pub fn pages(&self) -> Pages {
        Pages::new(&self.api_url, self.policy.max_pages)
    }

    /// The next page of a paginated answer. A link to another scheme, host or port is
    /// refused with an error, not followed: the token would be sent there.
    pub fn next_page(&self, response: &Response) -> Result<Option<String>> {
        let pages = Pages::new(&self.api_url, usize::MAX);
        response
            .next_link()
            .map(|url| pages.follow(BACKEND, &response.endpoint, &url))
            .transpose()
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
        let mut pages = self.pages();
        while let Some(url) = next.take() {
            pages.another(BACKEND, &endpoint(&Method::GET, &url))?;
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
            next = response
                .next_link()
                .map(|url| pages.follow(BACKEND, &response.endpoint, &url))
                .transpose()?;
        }
        Ok(Some(items))
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
