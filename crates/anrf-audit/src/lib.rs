//! `anrf-audit`: the append-only, hash-chained, signed audit trail.
//!
//! Every event gets a sequence number, a time, a hash chaining it to the
//! previous event, and a signature by the log's own ed25519 key; signed
//! checkpoints of the head make truncation detectable. [`AuditLog::verify`]
//! names the first bad event when anything was modified, deleted, inserted,
//! reordered or cut off.
//!
//! ```
//! use anrf_audit::{AuditLog, Decision, EventKind, NewEvent};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = tempfile::tempdir()?;
//! let mut log = AuditLog::open(&home.path().join("audit"))?;
//! let event = NewEvent::new(EventKind::Run, "alice", "sha256:1f2e", Decision::Allow)
//!     .with_details(serde_json::json!({"exit_code": 0, "profile": "test"}));
//! let record = log.append(&event)?;
//! assert_eq!(record.seq, 1);
//!
//! let report = log.verify()?;
//! assert!(report.is_intact());
//! # Ok(())
//! # }
//! ```
//!
//! Commands that act use [`record`] with [`Requirement::Required`] in the
//! `test` and `prod` profiles, so a full or read-only disk stops the action
//! instead of letting it run unrecorded. See `docs/audit.md` for the
//! construction and its limits.
#![forbid(unsafe_code)]

mod canonical;
mod checkpoint;
mod error;
mod event;
mod fsread;
mod guard;
mod key;
mod log;
mod record;
mod store;
mod verify;

pub use checkpoint::{
    CHECKPOINT_FILE, Checkpoint, CheckpointSource, MAX_CHECKPOINT_FILE_BYTES, Witness,
};
pub use error::AuditError;
pub use event::{
    Decision, EventKind, EventRecord, NewEvent, UnknownName, module_subject, subject_module,
};
pub use key::KEY_FILE;
pub use log::{
    AuditLog, DB_FILE, DEFAULT_BUSY_TIMEOUT, DEFAULT_CHECKPOINT_EVERY, EventFilter, LogOptions,
};
pub use record::{Recorded, Requirement, local_actor, record, record_with};
pub use verify::{Head, Problem, ProblemKind, VerifyOptions, VerifyReport};

/// Verifies the log in `dir` against `options`, like
/// [`AuditLog::verify_with`], and also when there is no log left: a directory
/// that holds `audit.key` or a `checkpoint.sig` past seq 0 but no database,
/// or no log at all while a witness says there was one, is reported as a
/// deleted log ([`ProblemKind::LogDeleted`]). Only a directory with no trace
/// of a log, and no witness, is [`AuditError::NotFound`].
pub fn verify_dir(
    dir: &std::path::Path,
    options: &VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    match AuditLog::open_existing(dir) {
        Ok(log) => log.verify_with(options),
        Err(AuditError::NotFound { path }) => {
            let found = store::leftover(dir)?;
            verify::deleted_log_report(found, options).ok_or(AuditError::NotFound { path })
        }
        Err(e) => Err(e),
    }
}
