//! Where a key path (`gate.policies.prod.gates[2].window.timezone`) sits in `.relman.yml`.
//!
//! serde_yaml keeps no spans on the values it builds, but it stamps every error raised while
//! deserializing a node with that node's position. So a located-node pass walks the YAML along
//! the key path and raises a marker error at the target node: the position serde_yaml attaches
//! to it is the node's real line and column, whatever else in the file shares its text.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Error;

/// The text of a configuration file, kept to locate errors found after parsing.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    pub fn new(path: &Path, text: impl Into<String>) -> Self {
        Source {
            path: path.to_path_buf(),
            text: text.into(),
        }
    }

    /// A configuration error at `key`, located at the key's value (or at its closest
    /// ancestor present in the file, when the value is a default).
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        let (line, column) = locate(&self.text, key);
        Error::Config {
            file: self.path.clone(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// 1-based line and column of the value at `key`, else of its nearest ancestor in the text,
/// else (1, 1).
pub fn locate(text: &str, key: &str) -> (usize, usize) {
    let mut segs = segments(key);
    loop {
        if let Some(at) = probe(text, &segs) {
            return at;
        }
        if segs.pop().is_none() {
            return (1, 1);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `a.b[2].c` → `a`, `b`, `[2]`, `c`. Policy and gate names never hold `.` or `[` in
/// practice; one that does is located at its closest parent.
fn segments(key: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Seg::Key(name.to_string()));
        }
        while let Some(close) = rest.find(']') {
            match rest[1..close].parse() {
                Ok(n) => out.push(Seg::Index(n)),
                Err(_) => out.push(Seg::Key(rest[1..close].trim_matches('"').to_string())),
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

const HERE: &str = "relman: located node";

fn probe(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match Walk(path).deserialize(de) {
        Err(e) if e.to_string().contains(HERE) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

/// Walks to the node at its path; `Err(HERE)` there, `Ok(())` when the path is absent.
struct Walk<'a>(&'a [Seg]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Walk<'_> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.0.is_empty() {
            Err(E::custom(HERE))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        let mut i = 0;
        loop {
            let found = match first {
                Seg::Index(n) if *n == i => seq.next_element_seed(Walk(rest))?.is_some(),
                _ => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !found {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return Err(de::Error::custom(HERE));
        };
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            let matches = match (first, &key) {
                (Seg::Key(k), serde_yaml::Value::String(s)) => k == s,
                (Seg::Key(k), serde_yaml::Value::Number(n)) => *k == n.to_string(),
                (Seg::Key(k), serde_yaml::Value::Bool(b)) => *k == b.to_string(),
                _ => false,
            };
            if matches {
                map.next_value_seed(Walk(rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
gate:
  default_policy: prod
  policies:
    staging:
      gates:
        - name: prod
          junit: {paths: [a.xml]}
    prod:
      extends: staging
      gates:
        - window:
            timezone: Europe/Nowhere
        - condition:
            expr: \"risk.level ==\"
";

    #[test]
    fn finds_the_node_not_the_first_text_match() {
        // `prod` first appears on line 2 (and as a gate name on line 6): the policy is line 8.
        assert_eq!(locate(TEXT, "gate.policies.prod"), (9, 7));
        assert_eq!(locate(TEXT, "gate.policies.prod.extends"), (9, 16));
        assert_eq!(
            locate(TEXT, "gate.policies.prod.gates[0].window.timezone"),
            (12, 23)
        );
        assert_eq!(
            locate(TEXT, "gate.policies.prod.gates[1].condition.expr"),
            (14, 19)
        );
        assert_eq!(locate(TEXT, "gate.default_policy"), (2, 19));
    }

    #[test]
    fn an_absent_key_is_located_at_its_nearest_ancestor() {
        assert_eq!(
            locate(TEXT, "gate.policies.prod.gates[0].window.freezes[3].from"),
            (12, 13)
        );
        assert_eq!(locate(TEXT, "changelog.tag_prefix"), (1, 1));
        assert_eq!(locate("{{{", "gate"), (1, 1));
    }

    #[test]
    fn segments_of_a_key_path() {
        assert_eq!(
            segments("a.b[2][0].c"),
            vec![
                Seg::Key("a".into()),
                Seg::Key("b".into()),
                Seg::Index(2),
                Seg::Index(0),
                Seg::Key("c".into())
            ]
        );
    }
}
