//! Checking that a dispatch would be accepted, without sending it (rollback drills).
//!
//! Only GETs: the workflow (`GET …/actions/workflows/{file}`: exists, `active`), its file at
//! the ref (`GET …/contents/{path}?ref=`, parsed as YAML: `workflow_dispatch` declared with
//! `relman_key`, every required input given, no undeclared one, choices and booleans valid,
//! the key in `run-name` so the run can be followed), and the repository
//! (`GET /repos/{o}/{r}`: the token's `permissions`, when GitHub shows them). For
//! `repository_dispatch:<type>`, the active workflows on the default branch are read for one
//! that listens to that type. What GitHub cannot show without a write (an installation
//! token's `actions: write`) is listed as unverified, never as checked.

use base64::Engine;
use serde::Deserialize;
use serde_yaml::Value as Yaml;

use super::dispatch::{KEY_INPUT, check_spec};
use octocrab::models::repos::Content;
use octocrab::models::workflows::WorkFlow as Workflow;

use super::{GitHub, encode};
use crate::types::{DispatchCheck, DispatchSpec, REPOSITORY_DISPATCH_PREFIX};
use relman_core::error::Result;

/// How many workflows are read when looking for a `repository_dispatch` listener.
const MAX_WORKFLOWS_READ: usize = 20;

/// `GET …/actions/workflows`: one page of octocrab's workflow model. (octocrab's `Page`
/// would guess the list's key and lose the failing field's path; relman pages itself.)
#[derive(Debug, Deserialize)]
struct Workflows {
    workflows: Vec<Workflow>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    #[serde(default)]
    permissions: Option<Permissions>,
}

#[derive(Debug, Deserialize)]
struct Permissions {
    #[serde(default)]
    push: bool,
}

pub(super) fn validate(gh: &GitHub, spec: &DispatchSpec) -> Result<DispatchCheck> {
    let mut check = DispatchCheck::default();
    if let Err(e) = check_spec(spec) {
        check.problems.push(e.to_string());
        return Ok(check);
    }
    token_may_write(gh, &mut check)?;
    match spec.workflow.strip_prefix(REPOSITORY_DISPATCH_PREFIX) {
        Some(event) => repository_dispatch(gh, spec, event, &mut check)?,
        None => workflow_dispatch(gh, spec, &mut check)?,
    }
    Ok(check)
}

/// The token's write access, as `GET /repos/{o}/{r}` shows it (user tokens only).
fn token_may_write(gh: &GitHub, check: &mut DispatchCheck) -> Result<()> {
    let repo = format!("{}/{}", gh.owner, gh.repo);
    let Some(answer) = gh.client.get_json::<Repository>(&gh.repo_url(""))? else {
        check.problems.push(format!(
            "repository {repo} not found (or the token cannot see it)"
        ));
        return Ok(());
    };
    match answer.permissions {
        Some(p) if p.push => check
            .checked
            .push(format!("the token has write access to {repo}")),
        Some(_) => check.problems.push(format!(
            "the token has no write access to {repo}: a dispatch needs it \
             (actions: write for workflow_dispatch, contents: write for repository_dispatch)"
        )),
        None => check.unverified.push(format!(
            "whether the token may dispatch in {repo}: GitHub shows no permissions for it \
             (an installation token such as GITHUB_TOKEN; it needs actions: write, or \
             contents: write for repository_dispatch)"
        )),
    }
    Ok(())
}

fn workflow_dispatch(gh: &GitHub, spec: &DispatchSpec, check: &mut DispatchCheck) -> Result<()> {
    let url = gh.repo_url(&format!("/actions/workflows/{}", encode(&spec.workflow)));
    let Some(workflow) = gh.client.get_json::<Workflow>(&url)? else {
        check.problems.push(format!(
            "workflow `{}` not found in {}/{}",
            spec.workflow, gh.owner, gh.repo
        ));
        return Ok(());
    };
    if workflow.state == "active" {
        check.checked.push(format!(
            "workflow `{}` ({}) exists and is active",
            workflow.name, workflow.path
        ));
    } else {
        check.problems.push(format!(
            "workflow `{}` is {}: enable it",
            workflow.path, workflow.state
        ));
    }
    let Some(doc) = read_workflow(gh, &workflow.path, Some(&spec.git_ref), check)? else {
        return Ok(());
    };
    let Some(trigger) = trigger(&doc, "workflow_dispatch") else {
        check.problems.push(format!(
            "{} at {} does not declare `on: workflow_dispatch`",
            workflow.path, spec.git_ref
        ));
        return Ok(());
    };
    check_inputs(spec, &workflow.path, &trigger, check);
    check_run_name(&doc, &workflow.path, "inputs.relman_key", check);
    Ok(())
}

