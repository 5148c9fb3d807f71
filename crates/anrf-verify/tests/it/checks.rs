//! Each check in the pipeline: a module that passes it and one that fails it.
//! (Source and wasm checks also have unit tests on small inputs.)

use anrf_format::Profile;
use anrf_verify::{CheckId, Status};

use crate::support::{Fixture, ids, open_ids, override_toml, policy, status};

#[test]
fn a_clean_module_passes_every_applicable_check_in_every_profile() {
    let module = Fixture::rust().write();
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let report = module.verify(profile);
        assert!(
            report.findings.is_empty(),
            "{profile}: {:?}",
            report.findings
        );
        assert!(report.passed());
        assert_eq!(report.exit_code(), 0);
        for check in &report.checks {
            let expected = if check.id == CheckId::S012 {
                Status::NotApplicable
            } else {
                Status::Passed
            };
            assert_eq!(check.status, expected, "{profile}: {}", check.id);
        }
        assert_eq!(report.facts.examples.len(), 1);
        assert!(report.facts.examples[0].passed);
    }
}

#[test]
fn m001_invalid_manifest_is_a_finding_with_its_line() {
    let module = Fixture::rust().write();
    let path = module.root.join("anrf.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("isolation = \"wasm\"\n", "");
    std::fs::write(&path, text).unwrap();
    let report = module.verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M001]);
    let location = report.findings[0].location.clone().unwrap();
    assert_eq!(location.file, "anrf.toml");
    assert!(location.line.is_some());
    assert!(
        report.findings[0].message.contains("isolation"),
        "{}",
        report.findings[0].message
    );
    assert_eq!(report.exit_code(), 1);
    assert_eq!(status(&report, CheckId::W001), Status::Skipped);
}

#[test]
fn no_module_is_an_error_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let policy = anrf_policy::ProjectPolicy::builtin();
    let options = anrf_verify::VerifyOptions::new(&policy, Profile::Dev);
    let err = anrf_verify::verify_path(dir.path(), &options).unwrap_err();
    assert!(err.to_string().contains("no module"), "{err}");
}

#[test]
fn m002_artifact_not_recorded_or_missing() {
    let mut fixture = Fixture::rust();
    fixture.record_artifact = false;
    let report = fixture.write().verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M002]);
    assert_eq!(status(&report, CheckId::W002), Status::Skipped);

    let module = Fixture::rust().write();
    std::fs::remove_file(module.root.join("target/guest.wasm")).unwrap();
    let report = module.verify(Profile::Dev);
    assert!(ids(&report).contains(&CheckId::M002), "{:?}", ids(&report));
}

#[test]
fn m003_artifact_hash_mismatch() {
    let mut fixture = Fixture::rust();
    fixture.corrupt_hash = true;
    let report = fixture.write().verify(Profile::Dev);
    assert!(ids(&report).contains(&CheckId::M003), "{:?}", ids(&report));
    let finding = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::M003)
        .unwrap();
    assert!(finding.location.as_ref().unwrap().line.is_some());
    assert!(!report.passed());
}

#[test]
fn m004_listed_source_missing() {
    let module = Fixture::rust().write();
    std::fs::remove_file(module.root.join("src/main.rs")).unwrap();
    let report = module.verify_static(Profile::Dev);
    assert!(ids(&report).contains(&CheckId::M004), "{:?}", ids(&report));
}

#[test]
fn m005_language_does_not_match_sources() {
    let mut fixture = Fixture::rust();
    fixture
        .sources
        .push(("src/helper.c".into(), "int f(void) { return 1; }\n".into()));
    let report = fixture.write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M005]);
}

#[test]
fn m006_examples_must_fit_the_interface() {
    let fixture = Fixture::rust().effects("[\"stdout\"]").examples(
        "[[intent.examples]]\nname = \"a\"\nstdin = \"x\"\nstdout = \"2\\n\"\n\n[[intent.examples]]\nname = \"a\"\nstdout = \"2\\n\"\nexit_code = 125\n",
    );
    let report = fixture.write().verify_static(Profile::Dev);
    let m006: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.id == CheckId::M006)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(m006.len(), 3, "{m006:?}");
    assert!(m006.iter().any(|m| m.contains("`stdin`")));
    assert!(m006.iter().any(|m| m.contains("unique")));
    assert!(m006.iter().any(|m| m.contains("125")));
}

