//! One run's context: what every concern reads before it decides anything — the CI runtime,
//! the repository, the configuration (with its text, for located errors), the CI environment,
//! the clock and the forge — built once at the binary's edge ([`RunContext::from_common`]) and
//! passed down to the concern (`relman_gate::run_with(&ctx, args)` and the others).
//!
//! It lives here, not in relman-core, because it holds the forge and relman-core cannot depend
//! on relman-forge; relman-forge is the lowest crate that knows both (every concern already
//! depends on it).
//!
//! Everything after the runtime is resolved on first use and kept: a concern asks in the order
//! it checks its inputs, so its errors come in the same order as before, and a concern that
//! never asks for the forge (`changelog --next-version`, `relman config`) neither opens one nor
//! fails because the one configured cannot be opened.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use relman_core::ci::Runtime;
use relman_core::cli::Common;
use relman_core::config::{self, Config, Source};
use relman_core::error::Result;
use relman_core::git::Repo;

use crate::Forge;

/// How a run reads its CI environment (a variable's value, `None` when unset).
pub type Env = dyn Fn(&str) -> Option<String>;

/// How a run opens its forge from a configuration, the repository root and the environment
/// ([`crate::open`] unless a test stands in).
pub type Opener = dyn Fn(&Config, &Path, &Env) -> Result<Box<dyn Forge>>;

/// What "now" is for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock, read at each use.
    System,
    /// A fixed instant (a test, or a concern's `--now`).
    Fixed(jiff::Timestamp),
}

