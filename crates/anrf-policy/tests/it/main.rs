//! Integration tests of `anrf-policy`: policy cases (every refusal, every grant path
//! across the three profiles), tampering with approvals, and manifest edits.
#![allow(
    clippy::unwrap_used,
    reason = "fixtures and helpers fail loudly on the first surprise"
)]

mod binding;
mod boundaries;
mod cases;
mod docs;
mod edits;
mod grants;
mod support;
mod tamper;
