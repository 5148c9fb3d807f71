//! `anrf audit`: read, verify, witness, export and checkpoint the audit trail
//! in `$ANRF_HOME/audit`.
//!
//! The log's trust roots outside its directory: the public key pinned in the
//! project policy (`[audit] public_key` in the nearest `anrf-policy.toml`) or
//! given with `--public-key`, and a witness file (`anrf audit witness -o FILE`,
//! checked with `anrf audit verify --witness FILE`).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anrf_audit::{
    AuditError, AuditLog, Decision, EventFilter, EventKind, EventRecord, NewEvent, VerifyOptions,
    VerifyReport, Witness,
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
    /// Export the verified signed head, to keep outside the log (e.g. committed)
    Witness(WitnessArgs),
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
anrf audit verify --witness audit-witness.json\n  \
anrf audit verify --public-key \"$(cat pinned-audit-key.hex)\"\n\n\
The key pinned in the project policy (`[audit] public_key` in the nearest anrf-policy.toml) is always required.\n\
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
    /// Also check the log against a witness written by `anrf audit witness`:
    /// same key, and the witnessed event still there with the witnessed hash;
    /// catches a wiped, re-keyed or rolled-back log
    #[arg(long, value_name = "FILE")]
    witness: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf audit witness -o audit-witness.json && git add audit-witness.json\n  \
anrf audit witness | ssh store 'cat > anrf-witness.json'\n\n\
The log is verified first (against the pinned key and, when FILE exists, against the witness in it);\n\
a log that does not verify gets no witness (exit 1). Nothing is appended to the log."
)]
struct WitnessArgs {
    /// Write the witness to FILE (replacing it atomically, after checking the
    /// log against the witness already in it) instead of printing it
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also require the log's public key to be HEX
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
        AuditCommand::Witness(args) => witness(&dir, &args),
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

/// The key the log must have: `--public-key` and the project policy's
/// `[audit] public_key`, which must agree when both are given.
fn pinned_key(flag: Option<&String>) -> miette::Result<Option<(String, String)>> {
    let cwd = std::env::current_dir()
        .map_err(|e| miette::miette!("cannot read the working directory: {e}"))?;
    let policy = super::override_::load_project_policy(&cwd)?;
    let from_policy = policy.audit_public_key().map(|k| {
        (
            k.to_owned(),
            format!("`[audit] public_key` in `{}`", policy.origin()),
        )
    });
    match (flag, from_policy) {
        (Some(flag), Some((pinned, origin))) if *flag != pinned => Err(miette::miette!(
            help =
                "pin one key: fix `[audit] public_key` in the policy file, or drop `--public-key`",
            "`--public-key {flag}` differs from the key pinned by {origin} (`{pinned}`)"
        )),
        (Some(flag), _) => Ok(Some((flag.clone(), "`--public-key`".to_owned()))),
        (None, from_policy) => Ok(from_policy),
    }
}

fn read_witness(path: &Path) -> miette::Result<Witness> {
    Witness::read(path).map_err(diagnostic)
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
        format!(
            "no events in the audit log `{}`\n",
            escape_controls(&log.db_path().display().to_string())
        )
    } else {
        table(&events)
    };
    print_stdout(text.as_bytes())
}

/// The human table: one row per event, the subject last so long digests do
/// not break the alignment. Every field is stored text that anyone able to
/// write the database chooses, so each is printed through [`escape_controls`].
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
            .map(|cell| escape_controls(&cell))
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
    let pinned = pinned_key(args.public_key.as_ref())?;
    let witness = args.witness.as_deref().map(read_witness).transpose()?;
    let options = VerifyOptions {
        pinned_key: pinned.as_ref().map(|(k, _)| k.clone()),
        witness,
    };
    let report = anrf_audit::verify_dir(dir, &options).map_err(diagnostic)?;
    let text = if args.json {
        json_report(&report)?
    } else {
        human_report(&report, pinned.as_ref().map(|(_, origin)| origin.as_str()))
    };
    print_stdout(text.as_bytes())?;
    // 0 intact, 1 tampered.
    Ok(Finish::Code(u8::from(!report.is_intact())))
}

fn json_report(report: &VerifyReport) -> miette::Result<String> {
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
        report,
    };
    let mut json = serde_json::to_string_pretty(&value)
        .map_err(|e| miette::miette!("cannot encode the report: {e}"))?;
    json.push('\n');
    Ok(json)
}

