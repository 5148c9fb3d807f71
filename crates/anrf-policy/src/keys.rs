//! Ed25519 keys of approvers: generation, the private key file (PKCS#8 PEM), the
//! printable public key `ed25519:<base64>`, signing and verification.
//!
//! Nothing here touches the file system: the CLI reads and writes the files and
//! hands their text to these functions.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signer as _, Verifier as _};

use crate::error::PolicyError;

/// Prefix of a printable public key and of a signature.
pub const ED25519_PREFIX: &str = "ed25519:";

/// An approver's public key, printed as `ed25519:<base64 of 32 bytes>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

/// An approver's private key. `Debug` and `Display` never show it.
pub struct SecretKey(ed25519_dalek::SigningKey);

/// A detached signature, printed as `ed25519:<base64 of 64 bytes>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl SecretKey {
    /// A fresh key from a cryptographically secure random number generator
    /// (the CLI passes [`OsRng`]).
    pub fn generate<R: rand::CryptoRng + rand::RngCore>(rng: &mut R) -> Self {
        Self(ed25519_dalek::SigningKey::generate(rng))
    }

    /// A key from 32 secret bytes (tests use fixed seeds).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Parses the private key file: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(text: &str) -> Result<Self, PolicyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim())
            .map(Self)
            .map_err(|e| PolicyError::KeyFile {
                reason: format!("not an ed25519 PKCS#8 PEM private key ({e})"),
            })
    }

    /// The private key file's text (PKCS#8 PEM). Write it with mode `0600`.
    pub fn to_pem(&self) -> Result<String, PolicyError> {
        self.0
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .map_err(|e| PolicyError::KeyFile {
                reason: format!("cannot encode the private key ({e})"),
            })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message` (already domain-separated by the caller).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public {})", self.public_key())
    }
}

impl PublicKey {
    /// Checks `signature` over `message` (strict verification: no malleable or
    /// small-order signatures).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, &signature.0).is_ok()
            && self.0.verify(message, &signature.0).is_ok()
    }
}

impl FromStr for PublicKey {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| PolicyError::PublicKey {
            key: s.to_owned(),
            reason: reason.to_owned(),
        };
        let b64 = s
            .trim()
            .strip_prefix(ED25519_PREFIX)
            .ok_or_else(|| bad("must start with `ed25519:`"))?;
        let bytes = B64.decode(b64).map_err(|_| bad("is not valid base64"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| bad("must be 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| bad("is not a point on the ed25519 curve"))?;
        // A key of small order verifies forged signatures under a lax check; no
        // real key is one, so it is refused before it can reach a verifier.
        if key.is_weak() {
            return Err(bad("is a point of small order, which no generated key is"));
        }
        Ok(PublicKey(key))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ED25519_PREFIX}{}", B64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for Signature {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| PolicyError::SignatureEncoding {
            reason: reason.to_owned(),
        };
        let text = s.trim();
        let b64 = text.strip_prefix(ED25519_PREFIX).unwrap_or(text);
        let bytes = B64.decode(b64).map_err(|_| bad("is not valid base64"))?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|_| bad("must be 64 bytes"))?;
        Ok(Signature(ed25519_dalek::Signature::from_bytes(&bytes)))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ED25519_PREFIX}{}", B64.encode(self.0.to_bytes()))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

/// The operating system's random number generator, for [`SecretKey::generate`].
pub use rand::rngs::OsRng;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let key = SecretKey::from_seed([7; 32]);
        let pem = key.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = SecretKey::from_pem(&pem).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn public_key_prints_and_parses() {
        let key = SecretKey::from_seed([1; 32]).public_key();
        let text = key.to_string();
        assert!(text.starts_with("ed25519:"));
        assert_eq!(text.parse::<PublicKey>().unwrap(), key);
    }

    #[test]
    fn malformed_public_keys_are_refused_with_a_reason() {
        for (input, reason) in [
            ("ssh-ed25519 AAAA", "must start with `ed25519:`"),
            ("ed25519:***", "is not valid base64"),
            ("ed25519:AAAA", "must be 32 bytes"),
        ] {
            let err = input.parse::<PublicKey>().unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
        }
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = SecretKey::from_seed([2; 32]);
        let other = SecretKey::from_seed([3; 32]);
        let sig = key.sign(b"hello");
        assert!(key.public_key().verify(b"hello", &sig));
        assert!(!key.public_key().verify(b"hellO", &sig));
        assert!(!other.public_key().verify(b"hello", &sig));
        let reparsed: Signature = sig.to_string().parse().unwrap();
        assert_eq!(reparsed, sig);
    }

    /// The group order L of Ed25519, little-endian.
    const GROUP_ORDER: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    /// `a + b` on 256-bit little-endian numbers (no overflow for the inputs here).
    fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
            out[i] = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        out
    }

    #[test]
    fn non_canonical_signature_is_refused() {
        // S + L is the same scalar as S, so a lax check would accept the second
        // encoding of the same signature (malleability).
        let key = SecretKey::from_seed([4; 32]);
        let sig = key.sign(b"approve ovr-1");
        assert!(key.public_key().verify(b"approve ovr-1", &sig));
        let mut bytes = sig.0.to_bytes();
        let s_plus_l = add_le(&bytes[32..], &GROUP_ORDER);
        assert_ne!(&s_plus_l[..], &bytes[32..]);
        bytes[32..].copy_from_slice(&s_plus_l);
        let text = format!("{ED25519_PREFIX}{}", B64.encode(bytes));
        let malleated: Signature = text.parse().unwrap();
        assert!(!key.public_key().verify(b"approve ovr-1", &malleated));
        // S = L itself (zero, written non-canonically) is refused too.
        let mut bytes = sig.0.to_bytes();
        bytes[32..].copy_from_slice(&GROUP_ORDER);
        let zero_as_l = Signature(ed25519_dalek::Signature::from_bytes(&bytes));
        assert!(!key.public_key().verify(b"approve ovr-1", &zero_as_l));
    }

    #[test]
    fn small_order_key_and_signature_are_refused() {
        // The identity point (y = 1) has order 1. With it as the public key and as
        // R, and S = 0, the verification equation [S]B = R + [k]A holds for every
        // message: only a strict check refuses it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
        assert!(weak.is_weak());
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&identity);
        let forged = ed25519_dalek::Signature::from_bytes(&bytes);
        for message in [&b"approve ovr-1"[..], b"anything at all"] {
            assert!(
                weak.verify(message, &forged).is_ok(),
                "the lax check accepts it, which is what this test guards against"
            );
            assert!(!PublicKey(weak).verify(message, &Signature(forged)));
        }
        // Written in a policy file, the key is refused before any verification.
        let printed = format!("{ED25519_PREFIX}{}", B64.encode(identity));
        let err = printed.parse::<PublicKey>().unwrap_err().to_string();
        assert!(err.contains("small order"), "{err}");
    }

    #[test]
    fn small_order_r_is_refused_even_for_a_real_key() {
        // R of order 2 ((0, -1)), S = 0: [0]B = identity, R + [k]A is not, so
        // both checks refuse; a strict check refuses it before the equation.
        let key = SecretKey::from_seed([5; 32]);
        let mut bytes = [0u8; 64];
        bytes[0] = 0xec;
        bytes[1..31].fill(0xff);
        bytes[31] = 0x7f;
        let sig = Signature(ed25519_dalek::Signature::from_bytes(&bytes));
        assert!(!key.public_key().verify(b"approve ovr-1", &sig));
    }

    #[test]
    fn signature_encodings_are_checked() {
        for (input, reason) in [
            ("ed25519:***", "is not valid base64"),
            ("ed25519:AAAA", "must be 64 bytes"),
        ] {
            let err = input.parse::<Signature>().unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
        }
        let sig = SecretKey::from_seed([6; 32]).sign(b"m");
        let bare = sig
            .to_string()
            .trim_start_matches(ED25519_PREFIX)
            .to_owned();
        assert_eq!(bare.parse::<Signature>().unwrap(), sig);
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let key = SecretKey::from_seed([9; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn garbage_pem_is_refused() {
        let err = SecretKey::from_pem("not a key").unwrap_err().to_string();
        assert!(err.contains("PKCS#8"), "{err}");
    }
}
