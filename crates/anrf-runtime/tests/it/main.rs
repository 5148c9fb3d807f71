//! Integration tests of the sandbox: the hostile suite on all three engines,
//! capabilities that are granted, and the AOT cache's integrity checks.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers outside #[test] functions fail the test loudly"
)]

mod aot_cache;
mod budget;
mod capabilities;
mod hostile;
mod proposals;
mod support;
mod tripwire;
