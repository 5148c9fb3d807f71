//! Integration tests of `anrf-audit`: the public API, tampering done with
//! `rusqlite` directly on the database file, and real concurrent processes.

mod basic;
mod durability;
mod support;
mod tamper;
