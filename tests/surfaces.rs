//! The surfaces cannot drift from the command line: every `action.yml` and `templates/*.yml` is
//! read beside the clap definitions (`relman::cli::Cli`), and the checker reports
//!
//! - an input that maps to no flag (nor to the install step or the job's own plumbing),
//! - an input whose default differs from its flag's, or whose GitLab type or options do not fit
//!   the flag,
//! - a concern whose action and component disagree (inputs, defaults),
//! - an action whose outputs are not the ones its concern declares (`<concern>::outputs`), a root
//!   action missing a concern's outputs,
//! - a concern without its action, component, release-matrix entry, place in the release
//!   pipeline, or e2e run (a workflow using the action and a pipeline including the component,
//!   both run by tests/ci-e2e/run.sh),
//! - a stale docs/reference/env.md.
//!
//! The checker works on file texts, so its own tests feed it a deliberate mismatch.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::CommandFactory;
use relman::variables::{self, FlagVariable};
use serde_yaml::Value;

/// Action inputs that feed the install step or the token, not a flag.
const ACTION_PLUMBING: &[&str] = &["version", "use-path", "download-url", "sha256", "token"];
/// The root action's inputs that scripts/ci-run.sh reads itself (the command, its arguments).
const ROOT_SCRIPT_VARS: &[&str] = &["RELMAN_COMMAND", "RELMAN_ARGS"];
const ROOT_PLUMBING: &[&str] = &[
    "version",
    "use-path",
    "download-url",
    "sha256",
    "token",
    "command",
    "args",
];
/// Component inputs that shape the job itself, not a flag.
const COMPONENT_PLUMBING: &[&str] = &[
    "job-name",
    "stage",
    "image",
    "rules",
    "needs",
    "allow-failure",
    "git-depth",
];
/// Flags deliberately left off the action and the component, with the reason.
const NOT_ON_SURFACES: &[(&str, &str, &str)] = &[
    (
        "gate",
        "now",
        "a rehearsal clock; an input would invite a decision at another time than now",
    ),
    (
        "gate",
        "format",
        "the log stays text; the JSON report is the `report` output",
    ),
    (
        "gate",
        "dry-run",
        "for a developer's machine: a CI job is where the forge answers and the verdict counts",
    ),
    (
        "rollback",
        "format",
        "the log stays text; what was done is in the outputs and the job summary",
    ),
];

/// Concerns whose command has landed before its surfaces (action, component, release matrix
/// and pipeline entries, e2e runs), with who adds them. Only those checks are skipped, and only
/// until the concern's action.yml exists: from then on the entry itself is reported, so it
/// cannot outlive the surfaces it waits for.
const SURFACES_TO_COME: &[(&str, &str)] = &[];

/// Concerns that are no step of a release, with the reason: templates/release-pipeline.yml must
/// not include them (and is not asked to). Every other concern must be in it.
const NOT_IN_RELEASE_PIPELINE: &[(&str, &str)] = &[(
    "rollback",
    "a rollback answers an incident (by hand, or a failed deploy job); a release pipeline that \
     rolled back on every run would undo the release it makes",
)];

/// Whether `concern`'s surfaces are still to come (listed, and its action not there yet).
fn surfaces_to_come(tree: &Tree, concern: &str, found: &mut Vec<String>) -> bool {
    surfaces_to_come_in(SURFACES_TO_COME, tree, concern, found)
}

fn surfaces_to_come_in(
    list: &[(&str, &str)],
    tree: &Tree,
    concern: &str,
    found: &mut Vec<String>,
) -> bool {
    if !list.iter().any(|(c, _)| *c == concern) {
        return false;
    }
    if tree.contains_key(&format!("{concern}/action.yml")) {
        found.push(format!(
            "{concern}/action.yml exists: remove {concern} from SURFACES_TO_COME in tests/surfaces.rs"
        ));
        return false;
    }
    true
}

/// The repository files the checker reads, by path.
type Tree = BTreeMap<String, String>;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn load_tree() -> Tree {
    let mut tree = Tree::new();
    let mut add = |rel: &str| {
        if let Ok(text) = std::fs::read_to_string(root().join(rel)) {
            tree.insert(rel.to_string(), text);
        }
    };
    add("action.yml");
    add("scripts/ci-run.sh");
    add(".github/workflows/release.yml");
    add("tests/ci-e2e/run.sh");
    add("docs/reference/env.md");
    for concern in variables::concerns() {
        add(&format!("{concern}/action.yml"));
    }
    for dir in ["templates", "tests/ci-e2e/workflows", "tests/ci-e2e/gitlab"] {
        let mut names: Vec<_> = std::fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yml"))
            .collect();
        names.sort();
        for n in names {
            add(&format!("{dir}/{n}"));
        }
    }
    tree
}