#[test]
fn m007_no_examples_warns_and_blocks_only_in_prod() {
    let module = Fixture::rust().examples("").write();
    let dev = module.verify(Profile::Dev);
    assert_eq!(ids(&dev), vec![CheckId::M007]);
    assert!(dev.passed());
    assert_eq!(status(&dev, CheckId::T001), Status::Skipped);
    assert!(!module.verify(Profile::Prod).passed());
}

#[test]
fn m008_capability_outside_policy_and_s010_follows() {
    let module = Fixture::rust()
        .source("fn main() { let _ = std::env::var(\"GREETING\"); }\n")
        .capabilities(
            "dirs = []\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []\n",
        )
        .effects("[\"stdin\", \"stdout\", \"env\"]")
        .write();
    let report = module.verify_static(Profile::Dev);
    assert!(ids(&report).contains(&CheckId::M008), "{:?}", ids(&report));
    let m008 = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::M008)
        .unwrap();
    assert!(m008.help.contains("anrf override request"), "{}", m008.help);
    assert!(ids(&report).contains(&CheckId::S010));
}

#[test]
fn m008_passes_when_an_override_grants_the_capability() {
    let fixture = Fixture::rust()
        .source("fn count_words() {}\nfn main() { let _ = std::env::var(\"GREETING\"); count_words(); }\n")
        .capabilities("dirs = []\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []\n")
        .effects("[\"stdin\", \"stdout\", \"env\"]")
        .overrides(&override_toml("ovr-00000001", "module", "allow-env:GREETING", "2027-01-31"));
    let report = fixture.write().verify_static(Profile::Dev);
    assert!(open_ids(&report).is_empty(), "{:?}", report.findings);
    assert_eq!(status(&report, CheckId::M008), Status::Passed);
    assert!(report.facts.capability_uses.iter().all(|u| u.covered));
}

#[test]
fn m009_effects_and_capabilities_disagree() {
    let report = Fixture::rust()
        .effects("[\"stdin\", \"stdout\", \"clock\"]")
        .write()
        .verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M009]);
    assert!(report.findings[0].message.contains("clock"));
}

#[test]
fn m010_raised_limit_needs_a_granted_override() {
    let mut fixture = Fixture::rust().overrides(&override_toml(
        "ovr-00000002",
        "module",
        "raise:memory=128MiB",
        "2027-01-31",
    ));
    fixture.limits = fixture
        .limits
        .replace("memory = \"16MiB\"", "memory = \"128MiB\"");
    let module = fixture.write();
    // dev: self-approved, granted.
    assert_eq!(
        status(&module.verify_static(Profile::Dev), CheckId::M010),
        Status::Passed
    );
    // test: needs a trusted approver's signature.
    let report = module.verify_static(Profile::Test);
    assert!(
        open_ids(&report).contains(&CheckId::M010),
        "{:?}",
        ids(&report)
    );
    assert!(open_ids(&report).contains(&CheckId::O003));
}

#[test]
fn m009_a_capability_granted_but_not_declared() {
    let report = Fixture::rust()
        .capabilities("dirs = []\nenv = []\nclock = true\nrandom = false\nnetwork = []\n")
        .write()
        .verify_static(Profile::Dev);
    let m009: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.id == CheckId::M009)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(m009.len(), 1, "{:?}", report.findings);
    assert!(m009[0].contains("does not declare `clock`"), "{}", m009[0]);
}

#[test]
fn m011_declared_function_not_defined() {
    let mut fixture = Fixture::rust();
    fixture.functions = "[\"count_words\", \"missing_fn\"]".into();
    let report = fixture.write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M011]);
    assert!(report.findings[0].message.contains("missing_fn"));
}

const UNSAFE_RS: &str = "fn adler32(p: *const u8) -> u8 {\n    unsafe { *p }\n}\nfn main() { let x = 1u8; adler32(&x); }\n";

#[test]
fn m012_enforced_declared_for_unsafe_code() {
    let mut fixture = Fixture::rust().source(UNSAFE_RS);
    fixture.functions = "[\"adler32\"]".into();
    let report = fixture.write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M012, CheckId::S001]);
    assert_eq!(report.findings[1].function.as_deref(), Some("adler32"));
    assert!(!report.passed());
}

