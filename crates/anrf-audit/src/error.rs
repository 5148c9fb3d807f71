//! The crate's one error type. `Err` means the log could not do its job at all
//! (open, append, read); a log that opened but was tampered with is not an
//! error, it is a [`VerifyReport`](crate::VerifyReport) with a problem.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// Everything that can stop the audit log from doing its job.
///
/// Each message names the file, says what failed and what to do about it, so a
/// caller can print it as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// `open_existing` found no `audit.db` in the directory.
    #[error(
        "no audit log at `{path}`: nothing has been recorded there yet; commands such as \
         `anrf run` create it, or set `ANRF_HOME` to the directory that holds the log"
    )]
    NotFound { path: PathBuf },

    /// The audit directory could not be created or is not a directory.
    #[error(
        "cannot create the audit directory `{path}`: {source}; make it a writable directory \
         or set `ANRF_HOME` to one"
    )]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The disk (or the log's size cap) is full: nothing was recorded.
    #[error(
        "cannot write the audit log `{path}`: the disk is full (or the log reached its size \
         cap); nothing was recorded; free space on that disk or set `ANRF_HOME` to another one"
    )]
    DiskFull { path: PathBuf },

    /// The log's file or directory cannot be written: nothing was recorded.
    #[error(
        "cannot write the audit log `{path}`: it is on a read-only file system or not \
         writable by this user; nothing was recorded; make it writable or set `ANRF_HOME` to \
         a writable directory"
    )]
    ReadOnly { path: PathBuf },

    /// The database exists but it or its journal (`-wal`, `-shm`) cannot be
    /// opened: a directory or a dangling link where a file should be, a file the
    /// user may not open. Nothing was recorded.
    #[error(
        "cannot open the audit log `{path}` or its journal files (`-wal`, `-shm`) for \
         writing: nothing was recorded; make sure they are regular files this user can \
         write, or set `ANRF_HOME` to another directory"
    )]
    CannotOpen { path: PathBuf },

    /// Another process held the write lock for longer than the busy timeout.
    #[error(
        "cannot write the audit log `{path}`: another process kept it locked for more than \
         {waited_ms} ms; nothing was recorded; retry, or find the process holding it"
    )]
    Locked { path: PathBuf, waited_ms: u64 },

    /// `SQLite` reported something else.
    #[error("audit log `{path}`: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// Reading or writing a file next to the database failed.
    #[error("audit file `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The log's signing key file exists but cannot be used.
    #[error("cannot use the audit signing key `{path}`: {reason}")]
    Key { path: PathBuf, reason: String },

    /// The log has events but its signing key file is gone: appending would
    /// start a chain no one can check.
    #[error(
        "the audit log `{path}` has no signing key `audit.key` beside it: cannot append or \
         checkpoint; restore the key from a backup (the log can still be read and verified)"
    )]
    MissingKey { path: PathBuf },

    /// `audit.key` is not the key the log was created with.
    #[error(
        "the signing key `{key}` does not belong to the audit log `{path}` (log key \
         `{expected}`, file key `{found}`): restore the original key; never replace it"
    )]
    KeyMismatch {
        path: PathBuf,
        key: PathBuf,
        expected: String,
        found: String,
    },

    /// The database was written by an unknown version of this format.
    #[error(
        "audit log `{path}` has format `{found}`, this build reads format `{expected}`: use a \
         newer anrf"
    )]
    UnsupportedFormat {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// The log's own bookkeeping is unreadable, so nothing can be appended.
    #[error("the audit log `{path}` is damaged ({reason}): run `anrf audit verify` to see where")]
    Corrupt { path: PathBuf, reason: String },

    /// The audit directory holds what only a log leaves behind (`audit.key`,
    /// a `checkpoint.sig` past the empty log) but no log: it was deleted.
    /// Starting a new log there would hide that, so nothing is recorded.
    #[error(
        "the audit directory `{dir}` holds {found} but no audit log (`{path}` is missing or \
         records no log): the log was deleted; nothing was recorded; `anrf audit verify` \
         reports it; keep the directory as evidence, then move it aside (e.g. `mv {dir} \
         {dir}.deleted`) so that the next command starts a new log"
    )]
    LogDeleted {
        path: PathBuf,
        dir: PathBuf,
        found: String,
    },

    /// The cheap check before an append (`LogOptions::check_before_append`,
    /// on for `Requirement::Required`) found the log unsound.
    #[error(
        "refusing to append to the audit log `{path}`: {reason}; nothing was recorded; run \
         `anrf audit verify` to see what was changed, keep the directory as evidence, then move \
         it aside so that the next command starts a new log"
    )]
    Unsound { path: PathBuf, reason: String },

    /// A witness file that is not one (see `Witness::parse`).
    #[error(
        "`{path}` is not an audit witness: {reason}; give a file written by `anrf audit witness \
         -o FILE`"
    )]
    Witness { path: PathBuf, reason: String },

    /// Writing the export failed.
    #[error("cannot write the export: {source}")]
    Export {
        #[source]
        source: io::Error,
    },
}

impl AuditError {
    /// Classifies a `SQLite` error on `path`: full disk, read-only and lock
    /// contention get their own variants because the remedy differs.
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error, busy_timeout_ms: u64) -> Self {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => AuditError::DiskFull { path },
            Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
                AuditError::ReadOnly { path }
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => AuditError::Locked {
                path,
                waited_ms: busy_timeout_ms,
            },
            Some(ErrorCode::CannotOpen) if is_read_only_dir(&path) => AuditError::ReadOnly { path },
            Some(ErrorCode::CannotOpen) if path.is_file() => AuditError::CannotOpen { path },
            _ => AuditError::Sqlite { path, source },
        }
    }

    /// Classifies an I/O error on `path` the same way.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                AuditError::DiskFull { path }
            }
            io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied => {
                AuditError::ReadOnly { path }
            }
            _ => AuditError::Io { path, source },
        }
    }

    /// True when the error means "nothing could be written" (full, read-only,
    /// locked): the cases a `Required` caller must stop on.
    pub fn is_write_failure(&self) -> bool {
        matches!(
            self,
            AuditError::DiskFull { .. }
                | AuditError::ReadOnly { .. }
                | AuditError::Locked { .. }
                | AuditError::CannotOpen { .. }
                | AuditError::CreateDir { .. }
        )
    }
}

/// `CANTOPEN` on a database whose directory exists but cannot take new files.
fn is_read_only_dir(db: &Path) -> bool {
    db.parent()
        .and_then(|dir| std::fs::metadata(dir).ok())
        .is_some_and(|meta| meta.permissions().readonly())
}
