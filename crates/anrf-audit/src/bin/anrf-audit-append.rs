//! Test helper: appends synthetic events to the log in a directory.
//!
//! `anrf-audit-append DIR COUNT [CHECKPOINT_EVERY]` appends COUNT events
//! (`0` = until killed) and prints `appended N` after each one. The
//! durability tests run two of these at once, and SIGKILL one mid-append.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anrf_audit::{Decision, EventKind, LogOptions, NewEvent};

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