#[test]
fn s001_suppressed_by_an_approved_function_override() {
    let mut fixture = Fixture::rust()
        .source(UNSAFE_RS)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-00000003",
            "function:adler32",
            "memory-unsafe",
            "2027-01-31",
        ));
    fixture.functions = "[\"adler32\"]".into();
    let module = fixture.write();
    let dev = module.verify(Profile::Dev);
    assert_eq!(ids(&dev), vec![CheckId::S001]);
    let suppression = dev.findings[0].suppression.clone().unwrap();
    assert_eq!(suppression.override_id, "ovr-00000003");
    assert!(suppression.justification.contains("C reference"));
    assert!(dev.passed(), "{:?}", dev.findings);
    assert_eq!(status(&dev, CheckId::S001), Status::Suppressed);

    // test profile, built-in policy: nobody can approve, so it blocks.
    let test = module.verify(Profile::Test);
    assert!(open_ids(&test).contains(&CheckId::S001));
    assert!(open_ids(&test).contains(&CheckId::O003));
    assert!(open_ids(&test).contains(&CheckId::O005));
    assert!(!test.passed());

    // test profile with a trusted approver's signature: suppressed, with the approver.
    let policy = policy();
    module.approve(&policy, "ovr-00000003", "bob", Profile::Test);
    let approved = module.verify_with(&policy, Profile::Test);
    assert!(approved.passed(), "{:?}", approved.findings);
    assert_eq!(
        approved.findings[0].suppression.as_ref().unwrap().approvers,
        vec!["bob".to_owned()]
    );
    // prod needs two approvers for memory-unsafe.
    let prod = module.verify_with(&policy, Profile::Prod);
    assert!(
        open_ids(&prod).contains(&CheckId::O003),
        "{:?}",
        prod.findings
    );
    module.approve(&policy, "ovr-00000003", "bob", Profile::Prod);
    module.approve(&policy, "ovr-00000003", "carol", Profile::Prod);
    let prod = module.verify_with(&policy, Profile::Prod);
    assert!(prod.passed(), "{:?}", prod.findings);
}

#[test]
fn a_function_override_does_not_cover_other_functions() {
    let src = "fn adler32(p: *const u8) -> u8 {\n    unsafe { *p }\n}\nfn other(p: *const u8) -> u8 {\n    unsafe { *p }\n}\nfn main() {}\n";
    let mut fixture = Fixture::rust()
        .source(src)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-00000004",
            "function:adler32",
            "memory-unsafe",
            "2027-01-31",
        ));
    fixture.functions = "[\"adler32\", \"other\"]".into();
    let report = fixture.write().verify_static(Profile::Dev);
    let open: Vec<_> = report
        .findings
        .iter()
        .filter(|f| !f.is_suppressed())
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].function.as_deref(), Some("other"));
}

#[test]
fn s012_c_guest_needs_sandbox_only_with_override() {
    let mut fixture = Fixture::rust();
    fixture.language = "c".into();
    fixture.sources = vec![("src/main.c".into(), "int main(void) { return 0; }\n".into())];
    fixture.functions = "[]".into();
    let report = fixture.clone().write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M012, CheckId::S012]);

    let report = fixture
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-00000005",
            "module",
            "memory-unsafe",
            "2027-01-31",
        ))
        .write()
        .verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::S012]);
    assert!(report.findings[0].is_suppressed());
    assert!(report.passed());
    assert_eq!(status(&report, CheckId::S001), Status::NotApplicable);
    assert_eq!(status(&report, CheckId::S010), Status::Skipped);
}

#[test]
fn s104_unpinned_dependencies_through_the_pipeline() {
    let fixture = Fixture::rust().file(
        "Cargo.toml",
        "[package]\nname = \"wordcount\"\nversion = \"0.1.0\"\n[dependencies]\nserde = \"1\"\n",
    );
    let report = fixture.write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::S104]);
    assert!(report.passed(), "warnings do not block in dev");
}

const BUILDER_TOML: &str =
    "[package]\nname = \"wordcount\"\nversion = \"0.1.0\"\n[dependencies]\nbuilder = \"1\"\n";
const BUILDER_LOCK: &str = "version = 4\n\n[[package]]\nname = \"wordcount\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"builder\"\nversion = \"1.2.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

/// A cargo home whose registry holds `builder 1.2.0`, with a build script.
fn cargo_home_with_builder() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = "registry/src/index.example-0000/builder-1.2.0";
    crate::support::write(
        home.path(),
        &format!("{dir}/Cargo.toml"),
        "[package]\nname = \"builder\"\n",
    );
    crate::support::write(home.path(), &format!("{dir}/build.rs"), "fn main() {}\n");
    home
}

