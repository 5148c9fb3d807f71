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
