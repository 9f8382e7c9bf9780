use relman_core::config::{Package, RiskGate, RiskLevel, RiskSettings, RiskThresholds};

use super::{assess, evaluate, level_of};
use crate::diff::change;
use crate::diff::fixture::{Fixture, numbered};
use crate::{Change, ChangedFile, Status};

/// A repository with a `v1.0.0` release, then `edit` applied and committed as `message`.
fn since_release(edit: impl FnOnce(&Fixture), message: &str) -> Change {
    let mut f = Fixture::new();
    f.write("README.md", numbered(5));
    f.write("services/api/src/main.rs", numbered(50));
    f.write("services/web/index.js", numbered(50));
    f.write("libs/shared/lib.rs", numbered(50));
    f.commit("feat: start");
    f.tag("v1.0.0");
    edit(&f);
    f.commit(message);
    change(f.root(), None, "HEAD", "v").expect("change")
}

fn packages() -> Vec<Package> {
    [
        "api:services/api",
        "web:services/web/",
        "shared:./libs/shared",
    ]
    .iter()
    .map(|s| {
        let (name, path) = s.split_once(':').expect("name:path");
        Package {
            name: name.into(),
            paths: vec![path.into()],
            tag_prefix: format!("{name}-v"),
        }
    })
    .collect()
}

#[test]
fn docs_only_is_low() {
    let c = since_release(|f| f.write("README.md", numbered(8)), "docs: readme");
    let a = assess(&RiskSettings::default(), &packages(), &c).expect("assess");
    assert_eq!(a.level, RiskLevel::Low);
    assert!(a.score < 5.0, "{a:?}");
    assert!(a.packages.is_empty() && a.manifests.is_empty() && a.sensitive.is_empty());
    let v = serde_json::to_value(&a).expect("json");
    assert_eq!(v["level"], "low");
    assert!(v["score"].is_number());
}

#[test]
fn migration_and_auth_is_high() {
    let c = since_release(
        |f| {
            f.write(
                "services/api/migrations/0002_users.sql",
                "ALTER TABLE users ADD x int;\n",
            );
            f.write("services/api/src/auth/session.rs", numbered(40));
        },
        "feat(api): sessions",
    );
    let a = assess(&RiskSettings::default(), &packages(), &c).expect("assess");
    // migration 20 + SQL 10 + auth 15 + 2 files + 41 lines = 46.4
    assert_eq!(a.score, 46.4, "{a:#?}");
    assert_eq!(a.level, RiskLevel::High);
    assert_eq!(a.packages, vec!["api"]);
    let why: Vec<&str> = a.reasons.iter().map(|r| r.why.as_str()).collect();
    assert!(
        why[0].starts_with("database migration: services/api/migrations/"),
        "{why:?}"
    );
    assert!(why.iter().any(|w| w.starts_with("authentication:")));

    let pass = evaluate(
        &RiskGate {
            max_level: RiskLevel::High,
        },
        &a,
    );
    assert_eq!(pass.status, Status::Pass);
    let fail = evaluate(
        &RiskGate {
            max_level: RiskLevel::Medium,
        },
        &a,
    );
    assert_eq!(fail.status, Status::Fail);
    assert!(
        fail.reason
            .starts_with("risk high (score 46.4): database migration"),
        "{}",
        fail.reason
    );
    assert!(fail.reason.ends_with("above the maximum medium"));
    assert_eq!(fail.evidence[0], format!("+20 {}", a.reasons[0].why));
    assert_eq!(fail.facts["level"], "high");
}

#[test]
fn manifest_change_scores_once() {
    let c = since_release(
        |f| {
            f.write("Cargo.lock", "# lock\n");
            f.write("services/web/package.json", "{}\n");
        },
        "build: bump deps",
    );
    let a = assess(&RiskSettings::default(), &packages(), &c).expect("assess");
    assert_eq!(a.manifests, vec!["Cargo.lock", "services/web/package.json"]);
    let manifest = a
        .reasons
        .iter()
        .filter(|r| r.why.starts_with("dependency manifests"))
        .count();
    assert_eq!(manifest, 1);
    assert_eq!(a.score, 6.0); // manifest 5 + 2 files + 2 lines
}

#[test]
fn breaking_commit_is_medium() {
    let c = since_release(
        |f| f.write("services/api/src/main.rs", numbered(51)),
        "feat(api)!: drop v1 endpoints",
    );
    assert_eq!(c.breaking, 1);
    let a = assess(&RiskSettings::default(), &packages(), &c).expect("assess");
    assert_eq!(a.breaking, 1);
    assert_eq!(a.reasons[0].why, "1 breaking change in the commits");
    assert_eq!(a.score, 15.5);
    let s = RiskSettings {
        per_breaking: 25.0,
        ..RiskSettings::default()
    };
    assert_eq!(
        assess(&s, &packages(), &c).expect("assess").level,
        RiskLevel::Medium
    );
}

#[test]
fn monorepo_with_three_packages() {
    let c = since_release(
        |f| {
            f.write("services/api/src/main.rs", numbered(60));
            f.write("services/web/index.js", numbered(60));
            f.write("libs/shared/lib.rs", numbered(60));
            f.write("services/apiary/x.txt", "not the api package\n");
        },
        "feat: everywhere",
    );
    let a = assess(&RiskSettings::default(), &packages(), &c).expect("assess");
    assert_eq!(a.packages, vec!["api", "web", "shared"]);
    assert!(
        a.reasons
            .iter()
            .any(|r| r.points == 10.0 && r.why == "3 packages touched: api, web, shared")
    );
}

#[test]
fn level_boundaries_are_inclusive() {
    let s = RiskSettings::default();
    let cases = [
        (0.0, RiskLevel::Low),
        (19.9, RiskLevel::Low),
        (20.0, RiskLevel::Medium),
        (44.9, RiskLevel::Medium),
        (45.0, RiskLevel::High),
        (79.9, RiskLevel::High),
        (80.0, RiskLevel::Critical),
        (500.0, RiskLevel::Critical),
    ];
    for (score, level) in cases {
        assert_eq!(level_of(score, &s), level, "{score}");
    }
}

#[test]
fn huge_change_is_critical_and_bad_settings_are_refused() {
    let files = (0..100)
        .map(|i| ChangedFile {
            path: format!("src/f{i}.rs"),
            added: 50,
            removed: 10,
            added_lines: Vec::new(),
        })
        .collect();
    let c = Change {
        files,
        ..Change::default()
    };
    let a = assess(&RiskSettings::default(), &[], &c).expect("assess");
    assert_eq!(a.score, 110.0);
    assert_eq!(a.level, RiskLevel::Critical);

    let s = RiskSettings {
        levels: RiskThresholds {
            high: 10.0,
            ..RiskThresholds::default()
        },
        ..RiskSettings::default()
    };
    let e = assess(&s, &[], &c).expect_err("falling thresholds");
    assert!(e.to_string().starts_with("gate.risk.levels:"), "{e}");
    let mut s = RiskSettings::default();
    s.sensitive[1].paths = vec!["[".into()];
    let e = assess(&s, &[], &c).expect_err("bad glob");
    assert!(
        e.to_string()
            .starts_with("gate.risk.sensitive[1].paths[0]:"),
        "{e}"
    );
}
