//! Events: what callers record ([`NewEvent`]), what the log stores
//! ([`EventRecord`]), and the hash that chains them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical;

/// What happened. Stored as its `snake_case` name.
///
/// New kinds may be added; a log holding a kind this build does not know
/// still verifies (the hash covers the stored text) and lists with the raw name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A module, `.wasm` or `.wat` ran (or was refused before it ran).
    Run,
    /// A module was built.
    Build,
    /// `anrf verify` checked a module.
    Verify,
    /// Someone asked for an override.
    OverrideRequest,
    /// An approver signed an override.
    OverrideApprove,
    /// An override was revoked.
    OverrideRevoke,
    /// The policy engine decided something (effective policy of a run, an
    /// authorization check).
    PolicyDecision,
    /// A module was generated from an intent.
    Gen,
    /// The benchmark ran.
    Eval,
    /// A signing key was generated.
    KeyGen,
    /// A signed checkpoint was written on request (`anrf audit checkpoint`).
    Checkpoint,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 11] = [
        EventKind::Run,
        EventKind::Build,
        EventKind::Verify,
        EventKind::OverrideRequest,
        EventKind::OverrideApprove,
        EventKind::OverrideRevoke,
        EventKind::PolicyDecision,
        EventKind::Gen,
        EventKind::Eval,
        EventKind::KeyGen,
        EventKind::Checkpoint,
    ];

    /// The stored, `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Run => "run",
            EventKind::Build => "build",
            EventKind::Verify => "verify",
            EventKind::OverrideRequest => "override_request",
            EventKind::OverrideApprove => "override_approve",
            EventKind::OverrideRevoke => "override_revoke",
            EventKind::PolicyDecision => "policy_decision",
            EventKind::Gen => "gen",
            EventKind::Eval => "eval",
            EventKind::KeyGen => "key_gen",
            EventKind::Checkpoint => "checkpoint",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// The outcome an event records.
///
/// - `allow`: the action was permitted and done (a run that completed, an
///   override approved, a verify with nothing blocking).
/// - `deny`: policy refused it before it happened (a capability not granted,
///   an approval that does not satisfy the rules, blocking findings).
/// - `violation`: the sandbox stopped it while it ran (timeout, memory limit, ...).
/// - `error`: it could not be done (bad input, I/O failure).
/// - `info`: a fact with no decision (a request filed, a key generated, a
///   checkpoint written, a run about to start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    Allow,
    Deny,
    Violation,
    Error,
    Info,
}

impl Decision {
    /// Every decision, in declaration order.
    pub const ALL: [Decision; 5] = [
        Decision::Allow,
        Decision::Deny,
        Decision::Violation,
        Decision::Error,
        Decision::Info,
    ];

