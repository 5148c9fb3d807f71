//! Integration tests of `anrf-audit`: the public API, tampering done with
//! `rusqlite` directly on the database file, and real concurrent processes.

#![expect(
    clippy::unwrap_used,
    reason = "shared test helpers fail the test on broken setup, like the tests themselves"
)]

mod basic;
mod durability;
mod support;
mod tamper;
mod trust;
