//! Test doubles: a forge over the local store (real deployments, dispatch records and audit
//! on a state branch) that counts dispatches and answers run statuses, deploy jobs and
//! validations as a test scripts them.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relman_core::config::StateSettings;
use relman_core::state::StateStore;
use relman_forge::*;

use crate::follow::Clock;

/// The forge double.
#[derive(Debug)]
pub struct Double {
    pub local: LocalStore,
    /// `dispatch` calls, shared between the doubles of racing jobs.
    pub dispatches: Arc<AtomicUsize>,
    /// Run states answered in turn; the last one repeats.
    pub states: Mutex<VecDeque<RunState>>,
    pub job: Option<DeployJob>,
    pub check: Option<DispatchCheck>,
    /// A pause inside `dispatch` (to make racers overlap).
    pub dispatch_delay: Duration,
    /// Whether it says it can follow runs (it answers them either way).
    pub can_follow: bool,
    /// Answers a dispatch without the run's id and link, as GitHub does (`204`); following
    /// it then finds run `1000 + id`.
    pub run_id_unknown: bool,
}

impl Double {
    pub fn new(state: Arc<StateStore>, dispatches: Arc<AtomicUsize>) -> Self {
        Double {
            local: LocalStore::new(state),
            dispatches,
            states: Mutex::new(VecDeque::from([RunState::Running, RunState::Succeeded])),
            job: None,
            check: None,
            dispatch_delay: Duration::ZERO,
            can_follow: true,
            run_id_unknown: false,
        }
    }

    pub fn with_states(self, states: &[RunState]) -> Self {
        *self.states.lock().expect("lock") = states.iter().copied().collect();
        self
    }

    pub fn count(&self) -> usize {
        self.dispatches.load(Ordering::SeqCst)
    }
}

impl Forge for Double {
    fn name(&self) -> &str {
        "double"
    }
    /// Every dispatch kind and following; validation only when a check is scripted.
    fn capabilities(&self) -> Capabilities {
        use Capability::*;
        let mut c = Capabilities::of(&[
            Releases,
            Deployments,
            DeploymentPayloads,
            DeploymentStatusHistory,
            DeploymentEvents,
            DeployJobs,
            DispatchRuns,
            RepositoryDispatch,
            JobReplay,
            Audit,
        ]);
        c.follow_runs = self.can_follow;
        c.validate_dispatch = self.check.is_some();
        c
    }
    relman_forge::delegate_forge_methods!(local => releases, audit, fn deployments,
        fn set_deployment_status, fn last_successful_deployment);
    fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        self.dispatches.fetch_add(1, Ordering::SeqCst);
        self.local.create_deployment(spec)
    }
    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        self.dispatches.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.dispatch_delay);
        let mut made = self.local.dispatch(spec)?;
        made.value.run_url = Some(format!("https://ci.example/runs/{}", made.value.id));
        if self.run_id_unknown {
            made.value.id = 0;
            made.value.run_url = None;
        }
        Ok(made)
    }
    fn run_status(&self, record: &DispatchRecord) -> Result<RunStatus> {
        let mut states = self.states.lock().expect("lock");
        let state = if states.len() > 1 {
            states.pop_front()
        } else {
            states.front().copied()
        }
        .unwrap_or(RunState::Running);
        let (id, url) = match record.id {
            0 => (1000, Some("https://ci.example/runs/1000".to_string())),
            id => (id, record.run_url.clone()),
        };
        Ok(RunStatus {
            state,
            id: Some(id),
            url,
            detail: format!("run {state}"),
        })
    }
    fn deploy_job(&self, _: &Deployment) -> Result<Option<DeployJob>> {
        Ok(self.job.clone())
    }
    fn validate_dispatch(&self, _: &DispatchSpec) -> Result<DispatchCheck> {
        self.check
            .clone()
            .ok_or_else(|| self.unsupported("validating a dispatch"))
    }
}

/// A clock that moves only when slept on (and then, with `real`, also waits that long for
/// real: for a test whose other thread must get a turn).
#[derive(Debug, Default)]
pub struct FakeClock {
    pub now: Mutex<Duration>,
    pub real: Duration,
}

impl Clock for FakeClock {
    fn elapsed(&self) -> Duration {
        *self.now.lock().expect("lock")
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(self.real);
        *self.now.lock().expect("lock") += d;
    }
}

/// A bare origin and `n` clones of it (CI jobs), each with its state store.
pub fn jobs(base: &Path, n: usize) -> (PathBuf, Vec<(PathBuf, Arc<StateStore>)>) {
    let (origin, clones) = relman_core::state::testing::origin_and_clones(base, n);
    let jobs = clones
        .into_iter()
        .map(|dir| {
            let store = StateStore::open(&dir, &StateSettings::default(), &|_: &str| None)
                .expect("state store");
            (dir, Arc::new(store))
        })
        .collect();
    (origin, jobs)
}

/// A deployment of `sha` to `environment` that went through `states`; its id.
pub fn deployed(
    forge: &dyn Forge,
    environment: &str,
    sha: &str,
    git_ref: &str,
    states: &[DeploymentState],
) -> u64 {
    let id = forge
        .create_deployment(&DeploymentSpec {
            environment: environment.into(),
            sha: sha.into(),
            git_ref: git_ref.into(),
            creator: "ci".into(),
            idempotency_key: format!("deploy:{environment}:{sha}:{git_ref}"),
            payload: serde_json::Value::Null,
        })
        .expect("deployment")
        .value
        .id;
    for s in states {
        forge.set_deployment_status(id, *s, "").expect("status");
    }
    id
}
