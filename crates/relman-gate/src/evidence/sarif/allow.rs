//! The allow-list: accepted findings by rule (and path), each until a date.

use globset::GlobMatcher;
use jiff::civil::Date;
use relman_core::Error;
use relman_core::config::AllowRule;

use crate::evidence::files;

#[derive(Debug)]
pub(super) struct Entry {
    pub rule: String,
    path: Option<GlobMatcher>,
    pub until: Date,
    pub reason: String,
    expired: bool,
    /// Results it matched (counted again when expired).
    hits: u64,
}

impl Entry {
    fn matches(&self, rule: &str, file: Option<&str>) -> bool {
        let rule_ok = rule == self.rule
            || rule
                .strip_suffix(self.rule.as_str())
                .is_some_and(|p| p.ends_with('/'));
        rule_ok
            && match (&self.path, file) {
                (None, _) => true,
                (Some(g), Some(f)) => g.is_match(f),
                (Some(_), None) => false,
            }
    }
}

#[derive(Debug)]
pub(super) struct AllowList {
    entries: Vec<Entry>,
}

impl AllowList {
    /// Entries as of `now`: `until` is the last day an entry holds, in UTC, so a run on that
    /// day anywhere in the world gives the same verdict.
    pub fn new(rules: &[AllowRule], now: jiff::Timestamp) -> Result<Self, Error> {
        let today = jiff::tz::Offset::UTC.to_datetime(now).date();
        let entries = rules
            .iter()
            .map(|a| {
                let until: Date = a.until.trim().parse().map_err(|e| {
                    Error::Usage(format!(
                        "sarif: allow-list entry for {}: until {:?} is not a YYYY-MM-DD date: {e}",
                        a.rule, a.until
                    ))
                })?;
                if a.reason.trim().is_empty() {
                    return Err(Error::Usage(format!(
                        "sarif: allow-list entry for {} has no reason",
                        a.rule
                    )));
                }
                Ok(Entry {
                    rule: a.rule.clone(),
                    path: a.path.as_deref().map(files::glob).transpose()?,
                    until,
                    reason: a.reason.clone(),
                    expired: today > until,
                    hits: 0,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(AllowList { entries })
    }

    /// Why a result of `rule` in `file` is allowed, if an entry in force matches it. Rule ids
    /// match exactly or as the last part of a tool-prefixed id (`template-injection` matches
    /// zizmor's `zizmor/template-injection`).
    pub fn allows(&mut self, rule: &str, file: Option<&str>) -> Option<String> {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| !e.expired && e.matches(rule, file))
        {
            return Some(format!("until {}: {}", e.until, e.reason));
        }
        for e in &mut self.entries {
            if e.expired && e.matches(rule, file) {
                e.hits += 1;
            }
        }
        None
    }

    /// Expired entries that matched results, with how many.
    pub fn expired_hits(&self) -> Vec<(&Entry, u64)> {
        self.entries
            .iter()
            .filter(|e| e.expired && e.hits > 0)
            .map(|e| (e, e.hits))
            .collect()
    }

    pub fn expired(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.expired)
    }
}
