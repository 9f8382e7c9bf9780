//! Picking the forge backend from configuration and the CI environment.

use std::path::Path;

use super::{Forge, LocalStore};
use crate::config::{ForgeKind, ForgeSettings};
use crate::error::Result;

/// The backend `kind: auto` resolves to: the forge whose CI we run in, else the local store.
pub fn resolve_kind(settings: &ForgeSettings, env: &dyn Fn(&str) -> Option<String>) -> ForgeKind {
    match settings.kind {
        ForgeKind::Auto if env("GITHUB_ACTIONS").as_deref() == Some("true") => ForgeKind::Github,
        ForgeKind::Auto if env("GITLAB_CI").as_deref() == Some("true") => ForgeKind::Gitlab,
        ForgeKind::Auto => ForgeKind::Local,
        k => k,
    }
}

/// Opens the configured backend for the repository at `root`.
pub fn open(
    settings: &ForgeSettings,
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Forge>> {
    match resolve_kind(settings, env) {
        ForgeKind::Github | ForgeKind::Gitlab => remote(settings, env),
        _ => Ok(Box::new(LocalStore::open(root)?)),
    }
}

fn remote(
    settings: &ForgeSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Box<dyn Forge>> {
    let kind = resolve_kind(settings, env);
    Err(crate::Error::Unsupported {
        backend: format!("{kind:?}").to_lowercase(),
        what: "publishing from this build (set `forge: {kind: local}` to use the local store)"
            .into(),
    })
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
}
