//! Web links for commits, issues, pull/merge requests and comparisons.
//!
//! The repository URL comes from configuration, else the CI environment, else the `origin`
//! remote; links are only produced when one is known (offline runs still work without).

use serde::Serialize;

/// Which web UI the links are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    Github,
    Gitlab,
}

/// A repository's web location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remote {
    pub url: String,
    pub forge: Forge,
}

impl Remote {
    /// Picks the repository URL: explicit, CI environment, then `origin`.
    pub fn detect(
        configured: &str,
        env: &dyn Fn(&str) -> Option<String>,
        origin: Option<&str>,
    ) -> Option<Self> {
        if !configured.is_empty() {
            return Some(Self::from_web_url(configured));
        }
        if let (Some(server), Some(repo)) = (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY")) {
            return Some(Remote {
                url: format!("{}/{}", server.trim_end_matches('/'), repo),
                forge: Forge::Github,
            });
        }
        if let Some(url) = env("CI_PROJECT_URL") {
            return Some(Remote {
                url: url.trim_end_matches('/').to_string(),
                forge: Forge::Gitlab,
            });
        }
        origin
            .and_then(web_url_from_remote)
            .map(|u| Self::from_web_url(&u))
    }

    fn from_web_url(url: &str) -> Self {
        let url = url
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string();
        let forge = if url.contains("gitlab") {
            Forge::Gitlab
        } else {
            Forge::Github
        };
        Remote { url, forge }
    }

    fn sep(&self) -> &'static str {
        match self.forge {
            Forge::Github => "",
            Forge::Gitlab => "/-",
        }
    }

    pub fn commit(&self, id: &str) -> String {
        format!("{}{}/commit/{id}", self.url, self.sep())
    }

    pub fn issue(&self, n: u64) -> String {
        format!("{}{}/issues/{n}", self.url, self.sep())
    }

    /// `#N` on GitHub is an issue or a pull request; `/issues/N` redirects to either.
    pub fn merge_request(&self, n: u64) -> String {
        match self.forge {
            Forge::Github => format!("{}/pull/{n}", self.url),
            Forge::Gitlab => format!("{}/-/merge_requests/{n}", self.url),
        }
    }

    /// The page of a tag (its release on GitHub, its tag page on GitLab).
    pub fn tag(&self, tag: &str) -> String {
        match self.forge {
            Forge::Github => format!("{}/releases/tag/{tag}", self.url),
            Forge::Gitlab => format!("{}/-/tags/{tag}", self.url),
        }
    }

    pub fn compare(&self, from: &str, to: &str) -> String {
        format!("{}{}/compare/{from}...{to}", self.url, self.sep())
    }
}

/// `git@host:o/r.git`, `ssh://git@host/o/r`, `https://user@host/o/r.git` → `https://host/o/r`.
fn web_url_from_remote(remote: &str) -> Option<String> {
    let r = remote.trim();
    // Local remotes (`file://`, paths) have no web pages to link to.
    if r.starts_with("file:") || r.starts_with('/') || r.starts_with('.') {
        return None;
    }
    let (host, path) = if let Some(rest) = r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
    {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        rest.split_once('/')?
    } else if let Some(rest) = r.strip_prefix("ssh://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let (host, path) = rest.split_once('/')?;
        (host.split(':').next()?, path)
    } else if let Some((user_host, path)) = r.split_once(':') {
        if user_host.contains('/') {
            return None; // a local path
        }
        (
            user_host.rsplit_once('@').map_or(user_host, |(_, h)| h),
            path,
        )
    } else {
        return None;
    };
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("https://{host}/{}", path.trim_end_matches(".git")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_become_web_urls() {
        for (remote, web) in [
            ("git@github.com:o/r.git", "https://github.com/o/r"),
            ("https://github.com/o/r.git", "https://github.com/o/r"),
            (
                "https://x-access-token:t@github.com/o/r",
                "https://github.com/o/r",
            ),
            (
                "ssh://git@gitlab.example.com:2222/g/sub/p.git",
                "https://gitlab.example.com/g/sub/p",
            ),
        ] {
            assert_eq!(
                web_url_from_remote(remote).as_deref(),
                Some(web),
                "{remote}"
            );
        }
        assert_eq!(web_url_from_remote("/srv/git/repo.git"), None);
        assert_eq!(web_url_from_remote("file:///srv/git/repo.git"), None);
        assert_eq!(web_url_from_remote("../sibling"), None);
    }

    #[test]
    fn gitlab_links_use_dash_paths() {
        let none = |_: &str| None;
        let r = Remote::detect("", &none, Some("git@gitlab.com:g/p.git")).unwrap();
        assert_eq!(r.forge, Forge::Gitlab);
        assert_eq!(
            r.merge_request(3),
            "https://gitlab.com/g/p/-/merge_requests/3"
        );
        assert_eq!(
            r.compare("v1", "v2"),
            "https://gitlab.com/g/p/-/compare/v1...v2"
        );
    }

    #[test]
    fn ci_environment_wins_over_origin() {
        let env = |k: &str| match k {
            "GITHUB_SERVER_URL" => Some("https://ghe.example.com".to_string()),
            "GITHUB_REPOSITORY" => Some("o/r".to_string()),
            _ => None,
        };
        let r = Remote::detect("", &env, Some("git@gitlab.com:g/p.git")).unwrap();
        assert_eq!(r.commit("abc"), "https://ghe.example.com/o/r/commit/abc");
    }
}
