//! GitLab CI job-log sections and code-quality report entries, as text and JSON.

use super::Level;
use super::escape;

/// `ESC[0Ksection_start:TS:NAME[collapsed=true]\rESC[0KHEADER\n`.
pub fn section_start(timestamp: u64, name: &str, header: &str, collapsed: bool) -> String {
    let opts = if collapsed { "[collapsed=true]" } else { "" };
    format!(
        "\x1b[0Ksection_start:{timestamp}:{}{opts}\r\x1b[0K{}\n",
        escape::section_name(name),
        escape::log_line(header)
    )
}

/// `ESC[0Ksection_end:TS:NAME\rESC[0K\n`.
pub fn section_end(timestamp: u64, name: &str) -> String {
    format!(
        "\x1b[0Ksection_end:{timestamp}:{}\r\x1b[0K\n",
        escape::section_name(name)
    )
}

/// A job-log line for an annotation: `ERROR: file:line: title: message`, the level word
/// coloured (GitLab's log renders ANSI colours) unless `colour` is off (`NO_COLOR`).
pub fn log_annotation(
    colour: bool,
    level: Level,
    file: Option<&str>,
    line: Option<u32>,
    title: Option<&str>,
    message: &str,
) -> String {
    let (color, word) = match level {
        Level::Error => ("\x1b[31;1m", "ERROR"),
        Level::Warning => ("\x1b[33;1m", "WARNING"),
        Level::Notice => ("\x1b[36;1m", "NOTICE"),
    };
    let mut loc = String::new();
    if let Some(f) = file {
        loc.push_str(f);
        if let Some(l) = line {
            loc.push_str(&format!(":{l}"));
        }
        loc.push_str(": ");
    }
    if let Some(t) = title {
        loc.push_str(t);
        loc.push_str(": ");
    }
    let text = escape::log_line(&format!("{loc}{message}"));
    if colour {
        format!("{color}{word}\x1b[0m: {text}\n")
    } else {
        format!("{word}: {text}\n")
    }
}

/// One entry of a GitLab code-quality report (Code Climate subset GitLab reads).
pub fn code_quality_entry(
    level: Level,
    file: &str,
    line: u32,
    title: Option<&str>,
    message: &str,
) -> serde_json::Value {
    let severity = match level {
        Level::Error => "major",
        Level::Warning => "minor",
        Level::Notice => "info",
    };
    let description = match title {
        Some(t) => format!("{t}: {message}"),
        None => message.to_string(),
    };
    let fingerprint = fingerprint(&[severity, file, &line.to_string(), &description]);
    serde_json::json!({
        "description": description,
        "check_name": title.unwrap_or("relman"),
        "fingerprint": fingerprint,
        "severity": severity,
        "location": { "path": file, "lines": { "begin": line.max(1) } }
    })
}

/// A stable fingerprint (FNV-1a, 2×64 bits): the same finding keeps it across pipelines, so
/// GitLab can tell new findings from old ones.
fn fingerprint(parts: &[&str]) -> String {
    let mut out = String::new();
    for seed in [0xcbf2_9ce4_8422_2325_u64, 0x6c62_272e_07bb_0142] {
        let mut h = seed;
        for p in parts {
            for b in p.bytes().chain(std::iter::once(0)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        assert_eq!(
            section_start(1700000000, "release notes", "Release notes", true),
            "\x1b[0Ksection_start:1700000000:release_notes[collapsed=true]\r\x1b[0KRelease notes\n"
        );
        assert_eq!(
            section_start(1, "a", "h", false),
            "\x1b[0Ksection_start:1:a\r\x1b[0Kh\n"
        );
        assert_eq!(
            section_end(1700000001, "release notes"),
            "\x1b[0Ksection_end:1700000001:release_notes\r\x1b[0K\n"
        );
    }

    #[test]
    fn header_cannot_forge_a_section() {
        let s = section_start(1, "n", "x\x1b[0Ksection_end:1:n\r\x1b[0K\nfake", false);
        assert_eq!(s.matches('\x1b').count(), 2, "{s:?}");
        assert_eq!(s.matches('\n').count(), 1);
    }

    #[test]
    fn log_annotation_line() {
        assert_eq!(
            log_annotation(true, Level::Error, Some("a.rs"), Some(3), Some("T"), "m\nx"),
            "\x1b[31;1mERROR\x1b[0m: a.rs:3: T: m\u{FFFD}x\n"
        );
        assert_eq!(
            log_annotation(true, Level::Notice, None, None, None, "m"),
            "\x1b[36;1mNOTICE\x1b[0m: m\n"
        );
        assert_eq!(
            log_annotation(false, Level::Warning, None, None, None, "m"),
            "WARNING: m\n"
        );
    }

    #[test]
    fn code_quality() {
        let e = code_quality_entry(Level::Error, "CHANGELOG.md", 0, Some("relman"), "bad");
        assert_eq!(e["severity"], "major");
        assert_eq!(e["location"]["path"], "CHANGELOG.md");
        assert_eq!(e["location"]["lines"]["begin"], 1);
        assert_eq!(e["description"], "relman: bad");
        let again = code_quality_entry(Level::Error, "CHANGELOG.md", 0, Some("relman"), "bad");
        assert_eq!(e["fingerprint"], again["fingerprint"]);
        let other = code_quality_entry(Level::Error, "CHANGELOG.md", 0, Some("relman"), "bad!");
        assert_ne!(e["fingerprint"], other["fingerprint"]);
        assert_eq!(e["fingerprint"].as_str().map(str::len), Some(32));
    }
}
