//! Times in GitLab's answers: milliseconds (`2016-08-11T07:36:40.222Z`, gitlab.com) and an
//! offset of the server's zone (`+02:00`, some self-managed instances) read as one instant; a
//! time that does not read fails the answer as malformed, never a default.

use super::*;

fn release_at(created_at: Value, released_at: Value) -> Value {
    let mut v = release_json("v1", "notes");
    v["created_at"] = created_at;
    v["released_at"] = released_at;
    v
}

#[test]
fn milliseconds_and_offsets_read_as_one_instant_to_the_second() {
    let s = Server::start();
    s.mount(get("/releases/v0.1").respond_with(ok(release_at(
        json!("2016-08-11T07:36:40.222Z"),
        json!("2016-08-11T09:38:12.414+02:00"),
    ))));
    let r = s
        .gitlab(10)
        .release_by_tag("v0.1")
        .expect("ok")
        .expect("some");
    assert_eq!(r.created_at.to_string(), "2016-08-11T07:36:40Z");
    assert_eq!(r.updated_at.to_string(), "2016-08-11T07:38:12Z");
    // On the wire to a concern (`--format json`) and on disk: RFC 3339 UTC, as before.
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["created_at"], "2016-08-11T07:36:40Z");
    assert_eq!(json["updated_at"], "2016-08-11T07:38:12Z");

    let mut d = deployment_json(7, "abc", "success");
    d["created_at"] = json!("2016-08-11T09:36:40.222+02:00");
    d["updated_at"] = json!("2016-08-11T07:38:12.414Z");
    s.mount(get("/deployments").respond_with(ok(json!([d]))));
    let list = s.gitlab(10).deployments("production", 5).expect("list");
    assert_eq!(list[0].created_at.to_string(), "2016-08-11T07:36:40Z");
    assert_eq!(
        list[0].statuses[0].created_at.to_string(),
        "2016-08-11T07:38:12Z"
    );
    assert!(list[0].statuses[0].created_at > list[0].created_at);
}

#[test]
fn a_time_that_does_not_read_is_a_malformed_answer() {
    for (created, released) in [
        (json!("last tuesday"), json!(null)),
        // No offset: which instant would it be?
        (json!("2016-08-11T07:36:40.222"), json!(null)),
        (json!(1470901000), json!(null)),
        (json!("2016-08-11T07:36:40.222Z"), json!("soon")),
    ] {
        let s = Server::start();
        s.mount(get("/releases/v0.1").respond_with(ok(release_at(created.clone(), released))));
        let err = s
            .gitlab(10)
            .release_by_tag("v0.1")
            .expect_err("a time that does not read");
        assert!(
            matches!(&err, Error::Api(e) if e.backend == "gitlab" && e.kind == ForgeErrorKind::Malformed),
            "{created}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("GET /projects/group%2Fsub%2Fproject/releases/v0.1: malformed JSON"),
            "{msg}"
        );
    }
}

#[test]
fn a_release_without_its_creation_time_is_malformed() {
    let s = Server::start();
    let mut v = release_json("v1", "notes");
    v.as_object_mut().expect("object").remove("created_at");
    s.mount(get("/releases/v0.1").respond_with(ok(v)));
    let err = s
        .gitlab(10)
        .release_by_tag("v0.1")
        .expect_err("no created_at");
    assert!(
        matches!(&err, Error::Api(e) if e.kind == ForgeErrorKind::Malformed),
        "{err:?}"
    );
    assert!(err.to_string().contains("created_at"), "{err}");
}
