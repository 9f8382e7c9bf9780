//! Claiming a GitLab deployment's idempotency key on the state branch before the deployment is
//! created.
//!
//! A GitLab deployment holds no free-form data, so nothing on GitLab says which key made it;
//! the key is bound on the state branch after the POST ([`super::keys`]). A job that dies
//! between the POST and the binding used to leave its retry two bad guesses (the
//! environment's newest deployment of the same sha and ref): a deployment landing in between
//! made it create a second one, and another key deploying the same commit was taken for this
//! one. So the key is claimed first:
//!
//! 1. `claims/gitlab/<project>/deployment/<key>.json` is written by compare-and-swap, naming
//!    the environment, sha and ref, when the key was first claimed and a random holder token.
//!    It lives outside `keys/` because it changes hands and goes away, and `audit verify`
//!    holds every file under `keys/` immutable.
//! 2. The holder POSTs the deployment.
//! 3. The binding writes `keys/…/deployment/<key>.json`, `keys/…/deployment-id/<id>.json`
//!    (which key owns that deployment) and removes the claim, in one commit.
//!
//! Another attempt finding the claim without a binding waits for the binding, polling the
//! state branch every [`WAIT_STEP`], for as long as the claim has left to live
//! ([`CLAIM_TTL`] after its holder took it); then it takes the claim over, as an expired lock
//! is. Having taken over a claim, it looks on GitLab for a deployment of this environment, sha
//! and ref, made by the API (no job behind it), created at or after the first claim less
//! [`CLOCK_SKEW`], and owned by no other key: the oldest such is the dead holder's and is
//! bound; with none, it creates. A key claimed afresh never adopts anything: its deployment
//! is created.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::GitLab;
use super::keys::KeyRecord;
use crate::DeploymentSpec;
use relman_core::config::RecordKind;
use relman_core::error::{Error, Result};
use relman_core::state::{Change, Jitter, StateStore, Step, file_name};

/// How long a claim protects its holder: longer than one create call with its retries takes
/// (attempts × (timeout + longest wait) under the default policy stays well below it).
pub(super) const CLAIM_TTL: Duration = Duration::from_secs(300);
/// How often a waiting attempt looks at the state branch again.
pub(super) const WAIT_STEP: Duration = Duration::from_secs(5);
/// How far the runner's clock (the claim's time) and GitLab's (`created_at`) may disagree.
pub(super) const CLOCK_SKEW: Duration = Duration::from_secs(120);

/// What a deployment claim file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DeploymentClaim {
    pub environment: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub requested_by: String,
    /// RFC 3339 UTC: when the key was first claimed. A takeover keeps it: the dead holder's
    /// deployment, if it made one, was created after it.
    pub claimed_at: String,
    /// RFC 3339 UTC: when the current holder took the claim (it expires [`CLAIM_TTL`] later).
    pub held_since: String,
    /// A random token naming the attempt that holds the claim.
    pub holder: String,
}

/// What claiming a deployment key found.
#[derive(Debug)]
pub(super) enum Claimed {
    /// This attempt holds the key. `search_from`: it took over an unbound claim, and a
    /// deployment created since then may be the dead holder's.
    Ours {
        holder: String,
        search_from: Option<jiff::Timestamp>,
    },
    /// The key is bound, to this deployment.
    Bound(u64),
    /// No claim could be shared (the claim could not be pushed and deployment records need
    /// not be durable): the caller goes ahead without one.
    Unshared,
}

/// What one look at the claim found.
enum Look {
    Done(Claimed),
    /// Another attempt holds it and has bound nothing yet.
    Live(DeploymentClaim),
}

/// What binding a key to the first free of some deployments did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Binding {
    /// The key now names this deployment (or already did).
    Bound(u64),
    /// The key names another deployment, bound by another attempt.
    Taken(u64),
    /// Every candidate is owned by another key.
    NoneFree,
}

/// What a deployment-id file holds: the key that owns the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IdRecord {
    key: String,
}

fn parse_time(path: &str, what: &str, text: &str) -> Result<jiff::Timestamp> {
    text.parse().map_err(|e| Error::Corrupt {
        path: format!("relman/state:{path}").into(),
        line: None,
        message: format!("{what}: {e}"),
    })
}

fn skewed(t: jiff::Timestamp) -> jiff::Timestamp {
    let skew = jiff::SignedDuration::try_from(CLOCK_SKEW).unwrap_or_default();
    t.checked_sub(skew).unwrap_or(t)
}

