//! Five-field cron expressions over jiff civil times, with the previous and next fire time.
//!
//! Why not a crate: `cron` (and its jiff port `jiff-cron`) are Quartz-style (a seconds field),
//! require day-of-month AND day-of-week where Vixie cron and GitLab (fugit) fire on either
//! when both are restricted, and skip times that fall in a DST gap instead of firing after
//! it; `croner` brings chrono and chrono-tz next to jiff's tzdb. Matching five bit sets
//! while stepping days, hours and minutes is ~150 lines with the semantics freeze periods need.
//!
//! DST, in the expression's time zone:
//! - a fire time that does not exist (spring-forward gap) fires at the first instant after the
//!   gap, like Vixie cron running skipped jobs when the clock jumps;
//! - a fire time that happens twice (fall-back fold) fires once, at the earlier instant.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

/// Longest a fire time can be pushed by a fold or pulled by a gap: bounds the search window
/// around `now` (real zones shift by at most 2 hours).
const SHIFT_MARGIN_HOURS: i64 = 3;
/// How far to look for a fire time: Feb 29 fires every 4 years, 8 across a skipped leap year.
const HORIZON_DAYS: i32 = 9 * 366;

/// A parsed expression: `minute hour day-of-month month day-of-week`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    /// Vixie cron: when both day fields are restricted, a day matching either fires.
    either_day: bool,
}

impl Cron {
    /// Parses five fields (`*`, `a`, `a-b`, `*/n`, `a-b/n`, lists, month and weekday names)
    /// or one of `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
    /// `@hourly`.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expr = match expr.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let [min, hour, dom, month, dow] = fields.as_slice() else {
            return Err(format!(
                "{expr:?}: expected 5 fields (minute hour day-of-month month day-of-week), got {}",
                fields.len()
            ));
        };
        let weekdays = field(dow, 0, 7, &DAYS, "day-of-week")?;
        // 7 is Sunday too.
        let weekdays = (weekdays & 0x7f) | u64::from(weekdays & (1 << 7) != 0);
        let cron = Cron {
            minutes: field(min, 0, 59, &[], "minute")?,
            hours: field(hour, 0, 23, &[], "hour")? as u32,
            days: field(dom, 1, 31, &[], "day-of-month")? as u32,
            months: field(month, 1, 12, &MONTHS, "month")? as u16,
            weekdays: weekdays as u8,
            either_day: !dom.starts_with('*') && !dow.starts_with('*'),
        };
        if !cron.can_fire() {
            return Err(format!(
                "{expr:?} never fires (no such day in those months)"
            ));
        }
        Ok(cron)
    }

    fn can_fire(&self) -> bool {
        // Any date in a leap year and the next non-leap one covers every (month, day, weekday).
        let Ok(start) = Date::new(2024, 1, 1) else {
            return true;
        };
        (0..731).any(|d| {
            start
                .checked_add(d.days())
                .is_ok_and(|date| self.matches_date(date))
        })
    }

    fn matches_date(&self, date: Date) -> bool {
        let month = self.months & (1 << date.month()) != 0;
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        month
            && if self.either_day {
                dom || dow
            } else {
                dom && dow
            }
    }

    /// The most recent fire time at or before `now`, in `tz`.
    pub fn previous(&self, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = tz
            .to_datetime(now)
            .checked_add(SHIFT_MARGIN_HOURS.hours())
            .ok()?;
        let mut date = start.date();
        for _ in 0..HORIZON_DAYS {
            if self.matches_date(date) {
                for h in (0i8..24).rev().filter(|h| self.hours & (1 << h) != 0) {
                    for m in (0i8..60).rev().filter(|m| self.minutes & (1u64 << m) != 0) {
                        let dt = date.to_datetime(Time::new(h, m, 0, 0).ok()?);
                        if dt > start {
                            continue;
                        }
                        // Instants never decrease as civil times increase (gaps map forward,
                        // folds to their earlier instant), so the first hit is the latest.
                        match instant(tz, dt) {
                            Some(t) if t <= now => return Some(t),
                            _ => {}
                        }
                    }
                }
            }
            date = date.yesterday().ok()?;
        }
        None
    }

    /// The first fire time strictly after `now`, in `tz`.
    pub fn next(&self, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = tz
            .to_datetime(now)
            .checked_sub(SHIFT_MARGIN_HOURS.hours())
            .ok()?;
        let mut date = start.date();
        for _ in 0..HORIZON_DAYS {
            if self.matches_date(date) {
                for h in (0i8..24).filter(|h| self.hours & (1 << h) != 0) {
                    for m in (0i8..60).filter(|m| self.minutes & (1u64 << m) != 0) {
                        let dt = date.to_datetime(Time::new(h, m, 0, 0).ok()?);
                        if dt < start {
                            continue;
                        }
                        match instant(tz, dt) {
                            Some(t) if t > now => return Some(t),
                            _ => {}
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

/// The instant of civil time `dt` in `tz`: a time in a gap is the end of the gap, a time in a
/// fold its earlier occurrence.
pub fn instant(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    match tz.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok(),
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the later offset, `dt` lands before the transition; the transition
            // itself is the first instant after the gap.
            let early = after.to_timestamp(dt).ok()?;
            tz.following(early).next().map(|t| t.timestamp())
        }
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A field as a bit set over `lo..=hi`; `names[i]` stands for `lo + i`.
fn field(text: &str, lo: u32, hi: u32, names: &[&str], what: &str) -> Result<u64, String> {
    let bad = |why: &str| format!("{what} field {text:?}: {why}");
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(lo + i as u32);
        }
        let v: u32 = s
            .parse()
            .map_err(|_| bad(&format!("{s:?} is not a number")))?;
        if v < lo || v > hi {
            return Err(bad(&format!("{v} is outside {lo}-{hi}")));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| bad(&format!("bad step {s:?}")))?;
                if step == 0 {
                    return Err(bad("step 0"));
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `5/15` means from 5 to the end, every 15.
                None if item.contains('/') => (value(r)?, hi),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        if from > to {
            return Err(bad(&format!("range {from}-{to} runs backwards")));
        }
        for v in (from..=to).step_by(step as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}
