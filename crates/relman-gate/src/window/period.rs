//! A calendar period compiled once: its time zone resolved, its cron or dates parsed.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use relman_core::Error;
use relman_core::config::Period;
use relman_forge::FreezePeriod;

use super::cron::{Cron, instant};

/// When a period is active.
#[derive(Debug, Clone)]
pub(super) enum When {
    /// From each `start` fire time to the next `end` fire time (GitLab freeze periods).
    Cron {
        start: Cron,
        end: Cron,
        text: (String, String),
    },
    /// `from` (inclusive) to `to` (exclusive); an absent bound is open.
    Range {
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Compiled {
    pub name: String,
    pub tz: TimeZone,
    pub tz_name: String,
    pub when: When,
}

/// A period at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct State {
    pub active: bool,
    /// When it became active (if it is).
    pub since: Option<Timestamp>,
    /// When its state changes next: its end if active, its next start if not.
    pub next_change: Option<Timestamp>,
}

pub(super) fn zone(name: &str, key: &str) -> Result<TimeZone, Error> {
    TimeZone::get(name).map_err(|e| Error::Usage(format!("{key}: unknown time zone {name:?}: {e}")))
}

impl Compiled {
    /// `key` names the period in errors, e.g. `window.freezes[1]`.
    pub(super) fn from_config(p: &Period, key: &str, default_tz: &str) -> Result<Self, Error> {
        let tz_name = p.timezone.clone().unwrap_or_else(|| default_tz.to_string());
        let tz_key = if p.timezone.is_some() {
            format!("{key}.timezone")
        } else {
            "window.timezone".to_string()
        };
        let tz = zone(&tz_name, &tz_key)?;
        let usage = |field: &str, m: String| Error::Usage(format!("{key}.{field}: {m}"));
        let is_cron = p.cron_start.is_some() || p.cron_end.is_some();
        let is_range = p.from.is_some() || p.to.is_some();
        let when = match (&p.cron_start, &p.cron_end) {
            _ if is_cron && is_range => {
                return Err(Error::Usage(format!(
                    "{key}: set either cron_start/cron_end or from/to, not both"
                )));
            }
            (Some(s), Some(e)) => When::Cron {
                start: Cron::parse(s).map_err(|m| usage("cron_start", m))?,
                end: Cron::parse(e).map_err(|m| usage("cron_end", m))?,
                text: (s.clone(), e.clone()),
            },
            (Some(_), None) => return Err(usage("cron_end", "missing (cron_start is set)".into())),
            (None, Some(_)) => return Err(usage("cron_start", "missing (cron_end is set)".into())),
            (None, None) => {
                let bound = |field: &str, v: &Option<String>| {
                    v.as_deref()
                        .map(|s| civil(s, &tz).map_err(|m| usage(field, m)))
                        .transpose()
                };
                let from = bound("from", &p.from)?;
                let to = bound("to", &p.to)?;
                if from.is_none() && to.is_none() {
                    return Err(Error::Usage(format!(
                        "{key}: a period needs cron_start and cron_end, or from and/or to"
                    )));
                }
                if let (Some(f), Some(t)) = (from, to)
                    && f >= t
                {
                    return Err(usage("to", "must be after `from`".into()));
                }
                When::Range { from, to }
            }
        };
        let name = if p.name.is_empty() {
            key.trim_start_matches("window.").to_string()
        } else {
            p.name.clone()
        };
        Ok(Compiled {
            name,
            tz,
            tz_name,
            when,
        })
    }

    /// A forge freeze period, named by position. One relman cannot read (a time zone or cron
    /// it does not know) is the project's settings on the forge, as the gate's own periods
    /// are the configuration's: bad input (exit 2) that asking again will not fix.
    pub(super) fn from_forge(f: &FreezePeriod, i: usize, backend: &str) -> Result<Self, Error> {
        let bad = |m: String| Error::Usage(format!("{backend}: freeze period {}: {m}", i + 1));
        let tz = TimeZone::get(&f.timezone)
            .map_err(|e| bad(format!("unknown time zone {:?}: {e}", f.timezone)))?;
        Ok(Compiled {
            name: format!("{backend} freeze period {}", i + 1),
            tz,
            tz_name: f.timezone.clone(),
            when: When::Cron {
                start: Cron::parse(&f.cron_start).map_err(|m| bad(format!("cron_start: {m}")))?,
                end: Cron::parse(&f.cron_end).map_err(|m| bad(format!("cron_end: {m}")))?,
                text: (f.cron_start.clone(), f.cron_end.clone()),
            },
        })
    }

