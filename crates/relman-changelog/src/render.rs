//! Rendering releases with templates: built-in ones or the user's.

use std::path::Path;

use relman_core::ci::escape;
use relman_core::{Error, Result, template};

use crate::release::Release;

/// The built-in templates, by name.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "keepachangelog",
        include_str!("../templates/keepachangelog.md.j2"),
    ),
    ("github", include_str!("../templates/github.md.j2")),
    ("gitlab", include_str!("../templates/gitlab.md.j2")),
];

/// The top of a new CHANGELOG.md.
pub const HEADER: &str = "# Changelog\n\n\
All notable changes to this project are documented in this file.\n\n\
The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\n\
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n";

/// A loaded template.
#[derive(Debug)]
pub struct Renderer {
    env: minijinja::Environment<'static>,
    /// The same template for the job summary: every interpolated value made inert markdown.
    summary: minijinja::Environment<'static>,
    name: String,
    source: String,
}

impl Renderer {
    /// Loads `spec`: a built-in name, or a path relative to `root`.
    pub fn load(spec: &str, root: &Path) -> Result<Self> {
        let mut env = template::environment();
        let (name, source) = match BUILTIN.iter().find(|(n, _)| *n == spec) {
            Some((n, s)) => ((*n).to_string(), (*s).to_string()),
            None => {
                let path = root.join(spec);
                if !path.exists() && !spec.contains('/') && !spec.contains('.') {
                    let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                    return Err(Error::Usage(format!(
                        "unknown template {spec:?}: use one of {} or a file path",
                        names.join(", ")
                    )));
                }
                let path = relman_core::fsutil::inside_repo(root, spec, "changelog.template")?;
                let source = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                (spec.to_string(), source)
            }
        };
        template::add(&mut env, &name, source.clone())?;
        let mut summary = template::environment();
        summary.set_formatter(summary_value);
        template::add(&mut summary, &name, source.clone())?;
        Ok(Renderer {
            env,
            summary,
            name,
            source,
        })
    }

    /// Renders one release: trimmed, ending in one newline.
    pub fn render(&self, release: Release) -> Result<String> {
        self.render_in(&self.env, release)
    }

    /// Renders one release for a job summary (GitHub's step summary, GitLab's summary
    /// artifact): the template's own text as written, every value it interpolates (commit
    /// text, names, links) through [`escape::markdown_inline`], so a commit subject cannot add
    /// HTML, a link, a heading or a table row to the page the runner shows. The notes output,
    /// stdout and `--output` keep the plain render.
    pub fn render_summary(&self, release: Release) -> Result<String> {
        self.render_in(&self.summary, release)
    }

    fn render_in(&self, env: &minijinja::Environment<'static>, release: Release) -> Result<String> {
        let err =
            |e: minijinja::Error| template::template_error(&self.name, &e, Some(&self.source));
        let tmpl = env.get_template(&self.name).map_err(err)?;
        let out = tmpl.render(crate::context::value(release)).map_err(err)?;
        let mut out = out.trim().to_string();
        out.push('\n');
        Ok(out)
    }
}

/// The summary environment's formatter: a value printed by `{{ … }}` is written as
/// [`escape::markdown_inline`] of its text (`none` prints as `none`, as in the plain render).
fn summary_value(
    out: &mut minijinja::Output,
    _state: &mut minijinja::State,
    value: &minijinja::Value,
) -> std::result::Result<(), minijinja::Error> {
    Ok(out.write_str(&escape::markdown_inline(&value.to_string()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_files_stay_inside_the_repository() {
        // Issue #12 finding 7: a committed symlink to /proc/self/environ put the token in the notes.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("t.j2"), "SECRET").unwrap();
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/notes.j2"), "ok {{ version }}").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path().join("t.j2"), root.join("link.j2")).unwrap();
            std::os::unix::fs::symlink("/proc/self/environ", root.join("env.j2")).unwrap();
            std::os::unix::fs::symlink(outside.path(), root.join("dir")).unwrap();
        }
        let abs = outside.path().join("t.j2").display().to_string();
        let mut bad = vec![abs.as_str(), "../t.j2", "docs/../../t.j2"];
        if cfg!(unix) {
            bad.extend(["link.j2", "env.j2", "dir/t.j2"]);
        }
        for spec in bad {
            let e = Renderer::load(spec, root).expect_err(spec);
            assert_eq!(
                e.exit_code(),
                relman_core::ExitCode::BadInput,
                "{spec}: {e}"
            );
            assert!(!e.to_string().contains("SECRET"), "{e}");
        }
        assert!(Renderer::load("docs/notes.j2", root).is_ok());
        assert!(Renderer::load("./docs/notes.j2", root).is_ok());
    }
}
