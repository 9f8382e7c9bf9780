//! Picking the forge backend from configuration and the CI environment.

use std::path::Path;
use std::sync::Arc;

use super::{Forge, GitHub, GitLab, GitLabToken, LocalStore, api_host, import_legacy};
use relman_core::ci::Secret;
use relman_core::config::{ForgeKind, ForgeSettings, StateSettings};
use relman_core::error::{Error, Result};
use relman_core::state::StateStore;

/// The backend `kind: auto` resolves to: the forge whose CI we run in, else the local store.
pub fn resolve_kind(settings: &ForgeSettings, env: &dyn Fn(&str) -> Option<String>) -> ForgeKind {
    match settings.kind {
        ForgeKind::Auto if env("GITHUB_ACTIONS").as_deref() == Some("true") => ForgeKind::Github,
        ForgeKind::Auto if env("GITLAB_CI").as_deref() == Some("true") => ForgeKind::Gitlab,
        ForgeKind::Auto => ForgeKind::Local,
        k => k,
    }
}

/// Opens the configured backend for the repository at `root`, with relman's own records on
/// the state branch (`state`); a former `.relman/` store is imported into it once.
pub fn open(
    settings: &ForgeSettings,
    state: &StateSettings,
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Forge>> {
    let store = Arc::new(StateStore::open(root, state, env)?);
    match import_legacy(root, &store) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            "imported {n} records from .relman/ into {}; .relman/ can be deleted",
            store.branch()
        ),
        // The import is retried by the next run that can push.
        Err(e @ Error::NotRecorded { .. }) => tracing::warn!("{e}"),
        Err(e) => return Err(e),
    }
    match resolve_kind(settings, env) {
        ForgeKind::Github | ForgeKind::Gitlab => remote(settings, store, env),
        _ => Ok(Box::new(LocalStore::new(store))),
    }
}

fn remote(
    settings: &ForgeSettings,
    store: Arc<StateStore>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Forge>> {
    let pick = |configured: &str, vars: &[&str]| -> Option<String> {
        Some(configured.to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| vars.iter().find_map(|v| env(v)))
    };
    let need = |what: &str, vars: &str| {
        Error::Usage(format!(
            "forge.{what} is not set and {vars} is not in the environment"
        ))
    };
    let budget = settings.request_budget;
    if resolve_kind(settings, env) == ForgeKind::Github {
        let repo = pick(&settings.repository, &["GITHUB_REPOSITORY"])
            .ok_or_else(|| need("repository", "GITHUB_REPOSITORY"))?;
        let token = [relman_core::vars::TOKEN, "GITHUB_TOKEN"]
            .iter()
            .find_map(|v| env(v))
            .map(Secret::new);
        let api = api_host::api_url(
            &settings.api_url,
            env,
            "GITHUB_API_URL",
            "https://api.github.com",
            token.is_some(),
        )?;
        // The audit trail (and dispatch records) go to the state branch; the release or
        // deployment itself is on GitHub.
        let github = GitHub::new(&api, &repo, token, budget)?.with_audit_store(store);
        return Ok(Box::new(github));
    }
    let project = pick(&settings.repository, &["CI_PROJECT_PATH"])
        .ok_or_else(|| need("repository", "CI_PROJECT_PATH"))?;
    // A personal/project token can do more than the job token; prefer it when given.
    let token = [relman_core::vars::TOKEN, "GITLAB_TOKEN"]
        .iter()
        .find_map(|v| env(v))
        .map(|t| GitLabToken::Private(Secret::new(t)))
        .or_else(|| env("CI_JOB_TOKEN").map(|t| GitLabToken::Job(Secret::new(t))));
    let api = api_host::api_url(
        &settings.api_url,
        env,
        "CI_API_V4_URL",
        "https://gitlab.com/api/v4",
        token.is_some(),
    )?;
    // Neither forge has a place for relman's audit trail: it goes to the state branch.
    let gitlab = GitLab::new(&api, &project, token, budget)?.with_audit_store(store);
    Ok(Box::new(gitlab))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_ci() {
        let s = ForgeSettings::default();
        let gh = |k: &str| (k == "GITHUB_ACTIONS").then(|| "true".to_string());
        let gl = |k: &str| (k == "GITLAB_CI").then(|| "true".to_string());
        let none = |_: &str| None;
        assert_eq!(resolve_kind(&s, &gh), ForgeKind::Github);
        assert_eq!(resolve_kind(&s, &gl), ForgeKind::Gitlab);
        assert_eq!(resolve_kind(&s, &none), ForgeKind::Local);
        let local = ForgeSettings {
            kind: ForgeKind::Local,
            ..ForgeSettings::default()
        };
        assert_eq!(resolve_kind(&local, &gh), ForgeKind::Local);
    }

    #[test]
    fn backends_come_from_the_ci_environment() {
        let dir = tempfile::tempdir().unwrap();
        relman_core::state::testing::repo(dir.path());
        let s = ForgeSettings::default();
        let st = StateSettings::default();
        let gh = |k: &str| match k {
            "GITHUB_ACTIONS" => Some("true".to_string()),
            "GITHUB_REPOSITORY" => Some("o/r".to_string()),
            "GITHUB_API_URL" => Some("http://127.0.0.1:9".to_string()),
            _ => None,
        };
        assert_eq!(open(&s, &st, dir.path(), &gh).unwrap().name(), "github");
        let gl = |k: &str| match k {
            "GITLAB_CI" => Some("true".to_string()),
            "CI_PROJECT_PATH" => Some("g/p".to_string()),
            "CI_API_V4_URL" => Some("http://127.0.0.1:9/api/v4".to_string()),
            "CI_JOB_TOKEN" => Some("secret".to_string()),
            _ => None,
        };
        assert_eq!(open(&s, &st, dir.path(), &gl).unwrap().name(), "gitlab");
        let none = |_: &str| None;
        assert_eq!(open(&s, &st, dir.path(), &none).unwrap().name(), "local");
    }

    #[test]
    fn a_forge_without_repository_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        relman_core::state::testing::repo(dir.path());
        let s = ForgeSettings {
            kind: ForgeKind::Gitlab,
            ..ForgeSettings::default()
        };
        let e = open(&s, &StateSettings::default(), dir.path(), &|_: &str| None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "forge.repository is not set and CI_PROJECT_PATH is not in the environment"
        );
        assert_eq!(e.exit_code(), relman_core::ExitCode::BadInput);
    }
}

