//! The part of SARIF 2.1.0 the gate reads, and nothing else.
//!
//! Own structs rather than `serde-sarif`: its generated types hold every property of the
//! schema (code flows, fixes, graphs, property bags as `serde_json::Value`), so a 100k-result
//! file would be kept whole in memory. Here every field not named is skipped by serde without
//! being stored, a result keeps one location, and message texts are cut as they are read.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::evidence::report_text::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, cut, first_line};

pub(super) const VERSION: &str = "2.1.0";

/// A SARIF log whose `version` was checked as soon as it was read.
#[derive(Debug, Default)]
pub(super) struct Log {
    pub runs: Vec<Run>,
}

impl<'de> Deserialize<'de> for Log {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LogVisitor)
    }
}

struct LogVisitor;

impl<'de> Visitor<'de> for LogVisitor {
    type Value = Log;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a SARIF log object")
    }

    // `version` is checked when met, so a SARIF 1.0 file is refused for its version rather
    // than for the first field whose shape changed.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Log, A::Error> {
        let mut version: Option<String> = None;
        let mut runs = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    let v: String = map.next_value()?;
                    if v != VERSION {
                        return Err(de::Error::custom(format!(
                            "SARIF version {:?} is not supported (only {VERSION})",
                            cut(&v, 40)
                        )));
                    }
                    version = Some(v);
                }
                "runs" => runs = Some(map.next_value::<Vec<Run>>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if version.is_none() {
            return Err(de::Error::custom(format!(
                "no \"version\": not a SARIF {VERSION} log"
            )));
        }
        let runs = runs.ok_or_else(|| de::Error::custom("no \"runs\": not a SARIF log"))?;
        Ok(Log { runs })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Run {
    pub tool: Tool,
    pub results: Option<Vec<SarifResult>>,
    #[serde(rename = "originalUriBaseIds")]
    pub uri_bases: Option<HashMap<String, ArtifactLocation>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Tool {
    pub driver: Component,
    pub extensions: Option<Vec<Component>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Component {
    #[serde(deserialize_with = "name")]
    pub name: String,
    pub rules: Option<Vec<Rule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Rule {
    #[serde(deserialize_with = "name")]
    pub id: String,
    #[serde(rename = "defaultConfiguration")]
    pub default_configuration: Option<RuleConfiguration>,
    pub properties: Option<Properties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RuleConfiguration {
    pub level: Option<Level>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Properties {
    #[serde(rename = "security-severity", deserialize_with = "score")]
    pub security_severity: Option<f64>,
    #[serde(rename = "problem.severity")]
    pub problem_severity: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Level {
    None,
    Note,
    Warning,
    Error,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Error, Level::Warning, Level::Note, Level::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SarifResult {
    #[serde(rename = "ruleId", deserialize_with = "opt_name")]
    pub rule_id: Option<String>,
    #[serde(rename = "ruleIndex")]
    pub rule_index: Option<usize>,
    pub rule: Option<RuleRef>,
    pub level: Option<Level>,
    pub kind: Option<String>,
    pub suppressions: Option<Vec<Suppression>>,
    #[serde(deserialize_with = "first_location")]
    pub locations: Option<Location>,
    pub message: Message,
    pub properties: Option<Properties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RuleRef {
    #[serde(deserialize_with = "opt_name")]
    pub id: Option<String>,
    pub index: Option<usize>,
    #[serde(rename = "toolComponent")]
    pub tool_component: Option<ComponentRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ComponentRef {
    pub index: Option<usize>,
    #[serde(deserialize_with = "opt_name")]
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Suppression {
    pub status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Message {
    #[serde(deserialize_with = "message_text")]
    pub text: Option<String>,
    #[serde(deserialize_with = "opt_name")]
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Location {
    #[serde(rename = "physicalLocation")]
    pub physical: Option<PhysicalLocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PhysicalLocation {
    #[serde(rename = "artifactLocation")]
    pub artifact: Option<ArtifactLocation>,
    pub region: Option<Region>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ArtifactLocation {
    #[serde(deserialize_with = "opt_name")]
    pub uri: Option<String>,
    #[serde(rename = "uriBaseId", deserialize_with = "opt_name")]
    pub uri_base_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Region {
    #[serde(rename = "startLine")]
    pub start_line: Option<u32>,
}

fn name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(cut(&String::deserialize(d)?, MAX_NAME_CHARS))
}

fn opt_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| cut(&s, MAX_NAME_CHARS)))
}

fn message_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| first_line(&s, MAX_MESSAGE_CHARS)))
}

/// `security-severity` is a string in the SARIF GitHub reads (`"8.8"`), a number in some
/// producers' output; both are accepted, anything else is an error.
fn score<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct Score;
    impl<'de> Visitor<'de> for Score {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a security-severity score (number or numeric string)")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.trim().parse().map(Some).map_err(|_| {
                E::custom(format!(
                    "security-severity {:?} is not a number",
                    cut(v, 40)
                ))
            })
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Score)
}

/// The first location only: annotations point at one place, and a result listing thousands
/// of locations must not be kept whole.
fn first_location<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Location>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<Location>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of locations")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element::<Location>()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(First)
}
