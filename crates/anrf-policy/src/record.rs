//! The signed approval record: what an approver's signature covers, encoded
//! canonically and domain-separated so that a signature over anything else (another
//! anrf record, another tool's message) can never be replayed as an approval.
//!
//! The signed message is `anrf-approval-v1\0` followed by a JSON object with its
//! keys sorted and no whitespace. It names the override (id, relaxation, scope,
//! justification, requester, expiry), the subject (module name and the digest of
//! what the approval binds, [`Subject::binding`]), the approver (name, role,
//! public key), the profile, the project policy's digest (a record of the policy
//! the approver saw; not checked later) and the signing time. Changing any of
//! them — or the module's sources or artifact, or the security fields the
//! override relaxes, which the binding covers — invalidates the approval.

use anrf_format::{Approval, ContentDigest, Override, Profile, Relaxation, Security};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::PolicyError;
use crate::keys::{PublicKey, SecretKey, Signature};

/// Domain separator of approval signatures.
pub const APPROVAL_DOMAIN: &str = "anrf-approval-v1";

/// What an approval binds the override to.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// Module name, or `*` for a project-scoped override.
    pub module: String,
    /// The module's code digest (`ModuleSnapshot::code_digest`); unused for a
    /// project-scoped override.
    pub digest: ContentDigest,
    /// The module's security section, of which an approval binds the fields its
    /// override relaxes; `None` for a project-scoped override.
    pub security: Option<Security>,
}

/// Domain of the binding of a project-scoped override's approvals.
const PROJECT_BINDING_DOMAIN: &[u8] = b"anrf-project-binding-v1\0";

impl Subject {
    /// The subject of a module's overrides: its name, code digest and security section.
    pub fn module(name: &str, code_digest: ContentDigest, security: &Security) -> Self {
        Self {
            module: name.to_owned(),
            digest: code_digest,
            security: Some(security.clone()),
        }
    }

    /// The subject of the project policy's own overrides.
    pub fn project() -> Self {
        Self {
            module: "*".to_owned(),
            digest: ContentDigest::of(PROJECT_BINDING_DOMAIN),
            security: None,
        }
    }

    /// The digest an approval of an override relaxing `relaxes` binds to, and
    /// is checked against at every decision.
    ///
    /// For a module: its code and artifact plus the security fields the override
    /// relaxes ([`anrf_format::approval_binding`]), so another override, a new
    /// approver or an unrelated edit leaves the approval valid, and a code,
    /// artifact or relaxed-field edit voids it. For a project-scoped override:
    /// the override alone (which the signature covers). The project policy is
    /// not bound: its approvers, rules, profiles and maxima are applied afresh at
    /// every decision, so a policy edit cannot widen what an approval grants.
    pub fn binding(&self, relaxes: &Relaxation) -> ContentDigest {
        if let Some(security) = &self.security {
            return anrf_format::approval_binding(&self.digest, security, relaxes);
        }
        let mut bytes = PROJECT_BINDING_DOMAIN.to_vec();
        bytes.extend_from_slice(relaxes.to_string().as_bytes());
        ContentDigest::of(&bytes)
    }
}

/// The approver's side of a signature, before signing.
#[derive(Debug, Clone)]
pub struct Signer<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub key: &'a SecretKey,
}

/// Field order is alphabetical: serde serializes struct fields in declaration
/// order, so the JSON keys come out sorted.
#[derive(Serialize)]
struct Payload<'a> {
    approver: &'a str,
    domain: &'a str,
    justification: &'a str,
    module: &'a str,
    override_expires: String,
    override_id: &'a str,
    policy_digest: &'a str,
    profile: &'a str,
    public_key: &'a str,
    relaxes: String,
    requested_by: &'a str,
    role: &'a str,
    scope: String,
    signed_at: &'a str,
    subject_digest: &'a str,
}

