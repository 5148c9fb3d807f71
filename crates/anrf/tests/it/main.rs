//! End-to-end tests: the real `anrf` binary on real modules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on the first surprise"
)]

mod approvals;
mod audit;
mod bad_input;
mod compile_bomb;
mod conventions;
mod dev_to_prod;
mod foundation;
mod fuzz_corpus;
mod generate;
mod intent;
mod policy;
mod policy_refusals;
mod run;
mod tour;
mod trust;
mod verify;
