//! `anrf audit`: read, verify, export and checkpoint the audit trail in
//! `$ANRF_HOME/audit`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anrf_audit::{
    AuditError, AuditLog, Decision, EventFilter, EventKind, EventRecord, NewEvent, VerifyReport,
};
use clap::{Args, Subcommand, ValueEnum};

use crate::exit::Finish;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf audit verify && anrf audit log --limit 20")]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// List recorded events, oldest first
    Log(LogArgs),
    /// Check the hash chain, signatures and checkpoints; exit 1 naming the first bad event
    Verify(VerifyArgs),
    /// Write every event, one JSON object per line
    Export(ExportArgs),
    /// Sign a checkpoint of the current head (table and `checkpoint.sig`)
    Checkpoint(CheckpointArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf audit log --limit 20\n  anrf audit log --kind override_approve --json"
)]
struct LogArgs {
    /// Print a JSON array of events instead of a table
    #[arg(long)]
    json: bool,
    /// Show only the last N events
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Show only events of this kind (e.g. `run`, `override_approve`)
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    kind: Option<EventKind>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf audit verify || echo \"audit trail tampered\"\n  \
anrf audit verify --public-key \"$(cat pinned-audit-key.hex)\"\n\n\
Exit status: 0 intact, 1 tampered (the first bad event is named), 2 no log or usage error."
)]
struct VerifyArgs {
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Also require the log's public key to be HEX (pinned elsewhere, e.g. in
    /// CI); catches a log whose database, key and checkpoint were all replaced
    #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
    public_key: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// One JSON object per line, oldest first
    Jsonl,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf audit export --format jsonl -o audit.jsonl")]
struct ExportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
    /// Write to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf audit checkpoint && cp \"$ANRF_HOME/audit/checkpoint.sig\" /safe/place/"
)]
struct CheckpointArgs {}

pub(crate) fn exec(args: AuditArgs) -> miette::Result<Finish> {
    let dir = crate::home::anrf_home()?.join("audit");
    match args.command {
        AuditCommand::Log(args) => log(&dir, &args),
        AuditCommand::Verify(args) => verify(&dir, &args),
        AuditCommand::Export(args) => export(&dir, &args),
        AuditCommand::Checkpoint(CheckpointArgs {}) => checkpoint(&dir),
    }
}

fn parse_kind(text: &str) -> Result<EventKind, String> {
    text.parse().map_err(|_| {
        let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown event kind `{text}`; one of: {}", known.join(", "))
    })
}

fn parse_public_key(text: &str) -> Result<String, String> {
    let key = text.trim().to_ascii_lowercase();
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(key)
    } else {
        Err(format!(
            "`{text}` is not a public key: expected 64 hex digits, as `anrf audit verify --json` prints in `public_key`"
        ))
    }
}

fn open(dir: &Path) -> miette::Result<AuditLog> {
    AuditLog::open_existing(dir).map_err(diagnostic)
}

/// An audit error as a report; the library's message already says what to do.
#[expect(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(diagnostic)`"
)]
fn diagnostic(e: AuditError) -> miette::Report {
    miette::miette!("{e}")
}

fn log(dir: &Path, args: &LogArgs) -> miette::Result<Finish> {
    let log = open(dir)?;
    let events = log
        .events(&EventFilter {
            kind: args.kind,
            limit: args.limit,
        })
        .map_err(diagnostic)?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&events)
            .map_err(|e| miette::miette!("cannot encode the events: {e}"))?;
        json.push('\n');
        json
    } else if events.is_empty() {
        format!("no events in the audit log `{}`\n", log.db_path().display())
    } else {
        table(&events)
    };
    print_stdout(text.as_bytes())
}