fn witness(dir: &Path, args: &WitnessArgs) -> miette::Result<Finish> {
    let pinned = pinned_key(args.public_key.as_ref())?;
    // Replacing a witness never blesses a log that went behind it.
    let previous = match &args.output {
        Some(path) if std::fs::symlink_metadata(path).is_ok() => Some(read_witness(path)?),
        _ => None,
    };
    let options = VerifyOptions {
        pinned_key: pinned.as_ref().map(|(k, _)| k.clone()),
        witness: previous.clone(),
    };
    let (report, head) = open(dir)?.witness(&options).map_err(diagnostic)?;
    let Some(head) = head else {
        let mut text = human_report(&report, pinned.as_ref().map(|(_, o)| o.as_str()));
        text.push_str("  no witness was written: only an intact log is witnessed\n");
        eprint!("{text}");
        return Ok(Finish::Code(1));
    };
    let Some(path) = &args.output else {
        return print_stdout(head.to_json().as_bytes());
    };
    if let Some(old) = previous
        && old.checkpoint().seq >= head.checkpoint().seq
    {
        eprintln!(
            "`{}` already witnesses event {} (the log's newest signed head is event {}): left as it is",
            path.display(),
            old.checkpoint().seq,
            head.checkpoint().seq
        );
        return Ok(Finish::Code(0));
    }
    write_atomically(path, head.to_json().as_bytes())?;
    let text = format!(
        "witnessed event {} (head {}, log key {}) in `{}`\n\
         keep it where the log's owner cannot rewrite it (commit it to the project, or store it elsewhere); \
         check with `anrf audit verify --witness {}`\n",
        head.checkpoint().seq,
        short_hex(&head.checkpoint().head_hash),
        short_hex(head.public_key()),
        path.display(),
        path.display()
    );
    print_stdout(text.as_bytes())
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames
/// it over `path` (a symlink at `path` is replaced, never followed).
fn write_atomically(path: &Path, bytes: &[u8]) -> miette::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(
        || "witness".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(miette::miette!(
            "cannot write the witness `{}`: {e}",
            path.display()
        ));
    }
    Ok(())
}

fn short_hex(hex: &str) -> String {
    escape_controls(hex.get(..16).unwrap_or(hex))
}

fn human_report(report: &VerifyReport, pinned_by: Option<&str>) -> String {
    let key = short_hex(&report.public_key);
    let latest = report.latest_checkpoint.map_or_else(
        || "no valid signed checkpoint".to_owned(),
        |s| format!("latest signed checkpoint at event {s}"),
    );
    let mut checked = format!(
        "{} events, {} checkpoint rows, {latest}, log key {key}",
        report.events, report.checkpoints,
    );
    if let Some(origin) = pinned_by {
        let _ = write!(checked, " (pinned by {})", escape_controls(origin));
    }
    if let Some(w) = &report.witnessed {
        let _ = write!(
            checked,
            ", witness of event {} {}",
            w.seq,
            short_hex(&w.hash)
        );
    }
    match &report.problem {
        None => {
            let head = report.head.as_ref().map_or_else(
                || "empty log".to_owned(),
                |h| format!("head {} {}", h.seq, short_hex(&h.hash)),
            );
            format!("audit log intact: {checked}, {head}\n")
        }
        Some(problem) => {
            let first = problem
                .seq
                .map_or_else(String::new, |s| format!(": first bad event is {s}"));
            format!(
                "audit log TAMPERED{first}\n  {}\n  checked {checked}\n  \
                 keep this log as evidence; do not append to it until it is investigated\n",
                escape_controls(&problem.to_string())
            )
        }
    }
}

/// `text` with every character that could move the cursor, recolour or
/// reorder the terminal shown as an escape instead: C0 and C1 controls
/// (ESC, `\r`, `\n`, ...), DEL, Unicode bidirectional overrides and
/// isolates, and the invisible format characters, plus `\` itself so that
/// an escape in the output is always one anrf wrote.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_invisible_format(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Bidi controls and other invisible format characters (Unicode `Cf`, the
/// ones a terminal renders as nothing or uses to reorder text).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

fn export(dir: &Path, args: &ExportArgs) -> miette::Result<Finish> {
    let ExportFormat::Jsonl = args.format;
    let log = open(dir)?;
    let Some(path) = &args.output else {
        return match log.export_jsonl(&mut crate::out::stdout()) {
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
        escape_controls(&cp.head_hash),
        dir.join(anrf_audit::CHECKPOINT_FILE).display()
    );
    print_stdout(text.as_bytes())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(bytes: &[u8]) -> miette::Result<Finish> {
    let mut out = crate::out::stdout();
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
    fn escapes_every_control_and_bidi_character() {
        assert_eq!(escape_controls("alice"), "alice");
        assert_eq!(
            escape_controls("a\u{1b}[31mb\rc\nd\te\\f"),
            "a\\u{1b}[31mb\\rc\\nd\\te\\\\f"
        );
        assert_eq!(escape_controls("\u{7f}\u{9b}\u{0}"), "\\u{7f}\\u{9b}\\u{0}");
        assert_eq!(
            escape_controls("x\u{202e}y\u{2066}z\u{200f}\u{feff}"),
            "x\\u{202e}y\\u{2066}z\\u{200f}\\u{feff}"
        );
        assert_eq!(escape_controls("é 中"), "é 中");
    }

    #[test]
    fn kind_parser_lists_known_kinds() {
        assert_eq!(parse_kind("run"), Ok(EventKind::Run));
        let err = parse_kind("sudo").unwrap_err();
        assert!(err.contains("override_approve"), "{err}");
    }
}
