//! The log itself: opening (and creating) it, appending, reading, exporting.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::checkpoint::{self, Checkpoint, FileState, Witness};
use crate::error::AuditError;
use crate::event::{self, EventKind, EventRecord, HashedFields, NewEvent};
use crate::guard;
use crate::key;
use crate::store::{
    RawRow, init_schema, insert_checkpoint, now_rfc3339, parse_hash, raw_row, read_meta,
    remove_abandoned_temp_files, retry_while_locked, text,
};
use crate::verify::{self, VerifyOptions, VerifyReport};

/// File name of the database inside the audit directory.
pub const DB_FILE: &str = "audit.db";

/// A checkpoint row is written every this many events (and on request).
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 16;

/// How long an append waits for another process's write lock. Generous:
/// appends are short, but many processes may queue behind each other.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_mins(1);

/// Knobs for opening a log. Defaults: create the log if absent, a checkpoint
/// row every [`DEFAULT_CHECKPOINT_EVERY`] events, wait up to
/// [`DEFAULT_BUSY_TIMEOUT`] for the write lock, no size cap.
#[derive(Debug, Clone)]
pub struct LogOptions {
    create: bool,
    checkpoint_every: u64,
    busy_timeout: Duration,
    max_size_bytes: Option<u64>,
    test_hook_inside_append: Option<fn(u64)>,
    test_hook_creating: Option<fn(&str)>,
    defer_head_file: bool,
    check_before_append: bool,
    pinned_key: Option<String>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            create: true,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            max_size_bytes: None,
            test_hook_inside_append: None,
            test_hook_creating: None,
            defer_head_file: false,
            check_before_append: false,
            pinned_key: None,
        }
    }
}

impl LogOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to create the directory, database and key when absent
    /// (default `true`). With `false`, a missing log is
    /// [`AuditError::NotFound`] and nothing is written by opening.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Write a checkpoint row every `n` events; `0` means only on request.
    pub fn checkpoint_every(&mut self, n: u64) -> &mut Self {
        self.checkpoint_every = n;
        self
    }

    /// How long to wait for another process's write lock.
    pub fn busy_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.busy_timeout = timeout;
        self
    }

    /// Caps the database file size (`SQLite` `max_page_count`); an append that
    /// would grow past it fails with [`AuditError::DiskFull`], exactly as a
    /// full disk does. For quotas, and for testing the full-disk path.
    pub fn max_size_bytes(&mut self, bytes: u64) -> &mut Self {
        self.max_size_bytes = Some(bytes);
        self
    }

    /// **Crash tests only.** Calls `hook(seq)` inside every append's transaction,
    /// after the event row is written and before the commit, so a test can kill
    /// the process at exactly that point (the `anrf-audit-append` helper sets it
    /// from `ANRF_AUDIT_TEST_HOOK_INSIDE_APPEND`). No command of anrf sets it.
    #[doc(hidden)]
    pub fn test_hook_inside_append(&mut self, hook: fn(u64)) -> &mut Self {
        self.test_hook_inside_append = Some(hook);
        self
    }

    /// **Race tests only.** Calls `hook(step)` at each step of creating a new
    /// log (`locked`, `schema-written`, `head-written`, `committed`), so a test
    /// can look at the directory exactly there. No command of anrf sets it.
    #[doc(hidden)]
    pub fn test_hook_creating(&mut self, hook: fn(&str)) -> &mut Self {
        self.test_hook_creating = Some(hook);
        self
    }

    /// Whether every append first checks, inside its transaction, that the log
    /// it extends is sound (default `false`; [`record`](crate::record) turns it
    /// on for [`Requirement::Required`](crate::Requirement::Required), i.e. the
    /// `test` and `prod` profiles). The check is cheap and never walks the
    /// chain: the pinned key, the last event, `checkpoint.sig` and the newest
    /// checkpoint row (see `docs/audit.md`). A failed check is
    /// [`AuditError::Unsound`] and nothing is appended.
    pub fn check_before_append(&mut self, check: bool) -> &mut Self {
        self.check_before_append = check;
        self
    }

    /// The public key (hex) the log must have, pinned outside its directory
    /// (the project policy's `[audit] public_key`). Checked before every
    /// append when [`check_before_append`](Self::check_before_append) is on.
    pub fn pinned_key(&mut self, public_key_hex: Option<&str>) -> &mut Self {
        self.pinned_key = public_key_hex.map(str::to_owned);
        self
    }

    /// Whether to write `checkpoint.sig` only when the log is flushed or
    /// dropped instead of after every append (default `false`). Each event is
    /// still committed (and synced) by its own `append`; only the external head,
    /// which may lag anyway, waits. For a command that appends a few events in
    /// a row, such as a run's decision and its outcome.
    pub fn defer_head_file(&mut self, defer: bool) -> &mut Self {
        self.defer_head_file = defer;
        self
    }

    /// Opens the log in `dir`.
    pub fn open(&self, dir: &Path) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(dir, self)
    }
}

