//! The bodies of the fuzz targets, as plain functions: `cargo fuzz` calls them
//! from `fuzz_targets/`, and the workspace's stable `cargo test` replays every
//! file of `corpus/TARGET/` through them (`crates/anrf/tests/it/fuzz_corpus.rs`
//! includes this file), so an input that once failed keeps being tried without
//! nightly. Each function panics when its property does not hold.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a fuzz target reports a broken property by panicking"
)]

use anrf_format::{ContentDigest, LimitName, Manifest, Profile};
use anrf_policy::{ModuleInput, ProjectPolicy, ResolveInput, resolve};

/// A target's body: panics when its property does not hold.
pub type Body = fn(&[u8]);

/// Every target: its corpus directory's name and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("manifest", manifest),
    ("policy", policy),
    ("intent", intent),
    ("report", report),
];

/// The manifest parser never panics, and whatever it accepts survives a round
/// trip through its normal form unchanged.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = Manifest::from_str(text, "fuzz.toml") {
        let normal = manifest.to_toml().expect("an accepted manifest serializes");
        let again = Manifest::from_str(&normal, "normal.toml")
            .expect("the normal form of an accepted manifest is accepted");
        assert_eq!(manifest, again);
    }
}

/// Policy resolution never panics and is deterministic, and what it grants
/// stays within the project maxima. The input is a project policy and a
/// manifest, separated by a line `%%` (a missing policy part means the built-in
/// policy).
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (policy_text, manifest_text) = match text.split_once("\n%%\n") {
        Some((p, m)) => (Some(p), m),
        None => (None, text),
    };
    let project = match policy_text {
        Some(p) => match ProjectPolicy::parse(p, "fuzz-policy.toml") {
            Ok(p) => p,
            Err(_) => return,
        },
        None => ProjectPolicy::builtin(),
    };
    let Ok(manifest) = Manifest::from_str(manifest_text, "fuzz.toml") else {
        return;
    };
    let digest = ContentDigest::of(manifest_text.as_bytes());
    let now = anrf_policy::OffsetDateTime::from_unix_timestamp(1_795_000_000)
        .expect("a fixed time in range");
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let input = ResolveInput {
            project: &project,
            profile,
            now,
            module: Some(ModuleInput {
                manifest: &manifest,
                code_digest: &digest,
            }),
            cli_grants: &[],
            cli_justification: None,
            user: "fuzz",
            revocations: &[],
        };
        let first = resolve(&input);
        assert_eq!(first, resolve(&input), "resolution is deterministic");
        for name in LimitName::ALL {
            assert!(
                first.effective.limits.get(name) <= project.maxima().limits.get(name),
                "limit {name} above the project maximum"
            );
        }
        if project.approvers().is_empty() && profile != Profile::Dev {
            assert!(
                first.effective.dirs.is_empty() && first.effective.env.is_empty(),
                "nothing past the defaults without trusted approvers in {profile}"
            );
        }
        if first.is_complete() {
            assert_eq!(
                first.effective.dirs.len(),
                manifest.security.capabilities.dirs.len(),
                "a complete resolution grants every declared directory"
            );
        }
    }
}

/// The intent checker never panics and is deterministic: the same text gives
/// the same report, its score lies in `0..=1`, and it requests an override
/// exactly when it names a category (and then never simply allows).
pub fn intent(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let first = anrf_gen::detect::check(&text).expect("the built-in detector loads");
    let second = anrf_gen::detect::check(&text).expect("the built-in detector loads");
    assert_eq!(first, second, "the intent checker is deterministic");
    assert!(
        (0.0..=1.0).contains(&first.score),
        "score {} outside 0..=1",
        first.score
    );
    assert_eq!(
        first.override_requested,
        !first.categories.is_empty(),
        "an override is requested exactly when a category is detected"
    );
    let json = serde_json::to_string(&first).expect("a report serializes");
    let again: anrf_gen::detect::IntentReport =
        serde_json::from_str(&json).expect("the JSON of a report parses back");
    assert_eq!(again, first, "the JSON of a report round-trips");
}

/// Any strings in a finding and a report (the input split at NUL bytes into
/// message, help, file, function, module, policy and path prefix) give valid
/// JSON from `--json` and valid SARIF 2.1.0 that carry them unchanged.
pub fn report(data: &[u8]) {
    use anrf_verify::finding::{CheckId, Finding, Location};
    use anrf_verify::report::{Facts, REPORT_FORMAT, Report};
    let text = String::from_utf8_lossy(data);
    let parts: Vec<&str> = text.split('\0').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("").to_owned();
    let mut finding = Finding::new(CheckId::M007, part(0))
        .help(part(1))
        .at(Location::at(part(2), 1, 1));
    finding.function = Some(part(3));
    let report = Report {
        format: REPORT_FORMAT,
        verifier: "anrf-verify".to_owned(),
        module: part(4),
        digest: None,
        policy_digest: "0".repeat(64),
        policy: part(5),
        profile: Profile::Dev,
        findings: vec![finding],
        checks: Vec::new(),
        facts: Facts::default(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&anrf_verify::render::json(&report)).expect("--json is valid JSON");
    assert_eq!(json["findings"][0]["message"], part(0).as_str());
    assert_eq!(json["module"], part(4).as_str());
    let options = anrf_verify::RenderOptions {
        prefix: Some(part(6)),
        exclude_suppressed: false,
    };
    let sarif = anrf_verify::sarif::sarif(&report, &options).expect("SARIF renders");
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("SARIF is valid JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "ANRF-M007");
    let message = result["message"]["text"]
        .as_str()
        .expect("a result has a message");
    assert!(
        message.contains(&part(0)),
        "the SARIF message carries the finding's"
    );
    let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str();
    assert!(uri.is_some(), "a located finding has a URI in SARIF");
}
