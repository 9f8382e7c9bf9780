//! Escaping for GitHub workflow commands (`::name key=value::data`).
//!
//! The runner unescapes exactly these sequences, so escaping them is what keeps a value from
//! ending the command early (a newline) or adding a property (`,` or `:` in a property value).
//! Reference: actions/toolkit `command.ts` (`escapeData`, `escapeProperty`).

/// Escapes the data part of a workflow command: `%`, `\r`, `\n`.
pub fn data(s: &str) -> String {
    escape(s, false)
}

/// Escapes a property value of a workflow command: as [`data`], plus `:` and `,`.
pub fn property(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// A GitLab collapsible-section name: only `[A-Za-z0-9_.-]` survive, the rest become `_`.
pub fn section_name(title: &str) -> String {
    let name: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "section".to_string()
    } else {
        name
    }
}

/// Text for one GitLab log line: control characters other than tab become U+FFFD, so untrusted
/// text cannot draw fake sections (`ESC[0K section_start…`), move the cursor or end the line.
pub fn log_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Text for one line of a GitHub step log that must not be read as a workflow command, for
/// streams that cannot be fenced (stderr): control characters as in [`log_line`] (the runner
/// also splits lines at `\r`), a line whose trimmed start is `::` gets a `\\` in front, and
/// `##[` (the old command syntax, matched anywhere in a line) becomes `#\\#[`.
pub fn github_log_line(s: &str) -> String {
    let clean = log_line(s).replace("##[", "#\\#[");
    if clean.trim_start().starts_with("::") {
        format!("\\{clean}")
    } else {
        clean
    }
}

/// Repository text (commit subjects, test names, PR titles) made inert inside a markdown job
/// summary: one line (control characters become spaces, so no heading, list or fence can
/// start), `|` escaped (a table stays a table), `<`, `>`, `&` as entities (no HTML, no hidden
/// comment swallowing the rest), `[` `]` escaped (no link or image), and a backtick becomes
/// `'` (no code span eating the row). Used by the gate's table cells and the changelog's
/// summary, whose templates stay markdown while the values they interpolate do not.
pub fn markdown_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if c.is_control() => out.push(' '),
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push('\''),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            c => out.push(c),
        }
    }
    out
}

/// JSON text a runner can print without obeying any of it: JSON already escapes control
/// characters (so no line break, `\r` or ESC from a string, and every line starts with a quote,
/// a bracket, a brace or a digit, never `::`); `##[`, which GitHub's runner matches anywhere in
/// a line, can only occur inside a string, where `#\u0023[` parses to the same text.
pub fn inert_json(json: &str) -> String {
    json.replace("##[", "#\\u0023[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_cr_lf_only() {
        assert_eq!(data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(
            data("%0A"),
            "%250A",
            "an already-escaped sequence must not be unescaped by the runner"
        );
        assert_eq!(data(""), "");
        assert_eq!(data("naïve ✓"), "naïve ✓");
    }

    #[test]
    fn property_also_escapes_colon_and_comma() {
        assert_eq!(property("src/a,b.rs:1"), "src/a%2Cb.rs%3A1");
        assert_eq!(property("x%\r\n"), "x%25%0D%0A");
        assert_eq!(property("::error::"), "%3A%3Aerror%3A%3A");
    }

    #[test]
    fn escaped_values_never_contain_raw_separators() {
        let nasty = "::error file=x,line=1::boom\n::add-mask::%0A,:\r";
        let p = property(nasty);
        assert!(!p.contains([':', ',', '\n', '\r']));
        let d = data(nasty);
        assert!(!d.contains(['\n', '\r']));
    }

    #[test]
    fn section_names_are_restricted() {
        assert_eq!(section_name("Release notes v1.2"), "Release_notes_v1.2");
        assert_eq!(section_name("\x1b[0K:evil"), "__0K_evil");
        assert_eq!(section_name(""), "section");
        assert_eq!(section_name(&"a".repeat(100)).len(), 64);
    }

    #[test]
    fn github_log_lines_are_never_commands() {
        assert_eq!(github_log_line("::error::x"), "\\::error::x");
        assert_eq!(
            github_log_line(" \u{a0}::add-mask::x"),
            "\\ \u{a0}::add-mask::x"
        );
        assert_eq!(
            github_log_line("a ##[set-output name=v;]go"),
            "a #\\#[set-output name=v;]go"
        );
        assert_eq!(github_log_line("###[x"), "##\\#[x");
        assert_eq!(github_log_line("a\r::error::x"), "a\u{FFFD}::error::x");
        assert_eq!(
            github_log_line("relman: error: a::b"),
            "relman: error: a::b"
        );
        for s in ["::x", "##[x", "\t::x", "#\u{85}::x", "##\u{0}##[["] {
            let l = github_log_line(s);
            assert!(
                !l.trim_start().starts_with("::") && !l.contains("##["),
                "{s:?} -> {l:?}"
            );
        }
    }

    #[test]
    fn log_lines_lose_control_characters() {
        assert_eq!(
            log_line("a\x1b[0Kb\r\nc\td"),
            "a\u{FFFD}[0Kb\u{FFFD}\u{FFFD}c\td"
        );
    }

    #[test]
    fn json_stays_json_and_holds_no_command() {
        let value = serde_json::json!({"name": "x\n::set-output name=a::b\r##[error]y\u{1b}[0K"});
        let inert = inert_json(&serde_json::to_string_pretty(&value).unwrap());
        assert!(!inert.contains("##["), "{inert}");
        assert!(
            inert
                .lines()
                .all(|l| !l.trim_start().starts_with("::") && !l.contains('\x1b')),
            "{inert}"
        );
        let back: serde_json::Value = serde_json::from_str(&inert).unwrap();
        assert_eq!(back, value);
    }
}
