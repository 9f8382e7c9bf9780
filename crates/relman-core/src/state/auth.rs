//! The token git pushes with, handed over in the environment only.
//!
//! `actions/checkout` with `persist-credentials: false` leaves no credentials behind, and
//! relman must not write the token to `.git/config`, pass it in argv (visible in `ps`) or log
//! it. git reads configuration from `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_<n>` /
//! `GIT_CONFIG_VALUE_<n>` with command-line precedence, so relman adds, for the forge's own
//! server URL only:
//!
//! 1. `http.extraHeader` = `""` and `http.<server>/.extraHeader` = `""`: an empty value
//!    clears the headers configured before (the one `actions/checkout` persists), so exactly
//!    one `Authorization` header is sent;
//! 2. `http.<server>/.extraHeader` = `AUTHORIZATION: basic <base64(user:token)>`.
//!
//! Variables the caller already set with `GIT_CONFIG_COUNT` are kept (ours are appended).
//! The header is scoped to the server URL (`GITHUB_SERVER_URL`, `CI_SERVER_URL`), and only
//! added when the remote is on that server: the token never goes to another host.

use base64::Engine as _;

use super::Host;
use crate::ci::Secret;

/// Credentials for pushing the state branch to the forge's server.
#[derive(Clone)]
pub struct Auth {
    /// `https://github.com` (no trailing slash).
    server: String,
    header: Secret,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// The credentials of the CI job, when the remote `url` is on the CI's server and a token
    /// is in the environment.
    pub fn from_env(host: Host, url: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<Auth> {
        let some = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let (server, user, token) = match host {
            Host::GitHub => {
                let server =
                    some("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
                let token = some(crate::vars::TOKEN).or_else(|| some("GITHUB_TOKEN"))?;
                (server, "x-access-token", token)
            }
            Host::GitLab => {
                let server = some("CI_SERVER_URL")?;
                match some(crate::vars::TOKEN).or_else(|| some("GITLAB_TOKEN")) {
                    Some(token) => (server, "oauth2", token),
                    None => (server, "gitlab-ci-token", some("CI_JOB_TOKEN")?),
                }
            }
            Host::Other => return None,
        };
        let server = server.trim_end_matches('/').to_string();
        if !same_server(url, &server) {
            return None;
        }
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        Some(Auth {
            server,
            header: Secret::new(format!("AUTHORIZATION: basic {basic}")),
        })
    }

    /// `(name, value)` environment variables for one git process, after the `inherited`
    /// `GIT_CONFIG_COUNT`.
    pub fn env(&self, inherited: Option<&str>) -> Vec<(String, String)> {
        let start: usize = inherited.and_then(|n| n.trim().parse().ok()).unwrap_or(0);
        let scoped = format!("http.{}/.extraHeader", self.server);
        let entries = [
            ("http.extraHeader".to_string(), String::new()),
            (scoped.clone(), String::new()),
            (scoped, self.header.expose().to_string()),
        ];
        let mut out = Vec::new();
        for (i, (key, value)) in entries.into_iter().enumerate() {
            out.push((format!("GIT_CONFIG_KEY_{}", start + i), key));
            out.push((format!("GIT_CONFIG_VALUE_{}", start + i), value));
        }
        out.push(("GIT_CONFIG_COUNT".into(), (start + 3).to_string()));
        out
    }
}

/// Whether `url` (`https://github.com/o/r.git`, `https://x:y@gitlab.example/g/p.git`) is on
/// `server` (`https://github.com`): same scheme, host and port.
fn same_server(url: &str, server: &str) -> bool {
    let origin = |u: &str| -> Option<String> {
        let (scheme, rest) = u.split_once("://")?;
        let authority = rest.split('/').next()?;
        let host = authority.rsplit('@').next()?;
        Some(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        ))
    };
    matches!((origin(url), origin(server)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn github_token_goes_in_an_environment_header_scoped_to_the_server() {
        let e = env(&[("GITHUB_TOKEN", "ghs_secret")]);
        let auth = Auth::from_env(Host::GitHub, "https://github.com/o/r", &e).expect("auth");
        let vars = auth.env(Some("1"));
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("GIT_CONFIG_COUNT").as_deref(), Some("4"));
        assert_eq!(get("GIT_CONFIG_KEY_1").as_deref(), Some("http.extraHeader"));
        assert_eq!(get("GIT_CONFIG_VALUE_1").as_deref(), Some(""));
        assert_eq!(
            get("GIT_CONFIG_KEY_3").as_deref(),
            Some("http.https://github.com/.extraHeader")
        );
        let header = get("GIT_CONFIG_VALUE_3").expect("header");
        let b64 = header.strip_prefix("AUTHORIZATION: basic ").expect("basic");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        assert_eq!(decoded, b"x-access-token:ghs_secret");
        assert!(!format!("{auth:?}").contains("ghs_secret"));
    }

    #[test]
    fn no_token_for_another_host_or_without_a_token() {
        let e = env(&[("GITHUB_TOKEN", "t")]);
        assert!(Auth::from_env(Host::GitHub, "https://evil.example/o/r", &e).is_none());
        assert!(Auth::from_env(Host::GitHub, "file:///tmp/origin.git", &e).is_none());
        assert!(Auth::from_env(Host::GitHub, "https://github.com/o/r", &env(&[])).is_none());
        assert!(Auth::from_env(Host::Other, "https://github.com/o/r", &e).is_none());
    }

    #[test]
    fn gitlab_prefers_a_write_token_over_the_job_token() {
        let e = env(&[
            ("CI_SERVER_URL", "https://gitlab.example"),
            ("CI_JOB_TOKEN", "job"),
            ("GITLAB_TOKEN", "glpat"),
        ]);
        let url = "https://gitlab-ci-token:job@gitlab.example/g/p.git";
        let auth = Auth::from_env(Host::GitLab, url, &e).expect("auth");
        let header = auth.header.expose().to_string();
        let b64 = header.strip_prefix("AUTHORIZATION: basic ").expect("basic");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        assert_eq!(decoded, b"oauth2:glpat");
        let job = env(&[
            ("CI_SERVER_URL", "https://gitlab.example"),
            ("CI_JOB_TOKEN", "job"),
        ]);
        let auth = Auth::from_env(Host::GitLab, url, &job).expect("auth");
        let b64 = auth
            .header
            .expose()
            .trim_start_matches("AUTHORIZATION: basic ")
            .to_string();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        assert_eq!(decoded, b"gitlab-ci-token:job");
    }
}
