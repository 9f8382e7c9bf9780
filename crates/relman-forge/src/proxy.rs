//! Proxy settings from the environment, shared by both forge clients.
//!
//! A client talks to one API origin for its whole life (pagination links to other hosts are
//! refused), so the proxy is decided once, when the client is built, from:
//!
//! - `HTTPS_PROXY` / `https_proxy`, else `ALL_PROXY` / `all_proxy` for an `https://` API;
//!   `HTTP_PROXY` / `http_proxy`, else `ALL_PROXY` / `all_proxy` for an `http://` one (as curl);
//! - `NO_PROXY` / `no_proxy`: a comma list of hosts (`api.github.com` also covers its
//!   subdomains), domain suffixes (`.corp`, `*.corp`), `*` (everything), `host:port`
//!   (that port only), IP addresses and CIDR ranges (`10.0.0.0/8`, `::1`, `[::1]:8080`).
//!
//! The proxy URL is `http://` or `https://` (a bare `host:port` is `http://`); a port left out
//! is the scheme's. Credentials in it (`http://user:p%40ss@proxy:3128`) become proxy basic
//! auth: they are never logged nor shown in errors, and neither is the variable's value.

use relman_core::error::{Error, Result};

/// Looks an environment variable up; injectable so that tests do not touch the process
/// environment (tests run in parallel).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A proxy to send a client's requests through.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The variable it came from, for messages.
    pub var: &'static str,
}

impl std::fmt::Debug for Proxy {
    // Never the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.url())
            .field("var", &self.var)
            .field("auth", &self.username.is_some())
            .finish()
    }
}

impl Proxy {
    /// `scheme://host:port`, without credentials: safe to log.
    pub fn url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}://{host}:{}", self.scheme, self.port)
    }

    /// `Basic …` for `Proxy-Authorization`, when the URL carried a user.
    pub fn basic_auth(&self) -> Option<String> {
        let user = self.username.as_deref()?;
        let pass = self.password.as_deref().unwrap_or("");
        Some(format!(
            "Basic {}",
            base64(format!("{user}:{pass}").as_bytes())
        ))
    }
}

/// The proxy for requests to `target` (an absolute `http(s)://` URL), if the environment
/// names one and `NO_PROXY` does not exempt the target.
pub(crate) fn for_url(target: &str, env: Env<'_>) -> Result<Option<Proxy>> {
    let Some((scheme, host, port)) = split_url(target) else {
        return Ok(None);
    };
    let vars: &[&'static str] = match scheme.as_str() {
        "https" => &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"],
        "http" => &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"],
        _ => return Ok(None),
    };
    let Some((var, value)) = vars.iter().find_map(|v| {
        env(v)
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .map(|x| (*v, x))
    }) else {
        return Ok(None);
    };
    let no_proxy = env("NO_PROXY")
        .or_else(|| env("no_proxy"))
        .unwrap_or_default();
    if bypass(&no_proxy, &host, port) {
        tracing::debug!("{host}: not proxied (NO_PROXY)");
        return Ok(None);
    }
    let proxy = parse_proxy(&value, var)?;
    tracing::debug!("{host}: through the proxy {} ({var})", proxy.url());
    Ok(Some(proxy))
}

/// `(scheme, host, port)` of a URL, lowercased, IPv6 brackets removed.
fn split_url(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default = if scheme == "https" { 443 } else { 80 };
    let (host, port) = split_host_port(authority)?;
    Some((scheme, host.to_ascii_lowercase(), port.unwrap_or(default)))
}

/// `host[:port]` or `[v6][:port]`; a bare IPv6 address (several colons) has no port.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    if let Some(inner) = text.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => {
            Some((host.to_string(), Some(port.parse().ok()?)))
        }
        _ => Some((text.to_string(), None)),
    }
}

