//! Where a forge token may go: the CI's own API host, over https (plain http to loopback only).
//!
//! `.relman.yml` is repository text: a pull request can change `forge.api_url`. So a configured
//! URL is used with a token only when its origin (scheme, host, port) is the CI's own API
//! (`GITHUB_API_URL` / `CI_API_V4_URL`, else the public service); anything else needs the
//! operator's explicit `RELMAN_API_URL` (a CI variable or the action's input, not repository
//! text). Whatever its source, a URL that gets a token must be https, or http to a loopback
//! address (a local stand-in).

use relman_core::error::{Error, Result};

/// The operator's explicit API URL: wins over `forge.api_url` and the CI's variable.
pub const ENV_API_URL: &str = relman_core::vars::API_URL;

/// `(scheme, host, port)` of a URL, lower-cased, default ports filled in.
pub(crate) fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: http::Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some((scheme, host, port))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The API URL to use. `configured` is `forge.api_url` (may be empty), `ci_var` the CI's
/// variable name, `default` the public service; `token` whether a token will be sent.
pub(super) fn api_url(
    configured: &str,
    env: &dyn Fn(&str) -> Option<String>,
    ci_var: &str,
    default: &str,
    token: bool,
) -> Result<String> {
    let ci = env(ci_var).unwrap_or_else(|| default.to_string());
    let url = if let Some(explicit) = env(ENV_API_URL) {
        explicit
    } else if configured.trim().is_empty() {
        ci.clone()
    } else {
        if token && origin(configured) != origin(&ci) {
            return Err(Error::Usage(format!(
                "forge.api_url `{configured}` is not the CI's API host ({ci}): relman sends the \
                 token only there; to use another API, set {ENV_API_URL} in the job (not in \
                 the repository)"
            )));
        }
        configured.to_string()
    };
    if token {
        match origin(&url) {
            Some((scheme, _, _)) if scheme == "https" => {}
            Some((scheme, host, _)) if scheme == "http" && is_loopback(&host) => {}
            _ => {
                return Err(Error::Usage(format!(
                    "API URL `{url}`: a token is sent only over https (plain http only to a \
                     loopback address)"
                )));
            }
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://GitLab.example.com/api/v4"),
            Some(("https".into(), "gitlab.example.com".into(), 443))
        );
        assert_eq!(origin("https://h:443/x"), origin("https://h/y"));
        assert_ne!(origin("http://h/x"), origin("https://h/x"));
        assert_eq!(origin("ftp://h/x"), None);
        assert_eq!(origin("not a url"), None);
        assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && is_loopback("localhost"));
        assert!(!is_loopback("localhost.evil.example") && !is_loopback("10.0.0.1"));
    }
}
