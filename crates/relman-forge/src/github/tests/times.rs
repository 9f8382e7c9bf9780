//! Times in GitHub's answers (`2012-07-20T01:19:13Z`; an offset such as `-08:00` reads too): a
//! time that does not read, or a required one that is absent, fails the answer as malformed,
//! naming the answer and the field, never a default.

use super::*;

fn mount_release(h: &Harness, created_at: Value) {
    let mut v = release_json(&h.url(), "v1", "notes");
    v["created_at"] = created_at;
    h.mount(
        Mock::given(method("GET"))
            .and(path(tag_path()))
            .respond_with(ResponseTemplate::new(200).set_body_json(v)),
    );
}

#[test]
fn utc_and_offset_forms_read_as_one_instant() {
    let h = harness();
    mount_release(&h, json!("2013-02-27T11:35:32.000-08:00"));
    let r = h.gh.release_by_tag("v1.0.0").expect("ok").expect("some");
    assert_eq!(r.created_at.to_string(), "2013-02-27T19:35:32Z");
    // `published_at` stands in for a missing `updated_at`.
    assert_eq!(r.updated_at.to_string(), "2013-02-27T19:35:32Z");
}

#[test]
fn a_time_that_does_not_read_is_a_malformed_answer_naming_the_field() {
    for (created, why) in [
        (
            json!("yesterday"),
            "`created_at`: \"yesterday\" is not an RFC 3339 time",
        ),
        (
            json!("2013-02-27T19:35:32"),
            "is not an RFC 3339 time with an offset",
        ),
        (
            json!(1361993732),
            "`created_at` is 1361993732, not an RFC 3339 time",
        ),
        (json!(null), "no `created_at`"),
    ] {
        let h = harness();
        mount_release(&h, created.clone());
        let err = h.gh.release_by_tag("v1.0.0").expect_err("malformed time");
        assert!(
            matches!(&err, Error::Api(e) if e.backend == "github"
                && e.kind == ForgeErrorKind::Malformed
                && e.endpoint == "/repos/octocat/hello-world/releases/tags/v1.0.0"),
            "{created}: {err:?}"
        );
        assert_eq!(err.exit_code(), ExitCode::External);
        assert!(err.to_string().contains(why), "{created}: {err}");
    }
}

#[test]
fn a_review_time_that_does_not_read_fails_the_reviews() {
    let h = harness();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/pulls/1/reviews")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": 1, "user": {"login": "bob"}, "state": "APPROVED",
                 "submitted_at": "2019-11-17T17:43:43Z", "commit_id": SHA},
                {"id": 2, "user": {"login": "erin"}, "state": "PENDING",
                 "submitted_at": null, "commit_id": SHA},
            ]))),
    );
    let reviews = h.gh.reviews(1).expect("reviews");
    assert_eq!(
        reviews[0].submitted_at.map(|t| t.to_string()).as_deref(),
        Some("2019-11-17T17:43:43Z")
    );
    assert_eq!(reviews[1].submitted_at, None);

    h.reset();
    h.mount(
        Mock::given(method("GET"))
            .and(path(format!("{REPO}/pulls/1/reviews")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": 1, "user": {"login": "bob"}, "state": "APPROVED",
                 "submitted_at": "17/11/2019", "commit_id": SHA},
            ]))),
    );
    let err = h.gh.reviews(1).expect_err("malformed");
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Malformed),
        "{err:?}"
    );
    assert!(err.to_string().contains("`submitted_at`"), "{err}");
}
