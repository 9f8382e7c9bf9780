//! Rendering releases with templates: built-in ones or the user's.

use std::path::Path;

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
                if !path.is_file() && !spec.contains('/') && !spec.contains('.') {
                    let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                    return Err(Error::Usage(format!(
                        "unknown template {spec:?}: use one of {} or a file path",
                        names.join(", ")
                    )));
                }
                let source = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                (spec.to_string(), source)
            }
        };
        template::add(&mut env, &name, source.clone())?;
        Ok(Renderer { env, name, source })
    }

    /// Renders one release: trimmed, ending in one newline.
    pub fn render(&self, release: Release) -> Result<String> {
        let err =
            |e: minijinja::Error| template::template_error(&self.name, &e, Some(&self.source));
        let tmpl = self.env.get_template(&self.name).map_err(err)?;
        let out = tmpl.render(crate::context::value(release)).map_err(err)?;
        let mut out = out.trim().to_string();
        out.push('\n');
        Ok(out)
    }
}
