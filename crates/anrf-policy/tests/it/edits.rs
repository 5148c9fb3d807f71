//! Manifest edits keep the author's comments and parse back to what was meant.

use anrf_format::{Manifest, Profile, Revocation, Scope};
use anrf_policy::{ManifestEdit, add_approval, add_override, declare, set_revoked};

use crate::support::*;

fn text() -> String {
    format!(
        "# my module\nanrf = 1\n[module]\nname = \"{MODULE}\" # the name\nversion = \"0.1.0\"\n[intent]\nsummary = \"Count words\"\n[logic]\ninterface = \"command\"\nfunctions = [\"load_list\"]\n[implementation]\nlanguage = \"rust\"\nsources = [\"src/main.rs\"]\n[security]\n{}",
        security("enforced", "64MiB", NO_CAPS)
            .replace("[security.limits]", "# keep these low\n[security.limits]")
    )
}

#[test]
fn request_approve_revoke_round_trip_keeps_comments() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    let (t, edit) = declare(&text(), &ovr.relaxes, "anrf.toml").unwrap();
    assert!(matches!(edit, ManifestEdit::Declared(_)));
    let (t, again) = declare(&t, &ovr.relaxes, "anrf.toml").unwrap();
    assert_eq!(again, ManifestEdit::AlreadyDeclared);
    let t = add_override(&t, &ovr, "anrf.toml").unwrap();
    let m = Manifest::from_str(&t, "anrf.toml").unwrap();
    assert_eq!(m.security.overrides, vec![ovr.clone()]);
    assert_eq!(m.security.capabilities.dirs[0].guest.as_str(), "/data");

    sign(&mut ovr, "bob", Profile::Prod, &policy());
    sign(&mut ovr, "carol", Profile::Prod, &policy());
    let t = add_approval(&t, ovr.id.as_str(), &ovr.approvals[0], "anrf.toml").unwrap();
    let t = add_approval(&t, ovr.id.as_str(), &ovr.approvals[1], "anrf.toml").unwrap();
    let m = Manifest::from_str(&t, "anrf.toml").unwrap();
    assert_eq!(m.security.overrides[0].approvals, ovr.approvals);

    let rev = Revocation {
        by: "bob".into(),
        at: "2026-11-23T15:00:00Z".into(),
        reason: "no longer needed".into(),
    };
    let t = set_revoked(&t, ovr.id.as_str(), &rev, "anrf.toml").unwrap();
    let m = Manifest::from_str(&t, "anrf.toml").unwrap();
    assert_eq!(m.security.overrides[0].revoked, Some(rev.clone()));
    assert!(set_revoked(&t, ovr.id.as_str(), &rev, "anrf.toml").is_err());
    assert!(t.starts_with("# my module\n"));
    assert!(t.contains("# the name") && t.contains("# keep these low"));
}

#[test]
fn declaring_a_raise_and_memory_unsafe_updates_the_security_section() {
    let (t, _) = declare(
        &text(),
        &"raise:memory=128MiB".parse().unwrap(),
        "anrf.toml",
    )
    .unwrap();
    let (t, _) = declare(&t, &"memory-unsafe".parse().unwrap(), "anrf.toml").unwrap();
    let (t, _) = declare(&t, &"allow-env:GREETING".parse().unwrap(), "anrf.toml").unwrap();
    // anrf-format wants an override beside a raised limit and `sandbox-only`.
    let t = add_override(
        &t,
        &request("memory-unsafe", Scope::Module, "alice"),
        "anrf.toml",
    )
    .unwrap();
    let t = add_override(
        &t,
        &request("raise:memory=128MiB", Scope::Module, "alice"),
        "anrf.toml",
    )
    .unwrap();
    let m = Manifest::from_str(&t, "anrf.toml").unwrap();
    assert_eq!(m.security.limits.memory.bytes(), 128 << 20);
    assert_eq!(
        m.security.memory_safety,
        anrf_format::MemorySafety::SandboxOnly
    );
    assert_eq!(m.security.capabilities.env[0].as_str(), "GREETING");
}

#[test]
fn approving_an_unknown_id_is_an_error() {
    let ovr = request("allow-read:data", Scope::Module, "alice");
    let mut signed = ovr.clone();
    sign(&mut signed, "bob", Profile::Test, &policy());
    let err = add_approval(&text(), ovr.id.as_str(), &signed.approvals[0], "anrf.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no override"), "{err}");
}

#[test]
fn a_declared_capability_brings_the_effect_it_serves() {
    let with_effects = text().replace("[logic]\n", "[logic]\neffects = [\"stdin\", \"stdout\"]\n");
    for (relaxes, effect) in [
        ("allow-read:data", "fs-read"),
        ("allow-write:out", "fs-write"),
        ("allow-env:GREETING", "env"),
        ("allow-network:api.example.com", "network"),
    ] {
        let (t, edit) = declare(&with_effects, &relaxes.parse().unwrap(), "anrf.toml").unwrap();
        let m = Manifest::from_str(&t, "anrf.toml").unwrap();
        assert!(
            m.logic
                .effects
                .iter()
                .any(|e| serde_json::to_value(e).unwrap() == effect),
            "{relaxes}: {t}"
        );
        let ManifestEdit::Declared(what) = edit else {
            panic!("{relaxes}: nothing declared");
        };
        assert!(
            what.contains(&format!("`\"{effect}\"` in `logic.effects`")),
            "{what}"
        );
        // Once there, it is not added twice.
        let (again, _) = declare(&t, &relaxes.parse().unwrap(), "anrf.toml").unwrap();
        assert_eq!(
            again.matches(&format!("\"{effect}\"")).count(),
            1,
            "{again}"
        );
    }
}
