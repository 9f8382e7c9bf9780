use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use relman_core::Error;
use relman_core::config::{Period, WindowGate};
use relman_forge::*;

use super::cron::Cron;
use super::evaluate;
use crate::{Context, Finding, Status};

/// A forge that answers only freeze periods (or not even those).
#[derive(Debug)]
struct Freezes(Option<Vec<FreezePeriod>>);

impl Forge for Freezes {
    fn name(&self) -> &str {
        if self.0.is_some() { "gitlab" } else { "local" }
    }
    fn capabilities(&self) -> Capabilities {
        match self.0 {
            Some(_) => Capabilities::of(&[Capability::FreezePeriods]),
            None => Capabilities::default(),
        }
    }
    relman_forge::unsupported_forge_methods!(releases, deployments, dispatch, audit);
    fn freeze_periods(&self) -> relman_core::Result<Vec<FreezePeriod>> {
        self.0
            .clone()
            .ok_or_else(|| self.unsupported("freeze periods"))
    }
}

/// An instant written as a zoned time, `2026-03-30T08:00[Europe/Berlin]`, or RFC 3339.
fn at(s: &str) -> Timestamp {
    match s.parse::<Zoned>() {
        Ok(z) => z.timestamp(),
        Err(_) => s.parse().expect("timestamp"),
    }
}

fn run_with(
    spec: &WindowGate,
    now: &str,
    forge: &Freezes,
    over: Option<&str>,
) -> Result<Finding, Error> {
    let cx = Context {
        now: at(now),
        override_reason: over.map(String::from),
        ..Context::for_test(forge, std::path::Path::new("."))
    };
    evaluate(spec, &cx)
}

fn run(spec: &WindowGate, now: &str) -> Finding {
    run_with(spec, now, &Freezes(None), None).expect("evaluates")
}

fn cron(name: &str, start: &str, end: &str, tz: Option<&str>) -> Period {
    Period {
        name: name.into(),
        cron_start: Some(start.into()),
        cron_end: Some(end.into()),
        timezone: tz.map(String::from),
        ..Period::default()
    }
}

fn range(name: &str, from: &str, to: &str) -> Period {
    Period {
        name: name.into(),
        from: Some(from.into()),
        to: Some(to.into()),
        ..Period::default()
    }
}

fn berlin_weekend() -> WindowGate {
    WindowGate {
        timezone: "Europe/Berlin".into(),
        freezes: vec![cron("weekend", "0 18 * * 5", "0 8 * * 1", None)],
        ..WindowGate::default()
    }
}

#[test]
fn berlin_weekend_freeze_across_march_dst() {
    let g = berlin_weekend();
    // Friday 27 March 2026 is still CET (+01:00); the clocks jump on Sunday 29 March.
    assert_eq!(run(&g, "2026-03-27T16:59:00Z").status, Status::Pass);
    let f = run(&g, "2026-03-27T17:00:00Z");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.reason, "frozen: `weekend` until 2026-03-30 08:00 CEST");
    assert_eq!(f.facts["frozen"], true);
    assert_eq!(f.facts["active"][0], "weekend");
    assert_eq!(f.facts["next_change"], "2026-03-30T06:00:00Z");
    assert!(
        f.evidence[0].contains("since 2026-03-27 18:00 CET"),
        "{:?}",
        f.evidence
    );
    // Monday 08:00 CEST is 06:00 UTC, not 07:00 as a fixed +01:00 would have it.
    assert_eq!(run(&g, "2026-03-30T05:59:00Z").status, Status::Fail);
    assert_eq!(run(&g, "2026-03-30T06:00:00Z").status, Status::Pass);
}

#[test]
fn berlin_weekend_freeze_across_october_dst() {
    let g = berlin_weekend();
    // Friday 23 October 2026 is CEST (+02:00); back to CET on Sunday 25 October.
    assert_eq!(run(&g, "2026-10-23T15:59:00Z").status, Status::Pass);
    assert_eq!(run(&g, "2026-10-23T16:00:00Z").status, Status::Fail);
    let f = run(&g, "2026-10-26T06:59:00Z");
    assert_eq!(f.reason, "frozen: `weekend` until 2026-10-26 08:00 CET");
    assert_eq!(run(&g, "2026-10-26T07:00:00Z").status, Status::Pass);
    // Tuesday: the next change is Friday's start.
    let open = run(&g, "2026-10-27T12:00:00Z");
    assert_eq!(open.reason, "no freeze active");
    assert_eq!(open.facts["next_change"], "2026-10-30T17:00:00Z");
}

