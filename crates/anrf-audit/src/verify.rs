//! Verification: walks the chain once, in sequence order, and reports the
//! first thing that is wrong as a value.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::Verifier;
use serde::Serialize;

use crate::checkpoint::{self, Checkpoint, CheckpointSource, FileState, Witness};
use crate::error::AuditError;
use crate::event::{self, HashedFields};
use crate::key;
use crate::log::{AuditLog, KeyState};
use crate::store::RawRow;

/// Trust roots kept outside the audit directory, for
/// [`AuditLog::verify_with`] and [`verify_dir`](crate::verify_dir).
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The log's public key (hex), pinned elsewhere: the project policy's
    /// `[audit] public_key` or `--public-key`. A log with another key is a
    /// replaced or re-keyed log.
    pub pinned_key: Option<String>,
    /// A signed head kept elsewhere: the log must have that key, and the
    /// witnessed event with that hash.
    pub witness: Option<Witness>,
}

/// The result of [`AuditLog::verify`]: what was checked and the first
/// problem found, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Events examined.
    pub events: u64,
    /// Sequence number and hash of the last stored event.
    pub head: Option<Head>,
    /// Rows in the `checkpoints` table.
    pub checkpoints: u64,
    /// Highest sequence number covered by a checkpoint (table or
    /// `checkpoint.sig`); `0` for the signed empty log.
    pub latest_checkpoint: Option<u64>,
    /// The log's public key, hex.
    pub public_key: String,
    /// The key it was required to have, if one was pinned.
    pub pinned_key: Option<String>,
    /// The witnessed head it was checked against, if a witness was given.
    pub witnessed: Option<Head>,
    /// The first problem, in sequence order; `None` when the log is intact.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// The last stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// The first bad event and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The first bad (or missing) event; `None` for problems of the log as
    /// a whole (its key, its checkpoint file).
    pub seq: Option<u64>,
    #[serde(flatten)]
    pub kind: ProblemKind,
}

