//! The template context as lazy minijinja objects.
//!
//! Serializing every entry into minijinja maps costs more than reading the history (each
//! field becomes an allocated key and value, whether the template uses it or not). These
//! objects hand out a field only when the template asks for it. Field names are the same as
//! the JSON output's (`--format json`), which a test checks.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use serde::Serialize;

use crate::release::{Item, Release};

fn ser<T: Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

fn opt(v: &Option<String>) -> Value {
    Value::from(v.clone())
}

/// Field names of an entry, as serialized.
pub const ITEM_KEYS: &[&str] = &[
    "id",
    "short_id",
    "header",
    "kind",
    "scope",
    "breaking",
    "description",
    "body",
    "footers",
    "breaking_description",
    "references",
    "co_authors",
    "release_as",
    "revert",
    "merge",
    "author",
    "date",
    "url",
    "links",
    "pull_request",
];

#[derive(Debug)]
struct ItemObj(Item);

impl Object for ItemObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let i = &self.0;
        let e = &i.entry;
        Some(match key {
            "id" => Value::from(i.id.as_str()),
            "short_id" => Value::from(i.short_id.as_str()),
            "header" => Value::from(i.header.as_str()),
            "kind" => opt(&e.kind),
            "scope" => opt(&e.scope),
            "breaking" => Value::from(e.breaking),
            "description" => Value::from(e.description.as_str()),
            "body" => Value::from(e.body.as_str()),
            "footers" => ser(&e.footers),
            "breaking_description" => opt(&e.breaking_description),
            "references" => ser(&e.references),
            "co_authors" => ser(&e.co_authors),
            "release_as" => opt(&e.release_as),
            "revert" => ser(&e.revert),
            "merge" => Value::from(e.merge),
            "author" => ser(&i.author),
            "date" => Value::from(i.date.as_str()),
            "url" => opt(&i.url),
            "links" => ser(&i.links),
            "pull_request" => ser(&i.pull_request),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(ITEM_KEYS)
    }
}

fn items(list: Vec<Item>) -> Value {
    Value::from(
        list.into_iter()
            .map(|i| Value::from_object(ItemObj(i)))
            .collect::<Vec<_>>(),
    )
}

/// Field names of a release, as serialized.
pub const RELEASE_KEYS: &[&str] = &[
    "version",
    "tag",
    "previous_tag",
    "date",
    "unreleased",
    "prerelease",
    "package",
    "groups",
    "breaking",
    "contributors",
    "first_time_contributors",
    "commit_count",
    "repository_url",
    "compare_url",
    "tag_url",
];

#[derive(Debug)]
struct ReleaseObj {
    release: Release,
    groups: Value,
    breaking: Value,
}

impl Object for ReleaseObj {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        let r = &self.release;
        let m = &r.meta;
        Some(match key {
            "version" => opt(&m.version),
            "tag" => opt(&m.tag),
            "previous_tag" => opt(&m.previous_tag),
            "date" => opt(&m.date),
            "unreleased" => Value::from(m.unreleased),
            "prerelease" => Value::from(m.prerelease),
            "package" => opt(&m.package),
            "groups" => self.groups.clone(),
            "breaking" => self.breaking.clone(),
            "contributors" => ser(&r.contributors),
            "first_time_contributors" => ser(&r.first_time_contributors),
            "commit_count" => Value::from(r.commit_count),
            "repository_url" => opt(&r.repository_url),
            "compare_url" => opt(&r.compare_url),
            "tag_url" => opt(&r.tag_url),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(RELEASE_KEYS)
    }
}

/// The template context of a release (consumed: its entries move into the objects).
pub fn value(mut release: Release) -> Value {
    let groups = std::mem::take(&mut release.groups)
        .into_iter()
        .map(|g| {
            let map: std::collections::BTreeMap<&str, Value> = [
                ("title", Value::from(g.title)),
                ("entries", items(g.entries)),
            ]
            .into();
            Value::from(map)
        })
        .collect::<Vec<_>>();
    let breaking = items(std::mem::take(&mut release.breaking));
    Value::from_object(ReleaseObj {
        release,
        groups: Value::from(groups),
        breaking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::{Group, Link, Meta};
    use relman_core::conventional::{ParseOptions, Person, parse_message};

    fn sample() -> Release {
        let entry =
            parse_message(b"feat(api)!: x (#3)\n\nCloses #4", &ParseOptions::default()).remove(0);
        let item = Item {
            id: "abcdef0123".into(),
            short_id: "abcdef0".into(),
            header: "feat(api)!: x (#3)".into(),
            entry,
            author: Person {
                name: "A".into(),
                email: "a@x".into(),
            },
            date: "2026-01-01".into(),
            url: None,
            links: vec![Link {
                text: "#3".into(),
                url: None,
            }],
            pull_request: None,
        };
        Release {
            meta: Meta {
                version: Some("1.0.0".into()),
                tag: Some("v1.0.0".into()),
                ..Meta::default()
            },
            groups: vec![Group {
                title: "Features".into(),
                entries: vec![item.clone()],
            }],
            breaking: vec![item],
            contributors: vec![],
            first_time_contributors: vec!["octocat".into()],
            commit_count: 1,
            repository_url: None,
            compare_url: None,
            tag_url: None,
        }
    }

    #[test]
    fn lazy_context_has_the_json_fields() {
        let json = serde_json::to_value(sample()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = RELEASE_KEYS.to_vec();
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        let item = &json["groups"][0]["entries"][0];
        let mut ikeys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        ikeys.sort_unstable();
        let mut iexp = ITEM_KEYS.to_vec();
        iexp.sort_unstable();
        assert_eq!(ikeys, iexp);
    }

    #[test]
    fn lazy_context_renders_like_serialized() {
        let env = relman_core::template::environment();
        let src = "{% for g in groups %}{{ g.title }}:{% for e in g.entries %}{{ e.scope }}/{{ e.description }}/{{ e.breaking }}/{{ e.links[0].text }}/{{ e.author.name }}{% endfor %}{% endfor %}|{{ breaking|length }}|{{ version }}|{{ first_time_contributors|join(',') }}";
        let lazy = env.render_str(src, value(sample())).unwrap();
        let eager = env
            .render_str(src, Value::from(minijinja::value::Serde(sample())))
            .unwrap();
        assert_eq!(lazy, eager);
        assert_eq!(lazy, "Features:api/x/True/#3/A|1|1.0.0|octocat");
    }
}
