//! `explain`: statements only from established facts, each with evidence.

use anrf_format::Profile;
use anrf_verify::CheckId;
use anrf_verify::explain::{Evidence, explain};

use crate::support::{Fixture, override_toml, policy};

#[test]
fn every_statement_has_evidence() {
    let report = Fixture::rust().write().verify(Profile::Dev);
    let explanation = explain(&report);
    assert!(explanation.may_run);
    for section in &explanation.sections {
        for statement in &section.statements {
            assert!(!statement.evidence.is_empty(), "{}", statement.text);
        }
    }
    let text = anrf_verify::explain::human(&explanation);
    assert!(text.contains("safe Rust"), "{text}");
    assert!(text.contains("fd_write"), "{text}");
    assert!(text.contains("grants it no directory"), "{text}");
    assert!(text.contains("runtime guarantee"), "{text}");
}

#[test]
fn no_claim_from_a_failed_or_skipped_check() {
    // Unsafe code without an override: no "safe Rust" claim, no test claim (nothing ran).
    let mut fixture =
        Fixture::rust().source("fn count_words() { unsafe {} }\nfn main() { count_words(); }\n");
    fixture.functions = "[\"count_words\"]".into();
    let report = fixture.write().verify(Profile::Dev);
    let explanation = explain(&report);
    assert!(!explanation.may_run);
    let text = anrf_verify::explain::human(&explanation);
    assert!(!text.contains("safe Rust"), "{text}");
    assert!(!text.contains("intent examples ran"), "{text}");
    assert!(text.contains("may NOT run"), "{text}");
    assert!(
        explanation
            .not_established
            .iter()
            .any(|s| s.evidence.iter().any(|e| matches!(
                e,
                Evidence::Check {
                    id: CheckId::S001,
                    ..
                }
            )))
    );
    assert!(
        explanation
            .not_established
            .iter()
            .any(|s| s.evidence.iter().any(|e| matches!(
                e,
                Evidence::Check {
                    id: CheckId::T001,
                    ..
                }
            )))
    );
}

#[test]
fn an_approved_override_is_explained_with_its_signature() {
    let mut fixture = Fixture::rust()
        .source("fn adler32(p: *const u8) -> u8 {\n    unsafe { *p }\n}\nfn main() { let x = 1u8; adler32(&x); }\n")
        .memory_safety("sandbox-only")
        .overrides(&override_toml("ovr-00000011", "function:adler32", "memory-unsafe", "2027-01-31"));
    fixture.functions = "[\"adler32\"]".into();
    let module = fixture.write();
    let policy = policy();
    module.approve(&policy, "ovr-00000011", "bob", Profile::Test);
    let report = module.verify_with(&policy, Profile::Test);
    let explanation = explain(&report);
    assert!(explanation.may_run, "{:?}", report.findings);
    let overrides = explanation
        .sections
        .iter()
        .find(|s| s.title == "overrides")
        .unwrap();
    let statement = &overrides.statements[0];
    assert!(
        statement.text.contains("approved by `bob`"),
        "{}",
        statement.text
    );
    assert!(statement.text.contains("2027-01-31"));
    assert!(statement.text.contains("C reference"));
    assert!(
        statement
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::Signature { approver, .. } if approver == "bob"))
    );
    assert!(
        statement
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::Manifest { .. }))
    );
    insta::with_settings!({filters => vec![
        (r"sha256:[0-9a-f]{64}", "sha256:[digest]"),
        (r"SHA-256 `[0-9a-f]{64}`", "SHA-256 `[hash]`"),
        (r"ed25519:[A-Za-z0-9+/=]+", "ed25519:[key]"),
    ]}, {
        insta::assert_snapshot!(anrf_verify::explain::human(&explanation));
    });
}

#[test]
fn a_threads_module_is_not_called_valid_for_the_runtime() {
    let threads = r#"(module (memory (export "memory") 1 1 shared) (func (export "_start")))"#;
    let report = Fixture::rust()
        .wat(threads)
        .overrides(&override_toml(
            "ovr-00000012",
            "module",
            "threads",
            "2027-01-31",
        ))
        .write()
        .verify_static_with(&policy(), Profile::Dev);
    let text = anrf_verify::explain::human(&explain(&report));
    assert!(
        !text.contains("valid wasm module for the features the runtime enables"),
        "{text}"
    );
    assert!(
        text.contains("only with the threads proposal, which the runtime does not enable"),
        "{text}"
    );
    assert!(!text.contains("no shared memory"), "{text}");
}

#[test]
fn process_exit_is_stated_as_such() {
    let src = "fn count_words() {}\nfn main() { count_words(); std::process::exit(0); }\n";
    let report = Fixture::rust()
        .source(src)
        .write()
        .verify_static(Profile::Dev);
    let explanation = explain(&report);
    let text = anrf_verify::explain::human(&explanation);
    assert!(!text.contains("calls nothing in"), "{text}");
    let statement = explanation
        .sections
        .iter()
        .flat_map(|s| &s.statements)
        .find(|s| s.text.contains("only to end or identify its own process"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(statement.text.contains("`std::process::exit`"));
    assert!(
        statement
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::Source { location } if location == "src/main.rs:2:28"))
    );
}

#[test]
fn runtime_properties_are_labelled_as_the_runtimes() {
    let report = Fixture::rust().write().verify(Profile::Dev);
    let explanation = explain(&report);
    for section in &explanation.sections {
        for statement in &section.statements {
            let by_runtime = statement
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Runtime { .. }));
            assert_eq!(
                by_runtime,
                section.title.starts_with("runtime guarantees"),
                "{}: {}",
                section.title,
                statement.text
            );
            if !by_runtime {
                assert!(
                    !statement.text.contains("host's memory") && !statement.text.contains("denies"),
                    "{}",
                    statement.text
                );
            }
        }
    }
    let verdict = &explanation.sections[0].statements[0];
    assert_eq!(
        verdict
            .evidence
            .iter()
            .filter(|e| matches!(e, Evidence::Check { .. }))
            .count(),
        CheckId::ALL.len(),
        "the verdict rests on every check"
    );
}
