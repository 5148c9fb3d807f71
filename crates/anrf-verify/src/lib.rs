//! `anrf-verify`: static and dynamic checks with stable IDs.
#![forbid(unsafe_code)]

pub mod finding;
pub mod source;
pub mod wasm;

pub use finding::{CheckId, Finding, Location, Severity, Suppression};
