//! The one registry of environment variables: flags' variables read from their clap definitions,
//! the rest from [`relman_core::vars`], outputs from each concern's `outputs` module.
//!
//! `relman config variables` prints it as markdown (docs/reference/env.md, checked for
//! staleness by tests/surfaces.rs), and [`problems`] checks the naming scheme: `RELMAN_<FLAG>`
//! for a flag every command takes, `RELMAN_<COMMAND>_<FLAG>` for one command's flag, nothing
//! declared twice, nothing in the outputs' `RELMAN_OUT_` namespace.

use clap::{ArgAction, CommandFactory};
use relman_core::vars::{self, OUTPUT_PREFIX, Output, Use};

use crate::cli::Cli;

/// A flag and the variable it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagVariable {
    /// The variable (`RELMAN_CHANGELOG_TAG`); empty for a [`FLAG_ONLY`] flag.
    pub name: String,
    /// The subcommands it belongs to (`["changelog"]`; empty for a flag of every command).
    pub command: Vec<String>,
    /// The long flag (`tag`).
    pub long: String,
    /// A boolean switch (`--publish`), given as `true`/`false` from the environment.
    pub switch: bool,
    /// A counted flag (`-vv`), given as a number from the environment.
    pub count: bool,
    /// Its default, as clap shows it (empty: none).
    pub default: String,
    /// The values it accepts (empty: any).
    pub values: Vec<String>,
    /// Its help, first paragraph.
    pub help: String,
}

/// Flags deliberately without a variable, with the reason (command path, long flag).
pub const FLAG_ONLY: &[(&str, &str, &str)] = &[(
    "gate",
    "base",
    "a base from the environment is only a rehearsal, read as RELMAN_GATE_BASE (below)",
)];

/// Subcommands that are tools, not concerns run as a CI step: no action, component or output.
pub const TOOLS: &[&str] = &["audit", "config"];

/// The concerns (the subcommands a CI step runs), in the binary's order.
pub fn concerns() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| !TOOLS.contains(&n.as_str()))
        .collect()
}

/// The outputs a concern declares (`None`: the concern declares none, which tests/surfaces.rs
/// reports).
pub fn outputs(concern: &str) -> Option<&'static [Output]> {
    match concern {
        "changelog" => Some(relman_changelog::outputs::ALL),
        "gate" => Some(relman_gate::outputs::ALL),
        "rollback" => Some(relman_rollback::outputs::ALL),
        _ => None,
    }
}

/// Every flag of `cmd` and its subcommands that reads a variable, in definition order.
pub fn flag_variables(cmd: &clap::Command) -> Vec<FlagVariable> {
    let mut out = flags(cmd);
    out.retain(|f| !f.name.is_empty());
    out
}

/// Every visible long flag of `cmd` and its subcommands, with its variable or without
/// (`name` empty), in definition order.
pub fn flags(cmd: &clap::Command) -> Vec<FlagVariable> {
    let mut out = Vec::new();
    walk(cmd, &mut Vec::new(), &mut out);
    out
}

fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<FlagVariable>) {
    for arg in cmd.get_arguments() {
        let builtin = matches!(arg.get_action(), ArgAction::Help | ArgAction::Version);
        if arg.get_long().is_none() || arg.is_hide_set() || builtin {
            continue;
        }
        let env = arg.get_env().unwrap_or_default();
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let help = help.split("\n\n").next().unwrap_or("").replace('\n', " ");
        out.push(FlagVariable {
            name: env.to_string_lossy().into_owned(),
            command: path.clone(),
            long: arg.get_long().unwrap_or(arg.get_id().as_str()).to_string(),
            switch: matches!(arg.get_action(), ArgAction::SetTrue),
            count: matches!(arg.get_action(), ArgAction::Count),
            default: arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(","),
            values: arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect(),
            help,
        });
    }
    for sub in cmd.get_subcommands() {
        path.push(sub.get_name().to_string());
        walk(sub, path, out);
        path.pop();
    }
}

/// The variable a flag must read: `RELMAN_` + the subcommand path + the long flag.
pub fn expected_name(command: &[String], long: &str) -> String {
    let mut parts: Vec<String> = command.iter().map(|c| c.to_ascii_uppercase()).collect();
    parts.push(long.to_ascii_uppercase());
    format!("RELMAN_{}", parts.join("_").replace('-', "_"))
}