/// The declared inputs against the given ones.
fn check_inputs(spec: &DispatchSpec, path: &str, trigger: &Yaml, check: &mut DispatchCheck) {
    let empty = serde_yaml::Mapping::new();
    let declared = trigger
        .get("inputs")
        .and_then(Yaml::as_mapping)
        .unwrap_or(&empty);
    let before = check.problems.len();
    let name = |k: &Yaml| k.as_str().unwrap_or_default().to_string();
    if !declared.contains_key(KEY_INPUT) {
        check.problems.push(format!(
            "{path} does not declare the input `{KEY_INPUT}` relman passes its idempotency \
             key in: add it under `on.workflow_dispatch.inputs`"
        ));
    }
    for (key, input) in declared {
        let key = name(key);
        if key == KEY_INPUT {
            continue;
        }
        let required = input.get("required").and_then(Yaml::as_bool) == Some(true);
        let has_default = input.get("default").is_some_and(|d| !d.is_null());
        let Some(value) = spec.inputs.get(&key) else {
            if required && !has_default {
                check
                    .problems
                    .push(format!("{path}: the required input `{key}` is not given"));
            }
            continue;
        };
        match input.get("type").and_then(Yaml::as_str) {
            Some("boolean") if !matches!(value.as_str(), "true" | "false") => {
                check.problems.push(format!(
                    "{path}: input `{key}` is a boolean; `{value}` is not true or false"
                ));
            }
            Some("choice") => {
                let options: Vec<String> = input
                    .get("options")
                    .and_then(Yaml::as_sequence)
                    .map(|o| o.iter().filter_map(scalar).collect())
                    .unwrap_or_default();
                if !options.contains(value) {
                    check.problems.push(format!(
                        "{path}: input `{key}` is one of {options:?}; `{value}` is not"
                    ));
                }
            }
            _ => {}
        }
    }
    for given in spec.inputs.keys() {
        if !declared.contains_key(given.as_str()) {
            check.problems.push(format!(
                "{path} does not declare the input `{given}` (GitHub refuses undeclared inputs)"
            ));
        }
    }
    if check.problems.len() == before {
        check.checked.push(format!(
            "{path} declares workflow_dispatch with `{KEY_INPUT}`; the {} given inputs are \
             declared and valid, and every required input is given",
            spec.inputs.len()
        ));
    }
}

/// The run's title must show the key, or relman cannot find the run to follow it.
fn check_run_name(doc: &Yaml, path: &str, key_expr: &str, check: &mut DispatchCheck) {
    let shows = doc
        .get("run-name")
        .and_then(Yaml::as_str)
        .is_some_and(|r| r.replace(' ', "").contains(key_expr));
    if shows {
        check.checked.push(format!(
            "{path}'s run-name shows the key: its run can be followed"
        ));
    } else {
        check.problems.push(format!(
            "{path}'s run-name does not show `${{{{ {key_expr} }}}}`: relman cannot find the \
             run it starts to follow it (add e.g. `run-name: \"deploy ${{{{ {key_expr} }}}}\"`)"
        ));
    }
}

fn repository_dispatch(
    gh: &GitHub,
    spec: &DispatchSpec,
    event: &str,
    check: &mut DispatchCheck,
) -> Result<()> {
    let url = gh.repo_url("/actions/workflows?per_page=100");
    let Some(list) = gh.client.get_json::<Workflows>(&url)? else {
        check
            .problems
            .push("the repository's workflows cannot be listed".into());
        return Ok(());
    };
    let mut listeners = Vec::new();
    let active = list.workflows.iter().filter(|w| w.state == "active");
    for workflow in active.take(MAX_WORKFLOWS_READ) {
        let mut scratch = DispatchCheck::default();
        let Some(doc) = read_workflow(gh, &workflow.path, None, &mut scratch)? else {
            continue;
        };
        let Some(trigger) = trigger(&doc, "repository_dispatch") else {
            continue;
        };
        let types: Option<Vec<String>> = trigger.get("types").map(|t| match t {
            Yaml::Sequence(s) => s.iter().filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        });
        if types.is_none_or(|t| t.iter().any(|t| t == event)) {
            listeners.push((workflow.path.clone(), doc));
        }
    }
    if listeners.is_empty() {
        check.problems.push(format!(
            "no active workflow on the default branch listens for repository_dispatch `{event}` \
             (read {} of {} workflows)",
            list.workflows.len().min(MAX_WORKFLOWS_READ),
            list.workflows.len()
        ));
        return Ok(());
    }
    for (path, doc) in &listeners {
        check.checked.push(format!(
            "{path} listens for repository_dispatch `{event}` on the default branch"
        ));
        check_run_name(doc, path, "github.event.client_payload.relman_key", check);
    }
    check.checked.push(format!(
        "the payload has {} of at most {} properties (the inputs and `{KEY_INPUT}`)",
        spec.inputs.len() + 1,
        super::dispatch::MAX_PAYLOAD_PROPERTIES
    ));
    Ok(())
}

