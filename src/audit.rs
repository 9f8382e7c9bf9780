//! `relman audit`: read the audit trail on the state branch, and check it was not tampered
//! with (`relman audit verify`).

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use relman_core::state::StateStore;
use relman_core::{Error, ExitCode};
use relman_forge::{AuditFilter, AuditRecord, RunContext};

#[derive(Debug, ClapArgs)]
#[command(about = "List the audit trail kept on the state branch, or verify it")]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that the state branch's history is linear and that no record was changed or
    /// removed (since `--since-tip`, else by any commit). Exit 1 when it was.
    Verify {
        /// A tip of the branch recorded earlier (a commit id): nothing it held may be gone.
        #[arg(long, value_name = "COMMIT", env = "RELMAN_AUDIT_VERIFY_SINCE_TIP")]
        since_tip: Option<String>,
        /// Output format of the verdict.
        #[arg(
            long,
            value_enum,
            default_value = "text",
            env = "RELMAN_AUDIT_VERIFY_FORMAT"
        )]
        format: VerifyFormat,
    },
}

#[derive(Debug, ClapArgs)]
pub struct ListArgs {
    /// An action or a dotted prefix of one (`gate`, `rollback.drill`).
    #[arg(long, value_name = "ACTION", env = "RELMAN_AUDIT_ACTION")]
    pub action: Option<String>,
    /// Only records about this environment.
    #[arg(long, value_name = "NAME", env = "RELMAN_AUDIT_ENVIRONMENT")]
    pub environment: Option<String>,
    /// A commit id, tag or environment the record is about.
    #[arg(long, value_name = "SHA|TAG", env = "RELMAN_AUDIT_SUBJECT")]
    pub subject: Option<String>,
    /// Only records this recent (`30d`, `12h`, `90m`) or since an RFC 3339 instant.
    #[arg(long, value_name = "AGE|TIME", env = "RELMAN_AUDIT_SINCE")]
    pub since: Option<String>,
    /// Only records by this actor (the CI user or token owner).
    #[arg(long, value_name = "WHO", env = "RELMAN_AUDIT_ACTOR")]
    pub actor: Option<String>,
    /// At most this many records (the newest).
    #[arg(long, value_name = "N", env = "RELMAN_AUDIT_LIMIT")]
    pub limit: Option<usize>,
    /// Output format of the list.
    #[arg(long, value_enum, default_value = "text", env = "RELMAN_AUDIT_FORMAT")]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Jsonl,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
}

/// `30d` / `12h` / `90m` / `45s` before `now`, or an RFC 3339 instant.
pub fn parse_since(text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, Error> {
    let t = text.trim();
    if let Ok(instant) = t.parse::<jiff::Timestamp>() {
        return Ok(instant);
    }
    let bad = || {
        Error::Usage(format!(
            "--since {t:?}: expected an age (`30d`, `12h`, `90m`, `45s`) or an RFC 3339 instant"
        ))
    };
    let split = t.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        "s" => Some(n),
        _ => None,
    }
    .filter(|s| *s >= 0)
    .ok_or_else(bad)?;
    now.checked_sub(jiff::SignedDuration::from_secs(seconds))
        .map_err(|_| bad())
}

fn store(ctx: &RunContext) -> anyhow::Result<StateStore> {
    let root = ctx.root()?;
    let cfg = ctx.config()?;
    // The raw environment, as before the run context: a variable set empty stays set here.
    let env = |k: &str| std::env::var(k).ok();
    Ok(StateStore::open(&root, &cfg.state, &env)?)
}

pub fn run_with(ctx: &RunContext, args: &Args) -> anyhow::Result<ExitCode> {
    let rt = ctx.runtime();
    let store = store(ctx)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(AuditCommand::Verify { since_tip, format }) = &args.command {
        let since = since_tip
            .as_deref()
            .map(relman_core::state::commit_id)
            .transpose()?;
        let report = store.verify(since)?;
        let mut w = rt.untrusted(&mut out)?;
        match format {
            VerifyFormat::Json => w.write(&format!(
                "{}\n",
                serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?
            ))?,
            VerifyFormat::Text => {
                for p in &report.problems {
                    w.write(&format!("{p}\n"))?;
                }
                w.write(&format!(
                    "{}: {} commit{} checked, {}\n",
                    store.branch(),
                    report.commits,
                    if report.commits == 1 { "" } else { "s" },
                    if report.ok() {
                        format!("intact (tip {})", report.tip.as_deref().unwrap_or("none"))
                    } else {
                        format!("{} problem(s)", report.problems.len())
                    }
                ))?;
            }
        }
        w.finish()?;
        return Ok(if report.ok() {
            ExitCode::Success
        } else {
            ExitCode::Refused
        });
    }
    let list = &args.list;
    let filter = AuditFilter {
        action: list.action.clone(),
        actor: list.actor.clone(),
        environment: list.environment.clone(),
        since: list
            .since
            .as_deref()
            .map(|s| parse_since(s, jiff::Timestamp::now()))
            .transpose()?,
        limit: list.limit,
        ..AuditFilter::default()
    };
    let subject = list.subject.as_deref();
    let keep = |r: &AuditRecord| {
        subject.is_none_or(|subject| {
            r.subject
                .sha
                .as_deref()
                .is_some_and(|s| s.starts_with(subject))
                || r.subject.tag.as_deref() == Some(subject)
                || r.subject.environment.as_deref() == Some(subject)
        })
    };
    // Streamed: each record is rendered and written as it is read, so listing a store of any
    // size takes the memory of one day's records (BENCHMARKS.md, "State branch").
    let mut buffered = std::io::BufWriter::new(out);
    let mut w = rt.untrusted(&mut buffered)?;
    let mut listing = Listing::new(list.format);
    w.write(listing.start())?;
    store.each_audit(&filter, &keep, &mut |r| w.write(&listing.record(&r)?))?;
    w.write(&listing.end())?;
    w.finish()?;
    std::io::Write::flush(&mut buffered)
        .map_err(|e| Error::Usage(format!("cannot write the listing: {e}")))?;
    Ok(ExitCode::Success)
}