/// Where `cmd`'s variables break the scheme: a flag reading a name other than its own (two
/// meanings for one name), a flag reading no variable without a [`FLAG_ONLY`] reason, a name
/// declared twice, or one in the outputs' namespace.
pub fn problems(cmd: &clap::Command) -> Vec<String> {
    let mut found = Vec::new();
    let flags = flag_variables(cmd);
    let mut seen = std::collections::BTreeMap::new();
    for f in &flags {
        let want = expected_name(&f.command, &f.long);
        if f.name != want {
            found.push(format!(
                "{} --{} reads {}; its variable is {want}",
                command_text(&f.command),
                f.long,
                f.name
            ));
        }
        if f.name.starts_with(OUTPUT_PREFIX) {
            found.push(format!("{} is in the outputs' namespace", f.name));
        }
        if let Some(other) = seen.insert(f.name.clone(), f.long.clone()) {
            found.push(format!(
                "{} is read by --{other} and --{} (one name, one meaning)",
                f.name, f.long
            ));
        }
    }
    for v in vars::ALL {
        if seen.contains_key(v.name) {
            found.push(format!(
                "{} is both a flag's variable and declared in relman_core::vars",
                v.name
            ));
        }
    }
    for (old, _) in vars::RENAMED {
        if seen.contains_key(*old) || vars::ALL.iter().any(|v| v.name == *old) {
            found.push(format!("{old} is listed as renamed but still read"));
        }
    }
    without_variable(cmd, &mut Vec::new(), &mut found);
    found
}

fn without_variable(cmd: &clap::Command, path: &mut Vec<String>, found: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue }; // positional, or short only
        let builtin = matches!(arg.get_action(), ArgAction::Help | ArgAction::Version);
        if arg.get_env().is_some() || builtin || arg.is_hide_set() {
            continue;
        }
        let excused = FLAG_ONLY
            .iter()
            .any(|(c, l, _)| *c == path.join(" ") && *l == long);
        if !excused {
            found.push(format!(
                "{} --{long} reads no variable (every flag must be settable from CI)",
                command_text(path)
            ));
        }
    }
    for sub in cmd.get_subcommands() {
        path.push(sub.get_name().to_string());
        without_variable(sub, path, found);
        path.pop();
    }
}

fn command_text(path: &[String]) -> String {
    if path.is_empty() {
        "relman".to_string()
    } else {
        format!("relman {}", path.join(" "))
    }
}

/// A markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('\n', " ")
        .trim()
        .to_string()
}

