//! Releases: `GET/POST /projects/:id/releases`, `PUT /projects/:id/releases/:tag_name`.

use serde::{Deserialize, Serialize};

use super::GitLab;
use super::client::{Made, enc};
use crate::{Release, ReleaseSpec, Upserted};
use relman_core::error::Result;

#[derive(Debug, Deserialize)]
pub(super) struct GlRelease {
    tag_name: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(deserialize_with = "crate::time::required")]
    created_at: jiff::Timestamp,
    #[serde(default, deserialize_with = "crate::time::optional")]
    released_at: Option<jiff::Timestamp>,
    #[serde(default)]
    commit: Option<GlCommitId>,
    #[serde(default, rename = "_links")]
    links: Option<GlLinks>,
}

#[derive(Debug, Deserialize)]
struct GlCommitId {
    id: String,
}

#[derive(Debug, Deserialize)]
struct GlLinks {
    #[serde(default, rename = "self")]
    web: Option<String>,
}

#[derive(Debug, Serialize)]
struct CreateRelease<'a> {
    tag_name: &'a str,
    name: &'a str,
    description: &'a str,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    git_ref: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct UpdateRelease<'a> {
    name: &'a str,
    description: &'a str,
}

impl GlRelease {
    fn into_release(self) -> Release {
        Release {
            prerelease: is_prerelease(&self.tag_name),
            name: self.name.unwrap_or_default(),
            body: self.description.unwrap_or_default(),
            draft: false,
            target: self.commit.map(|c| c.id),
            url: self.links.and_then(|l| l.web),
            updated_at: self.released_at.unwrap_or(self.created_at),
            created_at: self.created_at,
            tag: self.tag_name,
        }
    }
}

/// Whether the version in `tag` (`v1.2.0-rc.1`, `api-v1.2.0-rc.1`) has a pre-release part.
fn is_prerelease(tag: &str) -> bool {
    tag.char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .find_map(|(i, _)| semver::Version::parse(&tag[i..]).ok())
        .is_some_and(|v| !v.pre.is_empty())
}

impl GitLab {
    pub(super) fn release(&self, tag: &str) -> Result<Option<Release>> {
        Ok(self.gl_release(tag)?.map(GlRelease::into_release))
    }

    fn gl_release(&self, tag: &str) -> Result<Option<GlRelease>> {
        super::required("tag", tag)?;
        let path = self.project_path(&format!("/releases/{}", enc(tag)));
        self.http.get_opt::<GlRelease>(&path)
    }

    pub(super) fn upsert(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
        if spec.draft {
            return Err(self.unsupported_draft());
        }
        match self.release(&spec.tag)? {
            Some(existing) => {
                if existing.name == spec.name && existing.body == spec.body {
                    if spec.target.as_deref().is_some_and(|t| {
                        existing
                            .target
                            .as_deref()
                            .is_some_and(|e| !e.starts_with(t))
                    }) {
                        tracing::warn!(
                            tag = %spec.tag,
                            "gitlab: the release's tag points elsewhere than the requested target; \
                             a release update cannot move a tag"
                        );
                    }
                    return Ok(Upserted::unchanged(existing));
                }
                let path = self.project_path(&format!("/releases/{}", enc(&spec.tag)));
                let body = UpdateRelease {
                    name: &spec.name,
                    description: &spec.body,
                };
                let updated: GlRelease = self.http.put(&path, &body)?;
                Ok(Upserted::updated(updated.into_release()))
            }
            None => {
                let body = CreateRelease {
                    tag_name: &spec.tag,
                    name: &spec.name,
                    description: &spec.body,
                    git_ref: spec.target.as_deref(),
                };
                let made = self.http.create::<GlRelease>(
                    &self.project_path("/releases"),
                    &body,
                    &|| self.gl_release(&spec.tag),
                )?;
                match made {
                    Made::Created(r) => Ok(Upserted::created(r.into_release())),
                    Made::Found(r) => {
                        let release = r.into_release();
                        if release.name == spec.name && release.body == spec.body {
                            Ok(Upserted::created(release))
                        } else {
                            // Someone else's release under this tag: make it ours.
                            self.upsert(spec)
                        }
                    }
                }
            }
        }
    }

    fn unsupported_draft(&self) -> relman_core::error::Error {
        use crate::Forge;
        self.unsupported("draft releases")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prerelease_comes_from_the_tag() {
        assert!(super::is_prerelease("v1.2.0-rc.1"));
        assert!(super::is_prerelease("api-v1.2.0-beta"));
        assert!(!super::is_prerelease("v1.2.0"));
        assert!(!super::is_prerelease("release-2"));
    }
}