fn subject_text(r: &AuditRecord) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &r.subject.environment {
        parts.push(e.clone());
    }
    if let Some(t) = &r.subject.tag {
        parts.push(t.clone());
    }
    if let Some(s) = &r.subject.sha {
        parts.push(s.chars().take(12).collect());
    }
    parts.join(" ")
}

fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// A listing in one format, written a record at a time: the start, each record, the end.
/// Nothing depends on records not yet seen (text columns have fixed widths), so memory does
/// not grow with the number of records.
#[derive(Debug)]
pub struct Listing {
    format: Format,
    count: usize,
}

impl Listing {
    pub fn new(format: Format) -> Self {
        Listing { format, count: 0 }
    }

    pub fn start(&self) -> &'static str {
        match self.format {
            Format::Json => "[",
            Format::Markdown => {
                "| When | Action | Actor | Subject | Why | Run |\n|---|---|---|---|---|---|\n"
            }
            Format::Jsonl | Format::Text => "",
        }
    }

    pub fn record(&mut self, r: &AuditRecord) -> Result<String, Error> {
        self.count += 1;
        let json_err = |e: serde_json::Error| Error::Usage(e.to_string());
        Ok(match self.format {
            // serde_json's pretty array, one element at a time: `[`, then each element on
            // its own lines indented by two, separated by `,`, then `]`.
            Format::Json => {
                let pretty = serde_json::to_string_pretty(r).map_err(json_err)?;
                let mut out = String::from(if self.count == 1 { "\n" } else { ",\n" });
                for (i, line) in pretty.lines().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str("  ");
                    out.push_str(line);
                }
                out
            }
            Format::Jsonl => {
                let mut line = serde_json::to_string(r).map_err(json_err)?;
                line.push('\n');
                line
            }
            Format::Text => format!(
                "{}  {:<16} {:<12} {:<24} {}\n",
                r.when,
                one_line(&r.action),
                one_line(&r.actor),
                one_line(&subject_text(r)),
                one_line(&r.reason)
            ),
            Format::Markdown => {
                let cell = |s: &str| one_line(s).replace('|', "\\|");
                format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    cell(&r.when.to_string()),
                    cell(&r.action),
                    cell(&r.actor),
                    cell(&subject_text(r)),
                    cell(&r.reason),
                    r.run.as_deref().map(cell).unwrap_or_default()
                )
            }
        })
    }

    pub fn end(&self) -> String {
        match self.format {
            Format::Json if self.count == 0 => "]\n".into(),
            Format::Json => "\n]\n".into(),
            Format::Text if self.count == 0 => "no audit records match\n".into(),
            Format::Jsonl | Format::Text | Format::Markdown => String::new(),
        }
    }
}

/// The records in `format`, as one string (what [`Listing`] writes piece by piece).
pub fn render(records: &[AuditRecord], format: Format) -> Result<String, Error> {
    let mut listing = Listing::new(format);
    let mut out = listing.start().to_string();
    for r in records {
        out.push_str(&listing.record(r)?);
    }
    out.push_str(&listing.end());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_ages_and_instants() {
        let now: jiff::Timestamp = "2026-03-31T00:00:00Z".parse().unwrap();
        assert_eq!(
            parse_since("30d", now).unwrap().to_string(),
            "2026-03-01T00:00:00Z"
        );
        assert_eq!(
            parse_since("2h", now).unwrap().to_string(),
            "2026-03-30T22:00:00Z"
        );
        assert_eq!(
            parse_since("2026-01-01T00:00:00Z", now)
                .unwrap()
                .to_string(),
            "2026-01-01T00:00:00Z"
        );
        for bad in ["", "d", "30", "-1d", "30w", "thirty days"] {
            let e = parse_since(bad, now).unwrap_err();
            assert_eq!(e.exit_code(), ExitCode::BadInput, "{bad}");
        }
    }

    #[test]
    fn formats() {
        let r = AuditRecord {
            when: "2026-01-01T00:00:00Z".parse().unwrap(),
            reason: "go | fine\n::error::x".into(),
            ..AuditRecord::now("ci", "gate.evaluate")
        };
        let md = render(std::slice::from_ref(&r), Format::Markdown).unwrap();
        assert!(md.contains("| go \\| fine |"), "{md}");
        let jsonl = render(&[r.clone(), r.clone()], Format::Jsonl).unwrap();
        assert_eq!(jsonl.lines().count(), 2);
        let json: serde_json::Value =
            serde_json::from_str(&render(std::slice::from_ref(&r), Format::Json).unwrap()).unwrap();
        assert_eq!(json[0]["action"], "gate.evaluate");
        // The streamed JSON is byte for byte serde_json's pretty array, empty or not.
        let two = [r.clone(), AuditRecord::now("other", "rollback.drill")];
        for records in [&two[..0], &two[..1], &two[..]] {
            let mut want = serde_json::to_string_pretty(records).unwrap();
            want.push('\n');
            assert_eq!(render(records, Format::Json).unwrap(), want);
        }
        assert_eq!(
            render(&[], Format::Text).unwrap(),
            "no audit records match\n"
        );
        let text = render(&[r], Format::Text).unwrap();
        assert!(
            text.starts_with("2026-01-01T00:00:00Z  gate.evaluate"),
            "{text}"
        );
        assert!(!text.contains("::error"), "{text}");
    }
}