fn parse_proxy(value: &str, var: &'static str) -> Result<Proxy> {
    let bad = |why: &str| Error::Usage(format!("{var}: the proxy URL {why}"));
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), value),
    };
    if scheme != "http" && scheme != "https" {
        return Err(bad(&format!(
            "has the scheme `{scheme}`; relman supports http:// and https:// proxies"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(host_port).ok_or_else(|| bad("has an invalid port"))?;
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let (username, password) = match userinfo {
        Some(u) => {
            let (user, pass) = match u.split_once(':') {
                Some((user, pass)) => (user, Some(pass)),
                None => (u, None),
            };
            (Some(percent_decode(user)), pass.map(percent_decode))
        }
        None => (None, None),
    };
    Ok(Proxy {
        port: port.unwrap_or(if scheme == "https" { 443 } else { 80 }),
        scheme,
        host,
        username,
        password,
        var,
    })
}

/// Whether `NO_PROXY` exempts `host:port` (host lowercased, without brackets).
pub(crate) fn bypass(no_proxy: &str, host: &str, port: u16) -> bool {
    let host_ip = host.parse::<std::net::IpAddr>().ok();
    no_proxy
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            // A CIDR range or a bare IPv6 address has no port part.
            let (pattern, entry_port) = if entry.contains('/') {
                (entry.clone(), None)
            } else {
                match split_host_port(&entry) {
                    Some(split) => split,
                    None => return false,
                }
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            if let Some((net, bits)) = pattern.split_once('/') {
                return match (host_ip, net.parse(), bits.parse::<u8>()) {
                    (Some(ip), Ok(net), Ok(bits)) => in_network(ip, net, bits),
                    _ => false,
                };
            }
            if let (Some(ip), Ok(p)) = (host_ip, pattern.parse::<std::net::IpAddr>()) {
                return ip == p;
            }
            let domain = pattern.trim_start_matches('*').trim_start_matches('.');
            !domain.is_empty()
                && (host == domain
                    || host
                        .strip_suffix(domain)
                        .is_some_and(|rest| rest.ends_with('.')))
        })
}

fn in_network(ip: std::net::IpAddr, net: std::net::IpAddr, bits: u8) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (ip, net) {
        (V4(ip), V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (V6(ip), V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod recording;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_variable_follows_the_scheme_like_curl() {
        let e = env(&[
            ("HTTPS_PROXY", "http://secure:3128"),
            ("http_proxy", "plain:8080"),
            ("ALL_PROXY", "http://all:1"),
        ]);
        let p = for_url("https://api.github.com", &e).unwrap().unwrap();
        assert_eq!(
            (p.url(), p.var),
            ("http://secure:3128".into(), "HTTPS_PROXY")
        );
        let p = for_url("http://ghe.local/api/v3", &e).unwrap().unwrap();
        assert_eq!((p.url(), p.var), ("http://plain:8080".into(), "http_proxy"));
        let e = env(&[("ALL_PROXY", "https://all.example"), ("HTTP_PROXY", "")]);
        let p = for_url("http://x", &e).unwrap().unwrap();
        assert_eq!(p.url(), "https://all.example:443");
        assert_eq!(
            for_url("https://x", &env(&[("HTTP_PROXY", "p:1")])).unwrap(),
            None
        );
    }

    #[test]
    fn credentials_become_basic_auth_and_are_never_shown() {
        let e = env(&[(
            "HTTPS_PROXY",
            "http://Aladdin:open%20sesame@proxy.corp:3128/",
        )]);
        let p = for_url("https://api.github.com", &e).unwrap().unwrap();
        assert_eq!(
            p.basic_auth().unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(p.url(), "http://proxy.corp:3128");
        assert!(!format!("{p:?}").contains("sesame"), "{p:?}");
        let e = env(&[("HTTPS_PROXY", "socks5://u:secret@proxy:1080")]);
        let err = for_url("https://api.github.com", &e)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HTTPS_PROXY") && !err.contains("secret"),
            "{err}"
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }

    #[test]
    fn no_proxy_matches_hosts_suffixes_ports_and_addresses() {
        let list =
            "localhost, .corp,*.internal, ghe.example.com:8443, 10.0.0.0/8, ::1, [fd00::1]:80";
        let yes = [
            ("localhost", 80),
            ("git.corp", 443),
            ("a.b.internal", 443),
            ("ghe.example.com", 8443),
            ("10.1.2.3", 443),
            ("::1", 443),
            ("fd00::1", 80),
        ];
        for (host, port) in yes {
            assert!(bypass(list, host, port), "{host}:{port}");
        }
        let no = [
            ("corp.example", 443),
            ("ghe.example.com", 443),
            ("11.0.0.1", 443),
            ("fd00::1", 443),
            ("notlocalhost", 80),
        ];
        for (host, port) in no {
            assert!(!bypass(list, host, port), "{host}:{port}");
        }
        assert!(bypass("example.com", "api.example.com", 443), "subdomains");
        assert!(bypass("*", "anything", 1));
        let e = env(&[("HTTPS_PROXY", "proxy:3128"), ("no_proxy", "github.com")]);
        assert_eq!(for_url("https://api.github.com", &e).unwrap(), None);
    }
}