/// The exact bytes an approval's signature covers.
pub fn signed_message(ovr: &Override, module: &str, approval: &Approval) -> Vec<u8> {
    let payload = Payload {
        approver: &approval.approver,
        domain: APPROVAL_DOMAIN,
        justification: ovr.justification.as_str(),
        module,
        override_expires: ovr.expires.to_string(),
        override_id: ovr.id.as_str(),
        policy_digest: approval.policy_digest.as_str(),
        profile: approval.profile.as_str(),
        public_key: &approval.public_key,
        relaxes: ovr.relaxes.to_string(),
        requested_by: ovr.requested_by.as_str(),
        role: &approval.role,
        scope: ovr.scope.to_string(),
        signed_at: &approval.signed_at,
        subject_digest: approval.subject_digest.as_str(),
    };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(APPROVAL_DOMAIN.as_bytes());
    out.push(0);
    // Serializing plain strings into a Vec cannot fail; an empty payload would
    // simply never verify.
    out.extend_from_slice(
        serde_json::to_string(&payload)
            .unwrap_or_default()
            .as_bytes(),
    );
    out
}

/// Signs `ovr` for `subject` and returns the approval to append to it.
pub fn sign(
    ovr: &Override,
    subject: &Subject,
    signer: &Signer<'_>,
    profile: Profile,
    policy_digest: &ContentDigest,
    signed_at: OffsetDateTime,
) -> Result<Approval, PolicyError> {
    let mut approval = Approval {
        approver: signer.name.to_owned(),
        role: signer.role.to_owned(),
        public_key: signer.key.public_key().to_string(),
        profile,
        subject_digest: subject.binding(&ovr.relaxes),
        policy_digest: policy_digest.clone(),
        signed_at: format_time(signed_at)?,
        signature: String::new(),
    };
    let message = signed_message(ovr, &subject.module, &approval);
    approval.signature = signer.key.sign(&message).to_string();
    Ok(approval)
}

/// Why a signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The signature verifies under the approval's public key.
    Valid,
    /// No signature at all.
    Missing,
    /// The public key or signature is not well-formed.
    Malformed(String),
    /// Well-formed, but not a signature of this record by this key: forged, or the
    /// record was altered after signing.
    Mismatch,
}

/// Checks an approval's signature over `ovr` for `module`.
pub fn verify(ovr: &Override, module: &str, approval: &Approval) -> SignatureCheck {
    if approval.signature.trim().is_empty() {
        return SignatureCheck::Missing;
    }
    let key: PublicKey = match approval.public_key.parse() {
        Ok(k) => k,
        Err(e) => return SignatureCheck::Malformed(e.to_string()),
    };
    let signature: Signature = match approval.signature.parse() {
        Ok(s) => s,
        Err(e) => return SignatureCheck::Malformed(e.to_string()),
    };
    if key.verify(&signed_message(ovr, module, approval), &signature) {
        SignatureCheck::Valid
    } else {
        SignatureCheck::Mismatch
    }
}

/// RFC 3339, UTC, whole seconds: the form stored in manifests.
pub fn format_time(t: OffsetDateTime) -> Result<String, PolicyError> {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| PolicyError::Time {
            value: t.to_string(),
            reason: e.to_string(),
        })?;
    t.format(&Rfc3339).map_err(|e| PolicyError::Time {
        value: t.to_string(),
        reason: e.to_string(),
    })
}

/// Parses a `YYYY-MM-DD` date (an override's last valid day).
pub fn parse_date(s: &str) -> Result<time::Date, PolicyError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &format).map_err(|e| PolicyError::Time {
        value: s.to_owned(),
        reason: format!("{e} (write the date as YYYY-MM-DD)"),
    })
}