/// A YAML scalar as the text a CI passes (`false`, `0`, `markdown`); `""` when absent.
fn scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn str_map(v: Option<&Value>) -> Vec<(String, &Value)> {
    v.and_then(|v| v.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                .collect()
        })
        .unwrap_or_default()
}

/// One input of a surface and where it goes.
#[derive(Debug, Clone)]
struct Input {
    default: String,
    /// GitLab `type` (empty: string).
    kind: String,
    /// GitLab `options`.
    options: Vec<String>,
    target: Target,
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A flag, read through its own variable or passed on the command line
    /// (`RELMAN_INPUT_<FLAG>`); `negated`: the input is `x`, the flag `--no-x`.
    Flag { long: String, negated: bool },
    /// Plumbing of the surface (install step, token, job shape).
    Plumbing,
    /// Nothing the checker can follow.
    Nowhere(String),
}

/// The flags a concern's surfaces may map to: the concern's and every command's.
fn concern_flags(all: &[FlagVariable], concern: &str) -> Vec<FlagVariable> {
    all.iter()
        .filter(|f| f.command.is_empty() || f.command == [concern.to_string()])
        .cloned()
        .collect()
}

/// The flag `var` (as set on a surface) stands for.
fn flag_for_variable(
    var: &str,
    flags: &[FlagVariable],
    concern_longs: &BTreeSet<String>,
    script: &str,
) -> Option<(String, bool)> {
    if let Some(f) = flags.iter().find(|f| !f.name.is_empty() && f.name == var) {
        return Some((f.long.clone(), false));
    }
    // `RELMAN_INPUT_<FLAG>`: the surface's script passes it on the command line (a flag whose
    // variable means a rehearsal), or as `--no-<flag>` when it is `false`.
    let rest = var.strip_prefix("RELMAN_INPUT_")?;
    let long = rest.to_ascii_lowercase().replace('_', "-");
    // The script must read it beyond the line that sets it.
    if script.matches(var).count() < 2 {
        return None;
    }
    if concern_longs.contains(&long) {
        return Some((long, false));
    }
    let no = format!("no-{long}");
    concern_longs.contains(&no).then_some((no, true))
}

/// `${{ inputs.x }}` → x; `${{ inputs.x == 'false' }}` → x, negated.
fn github_expr(value: &str) -> Option<(String, bool)> {
    let inner = value.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim();
    let rest = inner.strip_prefix("inputs.")?;
    match rest.split_once("==") {
        None => Some((rest.trim().to_string(), false)),
        Some((name, cmp)) if cmp.trim() == "'false'" => Some((name.trim().to_string(), true)),
        Some(_) => None,
    }
}

/// `$[[ inputs.x ]]` (alone) → x.
fn gitlab_expr(value: &str) -> Option<String> {
    let inner = value.trim().strip_prefix("$[[")?.strip_suffix("]]")?.trim();
    Some(inner.strip_prefix("inputs.")?.trim().to_string())
}