/// The human table: one row per event, the subject last so long digests do
/// not break the alignment.
fn table(events: &[EventRecord]) -> String {
    let rows: Vec<[String; 6]> = events
        .iter()
        .map(|e| {
            [
                e.seq.to_string(),
                short_time(&e.time),
                e.actor.clone(),
                e.kind.clone(),
                e.decision.clone(),
                e.subject.clone(),
            ]
        })
        .collect();
    let header = ["SEQ", "TIME", "ACTOR", "KIND", "DECISION", "SUBJECT"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 6]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == cells.len() - 1 {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

/// `2026-11-23T17:45:45.123456789Z` -> `2026-11-23 17:45:45Z`.
fn short_time(time: &str) -> String {
    match time.get(..19) {
        Some(head) if time.ends_with('Z') => format!("{}Z", head.replacen('T', " ", 1)),
        _ => time.to_owned(),
    }
}

fn verify(dir: &Path, args: &VerifyArgs) -> miette::Result<Finish> {
    let log = open(dir)?;
    let report = match &args.public_key {
        Some(key) => log.verify_pinned(key),
        None => log.verify(),
    }
    .map_err(diagnostic)?;
    let text = if args.json {
        /// `status` first, then the report's fields.
        #[derive(serde::Serialize)]
        struct Json<'a> {
            status: &'static str,
            #[serde(flatten)]
            report: &'a VerifyReport,
        }
        let value = Json {
            status: if report.is_intact() {
                "intact"
            } else {
                "tampered"
            },
            report: &report,
        };
        let mut json = serde_json::to_string_pretty(&value)
            .map_err(|e| miette::miette!("cannot encode the report: {e}"))?;
        json.push('\n');
        json
    } else {
        human_report(&report)
    };
    print_stdout(text.as_bytes())?;
    // 0 intact, 1 tampered.
    Ok(Finish::Code(u8::from(!report.is_intact())))
}

fn human_report(report: &VerifyReport) -> String {
    let key = report.public_key.get(..16).unwrap_or(&report.public_key);
    let latest = report.latest_checkpoint.map_or_else(
        || "no valid signed checkpoint".to_owned(),
        |s| format!("latest signed checkpoint at event {s}"),
    );
    let checked = format!(
        "{} events, {} checkpoint rows, {latest}, log key {key}",
        report.events, report.checkpoints,
    );
    match &report.problem {
        None => {
            let head = report.head.as_ref().map_or_else(
                || "empty log".to_owned(),
                |h| format!("head {} {}", h.seq, h.hash.get(..16).unwrap_or(&h.hash)),
            );
            format!("audit log intact: {checked}, {head}\n")
        }
        Some(problem) => {
            let first = problem
                .seq
                .map_or_else(String::new, |s| format!(": first bad event is {s}"));
            format!(
                "audit log TAMPERED{first}\n  {problem}\n  checked {checked}\n  \
                 keep this log as evidence; do not append to it until it is investigated\n"
            )
        }
    }
}

fn export(dir: &Path, args: &ExportArgs) -> miette::Result<Finish> {
    let ExportFormat::Jsonl = args.format;
    let log = open(dir)?;
    let Some(path) = &args.output else {
        return match log.export_jsonl(&mut io::stdout().lock()) {
            // A closed pipe (`| head`) is not an error.
            Err(AuditError::Export { source }) if source.kind() == io::ErrorKind::BrokenPipe => {
                Ok(Finish::Code(0))
            }
            Err(e) => Err(diagnostic(e)),
            Ok(_) => Ok(Finish::Code(0)),
        };
    };
    let mut file = std::fs::File::create(path)
        .map_err(|e| miette::miette!("cannot create the export file `{}`: {e}", path.display()))?;
    let count = log.export_jsonl(&mut file).map_err(diagnostic)?;
    file.sync_all()
        .map_err(|e| miette::miette!("cannot write the export file `{}`: {e}", path.display()))?;
    eprintln!("exported {count} events to `{}`", path.display());
    Ok(Finish::Code(0))
}

fn checkpoint(dir: &Path) -> miette::Result<Finish> {
    let mut log = open(dir)?;
    // The request itself is recorded, then the checkpoint covers it.
    log.append(&NewEvent::new(
        EventKind::Checkpoint,
        anrf_audit::local_actor(),
        "audit-log",
        Decision::Info,
    ))
    .map_err(diagnostic)?;
    let cp = log
        .checkpoint()
        .map_err(diagnostic)?
        .ok_or_else(|| miette::miette!("the audit log has no events to checkpoint"))?;
    let text = format!(
        "checkpoint {} signed: head {}\nwritten to the log and `{}`; keep a copy elsewhere to detect rollback\n",
        cp.seq,
        cp.head_hash,
        dir.join(anrf_audit::CHECKPOINT_FILE).display()
    );
    print_stdout(text.as_bytes())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(bytes: &[u8]) -> miette::Result<Finish> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Finish::Code(0)),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Finish::Code(0)),
        Err(e) => Err(miette::miette!("cannot write to stdout: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_time_drops_fraction_and_t() {
        assert_eq!(
            short_time("2026-11-23T17:45:45.123Z"),
            "2026-11-23 17:45:45Z"
        );
        assert_eq!(short_time("2026-11-23T17:45:45Z"), "2026-11-23 17:45:45Z");
        assert_eq!(short_time("garbage"), "garbage");
    }

    #[test]
    fn kind_parser_lists_known_kinds() {
        assert_eq!(parse_kind("run"), Ok(EventKind::Run));
        let err = parse_kind("sudo").unwrap_err();
        assert!(err.contains("override_approve"), "{err}");
    }
}
