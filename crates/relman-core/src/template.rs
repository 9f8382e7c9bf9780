//! Template environment shared by every concern (release notes now; gate reports later).

use crate::error::{Error, Result};

/// A minijinja environment with relman's settings: blocks trimmed so templates can be laid
/// out readably, undefined variables are errors (a typo must not render as empty), and no
/// auto-escaping (the output is markdown, not HTML).
pub fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // A user template comes from the repository: fuel bounds each render's instructions and
    // allocations (nested loops over `range(100000)` never ending, a join of huge strings), so
    // a hostile template fails with an error instead of running forever or exhausting memory.
    env.set_fuel(Some(TEMPLATE_FUEL));
    env
}

/// Fuel for one render (one release's notes): one per instruction, one per 64 bytes
/// allocated. 50 million is tens of times what a 100,000-commit release takes, and caps a
/// render's allocations near 3 GB.
pub const TEMPLATE_FUEL: u64 = 50_000_000;

/// Adds a template, naming it in errors (`name` is the file path for user templates).
pub fn add(env: &mut minijinja::Environment<'static>, name: &str, source: String) -> Result<()> {
    env.add_template_owned(name.to_string(), source.clone())
        .map_err(|e| template_error(name, &e, Some(&source)))
}

/// A template error with its line, as minijinja reports it; `source` (the template text), when
/// given, lets the message quote the failing line, which names the variable at fault.
pub fn template_error(name: &str, e: &minijinja::Error, source: Option<&str>) -> Error {
    let mut message = e
        .detail()
        .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
    if let Some(line) = e.line() {
        message = format!("line {line}: {message}");
        if let Some(text) = source.and_then(|s| s.lines().nth(line.saturating_sub(1))) {
            message = format!("{message}\n  | {}", text.trim_end());
        }
    }
    Error::Template {
        name: name.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn endless_template_loops_run_out_of_fuel() {
        let mut env = super::environment();
        super::add(
            &mut env,
            "t.md",
            "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}"
                .into(),
        )
        .expect("parses");
        let started = std::time::Instant::now();
        let e = env
            .get_template("t.md")
            .expect("added")
            .render(())
            .expect_err("out of fuel");
        assert_eq!(e.kind(), minijinja::ErrorKind::OutOfFuel, "{e}");
        assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    }
}
