//! What a run produced: a value, never an error (cedar's `Response` idea).

use std::time::Duration;

use serde::Serialize;

use crate::engine::EngineKind;

/// The exit code reported when a violation stopped the guest.
pub const VIOLATION_EXIT_CODE: i32 = 125;

/// The outcome of one run. Serializes to the `anrf run --json` object of
/// DESIGN.md without its `profile` field, which the caller adds.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `ok`, `violation` or `error`.
    pub status: Status,
    /// The guest's own exit code when it ran to completion, else `125`.
    pub exit_code: i32,
    /// Captured stdout, at most `Limits::stdout_bytes`.
    #[serde(serialize_with = "lossy_utf8")]
    pub stdout: Vec<u8>,
    /// Captured stderr, at most `Limits::stderr_bytes`.
    #[serde(serialize_with = "lossy_utf8")]
    pub stderr: Vec<u8>,
    /// Every refused or stopped attempt, in the order they happened.
    pub violations: Vec<Violation>,
    /// Fuel consumed (`0` under epoch metering, which does not count).
    pub fuel_used: u64,
    /// The largest total linear memory the guest held, in bytes.
    pub peak_memory_bytes: u64,
    /// Wall-clock time of instantiation and execution.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// The engine that ran the guest.
    pub engine: EngineKind,
    /// What happened with the AOT cache, if the engine used it (not in the JSON contract).
    #[serde(skip)]
    pub cache: Option<CacheEvent>,
}

impl Outcome {
    /// Whether a violation stopped the guest before it finished.
    pub fn stopped_by_violation(&self) -> bool {
        self.status == Status::Violation && self.exit_code == VIOLATION_EXIT_CODE
    }
}

/// The overall result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The guest ran to completion and nothing was refused.
    Ok,
    /// At least one violation was recorded (the guest may have finished anyway,
    /// e.g. after a refused capability, in which case `exit_code` is its own).
    Violation,
    /// The host failed while running the guest.
    Error,
}

/// One refused or stopped attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// What kind of wall the guest hit.
    pub kind: ViolationKind,
    /// What was refused and what would allow it.
    pub message: String,
}

impl Violation {
    pub(crate) fn new(kind: ViolationKind, message: impl Into<String>) -> Violation {
        Violation {
            kind,
            message: message.into(),
        }
    }
}

/// The kinds of violation (DESIGN.md, "Contracts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ViolationKind {
    /// The wall-clock timeout expired.
    Timeout,
    /// The instruction budget ran out.
    FuelExhausted,
    /// Linear memory or table growth past the limit.
    MemoryLimit,
    /// The wasm stack limit was hit.
    StackOverflow,
    /// An out-of-bounds memory or table access.
    OutOfBounds,
    /// Stdout or stderr past its cap.
    OutputLimit,
    /// Use of a capability that was not granted.
    CapabilityDenied,
    /// An import the host does not provide.
    UndeclaredImport,
    /// Any other trap (`unreachable`, division by zero, a guest panic, ...).
    Trap,
}

impl ViolationKind {
    /// The `snake_case` name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::Timeout => "timeout",
            ViolationKind::FuelExhausted => "fuel_exhausted",
            ViolationKind::MemoryLimit => "memory_limit",
            ViolationKind::StackOverflow => "stack_overflow",
            ViolationKind::OutOfBounds => "out_of_bounds",
            ViolationKind::OutputLimit => "output_limit",
            ViolationKind::CapabilityDenied => "capability_denied",
            ViolationKind::UndeclaredImport => "undeclared_import",
            ViolationKind::Trap => "trap",
        }
    }
}

impl std::fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the AOT engine did with its cache for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheEvent {
    /// A cached artifact passed its integrity check and was loaded.
    Hit,
    /// No artifact was cached; one was compiled and stored.
    Miss,
    /// A cached artifact failed its integrity check; it was discarded, never
    /// executed, and the module was recompiled.
    Rejected {
        /// Why the artifact was rejected.
        reason: String,
    },
    /// No cache directory is configured; the artifact was compiled in memory.
    Uncached,
}

fn lossy_utf8<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_to_the_contract_shape() {
        let outcome = Outcome {
            status: Status::Violation,
            exit_code: 125,
            stdout: b"ok\n".to_vec(),
            stderr: vec![0xff, b'x'],
            violations: vec![Violation::new(ViolationKind::FuelExhausted, "out of fuel")],
            fuel_used: 10,
            peak_memory_bytes: 65536,
            duration: Duration::from_millis(12),
            engine: EngineKind::Aot,
            cache: Some(CacheEvent::Hit),
        };
        assert_eq!(
            serde_json::to_string(&outcome).unwrap(),
            r#"{"status":"violation","exit_code":125,"stdout":"ok\n","stderr":"�x","violations":[{"kind":"fuel_exhausted","message":"out of fuel"}],"fuel_used":10,"peak_memory_bytes":65536,"duration_ms":12,"engine":"aot"}"#
        );
        assert!(outcome.stopped_by_violation());
    }

    #[test]
    fn kind_names_match_their_serialization() {
        for kind in [
            ViolationKind::Timeout,
            ViolationKind::FuelExhausted,
            ViolationKind::MemoryLimit,
            ViolationKind::StackOverflow,
            ViolationKind::OutOfBounds,
            ViolationKind::OutputLimit,
            ViolationKind::CapabilityDenied,
            ViolationKind::UndeclaredImport,
            ViolationKind::Trap,
        ] {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
    }
}