/// Which events [`AuditLog::events`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// Only the last `limit` events (after the kind filter), still in
    /// ascending order.
    pub limit: Option<u64>,
}

/// An open audit log: `audit.db`, `audit.key` and `checkpoint.sig` in one
/// directory.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    db_path: PathBuf,
    conn: Connection,
    /// The log's public key, as recorded in the database at creation.
    public: VerifyingKey,
    /// `audit.key`, when present and matching `public`.
    signing: Option<SigningKey>,
    /// What is wrong with `audit.key` if it is not usable.
    key_state: KeyState,
    checkpoint_every: u64,
    busy_ms: u64,
    test_hook_inside_append: Option<fn(u64)>,
    defer_head_file: bool,
    check_before_append: bool,
    pinned_key: Option<String>,
    /// The database records no log (no `meta` key) although `audit.key`
    /// exists: the log was deleted and replaced (verify reports it).
    no_record: bool,
    /// The head checkpoint not yet written to `checkpoint.sig` (deferred).
    pending_head: Option<Checkpoint>,
    /// The thread writing a deferred `checkpoint.sig` while the log is
    /// dropped. Declared after `conn` on purpose: fields are dropped in
    /// order, so the connection closes (checkpointing the WAL into
    /// `audit.db`, synced) while the file is written, and the thread is
    /// joined last.
    head_writer: HeadWriter,
}

/// Joins the thread writing `checkpoint.sig`, if any, when dropped.
#[derive(Debug, Default)]
struct HeadWriter(Option<std::thread::JoinHandle<()>>);

impl Drop for HeadWriter {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

/// The state of `audit.key` relative to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyState {
    Matches,
    Missing,
    /// The file holds another key (its public key, hex).
    Mismatch(String),
}

impl AuditLog {
    /// Pins the log's public key after it was opened (the caller learns it
    /// later, e.g. from the project policy): from now on every checked append
    /// ([`LogOptions::check_before_append`]) refuses a log under another key.
    /// `None` leaves the pin as it is.
    pub fn pin_key(&mut self, public_key_hex: Option<&str>) {
        if let Some(key) = public_key_hex {
            self.pinned_key = Some(key.to_owned());
        }
    }

    /// Opens the log in `dir` (`$ANRF_HOME/audit`), creating the directory,
    /// `audit.db` (WAL, `synchronous=FULL`) and the signing key `audit.key`
    /// (mode 0600) when absent.
    pub fn open(dir: &Path) -> Result<AuditLog, AuditError> {
        LogOptions::new().open(dir)
    }

    /// Opens an existing log for reading and verifying; writes nothing.
    /// [`AuditError::NotFound`] when `dir` holds no `audit.db`.
    pub fn open_existing(dir: &Path) -> Result<AuditLog, AuditError> {
        LogOptions::new().create(false).open(dir)
    }

    fn open_with(dir: &Path, opts: &LogOptions) -> Result<AuditLog, AuditError> {
        retry_while_locked(opts.busy_timeout, || Self::try_open(dir, opts))
    }

    fn try_open(dir: &Path, opts: &LogOptions) -> Result<AuditLog, AuditError> {
        let db_path = dir.join(DB_FILE);
        let busy_ms = u64::try_from(opts.busy_timeout.as_millis()).unwrap_or(u64::MAX);
        let sql = |e| AuditError::sqlite(&db_path, e, busy_ms);
        if opts.create {
            std::fs::create_dir_all(dir).map_err(|source| match AuditError::io(dir, source) {
                AuditError::Io { path, source } => AuditError::CreateDir { path, source },
                other => other,
            })?;
        } else if !db_path.is_file() {
            return Err(AuditError::NotFound { path: db_path });
        }
        crate::fsread::check_regular_or_absent(&db_path).map_err(|e| AuditError::Io {
            path: db_path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()),
        })?;
        let flags = if opts.create {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&db_path, flags).map_err(sql)?;
        conn.busy_timeout(opts.busy_timeout).map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        if let Some(bytes) = opts.max_size_bytes {
            let page_size: u64 = conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .map_err(sql)?;
            let pages = (bytes / page_size.max(1)).max(1);
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(sql)?;
        }