    /// The stored, `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Violation => "violation",
            Decision::Error => "error",
            Decision::Info => "info",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decision::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// A name that is not a known [`EventKind`] or [`Decision`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name `{0}`")]
pub struct UnknownName(pub String);

/// An event to append. The log adds the sequence number, time, hashes and
/// signature.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Who acted: a user name, `approver:<key id>`, a CI job.
    pub actor: String,
    pub kind: EventKind,
    /// What it was about: a content digest (`sha256:...`), a module path, an
    /// override id.
    pub subject: String,
    pub decision: Decision,
    /// Anything else worth keeping, as JSON (stored in canonical form).
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An event with empty details (`{}`).
    pub fn new(
        kind: EventKind,
        actor: impl Into<String>,
        subject: impl Into<String>,
        decision: Decision,
    ) -> Self {
        NewEvent {
            actor: actor.into(),
            kind,
            subject: subject.into(),
            decision,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Replaces the details.
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// The subject of an event about a module's content: `NAME@DIGEST`, e.g.
/// `hello@sha256:1f2e...`, so the log says which content ran, was verified or
/// was approved, not only which name. `anrf run` and `anrf verify` use the
/// module's security digest (sources, artifact, security section).
pub fn module_subject(name: &str, digest: &str) -> String {
    format!("{name}@{digest}")
}

/// The module name of a [`module_subject`] (the whole subject when it has no
/// digest part).
pub fn subject_module(subject: &str) -> &str {
    subject
        .rsplit_once("@sha256:")
        .map_or(subject, |(name, _)| name)
}

/// One stored event, as `anrf audit log --json` and `export` print it.
///
/// `kind` and `decision` are the stored names (a known [`EventKind`] or
/// [`Decision`] for every event this build wrote); `details` is the parsed
/// canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub decision: String,
    pub details: serde_json::Value,
    /// Hex SHA-256 of the previous event (or of the genesis value for seq 1).
    pub prev_hash: String,
    /// Hex SHA-256 chaining this event to `prev_hash`.
    pub hash: String,
    /// Hex ed25519 signature of `hash` by the log's key.
    pub signature: String,
}

impl EventRecord {
    /// The kind, when this build knows it.
    pub fn event_kind(&self) -> Option<EventKind> {
        self.kind.parse().ok()
    }

    /// The decision, when this build knows it.
    pub fn event_decision(&self) -> Option<Decision> {
        self.decision.parse().ok()
    }
}

/// The fields an event hash covers, exactly as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashedFields<'a> {
    pub seq: u64,
    pub time: &'a str,
    pub actor: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub decision: &'a str,
    /// The canonical JSON text as stored.
    pub details: &'a str,
}

const EVENT_DOMAIN: &[u8] = b"anrf-audit-event-v1\0";
const GENESIS_DOMAIN: &[u8] = b"anrf-audit-genesis-v1\0";

/// `prev_hash` of event 1: binds the chain to the log's public key.
pub(crate) fn genesis_hash(public_key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(GENESIS_DOMAIN);
    h.update(public_key);
    h.finalize().into()
}

/// `sha256(domain || prev_hash || seq || len-prefixed fields)`.
///
/// Every string is prefixed with its length as a big-endian u64, so no two
/// different events encode to the same bytes.
pub(crate) fn event_hash(prev_hash: &[u8; 32], fields: &HashedFields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(EVENT_DOMAIN);
    h.update(prev_hash);
    h.update(fields.seq.to_be_bytes());
    for part in [
        fields.time,
        fields.actor,
        fields.kind,
        fields.subject,
        fields.decision,
        fields.details,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

/// The message the log's key signs for an event: a domain tag and its hash.
pub(crate) fn event_signing_message(hash: &[u8; 32]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(EVENT_DOMAIN.len() + 32);
    msg.extend_from_slice(EVENT_DOMAIN);
    msg.extend_from_slice(hash);
    msg
}

/// Canonical JSON text of the details, as stored and hashed.
pub(crate) fn canonical_details(details: &serde_json::Value) -> String {
    canonical::to_string(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(seq: u64, actor: &str) -> HashedFields<'_> {
        HashedFields {
            seq,
            time: "2026-01-01T00:00:00Z",
            actor,
            kind: "run",
            subject: "sha256:00",
            decision: "allow",
            details: "{}",
        }
    }

    #[test]
    fn module_subjects_carry_the_digest_and_give_the_name_back() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let subject = module_subject("hello", &digest);
        assert_eq!(subject, format!("hello@{digest}"));
        assert_eq!(subject_module(&subject), "hello");
        assert_eq!(
            subject_module("ovr-1a2b3c4d5e6f7a8b"),
            "ovr-1a2b3c4d5e6f7a8b"
        );
        assert_eq!(subject_module("a@b@sha256:00"), "a@b");
    }

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for d in Decision::ALL {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(d));
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
        assert!("sudo".parse::<EventKind>().is_err());
    }

    #[test]
    fn hash_covers_every_field_and_the_link() {
        let prev = [7u8; 32];
        let base = event_hash(&prev, &fields(1, "alice"));
        assert_ne!(base, event_hash(&prev, &fields(2, "alice")));
        assert_ne!(base, event_hash(&prev, &fields(1, "alicf")));
        assert_ne!(base, event_hash(&[8u8; 32], &fields(1, "alice")));
        assert_eq!(base, event_hash(&prev, &fields(1, "alice")));
    }

    #[test]
    fn length_prefix_separates_fields() {
        let prev = [0u8; 32];
        let mut a = fields(1, "ab");
        a.kind = "c";
        let mut b = fields(1, "a");
        b.kind = "bc";
        assert_ne!(event_hash(&prev, &a), event_hash(&prev, &b));
    }
}
