//! Integration tests of `anrf-gen`: the model client against a fake
//! OpenAI-compatible server, and override detection on whole texts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly on the first surprise"
)]

mod client;
mod detect;
mod fake_server;
mod pipeline;
