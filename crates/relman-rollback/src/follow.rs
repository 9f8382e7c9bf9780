//! Watching a dispatched rollback to the end: poll until it finishes or the timeout passes.
//!
//! The clock and the sleep are a [`Clock`], so tests follow a thirty-minute run in no time. A
//! progress line goes to `progress` (stderr through `relman_core::cli::stderr()` in the
//! binary) at most every [`PROGRESS_EVERY`], and whenever the state changes.

use std::io::Write;
use std::time::Duration;

use relman_core::Error;
use relman_forge::{RunState, RunStatus};

/// Least time between two progress lines while the state does not change.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Time, and waiting.
pub trait Clock {
    /// Time since an arbitrary start.
    fn elapsed(&self) -> Duration;
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock(std::time::Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(std::time::Instant::now())
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// How a followed run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// It finished (succeeded, failed or cancelled).
    Finished(RunStatus),
    /// Still not finished after the timeout; the last status seen.
    TimedOut(RunStatus),
}

impl Followed {
    /// The outcome as reports and outputs name it.
    pub fn outcome(&self) -> &'static str {
        match self {
            Followed::Finished(s) => match s.state {
                RunState::Succeeded => "succeeded",
                RunState::Cancelled => "cancelled",
                _ => "failed",
            },
            Followed::TimedOut(_) => "timed-out",
        }
    }

    pub fn status(&self) -> &RunStatus {
        match self {
            Followed::Finished(s) | Followed::TimedOut(s) => s,
        }
    }

    pub fn succeeded(&self) -> bool {
        matches!(self, Followed::Finished(s) if s.state == RunState::Succeeded)
    }
}

/// Polls `status` every `poll` until the run finishes or `timeout` passes. An error from the
/// forge ends the watch with that error: "cannot tell" is not success.
pub fn follow(
    what: &str,
    status: &mut dyn FnMut() -> Result<RunStatus, Error>,
    poll: Duration,
    timeout: Duration,
    clock: &dyn Clock,
    progress: &mut dyn Write,
) -> Result<Followed, Error> {
    let start = clock.elapsed();
    let mut last_line: Option<(Duration, RunState)> = None;
    loop {
        let s = status()?;
        let waited = clock.elapsed().saturating_sub(start);
        if s.state.is_finished() {
            let _ = writeln!(
                progress,
                "rollback: {what} {} after {}",
                s.state,
                secs(waited)
            );
            return Ok(Followed::Finished(s));
        }
        let due = match last_line {
            None => true,
            Some((at, state)) => state != s.state || waited.saturating_sub(at) >= PROGRESS_EVERY,
        };
        if due {
            let _ = writeln!(
                progress,
                "rollback: {what} {} ({} of {}){}",
                s.state,
                secs(waited),
                secs(timeout),
                s.url
                    .as_deref()
                    .map(|u| format!(": {u}"))
                    .unwrap_or_default()
            );
            last_line = Some((waited, s.state));
        }
        if waited >= timeout {
            return Ok(Followed::TimedOut(s));
        }
        clock.sleep(poll.min(timeout - waited).max(Duration::from_millis(1)));
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A clock that moves only when slept on.
    #[derive(Default)]
    struct Fake(Cell<Duration>);

    impl Clock for Fake {
        fn elapsed(&self) -> Duration {
            self.0.get()
        }
        fn sleep(&self, d: Duration) {
            self.0.set(self.0.get() + d);
        }
    }

    fn status(state: RunState) -> RunStatus {
        RunStatus {
            state,
            id: Some(7),
            url: Some("https://ci.example/runs/7".into()),
            detail: String::new(),
        }
    }

    #[test]
    fn follows_until_finished_with_progress_lines() {
        let clock = Fake::default();
        let mut polls = 0;
        let mut next = || {
            polls += 1;
            Ok(status(match polls {
                1..=2 => RunState::Pending,
                3..=12 => RunState::Running,
                _ => RunState::Succeeded,
            }))
        };
        let mut out = Vec::new();
        let f = follow(
            "run 7",
            &mut next,
            Duration::from_secs(2),
            Duration::from_secs(600),
            &clock,
            &mut out,
        )
        .expect("followed");
        assert!(f.succeeded(), "{f:?}");
        assert_eq!(clock.elapsed(), Duration::from_secs(24), "12 pauses of 2s");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        // A line at the start, at each change, then at most every 5 s; the end.
        assert_eq!(
            lines.first(),
            Some(&"rollback: run 7 pending (0s of 10m00s): https://ci.example/runs/7")
        );
        assert!(
            lines.contains(&"rollback: run 7 running (4s of 10m00s): https://ci.example/runs/7"),
            "{text}"
        );
        assert_eq!(lines.last(), Some(&"rollback: run 7 succeeded after 24s"));
        assert!(lines.len() < 12, "not one line per poll: {text}");
    }

    #[test]
    fn a_run_that_never_finishes_times_out_and_an_error_stops_the_watch() {
        let clock = Fake::default();
        let mut polls = 0;
        let mut running = || {
            polls += 1;
            Ok(status(RunState::Running))
        };
        let f = follow(
            "run 7",
            &mut running,
            Duration::from_secs(10),
            Duration::from_secs(60),
            &clock,
            &mut Vec::new(),
        )
        .expect("followed");
        assert_eq!(f.outcome(), "timed-out");
        assert_eq!(clock.elapsed(), Duration::from_secs(60));
        assert_eq!(polls, 7);

        let mut failing = || {
            Err(relman_core::error::ForgeError::new(
                "github",
                "GET /repos/o/r/actions/runs/7",
                relman_core::error::ForgeErrorKind::Status { status: 502 },
                "GET /repos/o/r/actions/runs/7: 502 Bad Gateway",
            )
            .into())
        };
        let err = follow(
            "run 7",
            &mut failing,
            Duration::from_secs(10),
            Duration::from_secs(60),
            &clock,
            &mut Vec::new(),
        )
        .expect_err("the watch stops");
        // The forge's own error, kind kept: a caller can still tell it is transient.
        assert!(
            matches!(&err, Error::Api(e) if e.status() == Some(502) && e.is_transient()),
            "{err:?}"
        );
        for (state, outcome) in [
            (RunState::Failed, "failed"),
            (RunState::Cancelled, "cancelled"),
        ] {
            let f = Followed::Finished(status(state));
            assert_eq!(f.outcome(), outcome);
            assert!(!f.succeeded());
        }
    }
}