#[test]
fn a_gap_time_fires_when_the_gap_ends_and_a_fold_time_fires_once() {
    let berlin = TimeZone::get("Europe/Berlin").expect("tz");
    let c = Cron::parse("30 2 * * *").expect("cron");
    // 29 March 2026: 02:30 does not exist in Berlin; the clocks read 03:00 CEST at 01:00 UTC.
    assert_eq!(
        c.next(at("2026-03-29T00:00:00Z"), &berlin),
        Some(at("2026-03-29T01:00:00Z"))
    );
    assert_eq!(
        c.previous(at("2026-03-29T01:30:00Z"), &berlin),
        Some(at("2026-03-29T01:00:00Z"))
    );
    assert_eq!(
        c.previous(at("2026-03-29T00:59:00Z"), &berlin),
        Some(at("2026-03-28T01:30:00Z"))
    );
    // 25 October 2026: 02:30 happens at 00:30 UTC (CEST) and 01:30 UTC (CET); it fires once.
    assert_eq!(
        c.previous(at("2026-10-25T01:45:00Z"), &berlin),
        Some(at("2026-10-25T00:30:00Z"))
    );
    assert_eq!(
        c.next(at("2026-10-25T00:30:00Z"), &berlin),
        Some(at("2026-10-26T01:30:00Z"))
    );
}

#[test]
fn new_york_and_tokyo_windows() {
    let ny = cron("new york office hours", "0 9 * * 1-5", "0 17 * * 1-5", None);
    let tokyo = cron(
        "tokyo office hours",
        "0 9 * * mon-fri",
        "0 17 * * MON-FRI",
        Some("Asia/Tokyo"),
    );
    let both = WindowGate {
        timezone: "America/New_York".into(),
        allowed: vec![ny.clone(), tokyo.clone()],
        ..WindowGate::default()
    };
    let only = |p: &Period| WindowGate {
        allowed: vec![p.clone()],
        ..both.clone()
    };
    // Wednesday 3 June 2026, 14:00 UTC: 10:00 in New York (EDT), 23:00 in Tokyo.
    let noon_ny = "2026-06-03T14:00:00Z";
    assert_eq!(run(&only(&ny), noon_ny).status, Status::Pass);
    let f = run(&only(&tokyo), noon_ny);
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "outside the release window `tokyo office hours` (Mon–Fri 09:00–17:00 Asia/Tokyo); \
         now Wed 2026-06-03 23:00 JST"
    );
    assert!(
        f.evidence[0].contains("opens 2026-06-04 09:00 JST"),
        "{:?}",
        f.evidence
    );
    assert_eq!(f.facts["in_window"], false);
    // 02:00 UTC: 11:00 in Tokyo, 22:00 the evening before in New York.
    let noon_tokyo = "2026-06-03T02:00:00Z";
    assert_eq!(run(&only(&ny), noon_tokyo).status, Status::Fail);
    let f = run(&both, noon_tokyo);
    assert_eq!(f.status, Status::Pass);
    assert_eq!(
        f.reason,
        "inside release window `tokyo office hours`, no freeze active"
    );
    // In winter New York is UTC-5: 09:00 EST is 14:00 UTC.
    assert_eq!(run(&only(&ny), "2026-01-07T13:59:00Z").status, Status::Fail);
    assert_eq!(run(&only(&ny), "2026-01-07T14:00:00Z").status, Status::Pass);
}

#[test]
fn year_end_date_range_freeze() {
    let g = WindowGate {
        timezone: "Europe/Berlin".into(),
        freezes: vec![range("year-end", "2026-12-20", "2027-01-04")],
        ..WindowGate::default()
    };
    assert_eq!(run(&g, "2026-12-19T22:59:59Z").status, Status::Pass);
    let f = run(&g, "2026-12-19T23:00:00Z");
    assert_eq!(
        f.status,
        Status::Fail,
        "a bare date starts at midnight in Berlin"
    );
    assert_eq!(f.reason, "frozen: `year-end` until 2027-01-04 00:00 CET");
    assert_eq!(run(&g, "2027-01-03T22:59:59Z").status, Status::Fail);
    assert_eq!(
        run(&g, "2027-01-03T23:00:00Z").status,
        Status::Pass,
        "`to` is exclusive"
    );

    let timed = WindowGate {
        freezes: vec![Period {
            timezone: Some("UTC".into()),
            ..range("", "2026-12-20T18:00", "2027-01-04T08:00:00")
        }],
        ..g
    };
    assert_eq!(run(&timed, "2026-12-20T17:59:00Z").status, Status::Pass);
    let f = run(&timed, "2026-12-20T18:00:00Z");
    assert_eq!(f.reason, "frozen: `freezes[0]` until 2027-01-04 08:00 UTC");
}