#[test]
fn s101_supply_chain_through_the_pipeline() {
    let module = Fixture::rust()
        .file("Cargo.toml", BUILDER_TOML)
        .file("Cargo.lock", BUILDER_LOCK)
        .write();
    let home = cargo_home_with_builder();
    let builtin = anrf_policy::ProjectPolicy::builtin();
    let verify = |profile| {
        let mut options = anrf_verify::VerifyOptions::new(&builtin, profile);
        options
            .now(crate::support::NOW)
            .examples(anrf_verify::Examples::Skip)
            .cargo_home(home.path());
        anrf_verify::verify_path(&module.root, &options).unwrap()
    };
    let dev = verify(Profile::Dev);
    assert_eq!(ids(&dev), vec![CheckId::S101], "{:?}", dev.findings);
    assert!(dev.findings[0].message.contains("`builder 1.2.0`"));
    assert_eq!(dev.facts.dependencies[0].build_script, Some(true));
    assert!(dev.passed(), "a dependency's build script is a warning");
    assert!(!verify(Profile::Prod).passed(), "warnings block in prod");
}

#[test]
fn s105_the_guests_own_build_script_blocks_in_every_profile() {
    let module = Fixture::rust()
        .file(
            "build.rs",
            "fn main() { std::process::Command::new(\"curl\"); }\n",
        )
        .write();
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let report = module.verify_static(profile);
        assert_eq!(ids(&report), vec![CheckId::S105], "{:?}", report.findings);
        assert_eq!(
            report.findings[0].location.as_ref().unwrap().file,
            "build.rs"
        );
        assert!(!report.passed(), "{profile}");
    }
}

const EVIL_MAIN: &str =
    "mod evil;\nfn count_words() {}\nfn main() { count_words(); evil::run(); }\n";
const EVIL_RS: &str = "pub fn run() {\n    unsafe { libc_abs(1); }\n    let _ = std::fs::read(\"/etc/passwd\");\n}\nextern \"C\" { fn libc_abs(x: i32) -> i32; }\n";

#[test]
fn m013_an_unlisted_mod_file_is_scanned_and_refused() {
    let module = Fixture::rust()
        .source(EVIL_MAIN)
        .file("src/evil.rs", EVIL_RS)
        .write();
    let report = module.verify(Profile::Dev);
    let found = ids(&report);
    for id in [
        CheckId::M012,
        CheckId::M013,
        CheckId::S001,
        CheckId::S005,
        CheckId::S010,
    ] {
        assert!(found.contains(&id), "{id}: {found:?}");
    }
    assert!(!report.passed());
    assert_eq!(report.exit_code(), 1);
    let m013 = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::M013)
        .unwrap();
    assert!(m013.message.contains("src/evil.rs"), "{}", m013.message);
    assert!(m013.message.contains("src/main.rs:1"), "{}", m013.message);
    assert!(
        m013.help.contains("implementation.sources"),
        "{}",
        m013.help
    );
    let s010 = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::S010)
        .unwrap();
    assert_eq!(s010.location.as_ref().unwrap().file, "src/evil.rs");
    assert!(
        report
            .facts
            .sources_checked
            .contains(&"src/evil.rs".to_owned())
    );
    let text = anrf_verify::explain::human(&anrf_verify::explain::explain(&report));
    assert!(!text.contains("safe Rust"), "{text}");
}

#[test]
fn m013_nested_and_path_modules_are_followed() {
    let main = "mod a;\n#[path = \"extra/b_impl.rs\"]\nmod b;\nfn count_words() {}\nfn main() { count_words(); }\n";
    let module = Fixture::rust()
        .source(main)
        .file("src/a.rs", "mod deep;\n")
        .file("src/a/deep.rs", "static mut N: u32 = 0;\n")
        .file("src/extra/b_impl.rs", "include!(\"gen.rs\");\n")
        .file(
            "src/extra/gen.rs",
            "fn g() -> f32 { unsafe { std::mem::transmute(1u32) } }\n",
        )
        .write();
    let report = module.verify_static(Profile::Dev);
    let found = ids(&report);
    assert!(found.contains(&CheckId::S009), "{found:?}");
    assert!(found.contains(&CheckId::S008), "{found:?}");
    let unlisted: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.id == CheckId::M013)
        .map(|f| f.location.as_ref().unwrap().file.as_str())
        .collect();
    assert_eq!(
        unlisted,
        vec![
            "src/a.rs",
            "src/a/deep.rs",
            "src/extra/b_impl.rs",
            "src/extra/gen.rs"
        ]
    );
}

