//! The result cache: keyed by content, policy, profile and verifier; a hit
//! returns the same report.

use anrf_format::Profile;
use anrf_policy::ProjectPolicy;
use anrf_verify::{Cache, VerifyOptions};

use crate::support::{Fixture, NOW, policy};

#[test]
fn a_hit_returns_the_same_report() {
    let module = Fixture::rust().write();
    let loaded = module.module();
    let builtin = ProjectPolicy::builtin();
    let mut options = VerifyOptions::new(&builtin, Profile::Dev);
    options.now(NOW);
    let home = tempfile::tempdir().unwrap();
    let cache = Cache::new(home.path().join("cache/verify"));
    let key = Cache::key(&loaded, &options).unwrap();
    assert!(cache.get(&key).is_none());
    let report = anrf_verify::verify(&loaded, &options).unwrap();
    cache.put(&key, &report).unwrap();
    assert_eq!(cache.get(&key), Some(report));
}

#[test]
fn the_key_follows_content_policy_and_profile() {
    let module = Fixture::rust().write();
    let builtin = ProjectPolicy::builtin();
    let project = policy();
    let key = |policy: &ProjectPolicy, profile| {
        let mut options = VerifyOptions::new(policy, profile);
        options.now(NOW);
        Cache::key(&module.module(), &options).unwrap()
    };
    let base = key(&builtin, Profile::Dev);
    assert_eq!(
        base,
        key(&builtin, Profile::Dev),
        "the key is deterministic"
    );
    assert_ne!(base, key(&builtin, Profile::Prod));
    assert_ne!(base, key(&project, Profile::Dev));
    let path = module.root.join("src/main.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text + "\n// edited\n").unwrap();
    assert_ne!(
        base,
        key(&builtin, Profile::Dev),
        "a source edit changes the key"
    );
}

#[test]
fn an_edit_to_a_project_override_changes_the_key() {
    let module = Fixture::rust().write();
    // Project-scoped overrides are left out of the policy digest (approvals
    // sign it), so the key must take them in itself: editing one, down to its
    // justification, must not leave the old report in force.
    let base = "version = 1\n\n[maxima]\nread = [\"data\"]\n";
    let with = |justification: &str| {
        let text = format!(
            "{base}\n[[overrides]]\nid = \"ovr-0000aaaa\"\nscope = \"project\"\nrelaxes = \"allow-env:GREETING\"\njustification = \"{justification}\"\nrequested_by = \"alice\"\nexpires = \"2099-01-01\"\napprovals = []\n"
        );
        ProjectPolicy::parse(&text, "anrf-policy.toml").unwrap()
    };
    let first = with("every module greets with the configured greeting text");
    let edited = with("every module greets with the greeting text it is given");
    assert_eq!(
        first.digest(),
        edited.digest(),
        "the digest leaves them out"
    );
    let key = |policy: &ProjectPolicy| {
        let mut options = VerifyOptions::new(policy, Profile::Test);
        options.now(NOW);
        Cache::key(&module.module(), &options).unwrap()
    };
    assert_ne!(key(&first), key(&edited));
    assert_eq!(
        key(&first),
        key(&with(
            "every module greets with the configured greeting text"
        ))
    );
}

#[test]
fn a_corrupt_entry_is_a_miss() {
    let module = Fixture::rust().write();
    let builtin = ProjectPolicy::builtin();
    let options = VerifyOptions::new(&builtin, Profile::Dev);
    let home = tempfile::tempdir().unwrap();
    let cache = Cache::new(home.path());
    let key = Cache::key(&module.module(), &options).unwrap();
    std::fs::write(
        home.path().join(format!("{}.json", key.as_str())),
        "{not json",
    )
    .unwrap();
    assert!(cache.get(&key).is_none());
}

#[test]
fn a_module_with_missing_files_has_no_key() {
    let module = Fixture::rust().write();
    let loaded = module.module();
    std::fs::remove_file(module.root.join("src/main.rs")).unwrap();
    let builtin = ProjectPolicy::builtin();
    let options = VerifyOptions::new(&builtin, Profile::Dev);
    assert!(Cache::key(&loaded, &options).is_none());
}

#[test]
fn fetching_a_missing_dependency_changes_the_key() {
    let module = Fixture::rust()
        .file(
            "Cargo.toml",
            "[package]\nname = \"wordcount\"\nversion = \"0.1.0\"\n[dependencies]\nplain = \"1\"\n",
        )
        .file(
            "Cargo.lock",
            "version = 4\n\n[[package]]\nname = \"wordcount\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"plain\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        )
        .write();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("registry/src/index.example-0000")).unwrap();
    let builtin = ProjectPolicy::builtin();
    let mut options = VerifyOptions::new(&builtin, Profile::Dev);
    options
        .now(NOW)
        .examples(anrf_verify::Examples::Skip)
        .cargo_home(home.path());
    let before = Cache::key(&module.module(), &options).unwrap();
    let report = anrf_verify::verify(&module.module(), &options).unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.id == anrf_verify::CheckId::S103)
    );
    crate::support::write(
        home.path(),
        "registry/src/index.example-0000/plain-1.0.0/Cargo.toml",
        "[package]\nname = \"plain\"\n",
    );
    let after = Cache::key(&module.module(), &options).unwrap();
    assert_ne!(before, after, "the dependency's source is part of the key");
    let report = anrf_verify::verify(&module.module(), &options).unwrap();
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.id != anrf_verify::CheckId::S103)
    );
}

#[test]
fn an_unlisted_file_changes_the_key() {
    let module = Fixture::rust().write();
    let builtin = ProjectPolicy::builtin();
    let mut options = VerifyOptions::new(&builtin, Profile::Dev);
    options.now(NOW);
    let before = Cache::key(&module.module(), &options).unwrap();
    crate::support::write(&module.root, "src/evil.rs", "pub fn f() { unsafe {} }\n");
    assert_ne!(before, Cache::key(&module.module(), &options).unwrap());
}

#[test]
fn a_stored_report_for_another_module_or_profile_is_a_miss() {
    let module = Fixture::rust().write();
    let builtin = ProjectPolicy::builtin();
    let mut options = VerifyOptions::new(&builtin, Profile::Dev);
    options.now(NOW);
    let home = tempfile::tempdir().unwrap();
    let cache = Cache::new(home.path());
    let key = Cache::key(&module.module(), &options).unwrap();
    let mut report = anrf_verify::verify(&module.module(), &options).unwrap();
    report.profile = Profile::Prod;
    cache.put(&key, &report).unwrap();
    assert!(cache.get(&key).is_none(), "profile differs");
    report.profile = Profile::Dev;
    report.digest = Some("sha256:0000".into());
    cache.put(&key, &report).unwrap();
    assert!(cache.get(&key).is_none(), "digest differs");
    report.digest = Cache::key(&module.module(), &options)
        .map(|_| module.module().content_digest().unwrap().to_string());
    cache.put(&key, &report).unwrap();
    assert_eq!(cache.get(&key), Some(report));
}