/// Why verification failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The event is missing; `next_present` is the next one stored.
    Missing { next_present: u64 },
    /// The event's `prev_hash` is not the previous event's hash.
    BrokenLink,
    /// The event's `prev_hash` is the hash of a later event.
    Reordered { links_to: u64 },
    /// The event's content does not hash to its stored hash.
    HashMismatch,
    /// The event's hash is consistent but not signed by the log's key.
    SignatureInvalid,
    /// A row that cannot be an event (sequence number below 1).
    Malformed { detail: String },
    /// A checkpoint not signed by the log's key.
    CheckpointSignatureInvalid {
        checkpoint: u64,
        source: CheckpointSource,
    },
    /// A validly signed checkpoint whose head hash differs from the event's.
    CheckpointMismatch {
        checkpoint: u64,
        source: CheckpointSource,
    },
    /// The log ends at `last_event` but a validly signed checkpoint covers a
    /// later event.
    Truncated {
        checkpoint: u64,
        last_event: u64,
        source: CheckpointSource,
    },
    /// `checkpoint.sig` is gone.
    CheckpointFileMissing,
    /// `checkpoint.sig` is not a checkpoint file.
    CheckpointFileUnreadable { detail: String },
    /// `audit.key` holds a different key than the one the log records.
    KeyMismatch { key_file_public_key: String },
    /// The log's key is not the pinned one.
    UnexpectedKey { expected: String },
    /// The log's key is not the one the witness names: the log was replaced
    /// or re-keyed since the witness was taken.
    WitnessKeyMismatch { witness_public_key: String },
    /// No log is left, but its directory holds what only a log leaves behind
    /// (`audit.key`, a `checkpoint.sig` past seq 0), or a witness shows there
    /// was one: the log was deleted.
    LogDeleted { found: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq.unwrap_or(0);
        match &self.kind {
            ProblemKind::Missing { next_present } => write!(
                f,
                "event {seq} is missing (the next stored event is {next_present}): events were deleted"
            ),
            ProblemKind::BrokenLink => write!(
                f,
                "event {seq} does not link to event {}: an event before it was inserted, removed or replaced",
                seq.saturating_sub(1)
            ),
            ProblemKind::Reordered { links_to } => write!(
                f,
                "event {seq} links to event {links_to}, which comes after it: events were reordered"
            ),
            ProblemKind::HashMismatch => write!(
                f,
                "event {seq} does not match its hash: it was modified after it was written"
            ),
            ProblemKind::SignatureInvalid => write!(
                f,
                "event {seq} is not signed by the log's key: the chain was rewritten or the event forged"
            ),
            ProblemKind::Malformed { detail } => write!(f, "malformed event row: {detail}"),
            ProblemKind::CheckpointSignatureInvalid { checkpoint, source } => write!(
                f,
                "checkpoint {checkpoint} ({}) is not signed by the log's key: it was forged or altered",
                source_name(*source)
            ),
            ProblemKind::CheckpointMismatch { checkpoint, source } => write!(
                f,
                "event {seq} differs from the one checkpoint {checkpoint} ({}) signed: the chain was rewritten",
                source_name(*source)
            ),
            ProblemKind::Truncated {
                checkpoint,
                last_event,
                source,
            } => write!(
                f,
                "event {seq} is missing: the log ends at event {last_event} but checkpoint {checkpoint} ({}) \
                 covers event {checkpoint}: the tail was truncated",
                source_name(*source)
            ),
            ProblemKind::CheckpointFileMissing => write!(
                f,
                "`{}` is missing: the external checkpoint was deleted",
                checkpoint::CHECKPOINT_FILE
            ),
            ProblemKind::CheckpointFileUnreadable { detail } => write!(
                f,
                "`{}` is not a checkpoint file ({detail}): it was altered",
                checkpoint::CHECKPOINT_FILE
            ),
            ProblemKind::KeyMismatch {
                key_file_public_key,
            } => write!(
                f,
                "`{}` holds key `{}`, but the log was created with another key: the log or its key was replaced",
                key::KEY_FILE,
                short(key_file_public_key)
            ),
            ProblemKind::UnexpectedKey { expected } => write!(
                f,
                "the log's key is not the pinned key `{}`: the whole log was replaced or re-keyed",
                short(expected)
            ),
            ProblemKind::WitnessKeyMismatch { witness_public_key } => write!(
                f,
                "the log's key is not the witnessed key `{}`: the log was replaced or re-keyed since the witness was taken",
                short(witness_public_key)
            ),
            ProblemKind::LogDeleted { found } => write!(
                f,
                "the audit log is gone but {found} remains: the log was deleted"
            ),
        }
    }
}

fn source_name(source: CheckpointSource) -> &'static str {
    match source {
        CheckpointSource::Table => "table",
        CheckpointSource::File => checkpoint::CHECKPOINT_FILE,
        CheckpointSource::Witness => "the witness",
    }
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}

/// Keeps the first problem in sequence order: event problems are found in
/// order during the walk, so only the first one is kept.
struct Walk<'a> {
    log: &'a AuditLog,
    genesis: String,
    checkpoints: BTreeMap<u64, Vec<(Checkpoint, CheckpointSource)>>,
    expected: u64,
    prev_hash: String,
    events: u64,
    head: Option<Head>,
    problem: Option<Problem>,
}

/// Verifies `log`; also returns the newest checkpoint of the log itself
/// (table or `checkpoint.sig`, never the witness) that the walk checked.
pub(crate) fn verify(
    log: &AuditLog,
    options: &VerifyOptions,
) -> Result<(VerifyReport, Option<Checkpoint>), AuditError> {
    // `checkpoint.sig` is read before the database: it is written after the
    // commit of the event it names, so the snapshot read next includes it.
    let file_state = checkpoint::read_file(log.dir())?;
    log.begin_read()?;
    let result = verify_snapshot(log, options, file_state);
    log.end_read();
    result
}

