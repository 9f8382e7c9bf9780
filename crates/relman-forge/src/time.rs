//! The times forges send, read once into [`jiff::Timestamp`].
//!
//! GitHub sends `2012-07-20T01:19:13Z`; GitLab `2016-08-11T07:36:40.222Z` (milliseconds), and
//! a self-managed GitLab may answer in its own offset (`2016-08-11T09:36:40.222+02:00`). All
//! are RFC 3339 with an offset, so all read as one instant; a time without an offset (which
//! instant would it be?) or any other text is a malformed answer, never a default. Instants
//! are kept to the second, as relman has always printed and stored them
//! (`2016-08-11T07:36:40Z`): stable-width in files, and finer than any soak or expiry needs.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

/// Reads a time a forge sent (see the module documentation), to the second.
pub fn parse(text: &str) -> Result<Timestamp, jiff::Error> {
    text.parse::<Timestamp>().map(to_second)
}

/// `t` without its fraction of a second (the instant at or before it).
pub fn to_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// The message of a time that did not read: says what was expected.
pub(crate) fn not_a_time(key: &str, text: &str, e: &jiff::Error) -> String {
    format!("`{key}`: {text:?} is not an RFC 3339 time with an offset: {e}")
}

/// `#[serde(deserialize_with)]` for a time an answer must carry. A time that does not read
/// fails the whole answer, which the backend reports as malformed.
pub(crate) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(|e| serde::de::Error::custom(not_a_time("time", &text, &e)))
}

/// `#[serde(default, deserialize_with)]` for a time an answer may leave out or set to `null`.
pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => parse(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(not_a_time("time", &text, &e))),
    }
}

/// `#[serde(default, deserialize_with)]` for a stored optional time that relman before typed
/// times wrote as `""` when the forge did not say (a dispatch's `created_at`): `""` and
/// `null` read as `None`; any other text must be a time.
pub(crate) fn optional_or_empty<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Timestamp>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => text
            .parse::<Timestamp>()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(not_a_time("created_at", &text, &e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_and_gitlab_forms_read_as_one_instant_to_the_second() {
        let github = parse("2016-08-11T07:36:40Z").expect("github");
        let gitlab = parse("2016-08-11T07:36:40.222Z").expect("gitlab millis");
        let offset = parse("2016-08-11T09:36:40.222+02:00").expect("self-managed offset");
        let behind = parse("2016-08-10T23:36:40-08:00").expect("negative offset");
        assert_eq!(github, gitlab);
        assert_eq!(github, offset);
        assert_eq!(github, behind);
        assert_eq!(offset.to_string(), "2016-08-11T07:36:40Z");
    }

    #[test]
    fn text_that_is_not_a_time_with_an_offset_does_not_read() {
        for bad in [
            "",
            "yesterday",
            "2016-08-11",
            // No offset: which instant would it be?
            "2016-08-11T07:36:40",
            "2016-13-11T07:36:40Z",
            "1470901000",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} read as a time");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Answer {
        #[serde(deserialize_with = "required")]
        created_at: Timestamp,
        #[serde(default, deserialize_with = "optional")]
        merged_at: Option<Timestamp>,
    }

    #[test]
    fn an_answer_with_a_malformed_time_fails_whole() {
        let ok: Answer = serde_json::from_str(
            r#"{"created_at": "2016-08-11T09:36:40.222+02:00", "merged_at": null}"#,
        )
        .expect("reads");
        assert_eq!(ok.created_at.to_string(), "2016-08-11T07:36:40Z");
        assert_eq!(ok.merged_at, None);
        let absent: Answer =
            serde_json::from_str(r#"{"created_at": "2016-08-11T07:36:40Z"}"#).expect("absent");
        assert_eq!(absent.merged_at, None);
        for bad in [
            r#"{"created_at": "last tuesday"}"#,
            r#"{"created_at": "2016-08-11T07:36:40Z", "merged_at": "soon"}"#,
            r#"{"created_at": 1470901000}"#,
            r#"{}"#,
        ] {
            let e = serde_json::from_str::<Answer>(bad).expect_err(bad);
            assert!(
                e.to_string().contains("RFC 3339")
                    || e.to_string().contains("missing field")
                    || e.to_string().contains("invalid type"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_dispatch_stored_before_typed_times_reads_and_writes_back_unchanged() {
        // What relman wrote before: `""` when the forge did not say when.
        let unknown = r#"{"id":7,"workflow":"deploy.yml","ref":"main","inputs":{},"requested_by":"ci","idempotency_key":"k","created_at":"","run_url":null}"#;
        let record: crate::DispatchRecord = serde_json::from_str(unknown).expect("old record");
        assert_eq!(record.created_at, None);
        let known = r#"{"id":7,"workflow":"deploy.yml","ref":"main","inputs":{},"requested_by":"ci","idempotency_key":"k","created_at":"2026-01-02T03:04:05Z","run_url":null}"#;
        let record: crate::DispatchRecord = serde_json::from_str(known).expect("old record");
        assert_eq!(serde_json::to_string(&record).expect("json"), known);
        let bad = known.replace("2026-01-02T03:04:05Z", "tomorrow");
        let e = serde_json::from_str::<crate::DispatchRecord>(&bad).expect_err("bad time");
        assert!(e.to_string().contains("`created_at`: \"tomorrow\""), "{e}");
    }
}