    pub(super) fn state(&self, now: Timestamp) -> State {
        match &self.when {
            When::Cron { start, end, .. } => {
                let started = start.previous(now, &self.tz);
                let ended = end.previous(now, &self.tz);
                // GitLab: active when the last start is later than the last end.
                let active = match (started, ended) {
                    (Some(s), Some(e)) => s > e,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                let next_change = if active {
                    end.next(now, &self.tz)
                } else {
                    start.next(now, &self.tz)
                };
                State {
                    active,
                    since: started.filter(|_| active),
                    next_change,
                }
            }
            When::Range { from, to } => {
                let active = from.is_none_or(|f| f <= now) && to.is_none_or(|t| now < t);
                let next_change = if active {
                    *to
                } else {
                    from.filter(|f| *f > now)
                };
                State {
                    active,
                    since: if active { *from } else { None },
                    next_change,
                }
            }
        }
    }

    /// `0 18 * * 5 → 0 8 * * 1 (Europe/Berlin)` or `2026-12-20 18:00 → 2027-01-04 00:00 (UTC)`.
    pub(super) fn describe(&self) -> String {
        let bound = |t: &Option<Timestamp>| match t {
            Some(t) => self.show(*t),
            None => "…".to_string(),
        };
        match &self.when {
            When::Cron { text, .. } => match weekly(&text.0, &text.1) {
                Some(plain) => format!("{plain} {}", self.tz_name),
                None => format!("`{}` → `{}` ({})", text.0, text.1, self.tz_name),
            },
            When::Range { from, to } => format!("{} → {}", bound(from), bound(to)),
        }
    }

    /// An instant in the period's zone with its weekday, for "now": `Sat 2026-06-06 10:12 CEST`.
    pub(super) fn show_now(&self, t: Timestamp) -> String {
        t.to_zoned(self.tz.clone())
            .strftime("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// An instant in the period's zone, as people read it: `2026-03-30 08:00 CEST`.
    pub(super) fn show(&self, t: Timestamp) -> String {
        t.to_zoned(self.tz.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

/// A weekly cron pair as people write it: `0 9 * * 1-5` → `0 17 * * 1-5` is
/// `Mon–Fri 09:00–17:00`, `0 18 * * 5` → `0 8 * * 1` is `Fri 18:00 → Mon 08:00`. `None` for
/// anything else (several hours, days of the month), which is shown as written.
fn weekly(start: &str, end: &str) -> Option<String> {
    fn parse(cron: &str) -> Option<(String, String)> {
        let f: Vec<&str> = cron.split_whitespace().collect();
        let [minute, hour, "*", "*", dow] = f.as_slice() else {
            return None;
        };
        let (m, h) = (minute.parse::<u8>().ok()?, hour.parse::<u8>().ok()?);
        if m > 59 || h > 23 {
            return None;
        }
        Some((format!("{h:02}:{m:02}"), days(dow)?))
    }
    fn day(d: &str) -> Option<&'static str> {
        const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        match d.parse::<usize>() {
            Ok(n) => NAMES.get(n % 7).copied(),
            Err(_) => NAMES.iter().find(|n| n.eq_ignore_ascii_case(d)).copied(),
        }
    }
    fn days(dow: &str) -> Option<String> {
        if dow == "*" {
            return Some("daily".into());
        }
        let parts = dow
            .split(',')
            .map(|part| match part.split_once('-') {
                Some((a, b)) => Some(format!("{}–{}", day(a)?, day(b)?)),
                None => day(part).map(String::from),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(parts.join(","))
    }
    let (from, from_days) = parse(start)?;
    let (to, to_days) = parse(end)?;
    Some(if from_days == to_days {
        format!("{from_days} {from}–{to}")
    } else {
        format!("{from_days} {from} → {to_days} {to}")
    })
}

/// `2026-12-20` (its first instant) or `2026-12-20T18:00[:ss]` in `tz`; a date-time that
/// carries its own offset (`2026-12-20T18:00+05:00`, `…Z`) is that exact instant. A civil parse
/// alone would drop the offset and read the wall-clock time in `tz`: a silent shift.
fn civil(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(exact) = text.trim().parse::<Timestamp>() {
        return Ok(exact);
    }
    let dt: DateTime = match text.trim().parse::<DateTime>() {
        Ok(dt) => dt,
        Err(e) => {
            return Err(format!(
                "{text:?} is not a date (2026-12-20) or date-time (2026-12-20T18:00): {e}"
            ));
        }
    };
    instant(tz, dt).ok_or_else(|| format!("{text:?} has no instant in this time zone"))
}

#[cfg(test)]
#[test]
fn weekly_crons_read_as_days_and_hours() {
    assert_eq!(
        weekly("0 9 * * 1-5", "0 17 * * 1-5").as_deref(),
        Some("Mon–Fri 09:00–17:00")
    );
    assert_eq!(
        weekly("0 18 * * 5", "0 8 * * 1").as_deref(),
        Some("Fri 18:00 → Mon 08:00")
    );
    assert_eq!(
        weekly("30 9 * * MON-FRI", "0 17 * * mon-fri").as_deref(),
        Some("Mon–Fri 09:30–17:00")
    );
    assert_eq!(
        weekly("0 9 * * *", "0 17 * * *").as_deref(),
        Some("daily 09:00–17:00")
    );
    assert_eq!(weekly("0 9,12 * * 1-5", "0 17 * * 1-5"), None);
    assert_eq!(weekly("0 0 24 12 *", "0 0 27 12 *"), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_time_with_its_own_offset_is_that_instant_not_shifted() {
        let berlin = zone("Europe/Berlin", "window.timezone").expect("zone");
        let exact: Timestamp = "2026-12-20T12:30:00Z".parse().expect("timestamp");
        for text in [
            "2026-12-20T18:00+05:30",
            "2026-12-20T12:30Z",
            "2026-12-20T07:30:00-05:00",
        ] {
            assert_eq!(civil(text, &berlin).expect(text), exact, "{text}");
        }
        // Without an offset, the wall-clock time in the period's zone (CET: UTC+1).
        let local: Timestamp = "2026-12-20T17:00:00Z".parse().expect("timestamp");
        assert_eq!(civil("2026-12-20T18:00", &berlin).expect("civil"), local);
    }
}
