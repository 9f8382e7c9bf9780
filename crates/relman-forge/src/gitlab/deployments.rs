//! Deployments: `GET/POST /projects/:id/deployments`, `GET/PUT …/deployments/:id`.
//!
//! GitLab deployments hold no free-form data, so the idempotency key cannot be stored with
//! them: it is kept on the state branch ([`super::keys`]).

use serde::{Deserialize, Serialize};

use super::client::{Made, enc};
use super::deployments_claim::{Binding, CLOCK_SKEW, Claimed};
use super::keys::{Bound, KeyRecord};
use super::{GitLab, required};
use crate::{Deployment, DeploymentSpec, DeploymentState, DeploymentStatus, Upserted};
use relman_core::error::{Error, Result};

#[derive(Debug, Deserialize)]
pub(super) struct GlDeployment {
    id: u64,
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
    #[serde(deserialize_with = "crate::time::required")]
    created_at: jiff::Timestamp,
    #[serde(default, deserialize_with = "crate::time::optional")]
    updated_at: Option<jiff::Timestamp>,
    status: String,
    #[serde(default)]
    user: Option<GlUser>,
    #[serde(default)]
    environment: Option<GlEnvironment>,
    /// The job behind the deployment; none when it was made through the API (by relman).
    #[serde(default)]
    deployable: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GlUser {
    pub username: String,
}

#[derive(Debug, Deserialize)]
struct GlEnvironment {
    name: String,
}

#[derive(Debug, Serialize)]
struct CreateDeployment<'a> {
    environment: &'a str,
    sha: &'a str,
    #[serde(rename = "ref")]
    git_ref: &'a str,
    tag: bool,
    status: &'a str,
}

#[derive(Debug, Serialize)]
struct UpdateDeployment<'a> {
    status: &'a str,
}

/// GitLab's deployment status → the forge state.
fn state_of(status: &str) -> DeploymentState {
    match status {
        "created" => DeploymentState::Pending,
        "blocked" | "waiting" => DeploymentState::Queued,
        "running" => DeploymentState::InProgress,
        "success" => DeploymentState::Success,
        "failed" => DeploymentState::Failure,
        _ => DeploymentState::Cancelled, // canceled, skipped
    }
}

/// The status GitLab accepts for a state (`running`, `success`, `failed`, `canceled`).
fn status_for(state: DeploymentState) -> Option<&'static str> {
    match state {
        DeploymentState::Pending | DeploymentState::Queued => None,
        DeploymentState::InProgress => Some("running"),
        DeploymentState::Success => Some("success"),
        DeploymentState::Failure | DeploymentState::Error => Some("failed"),
        DeploymentState::Inactive | DeploymentState::Cancelled => Some("canceled"),
    }
}

/// What `spec`'s key is bound to when it names `d`.
fn binding(spec: &DeploymentSpec, d: &GlDeployment) -> KeyRecord {
    KeyRecord {
        id: d.id,
        environment: spec.environment.clone(),
        sha: d.sha.clone(),
        git_ref: d.git_ref.clone(),
    }
}