fn verify_snapshot(
    log: &AuditLog,
    options: &VerifyOptions,
    file_state: FileState,
) -> Result<(VerifyReport, Option<Checkpoint>), AuditError> {
    let public = *log.public();
    let own = key::public_hex(&public);
    let table = log.table_checkpoints()?;
    let table_count = table.len() as u64;
    let mut checkpoints: BTreeMap<u64, Vec<(Checkpoint, CheckpointSource)>> = BTreeMap::new();
    for cp in table {
        checkpoints
            .entry(cp.seq)
            .or_default()
            .push((cp, CheckpointSource::Table));
    }
    let pinned = options
        .pinned_key
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase());
    let pinned_problem = pinned
        .clone()
        .filter(|p| *p != own)
        .map(|expected| Problem {
            seq: None,
            kind: ProblemKind::UnexpectedKey { expected },
        });
    let mut witness_problem = None;
    if let Some(w) = &options.witness {
        if w.public_key() == own {
            let cp = w.checkpoint().clone();
            checkpoints
                .entry(cp.seq)
                .or_default()
                .push((cp, CheckpointSource::Witness));
        } else {
            witness_problem = Some(Problem {
                seq: None,
                kind: ProblemKind::WitnessKeyMismatch {
                    witness_public_key: w.public_key().to_owned(),
                },
            });
        }
    }
    let mut log_problem = match log.key_state() {
        KeyState::Mismatch(found) => Some(Problem {
            seq: None,
            kind: ProblemKind::KeyMismatch {
                key_file_public_key: found.clone(),
            },
        }),
        KeyState::Matches | KeyState::Missing => None,
    };
    if log.no_record() {
        log_problem = Some(Problem {
            seq: None,
            kind: ProblemKind::LogDeleted {
                found: format!("`{}`", key::KEY_FILE),
            },
        });
    }
    match file_state {
        FileState::Present(file) => {
            let cp = file.checkpoint;
            checkpoints
                .entry(cp.seq)
                .or_default()
                .push((cp, CheckpointSource::File));
        }
        FileState::Absent => {
            log_problem.get_or_insert(Problem {
                seq: None,
                kind: ProblemKind::CheckpointFileMissing,
            });
        }
        FileState::Unreadable(detail) => {
            log_problem.get_or_insert(Problem {
                seq: None,
                kind: ProblemKind::CheckpointFileUnreadable { detail },
            });
        }
    }
    let genesis = hex::encode(event::genesis_hash(public.as_bytes()));
    let mut walk = Walk {
        log,
        genesis: genesis.clone(),
        checkpoints,
        expected: 1,
        prev_hash: genesis,
        events: 0,
        head: None,
        problem: None,
    };
    // Checkpoints of the empty log (seq 0) cover the genesis hash.
    walk.check_checkpoints_at(0, &walk.genesis.clone());
    log.for_each_raw(|row| {
        walk.row(&row, &public)?;
        Ok(())
    })?;
    walk.after_last();

    let valid = |cps: &Vec<(Checkpoint, CheckpointSource)>| {
        cps.iter()
            .any(|(cp, source)| *source != CheckpointSource::Witness && cp.signature_valid(&public))
    };
    let latest_checkpoint = walk
        .checkpoints
        .iter()
        .filter(|(_, cps)| valid(cps))
        .map(|(seq, _)| *seq)
        .next_back();
    let newest_own = walk.checkpoints.values().rev().find_map(|cps| {
        cps.iter()
            .find(|(cp, source)| {
                *source != CheckpointSource::Witness && cp.signature_valid(&public)
            })
            .map(|(cp, _)| cp.clone())
    });
    // A problem of the log as a whole is reported before one in the chain
    // only when it concerns the key, which every other check relies on, or
    // the log's record itself.
    let problem = match log_problem {
        Some(
            p @ Problem {
                kind: ProblemKind::KeyMismatch { .. } | ProblemKind::LogDeleted { .. },
                ..
            },
        ) => Some(p),
        other => walk.problem.or(other),
    };
    let problem = pinned_problem.or(witness_problem).or(problem);
    let report = VerifyReport {
        events: walk.events,
        head: walk.head,
        checkpoints: table_count,
        latest_checkpoint,
        public_key: own,
        pinned_key: pinned,
        witnessed: options.witness.as_ref().map(|w| Head {
            seq: w.checkpoint().seq,
            hash: w.checkpoint().head_hash.clone(),
        }),
        problem,
    };
    Ok((report, newest_own))
}

