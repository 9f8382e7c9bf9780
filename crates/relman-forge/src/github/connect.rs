//! The HTTP client under octocrab, built here because octocrab's own ignores proxies.
//!
//! It is what octocrab's default client is (hyper, HTTP/1.1, rustls with *ring* and the
//! platform's trusted CAs) plus a [`Route`]: straight to the API, or through the proxy the
//! environment names (see `forge::proxy`):
//! - an `https://` API goes through an HTTP `CONNECT` tunnel, TLS to GitHub inside it;
//! - an `http://` API is sent to the proxy in absolute form (`GET http://host/path`), with
//!   `Proxy-Authorization` added by the client (see `Client::attempt`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::client::{request_bug, setup};
use crate::proxy::Proxy;
use relman_core::error::{Error, Result};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Io = MaybeHttpsStream<TokioIo<TcpStream>>;
/// To the proxy itself: TLS only when the proxy URL is `https://`.
type ToProxy = HttpsConnector<HttpConnector>;

/// How a connection to the API is made.
#[derive(Clone)]
pub(super) enum Route {
    Direct(HttpConnector),
    Forward { proxy: Uri, connector: ToProxy },
    Tunnel(Tunnel<ToProxy>),
}

/// The hyper client octocrab is given.
pub(super) type HttpClient =
    hyper_util::client::legacy::Client<HttpsConnector<Route>, octocrab::OctoBody>;

/// What failed when the trusted CAs cannot be loaded (none found, an unreadable store).
const CA_STORE: &str = "cannot load the platform's trusted CAs";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

fn tls(connector: HttpConnector) -> Result<ToProxy> {
    let builder = HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider())
        .map_err(|e| setup(CA_STORE, e))?;
    Ok(builder
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector))
}

/// The client for an API at `api_scheme` (`http`/`https`), through `proxy` if any.
pub(super) fn client(
    api_scheme: &str,
    proxy: Option<&Proxy>,
    connect_timeout: Duration,
) -> Result<HttpClient> {
    let mut tcp = HttpConnector::new();
    // TLS is layered on top by the HTTPS connectors.
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    let route = match proxy {
        None => Route::Direct(tcp),
        Some(p) => {
            let uri: Uri = format!("{}/", p.url())
                .parse()
                // The environment's URL, as GitLab's client says it: bad input.
                .map_err(|_| Error::Usage(format!("{}: the proxy URL is invalid", p.var)))?;
            if api_scheme == "http" {
                Route::Forward {
                    proxy: uri,
                    connector: tls(tcp)?,
                }
            } else {
                let mut tunnel = Tunnel::new(uri, tls(tcp)?);
                if let Some(auth) = proxy_authorization(p)? {
                    tunnel = tunnel.with_auth(auth);
                }
                Route::Tunnel(tunnel)
            }
        }
    };
    let https = HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider())
        .map_err(|e| setup(CA_STORE, e))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(route);
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

/// `Proxy-Authorization` from the proxy URL's credentials, marked sensitive.
pub(super) fn proxy_authorization(p: &Proxy) -> Result<Option<HeaderValue>> {
    let Some(value) = p.basic_auth() else {
        return Ok(None);
    };
    // `Basic` and base64 are header-safe whatever the credentials: failing is relman's bug.
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        request_bug(format!(
            "{}: the proxy credentials could not be encoded as a header (a relman bug)",
            p.var
        ))
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}

type Connecting = Pin<Box<dyn Future<Output = std::result::Result<Stream, BoxError>> + Send>>;

impl tower_service::Service<Uri> for Route {
    type Response = Stream;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        match self {
            Route::Direct(c) => c.poll_ready(cx).map_err(Into::into),
            Route::Forward { connector, .. } => connector.poll_ready(cx),
            Route::Tunnel(t) => t.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: Uri) -> Connecting {
        match self {
            Route::Direct(c) => {
                let connecting = c.call(dst);
                Box::pin(async move {
                    let io = MaybeHttpsStream::Http(connecting.await?);
                    Ok(Stream { io, proxied: false })
                })
            }
            Route::Forward { proxy, connector } => {
                let connecting = connector.call(proxy.clone());
                Box::pin(async move {
                    Ok(Stream {
                        io: connecting.await?,
                        proxied: true,
                    })
                })
            }
            Route::Tunnel(t) => {
                let connecting = t.call(dst);
                Box::pin(async move {
                    Ok(Stream {
                        io: connecting.await?,
                        proxied: false,
                    })
                })
            }
        }
    }
}

/// A connection that tells hyper whether it goes to a forwarding proxy: hyper then writes
/// request targets in absolute form.
pub(super) struct Stream {
    io: Io,
    proxied: bool,
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}
