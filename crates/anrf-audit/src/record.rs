//! Recording from a command: the one helper callers use so that, where the
//! profile demands it, an action never runs unrecorded.

use std::path::Path;

use crate::error::AuditError;
use crate::event::{EventRecord, NewEvent};
use crate::log::LogOptions;

/// Whether a failure to record stops the caller.
///
/// `test` and `prod` profiles use [`Requirement::Required`]: record *before*
/// the action, and do not act if recording failed. `dev` may use
/// [`Requirement::BestEffort`] and print the returned error as a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A failure to append is returned as `Err`: the caller must stop.
    Required,
    /// A failure to append is returned inside [`Recorded::Skipped`].
    BestEffort,
}

/// What [`record`] did.
#[derive(Debug)]
#[must_use = "a skipped record carries the error to warn about"]
pub enum Recorded {
    /// The event is in the log.
    Appended(EventRecord),
    /// Recording failed and the requirement allowed going on; warn with it.
    Skipped(AuditError),
}

/// Opens the log in `dir` (creating it if needed) and appends `event`.
///
/// With [`Requirement::Required`], any failure (full or read-only disk,
/// lock held too long, missing key, a log that fails the check before an
/// append) is `Err`, whose message names the file,
/// the cause and the remedy: the caller prints it and does not run the action.
pub fn record(
    dir: &Path,
    event: &NewEvent,
    requirement: Requirement,
) -> Result<Recorded, AuditError> {
    record_with(&LogOptions::new(), dir, event, requirement)
}

/// [`record`] with explicit [`LogOptions`] (a size cap, a busy timeout, a
/// pinned key). With [`Requirement::Required`] the append first checks that
/// the log is sound ([`LogOptions::check_before_append`]): a log that shows
/// tampering is not extended, and the caller stops.
pub fn record_with(
    options: &LogOptions,
    dir: &Path,
    event: &NewEvent,
    requirement: Requirement,
) -> Result<Recorded, AuditError> {
    let mut options = options.clone();
    if requirement == Requirement::Required {
        options.check_before_append(true);
    }
    let appended = options.open(dir).and_then(|mut log| log.append(event));
    match (appended, requirement) {
        (Ok(rec), _) => Ok(Recorded::Appended(rec)),
        (Err(e), Requirement::Required) => Err(e),
        (Err(e), Requirement::BestEffort) => Ok(Recorded::Skipped(e)),
    }
}

/// Who is acting, for [`NewEvent::actor`] and an override's `requested_by`:
/// `$USER` (or `$USERNAME`, `$LOGNAME`), else the account the process runs as,
/// else `unknown`.
pub fn local_actor() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .or_else(os_user)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The account the process runs as, when no variable names it (a service, a
/// container, `env -i`): its name in `/etc/passwd`, else `uid-N`.
fn os_user() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // `/proc/self` belongs to the process's effective user.
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let named = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|passwd| {
                passwd.lines().find_map(|line| {
                    let mut fields = line.split(':');
                    let name = fields.next()?;
                    let id = fields.nth(1)?;
                    (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
                })
            });
        let plain = |n: &String| {
            !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        };
        Some(named.filter(plain).unwrap_or_else(|| format!("uid-{uid}")))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Decision, EventKind};

    #[test]
    fn best_effort_hands_back_the_error_required_fails() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "not a directory").unwrap();
        let audit = blocker.join("audit");
        let ev = NewEvent::new(EventKind::Run, "t", "x", Decision::Info);
        assert!(matches!(
            record(&audit, &ev, Requirement::BestEffort),
            Ok(Recorded::Skipped(_))
        ));
        assert!(record(&audit, &ev, Requirement::Required).is_err());
    }

    #[test]
    fn required_appends_when_it_can() {
        let dir = tempfile::tempdir().unwrap();
        let ev = NewEvent::new(EventKind::Run, "t", "x", Decision::Info);
        let Recorded::Appended(rec) = record(dir.path(), &ev, Requirement::Required).unwrap()
        else {
            panic!("not appended");
        };
        assert_eq!(rec.seq, 1);
    }
}