#[test]
fn m013_a_stray_file_is_refused_until_listed() {
    let stray = Fixture::rust().file("src/stray.rs", "pub fn x() {}\n");
    let report = stray.clone().write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M013]);
    assert!(
        report.findings[0].message.contains("cargo may compile it"),
        "{}",
        report.findings[0].message
    );
    let mut listed = Fixture::rust();
    listed
        .sources
        .push(("src/stray.rs".into(), "pub fn x() {}\n".into()));
    let report = listed.write().verify_static(Profile::Dev);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(status(&report, CheckId::M013), Status::Passed);
}

#[test]
fn s011_module_references_that_cannot_be_followed() {
    let src = "#[path = \"/etc/passwd\"]\nmod p;\nmod gone;\nfn count_words() { include!(concat!(env!(\"OUT_DIR\"), \"/x.rs\")); }\nfn main() {}\n";
    let report = Fixture::rust()
        .source(src)
        .write()
        .verify_static(Profile::Dev);
    let s011: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.id == CheckId::S011)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(s011.len(), 3, "{:?}", report.findings);
    assert!(
        s011.iter()
            .any(|m| m.contains("outside the module directory"))
    );
    assert!(s011.iter().any(|m| m.contains("`src/gone.rs`")));
    assert!(s011.iter().any(|m| m.contains("computed path")));
    assert!(!report.passed());
}

#[test]
fn s011_deeply_nested_source_is_a_finding_not_a_crash() {
    let src = format!(
        "fn count_words() {{}}\nfn main() {{\n    let x = {}1{};\n}}\n",
        "(".repeat(1000),
        ")".repeat(1000)
    );
    let report = Fixture::rust().source(&src).write().verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::S011], "{:?}", report.findings);
    assert_eq!(status(&report, CheckId::M011), Status::Skipped);
    assert!(!report.passed());
    assert_eq!(status(&report, CheckId::T001), Status::Skipped);
}

#[test]
fn s012_c_declared_sandbox_only_without_an_override_blocks() {
    let mut fixture = Fixture::rust().memory_safety("sandbox-only");
    fixture.language = "c".into();
    fixture.sources = vec![("src/main.c".into(), "int main(void) { return 0; }\n".into())];
    fixture.functions = "[]".into();
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let report = fixture.clone().write().verify_static(profile);
        // The manifest parser refuses `sandbox-only` without a `memory-unsafe`
        // override; the verifier reports it at the line and blocks.
        assert_eq!(
            open_ids(&report),
            vec![CheckId::M001],
            "{profile}: {:?}",
            report.findings
        );
        let finding = &report.findings[0];
        assert!(
            finding.message.contains("memory-unsafe"),
            "{}",
            finding.message
        );
        assert!(finding.help.contains("--memory-unsafe"), "{}", finding.help);
        assert!(finding.location.as_ref().unwrap().line.is_some());
        assert!(!report.passed());
        assert_eq!(report.exit_code(), 1);
    }
}

#[test]
fn s012_a_function_override_does_not_cover_a_c_guest() {
    let mut fixture = Fixture::rust()
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-0000000d",
            "function:main",
            "memory-unsafe",
            "2027-01-31",
        ));
    fixture.language = "c".into();
    fixture.sources = vec![("src/main.c".into(), "int main(void) { return 0; }\n".into())];
    fixture.functions = "[\"main\"]".into();
    let report = fixture.write().verify_static(Profile::Dev);
    assert!(
        open_ids(&report).contains(&CheckId::S012),
        "the whole C module is memory-unsafe: {:?}",
        report.findings
    );
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.id == CheckId::S012 && f.is_suppressed())
    );
    assert!(!report.passed());
}

#[test]
fn w002_foreign_import_through_the_pipeline() {
    let report = Fixture::rust()
        .wat(r#"(module (import "env" "system" (func)) (memory (export "memory") 1) (func (export "_start")))"#)
        .write()
        .verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::W002]);
    assert_eq!(
        status(&report, CheckId::T001),
        Status::Skipped,
        "nothing runs while a safety finding is open"
    );
    assert!(report.facts.examples.is_empty());
}

