//! The three renderings, snapshotted side by side, and the SARIF log validated
//! against the official SARIF 2.1.0 JSON Schema.

use anrf_format::Profile;
use anrf_verify::{RenderOptions, Report};

use crate::support::{Fixture, override_toml};

/// A module with one blocking finding, one suppressed finding and one warning.
fn mixed() -> Report {
    let src = "use std::io::Read;\n\nfn adler32(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n\nfn main() {\n    let mut s = String::new();\n    std::io::stdin().read_to_string(&mut s).unwrap();\n    let _ = std::fs::read_to_string(\"/data/x\");\n    let x = 1u8;\n    println!(\"{}\", adler32(&x));\n}\n";
    let mut fixture = Fixture::rust()
        .source(src)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-5ad1e32c",
            "function:adler32",
            "memory-unsafe",
            "2027-06-30",
        ))
        .file(
            "Cargo.toml",
            "[package]\nname = \"wordcount\"\nversion = \"0.1.0\"\n[dependencies]\nserde = \"1\"\n",
        );
    fixture.functions = "[\"adler32\"]".into();
    fixture.write().verify_static(Profile::Dev)
}

fn options() -> RenderOptions {
    RenderOptions {
        prefix: Some("examples/wordcount".into()),
        exclude_suppressed: false,
    }
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(r"anrf-verify \d+\.\d+\.\d+", "anrf-verify [version]");
    settings.add_filter(
        r#""semanticVersion": "\d+\.\d+\.\d+""#,
        r#""semanticVersion": "[version]""#,
    );
    settings
}

#[test]
fn human_report_snapshot() {
    let report = mixed();
    settings().bind(|| insta::assert_snapshot!(anrf_verify::render::human(&report, &options())));
}

#[test]
fn json_report_snapshot() {
    let report = mixed();
    settings().bind(|| insta::assert_snapshot!(anrf_verify::render::json(&report)));
}

#[test]
fn sarif_report_snapshot() {
    let report = mixed();
    let sarif = anrf_verify::sarif::sarif(&report, &options()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    // The rules (the whole catalogue) are long; snapshot the results and check the rules apart.
    let results = &value["runs"][0]["results"];
    settings().bind(|| insta::assert_json_snapshot!(results));
    let rules = value["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), anrf_verify::CheckId::ALL.len());
}

#[test]
fn clean_human_report_snapshot() {
    let report = Fixture::rust().write().verify(Profile::Prod);
    settings().bind(|| insta::assert_snapshot!(anrf_verify::render::human(&report, &options())));
}

/// The official schema's BCP-47 `language` pattern has a stray `]` that no ECMA
/// regex engine compiles; it is removed before compiling (we never emit
/// `language`). Everything else in the vendored file is verbatim.
const MALFORMED_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn drop_malformed_patterns(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("pattern").and_then(serde_json::Value::as_str) == Some(MALFORMED_PATTERN) {
                map.remove("pattern");
            }
            map.values_mut().for_each(drop_malformed_patterns);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_malformed_patterns),
        _ => {}
    }
}

fn schema() -> jsonschema::Validator {
    let text = include_str!("../sarif-schema-2.1.0.json");
    let mut schema: serde_json::Value = serde_json::from_str(text).unwrap();
    drop_malformed_patterns(&mut schema);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .unwrap()
}

fn assert_valid(sarif: &str) {
    let value: serde_json::Value = serde_json::from_str(sarif).unwrap();
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let report = mixed();
    let sarif = anrf_verify::sarif::sarif(&report, &options()).unwrap();
    assert!(!sarif.is_empty());
    assert_valid(&sarif);
    let clean = Fixture::rust().write().verify(Profile::Dev);
    assert_valid(&anrf_verify::sarif::sarif(&clean, &RenderOptions::default()).unwrap());
}

#[test]
fn the_schema_check_catches_an_invalid_log() {
    let validator = schema();
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]});
    assert!(
        !validator.is_valid(&bad),
        "a run without a tool must be rejected"
    );
}

#[test]
fn suppressions_carry_justification_and_approvers_and_can_be_left_out() {
    let report = mixed();
    let value: serde_json::Value =
        serde_json::from_str(&anrf_verify::sarif::sarif(&report, &options()).unwrap()).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<_> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    let s = &suppressed[0]["suppressions"][0];
    assert_eq!(s["kind"], "external");
    assert_eq!(s["status"], "accepted");
    assert!(s["justification"].as_str().unwrap().contains("C reference"));
    assert_eq!(s["properties"]["overrideId"], "ovr-5ad1e32c");
    assert!(s["properties"]["approvers"].is_array());

    let without = RenderOptions {
        exclude_suppressed: true,
        ..options()
    };
    let value: serde_json::Value =
        serde_json::from_str(&anrf_verify::sarif::sarif(&report, &without).unwrap()).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len() - 1);
    assert!(results.iter().all(|r| r.get("suppressions").is_none()));
}

#[test]
fn sarif_locations_are_repository_paths() {
    let report = mixed();
    let value: serde_json::Value =
        serde_json::from_str(&anrf_verify::sarif::sarif(&report, &options()).unwrap()).unwrap();
    let uris: Vec<&str> = value["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"examples/wordcount/src/main.rs"), "{uris:?}");
}

#[test]
fn json_round_trips_to_the_same_report() {
    let report = mixed();
    let json = anrf_verify::render::json(&report);
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_signed_approval_appears_in_the_sarif_suppression() {
    let mut fixture = Fixture::rust()
        .source("fn adler32(p: *const u8) -> u8 {\n    unsafe { *p }\n}\nfn main() { let x = 1u8; adler32(&x); }\n")
        .memory_safety("sandbox-only")
        .overrides(&override_toml("ovr-00000013", "function:adler32", "memory-unsafe", "2027-01-31"));
    fixture.functions = "[\"adler32\"]".into();
    let module = fixture.write();
    let policy = crate::support::policy();
    module.approve(&policy, "ovr-00000013", "bob", Profile::Test);
    let report = module.verify_static_with(&policy, Profile::Test);
    assert!(report.passed(), "{:?}", report.findings);
    let sarif = anrf_verify::sarif::sarif(&report, &options()).unwrap();
    assert_valid(&sarif);
    let value: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let suppression = &value["runs"][0]["results"][0]["suppressions"][0];
    assert_eq!(
        suppression["properties"]["approvers"],
        serde_json::json!(["bob"])
    );
    assert!(
        suppression["properties"]["approval"]
            .as_str()
            .unwrap()
            .starts_with("signed"),
        "{suppression}"
    );
    assert!(
        !report.findings[0]
            .suppression
            .as_ref()
            .unwrap()
            .self_approved
    );
}

#[test]
fn a_dev_self_approval_names_the_requester_as_such() {
    let report = mixed();
    let suppression = report
        .findings
        .iter()
        .find_map(|f| f.suppression.clone())
        .unwrap();
    assert!(suppression.self_approved);
    assert_eq!(suppression.approvers, vec!["alice".to_owned()]);
    let value: serde_json::Value =
        serde_json::from_str(&anrf_verify::sarif::sarif(&report, &options()).unwrap()).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    let s = results.iter().find_map(|r| r.get("suppressions")).unwrap();
    assert_eq!(
        s[0]["properties"]["approvers"],
        serde_json::json!(["alice"])
    );
    assert!(
        s[0]["properties"]["approval"]
            .as_str()
            .unwrap()
            .contains("self-approved"),
        "{s}"
    );
}
