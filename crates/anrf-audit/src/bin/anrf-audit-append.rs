//! Test helper: appends synthetic events to the log in a directory.
//!
//! `anrf-audit-append DIR COUNT [CHECKPOINT_EVERY]` appends COUNT events
//! (`0` = until killed) and prints `appended N` after each one. The
//! durability tests run two of these at once, and SIGKILL one mid-append.
//!
//! With `ANRF_AUDIT_TEST_HOOK_INSIDE_APPEND=N`, the append of event `N` prints
//! `inside N` from inside its transaction (row written, not committed) and then
//! sleeps, so a test can kill the process exactly there.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anrf_audit::{Decision, EventKind, LogOptions, NewEvent};

/// Names the event whose append pauses inside its transaction.
const HOOK_ENV: &str = "ANRF_AUDIT_TEST_HOOK_INSIDE_APPEND";

fn pause_inside(seq: u64) {
    let target = std::env::var(HOOK_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    if target == Some(seq) {
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "inside {seq}");
        let _ = stdout.flush();
        std::thread::sleep(std::time::Duration::from_mins(1));
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(count)) = (
        args.first(),
        args.get(1).and_then(|c| c.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: anrf-audit-append DIR COUNT [CHECKPOINT_EVERY]");
        return ExitCode::from(2);
    };
    let mut opts = LogOptions::new();
    if let Some(every) = args.get(2).and_then(|c| c.parse::<u64>().ok()) {
        opts.checkpoint_every(every);
    }
    if std::env::var_os(HOOK_ENV).is_some() {
        opts.test_hook_inside_append(pause_inside);
    }
    let mut log = match opts.open(&PathBuf::from(dir)) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let pid = std::process::id();
    let mut stdout = std::io::stdout();
    let mut i = 0u64;
    while count == 0 || i < count {
        i += 1;
        let event = NewEvent::new(
            EventKind::Run,
            format!("pid:{pid}"),
            format!("n{i}"),
            Decision::Info,
        )
        .with_details(serde_json::json!({ "i": i, "pad": "x".repeat(200) }));
        match log.append(&event) {
            Ok(rec) => {
                let _ = writeln!(stdout, "appended {}", rec.seq);
                let _ = stdout.flush();
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