#[test]
fn w007_threads_suppressed_by_a_threads_override() {
    let threads = r#"(module (memory (export "memory") 1 1 shared) (func (export "_start")))"#;
    let report = Fixture::rust()
        .wat(threads)
        .write()
        .verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::W007]);
    let report = Fixture::rust()
        .wat(threads)
        .overrides(&override_toml(
            "ovr-00000006",
            "module",
            "threads",
            "2027-01-31",
        ))
        .write()
        .verify_static_with(&policy(), Profile::Dev);
    // The override covers W007, but the runtime does not run threads: `anrf
    // run` cannot start it, so the report says so and blocks (ANRF-M014).
    assert_eq!(ids(&report), vec![CheckId::M014, CheckId::W007]);
    assert!(report.findings[1].is_suppressed());
    assert!(!report.findings[0].is_suppressed());
    assert!(!report.passed());
}

#[test]
fn o001_tampered_approval_is_rejected() {
    let mut fixture = Fixture::rust()
        .source(UNSAFE_RS)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-00000007",
            "function:adler32",
            "memory-unsafe",
            "2027-01-31",
        ));
    fixture.functions = "[\"adler32\"]".into();
    let module = fixture.write();
    let policy = policy();
    module.approve(&policy, "ovr-00000007", "bob", Profile::Test);
    let path = module.root.join("anrf.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("walks raw pointers", "walks raw pointers safely"),
    )
    .unwrap();
    let report = module.verify_with(&policy, Profile::Test);
    assert!(
        open_ids(&report).contains(&CheckId::O001),
        "{:?}",
        report.findings
    );
    let o001 = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::O001)
        .unwrap();
    assert!(o001.message.contains("ovr-00000007"));
    assert!(o001.location.as_ref().unwrap().line.is_some());
}

#[test]
fn o002_expired_override() {
    let mut fixture = Fixture::rust()
        .source(UNSAFE_RS)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-00000008",
            "function:adler32",
            "memory-unsafe",
            "2026-01-31",
        ));
    fixture.functions = "[\"adler32\"]".into();
    let report = fixture.write().verify_static(Profile::Dev);
    assert!(
        open_ids(&report).contains(&CheckId::O002),
        "{:?}",
        report.findings
    );
    assert!(open_ids(&report).contains(&CheckId::S001));
}

#[test]
fn o004_capability_override_scoped_to_a_function() {
    let fixture = Fixture::rust()
        .source("fn count_words() {}\nfn main() { let _ = std::env::var(\"GREETING\"); count_words(); }\n")
        .capabilities("dirs = []\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []\n")
        .effects("[\"stdin\", \"stdout\", \"env\"]")
        .overrides(&override_toml("ovr-00000009", "function:count_words", "allow-env:GREETING", "2027-01-31"));
    let report = fixture.write().verify_static(Profile::Dev);
    assert!(
        open_ids(&report).contains(&CheckId::O004),
        "{:?}",
        report.findings
    );
    assert!(
        open_ids(&report).contains(&CheckId::M008),
        "the capability is not granted"
    );
}

#[test]
fn an_undeclared_function_scope_is_refused_by_the_manifest_parser() {
    let mut fixture = Fixture::rust()
        .source(UNSAFE_RS)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-0000000b",
            "function:nowhere",
            "memory-unsafe",
            "2027-01-31",
        ));
    fixture.functions = "[\"adler32\"]".into();
    let report = fixture.write().verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M001]);
    assert!(report.findings[0].message.contains("nowhere"));
}

#[test]
fn o006_an_unused_threads_override() {
    let report = Fixture::rust()
        .overrides(&override_toml(
            "ovr-0000000e",
            "module",
            "threads",
            "2027-01-31",
        ))
        .write()
        .verify_static_with(&policy(), Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::O006], "{:?}", report.findings);
    assert!(
        report.findings[0].message.contains("ovr-0000000e"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn w002_a_memory_import_named_like_a_wasi_function() {
    let report = Fixture::rust()
        .wat(r#"(module (import "wasi_snapshot_preview1" "fd_write" (memory 1)) (func (export "_start")))"#)
        .write()
        .verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::W002]);
    assert!(!report.passed());
    let text = anrf_verify::explain::human(&anrf_verify::explain::explain(&report));
    assert!(!text.contains("WASI preview 1 function"), "{text}");
}

#[test]
fn m001_a_manifest_that_is_not_utf8() {
    let module = Fixture::rust().write();
    let path = module.root.join("anrf.toml");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"\n# caf\xe9\n");
    std::fs::write(&path, bytes).unwrap();
    let report = module.verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M001]);
    let finding = &report.findings[0];
    assert!(finding.message.contains("not UTF-8"), "{}", finding.message);
    assert!(finding.help.contains("UTF-8"), "{}", finding.help);
    assert!(finding.location.as_ref().unwrap().line.is_some());
    assert_eq!(report.module, "wordcount");
}