fn gitlab_weekend() -> Freezes {
    Freezes(Some(vec![FreezePeriod {
        cron_start: "0 23 * * 5".into(),
        cron_end: "0 7 * * 1".into(),
        timezone: "Europe/Berlin".into(),
    }]))
}

#[test]
fn forge_freeze_periods() {
    let g = WindowGate {
        forge_freezes: true,
        ..WindowGate::default()
    };
    let saturday = "2026-05-16T12:00:00Z";
    let f = run_with(&g, saturday, &gitlab_weekend(), None).expect("evaluates");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "frozen: `gitlab freeze period 1` until 2026-05-18 07:00 CEST"
    );
    assert_eq!(
        f.explain,
        vec!["read deploy freeze periods from the gitlab forge"]
    );
    let thursday = "2026-05-14T12:00:00Z";
    assert_eq!(
        run_with(&g, thursday, &gitlab_weekend(), None)
            .expect("evaluates")
            .status,
        Status::Pass
    );
    let ignored = WindowGate::default();
    assert_eq!(
        run_with(&ignored, saturday, &gitlab_weekend(), None)
            .expect("evaluates")
            .status,
        Status::Pass
    );
    let broken = Freezes(Some(vec![FreezePeriod {
        cron_start: "0 25 * * 5".into(),
        cron_end: "0 7 * * 1".into(),
        timezone: "UTC".into(),
    }]));
    let e = run_with(&g, saturday, &broken, None).expect_err("bad forge data");
    assert!(
        e.to_string()
            .starts_with("gitlab: freeze period 1: cron_start: hour"),
        "{e}"
    );
    // The project's settings on the forge, not a forge that failed: bad input (exit 2), which
    // asking again will not fix.
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert_eq!(e.exit_code(), relman_core::ExitCode::BadInput);
    let unknown_zone = Freezes(Some(vec![FreezePeriod {
        cron_start: "0 23 * * 5".into(),
        cron_end: "0 7 * * 1".into(),
        timezone: "Mars/Olympus_Mons".into(),
    }]));
    let e = run_with(&g, saturday, &unknown_zone, None).expect_err("unknown zone");
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("gitlab: freeze period 1: unknown time zone \"Mars/Olympus_Mons\""),
        "{e}"
    );
}

#[test]
fn a_forge_without_freeze_periods_fails_the_gate() {
    let g = WindowGate {
        forge_freezes: true,
        ..WindowGate::default()
    };
    let f = run_with(&g, "2026-05-14T12:00:00Z", &Freezes(None), None).expect("evaluates");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.reason.contains(
            "the local forge cannot list deploy freeze periods (capability `freeze_periods`)"
        ),
        "{}",
        f.reason
    );
    assert!(
        f.reason.contains("set `forge_freezes: false`"),
        "{}",
        f.reason
    );
}

#[test]
fn override_passes_with_the_reason_recorded() {
    let g = berlin_weekend();
    let saturday = "2026-03-28T12:00:00Z";
    let f = run_with(&g, saturday, &Freezes(None), Some("hotfix for INC-42")).expect("evaluates");
    assert_eq!(f.status, Status::Pass);
    assert_eq!(
        f.reason,
        "overridden: hotfix for INC-42 (would have failed: frozen: `weekend` until 2026-03-30 08:00 CEST)"
    );
    assert_eq!(f.facts["overridden"], true);
    assert_eq!(f.facts["reason"], "hotfix for INC-42");
    assert_eq!(f.facts["frozen"], true);
    // An override when nothing blocks changes nothing.
    let f = run_with(&g, "2026-03-25T12:00:00Z", &Freezes(None), Some("x")).expect("evaluates");
    assert_eq!(
        (f.status, f.facts["overridden"].clone()),
        (Status::Pass, false.into())
    );
    // The override also covers a forge that cannot say.
    let blind = WindowGate {
        forge_freezes: true,
        ..WindowGate::default()
    };
    let f = run_with(&blind, saturday, &Freezes(None), Some("outage")).expect("evaluates");
    assert_eq!(f.status, Status::Pass);
    assert!(
        f.reason
            .starts_with("overridden: outage (would have failed: "),
        "{}",
        f.reason
    );
}