/// The workflow file at `git_ref` (the default branch when `None`), parsed; `None` with a
/// problem noted when it is missing or unreadable.
fn read_workflow(
    gh: &GitHub,
    path: &str,
    git_ref: Option<&str>,
    check: &mut DispatchCheck,
) -> Result<Option<Yaml>> {
    let segments: Vec<String> = path.split('/').map(encode).collect();
    let mut url = gh.repo_url(&format!("/contents/{}", segments.join("/")));
    if let Some(r) = git_ref {
        url.push_str(&format!("?ref={}", encode(r)));
    }
    let at = git_ref.unwrap_or("the default branch");
    let Some(file) = gh.client.get_json::<Content>(&url)? else {
        check.problems.push(format!(
            "{path} not found at {at} (the ref does not exist, or the workflow is not on it)"
        ));
        return Ok(None);
    };
    let text = match decode(&file) {
        Some(text) => text,
        None => {
            check.problems.push(format!(
                "{path} at {at}: GitHub's answer holds no readable file"
            ));
            return Ok(None);
        }
    };
    match serde_yaml::from_str::<Yaml>(&text) {
        Ok(doc) => Ok(Some(doc)),
        Err(e) => {
            check
                .problems
                .push(format!("{path} at {at} is not valid YAML: {e}"));
            Ok(None)
        }
    }
}

/// The text of a file answer. Not octocrab's `Content::decoded_content`: it panics on
/// base64 that does not decode and turns bytes that are not UTF-8 into U+FFFD; here either is
/// "no readable file". A file over 1 MB comes with encoding `none` and no content: the same.
fn decode(file: &Content) -> Option<String> {
    if file.encoding.as_deref() != Some("base64") {
        return None;
    }
    let compact: String = file.content.as_deref()?.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The configuration of trigger `name` under `on:` (`Null` when declared without one).
fn trigger(doc: &Yaml, name: &str) -> Option<Yaml> {
    // YAML 1.1 readers turn a bare `on` into `true`; serde_yaml (1.2) keeps the string, but a
    // file written for either may quote it or not.
    let on = doc.get("on").or_else(|| doc.get(Yaml::Bool(true)))?;
    match on {
        Yaml::String(s) => (s == name).then_some(Yaml::Null),
        Yaml::Sequence(list) => list
            .iter()
            .any(|t| t.as_str() == Some(name))
            .then_some(Yaml::Null),
        Yaml::Mapping(map) => map.get(name).cloned(),
        _ => None,
    }
}

/// A YAML scalar as text (options may be numbers).
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(inputs: &[(&str, &str)]) -> DispatchSpec {
        DispatchSpec {
            workflow: "deploy.yml".into(),
            git_ref: "main".into(),
            inputs: inputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            requested_by: "ci".into(),
            idempotency_key: "k".into(),
        }
    }

    const WORKFLOW: &str = r#"
name: deploy
run-name: "deploy ${{ inputs.relman_key }}"
on:
  push:
  workflow_dispatch:
    inputs:
      relman_key: { required: true, type: string }
      version: { required: true, type: string }
      region: { required: true, type: string, default: eu }
      dry: { type: boolean }
      mode: { type: choice, options: [fast, safe] }
jobs: {}
"#;

    fn problems(inputs: &[(&str, &str)]) -> Vec<String> {
        let doc: Yaml = serde_yaml::from_str(WORKFLOW).expect("yaml");
        let mut check = DispatchCheck::default();
        let t = trigger(&doc, "workflow_dispatch").expect("declared");
        check_inputs(&spec(inputs), "deploy.yml", &t, &mut check);
        check_run_name(&doc, "deploy.yml", "inputs.relman_key", &mut check);
        check.problems
    }

    #[test]
    fn inputs_are_checked_against_the_declaration() {
        assert!(problems(&[("version", "1.2.0")]).is_empty());
        assert!(problems(&[("version", "1"), ("dry", "true"), ("mode", "safe")]).is_empty());
        let p = problems(&[]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("required input `version`"), "{p:?}");
        let p = problems(&[("version", "1"), ("colour", "red")]);
        assert!(p[0].contains("`colour`"), "{p:?}");
        let p = problems(&[("version", "1"), ("dry", "yes"), ("mode", "slow")]);
        assert_eq!(p.len(), 2, "{p:?}");
    }

    #[test]
    fn triggers_are_found_in_every_spelling() {
        for text in [
            "on: workflow_dispatch",
            "on: [push, workflow_dispatch]",
            "on:\n  workflow_dispatch:\n",
            "'on': {workflow_dispatch: {}}",
            "true: {workflow_dispatch: {}}",
        ] {
            let doc: Yaml = serde_yaml::from_str(text).expect("yaml");
            assert!(trigger(&doc, "workflow_dispatch").is_some(), "{text}");
            assert!(trigger(&doc, "repository_dispatch").is_none(), "{text}");
        }
        let doc: Yaml = serde_yaml::from_str("on: push\nrun-name: deploy").expect("yaml");
        let mut check = DispatchCheck::default();
        check_run_name(&doc, "x.yml", "inputs.relman_key", &mut check);
        assert_eq!(check.problems.len(), 1);
    }
}