/// Parses an RFC 3339 time.
pub fn parse_time(s: &str) -> Result<OffsetDateTime, PolicyError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| PolicyError::Time {
        value: s.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use anrf_format::{Justification, OverrideId, Relaxation, Scope};

    pub(crate) fn sample_override() -> Override {
        Override {
            id: OverrideId::new("ovr-0123abcd").unwrap(),
            scope: Scope::Module,
            relaxes: "allow-read:data".parse::<Relaxation>().unwrap(),
            justification: Justification::new(
                "reads the shipped word list from data to filter stop words",
            )
            .unwrap(),
            requested_by: "alice".parse().unwrap(),
            expires: time::macros::date!(2027 - 03 - 31),
            approvals: Vec::new(),
            revoked: None,
        }
    }

    fn subject() -> Subject {
        Subject::module("wordcount", ContentDigest::of(b"module"), &security())
    }

    pub(crate) fn security() -> Security {
        Security {
            memory_safety: anrf_format::MemorySafety::Enforced,
            isolation: anrf_format::Isolation::Wasm,
            limits: anrf_format::Limits::DEFAULT,
            capabilities: anrf_format::Capabilities {
                dirs: Vec::new(),
                env: Vec::new(),
                clock: false,
                random: false,
                network: Vec::new(),
            },
            overrides: Vec::new(),
        }
    }

    fn signed() -> (Override, Approval) {
        let ovr = sample_override();
        let key = SecretKey::from_seed([5; 32]);
        let signer = Signer {
            name: "bob",
            role: "security",
            key: &key,
        };
        let approval = sign(
            &ovr,
            &subject(),
            &signer,
            Profile::Prod,
            &ContentDigest::of(b"policy"),
            time::macros::datetime!(2026-11-23 12:00:00.5 UTC),
        )
        .unwrap();
        (ovr, approval)
    }

    #[test]
    fn a_fresh_signature_verifies() {
        let (ovr, approval) = signed();
        assert_eq!(approval.signed_at, "2026-11-23T12:00:00Z");
        assert_eq!(verify(&ovr, "wordcount", &approval), SignatureCheck::Valid);
    }

    #[test]
    fn message_is_domain_separated_and_sorted() {
        let (ovr, approval) = signed();
        let msg = signed_message(&ovr, "wordcount", &approval);
        assert!(msg.starts_with(b"anrf-approval-v1\0{\"approver\":\"bob\",\"domain\""));
        let json: serde_json::Value =
            serde_json::from_slice(&msg[APPROVAL_DOMAIN.len() + 1..]).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn every_altered_field_breaks_the_signature() {
        let (ovr, approval) = signed();
        let mut cases: Vec<(&str, Override, Approval, &str)> = Vec::new();
        let mut o = ovr.clone();
        o.justification =
            Justification::new("reads the whole home directory for convenience reasons").unwrap();
        cases.push(("justification", o, approval.clone(), "wordcount"));
        let mut o = ovr.clone();
        o.relaxes = "allow-write:data".parse().unwrap();
        cases.push(("relaxes", o, approval.clone(), "wordcount"));
        let mut o = ovr.clone();
        o.scope = Scope::Project;
        cases.push(("scope", o, approval.clone(), "wordcount"));
        let mut o = ovr.clone();
        o.expires = time::macros::date!(2030 - 01 - 01);
        cases.push(("expires", o, approval.clone(), "wordcount"));
        let mut o = ovr.clone();
        o.requested_by = "mallory".parse().unwrap();
        cases.push(("requested_by", o, approval.clone(), "wordcount"));
        let mut a = approval.clone();
        a.role = "admin".into();
        cases.push(("role", ovr.clone(), a, "wordcount"));
        let mut a = approval.clone();
        a.profile = Profile::Dev;
        cases.push(("profile", ovr.clone(), a, "wordcount"));
        let mut a = approval.clone();
        a.subject_digest = ContentDigest::of(b"other");
        cases.push(("subject_digest", ovr.clone(), a, "wordcount"));
        let mut a = approval.clone();
        a.signed_at = "2026-11-24T12:00:00Z".into();
        cases.push(("signed_at", ovr.clone(), a, "wordcount"));
        let mut a = approval.clone();
        a.approver = "carol".into();
        cases.push(("approver", ovr.clone(), a, "wordcount"));
        cases.push(("module", ovr.clone(), approval.clone(), "other-module"));
        for (what, o, a, module) in cases {
            assert_eq!(
                verify(&o, module, &a),
                SignatureCheck::Mismatch,
                "altering {what} went unnoticed"
            );
        }
    }

    #[test]
    fn swapped_key_and_garbage_are_told_apart() {
        let (ovr, mut approval) = signed();
        approval.public_key = SecretKey::from_seed([6; 32]).public_key().to_string();
        assert_eq!(
            verify(&ovr, "wordcount", &approval),
            SignatureCheck::Mismatch
        );
        approval.signature = "ed25519:nope".into();
        assert!(matches!(
            verify(&ovr, "wordcount", &approval),
            SignatureCheck::Malformed(_)
        ));
        approval.signature = String::new();
        assert_eq!(
            verify(&ovr, "wordcount", &approval),
            SignatureCheck::Missing
        );
    }
}