impl Clock {
    pub fn now(&self) -> jiff::Timestamp {
        match self {
            Clock::System => jiff::Timestamp::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

/// The process environment as relman reads it: a variable set to the empty string is unset
/// (a CI input left empty must not override a default).
pub fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// One run's context; see the module documentation.
pub struct RunContext {
    runtime: Runtime,
    directory: PathBuf,
    config_path: Option<PathBuf>,
    env: Box<Env>,
    clock: Clock,
    opener: Box<Opener>,
    repo: OnceCell<Repo>,
    config: OnceCell<(Config, Source)>,
    forge: OnceCell<Box<dyn Forge>>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("runtime", &self.runtime)
            .field("directory", &self.directory)
            .field("config_path", &self.config_path)
            .field("clock", &self.clock)
            .field("forge_open", &self.forge.get().is_some())
            .finish_non_exhaustive()
    }
}

impl RunContext {
    /// The context every relman binary builds from its common flags: the detected runtime,
    /// the process environment, the system clock, the configured forge. `relman <concern>` and
    /// `relman-<concern>` both call this, so the two run the same way.
    pub fn from_common(common: &Common) -> RunContext {
        RunContext::new(Runtime::detect(), common)
    }

    /// A context for `runtime` and the common flags, with the process environment, the
    /// system clock and the configured forge; the `with_` methods replace them.
    pub fn new(runtime: Runtime, common: &Common) -> RunContext {
        RunContext {
            runtime,
            directory: common.directory.clone(),
            config_path: common.config.clone(),
            env: Box::new(process_env),
            clock: Clock::System,
            opener: Box::new(|cfg: &Config, root: &Path, env: &Env| {
                crate::open(&cfg.forge, &cfg.state, root, env)
            }),
            repo: OnceCell::new(),
            config: OnceCell::new(),
            forge: OnceCell::new(),
        }
    }

    pub fn with_env(mut self, env: impl Fn(&str) -> Option<String> + 'static) -> RunContext {
        self.env = Box::new(env);
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> RunContext {
        self.clock = clock;
        self
    }

    pub fn with_forge_opener(
        mut self,
        opener: impl Fn(&Config, &Path, &Env) -> Result<Box<dyn Forge>> + 'static,
    ) -> RunContext {
        self.opener = Box::new(opener);
        self
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn env(&self) -> &Env {
        &*self.env
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Now, by the run's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// `-C`: the directory the run was started in (the repository is discovered from it).
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// `--config`, as given.
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The repository, discovered from [`Self::directory`] on first use.
    pub fn repo(&self) -> Result<&Repo> {
        if let Some(r) = self.repo.get() {
            return Ok(r);
        }
        let repo = Repo::discover(&self.directory)?;
        Ok(self.repo.get_or_init(|| repo))
    }

    /// The repository's root (its work tree).
    pub fn root(&self) -> Result<PathBuf> {
        Ok(self.repo()?.root())
    }

    /// The configuration: `--config`, else `.relman.yml` at the repository root, else the
    /// defaults; loaded on first use.
    pub fn config(&self) -> Result<&Config> {
        Ok(&self.config_source()?.0)
    }

    /// The configuration and its text (checks made later name its lines and columns).
    pub fn config_source(&self) -> Result<&(Config, Source)> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let loaded = match &self.config_path {
            Some(p) => config::load_source(p)?,
            None => config::load_source_or_default(&self.root()?.join(config::DEFAULT_FILE))?,
        };
        Ok(self.config.get_or_init(|| loaded))
    }

    /// The configured forge, opened on first use and then shared by everything in the run.
    /// An error is returned again on the next call (nothing is kept).
    pub fn forge(&self) -> Result<&dyn Forge> {
        if let Some(f) = self.forge.get() {
            return Ok(f.as_ref());
        }
        let forge = self.open_forge(self.config()?)?;
        Ok(self.forge.get_or_init(|| forge).as_ref())
    }

    /// A forge for another configuration (the gate's dry run swaps in the local store),
    /// opened the way the run opens its own and not kept.
    pub fn open_forge(&self, config: &Config) -> Result<Box<dyn Forge>> {
        (self.opener)(config, &self.root()?, &*self.env)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use relman_core::state::testing::repo;

    fn common(dir: &Path) -> Common {
        Common {
            directory: dir.to_path_buf(),
            config: None,
            verbose: 0,
        }
    }

    #[test]
    fn each_part_is_resolved_once_and_only_when_asked() {
        let tmp = tempfile::tempdir().expect("tmp");
        repo(tmp.path());
        std::fs::write(tmp.path().join(".relman.yml"), "forge: { kind: local }\n").expect("cfg");
        let opened = Rc::new(Cell::new(0));
        let count = opened.clone();
        let ctx = RunContext::new(Runtime::Terminal, &common(tmp.path()))
            .with_env(|_| None)
            .with_forge_opener(move |cfg, root, env| {
                count.set(count.get() + 1);
                crate::open(&cfg.forge, &cfg.state, root, env)
            });
        assert_eq!(opened.get(), 0, "nothing is opened before it is asked for");
        let config = ctx.config().expect("config");
        assert_eq!(config.forge.kind, config::ForgeKind::Local);
        assert!(std::ptr::eq(config, ctx.config().expect("config")));
        assert!(std::ptr::eq(
            ctx.repo().expect("repo"),
            ctx.repo().expect("repo")
        ));
        assert_eq!(opened.get(), 0, "the configuration does not open the forge");
        let first: *const dyn Forge = ctx.forge().expect("forge");
        let second: *const dyn Forge = ctx.forge().expect("forge");
        assert!(std::ptr::addr_eq(first, second), "one forge for the run");
        assert_eq!(opened.get(), 1);
    }

    #[test]
    fn a_forge_that_cannot_be_opened_fails_only_who_asks_for_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        repo(tmp.path());
        // GitLab without a URL or project, and no CI to say which: cannot be opened.
        std::fs::write(tmp.path().join(".relman.yml"), "forge: { kind: gitlab }\n").expect("cfg");
        let ctx = RunContext::new(Runtime::Terminal, &common(tmp.path())).with_env(|_| None);
        assert!(ctx.config().is_ok());
        assert!(ctx.repo().is_ok());
        assert!(ctx.forge().is_err());
        assert!(ctx.forge().is_err(), "the error comes back on every ask");
        assert!(ctx.config().is_ok(), "the rest of the context is unharmed");
    }

    #[test]
    fn a_fixed_clock_stays_fixed() {
        let at: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().expect("ts");
        let tmp = tempfile::tempdir().expect("tmp");
        let ctx =
            RunContext::new(Runtime::Terminal, &common(tmp.path())).with_clock(Clock::Fixed(at));
        assert_eq!(ctx.now(), at);
        assert_eq!(ctx.now(), at);
    }
}
