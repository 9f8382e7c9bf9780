//! The committed JSON Schema of `.relman.yml` must match the configuration types.
//!
//! Regenerate with `cargo run -q -- config schema > schema/relman.schema.json`.

#[test]
fn committed_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/relman.schema.json");
    let committed = std::fs::read_to_string(&path).expect("schema/relman.schema.json is committed");
    let current = relman_core::config::schema_json();
    assert!(
        committed == current,
        "schema/relman.schema.json is stale: run `cargo run -q -- config schema > schema/relman.schema.json`"
    );
}

#[test]
fn schema_rejects_unknown_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&relman_core::config::schema_json()).unwrap();
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    assert_eq!(
        schema["$defs"]["Changelog"]["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}