#[test]
fn config_errors_name_the_field() {
    let err = |g: WindowGate| match run_with(&g, "2026-01-01T00:00:00Z", &Freezes(None), None) {
        Err(Error::Usage(m)) => m,
        other => panic!("expected a usage error, got {other:?}"),
    };
    let weekend = cron("w", "0 18 * * 5", "0 8 * * 1", None);
    let m = err(WindowGate {
        freezes: vec![weekend.clone(), cron("x", "0 18 * * 8", "0 8 * * 1", None)],
        ..WindowGate::default()
    });
    assert!(
        m.starts_with("window.freezes[1].cron_start: day-of-week field \"8\""),
        "{m}"
    );
    let m = err(WindowGate {
        freezes: vec![cron("x", "0 18 * *", "0 8 * * 1", None)],
        ..WindowGate::default()
    });
    assert!(
        m.starts_with("window.freezes[0].cron_start: \"0 18 * *\": expected 5 fields"),
        "{m}"
    );
    let m = err(WindowGate {
        freezes: vec![cron("x", "0 0 30 2 *", "0 8 * * 1", None)],
        ..WindowGate::default()
    });
    assert!(m.contains("never fires"), "{m}");
    let m = err(WindowGate {
        allowed: vec![cron("x", "0 9 * * *", "0 17 * * *", Some("Mars/Olympus"))],
        ..WindowGate::default()
    });
    assert!(
        m.starts_with("window.allowed[0].timezone: unknown time zone \"Mars/Olympus\""),
        "{m}"
    );
    let m = err(WindowGate {
        timezone: "Nowhere".into(),
        ..WindowGate::default()
    });
    assert!(m.starts_with("window.timezone: unknown time zone"), "{m}");
    let m = err(WindowGate {
        freezes: vec![range("y", "2026-13-01", "2027-01-04")],
        ..WindowGate::default()
    });
    assert!(
        m.starts_with("window.freezes[0].from: \"2026-13-01\" is not a date"),
        "{m}"
    );
    let m = err(WindowGate {
        freezes: vec![range("y", "2027-01-04", "2026-12-20")],
        ..WindowGate::default()
    });
    assert_eq!(m, "window.freezes[0].to: must be after `from`");
    let m = err(WindowGate {
        freezes: vec![Period {
            cron_end: None,
            ..weekend.clone()
        }],
        ..WindowGate::default()
    });
    assert_eq!(m, "window.freezes[0].cron_end: missing (cron_start is set)");
    let m = err(WindowGate {
        freezes: vec![Period {
            from: Some("2026-01-01".into()),
            ..weekend
        }],
        ..WindowGate::default()
    });
    assert!(m.contains("not both"), "{m}");
}

#[test]
fn cron_fields() {
    let utc = TimeZone::UTC;
    // Both day fields restricted: either fires (Vixie cron, GitLab). 1 June 2026 is a Monday.
    let c = Cron::parse("0 12 13 * fri").expect("cron");
    assert_eq!(
        c.next(at("2026-06-01T00:00:00Z"), &utc),
        Some(at("2026-06-05T12:00:00Z"))
    );
    assert_eq!(
        c.next(at("2026-06-06T00:00:00Z"), &utc),
        Some(at("2026-06-12T12:00:00Z"))
    );
    assert_eq!(
        c.next(at("2026-06-12T12:00:00Z"), &utc),
        Some(at("2026-06-13T12:00:00Z"))
    );
    // One restricted: both must hold.
    let c = Cron::parse("0 0 */2 * 7").expect("cron");
    assert_eq!(
        c.next(at("2026-06-01T00:00:00Z"), &utc),
        Some(at("2026-06-07T00:00:00Z"))
    );
    let c = Cron::parse("15,45 8-10/2 * jan-mar,dec *").expect("cron");
    assert_eq!(
        c.previous(at("2026-06-01T00:00:00Z"), &utc),
        Some(at("2026-03-31T10:45:00Z"))
    );
    assert_eq!(Cron::parse("@weekly"), Cron::parse("0 0 * * sun"));
    assert!(Cron::parse("5-1 * * * *").is_err());
    assert!(Cron::parse("*/0 * * * *").is_err());
    // Leap day: the previous one is four years back.
    let c = Cron::parse("0 0 29 2 *").expect("cron");
    assert_eq!(
        c.previous(at("2027-06-01T00:00:00Z"), &utc),
        Some(at("2024-02-29T00:00:00Z"))
    );
}