#[cfg(test)]
mod token_host_tests {
    //! Issue #12 finding 7: the repository's own `.relman.yml` cannot send the CI token to
    //! another host, nor over plain http (loopback aside).
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn with_url(kind: ForgeKind, url: &str) -> ForgeSettings {
        ForgeSettings {
            kind,
            api_url: url.into(),
            ..ForgeSettings::default()
        }
    }

    const GL: &[(&str, &str)] = &[
        ("GITLAB_CI", "true"),
        ("CI_PROJECT_PATH", "g/p"),
        ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
        ("CI_JOB_TOKEN", "secret"),
    ];
    const GH: &[(&str, &str)] = &[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_API_URL", "https://api.github.com"),
        ("GITHUB_TOKEN", "secret"),
    ];

    fn refused(s: &ForgeSettings, env: &dyn Fn(&str) -> Option<String>) -> String {
        let dir = tempfile::tempdir().unwrap();
        relman_core::state::testing::repo(dir.path());
        let e = open(s, &StateSettings::default(), dir.path(), env)
            .map(|f| f.name().to_string())
            .unwrap_err();
        assert_eq!(e.exit_code(), relman_core::ExitCode::BadInput, "{e}");
        e.to_string()
    }

    #[test]
    fn a_config_cannot_send_the_token_to_another_host() {
        for (kind, env) in [(ForgeKind::Gitlab, GL), (ForgeKind::Github, GH)] {
            for url in [
                "https://evil.example/api/v4",
                "https://gitlab.example.com.evil.example/api/v4",
                "https://api.github.com:8443",
                "http://evil.example/api/v4",
            ] {
                let msg = refused(&with_url(kind, url), &env_of(env));
                assert!(msg.contains("RELMAN_API_URL"), "{url}: {msg}");
            }
        }
    }

    #[test]
    fn the_same_host_or_an_explicit_input_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        relman_core::state::testing::repo(dir.path());
        let same = with_url(ForgeKind::Gitlab, "https://GitLab.example.com:443/api/v4/");
        assert!(open(&same, &StateSettings::default(), dir.path(), &env_of(GL)).is_ok());
        const EXPLICIT: &[(&str, &str)] = &[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "g/p"),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4"),
            ("CI_JOB_TOKEN", "secret"),
            ("RELMAN_API_URL", "https://mirror.example/api/v4"),
        ];
        let other = with_url(ForgeKind::Gitlab, "https://evil.example/api/v4");
        let f = open(
            &other,
            &StateSettings::default(),
            dir.path(),
            &env_of(EXPLICIT),
        )
        .unwrap();
        assert_eq!(f.name(), "gitlab");
        // Without a token there is nothing to leak: the config may point anywhere.
        const NO_TOKEN: &[(&str, &str)] = &[("GITLAB_CI", "true"), ("CI_PROJECT_PATH", "g/p")];
        assert!(
            open(
                &other,
                &StateSettings::default(),
                dir.path(),
                &env_of(NO_TOKEN)
            )
            .is_ok()
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        const HTTP: &[(&str, &str)] = &[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "g/p"),
            ("CI_API_V4_URL", "http://gitlab.example.com/api/v4"),
            ("CI_JOB_TOKEN", "secret"),
        ];
        let msg = refused(&ForgeSettings::default(), &env_of(HTTP));
        assert!(msg.contains("https"), "{msg}");
        let dir = tempfile::tempdir().unwrap();
        relman_core::state::testing::repo(dir.path());
        for url in [
            "http://127.0.0.1:9/api/v4",
            "http://localhost:9/api/v4",
            "http://[::1]:9/api/v4",
        ] {
            let env = move |k: &str| match k {
                "CI_API_V4_URL" => Some(url.to_string()),
                k => env_of(HTTP)(k),
            };
            assert!(
                open(
                    &ForgeSettings::default(),
                    &StateSettings::default(),
                    dir.path(),
                    &env
                )
                .is_ok(),
                "{url}"
            );
        }
    }
}
