//! Integration tests of anrf-format: malformed manifests and their exact errors,
//! round trips, digests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on the first surprise"
)]

mod digest;
mod malformed;
mod roundtrip;
mod schema;
mod snapshot;

pub(crate) const VALID: &str = include_str!("fixtures/valid.toml");
