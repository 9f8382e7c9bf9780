//! `--publish`: the rendered notes of a tag become that tag's release on the forge (or in the
//! local store), created once and updated on every later run; each run is audited.

use relman_core::audit::{actor, run_url};
use relman_core::{Error, Result};
use relman_forge::{self as forge, AuditRecord, Outcome, ReleaseSpec, Subject};

/// The tag a CI run was started for, if it was a tag push.
pub fn ci_tag(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if env("GITHUB_REF_TYPE").as_deref() == Some("tag") {
        return env("GITHUB_REF_NAME");
    }
    env("CI_COMMIT_TAG")
}

/// What a publish did.
#[derive(Debug)]
pub struct Published {
    pub backend: String,
    pub outcome: Outcome,
    pub url: Option<String>,
}

/// Creates or updates the release of `tag` with `body`, and records it in the audit log.
pub fn publish(
    forge: &dyn forge::Forge,
    env: &dyn Fn(&str) -> Option<String>,
    tag: &str,
    sha: Option<String>,
    body: &str,
    draft: bool,
) -> Result<Published> {
    let version = tag.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prerelease = semver::Version::parse(version).is_ok_and(|v| !v.pre.is_empty());
    let spec = ReleaseSpec {
        tag: tag.to_string(),
        name: tag.to_string(),
        body: body.to_string(),
        draft,
        prerelease,
        target: sha.clone(),
    };
    let up = forge.upsert_release(&spec)?;
    let record = AuditRecord {
        reason: format!("release {tag} {:?}", up.outcome).to_lowercase(),
        subject: Subject {
            sha,
            tag: Some(tag.to_string()),
            environment: None,
        },
        details: serde_json::json!({
            "backend": forge.name(),
            "outcome": up.outcome,
            "draft": draft,
            "prerelease": prerelease,
            "url": up.value.url,
        }),
        run: run_url(env),
        ..AuditRecord::now(actor(env), "changelog.publish")
    };
    match forge.append_audit(&record) {
        Ok(()) => {}
        // A forge without an audit store still has the release itself and the CI log.
        Err(Error::Unsupported { .. }) => {
            tracing::warn!(
                "{} keeps no audit log; the release is the record",
                forge.name()
            )
        }
        Err(e) => return Err(e),
    }
    Ok(Published {
        backend: forge.name().to_string(),
        outcome: up.outcome,
        url: up.value.url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use relman_core::config::{Config, ForgeKind};
    use relman_forge::{AuditFilter, Forge, LocalStore};

    #[test]
    fn publishes_once_then_updates_and_audits_every_run() {
        let dir = tempfile::tempdir().unwrap();
        // The records go to the repository's state branch.
        let init = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(init.success());
        let mut config = Config::default();
        config.forge.kind = ForgeKind::Local;
        let env = |k: &str| match k {
            "USER" => Some("alice".to_string()),
            _ => None,
        };
        let forge = relman_forge::open(&config.forge, &config.state, dir.path(), &env).unwrap();
        let p = |body: &str| publish(forge.as_ref(), &env, "v1.2.0-rc.1", None, body, false);
        assert_eq!(p("notes").unwrap().outcome, Outcome::Created);
        assert_eq!(p("notes").unwrap().outcome, Outcome::Unchanged);
        assert_eq!(p("better notes").unwrap().outcome, Outcome::Updated);
        let store = LocalStore::open(dir.path()).unwrap();
        let release = store.release_by_tag("v1.2.0-rc.1").unwrap().unwrap();
        assert_eq!(release.body, "better notes");
        assert!(release.prerelease);
        let log = store.audit_log(&AuditFilter::default()).unwrap();
        let reasons: Vec<&str> = log.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "release v1.2.0-rc.1 created",
                "release v1.2.0-rc.1 unchanged",
                "release v1.2.0-rc.1 updated"
            ]
        );
        assert!(
            log.iter()
                .all(|r| r.actor == "alice" && r.action == "changelog.publish")
        );
    }

    #[test]
    fn tag_pushes_are_recognised() {
        let gh = |k: &str| match k {
            "GITHUB_REF_TYPE" => Some("tag".to_string()),
            "GITHUB_REF_NAME" => Some("v2.0.0".to_string()),
            _ => None,
        };
        assert_eq!(ci_tag(&gh).as_deref(), Some("v2.0.0"));
        let gl = |k: &str| (k == "CI_COMMIT_TAG").then(|| "v3.0.0".to_string());
        assert_eq!(ci_tag(&gl).as_deref(), Some("v3.0.0"));
        assert_eq!(ci_tag(&|_: &str| None), None);
    }
}