        let mut no_record = false;
        let recorded = if opts.create {
            // WAL persists in the file; setting it again is a cheap no-op.
            let _: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(sql)?;
            init_schema(&conn, dir, &db_path, busy_ms, opts.test_hook_creating)?
        } else {
            match read_meta(&conn, &db_path, busy_ms)? {
                Some(public) => public,
                // The key record is gone although the key exists (a log's key
                // is put in place only after the database recorded it): the
                // log was deleted or replaced. Check it against the key file.
                None => match key::load(dir)? {
                    Some(k) => {
                        no_record = true;
                        key::public_hex(&k.verifying_key())
                    }
                    None => return Err(AuditError::NotFound { path: db_path }),
                },
            }
        };
        let file_key = match key::parse_public_hex(&recorded) {
            Some(public) if opts.create => key::load_or_adopt(dir, &public)?,
            _ => key::load(dir)?,
        };
        if opts.create {
            // After adopting: a pending key of a crashed creation is kept
            // until the log that records it has taken it.
            remove_abandoned_temp_files(dir);
        }
        let (public, signing, key_state) = match (key::parse_public_hex(&recorded), file_key) {
            (Some(public), Some(k)) if k.verifying_key() == public => {
                (public, Some(k), KeyState::Matches)
            }
            (Some(public), Some(k)) => (
                public,
                None,
                KeyState::Mismatch(key::public_hex(&k.verifying_key())),
            ),
            (Some(public), None) => (public, None, KeyState::Missing),
            // The recorded key is garbled: check the chain against the key
            // file, report the mismatch, and refuse to append.
            (None, Some(k)) => {
                let public = k.verifying_key();
                (public, None, KeyState::Mismatch(key::public_hex(&public)))
            }
            (None, None) => {
                return Err(AuditError::Key {
                    path: db_path,
                    reason: format!(
                        "the log records an unreadable public key `{recorded}` and has no `{}`",
                        key::KEY_FILE
                    ),
                });
            }
        };
        Ok(AuditLog {
            dir: dir.to_path_buf(),
            db_path,
            conn,
            public,
            signing,
            key_state,
            checkpoint_every: opts.checkpoint_every,
            busy_ms,
            test_hook_inside_append: opts.test_hook_inside_append,
            defer_head_file: opts.defer_head_file,
            check_before_append: opts.check_before_append,
            pinned_key: opts.pinned_key.clone(),
            no_record,
            pending_head: None,
            head_writer: HeadWriter::default(),
        })
    }

    /// The audit directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The log's public key, lowercase hex (pin it elsewhere to detect a
    /// log re-signed with another key).
    pub fn public_key_hex(&self) -> String {
        key::public_hex(&self.public)
    }

    /// Appends one event, atomically: the sequence number is assigned inside
    /// an `IMMEDIATE` transaction, so concurrent processes queue and the
    /// chain never forks. Every [`LogOptions::checkpoint_every`] events a
    /// checkpoint row is written in the same transaction; after the commit,
    /// `checkpoint.sig` is replaced by a checkpoint of the new head.
    ///
    /// On `Err` nothing was recorded.
    pub fn append(&mut self, new: &NewEvent) -> Result<EventRecord, AuditError> {
        let timeout = Duration::from_millis(self.busy_ms);
        retry_while_locked(timeout, || self.try_append(new))
    }

    fn try_append(&mut self, new: &NewEvent) -> Result<EventRecord, AuditError> {
        let signing = self.signing_key()?.clone();
        let busy = self.busy_ms;
        let db_path = self.db_path.clone();
        let sql = |e| AuditError::sqlite(&db_path, e, busy);

        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        if self.check_before_append {
            guard::check_head(
                &tx,
                &self.dir,
                &db_path,
                &self.public,
                self.pinned_key.as_deref(),
                busy,
            )?;
        }
        let head: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let (seq, prev_hash) = match head {
            None => (1u64, event::genesis_hash(self.public.as_bytes())),
            Some((last, hash)) => {
                let prev = parse_hash(&hash).ok_or_else(|| AuditError::Corrupt {
                    path: db_path.clone(),
                    reason: format!("the last event ({last}) has an unreadable hash"),
                })?;
                let seq = u64::try_from(last)
                    .ok()
                    .and_then(|s| s.checked_add(1))
                    .ok_or_else(|| AuditError::Corrupt {
                        path: db_path.clone(),
                        reason: format!("the last event has sequence number {last}"),
                    })?;
                (seq, prev)
            }
        };
        let time = now_rfc3339();
        let details = event::canonical_details(&new.details);
        let fields = HashedFields {
            seq,
            time: &time,
            actor: &new.actor,
            kind: new.kind.as_str(),
            subject: &new.subject,
            decision: new.decision.as_str(),
            details: &details,
        };
        let hash = event::event_hash(&prev_hash, &fields);
        let signature = signing.sign(&event::event_signing_message(&hash));
        let record = EventRecord {
            seq,
            time: time.clone(),
            actor: new.actor.clone(),
            kind: new.kind.as_str().to_owned(),
            subject: new.subject.clone(),
            decision: new.decision.as_str().to_owned(),
            details: new.details.clone(),
            prev_hash: hex::encode(prev_hash),
            hash: hex::encode(hash),
            signature: hex::encode(signature.to_bytes()),
        };
        let seq_sql = i64::try_from(seq).map_err(|_| AuditError::Corrupt {
            path: db_path.clone(),
            reason: format!("sequence number {seq} does not fit SQLite"),
        })?;
        tx.execute(
            "INSERT INTO events (seq, time, actor, kind, subject, decision, details, prev_hash, hash, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                seq_sql,
                record.time,
                record.actor,
                record.kind,
                record.subject,
                record.decision,
                details,
                record.prev_hash,
                record.hash,
                record.signature
            ],
        )
        .map_err(sql)?;
        let head_checkpoint = Checkpoint::sign(&signing, seq, &record.hash, time);
        if self.checkpoint_every > 0 && seq.is_multiple_of(self.checkpoint_every) {
            insert_checkpoint(&tx, &head_checkpoint, seq_sql).map_err(sql)?;
        }
        if let Some(hook) = self.test_hook_inside_append {
            hook(seq);
        }
        tx.commit().map_err(sql)?;
        // The event is durable now. The external head is best effort: if it
        // cannot be written it lags behind, which verify tolerates.
        if self.defer_head_file {
            self.pending_head = Some(head_checkpoint);
        } else {
            let _ = self.update_head_file(&head_checkpoint);
        }
        Ok(record)
    }

    /// Writes the deferred head checkpoint to `checkpoint.sig`, if any (see
    /// [`LogOptions::defer_head_file`]). Dropping the log does the same and
    /// ignores the error.
    pub fn flush_head(&mut self) -> Result<(), AuditError> {
        match self.pending_head.take() {
            Some(cp) => self.update_head_file(&cp),
            None => Ok(()),
        }
    }

    /// Writes a checkpoint of the current head to the `checkpoints` table
    /// and `checkpoint.sig` (on request, e.g. `anrf audit checkpoint`).
    /// `None` when the log has no events yet.
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>, AuditError> {
        let signing = self.signing_key()?.clone();
        let busy = self.busy_ms;
        let db_path = self.db_path.clone();
        let sql = |e| AuditError::sqlite(&db_path, e, busy);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let head: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let Some((seq_sql, hash)) = head else {
            return Ok(None);
        };
        let seq = u64::try_from(seq_sql).map_err(|_| AuditError::Corrupt {
            path: db_path.clone(),
            reason: format!("the last event has sequence number {seq_sql}"),
        })?;
        let cp = Checkpoint::sign(&signing, seq, &hash, now_rfc3339());
        insert_checkpoint(&tx, &cp, seq_sql).map_err(sql)?;
        let stored: Checkpoint = tx
            .query_row(
                "SELECT seq, head_hash, time, signature FROM checkpoints WHERE seq = ?1",
                [seq_sql],
                |r| {
                    Ok(Checkpoint {
                        seq,
                        head_hash: r.get(1)?,
                        time: r.get(2)?,
                        signature: r.get(3)?,
                    })
                },
            )
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        self.update_head_file(&stored)?;
        Ok(Some(stored))
    }

    /// Checks the whole log: every event's link, hash and signature, every
    /// checkpoint (table and `checkpoint.sig`) and that no checkpointed event
    /// is missing. Tampering is reported in the value, not as `Err`.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.verify_with(&VerifyOptions::default())
    }

    /// [`verify`](Self::verify) against trust roots kept outside the audit
    /// directory: a pinned public key and a [`Witness`].
    pub fn verify_with(&self, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
        verify::verify(self, options).map(|(report, _)| report)
    }

    /// Verifies the log as [`verify_with`](Self::verify_with) does and, when it
    /// is intact, returns its newest signed head as a [`Witness`] to keep
    /// outside the directory. Writes nothing: the head is the checkpoint that
    /// was read and verified (normally `checkpoint.sig`, signed after every
    /// append).
    pub fn witness(
        &self,
        options: &VerifyOptions,
    ) -> Result<(VerifyReport, Option<Witness>), AuditError> {
        let (report, head) = verify::verify(self, options)?;
        let witness = head
            .filter(|_| report.is_intact())
            .map(|cp| Witness::new(self.public_key_hex(), cp));
        Ok((report, witness))
    }

    /// [`verify`](Self::verify), also requiring the log's public key to be
    /// `public_key_hex` (pinned elsewhere, e.g. in CI). This catches a log
    /// whose database, key file and checkpoint were all replaced.
    pub fn verify_pinned(&self, public_key_hex: &str) -> Result<VerifyReport, AuditError> {
        self.verify_with(&VerifyOptions {
            pinned_key: Some(public_key_hex.to_owned()),
            witness: None,
        })
    }

    /// Events matching `filter`, in ascending sequence order. Rows whose
    /// details are not JSON (tampered) show them as a JSON string.
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<EventRecord>, AuditError> {
        let kind = filter.kind.map(EventKind::as_str);
        let limit = filter
            .limit
            .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, time, actor, kind, subject, decision, details, prev_hash, hash, signature
                 FROM events WHERE (?1 IS NULL OR kind = ?1) ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![kind, limit], raw_row)
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(|e| self.sql(e))?.into_record());
        }
        out.reverse();
        Ok(out)
    }

    /// Writes every event as one JSON object per line, ascending; returns
    /// how many were written.
    pub fn export_jsonl(&self, out: &mut dyn Write) -> Result<u64, AuditError> {
        let mut count = 0u64;
        self.for_each_raw(|row| {
            let line =
                serde_json::to_string(&row.into_record()).map_err(|e| AuditError::Export {
                    source: std::io::Error::other(e),
                })?;
            writeln!(out, "{line}").map_err(|source| AuditError::Export { source })?;
            count += 1;
            Ok(())
        })?;
        out.flush()
            .map_err(|source| AuditError::Export { source })?;
        Ok(count)
    }

    /// Calls `f` on every stored row in ascending order, streaming.
    pub(crate) fn for_each_raw(
        &self,
        mut f: impl FnMut(RawRow) -> Result<(), AuditError>,
    ) -> Result<(), AuditError> {
        // A dropped table holds no events; verify then reports the truncation.
        if !self.table_exists("events")? {
            return Ok(());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, time, actor, kind, subject, decision, details, prev_hash, hash, signature
                 FROM events ORDER BY seq",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([], raw_row).map_err(|e| self.sql(e))?;
        for row in rows {
            f(row.map_err(|e| self.sql(e))?)?;
        }
        Ok(())
    }

    /// Every row of the `checkpoints` table, ascending. Rows whose `seq` is
    /// negative come back with `seq` 0 so verify reports them.
    pub(crate) fn table_checkpoints(&self) -> Result<Vec<Checkpoint>, AuditError> {
        if !self.table_exists("checkpoints")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT seq, head_hash, time, signature FROM checkpoints ORDER BY seq")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                let seq: i64 = r.get(0)?;
                Ok(Checkpoint {
                    seq: u64::try_from(seq).unwrap_or(0),
                    head_hash: text(r, 1)?,
                    time: text(r, 2)?,
                    signature: text(r, 3)?,
                })
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// The seq of the event whose stored hash is `hash`, if any.
    pub(crate) fn seq_of_hash(&self, hash: &str) -> Result<Option<i64>, AuditError> {
        self.conn
            .query_row(
                "SELECT seq FROM events WHERE hash = ?1 ORDER BY seq LIMIT 1",
                [hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Replaces `checkpoint.sig` with `cp`, unless the file holds evidence
    /// of tampering that overwriting would erase: a file that is missing
    /// after events were written, unreadable, not signed by the log's key, or
    /// disagreeing with the chain. Such a file stays until someone looks
    /// (`anrf audit verify` keeps failing), which is the point.
    fn update_head_file(&self, cp: &Checkpoint) -> Result<(), AuditError> {
        if self.head_file_wanted(cp)? {
            checkpoint::write_file(&self.dir, &self.public, cp)?;
        }
        Ok(())
    }

    /// Whether `checkpoint.sig` should be replaced by `cp`: not when it is
    /// newer, nor when it is evidence (unreadable, forged, or naming a
    /// hash the log no longer has) that `verify` must still see.
    fn head_file_wanted(&self, cp: &Checkpoint) -> Result<bool, AuditError> {
        let keep = match checkpoint::read_file(&self.dir)? {
            FileState::Absent => cp.seq > 1,
            FileState::Unreadable(_) => true,
            FileState::Present(file) => {
                let old = file.checkpoint;
                !old.signature_valid(&self.public)
                    || (old.seq <= cp.seq && self.hash_at(old.seq)? != Some(old.head_hash))
            }
        };
        Ok(!keep)
    }

    /// The stored hash of event `seq` (the genesis hash for 0).
    fn hash_at(&self, seq: u64) -> Result<Option<String>, AuditError> {
        if seq == 0 {
            return Ok(Some(hex::encode(event::genesis_hash(
                self.public.as_bytes(),
            ))));
        }
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        self.conn
            .query_row("SELECT hash FROM events WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// Starts a read transaction: every query until [`end_read`] sees one
    /// snapshot of the database, so a concurrent append cannot put the table
    /// checkpoints and the events read by one verification out of step.
    pub(crate) fn begin_read(&self) -> Result<(), AuditError> {
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| self.sql(e))
    }

    /// Ends the read transaction of [`begin_read`].
    pub(crate) fn end_read(&self) {
        let _ = self.conn.execute_batch("COMMIT");
    }

    fn table_exists(&self, name: &str) -> Result<bool, AuditError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    pub(crate) fn public(&self) -> &VerifyingKey {
        &self.public
    }

    pub(crate) fn key_state(&self) -> &KeyState {
        &self.key_state
    }

    /// The database records no log although `audit.key` exists.
    pub(crate) fn no_record(&self) -> bool {
        self.no_record
    }

    fn signing_key(&self) -> Result<&SigningKey, AuditError> {
        match (&self.signing, &self.key_state) {
            (Some(k), _) => Ok(k),
            (None, KeyState::Mismatch(found)) => Err(AuditError::KeyMismatch {
                path: self.db_path.clone(),
                key: self.dir.join(key::KEY_FILE),
                expected: self.public_key_hex(),
                found: found.clone(),
            }),
            (None, _) => Err(AuditError::MissingKey {
                path: self.db_path.clone(),
            }),
        }
    }

    fn sql(&self, e: rusqlite::Error) -> AuditError {
        AuditError::sqlite(&self.db_path, e, self.busy_ms)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Best effort, as after every append: a head that could not be
        // written lags behind, which verify tolerates.
        let Some(cp) = self.pending_head.take() else {
            return;
        };
        if !matches!(self.head_file_wanted(&cp), Ok(true)) {
            return;
        }
        // Every event the head covers was synced when it was committed, so
        // the file may be written while the connection closes (see
        // `head_writer`): the two syncs overlap instead of adding up.
        let (dir, public) = (self.dir.clone(), self.public);
        let head = cp.clone();
        let spawned = std::thread::Builder::new()
            .name("anrf-audit-head".into())
            .spawn(move || {
                let _ = checkpoint::write_file(&dir, &public, &head);
            });
        match spawned {
            Ok(thread) => self.head_writer = HeadWriter(Some(thread)),
            Err(_) => {
                let _ = checkpoint::write_file(&self.dir, &self.public, &cp);
            }
        }
    }
}
