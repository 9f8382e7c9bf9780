//! The audit trail on the state branch: one file per record, sharded by UTC day
//! (`audit/2026/12/02/161455-gate.evaluate-3f9a0c1d.json`), so an append adds one file and
//! rewrites only the few small trees on its path, and a query bounded by `since` reads only
//! the days it covers.

use gix::ObjectId;

use super::snapshot::parse_json;
use super::{Change, Jitter, Snapshot, StateStore, Step, file_name, kind_of_action};
use crate::audit::{AuditFilter, AuditRecord};
use crate::error::{Error, Result};

/// Directories holding records that are never changed or removed (`audit verify` checks).
pub const IMMUTABLE: &[&str] = &["audit", "keys"];

/// Where `record`, made at `when`, is kept: its day, its time, the sub-second part of the
/// clock when it was written (records of one second list in the order they were written),
/// its action and a random part (two records never collide).
pub fn audit_path(record: &AuditRecord, when: jiff::Timestamp, jitter: &mut Jitter) -> String {
    let t = when.to_zoned(jiff::tz::TimeZone::UTC);
    let nanos = jiff::Timestamp::now().subsec_nanosecond();
    format!(
        "audit/{:04}/{:02}/{:02}/{:02}{:02}{:02}.{:09}-{}-{:08x}.json",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        nanos,
        file_name(&record.action),
        jitter.next_u64() as u32
    )
}

fn check(record: &AuditRecord) -> Result<()> {
    for (what, value) in [("actor", &record.actor), ("action", &record.action)] {
        if value.trim().is_empty() {
            return Err(Error::Usage(format!(
                "audit record: {what} must not be empty"
            )));
        }
    }
    Ok(())
}

impl StateStore {
    /// Appends one audit record (never conflicts: a lost race is re-applied on the new tip).
    pub fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        check(record)?;
        let path = audit_path(record, record.when, &mut Jitter::new());
        let kind = kind_of_action(&record.action);
        let summary = format!("audit: {}", record.action);
        self.transact(|_| {
            let change = Change::new(kind, summary.clone()).json(path.clone(), record)?;
            Ok(Step::Write(change, ()))
        })
    }

    /// The audit records matching `filter`, oldest first.
    pub fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        query(&self.snapshot()?, filter)
    }

    /// Calls `each` with the records matching `filter` and `keep`, oldest first, holding one
    /// day's records at a time (and, with `filter.limit`, the newest `limit` kept so far): a
    /// listing of every record takes the same memory after ten years as after one day.
    pub fn each_audit(
        &self,
        filter: &AuditFilter,
        keep: &dyn Fn(&AuditRecord) -> bool,
        each: &mut dyn FnMut(AuditRecord) -> Result<()>,
    ) -> Result<()> {
        visit(&self.snapshot()?, filter, keep, each)
    }

    /// Checks that the branch history is linear and that no record under [`IMMUTABLE`] was
    /// changed or removed: since `since` (a commit that must be in the history), or by any
    /// commit when `since` is `None`.
    pub fn verify(&self, since: Option<ObjectId>) -> Result<VerifyReport> {
        let tip = self.sync_full()?;
        let snapshot = self.snapshot_at(tip)?;
        verify(&snapshot, tip, since)
    }
}

