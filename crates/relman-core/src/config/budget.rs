//! Budgets for reading `.relman.yml`, which comes from the repository and so may be hostile.
//!
//! serde_yaml has no knob for these: the file is read through a size cap (a symlink to
//! `/dev/zero` or a FIFO is refused before it is opened), flow collections (`[[[…`) may not
//! nest deeper than a small limit (libyaml's work grows with the square of that depth), and
//! before the real parse one counting pass walks the document as serde sees it, aliases
//! expanded, and stops at a node and byte budget (a "billion laughs" file is refused in
//! milliseconds instead of taking gigabytes).

use std::cell::Cell;
use std::io::Read;
use std::path::Path;

use serde::de::{DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use crate::error::{Error, Result};

/// Largest configuration file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Deepest nesting of flow collections (`[`, `{`).
pub const MAX_FLOW_DEPTH: usize = 64;
/// Most nodes the document may expand to (aliases counted each time they are used).
pub const MAX_NODES: u64 = 1_000_000;
/// Most bytes of scalars the document may expand to.
pub const MAX_SCALAR_BYTES: u64 = 32 << 20;

fn refused(path: &Path, line: usize, column: usize, message: String) -> Error {
    Error::Config {
        file: path.to_path_buf(),
        line,
        column,
        key: "(file)".into(),
        message,
    }
}

/// The file's bytes, read through the size cap; devices, FIFOs and directories are refused.
pub fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(refused(
            path,
            1,
            1,
            "not a regular file (a device, FIFO or directory): refused".into(),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read_err)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(refused(
            path,
            1,
            1,
            format!("larger than {MAX_FILE_BYTES} bytes: refused"),
        ));
    }
    Ok(bytes)
}

/// Checks `text` against the nesting and expansion budgets.
pub fn check(text: &str, path: &Path) -> Result<()> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(refused(
            path,
            1,
            1,
            format!("larger than {MAX_FILE_BYTES} bytes: refused"),
        ));
    }
    if let Some((line, column)) = too_deep(text) {
        return Err(refused(
            path,
            line,
            column,
            format!("flow collections ([ or {{) nested deeper than {MAX_FLOW_DEPTH}: refused"),
        ));
    }
    let used = Cell::new((0u64, 0u64));
    let de = serde_yaml::Deserializer::from_str(text);
    if let Err(e) = Count(&used).deserialize(de) {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let mut message = e.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        return Err(refused(path, line, column, message));
    }
    Ok(())
}

/// Where flow collections first nest deeper than the limit, ignoring brackets in quoted
/// scalars and comments (a lexical scan: block scalars are not told apart, which can only
/// over-count, and only a pathological template reaches the limit).
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    for (n, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match (quote, c) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if prev.is_whitespace() || "[{,:".contains(prev) => {
                    quote = Some(c)
                }
                (None, '#') if prev.is_whitespace() => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some((n + 1, i + 1));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = c;
        }
    }
    None
}

/// Walks a document as serde sees it (aliases expanded) and fails past the budgets.
struct Count<'a>(&'a Cell<(u64, u64)>);

impl Count<'_> {
    fn charge<E: serde::de::Error>(&self, bytes: usize) -> std::result::Result<(), E> {
        let (nodes, total) = self.0.get();
        let used = (nodes + 1, total + bytes as u64);
        self.0.set(used);
        if used.0 > MAX_NODES || used.1 > MAX_SCALAR_BYTES {
            return Err(E::custom(format!(
                "the document expands to more than {MAX_NODES} nodes or {MAX_SCALAR_BYTES} \
                 bytes (YAML aliases repeat what they point to): refused"
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<(), E> {
        self.charge(0)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<(), E> {
        self.charge(0)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<(), E> {
        self.charge(0)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<(), E> {
        self.charge(0)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<(), E> {
        self.charge(v.len())
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        self.charge(0)
    }
    fn visit_none<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        self.charge(0)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.charge(0)?;
        while seq.next_element_seed(Count(self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        self.charge(0)?;
        while map.next_key_seed(Count(self.0))?.is_some() {
            map.next_value_seed(Count(self.0))?;
        }
        Ok(())
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> std::result::Result<(), A::Error> {
        // A tagged node (`!tag value`): count the tag and the value.
        let ((), variant) = data.variant_seed(Count(self.0))?;
        variant.newtype_variant_seed(Count(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        super::super::parse_str(text, Path::new(".relman.yml"))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn alias_expansion_is_bounded() {
        // A billion laughs: 9 levels of 10 aliases each, 1e9 strings once expanded.
        let mut text = String::from("a0: &a0 [\"lol\"]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let started = std::time::Instant::now();
        let e = err(&text);
        // serde_yaml's own jump limit (100 per event) stops this small one.
        assert!(
            e.starts_with(".relman.yml:") && e.contains("repetition limit exceeded"),
            "{e}"
        );
        // Few aliases to a wide node: under that limit, over the node budget.
        let mut text = format!("a: &a [{}]\n", vec!["x"; 5_000].join(","));
        text.push_str(&format!("b: [{}]\n", vec!["*a"; 300].join(",")));
        let e = err(&text);
        assert!(
            e.starts_with(".relman.yml:") && e.contains("expands to more than 1000000 nodes"),
            "{e}"
        );
        // Generous on a shared machine; the expansion itself would take minutes.
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        // A few aliases are fine (and the real parse then names the unknown key).
        let e = err("x: &x [a]\ny: *x\n");
        assert!(e.contains("unknown field `x`"), "{e}");
    }

    #[test]
    fn deep_flow_nesting_is_refused() {
        let text = format!("changelog: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let e = err(&text);
        assert!(
            e.starts_with(".relman.yml:1:") && e.contains("nested deeper than 64"),
            "{e}"
        );
        // Brackets in quoted strings and comments do not count.
        let quoted = format!(
            "# {}\nchangelog: {{ tag_prefix: \"{}\" }}\n",
            "[".repeat(100),
            "[".repeat(100)
        );
        super::super::parse_str(&quoted, Path::new("x")).expect("quoted brackets");
    }

    #[test]
    fn size_devices_and_encoding() {
        let e = super::super::load(Path::new("/dev/zero"))
            .expect_err("device")
            .to_string();
        assert_eq!(
            e,
            "/dev/zero:1:1: (file): not a regular file (a device, FIFO or directory): refused"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big.yml");
        std::fs::write(&big, format!("# {}\n", "x".repeat(MAX_FILE_BYTES as usize)))
            .expect("write");
        let e = super::super::load(&big).expect_err("big").to_string();
        assert!(
            e.ends_with("(file): larger than 1048576 bytes: refused"),
            "{e}"
        );
        let latin1 = dir.path().join("latin1.yml");
        std::fs::write(&latin1, b"changelog:\n  tag_prefix: caf\xe9\n").expect("write");
        let e = super::super::load(&latin1).expect_err("latin1");
        assert!(
            e.to_string()
                .ends_with("latin1.yml:2:18: (file): not UTF-8 text (byte 28)"),
            "{e}"
        );
        assert_eq!(e.exit_code(), crate::error::ExitCode::BadInput);
    }
}
