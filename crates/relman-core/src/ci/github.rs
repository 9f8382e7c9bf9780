//! GitHub Actions workflow commands, as text. Writing them is [`super::Runtime`]'s job.

use super::Level;
use super::escape;
use super::random;

/// `::error file=F,line=L,title=T::message` — properties escaped with [`escape::property`],
/// the message with [`escape::data`]; absent properties are left out. `##[` (the runner's old
/// command syntax, which it looks for anywhere in a line) becomes `#\#[` in every part: the
/// runner reads a valid `::` command first today, but an annotation must stay inert if a
/// part ever makes it invalid.
pub fn annotation(
    level: Level,
    file: Option<&str>,
    line: Option<u32>,
    title: Option<&str>,
    message: &str,
) -> String {
    let mut props = Vec::new();
    if let Some(f) = file {
        props.push(format!("file={}", escape::property(&inert(f))));
    }
    if let Some(l) = line {
        props.push(format!("line={l}"));
    }
    if let Some(t) = title {
        props.push(format!("title={}", escape::property(&inert(t))));
    }
    let name = match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Notice => "notice",
    };
    let sep = if props.is_empty() { "" } else { " " };
    format!(
        "::{name}{sep}{}::{}\n",
        props.join(","),
        escape::data(&inert(message))
    )
}

fn inert(s: &str) -> String {
    s.replace("##[", "#\\#[")
}

/// `::add-mask::` lines for a secret: the whole value, and each line of a multi-line value
/// (the runner masks per log line, so a multi-line secret would otherwise leak line by line).
pub fn mask(secret: &str) -> String {
    let mut out = String::new();
    if secret.trim().is_empty() {
        return out;
    }
    out.push_str(&format!("::add-mask::{}\n", escape::data(secret)));
    if secret.contains(['\n', '\r']) {
        for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push_str(&format!("::add-mask::{}\n", escape::data(line)));
        }
    }
    out
}

/// `::group::title` (the title escaped as data).
pub fn group_start(title: &str) -> String {
    format!("::group::{}\n", escape::data(title))
}

/// `::endgroup::`.
pub fn group_end() -> String {
    "::endgroup::\n".to_string()
}

/// Untrusted text between `::stop-commands::TOKEN` and `::TOKEN::`: the runner reads no
/// workflow command in between. The token is random and does not occur in the text, so the text
/// cannot resume command processing itself. A final newline is added if missing, so the resume
/// marker starts its own line.
pub fn stop_commands(text: &str) -> String {
    let token = random::token_not_in("relman", text);
    stop_commands_with(text, &token)
}

fn stop_commands_with(text: &str, token: &str) -> String {
    let nl = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("::stop-commands::{token}\n{text}{nl}::{token}::\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_with_all_properties() {
        assert_eq!(
            annotation(
                Level::Error,
                Some("src/a,b.rs"),
                Some(12),
                Some("bad: thing"),
                "50% done\nnext"
            ),
            "::error file=src/a%2Cb.rs,line=12,title=bad%3A thing::50%25 done%0Anext\n"
        );
    }

    #[test]
    fn annotation_without_properties() {
        assert_eq!(
            annotation(Level::Warning, None, None, None, "w"),
            "::warning::w\n"
        );
        assert_eq!(
            annotation(Level::Notice, None, Some(3), None, "n"),
            "::notice line=3::n\n"
        );
    }

    #[test]
    fn annotation_message_cannot_inject_a_command() {
        let a = annotation(
            Level::Error,
            Some("f::x"),
            None,
            None,
            "m\n::add-mask::x\r::set-output name=a::b",
        );
        assert_eq!(a.lines().count(), 1, "{a}");
        assert!(a.starts_with("::error file=f%3A%3Ax::m%0A::add-mask::x%0D::set-output"));
    }

    #[test]
    fn annotation_parts_cannot_carry_the_old_command_syntax() {
        let a = annotation(
            Level::Error,
            Some("a##[set-env name=X]y"),
            None,
            Some("t ##[add-path]/tmp"),
            "m ##[set-output name=a]b",
        );
        assert!(!a.contains("##["), "{a}");
        assert_eq!(
            a,
            "::error file=a#\\#[set-env name=X]y,title=t #\\#[add-path]/tmp::m #\\#[set-output \
             name=a]b\n"
        );
    }

    #[test]
    fn mask_lines() {
        assert_eq!(mask("s3cr%t"), "::add-mask::s3cr%25t\n");
        assert_eq!(mask(""), "");
        assert_eq!(mask("  "), "");
        assert_eq!(
            mask("a\nb"),
            "::add-mask::a%0Ab\n::add-mask::a\n::add-mask::b\n"
        );
    }

    #[test]
    fn groups() {
        assert_eq!(
            group_start("Notes\n::error::x"),
            "::group::Notes%0A::error::x\n"
        );
        assert_eq!(group_end(), "::endgroup::\n");
    }

    #[test]
    fn stop_commands_layout() {
        assert_eq!(
            stop_commands_with("a\n", "T"),
            "::stop-commands::T\na\n::T::\n"
        );
        assert_eq!(
            stop_commands_with("a", "T"),
            "::stop-commands::T\na\n::T::\n"
        );
        assert_eq!(stop_commands_with("", "T"), "::stop-commands::T\n::T::\n");
    }

    #[test]
    fn stop_commands_token_is_random_and_absent_from_text() {
        let text = "::error::x\n::stop-commands::relman\n::relman::\n::add-mask::y\n%0A\n";
        let a = stop_commands(text);
        let b = stop_commands(text);
        assert_ne!(a, b);
        let first = a.lines().next().expect("line");
        let token = first.strip_prefix("::stop-commands::").expect("marker");
        assert!(token.len() >= 32);
        assert!(!text.contains(token));
        assert!(a.ends_with(&format!("::{token}::\n")));
        // The text sits between the markers, untouched.
        assert!(a.contains(text));
    }
}