/// The reference of every variable, as markdown (docs/reference/env.md).
pub fn markdown() -> String {
    let cmd = Cli::command();
    let flags = flag_variables(&cmd);
    let mut md = String::from(
        "# Environment variables\n\n\
         <!-- Generated by `relman config variables > docs/reference/env.md`; tests/surfaces.rs \
         fails when this file is stale. -->\n\n\
         Each name means one thing:\n\n\
         - `RELMAN_<FLAG>`: a flag every command takes.\n\
         - `RELMAN_<COMMAND>_<FLAG>`: a flag of one command (`RELMAN_CHANGELOG_FORMAT` is \
         markdown or json, `RELMAN_GATE_FORMAT` text or json).\n\
         - `RELMAN_OUT_<OUTPUT>`: an output in GitLab's dotenv report. No flag reads this prefix, \
         so an upstream job's outputs never become a downstream job's inputs.\n\n\
         A flag on the command line wins over its variable. A switch reads `true` or `false`; \
         the actions and components leave an input at its default (`\"\"`, `false`) unset.\n",
    );
    let mut groups: Vec<Vec<String>> = Vec::new();
    for f in &flags {
        if !groups.contains(&f.command) {
            groups.push(f.command.clone());
        }
    }
    for group in groups {
        let title = if group.is_empty() {
            "Every command".to_string()
        } else {
            format!("`{}`", command_text(&group))
        };
        md.push_str(&format!(
            "\n## {title}\n\n| Variable | Flag | Default | Meaning |\n|---|---|---|---|\n"
        ));
        for f in flags.iter().filter(|f| f.command == group) {
            let mut meaning = cell(&f.help);
            if !meaning.is_empty() && !meaning.ends_with(['.', ')']) {
                meaning.push('.');
            }
            if !f.values.is_empty() && !f.switch {
                meaning.push_str(&format!(" One of: {}.", f.values.join(", ")));
            }
            if f.switch {
                meaning.push_str(" `true` or `false`.");
            }
            if f.count {
                meaning.push_str(" A number.");
            }
            let default = if f.count {
                "`0`".to_string()
            } else if f.default.is_empty() {
                String::new()
            } else {
                format!("`{}`", cell(&f.default))
            };
            md.push_str(&format!(
                "| `{}` | `--{}` | {default} | {meaning} |\n",
                f.name, f.long
            ));
        }
    }
    md.push_str("\n## Not flags\n\n| Variable | Set by | Meaning |\n|---|---|---|\n");
    for v in vars::ALL {
        let by = match v.use_ {
            Use::Read => "you or the CI",
            Use::Written => "relman",
        };
        md.push_str(&format!("| `{}` | {by} | {} |\n", v.name, cell(v.meaning)));
    }
    md.push_str(
        "\n## Renamed\n\nNames relman 0.1 read, no longer read (a warning names each one set).\n\n\
         | Old | New |\n|---|---|\n",
    );
    for (old, new) in vars::RENAMED {
        let new: Vec<String> = new
            .split(", ")
            .flat_map(|part| part.split(" or "))
            .map(|n| format!("`{n}`"))
            .collect();
        md.push_str(&format!("| `{old}` | {} |\n", new.join(" or ")));
    }
    md.push_str(
        "\n## Outputs\n\nGitHub: step outputs by name. GitLab: lines of the dotenv report \
         (`artifacts:reports:dotenv`), variables of the jobs that need this one; a multi-line \
         value is written to a file whose name the `_FILE` variable holds.\n\n\
         | Command | Output | GitLab variable | Meaning |\n|---|---|---|---|\n",
    );
    for concern in concerns() {
        for o in outputs(&concern).unwrap_or_default() {
            md.push_str(&format!(
                "| `{concern}` | `{}` | `{}` | {} |\n",
                o.name,
                o.dotenv_variable(),
                cell(o.meaning)
            ));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_follows_the_scheme() {
        assert_eq!(problems(&Cli::command()), Vec::<String>::new());
    }

    #[test]
    fn a_name_shared_by_two_commands_is_reported() {
        // What `RELMAN_FORMAT` was: markdown|json to changelog, text|json to gate.
        let cmd = clap::Command::new("relman")
            .subcommand(
                clap::Command::new("changelog")
                    .arg(clap::Arg::new("format").long("format").env("RELMAN_FORMAT")),
            )
            .subcommand(
                clap::Command::new("gate")
                    .arg(clap::Arg::new("format").long("format").env("RELMAN_FORMAT"))
                    .arg(clap::Arg::new("policy").long("policy")),
            );
        let found = problems(&cmd);
        assert!(
            found.contains(
                &"relman changelog --format reads RELMAN_FORMAT; its variable is RELMAN_CHANGELOG_FORMAT"
                    .to_string()
            ),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("RELMAN_FORMAT is read by --format and --format")),
            "{found:?}"
        );
        assert!(
            found.contains(
                &"relman gate --policy reads no variable (every flag must be settable from CI)"
                    .to_string()
            ),
            "{found:?}"
        );
    }

    #[test]
    fn an_output_name_as_input_is_reported() {
        let cmd = clap::Command::new("relman").subcommand(
            clap::Command::new("out").arg(
                clap::Arg::new("report")
                    .long("report")
                    .env("RELMAN_OUT_REPORT"),
            ),
        );
        assert!(
            problems(&cmd)
                .iter()
                .any(|p| p == "RELMAN_OUT_REPORT is in the outputs' namespace"),
            "{:?}",
            problems(&cmd)
        );
    }

    #[test]
    fn every_concern_declares_its_outputs() {
        for c in concerns() {
            assert!(outputs(&c).is_some(), "{c} declares no outputs");
        }
    }
}
