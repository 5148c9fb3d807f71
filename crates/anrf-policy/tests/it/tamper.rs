//! Tampering with overrides and approvals after signing: every alteration is
//! detected, and the override stops granting anything.

use anrf_format::{ContentDigest, Override, Profile, Scope};
use anrf_policy::{Refusal, RevocationNotice, SignatureCheck, verify_signature};

use crate::support::*;

fn approved() -> Override {
    let mut ovr = request(
        "allow-read:data",
        Scope::Function("load_list".into()),
        "alice",
    );
    sign(&mut ovr, "bob", Profile::Test, &policy());
    assert!(decide(&ovr, Profile::Test, &policy()).is_granted());
    ovr
}

fn assert_tampered(ovr: &Override, what: &str) {
    let d = decide(ovr, Profile::Test, &policy());
    assert!(
        !d.is_granted(),
        "tampering with {what} went unnoticed: {:?}",
        d.reasons
    );
    assert_eq!(
        d.refusal,
        Some(Refusal::BadSignature),
        "{what}: {:?}",
        d.reasons
    );
}

#[test]
fn altered_justification_is_detected() {
    let mut o = approved();
    o.justification =
        anrf_format::Justification::new("reads the whole disk because the model asked nicely")
            .unwrap();
    assert_tampered(&o, "the justification");
}

#[test]
fn widened_relaxation_is_detected() {
    let mut o = approved();
    o.relaxes = "allow-read:shared".parse().unwrap();
    assert_tampered(&o, "the relaxation");
}

#[test]
fn extended_expiry_is_detected() {
    let mut o = approved();
    // Within the 366-day cap, so that only the signature can catch it.
    o.expires = o.expires.saturating_add(time::Duration::days(30));
    assert_tampered(&o, "the expiry");
}

#[test]
fn widened_scope_is_detected() {
    let mut o = approved();
    o.scope = Scope::Module;
    assert_tampered(&o, "the scope");
}

#[test]
fn changed_requester_is_detected() {
    let mut o = approved();
    o.requested_by = "mallory".parse().unwrap();
    assert_tampered(&o, "the requester");
}

#[test]
fn approval_relabelled_to_another_approver_is_detected() {
    let mut o = approved();
    o.approvals[0].approver = "carol".into();
    assert_tampered(&o, "the approver name");
}

#[test]
fn approval_with_a_swapped_public_key_is_detected() {
    let mut o = approved();
    o.approvals[0].public_key = key("carol").public_key().to_string();
    assert_tampered(&o, "the public key");
}

#[test]
fn raised_profile_is_detected() {
    let mut o = approved();
    o.approvals[0].profile = Profile::Prod;
    assert_tampered(&o, "the approval's profile");
}

#[test]
fn changed_role_is_detected() {
    let mut o = approved();
    o.approvals[0].role = "reviewer".into();
    assert_tampered(&o, "the role");
}

#[test]
fn subject_digest_updated_to_edited_code_is_detected() {
    // The code changed; someone rewrites the approval's digest to match it.
    let mut o = approved();
    o.approvals[0].subject_digest = changed_digest();
    let d = decide_at(&o, Profile::Test, &policy(), NOW, &changed_digest(), &[]);
    assert_eq!(d.refusal, Some(Refusal::BadSignature), "{:?}", d.reasons);
}

#[test]
fn backdated_signing_time_is_detected() {
    let mut o = approved();
    o.approvals[0].signed_at = "2026-01-01T00:00:00Z".into();
    assert_tampered(&o, "the signing time");
}

#[test]
fn flipped_signature_bit_is_detected() {
    let mut o = approved();
    let sig = &o.approvals[0].signature;
    let mut chars: Vec<char> = sig.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    o.approvals[0].signature = chars.into_iter().collect();
    assert_tampered(&o, "one signature character");
}

#[test]
fn replaced_policy_digest_is_detected() {
    let mut o = approved();
    o.approvals[0].policy_digest = ContentDigest::of(b"a laxer policy");
    assert_tampered(&o, "the policy digest");
}

#[test]
fn approval_copied_onto_another_override_is_detected() {
    let approval = approved().approvals[0].clone();
    let mut other = request(
        "allow-read:shared",
        Scope::Function("load_list".into()),
        "alice",
    );
    other.approvals.push(approval);
    assert_tampered(&other, "the override the approval belongs to");
}

#[test]
fn approval_moved_to_another_module_is_detected() {
    let o = approved();
    assert_eq!(
        verify_signature(&o, MODULE, &o.approvals[0]),
        SignatureCheck::Valid
    );
    assert_eq!(
        verify_signature(&o, "other-module", &o.approvals[0]),
        SignatureCheck::Mismatch
    );
}

#[test]
fn stripping_the_signature_leaves_it_unsigned() {
    let mut o = approved();
    o.approvals[0].signature = String::new();
    let d = decide(&o, Profile::Test, &policy());
    assert_eq!(d.refusal, Some(Refusal::Unsigned), "{:?}", d.reasons);
}

#[test]
fn deleting_the_revocation_from_the_manifest_does_not_restore_the_override() {
    let o = approved();
    let notice = RevocationNotice {
        override_id: o.id.as_str().into(),
        module: Some(MODULE.into()),
        by: "bob".into(),
        at: "2026-11-23T15:00:00Z".into(),
        reason: "no longer needed".into(),
    };
    let d = decide_at(&o, Profile::Test, &policy(), NOW, &digest(), &[notice]);
    assert_eq!(d.refusal, Some(Refusal::Revoked));
}

#[test]
fn removing_an_approver_from_the_policy_voids_their_approvals() {
    let o = approved();
    let text = policy_text("[maxima]\nread = [\"data\", \"shared\"]");
    // Remove bob's whole `[[approvers]]` entry: the block that names him.
    let bob = format!(
        "\n[[approvers]]\nname = \"bob\"\npublic_key = \"{}\"\nroles = [\"security\"]\n",
        key("bob").public_key()
    );
    assert!(text.contains(&bob), "fixture changed: {text}");
    let text = text.replace(&bob, "\n");
    let p = anrf_policy::ProjectPolicy::parse(&text, "anrf-policy.toml").unwrap();
    assert!(p.approver_by_name("bob").is_none());
    assert!(p.approver_by_key(&key("bob").public_key()).is_none());
    let d = decide(&o, Profile::Test, &p);
    assert_eq!(d.refusal, Some(Refusal::UnknownKey), "{:?}", d.reasons);
    assert!(
        d.reasons.join(" ").contains("not a trusted approver's key"),
        "{:?}",
        d.reasons
    );
}