/// The report for a directory without a log: `Some` when something shows
/// that a log was there (what it left behind, or a witness), `None` when
/// there simply is no log yet.
pub(crate) fn deleted_log_report(
    found: Option<String>,
    options: &VerifyOptions,
) -> Option<VerifyReport> {
    let found = found.or_else(|| {
        options.witness.as_ref().map(|w| {
            format!(
                "a witness of event {} (key `{}`)",
                w.checkpoint().seq,
                short(w.public_key())
            )
        })
    })?;
    Some(VerifyReport {
        events: 0,
        head: None,
        checkpoints: 0,
        latest_checkpoint: None,
        public_key: String::new(),
        pinned_key: options.pinned_key.clone(),
        witnessed: options.witness.as_ref().map(|w| Head {
            seq: w.checkpoint().seq,
            hash: w.checkpoint().head_hash.clone(),
        }),
        problem: Some(Problem {
            seq: None,
            kind: ProblemKind::LogDeleted { found },
        }),
    })
}

impl Walk<'_> {
    fn found(&mut self, seq: Option<u64>, kind: ProblemKind) {
        if self.problem.is_none() {
            self.problem = Some(Problem { seq, kind });
        }
    }

    fn row(
        &mut self,
        row: &RawRow,
        public: &ed25519_dalek::VerifyingKey,
    ) -> Result<(), AuditError> {
        self.events += 1;
        let Ok(seq) = u64::try_from(row.seq) else {
            self.found(
                None,
                ProblemKind::Malformed {
                    detail: format!("sequence number {} is below 1", row.seq),
                },
            );
            return Ok(());
        };
        if seq == 0 {
            self.found(
                None,
                ProblemKind::Malformed {
                    detail: "sequence number 0 is below 1".to_owned(),
                },
            );
            return Ok(());
        }
        self.head = Some(Head {
            seq,
            hash: row.hash.clone(),
        });
        if self.problem.is_some() {
            return Ok(());
        }
        if seq != self.expected {
            // Rows come in ascending order, so `seq` is past the expected one.
            self.found(
                Some(self.expected),
                ProblemKind::Missing { next_present: seq },
            );
            return Ok(());
        }
        if row.prev_hash != self.prev_hash {
            let kind = match self.log.seq_of_hash(&row.prev_hash)? {
                Some(later) if later > row.seq => ProblemKind::Reordered {
                    links_to: u64::try_from(later).unwrap_or(0),
                },
                _ => ProblemKind::BrokenLink,
            };
            self.found(Some(seq), kind);
            return Ok(());
        }
        let fields = HashedFields {
            seq,
            time: &row.time,
            actor: &row.actor,
            kind: &row.kind,
            subject: &row.subject,
            decision: &row.decision,
            details: &row.details,
        };
        let prev = crate::store::parse_hash(&row.prev_hash).unwrap_or([0; 32]);
        let computed = event::event_hash(&prev, &fields);
        if hex::encode(computed) != row.hash {
            self.found(Some(seq), ProblemKind::HashMismatch);
            return Ok(());
        }
        let signed = checkpoint::parse_signature(&row.signature).is_some_and(|sig| {
            public
                .verify(&event::event_signing_message(&computed), &sig)
                .is_ok()
        });
        if !signed {
            self.found(Some(seq), ProblemKind::SignatureInvalid);
            return Ok(());
        }
        self.check_checkpoints_at(seq, &row.hash);
        self.prev_hash.clone_from(&row.hash);
        self.expected = seq + 1;
        Ok(())
    }

    /// Checks every checkpoint at `seq` against the event's hash.
    fn check_checkpoints_at(&mut self, seq: u64, hash: &str) {
        let public = *self.log.public();
        let Some(cps) = self.checkpoints.get(&seq) else {
            return;
        };
        let mut found = None;
        for (cp, source) in cps {
            if !cp.signature_valid(&public) {
                found = Some(ProblemKind::CheckpointSignatureInvalid {
                    checkpoint: seq,
                    source: *source,
                });
                break;
            }
            if cp.head_hash != hash {
                found = Some(ProblemKind::CheckpointMismatch {
                    checkpoint: seq,
                    source: *source,
                });
                break;
            }
        }
        if let Some(kind) = found {
            self.found(Some(seq), kind);
        }
    }

    /// After the last event: a checkpoint beyond it means the tail is gone.
    fn after_last(&mut self) {
        if self.problem.is_some() {
            return;
        }
        let public = *self.log.public();
        let last = self.expected - 1;
        let first_beyond = self
            .checkpoints
            .range(last + 1..)
            .flat_map(|(_, cps)| cps.iter().cloned())
            .next();
        // A forged checkpoint beyond the end is reported as forged, not as a
        // truncation; a validly signed one proves truncation.
        if let Some((cp, source)) = first_beyond {
            if cp.signature_valid(&public) {
                self.found(
                    Some(last + 1),
                    ProblemKind::Truncated {
                        checkpoint: cp.seq,
                        last_event: last,
                        source,
                    },
                );
            } else {
                self.found(
                    Some(cp.seq),
                    ProblemKind::CheckpointSignatureInvalid {
                        checkpoint: cp.seq,
                        source,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::event::{Decision, EventKind, NewEvent};
    use crate::log::{DB_FILE, LogOptions};

    /// A log of `n` events in a fresh directory (no checkpoint rows before 100).
    fn log_of(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("audit");
        let mut log = LogOptions::new().checkpoint_every(100).open(&dir).unwrap();
        for i in 1..=n {
            let e = NewEvent::new(
                EventKind::Run,
                "alice",
                format!("sha256:{i:064x}"),
                Decision::Allow,
            )
            .with_details(serde_json::json!({ "i": i }));
            log.append(&e).unwrap();
        }
        (home, dir)
    }

    /// Runs `sql` on the database with the append-only triggers dropped, as an
    /// attacker with write access to the file would.
    fn tamper(dir: &Path, sql: &str) {
        let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS events_append_only_update;
             DROP TRIGGER IF EXISTS events_append_only_delete;",
        )
        .unwrap();
        conn.execute_batch(sql).unwrap();
    }

    /// Makes event `seq` link to the hash of event `to`.
    fn relink(dir: &Path, seq: u64, to: u64) {
        tamper(
            dir,
            &format!(
                "UPDATE events SET prev_hash = (SELECT hash FROM events WHERE seq = {to}) WHERE seq = {seq};"
            ),
        );
    }

    fn report(dir: &Path) -> VerifyReport {
        AuditLog::open_existing(dir).unwrap().verify().unwrap()
    }

    fn problem(dir: &Path) -> Option<Problem> {
        report(dir).problem
    }

    #[test]
    fn is_intact_is_false_on_a_broken_chain() {
        let (_home, dir) = log_of(3);
        let intact = report(&dir);
        assert!(intact.is_intact());
        assert_eq!(intact.events, 3);
        tamper(&dir, "UPDATE events SET actor = 'mallory' WHERE seq = 2;");
        let broken = report(&dir);
        assert!(!broken.is_intact());
        assert_eq!(
            broken.problem,
            Some(Problem {
                seq: Some(2),
                kind: ProblemKind::HashMismatch
            })
        );
    }

    #[test]
    fn link_to_a_later_event_is_reordered() {
        let (_home, dir) = log_of(4);
        relink(&dir, 2, 4);
        assert_eq!(
            problem(&dir),
            Some(Problem {
                seq: Some(2),
                kind: ProblemKind::Reordered { links_to: 4 }
            })
        );
    }

    #[test]
    fn link_to_an_earlier_event_is_a_broken_link_not_a_reordering() {
        let (_home, dir) = log_of(4);
        relink(&dir, 3, 1);
        assert_eq!(
            problem(&dir),
            Some(Problem {
                seq: Some(3),
                kind: ProblemKind::BrokenLink
            })
        );
    }

    #[test]
    fn link_to_itself_is_a_broken_link_not_a_reordering() {
        let (_home, dir) = log_of(4);
        relink(&dir, 3, 3);
        assert_eq!(
            problem(&dir),
            Some(Problem {
                seq: Some(3),
                kind: ProblemKind::BrokenLink
            })
        );
    }

    #[test]
    fn link_to_no_event_is_a_broken_link() {
        let (_home, dir) = log_of(3);
        tamper(
            &dir,
            &format!(
                "UPDATE events SET prev_hash = '{}' WHERE seq = 2;",
                "ab".repeat(32)
            ),
        );
        assert_eq!(
            problem(&dir),
            Some(Problem {
                seq: Some(2),
                kind: ProblemKind::BrokenLink
            })
        );
    }

    #[test]
    fn only_the_first_problem_in_sequence_order_is_reported() {
        let (_home, dir) = log_of(5);
        tamper(
            &dir,
            "UPDATE events SET actor = 'mallory' WHERE seq = 4;
             UPDATE events SET actor = 'mallory' WHERE seq = 2;",
        );
        let r = report(&dir);
        assert_eq!(r.problem.unwrap().seq, Some(2));
        // The walk still counts every row and reports the last as the head.
        assert_eq!(r.events, 5);
        assert_eq!(r.head.unwrap().seq, 5);
    }

    #[test]
    fn pinned_key_is_compared_case_insensitively_and_a_different_one_is_refused() {
        let (_home, dir) = log_of(2);
        let log = AuditLog::open_existing(&dir).unwrap();
        let own = log.public_key_hex();
        let r = log
            .verify_pinned(&format!(" {} ", own.to_ascii_uppercase()))
            .unwrap();
        assert!(r.is_intact(), "{:?}", r.problem);
        assert_eq!(r.pinned_key.as_deref(), Some(own.as_str()));
        let other = "11".repeat(32);
        let r = log.verify_pinned(&other).unwrap();
        assert_eq!(
            r.problem,
            Some(Problem {
                seq: None,
                kind: ProblemKind::UnexpectedKey { expected: other }
            })
        );
    }

    #[test]
    fn forged_checkpoint_beyond_the_end_covers_nothing() {
        let (_home, dir) = log_of(5);
        tamper(
            &dir,
            &format!(
                "INSERT INTO checkpoints (seq, head_hash, time, signature) VALUES (7, '{}', '2026-11-23T12:00:00Z', '{}');",
                "ab".repeat(32),
                "cd".repeat(64)
            ),
        );
        let r = report(&dir);
        assert_eq!(
            r.problem,
            Some(Problem {
                seq: Some(7),
                kind: ProblemKind::CheckpointSignatureInvalid {
                    checkpoint: 7,
                    source: CheckpointSource::Table
                }
            })
        );
        assert_eq!(r.latest_checkpoint, Some(5));
    }

    #[test]
    fn witness_returns_the_logs_own_head_not_the_witness_given() {
        let (_home, dir) = log_of(3);
        let FileState::Present(file) = checkpoint::read_file(&dir).unwrap() else {
            panic!("checkpoint.sig missing");
        };
        // A valid witness of the same event, signed at another time.
        let signing = key::load(&dir).unwrap().unwrap();
        let older = Checkpoint::sign(
            &signing,
            file.checkpoint.seq,
            &file.checkpoint.head_hash,
            "2026-01-01T00:00:00Z".to_owned(),
        );
        assert_ne!(older, file.checkpoint);
        let log = AuditLog::open_existing(&dir).unwrap();
        let options = VerifyOptions {
            pinned_key: None,
            witness: Some(Witness::new(log.public_key_hex(), older)),
        };
        let (r, head) = log.witness(&options).unwrap();
        assert!(r.is_intact(), "{:?}", r.problem);
        assert_eq!(head.unwrap().checkpoint(), &file.checkpoint);
    }

    #[test]
    fn latest_checkpoint_is_the_newest_validly_signed_one() {
        let (_home, dir) = log_of(3);
        let r = report(&dir);
        // checkpoint.sig covers the last event.
        assert_eq!(r.latest_checkpoint, Some(3));
        assert_eq!(r.checkpoints, 0);
        assert_eq!(r.head.as_ref().map(|h| h.seq), Some(3));
    }
}
