//! The `window` gate: inside an allowed window, outside every freeze, or overridden.
//!
//! Periods are calendars in a time zone (cron pairs like GitLab freeze periods, or date
//! ranges), so "Friday 18:00 to Monday 08:00 in Berlin" means that wall-clock time on both
//! sides of a DST change. The forge's freeze periods are read only when asked, and a forge
//! that cannot list them fails the gate: no data is never read as "no freeze".

mod cron;
mod period;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use relman_core::Error;
use relman_core::config;
use serde_json::json;

use crate::{Context, Finding, Status};
use period::{Compiled, State};

/// Evaluates the gate at `cx.now`.
pub fn evaluate(spec: &config::WindowGate, cx: &Context) -> Result<Finding, Error> {
    let (allowed, mut freezes) = compile(spec)?;
    // Some(reason) when the forge's freezes could not be read: the gate cannot pass on them.
    let mut forge_blind = None;
    if spec.forge_freezes && !cx.forge.capabilities().freeze_periods {
        forge_blind = Some(format!(
            "{}: cannot tell whether a deploy freeze is active; set `forge_freezes: false` to \
             rely on this gate's own periods",
            relman_forge::lacks(cx.forge.name(), relman_forge::Capability::FreezePeriods)
        ));
    } else if spec.forge_freezes {
        match cx.forge.freeze_periods() {
            Ok(list) => {
                for (i, f) in list.iter().enumerate() {
                    freezes.push(Compiled::from_forge(f, i, cx.forge.name())?);
                }
            }
            Err(e @ Error::Unsupported { .. }) => {
                forge_blind = Some(format!(
                    "{e}: cannot tell whether a deploy freeze is active; set `forge_freezes: \
                     false` to rely on this gate's own periods"
                ));
            }
            // A transient failure is reported as one (exit 3, retryable), except in an
            // emergency, which must not wait for the forge to come back.
            Err(e) if cx.override_reason.is_none() => return Err(e),
            Err(e) => forge_blind = Some(format!("freeze periods unreadable: {e}")),
        }
    }
    let verdict = judge(&allowed, &freezes, cx.now, forge_blind);
    Ok(finish(
        verdict,
        cx.override_reason.as_deref(),
        spec.forge_freezes,
        cx.forge.name(),
    ))
}

/// The gate's settings check: its periods compile (also run by `relman config check`).
pub(crate) fn check(spec: &config::WindowGate) -> Result<(), Error> {
    compile(spec).map(|_| ())
}

/// The gate's own periods, compiled: time zones resolved, crons and dates parsed.
fn compile(spec: &config::WindowGate) -> Result<(Vec<Compiled>, Vec<Compiled>), Error> {
    period::zone(&spec.timezone, "window.timezone")?;
    let compile = |list: &[config::Period], field: &str| -> Result<Vec<Compiled>, Error> {
        list.iter()
            .enumerate()
            .map(|(i, p)| Compiled::from_config(p, &format!("window.{field}[{i}]"), &spec.timezone))
            .collect()
    };
    Ok((
        compile(&spec.allowed, "allowed")?,
        compile(&spec.freezes, "freezes")?,
    ))
}

struct Verdict {
    ok: bool,
    reason: String,
    evidence: Vec<String>,
    in_window: bool,
    frozen: bool,
    active: Vec<String>,
    next_change: Option<Timestamp>,
}

