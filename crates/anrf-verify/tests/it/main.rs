//! Integration tests of `anrf-verify`: the pipeline on real modules (manifest,
//! sources, wasm compiled from WAT), the reports and the cache.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test fails loudly on the first surprise"
)]

mod boundaries;
mod cache;
mod checks;
mod docs;
mod explain;
mod fixes;
mod reports;
mod resolve;
mod support;
