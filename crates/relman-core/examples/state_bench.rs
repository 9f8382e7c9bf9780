//! Benchmarks of the state branch (run by `bench/state.sh`).
//!
//! - `append REPO N`: N audit appends (one commit each) into REPO's local state branch;
//!   prints the median and mean milliseconds per append.
//! - `fill REPO RECORDS DAYS`: RECORDS gate-like records spread evenly over the DAYS before
//!   now, 1,000 per commit (fast set-up for the query benchmark).
//! - `year REPO PER_DAY DAYS`: PER_DAY records a day for DAYS days, one commit per record,
//!   as a year of gate runs writes them (for clone growth).

use std::path::Path;
use std::time::Instant;

use relman_core::audit::{AuditRecord, Subject};
use relman_core::config::{RecordKind, StateSettings};
use relman_core::state::{Change, Jitter, StateStore, Step, audit_path};

/// The store of `repo`: its local branch, or through the remote named by `STATE_REMOTE`.
fn store(repo: &Path) -> anyhow::Result<StateStore> {
    let settings = StateSettings {
        remote: Some(std::env::var("STATE_REMOTE").unwrap_or_default()),
        ..StateSettings::default()
    };
    Ok(StateStore::open(repo, &settings, &|_: &str| None)?)
}

/// A record shaped like the gate's `gate.evaluate` record.
fn gate_record(i: u64, when: jiff::Timestamp) -> AuditRecord {
    let sha = format!(
        "{:040x}",
        (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    );
    let gates: Vec<_> = ["risk", "checks", "approvals", "junit", "coverage", "window", "rollback"]
        .iter()
        .map(|g| serde_json::json!({ "name": g, "status": if i.is_multiple_of(17) && *g == "checks" { "fail" } else { "pass" } }))
        .collect();
    AuditRecord {
        actor: format!("dev{}", i % 40),
        action: "gate.evaluate".into(),
        when: jiff::Timestamp::from_second(when.as_second()).unwrap_or(when),
        reason: if i.is_multiple_of(17) {
            "no-go: 1 blocking gate failed (checks)".into()
        } else {
            "go: 7 of 7 gates passed".into()
        },
        subject: Subject {
            sha: Some(sha.clone()),
            tag: None,
            environment: Some(
                if i.is_multiple_of(3) {
                    "production"
                } else {
                    "staging"
                }
                .into(),
            ),
        },
        details: serde_json::json!({
            "verdict": if i.is_multiple_of(17) { "no-go" } else { "go" },
            "policy": "production",
            "base": sha[..40].chars().rev().collect::<String>(),
            "risk": "low",
            "gates": gates,
        }),
        run: Some(format!(
            "https://github.com/acme/shop/actions/runs/{}",
            9_000_000_000u64 + i
        )),
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> anyhow::Result<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| anyhow::anyhow!("usage: see the source"))
    };
    let repo = Path::new(arg(1)?);
    match arg(0)? {
        "append" => {
            let n: u64 = arg(2)?.parse()?;
            let s = store(repo)?;
            let mut times = Vec::new();
            for i in 0..n {
                let record = gate_record(i, jiff::Timestamp::now());
                let start = Instant::now();
                s.append_audit(&record)?;
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            println!(
                "appends={n} median_ms={:.2} mean_ms={mean:.2} p95_ms={:.2}",
                times[times.len() / 2],
                times[times.len() * 95 / 100]
            );
        }
        "fill" | "year" => {
            let year = arg(0)? == "year";
            let s = store(repo)?;
            let (total, days): (u64, u64) = if year {
                let per_day: u64 = arg(2)?.parse()?;
                let days: u64 = arg(3)?.parse()?;
                (per_day * days, days)
            } else {
                (arg(2)?.parse()?, arg(3)?.parse()?)
            };
            let now = jiff::Timestamp::now();
            let span = (days * 86_400) as i64;
            let batch = if year { 1 } else { 1000 };
            let mut jitter = Jitter::new();
            let mut i = 0;
            while i < total {
                let mut change = Change::new(RecordKind::Gate, "audit: gate.evaluate");
                for _ in 0..batch.min(total - i) {
                    let offset = span - (i as i64 * span / total as i64);
                    let when = now - jiff::SignedDuration::from_secs(offset);
                    let record = gate_record(i, when);
                    change = change.json(audit_path(&record, when, &mut jitter), &record)?;
                    i += 1;
                }
                s.transact(|_| Ok(Step::Write(change.clone(), ())))?;
            }
            println!("records={total} days={days}");
        }
        other => anyhow::bail!("unknown mode {other}"),
    }
    Ok(())
}
