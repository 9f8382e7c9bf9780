//! JaCoCo XML (`jacoco:report`, Gradle `jacocoTestReport`): `<package name="com/acme">`,
//! `<sourcefile name="Foo.java">`, `<line nr mi ci mb cb>` (missed/covered instructions and
//! branches).
//!
//! Paths in the report are package-relative; the file is looked up under the usual source
//! roots, and otherwise kept package-relative (changed files then match it by suffix).

use relman_core::Error;

use super::model::{Coverage, Ctx, LineCov};
use super::xml::Item;

const SOURCE_ROOTS: [&str; 5] = [
    "src/main/java",
    "src/main/kotlin",
    "src/main/scala",
    "src",
    "",
];

/// Reading state; fed by the XML stream once the root turned out to be `<report>`.
#[derive(Debug, Default)]
pub(super) struct Parser {
    cov: Coverage,
    package: Option<String>,
    file: Option<String>,
}

impl Parser {
    pub(super) fn on(&mut self, cx: &Ctx, item: Item<'_>, line: usize) -> Result<(), Error> {
        match item {
            Item::Open { name, attrs, empty } => match name {
                b"package" if !empty => self.package = Some(attrs.require(cx, "package", "name")?),
                b"sourcefile" if !empty => {
                    let name = attrs.require(cx, "sourcefile", "name")?;
                    let rel = match self.package.as_deref() {
                        Some(p) if !p.is_empty() => format!("{p}/{name}"),
                        _ => name,
                    };
                    self.file = Some(locate(cx, &rel));
                }
                b"line" => {
                    let Some(path) = &self.file else {
                        return Ok(());
                    };
                    let count = |key: &str| -> Result<u64, Error> {
                        let v = attrs.get(cx, key)?.unwrap_or_else(|| "0".into());
                        v.trim().parse().map_err(|_| {
                            cx.error(Some(line), format!("{key}={v:?} is not a count"))
                        })
                    };
                    let nr = attrs.require(cx, "line", "nr")?;
                    let nr: u32 = nr
                        .trim()
                        .parse()
                        .map_err(|_| cx.error(Some(line), format!("nr={nr:?} is not a line")))?;
                    let (mi, ci, mb, cb) = (count("mi")?, count("ci")?, count("mb")?, count("cb")?);
                    // A line without instructions is not executable (JaCoCo omits those, but
                    // hand-edited or merged files may not).
                    if nr > 0 && mi.saturating_add(ci) > 0 {
                        let branches =
                            (mb.saturating_add(cb) > 0).then_some((cb, mb.saturating_add(cb)));
                        self.cov
                            .file(path.clone())
                            .add(nr, LineCov { hits: ci, branches });
                    }
                }
                _ => {}
            },
            Item::Close { name } => match name {
                b"package" => self.package = None,
                b"sourcefile" => self.file = None,
                _ => {}
            },
            Item::Text(_) => {}
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Coverage {
        self.cov
    }
}

fn locate(cx: &Ctx, package_path: &str) -> String {
    let rel = cx.repo_path(package_path);
    SOURCE_ROOTS
        .iter()
        .map(|r| {
            if r.is_empty() {
                rel.clone()
            } else {
                format!("{r}/{rel}")
            }
        })
        .find(|c| cx.root.join(c).is_file())
        .unwrap_or(rel)
}