fn action_inputs(
    doc: &Value,
    flags: &[FlagVariable],
    longs: &BTreeSet<String>,
    script: &str,
) -> BTreeMap<String, Input> {
    let steps = map_get(doc, "runs")
        .and_then(|r| map_get(r, "steps"))
        .and_then(|s| s.as_sequence())
        .cloned()
        .unwrap_or_default();
    let step_env = |id: &str| {
        steps
            .iter()
            .find(|s| scalar(map_get(s, "id")) == id)
            .map(|s| {
                str_map(map_get(s, "env"))
                    .into_iter()
                    .map(|(k, v)| (k, scalar(Some(v))))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let run_env = step_env("run");
    let install_env = step_env("install");
    let mut out = BTreeMap::new();
    for (name, spec) in str_map(map_get(doc, "inputs")) {
        let from_run = run_env.iter().find_map(|(var, value)| {
            let (input, negated) = github_expr(value)?;
            (input == name).then(|| (var.clone(), negated))
        });
        let target = match from_run {
            Some((var, negated_expr)) => match flag_for_variable(&var, flags, longs, script) {
                Some((long, negated_var)) => Target::Flag {
                    long,
                    negated: negated_expr || negated_var,
                },
                None if var == "GITHUB_TOKEN" || ROOT_SCRIPT_VARS.contains(&var.as_str()) => {
                    Target::Plumbing
                }
                None => Target::Nowhere(var),
            },
            None if install_env
                .iter()
                .any(|(_, v)| github_expr(v).is_some_and(|(i, _)| i == name)) =>
            {
                Target::Plumbing
            }
            None => Target::Nowhere(String::new()),
        };
        out.insert(
            name,
            Input {
                default: scalar(map_get(spec, "default")),
                kind: String::new(),
                options: Vec::new(),
                target,
            },
        );
    }
    out
}

/// A component's two documents: the `spec` header and the body.
fn component_docs(text: &str) -> Result<(Value, Value), String> {
    let mut docs: Vec<Value> = Vec::new();
    for d in serde_yaml::Deserializer::from_str(text) {
        docs.push(serde::Deserialize::deserialize(d).map_err(|e| e.to_string())?);
    }
    match <[Value; 2]>::try_from(docs) {
        Ok([spec, body]) => Ok((spec, body)),
        Err(d) => Err(format!(
            "{} YAML documents, expected spec and body",
            d.len()
        )),
    }
}

fn component_inputs(
    spec: &Value,
    body: &Value,
    flags: &[FlagVariable],
    longs: &BTreeSet<String>,
    script: &str,
) -> BTreeMap<String, Input> {
    let job = body
        .as_mapping()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap_or(Value::Null);
    let vars: Vec<(String, String)> = str_map(map_get(&job, "variables"))
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Mapping(_) => scalar(map_get(v, "value")),
                _ => scalar(Some(v)),
            };
            (k, value)
        })
        .collect();
    let body_text = serde_yaml::to_string(body).unwrap_or_default();
    let mut out = BTreeMap::new();
    let inputs = map_get(spec, "spec").and_then(|s| map_get(s, "inputs"));
    for (name, spec) in str_map(inputs) {
        let from_var = vars
            .iter()
            .find(|(_, v)| gitlab_expr(v).as_deref() == Some(name.as_str()));
        let target = match from_var {
            // GitLab's own variables (GIT_DEPTH) shape the job, not relman.
            Some((var, _)) if !var.starts_with("RELMAN_") => Target::Plumbing,
            Some((var, _)) => match flag_for_variable(var, flags, longs, script) {
                Some((long, negated)) => Target::Flag { long, negated },
                None => Target::Nowhere(var.clone()),
            },
            None if COMPONENT_PLUMBING.contains(&name.as_str())
                && body_text.contains(&format!("inputs.{name} ]]")) =>
            {
                Target::Plumbing
            }
            None => Target::Nowhere(String::new()),
        };
        out.insert(
            name,
            Input {
                default: scalar(map_get(spec, "default")),
                kind: scalar(map_get(spec, "type")),
                options: map_get(spec, "options")
                    .and_then(|o| o.as_sequence())
                    .map(|s| s.iter().map(|v| scalar(Some(v))).collect())
                    .unwrap_or_default(),
                target,
            },
        );
    }
    out
}

/// The default an input must have for its flag.
fn flag_default(f: &FlagVariable, negated: bool) -> String {
    if f.switch {
        (if negated { "true" } else { "false" }).to_string()
    } else if f.count {
        if f.default.is_empty() {
            "0".to_string()
        } else {
            f.default.clone()
        }
    } else {
        f.default.clone()
    }
}

