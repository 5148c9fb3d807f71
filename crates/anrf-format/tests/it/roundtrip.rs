//! Parse -> normal form -> parse gives the same manifest.

use anrf_format::{Manifest, Relaxation, Scope};

use crate::VALID;

#[test]
fn valid_manifest_round_trips_through_normal_form() {
    let first = Manifest::from_str(VALID, "anrf.toml").unwrap();
    let normal = first.to_toml().unwrap();
    let second = Manifest::from_str(&normal, "normal.toml").unwrap();
    assert_eq!(first, second);
    assert_eq!(
        second.to_toml().unwrap(),
        normal,
        "normal form is a fixed point"
    );
}

#[test]
fn overrides_round_trip_with_their_syntax() {
    let text = VALID.replacen("overrides = []\n", "", 1)
        + r#"
[[security.overrides]]
id = "ovr-0123abcd"
scope = "function:count_words"
relaxes = "raise:memory=256MiB"
justification = "the dictionary for the spell checker needs 200 MiB once loaded"
requested_by = "alice"
expires = 2027-03-31
approvals = []
"#;
    let text = text.replacen("memory = \"32MiB\"", "memory = \"256MiB\"", 1);
    let manifest = Manifest::from_str(&text, "anrf.toml").unwrap();
    let ovr = &manifest.security.overrides[0];
    assert_eq!(ovr.scope, Scope::Function("count_words".into()));
    assert_eq!(
        ovr.relaxes,
        Relaxation::Raise(anrf_format::LimitName::Memory, 256 << 20)
    );
    let again = Manifest::from_str(&manifest.to_toml().unwrap(), "n.toml").unwrap();
    assert_eq!(manifest, again);
}

#[test]
fn schema_describes_every_section_and_denies_unknown_keys() {
    let schema = Manifest::json_schema();
    let text = serde_json::to_string(&schema).unwrap();
    for key in [
        "intent",
        "logic",
        "implementation",
        "security",
        "memory_safety",
        "capabilities",
        "overrides",
    ] {
        assert!(text.contains(&format!("\"{key}\"")), "schema lacks {key}");
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    let required = schema["required"].as_array().unwrap();
    assert!(required.contains(&serde_json::json!("security")));
}
