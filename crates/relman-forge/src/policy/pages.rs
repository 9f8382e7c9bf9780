//! Pagination, the same for both forges: the `rel="next"` link of a `Link` header, followed
//! only while it stays on the API's own scheme, host and port (the token goes with every
//! request: a link elsewhere is refused with an error naming the endpoint, never followed
//! and never silently dropped), and at most [`super::Policy::max_pages`] pages a listing (a
//! listing that goes on past it is an error, not a truncated answer a gate could read as
//! complete).

use relman_core::error::{ForgeErrorKind, Result};

use super::retry::error;
use crate::api_host::origin;

/// The `rel="next"` URL of a `Link` header value.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// The pages of one listing of the API at `api`.
#[derive(Debug)]
pub(crate) struct Pages {
    api: Option<(String, String, u16)>,
    max: usize,
    seen: usize,
}

impl Pages {
    pub fn new(api: &str, max: usize) -> Pages {
        Pages {
            api: origin(api),
            max,
            seen: 0,
        }
    }

    /// Counts the page about to be fetched; past the cap, an error naming `endpoint`.
    pub fn another(&mut self, backend: &str, endpoint: &str) -> Result<()> {
        self.seen += 1;
        if self.seen > self.max {
            return Err(error(
                backend,
                endpoint,
                ForgeErrorKind::PageCap { pages: self.max },
                &format!(
                    "the listing goes on past {} pages; relman stops rather than read a \
                     listing without end (narrow the query)",
                    self.max
                ),
            ));
        }
        Ok(())
    }

    /// `link` if it stays on the API's scheme, host and port; else an error naming
    /// `endpoint` (the page that pointed there) and the other origin.
    pub fn follow(&self, backend: &str, endpoint: &str, link: &str) -> Result<String> {
        let there = origin(link);
        if there.is_some() && there == self.api {
            return Ok(link.to_string());
        }
        let elsewhere = there.map_or_else(
            || "an unparsable URL".to_string(),
            |(scheme, host, port)| match (scheme.as_str(), port) {
                ("https", 443) | ("http", 80) => format!("{scheme}://{host}"),
                _ => format!("{scheme}://{host}:{port}"),
            },
        );
        Err(error(
            backend,
            endpoint,
            ForgeErrorKind::ForeignLink,
            &format!(
                "refusing to follow a pagination link to another host ({elsewhere}): the token \
                 would be sent there"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relman_core::error::Error;

    #[test]
    fn the_next_link_is_found_among_the_others() {
        let h = r#"<https://gitlab.example.com/api/v4/projects/8/issues?page=2&per_page=3>; rel="next", <https://gitlab.example.com/api/v4/projects/8/issues?page=1&per_page=3>; rel="first""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://gitlab.example.com/api/v4/projects/8/issues?page=2&per_page=3")
        );
        assert_eq!(
            next_link(r#"<https://x/a>; rel="prev", <https://x/b>; rel=next"#).as_deref(),
            Some("https://x/b")
        );
        assert_eq!(next_link(r#"<https://x/y>; rel="last""#), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn links_stay_on_the_api_scheme_host_and_port() {
        let p = Pages::new("https://api.github.com", 10);
        for ok in [
            "https://api.github.com/repos/o/r/issues?page=2",
            "https://API.github.com:443/x",
        ] {
            assert_eq!(p.follow("github", "GET /x", ok).expect(ok), ok);
        }
        for (bad, named) in [
            (
                "https://evil.example.com/steal?page=2",
                "https://evil.example.com",
            ),
            ("http://api.github.com/x", "http://api.github.com"),
            (
                "https://api.github.com:8443/x",
                "https://api.github.com:8443",
            ),
            (
                "https://api.github.com.evil.example/x",
                "https://api.github.com.evil.example",
            ),
            ("/relative?page=2", "an unparsable URL"),
        ] {
            let err = p
                .follow("github", "GET /repos/o/r/issues", bad)
                .expect_err(bad);
            let text = err.to_string();
            assert!(
                text.starts_with("github: GET /repos/o/r/issues: refusing to follow a pagination link to another host")
                    && text.contains(&format!("({named})")),
                "{text}"
            );
            assert!(matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::ForeignLink));
            assert_eq!(err.exit_code(), relman_core::ExitCode::External);
        }
    }

    #[test]
    fn pages_past_the_cap_fail_naming_the_endpoint() {
        let mut p = Pages::new("http://127.0.0.1:8080/api/v4", 2);
        p.another("gitlab", "GET /projects/1/issues").expect("1");
        p.another("gitlab", "GET /projects/1/issues").expect("2");
        let err = p
            .another("gitlab", "GET /projects/1/issues")
            .expect_err("3");
        assert!(
            err.to_string()
                .starts_with("gitlab: GET /projects/1/issues: the listing goes on past 2 pages"),
            "{err}"
        );
        assert!(matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::PageCap { pages: 2 }));
        assert_eq!(err.exit_code(), relman_core::ExitCode::External);
    }
}