/// Every problem found in `tree`; empty when the surfaces agree.
fn check(tree: &Tree) -> Vec<String> {
    let mut found = Vec::new();
    let cmd = relman::cli::Cli::command();
    let all = variables::flags(&cmd);
    let concerns = variables::concerns();
    let read = |path: &str, found: &mut Vec<String>| -> Option<String> {
        let t = tree.get(path).cloned();
        if t.is_none() {
            found.push(format!("{path}: missing"));
        }
        t
    };
    let ci_run = tree.get("scripts/ci-run.sh").cloned().unwrap_or_default();

    for concern in &concerns {
        if surfaces_to_come(tree, concern, &mut found) {
            continue;
        }
        let flags = concern_flags(&all, concern);
        let longs: BTreeSet<String> = flags.iter().map(|f| f.long.clone()).collect();
        let action_path = format!("{concern}/action.yml");
        let component_path = format!("templates/{concern}.yml");
        let github = read(&action_path, &mut found).and_then(|t| {
            serde_yaml::from_str::<Value>(&t)
                .map_err(|e| found.push(format!("{action_path}: {e}")))
                .ok()
        });
        let gitlab = read(&component_path, &mut found).and_then(|t| {
            component_docs(&t)
                .map_err(|e| found.push(format!("{component_path}: {e}")))
                .ok()
                .map(|d| (d, t))
        });
        let gh_inputs = github
            .as_ref()
            .map(|d| action_inputs(d, &flags, &longs, &ci_run))
            .unwrap_or_default();
        let gl_inputs = gitlab
            .as_ref()
            .map(|((spec, body), text)| component_inputs(spec, body, &flags, &longs, text))
            .unwrap_or_default();

        for (path, inputs, plumbing) in [
            (&action_path, &gh_inputs, ACTION_PLUMBING),
            (&component_path, &gl_inputs, COMPONENT_PLUMBING),
        ] {
            for (name, input) in inputs {
                match &input.target {
                    Target::Nowhere(var) => found.push(format!(
                        "{path}: input {name} maps to no flag{}",
                        if var.is_empty() {
                            String::new()
                        } else {
                            format!(" ({var} is read by no flag of relman {concern})")
                        }
                    )),
                    Target::Plumbing if !plumbing.contains(&name.as_str()) => found.push(format!(
                        "{path}: input {name} maps to no flag (only plumbing)"
                    )),
                    Target::Plumbing => {}
                    Target::Flag { long, negated } => {
                        let Some(f) = flags.iter().find(|f| &f.long == long) else {
                            continue;
                        };
                        let want_name = if *negated {
                            long.strip_prefix("no-").unwrap_or(long)
                        } else {
                            long
                        };
                        if name != want_name {
                            found.push(format!(
                                "{path}: input {name} sets --{long}; name it {want_name}"
                            ));
                        }
                        let want = flag_default(f, *negated);
                        if input.default != want {
                            found.push(format!(
                                "{path}: input {name} defaults to {:?}, --{long} to {want:?}",
                                input.default
                            ));
                        }
                        if path == &component_path {
                            let kind = if f.switch {
                                "boolean"
                            } else if f.count {
                                "number"
                            } else {
                                ""
                            };
                            if input.kind != kind && !(kind.is_empty() && input.kind == "string") {
                                found.push(format!(
                                    "{path}: input {name} has type {:?}, --{long} needs {:?}",
                                    input.kind,
                                    if kind.is_empty() { "string" } else { kind }
                                ));
                            }
                            if !f.switch && !f.values.is_empty() && input.options != f.values {
                                found.push(format!(
                                    "{path}: input {name} options {:?}, --{long} takes {:?}",
                                    input.options, f.values
                                ));
                            }
                        }
                    }
                }
            }
            // Every flag is on the surface, or deliberately not.
            for f in &flags {
                let on = inputs
                    .values()
                    .any(|i| matches!(&i.target, Target::Flag { long, .. } if long == &f.long));
                let excused = NOT_ON_SURFACES
                    .iter()
                    .any(|(c, l, _)| c == concern && *l == f.long);
                if !on && !excused {
                    found.push(format!("{path}: no input sets --{}", f.long));
                }
            }
        }

        // The two surfaces of the concern agree.
        if github.is_some() && gitlab.is_some() {
            let flagged = |m: &BTreeMap<String, Input>| -> BTreeMap<String, String> {
                m.iter()
                    .filter(|(_, i)| matches!(i.target, Target::Flag { .. }))
                    .map(|(n, i)| (n.clone(), i.default.clone()))
                    .collect()
            };
            let (gh, gl) = (flagged(&gh_inputs), flagged(&gl_inputs));
            for name in gh.keys().chain(gl.keys()).collect::<BTreeSet<_>>() {
                match (gh.get(name), gl.get(name)) {
                    (Some(a), Some(b)) if a != b => found.push(format!(
                        "{concern}: input {name} defaults to {a:?} in {action_path}, {b:?} in {component_path}"
                    )),
                    (Some(_), None) => found.push(format!(
                        "{concern}: input {name} is in {action_path}, not in {component_path}"
                    )),
                    (None, Some(_)) => found.push(format!(
                        "{concern}: input {name} is in {component_path}, not in {action_path}"
                    )),
                    _ => {}
                }
            }
        }

        // Outputs: the action's are the concern's declared ones.
        let declared: Vec<&str> = variables::outputs(concern)
            .unwrap_or_default()
            .iter()
            .map(|o| o.name)
            .collect();
        if variables::outputs(concern).is_none() {
            found.push(format!(
                "{concern}: declares no outputs ({concern}::outputs::ALL)"
            ));
        }
        if let Some(doc) = &github {
            check_outputs(&action_path, doc, &declared, true, &mut found);
        }

        // Everywhere a concern must be.
        let release = tree
            .get(".github/workflows/release.yml")
            .and_then(|t| serde_yaml::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null);
        let matrix: Vec<String> = map_get(&release, "jobs")
            .and_then(|j| map_get(j, "mirrors"))
            .and_then(|m| map_get(m, "strategy"))
            .and_then(|s| map_get(s, "matrix"))
            .and_then(|m| map_get(m, "action"))
            .and_then(|a| a.as_sequence())
            .map(|s| s.iter().map(|v| scalar(Some(v))).collect())
            .unwrap_or_default();
        if !matrix.contains(concern) {
            found.push(format!(
                ".github/workflows/release.yml: the mirrors matrix has no {concern}"
            ));
        }
        let pipeline = tree
            .get("templates/release-pipeline.yml")
            .cloned()
            .unwrap_or_default();
        let in_pipeline = pipeline.contains(&format!("/{concern}@"));
        let not_a_step = NOT_IN_RELEASE_PIPELINE.iter().any(|(c, _)| c == concern);
        if !in_pipeline && !not_a_step {
            found.push(format!(
                "templates/release-pipeline.yml: does not include the {concern} component"
            ));
        }
        if in_pipeline && not_a_step {
            found.push(format!(
                "templates/release-pipeline.yml: includes the {concern} component, which is \
                 listed in NOT_IN_RELEASE_PIPELINE (no step of a release)"
            ));
        }
        // run.sh's commands, not its comments.
        let run_sh: String = tree
            .get("tests/ci-e2e/run.sh")
            .map(|t| {
                t.lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        // A file under `dir` that run.sh runs, with a line (not a comment) that `uses` it.
        let e2e = |dir: &str, uses: &dyn Fn(&str) -> bool| {
            tree.iter().any(|(p, t)| {
                p.starts_with(dir)
                    && p.rsplit('/')
                        .next()
                        .is_some_and(|file| run_sh.contains(&format!("/{file}")))
                    && t.lines().any(|l| {
                        let l = l.split(" #").next().unwrap_or("").trim();
                        !l.starts_with('#') && uses(l)
                    })
            })
        };
        let action_use = format!("uses: ./{concern}");
        if !e2e("tests/ci-e2e/workflows/", &|l| l.ends_with(&action_use)) {
            found.push(format!(
                "tests/ci-e2e: no workflow run by run.sh uses ./{concern}"
            ));
        }
        let component_use = format!("/{concern}@");
        if !e2e("tests/ci-e2e/gitlab/", &|l| {
            l.starts_with("- component:") && l.contains(&component_use)
        }) {
            found.push(format!(
                "tests/ci-e2e: no pipeline run by run.sh includes the {concern} component"
            ));
        }
        if !ci_run.contains(&format!("{concern}|")) && !ci_run.contains(&format!("|{concern})")) {
            found.push(format!(
                "scripts/ci-run.sh: the command check does not accept {concern}"
            ));
        }
    }

    // The root action runs any concern and exposes every concern's outputs.
    if let Some(text) = read("action.yml", &mut found) {
        match serde_yaml::from_str::<Value>(&text) {
            Err(e) => found.push(format!("action.yml: {e}")),
            Ok(doc) => {
                let mut every = Vec::new();
                let mut unused = Vec::new();
                let concerns: Vec<&String> = concerns
                    .iter()
                    .filter(|c| !surfaces_to_come(tree, c, &mut unused))
                    .collect();
                for c in &concerns {
                    for o in variables::outputs(c).unwrap_or_default() {
                        if !every.contains(&o.name) {
                            every.push(o.name);
                        }
                    }
                }
                check_outputs("action.yml", &doc, &every, false, &mut found);
                // Its own inputs are the flags every command takes, with their defaults.
                let global: Vec<FlagVariable> = all
                    .iter()
                    .filter(|f| f.command.is_empty())
                    .cloned()
                    .collect();
                let longs = global.iter().map(|f| f.long.clone()).collect();
                for (name, input) in action_inputs(&doc, &global, &longs, &ci_run) {
                    match &input.target {
                        Target::Plumbing if ROOT_PLUMBING.contains(&name.as_str()) => {}
                        Target::Flag { long, negated: false } if *long == name => {
                            let f = global.iter().find(|f| f.long == name);
                            let want = f.map(|f| flag_default(f, false)).unwrap_or_default();
                            if input.default != want {
                                found.push(format!(
                                    "action.yml: input {name} defaults to {:?}, --{long} to {want:?}",
                                    input.default
                                ));
                            }
                        }
                        other => found.push(format!(
                            "action.yml: input {name} maps to no flag every command takes ({other:?})"
                        )),
                    }
                }
                for f in &global {
                    if !str_map(map_get(&doc, "inputs"))
                        .iter()
                        .any(|(n, _)| *n == f.long)
                    {
                        found.push(format!("action.yml: no input sets --{}", f.long));
                    }
                }
                let command = map_get(&doc, "inputs")
                    .and_then(|i| map_get(i, "command"))
                    .map(|c| scalar(map_get(c, "description")))
                    .unwrap_or_default();
                let description = scalar(map_get(&doc, "description"));
                for c in &concerns {
                    if !command.contains(c.as_str()) {
                        found.push(format!("action.yml: the command input does not name {c}"));
                    }
                    for (what, text) in [("description", &description), ("command input", &command)]
                    {
                        if announced_to_come(text, c) {
                            found.push(format!(
                                "action.yml: the {what} says {c} is to come; it exists"
                            ));
                        }
                    }
                }
            }
        }
    }

    // The reference docs are the registry's.
    match tree.get("docs/reference/env.md") {
        Some(doc) if *doc == variables::markdown() => {}
        Some(_) => found.push(
            "docs/reference/env.md is stale: run `cargo run -q -- config variables > docs/reference/env.md`"
                .into(),
        ),
        None => found.push("docs/reference/env.md: missing".into()),
    }
    found
}

/// Whether `text` lists `concern` among things "to come" (`changelog; gate, promote to come`).
fn announced_to_come(text: &str, concern: &str) -> bool {
    text.match_indices("to come").any(|(i, _)| {
        let before = &text[..i];
        let start = before.rfind(['(', ';', '.', ':']).map_or(0, |p| p + 1);
        before[start..]
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == concern)
    })
}

/// The action's outputs: each of `declared` from the run step (and, with `exact`, nothing else
/// but the installed binary's path).
fn check_outputs(path: &str, doc: &Value, declared: &[&str], exact: bool, found: &mut Vec<String>) {
    let outputs = str_map(map_get(doc, "outputs"));
    for name in declared {
        match outputs.iter().find(|(n, _)| n == name) {
            None => found.push(format!("{path}: output {name} is missing")),
            Some((_, spec)) => {
                let want = format!("${{{{ steps.run.outputs.{name} }}}}");
                if scalar(map_get(spec, "value")) != want {
                    found.push(format!("{path}: output {name} is not {want}"));
                }
            }
        }
    }
    if exact {
        for (name, _) in &outputs {
            if !declared.contains(&name.as_str()) && name != "relman-path" {
                found.push(format!(
                    "{path}: output {name} is not one the command declares"
                ));
            }
        }
    }
}

#[test]
fn the_surfaces_agree_with_the_command_line() {
    let found = check(&load_tree());
    assert!(
        found.is_empty(),
        "the surfaces drifted:\n  {}",
        found.join("\n  ")
    );
}

/// The checker itself: a deliberate mismatch in a copy of the real files must be reported.
fn with(path: &str, from: &str, to: &str) -> Tree {
    let mut tree = load_tree();
    let text = tree.get_mut(path).expect("file in the tree");
    assert!(text.contains(from), "{path} holds {from:?}");
    *text = text.replacen(from, to, 1);
    tree
}

fn reported(tree: &Tree, needle: &str) {
    let found = check(tree);
    assert!(
        found.iter().any(|p| p.contains(needle)),
        "not reported: {needle:?}; the checker said {found:#?}"
    );
}

#[test]
fn a_mismatched_default_is_reported() {
    // The component's format input defaults to json while --format defaults to markdown.
    let tree = with(
        "templates/changelog.yml",
        "options: [markdown, json]\n      default: markdown",
        "options: [markdown, json]\n      default: json",
    );
    reported(
        &tree,
        "templates/changelog.yml: input format defaults to \"json\", --format to \"markdown\"",
    );
    reported(
        &tree,
        "changelog: input format defaults to \"markdown\" in changelog/action.yml, \"json\" in templates/changelog.yml",
    );
}

#[test]
fn an_input_that_maps_to_no_flag_is_reported() {
    let tree = with(
        "gate/action.yml",
        "RELMAN_GATE_POLICY: ${{ inputs.policy }}",
        "RELMAN_POLICY: ${{ inputs.policy }}",
    );
    reported(
        &tree,
        "gate/action.yml: input policy maps to no flag (RELMAN_POLICY is read by no flag of relman gate)",
    );
}

#[test]
fn an_input_missing_on_one_surface_is_reported() {
    let tree = with(
        "templates/gate.yml",
        "RELMAN_GATE_PULL_REQUEST:",
        "RELMAN_GATE_PULL_REQUESTS:",
    );
    reported(
        &tree,
        "templates/gate.yml: input pull-request maps to no flag",
    );
    reported(&tree, "templates/gate.yml: no input sets --pull-request");
}

#[test]
fn a_concern_missing_from_the_release_matrix_or_pipeline_is_reported() {
    let tree = with(
        ".github/workflows/release.yml",
        "action: [changelog, gate, rollback]",
        "action: [changelog, rollback]",
    );
    reported(&tree, "the mirrors matrix has no gate");
    let tree = with("templates/release-pipeline.yml", "/gate@", "/gates@");
    reported(&tree, "does not include the gate component");
}

#[test]
fn a_concern_that_is_no_release_step_is_kept_out_of_the_release_pipeline() {
    // Rollback is declared no step of a release: its absence is not reported...
    let found = check(&load_tree());
    assert!(
        !found
            .iter()
            .any(|p| p.contains("include the rollback component")),
        "{found:#?}"
    );
    // ...and including it in the release pipeline is.
    let tree = with(
        "templates/release-pipeline.yml",
        "  - component: $CI_SERVER_FQDN/$[[ inputs.relman-project ]]/gate@",
        "  - component: $CI_SERVER_FQDN/$[[ inputs.relman-project ]]/rollback@$[[ inputs.relman-version ]]\n  - component: $CI_SERVER_FQDN/$[[ inputs.relman-project ]]/gate@",
    );
    reported(
        &tree,
        "templates/release-pipeline.yml: includes the rollback component, which is listed in NOT_IN_RELEASE_PIPELINE",
    );
    // Only a listed concern is excused: the gate still must be in it.
    assert!(!NOT_IN_RELEASE_PIPELINE.iter().any(|(c, _)| *c == "gate"));
}

#[test]
fn a_concern_without_its_action_or_e2e_run_is_reported() {
    let mut tree = load_tree();
    tree.remove("gate/action.yml");
    tree.remove("tests/ci-e2e/gitlab/gate.yml");
    reported(&tree, "gate/action.yml: missing");
    reported(
        &tree,
        "tests/ci-e2e: no pipeline run by run.sh includes the gate component",
    );
}

#[test]
fn root_outputs_and_to_come_wording_are_checked() {
    let tree = with("action.yml", "  verdict:\n", "  verdicts:\n");
    reported(&tree, "action.yml: output verdict is missing");
    let tree = with(
        "action.yml",
        "  directory:\n    description: The repository (--directory). It needs its full history (actions/checkout with fetch-depth 0).\n    required: false\n    default: \".\"",
        "  directory:\n    description: The repository (--directory). It needs its full history (actions/checkout with fetch-depth 0).\n    required: false\n    default: \"repo\"",
    );
    reported(
        &tree,
        "action.yml: input directory defaults to \"repo\", --directory to \".\"",
    );
    assert!(announced_to_come(
        "changelog (gate, promote, rollback to come)",
        "gate"
    ));
    assert!(!announced_to_come(
        "changelog, gate (promote, rollback to come)",
        "gate"
    ));
}

#[test]
fn a_stale_reference_is_reported() {
    let mut tree = load_tree();
    tree.insert("docs/reference/env.md".into(), "# old\n".into());
    reported(&tree, "docs/reference/env.md is stale");
}

/// Every `RELMAN_…` name in the source is declared: a flag's variable, one of
/// `relman_core::vars`, or an output (`RELMAN_OUT_…`). Test harness names are listed here.
#[test]
fn every_variable_in_the_source_is_declared() {
    const TEST_ONLY: &[&str] = &[
        "RELMAN_STATE_CHILD_DIR",
        "RELMAN_STATE_NO_IDENTITY_DIR",
        "RELMAN_TEST_NO_CA_CHILD",
        "RELMAN_CONTRACT_GITHUB_URL",
        "RELMAN_CONTRACT_GITLAB_URL",
        "RELMAN_KEY",
    ];
    let all = variables::flag_variables(&relman::cli::Cli::command());
    let mut known: BTreeSet<String> = all.iter().map(|f| f.name.clone()).collect();
    known.extend(relman_core::vars::ALL.iter().map(|v| v.name.to_string()));
    // Old names, listed only to warn about them.
    known.extend(
        relman_core::vars::RENAMED
            .iter()
            .map(|(old, _)| old.to_string()),
    );
    let re = regex_lite_names;
    let mut undeclared = BTreeSet::new();
    let mut dirs = vec![root().join("src")];
    for e in std::fs::read_dir(root().join("crates")).expect("crates") {
        dirs.push(e.expect("entry").path().join("src"));
    }
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).expect("source");
                for name in re(&text) {
                    if !known.contains(&name)
                        && !name.starts_with(relman_core::vars::OUTPUT_PREFIX)
                        && !TEST_ONLY.contains(&name.as_str())
                    {
                        undeclared.insert(format!("{name} ({})", p.display()));
                    }
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "variables read but not declared (a flag's env, relman_core::vars, or an output): {undeclared:#?}"
    );
}

