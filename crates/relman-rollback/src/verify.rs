//! Verification after a rollback: is the service healthy again?
//!
//! Once the dispatched run succeeded, the environment's `verify:` probes run — the same HTTP
//! health checks and Prometheus queries as the gate's `monitoring` readiness
//! (`relman_probe`). A service that was just redeployed takes a while to come back (pods
//! restart, a load balancer re-admits them, a `rate(…[5m])` still holds the bad minutes), so
//! the probes run in *rounds*: every check, concurrently; a round in which every check passes
//! verifies the rollback; otherwise the next round starts `every` later, until `within` has
//! passed since the first. The last round's evidence is what is reported. A probe that cannot
//! tell (unreachable, timed out, malformed, no data where data is required) fails its round,
//! so a verification that never gets an answer fails: fail closed.
//!
//! The pause between rounds goes through the rollback's [`Clock`]; the probes themselves run
//! for real (each bounded by its `timeout_seconds`), so the longest verification is `within`
//! plus one round's slowest timeout.

use std::io::Write;
use std::time::Duration;

use relman_core::Error;
use relman_core::config::{HttpCheck, PrometheusCheck, RollbackVerify, rollback_duration};
use relman_probe::Outcomes;
use serde::Serialize;

use crate::follow::Clock;

/// The environment's verification, its durations read.
#[derive(Debug, Clone)]
pub struct Verify {
    pub http: Vec<HttpCheck>,
    pub prometheus: Vec<PrometheusCheck>,
    pub within: Duration,
    pub every: Duration,
}

impl Verify {
    /// From the settings under `key` (`rollback.environments.<env>.verify`).
    pub fn from_config(key: &str, v: &RollbackVerify) -> Result<Verify, Error> {
        let duration = |k: &str, text: &str| {
            rollback_duration(text).map_err(|m| Error::Usage(format!("{key}.{k}: {m}")))
        };
        Ok(Verify {
            http: v.http.clone(),
            prometheus: v.prometheus.clone(),
            within: duration("within", &v.within)?,
            every: duration("every", &v.every)?.max(Duration::from_millis(1)),
        })
    }

    /// What it will check, one line each, and how long it may try (for dry runs and reports).
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .http
            .iter()
            .map(relman_probe::describe_http)
            .chain(
                self.prometheus
                    .iter()
                    .map(relman_probe::describe_prometheus),
            )
            .collect();
        out.push(format!(
            "every check passing in one round, a round every {} for up to {}",
            secs(self.every),
            secs(self.within)
        ));
        out
    }

    /// One round of every check, now.
    pub fn round(&self) -> Outcomes {
        relman_probe::run(&self.http, &self.prometheus, jiff::Timestamp::now())
    }

    fn count(&self) -> usize {
        self.http.len() + self.prometheus.len()
    }
}

/// How a verification went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub passed: bool,
    /// Rounds run.
    pub rounds: u32,
    /// One line: what passed, or what failed and for how long it was tried.
    pub summary: String,
    /// The last round's evidence, one line per check (URLs redacted).
    pub evidence: Vec<String>,
    /// The last round's facts (`{http: […], prometheus: […]}`).
    pub facts: serde_json::Value,
}

/// Runs rounds of every check until one passes or `within` has passed; a progress line per
/// round to `progress`.
pub fn verify(
    v: &Verify,
    round: &dyn Fn(&Verify) -> Outcomes,
    clock: &dyn Clock,
    progress: &mut dyn Write,
) -> Verification {
    let start = clock.elapsed();
    let total = v.count();
    let mut rounds = 0u32;
    loop {
        rounds += 1;
        let outcomes = round(v);
        let waited = clock.elapsed().saturating_sub(start);
        let failed = outcomes.failed();
        let done = |passed: bool, summary: String| Verification {
            passed,
            rounds,
            summary,
            evidence: outcomes.all().map(|o| o.evidence.clone()).collect(),
            facts: outcomes.facts(),
        };
        if outcomes.passed() {
            let summary = format!(
                "{total} {} passed (round {rounds}, after {})",
                plural(total),
                secs(waited)
            );
            let _ = writeln!(progress, "rollback: verified: {summary}");
            return done(true, summary);
        }
        // No outcome at all (nothing configured) is not a pass: `passed()` said so.
        let first = failed
            .first()
            .map_or_else(|| "no check ran".to_string(), |o| o.evidence.clone());
        let failing = format!(
            "{} of {total} {} failed: {first}",
            failed.len(),
            plural(total)
        );
        if waited >= v.within {
            let summary = format!(
                "{failing} (still failing after {rounds} {} over {})",
                if rounds == 1 { "round" } else { "rounds" },
                secs(waited)
            );
            let _ = writeln!(progress, "rollback: verification failed: {summary}");
            return done(false, summary);
        }
        let pause = v.every.min(v.within - waited);
        let _ = writeln!(
            progress,
            "rollback: verify round {rounds}: {failing}; next round in {} ({} of {})",
            secs(pause),
            secs(waited),
            secs(v.within)
        );
        clock.sleep(pause.max(Duration::from_millis(1)));
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "check" } else { "checks" }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests;
