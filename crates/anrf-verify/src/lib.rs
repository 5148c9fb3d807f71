//! `anrf-verify`: static and dynamic checks with stable IDs, reports as human
//! text, JSON and SARIF 2.1.0, and a content-addressed result cache.
//!
//! ```
//! use anrf_verify::{CheckId, Finding, Location, Severity, blocks};
//! use anrf_format::Profile;
//!
//! // Every check has a stable ID, a severity and a fix.
//! let finding = Finding::new(CheckId::S001, "`unsafe` block in function `main`")
//!     .at(Location::at("src/main.rs", 3, 5));
//! assert_eq!(finding.id.code(), "ANRF-S001");
//! assert_eq!(finding.severity, Severity::Error);
//! // Memory-safety findings block in every profile...
//! assert!(blocks(&finding, Profile::Dev));
//! // ...warnings only in prod.
//! let warning = Finding::new(CheckId::S101, "dependency `x 1.0` has a build script");
//! assert!(!blocks(&warning, Profile::Test) && blocks(&warning, Profile::Prod));
//! ```
//!
//! The main path is [`verify_path`] (or [`verify`] on a loaded module) with
//! [`VerifyOptions`], then [`render::human`], [`render::json`] or
//! [`sarif::sarif`] on the [`Report`], and [`explain::explain`] for a
//! security explanation built only from the report's established facts.
//!
//! **Invariant:** a report states only what a check established; nothing runs
//! (no example in the sandbox) while a safety finding is open.
#![forbid(unsafe_code)]

mod budget;
pub mod cache;
pub mod effective;
mod error;
mod examples;
pub mod explain;
pub mod finding;
use anrf_format::fsread;
mod locate;
pub mod render;
pub mod report;
pub mod sarif;
mod scratch;
pub mod source;
mod supply;
pub mod unsupported;
mod verify;
pub mod wasm;

pub use cache::{Cache, CacheKey};
pub use error::VerifyError;
pub use finding::{CheckId, Family, Finding, Gate, Location, Severity, Suppression};
pub use render::RenderOptions;
pub use report::{Report, Status, Summary, blocks};
pub use verify::{Examples, VERIFIER, VerifyOptions, verify, verify_path};
