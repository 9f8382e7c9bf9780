//! Releases: identified by tag; created, updated when their content differs, else left alone.
//!
//! `GET /releases/tags/{tag}` does not return drafts, so a miss is followed by one look at
//! the newest 100 releases (where a draft relman just made is): a retried job finds its draft
//! instead of making a second one.

use http::Method;
use serde_json::{Value, json};

use super::client::Idempotent;
use super::{GitHub, encode, opt_str, opt_time, str_field, time_field, u64_field};
use crate::types::{Release, ReleaseSpec, Upserted};
use relman_core::error::{Error, ForgeErrorKind, Result};

/// A release and GitHub's id for it.
struct Found {
    id: u64,
    release: Release,
}

pub(super) fn by_tag(gh: &GitHub, tag: &str) -> Result<Option<Release>> {
    Ok(find(gh, tag)?.map(|f| f.release))
}

fn find(gh: &GitHub, tag: &str) -> Result<Option<Found>> {
    let url = gh.repo_url(&format!("/releases/tags/{}", encode(tag)));
    if let Some(v) = gh.client.get_json::<Value>(&url)? {
        return from_json(&v, &url).map(Some);
    }
    // Drafts: only listed. One page, newest first.
    let url = gh.repo_url("/releases?per_page=100");
    let list = gh.client.get_json::<Vec<Value>>(&url)?.unwrap_or_default();
    list.iter()
        .find(|v| v.get("tag_name").and_then(Value::as_str) == Some(tag))
        .map(|v| from_json(v, &url))
        .transpose()
}

fn from_json(v: &Value, url: &str) -> Result<Found> {
    let id = u64_field(v, "id", url)?;
    let created_at = time_field(v, "created_at", url)?;
    let updated_at = match opt_time(v, "updated_at", url)? {
        Some(t) => t,
        None => opt_time(v, "published_at", url)?.unwrap_or(created_at),
    };
    Ok(Found {
        id,
        release: Release {
            tag: str_field(v, "tag_name"),
            name: str_field(v, "name"),
            body: str_field(v, "body"),
            draft: v.get("draft").and_then(Value::as_bool).unwrap_or(false),
            prerelease: v
                .get("prerelease")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            target: opt_str(v, "target_commitish"),
            url: opt_str(v, "html_url"),
            created_at,
            updated_at,
        },
    })
}

/// Whether `release` already has what `spec` asks. The target is compared only when the spec
/// names one: GitHub reports the branch a tag was cut from (`main`) when none was given.
fn same(release: &Release, spec: &ReleaseSpec) -> bool {
    release.tag == spec.tag
        && release.name == spec.name
        && release.body == spec.body
        && release.draft == spec.draft
        && release.prerelease == spec.prerelease
        && spec
            .target
            .as_ref()
            .is_none_or(|t| release.target.as_ref() == Some(t))
}

fn body(spec: &ReleaseSpec) -> Value {
    let mut body = json!({
        "tag_name": spec.tag,
        "name": spec.name,
        "body": spec.body,
        "draft": spec.draft,
        "prerelease": spec.prerelease,
    });
    if let Some(target) = &spec.target {
        body["target_commitish"] = json!(target);
    }
    body
}

pub(super) fn upsert(gh: &GitHub, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
    // Two rounds: a create that failed without an answer (5xx, timeout) may have gone
    // through, so look again before creating again. Every path of the second round returns
    // (a second failure is the forge's own answer), so the loop never runs a third time.
    let mut first = true;
    loop {
        if let Some(found) = find(gh, &spec.tag)? {
            if same(&found.release, spec) {
                return Ok(if first {
                    Upserted::unchanged(found.release)
                } else {
                    Upserted::created(found.release)
                });
            }
            let url = gh.repo_url(&format!("/releases/{}", found.id));
            let response =
                gh.client
                    .send(Method::PATCH, &url, Some(&body(spec)), Idempotent::Yes)?;
            if response.status.as_u16() != 200 {
                return Err(response.unexpected());
            }
            let v: Value = response.json()?;
            return Ok(Upserted::updated(from_json(&v, &url)?.release));
        }
        let url = gh.repo_url("/releases");
        let response = match gh
            .client
            .send(Method::POST, &url, Some(&body(spec)), Idempotent::No)
        {
            // No answer at all (a timeout, a reset mid-body): the release may exist now.
            Err(Error::Api(e)) if first && e.kind == ForgeErrorKind::Transport => {
                tracing::debug!("github: {e}; looking for the release before creating it again");
                first = false;
                continue;
            }
            sent => sent?,
        };
        match response.status.as_u16() {
            201 => {
                let v: Value = response.json()?;
                return Ok(Upserted::created(from_json(&v, &url)?.release));
            }
            s if s >= 500 && first => {}
            // Another job created the release between our look and our POST: look again and
            // update it rather than fail.
            422 if first && String::from_utf8_lossy(&response.body).contains("already_exists") => {}
            _ => return Err(response.unexpected()),
        }
        first = false;
    }
}