impl GitLab {
    pub(super) fn claim_path(&self, key: &str) -> String {
        format!(
            "claims/gitlab/{}/deployment/{}.json",
            file_name(&self.project),
            file_name(key)
        )
    }

    fn id_path(&self, id: u64) -> String {
        format!(
            "keys/gitlab/{}/deployment-id/{id}.json",
            file_name(&self.project)
        )
    }

    /// Whether some key owns deployment `id` on the state branch.
    pub(super) fn owned(&self, id: u64) -> Result<bool> {
        match &self.audit {
            Some(store) => Ok(store.snapshot()?.read(&self.id_path(id))?.is_some()),
            None => Ok(false),
        }
    }

    /// Claims `spec`'s key on `store`, waiting out a live claim held by another attempt.
    pub(super) fn claim_deployment(
        &self,
        store: &StateStore,
        spec: &DeploymentSpec,
    ) -> Result<Claimed> {
        let holder = format!("{:016x}", Jitter::new().next_u64());
        // The claim being waited out: its holder, how long it had left when first seen, and
        // how long this attempt has waited since. Counted in waits made, not read from the
        // clock, so that the wait is bounded whatever the clocks say.
        let mut waiting: Option<(String, Duration, Duration)> = None;
        let mut fresh = false;
        loop {
            let expired = waiting
                .as_ref()
                .filter(|(_, left, waited)| waited >= left)
                .map(|(h, ..)| h.clone());
            let look = self.look_at_claim(store, spec, &holder, expired.as_deref(), fresh);
            let live = match look {
                Ok(Look::Done(claimed)) => return Ok(claimed),
                Ok(Look::Live(live)) => live,
                Err(Error::NotRecorded { why, .. }) => {
                    tracing::warn!(
                        "gitlab: the deployment key could not be claimed on the state branch \
                         ({why}); creating unshared: a retried job may not find this deployment"
                    );
                    return Ok(Claimed::Unshared);
                }
                Err(e) => return Err(e),
            };
            match &waiting {
                Some((h, ..)) if *h == live.holder => {}
                _ => {
                    let path = self.claim_path(&spec.idempotency_key);
                    let since = parse_time(&path, "held_since", &live.held_since)?;
                    let ttl = jiff::SignedDuration::try_from(CLAIM_TTL).unwrap_or_default();
                    let left = since
                        .checked_add(ttl)
                        .unwrap_or(since)
                        .duration_since(jiff::Timestamp::now());
                    let left = Duration::try_from(left).unwrap_or_default().min(CLAIM_TTL);
                    tracing::info!(
                        "gitlab: deployment key `{}` is claimed by another job ({} since {}): \
                         waiting up to {}s for its deployment",
                        spec.idempotency_key,
                        live.requested_by,
                        live.held_since,
                        left.as_secs()
                    );
                    waiting = Some((live.holder.clone(), left, Duration::ZERO));
                    if left.is_zero() {
                        fresh = true;
                        continue;
                    }
                }
            }
            self.http.sleep(WAIT_STEP);
            if let Some((_, _, waited)) = &mut waiting {
                *waited += WAIT_STEP;
            }
            fresh = true;
        }
    }

    /// One compare-and-swap on the claim: the binding if there is one; the claim taken when
    /// free or when it is `expired` (the holder this attempt waited out); else the live claim.
    fn look_at_claim(
        &self,
        store: &StateStore,
        spec: &DeploymentSpec,
        holder: &str,
        expired: Option<&str>,
        fresh: bool,
    ) -> Result<Look> {
        let key = spec.idempotency_key.as_str();
        let key_path = self.key_path("deployment", key);
        let path = self.claim_path(key);
        if fresh {
            // A snapshot is fetched once per process: another job's binding shows only after
            // fetching again (the compare-and-swap below refetches only on a lost race).
            store.refreshed()?;
        }
        let now = jiff::Timestamp::now();
        store.transact(|snapshot| {
            if let Some(bound) = snapshot.read_json::<KeyRecord>(&key_path)? {
                return Ok(Step::Done(Look::Done(Claimed::Bound(bound.id))));
            }
            let existing = snapshot.read_json::<DeploymentClaim>(&path)?;
            let mine = DeploymentClaim {
                environment: spec.environment.clone(),
                sha: spec.sha.clone(),
                git_ref: spec.git_ref.clone(),
                requested_by: spec.creator.clone(),
                claimed_at: now.to_string(),
                held_since: now.to_string(),
                holder: holder.to_string(),
            };
            let (mine, search_from, summary) = match existing {
                None => (mine, None, "gitlab deployment claim"),
                Some(c)
                    if c.environment != spec.environment
                        || c.sha != spec.sha
                        || c.git_ref != spec.git_ref =>
                {
                    return Err(Error::Conflict {
                        backend: "gitlab".into(),
                        message: format!(
                            "idempotency key `{key}` was claimed for a deployment of {} ({}) \
                             to {} ({path} on the state branch)",
                            c.sha, c.git_ref, c.environment
                        ),
                    });
                }
                Some(c)
                    if Some(c.holder.as_str()) == expired || self.outlived(&path, &c, now)? =>
                {
                    tracing::warn!(
                        "gitlab: taking over deployment key `{key}`, claimed by {} at {} and \
                         never bound",
                        c.requested_by,
                        c.claimed_at
                    );
                    let from = parse_time(&path, "claimed_at", &c.claimed_at)?;
                    let taken = DeploymentClaim {
                        claimed_at: c.claimed_at,
                        ..mine
                    };
                    (
                        taken,
                        Some(skewed(from)),
                        "gitlab deployment claim taken over",
                    )
                }
                Some(c) => return Ok(Step::Done(Look::Live(c))),
            };
            let change = Change::new(RecordKind::Deployment, format!("{summary} {key}"))
                .json(path.clone(), &mine)?;
            Ok(Step::Write(
                change,
                Look::Done(Claimed::Ours {
                    holder: holder.to_string(),
                    search_from,
                }),
            ))
        })
    }