#[test]
fn o006_unused_override() {
    let report = Fixture::rust()
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-0000000a",
            "module",
            "memory-unsafe",
            "2027-01-31",
        ))
        .write()
        .verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::O006]);
    assert!(report.passed(), "an unused override is a warning");
}

#[test]
fn t001_t002_examples_must_match() {
    let module = Fixture::rust()
        .examples("[[intent.examples]]\nname = \"wrong output\"\nstdin = \"a\"\nstdout = \"3\\n\"\n\n[[intent.examples]]\nname = \"wrong code\"\nstdin = \"a b\"\nstdout = \"2\\n\"\nexit_code = 4\n")
        .write();
    let report = module.verify(Profile::Test);
    assert_eq!(ids(&report), vec![CheckId::T001, CheckId::T002]);
    assert!(!report.passed());
    assert!(
        report.findings[0].message.contains("\"3\\n\""),
        "{}",
        report.findings[0].message
    );
    // Correctness errors are reported in dev but do not block.
    let dev = module.verify(Profile::Dev);
    assert_eq!(open_ids(&dev), vec![CheckId::T001, CheckId::T002]);
    assert!(dev.passed());
    assert_eq!(dev.exit_code(), 0);
}

#[test]
fn t_examples_run_on_the_engine_of_the_profile() {
    let module = Fixture::rust().write();
    let engines = |profile| {
        module
            .verify(profile)
            .facts
            .examples
            .iter()
            .map(|e| e.engine.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(engines(Profile::Test), vec!["jit".to_owned()]);
    assert_eq!(engines(Profile::Prod), vec!["aot".to_owned()]);
}

#[test]
fn t001_does_not_block_in_dev() {
    let report = Fixture::rust()
        .examples("[[intent.examples]]\nname = \"wrong\"\nstdout = \"3\\n\"\n")
        .write()
        .verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::T001]);
    assert!(report.passed());
}

#[test]
fn t003_example_stopped_by_the_sandbox() {
    let spin =
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#;
    let report = Fixture::rust().wat(spin).write().verify(Profile::Test);
    assert_eq!(ids(&report), vec![CheckId::T003]);
    assert_eq!(
        report.facts.examples[0].violations,
        vec!["fuel_exhausted".to_owned()]
    );
}

#[test]
fn t004_examples_that_cannot_run() {
    // A granted directory that does not exist on the host: the sandbox cannot be set up.
    let fixture = Fixture::rust()
        .capabilities("dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]\nenv = []\nclock = false\nrandom = false\nnetwork = []\n")
        .effects("[\"stdin\", \"stdout\", \"fs-read\"]")
        .overrides(&override_toml("ovr-0000000c", "module", "allow-read:data", "2027-01-31"));
    let report = fixture.write().verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::T004], "{:?}", report.findings);
    assert!(report.passed(), "correctness errors do not block in dev");
}

#[test]
fn w008_a_mistyped_start_is_found_and_nothing_runs() {
    let bad_start = r#"(module (memory (export "memory") 1) (func (export "_start") (param i32)))"#;
    let report = Fixture::rust().wat(bad_start).write().verify(Profile::Test);
    assert_eq!(ids(&report), vec![CheckId::W008], "{:?}", report.findings);
    assert_eq!(status(&report, CheckId::T001), Status::Skipped);
}

#[test]
fn an_example_setting_an_undeclared_variable_is_refused_by_the_manifest_parser() {
    // anrf-format refuses it (so `anrf check` does too); M006 stays as defence in depth.
    let report = Fixture::rust()
        .examples("[[intent.examples]]\nname = \"sneaky\"\nstdin = \"a b\"\nenv = { HOME = \"/root\" }\nstdout = \"2\\n\"\n")
        .write()
        .verify_static(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::M001]);
    assert!(
        report.findings[0].message.contains("`HOME`"),
        "{}",
        report.findings[0].message
    );
}