impl GitLab {
    fn to_deployment(&self, d: GlDeployment, environment: &str) -> Deployment {
        let state = state_of(&d.status);
        let key = self
            .deployment_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, id)| **id == d.id)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| format!("gitlab-deployment:{}", d.id));
        let created_at = d.created_at;
        Deployment {
            id: d.id,
            environment: d
                .environment
                .map(|e| e.name)
                .unwrap_or_else(|| environment.to_string()),
            sha: d.sha,
            git_ref: d.git_ref,
            creator: d.user.map(|u| u.username).unwrap_or_default(),
            state,
            statuses: vec![DeploymentStatus {
                state,
                description: String::new(),
                created_at: d.updated_at.unwrap_or(created_at),
            }],
            created_at,
            idempotency_key: key,
            payload: serde_json::Value::Null,
        }
    }

    fn gl_deployments(
        &self,
        environment: &str,
        extra: &str,
        limit: usize,
    ) -> Result<Vec<GlDeployment>> {
        let path = self.project_path(&format!(
            "/deployments?environment={}&order_by=id&sort=desc{extra}",
            enc(environment)
        ));
        let mut list: Vec<GlDeployment> = self.http.list(&path, limit)?;
        // A deployment made while we page moves every item down one place: the next page
        // starts with one already seen.
        let mut seen = std::collections::HashSet::new();
        list.retain(|d| seen.insert(d.id));
        Ok(list)
    }

    pub(super) fn list_deployments(
        &self,
        environment: &str,
        limit: usize,
    ) -> Result<Vec<Deployment>> {
        required("environment", environment)?;
        Ok(self
            .gl_deployments(environment, "", limit)?
            .into_iter()
            .map(|d| self.to_deployment(d, environment))
            .collect())
    }

    pub(super) fn last_success(&self, environment: &str) -> Result<Option<Deployment>> {
        required("environment", environment)?;
        Ok(self
            .gl_deployments(environment, "&status=success", 1)?
            .into_iter()
            .next()
            .map(|d| self.to_deployment(d, environment)))
    }

    fn gl_deployment(&self, id: u64) -> Result<GlDeployment> {
        self.http
            .get_opt(&self.project_path(&format!("/deployments/{id}")))?
            .ok_or_else(|| Error::NotFound {
                backend: "gitlab".into(),
                what: format!("deployment {id}"),
            })
    }

    /// The environment's newest deployment when it is of `spec`'s sha and ref (only without a
    /// state store: nothing else can tell a retry's deployment then).
    fn same_as_newest(&self, spec: &DeploymentSpec) -> Result<Option<GlDeployment>> {
        Ok(self
            .gl_deployments(&spec.environment, "", 1)?
            .into_iter()
            .next()
            .filter(|d| d.sha == spec.sha && d.git_ref == spec.git_ref))
    }

    /// The environment's deployments of `spec`'s sha and ref made through the API (no job
    /// behind them) and created at or after `since`: those made at or after `since` plus
    /// [`CLOCK_SKEW`] first, oldest first, then those within the skew, nearest first. Pages
    /// (newest first) are read only back to `since`.
    fn made_since(
        &self,
        spec: &DeploymentSpec,
        since: jiff::Timestamp,
    ) -> Result<Vec<GlDeployment>> {
        let path = self.project_path(&format!(
            "/deployments?environment={}&order_by=id&sort=desc",
            enc(&spec.environment)
        ));
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.http
            .each_page(&path, 20, &mut |page: Vec<GlDeployment>| {
                let mut more = true;
                for d in page {
                    let created = d.created_at;
                    if created < since {
                        more = false;
                        continue;
                    }
                    if d.sha == spec.sha
                        && d.git_ref == spec.git_ref
                        && d.deployable.is_none()
                        && seen.insert(d.id)
                    {
                        found.push((created, d));
                    }
                }
                more
            })?;
        let skew = jiff::SignedDuration::try_from(CLOCK_SKEW).unwrap_or_default();
        let claimed = since.checked_add(skew).unwrap_or(since);
        found.sort_by_key(|(created, d)| {
            if *created < claimed {
                (1, -(d.id as i128))
            } else {
                (0, d.id as i128)
            }
        });
        Ok(found.into_iter().map(|(_, d)| d).collect())
    }

    pub(super) fn deploy(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        required("environment", &spec.environment)?;
        required("sha", &spec.sha)?;
        required("ref", &spec.git_ref)?;
        required("idempotency_key", &spec.idempotency_key)?;
        if !spec.payload.is_null() {
            tracing::debug!("gitlab: deployments hold no payload; it is not stored");
        }

        let key = spec.idempotency_key.as_str();
        if let Some(id) = self.known_key(key)? {
            return self.keyed(id, spec);
        }
        let claimed = match &self.audit {
            Some(store) => self.claim_deployment(store, spec)?,
            None => Claimed::Unshared,
        };
        let holder = match claimed {
            Claimed::Bound(id) => {
                self.remember_deployment(key, id);
                return self.keyed(id, spec);
            }
            Claimed::Ours {
                holder,
                search_from: Some(since),
            } => {
                // A claim taken over from an attempt that never bound it: the deployment it
                // made, if any, is among those made since it claimed.
                let made = self.made_since(spec, since)?;
                let candidates: Vec<KeyRecord> = made.iter().map(|d| binding(spec, d)).collect();
                match self.bind_first_free(key, &candidates)? {
                    Binding::Bound(id) => {
                        let d = made.into_iter().find(|d| d.id == id);
                        let d = match d {
                            Some(d) => d,
                            None => self.gl_deployment(id)?,
                        };
                        return Ok(Upserted::unchanged(
                            self.to_deployment(d, &spec.environment),
                        ));
                    }
                    Binding::Taken(id) => return self.keyed(id, spec),
                    Binding::NoneFree => {}
                }
                Some(holder)
            }
            Claimed::Ours { holder, .. } => Some(holder),
            Claimed::Unshared => {
                // Without a shared claim a retry in another process has nothing to go by but
                // the environment's newest deployment.
                if let Some(existing) = self.same_as_newest(spec)? {
                    return match self.bind_key(key, &binding(spec, &existing))? {
                        Bound::Ours => Ok(Upserted::unchanged(
                            self.to_deployment(existing, &spec.environment),
                        )),
                        Bound::Theirs(id) => self.keyed(id, spec),
                    };
                }
                None
            }
        };

        let made = self.post_deployment(spec);
        let d = match made {
            Ok(d) => d,
            Err(e) => {
                if let Some(holder) = &holder
                    && crate::claim::nothing_ran(&e)
                {
                    self.release_claim(key, holder);
                }
                return Err(e);
            }
        };
        match self.bind_key(key, &binding(spec, &d))? {
            Bound::Ours => Ok(Upserted::created(self.to_deployment(d, &spec.environment))),
            Bound::Theirs(id) => {
                // Another job made a deployment for this key at the same moment and recorded
                // it first (it took over a claim it thought dead): that one is the
                // deployment. Ours is a duplicate, cancelled so the environment does not show
                // it as running; a failed cancel is only logged (the answer is the recorded
                // deployment either way).
                tracing::warn!(
                    "gitlab: idempotency key already bound to deployment {id} by another job; \
                     cancelling duplicate deployment {}",
                    d.id
                );
                if let Err(e) = self.set_status(d.id, DeploymentState::Cancelled, "") {
                    tracing::warn!("gitlab: could not cancel deployment {}: {e}", d.id);
                }
                self.keyed(id, spec)
            }
        }
    }

    /// POSTs `spec`'s deployment. An attempt whose answer was lost is looked for, before the
    /// POST is sent again, among the deployments of this sha and ref made since the call
    /// began that no other key owns.
    fn post_deployment(&self, spec: &DeploymentSpec) -> Result<GlDeployment> {
        let began = jiff::Timestamp::now();
        let since = began
            .checked_sub(jiff::SignedDuration::try_from(CLOCK_SKEW).unwrap_or_default())
            .unwrap_or(began);
        let is_tag = self
            .http
            .get_opt::<serde_json::Value>(
                &self.project_path(&format!("/repository/tags/{}", enc(&spec.git_ref))),
            )?
            .is_some();
        let body = CreateDeployment {
            environment: &spec.environment,
            sha: &spec.sha,
            git_ref: &spec.git_ref,
            tag: is_tag,
            status: "running",
        };
        let made =
            self.http
                .create::<GlDeployment>(&self.project_path("/deployments"), &body, &|| {
                    self.unowned_since(spec, since)
                })?;
        let (Made::Created(d) | Made::Found(d)) = made;
        Ok(d)
    }

    /// The first deployment [`Self::made_since`] `since` that no key owns on the state branch.
    fn unowned_since(
        &self,
        spec: &DeploymentSpec,
        since: jiff::Timestamp,
    ) -> Result<Option<GlDeployment>> {
        let made = self.made_since(spec, since)?;
        for d in made {
            if !self.owned(d.id)? {
                return Ok(Some(d));
            }
        }
        Ok(None)
    }

    /// The deployment `id` that `spec`'s key names, unchanged; a conflict when it was made
    /// for another environment, sha or ref.
    fn keyed(&self, id: u64, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        let d = self.to_deployment(self.gl_deployment(id)?, &spec.environment);
        if d.environment != spec.environment || d.sha != spec.sha || d.git_ref != spec.git_ref {
            return Err(Error::Conflict {
                backend: "gitlab".into(),
                message: format!(
                    "idempotency key `{}` already names deployment {} of {} ({}) to {}",
                    spec.idempotency_key, d.id, d.sha, d.git_ref, d.environment
                ),
            });
        }
        Ok(Upserted::unchanged(d))
    }

    pub(super) fn set_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<Upserted<Deployment>> {
        let _ = description; // GitLab deployments have no status description.
        let Some(status) = status_for(state) else {
            use crate::Forge;
            return Err(self.unsupported(&format!("setting a deployment to `{state}`")));
        };
        let current = self.gl_deployment(id)?;
        if current.status == status {
            return Ok(Upserted::unchanged(self.to_deployment(current, "")));
        }
        let updated: GlDeployment = self.http.put(
            &self.project_path(&format!("/deployments/{id}")),
            &UpdateDeployment { status },
        )?;
        Ok(Upserted::updated(self.to_deployment(updated, "")))
    }
}