fn judge(
    allowed: &[Compiled],
    freezes: &[Compiled],
    now: Timestamp,
    forge_blind: Option<String>,
) -> Verdict {
    let states = |list: &[Compiled]| -> Vec<State> { list.iter().map(|p| p.state(now)).collect() };
    let allowed_states = states(allowed);
    let freeze_states = states(freezes);
    let mut evidence = Vec::new();
    let mut active = Vec::new();
    let mut next_change: Option<Timestamp> = None;
    let mut soonest = |t: Option<Timestamp>| {
        if let Some(t) = t {
            next_change = Some(next_change.map_or(t, |n| n.min(t)));
        }
    };

    let open: Vec<usize> = (0..allowed.len())
        .filter(|&i| allowed_states[i].active)
        .collect();
    let in_window = allowed.is_empty() || !open.is_empty();
    for &i in &open {
        let (p, s) = (&allowed[i], allowed_states[i]);
        active.push(p.name.clone());
        evidence.push(format!("window `{}` open {}", p.name, span(p, s)));
    }
    if !in_window {
        for (p, s) in allowed.iter().zip(&allowed_states) {
            let next = s
                .next_change
                .map(|t| format!(", opens {}", p.show(t)))
                .unwrap_or_default();
            evidence.push(format!(
                "window `{}` closed ({}){next}",
                p.name,
                p.describe()
            ));
        }
    }
    allowed_states.iter().for_each(|s| soonest(s.next_change));

    let mut frozen_by = Vec::new();
    for (p, s) in freezes.iter().zip(&freeze_states) {
        soonest(s.next_change);
        if s.active {
            active.push(p.name.clone());
            frozen_by.push(format!("`{}`{}", p.name, until(p, *s)));
            evidence.push(format!(
                "freeze `{}` active {} ({})",
                p.name,
                span(p, *s),
                p.describe()
            ));
        }
    }
    let frozen = !frozen_by.is_empty();

    let mut problems = Vec::new();
    if frozen {
        problems.push(format!("frozen: {}", frozen_by.join(", ")));
    }
    if !in_window {
        // The range and the time it was judged at, in the window's own zone: "outside Mon–Fri
        // 09:00–17:00 Europe/Berlin; now Sat 10:12" says what to wait for without the config.
        let names: Vec<String> = allowed
            .iter()
            .map(|p| format!("`{}` ({})", p.name, p.describe()))
            .collect();
        let noun = if allowed.len() == 1 {
            "window"
        } else {
            "windows"
        };
        problems.push(format!(
            "outside the release {noun} {}; now {}",
            names.join(", "),
            allowed[0].show_now(now)
        ));
    }
    if let Some(b) = &forge_blind {
        problems.push(b.clone());
        evidence.push(b.clone());
    }
    let ok = problems.is_empty();
    let reason = if ok {
        match open.first() {
            Some(&i) => format!(
                "inside release window `{}`, no freeze active",
                allowed[i].name
            ),
            None => "no freeze active".to_string(),
        }
    } else {
        problems.join("; ")
    };
    Verdict {
        ok,
        reason,
        evidence,
        in_window,
        frozen,
        active,
        next_change,
    }
}

fn until(p: &Compiled, s: State) -> String {
    s.next_change
        .map(|t| format!(" until {}", p.show(t)))
        .unwrap_or_default()
}

fn span(p: &Compiled, s: State) -> String {
    let since = s.since.map(|t| format!("since {}", p.show(t)));
    let to = s.next_change.map(|t| format!("until {}", p.show(t)));
    match (since, to) {
        (Some(a), Some(b)) => format!("{a}, {b}"),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => "with no end".to_string(),
    }
}

fn finish(v: Verdict, override_reason: Option<&str>, forge_freezes: bool, forge: &str) -> Finding {
    let overridden = !v.ok && override_reason.is_some();
    let mut f = match override_reason {
        Some(r) if !v.ok => Finding::new(
            Status::Pass,
            format!("overridden: {r} (would have failed: {})", v.reason),
        ),
        _ => Finding::new(if v.ok { Status::Pass } else { Status::Fail }, v.reason),
    };
    f.evidence = v.evidence;
    let mut facts = json!({
        "in_window": v.in_window,
        "frozen": v.frozen,
        "active": v.active,
        "overridden": overridden,
    });
    if let Some(t) = v.next_change {
        facts["next_change"] = json!(t.to_string());
    }
    if let Some(r) = override_reason {
        facts["reason"] = json!(r);
    }
    f.facts = facts;
    if forge_freezes {
        f.explain
            .push(format!("read deploy freeze periods from the {forge} forge"));
    }
    f
}