/// The records of `snapshot` matching `filter`, oldest first.
pub fn query(snapshot: &Snapshot, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
    let mut out = Vec::new();
    visit(snapshot, filter, &|_| true, &mut |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// Walks the days `filter` covers, oldest first, and calls `each` with the matching records
/// (see [`StateStore::each_audit`]).
pub fn visit(
    snapshot: &Snapshot,
    filter: &AuditFilter,
    keep: &dyn Fn(&AuditRecord) -> bool,
    each: &mut dyn FnMut(AuditRecord) -> Result<()>,
) -> Result<()> {
    let day_of = |t: jiff::Timestamp| {
        let z = t.to_zoned(jiff::tz::TimeZone::UTC);
        (z.year() as i32, z.month() as i32, z.day() as i32)
    };
    let from = filter.since.map(day_of);
    let to = filter.until.map(day_of);
    let in_range = |key: &[i32]| {
        let cmp = |bound: (i32, i32, i32)| {
            let b = [bound.0, bound.1, bound.2];
            key.cmp(&b[..key.len()])
        };
        from.is_none_or(|f| cmp(f).is_ge()) && to.is_none_or(|t| cmp(t).is_le())
    };
    // `--limit N` wants the newest N: only they are kept while walking.
    let mut newest = std::collections::VecDeque::new();
    for year in dirs(snapshot, snapshot.list("audit")?, &[], &in_range)? {
        for month in dirs(snapshot, snapshot.list_tree(year.1)?, &year.0, &in_range)? {
            for day in dirs(snapshot, snapshot.list_tree(month.1)?, &month.0, &in_range)? {
                let mut records = Vec::new();
                for file in snapshot.list_tree(day.1)? {
                    if file.is_dir || !file.name.ends_with(".json") {
                        continue;
                    }
                    let path = format!(
                        "audit/{:04}/{:02}/{:02}/{}",
                        day.0[0], day.0[1], day.0[2], file.name
                    );
                    let bytes = snapshot.blob(file.id)?;
                    // A `when` that does not read fails here, naming the file (Corrupt).
                    let record: AuditRecord = parse_json(&path, &bytes)?;
                    if filter.matches(&record) && keep(&record) {
                        records.push((record.when, file.name, record));
                    }
                }
                records.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                for (_, _, record) in records {
                    match filter.limit {
                        None => each(record)?,
                        Some(0) => {}
                        Some(limit) => {
                            if newest.len() == limit {
                                newest.pop_front();
                            }
                            newest.push_back(record);
                        }
                    }
                }
            }
        }
    }
    for record in newest {
        each(record)?;
    }
    Ok(())
}

/// Numbered subdirectories of a date level, in order, that `in_range` keeps.
fn dirs(
    _snapshot: &Snapshot,
    entries: Vec<super::Entry>,
    parent: &[i32],
    in_range: &dyn Fn(&[i32]) -> bool,
) -> Result<Vec<(Vec<i32>, ObjectId)>> {
    let mut out = Vec::new();
    for e in entries {
        let Ok(n) = e.name.parse::<i32>() else {
            continue;
        };
        if !e.is_dir {
            continue;
        }
        let mut key = parent.to_vec();
        key.push(n);
        if in_range(&key) {
            out.push((key, e.id));
        }
    }
    out.sort();
    Ok(out)
}

/// What `audit verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// The tip checked (`None`: the branch does not exist).
    pub tip: Option<String>,
    /// Commits walked.
    pub commits: usize,
    /// Everything wrong, one line each; empty when the history is intact.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn verify(
    snapshot: &Snapshot,
    tip: Option<ObjectId>,
    since: Option<ObjectId>,
) -> Result<VerifyReport> {
    let repo = snapshot_repo(snapshot);
    let mut report = VerifyReport {
        tip: tip.map(|t| t.to_string()),
        ..VerifyReport::default()
    };
    let git = |e: &dyn std::fmt::Display| Error::Git(format!("state: {e}"));
    let commit_of = |id: ObjectId| -> Result<(ObjectId, Vec<ObjectId>)> {
        let c = repo.find_commit(id).map_err(|e| git(&e))?;
        let tree = c.tree_id().map_err(|e| git(&e))?.detach();
        Ok((tree, c.parent_ids().map(|p| p.detach()).collect()))
    };
    let mut current = tip;
    let mut found_since = since.is_none();
    let mut since_tree = None;
    while let Some(id) = current {
        report.commits += 1;
        let (tree, parents) = commit_of(id)?;
        if Some(id) == since {
            found_since = true;
            since_tree = Some(tree);
            break;
        }
        if parents.len() > 1 {
            report
                .problems
                .push(format!("commit {id} is a merge: the history is not linear"));
        }
        let parent = parents.first().copied();
        if since.is_none()
            && let Some(p) = parent
        {
            let (parent_tree, _) = commit_of(p)?;
            kept(
                snapshot,
                parent_tree,
                tree,
                "",
                &mut report.problems,
                &format!("commit {id}"),
            )?;
        }
        current = parent;
    }
    if !found_since {
        let since = since.map(|s| s.to_string()).unwrap_or_default();
        report.problems.push(format!(
            "{since} is not in the history of the state branch: it was rewritten"
        ));
    }
    if let (Some(old), Some(tip)) = (since_tree, tip) {
        let (tree, _) = commit_of(tip)?;
        kept(snapshot, old, tree, "", &mut report.problems, "the tip")?;
    }
    Ok(report)
}

fn snapshot_repo(snapshot: &Snapshot) -> &gix::Repository {
    snapshot.repo()
}

/// Records of `old` under [`IMMUTABLE`] that `new` changed or lost.
fn kept(
    snapshot: &Snapshot,
    old: ObjectId,
    new: ObjectId,
    prefix: &str,
    problems: &mut Vec<String>,
    by: &str,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let new_entries = snapshot.list_tree(new)?;
    for entry in snapshot.list_tree(old)? {
        let path = if prefix.is_empty() {
            entry.name.clone()
        } else {
            format!("{prefix}/{}", entry.name)
        };
        if prefix.is_empty() && !IMMUTABLE.contains(&entry.name.as_str()) {
            continue;
        }
        match new_entries.iter().find(|e| e.name == entry.name) {
            Some(n) if n.id == entry.id => {}
            Some(n) if n.is_dir && entry.is_dir => {
                kept(snapshot, entry.id, n.id, &path, problems, by)?;
            }
            Some(_) => problems.push(format!("{by} changed {path}")),
            None => problems.push(format!("{by} removed {path}")),
        }
    }
    Ok(())
}