/// `"RELMAN_X…"` string literals (a full name: not the bare prefix `"RELMAN_"`).
fn regex_lite_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("\"RELMAN_") {
        let rest = &text[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if rest[end..].starts_with('"') && name.len() > "RELMAN_".len() && !name.ends_with('_') {
            out.push(name.to_string());
        }
    }
    out
}

/// The binary warns about a 0.1 name it no longer reads, by name only.
#[test]
fn a_renamed_variable_set_gets_a_warning() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relman"))
        .args(["config", "schema"])
        .env("RELMAN_FORMAT", "json-secret-value")
        .env_remove("RELMAN_LOG")
        .output()
        .expect("relman runs");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RELMAN_FORMAT is no longer read; use RELMAN_CHANGELOG_FORMAT"),
        "{stderr}"
    );
    assert!(!stderr.contains("json-secret-value"), "{stderr}");
}

#[test]
fn a_concern_whose_surfaces_were_to_come_is_checked_once_its_action_exists() {
    // The real list (empty once every concern has its surfaces) and a listed concern whose
    // action exists: the entry itself is reported and the concern is checked.
    let tree = load_tree();
    let mut concerns: Vec<&str> = SURFACES_TO_COME.iter().map(|(c, _)| *c).collect();
    concerns.push("rollback");
    for concern in concerns {
        let mut tree = tree.clone();
        tree.insert(
            format!("{concern}/action.yml"),
            "name: x\ndescription: x\nruns: { using: composite, steps: [] }\n".into(),
        );
        let mut found = Vec::new();
        assert!(!surfaces_to_come_in(
            &[(concern, "test")],
            &tree,
            concern,
            &mut found
        ));
        assert!(
            found
                .iter()
                .any(|p| p.contains(&format!("remove {concern} from SURFACES_TO_COME"))),
            "{found:#?}"
        );
        // Still to come while the action does not exist: skipped, nothing reported.
        tree.remove(&format!("{concern}/action.yml"));
        let mut found = Vec::new();
        assert!(surfaces_to_come_in(
            &[(concern, "test")],
            &tree,
            concern,
            &mut found
        ));
        assert!(found.is_empty(), "{found:#?}");
    }
}
