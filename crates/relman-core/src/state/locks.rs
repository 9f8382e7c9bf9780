//! Environment locks: one file per environment (`locks/<env>.json`), taken with a
//! compare-and-swap of the branch, so that of many racers exactly one holds it.

use serde::{Deserialize, Serialize};

use super::{Change, StateStore, Step, audit_path, file_name};
use crate::audit::{AuditRecord, Subject};
use crate::config::RecordKind;
use crate::error::{Error, Result};

/// A lock on an environment, as kept in `locks/<env>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub environment: String,
    /// Who holds it: a CI run, a person (`promote:run-123`).
    pub holder: String,
    #[serde(deserialize_with = "crate::audit::time")]
    pub acquired_at: jiff::Timestamp,
    /// After this anyone may take it over (and the takeover is audited).
    #[serde(deserialize_with = "crate::audit::time")]
    pub expires_at: jiff::Timestamp,
}

/// What [`StateStore::lock`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// It was free: the caller holds it now.
    Acquired(Lock),
    /// The caller already held it: its expiry is extended.
    Renewed(Lock),
    /// It had expired: the caller holds it now; `previous` is who had it (audited).
    TakenOver { lock: Lock, previous: Lock },
    /// Someone else holds it until `expires_at`: refused.
    Held(Lock),
}

fn lock_path(environment: &str) -> String {
    format!("locks/{}.json", file_name(environment))
}

impl StateStore {
    /// Takes the lock on `environment` for `holder` until `now + ttl`.
    pub fn lock(
        &self,
        environment: &str,
        holder: &str,
        ttl: jiff::SignedDuration,
        now: jiff::Timestamp,
    ) -> Result<LockOutcome> {
        if environment.trim().is_empty() || holder.trim().is_empty() {
            return Err(Error::Usage(
                "a lock needs an environment and a holder".into(),
            ));
        }
        let path = lock_path(environment);
        // Second precision, as records keep times.
        let second = |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second()).unwrap_or(t);
        let expires = now
            .checked_add(ttl)
            .map_err(|e| Error::Usage(format!("lock duration: {e}")))?;
        let mut jitter = super::Jitter::new();
        let takeover = AuditRecord {
            reason: format!("expired lock on {environment} taken over by {holder}"),
            subject: Subject {
                environment: Some(environment.into()),
                ..Subject::default()
            },
            when: second(now),
            ..AuditRecord::now(holder, "lock.takeover")
        };
        let takeover_path = audit_path(&takeover, now, &mut jitter);
        self.transact(|snapshot| {
            let mine = Lock {
                environment: environment.into(),
                holder: holder.into(),
                acquired_at: second(now),
                expires_at: second(expires),
            };
            let change = Change::new(RecordKind::Lock, format!("lock {environment}"));
            let existing: Option<Lock> = snapshot.read_json(&path)?;
            let Some(existing) = existing else {
                let change = change.json(&path, &mine)?;
                return Ok(Step::Write(change, LockOutcome::Acquired(mine)));
            };
            if existing.holder == holder {
                let renewed = Lock {
                    acquired_at: existing.acquired_at,
                    ..mine
                };
                let change = change.json(&path, &renewed)?;
                return Ok(Step::Write(change, LockOutcome::Renewed(renewed)));
            }
            // An expiry that does not read failed `read_json` (Corrupt, naming the file).
            if existing.expires_at > now {
                return Ok(Step::Done(LockOutcome::Held(existing)));
            }
            let mut record = takeover.clone();
            record.details = serde_json::json!({ "previous": existing });
            let change = change
                .json(&path, &mine)?
                .json(takeover_path.clone(), &record)?;
            Ok(Step::Write(
                change,
                LockOutcome::TakenOver {
                    lock: mine,
                    previous: existing,
                },
            ))
        })
    }

    /// Releases `holder`'s lock on `environment`; `false` when it did not hold it.
    pub fn unlock(&self, environment: &str, holder: &str) -> Result<bool> {
        let path = lock_path(environment);
        self.transact(|snapshot| {
            let existing: Option<Lock> = snapshot.read_json(&path)?;
            match existing {
                Some(lock) if lock.holder == holder => {
                    let mut change = Change::new(RecordKind::Lock, format!("unlock {environment}"));
                    change.removes.push(path.clone());
                    Ok(Step::Write(change, true))
                }
                _ => Ok(Step::Done(false)),
            }
        })
    }

    /// The lock on `environment`, if any (expired or not).
    pub fn current_lock(&self, environment: &str) -> Result<Option<Lock>> {
        self.snapshot()?.read_json(&lock_path(environment))
    }
}