    /// Whether `claim` outlived [`CLAIM_TTL`] by the clock.
    fn outlived(&self, path: &str, claim: &DeploymentClaim, now: jiff::Timestamp) -> Result<bool> {
        let since = parse_time(path, "held_since", &claim.held_since)?;
        let ttl = jiff::SignedDuration::try_from(CLAIM_TTL).unwrap_or_default();
        Ok(since.checked_add(ttl).is_ok_and(|end| end <= now))
    }

    /// Binds `key` to the first of `candidates` that no other key owns (in one commit: the
    /// key file, the deployment's id file, and the claim removed). Without a store: the
    /// first candidate.
    pub(super) fn bind_first_free(&self, key: &str, candidates: &[KeyRecord]) -> Result<Binding> {
        let binding = match &self.audit {
            Some(store) => self.bind_on(store, key, candidates)?,
            None => candidates
                .first()
                .map_or(Binding::NoneFree, |c| Binding::Bound(c.id)),
        };
        if let Binding::Bound(id) | Binding::Taken(id) = binding {
            self.remember_deployment(key, id);
        }
        Ok(binding)
    }

    fn bind_on(&self, store: &StateStore, key: &str, candidates: &[KeyRecord]) -> Result<Binding> {
        let key_path = self.key_path("deployment", key);
        let claim_path = self.claim_path(key);
        store.transact(|snapshot| {
            if let Some(bound) = snapshot.read_json::<KeyRecord>(&key_path)? {
                return Ok(Step::Done(if candidates.iter().any(|c| c.id == bound.id) {
                    Binding::Bound(bound.id)
                } else {
                    Binding::Taken(bound.id)
                }));
            }
            for c in candidates {
                let id_path = self.id_path(c.id);
                if snapshot
                    .read_json::<IdRecord>(&id_path)?
                    .is_some_and(|owner| owner.key != key)
                {
                    continue;
                }
                let mut change = Change::new(RecordKind::Deployment, "gitlab deployment key")
                    .json(key_path.clone(), c)?
                    .json(id_path, &IdRecord { key: key.into() })?;
                if snapshot.read(&claim_path)?.is_some() {
                    change.removes.push(claim_path.clone());
                }
                return Ok(Step::Write(change, Binding::Bound(c.id)));
            }
            Ok(Step::Done(Binding::NoneFree))
        })
    }

    /// Gives the claim back after GitLab refused the deployment (nothing was made). Best
    /// effort: a claim left behind is taken over after it expires.
    pub(super) fn release_claim(&self, key: &str, holder: &str) {
        let Some(store) = &self.audit else { return };
        let path = self.claim_path(key);
        let removed = store.transact(|snapshot| {
            let held = snapshot
                .read_json::<DeploymentClaim>(&path)?
                .is_some_and(|c| c.holder == holder);
            if !held {
                return Ok(Step::Done(()));
            }
            let mut change =
                Change::new(RecordKind::Deployment, "gitlab deployment claim released");
            change.removes.push(path.clone());
            Ok(Step::Write(change, ()))
        });
        if let Err(e) = removed {
            tracing::warn!("gitlab: the refused deployment's claim stays ({path}): {e}");
        }
    }
}
