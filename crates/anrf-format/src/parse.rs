//! Strict parsing: TOML -> `Manifest`, then the checks that span several fields.
//! Every error carries the file, line and column, what is wrong and how to fix it.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::error::{FormatError, ManifestError};
use crate::manifest::{
    FORMAT_VERSION, LimitName, Limits, Manifest, MemorySafety, Relaxation, Scope,
};

/// One step of a path into the manifest: a key or an array index.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Parses and checks a manifest. `path` names the file in errors.
pub(crate) fn parse_manifest(source: &str, path: &str) -> Result<Manifest, FormatError> {
    let spans = Spans::new(source);
    let manifest: Manifest = toml::from_str(source).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let (message, help) = explain_toml_error(e.message(), &table_at(source, span.start));
        ManifestError::new(path, source, span, message, help)
    })?;
    validate(&manifest).map_err(|problem| {
        let span = spans.span_of(&problem.at).unwrap_or(0..0);
        ManifestError::new(path, source, span, problem.message, problem.help)
    })?;
    Ok(manifest)
}

/// A problem found after the TOML parsed, with where to point.
struct Problem<'a> {
    at: Vec<Step<'a>>,
    message: String,
    help: Option<String>,
}

fn problem(at: Vec<Step<'_>>, message: String, help: impl Into<Option<String>>) -> Problem<'_> {
    Problem {
        at,
        message,
        help: help.into(),
    }
}

/// Checks that span several fields. The first problem wins.
fn validate(m: &Manifest) -> Result<(), Problem<'static>> {
    use Step::{Index, Key};
    if m.anrf != FORMAT_VERSION {
        return Err(problem(
            vec![Key("anrf")],
            format!("unsupported manifest version `{}`", m.anrf),
            format!("this anrf reads version {FORMAT_VERSION}: write `anrf = {FORMAT_VERSION}`"),
        ));
    }
    if m.implementation.sources.is_empty() {
        return Err(problem(
            vec![Key("implementation"), Key("sources")],
            "`implementation.sources` is empty".into(),
            "list the module's source files, e.g. `sources = [\"src/main.rs\"]`".to_owned(),
        ));
    }
    let sec = &m.security;
    // Duplicates in capabilities would make grants ambiguous.
    let mut seen = std::collections::BTreeSet::new();
    for (i, grant) in sec.capabilities.dirs.iter().enumerate() {
        if !seen.insert(grant.guest.as_str()) {
            return Err(problem(
                vec![
                    Key("security"),
                    Key("capabilities"),
                    Key("dirs"),
                    Index(i),
                    Key("guest"),
                ],
                format!("guest path `{}` is granted twice", grant.guest),
                "keep one entry per guest path".to_owned(),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, name) in sec.capabilities.env.iter().enumerate() {
        if !seen.insert(name.as_str()) {
            return Err(problem(
                vec![Key("security"), Key("capabilities"), Key("env"), Index(i)],
                format!("environment variable `{name}` is listed twice"),
                "keep one entry per variable".to_owned(),
            ));
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    for (i, ovr) in sec.overrides.iter().enumerate() {
        if !ids.insert(ovr.id.as_str()) {
            return Err(problem(
                vec![Key("security"), Key("overrides"), Index(i), Key("id")],
                format!("override id `{}` is used twice", ovr.id),
                "each override needs its own id; `anrf override request` assigns one".to_owned(),
            ));
        }
        if let Scope::Function(name) = &ovr.scope
            && !m.logic.functions.iter().any(|f| f == name)
        {
            return Err(problem(
                vec![Key("security"), Key("overrides"), Index(i), Key("scope")],
                format!(
                    "scope `function:{name}` names a function that `logic.functions` does not list"
                ),
                format!(
                    "add `\"{name}\"` to `functions` under `[logic]`, or widen the scope to `module`"
                ),
            ));
        }
    }
    if sec.memory_safety == MemorySafety::SandboxOnly
        && !sec
            .overrides
            .iter()
            .any(|o| o.relaxes == Relaxation::MemoryUnsafe)
    {
        return Err(problem(
            vec![Key("security"), Key("memory_safety")],
            "`memory_safety = \"sandbox-only\"` needs a `memory-unsafe` override".into(),
            "ask for one with `anrf override request MODULE --memory-unsafe --justification \"...\"`, or make the guest memory-safe and write `memory_safety = \"enforced\"`".to_owned(),
        ));
    }
    for limit in LimitName::ALL {
        let value = sec.limits.get(limit);
        let default = Limits::DEFAULT.get(limit);
        if value > default {
            let raised = sec.overrides.iter().any(
                |o| matches!(o.relaxes, Relaxation::Raise(l, to) if l == limit && to >= value),
            );
            if !raised {
                return Err(problem(
                    vec![Key("security"), Key("limits"), Key(limit.as_str())],
                    format!(
                        "limit `{limit}` is raised above its default ({} > {}) without an override",
                        limit.format_value(value),
                        limit.format_value(default)
                    ),
                    format!(
                        "lower it to at most {}, or ask for `anrf override request MODULE --raise {limit}={} --justification \"...\"`",
                        limit.format_value(default),
                        limit.format_value(value)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Turns toml's message into ours, with a fix.
fn explain_toml_error(message: &str, at: &str) -> (String, Option<String>) {
    let message = message.trim().to_owned();
    let place = if at.is_empty() {
        "the top level".to_owned()
    } else {
        format!("`[{at}]`")
    };
    if let Some(field) = backticked_after(&message, "missing field `") {
        let help = missing_field_help(at, field);
        return (format!("missing field `{field}` in {place}"), Some(help));
    }
    if let Some(field) = backticked_after(&message, "unknown field `") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, rest)| rest.to_owned())
            .unwrap_or_default();
        let help = if expected.is_empty() {
            "remove it: unknown keys are errors so that a typo never weakens security silently"
                .to_owned()
        } else {
            format!(
                "remove it or fix the spelling (expected {expected}): unknown keys are errors so that a typo never weakens security silently"
            )
        };
        return (format!("unknown field `{field}` in {place}"), Some(help));
    }
    if let Some(variant) = backticked_after(&message, "unknown variant `") {
        let expected = message.split_once(", expected ").map(|(_, r)| r.to_owned());
        return (
            format!("`{variant}` is not an allowed value in {place}"),
            expected.map(|e| format!("use {e}")),
        );
    }
    if message.starts_with("invalid type") {
        return (
            format!("{message} in {place}"),
            Some("run `anrf schema` to see the type each key takes".to_owned()),
        );
    }
    (message, None)
}

fn backticked_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

fn missing_field_help(at: &str, field: &str) -> String {
    let table = strip_indices(at);
    let example = match (table.as_str(), field) {
        ("", "security") => Some(
            "[security]\nmemory_safety = \"enforced\"\nisolation = \"wasm\"\noverrides = []\n\n[security.limits]\n...\n\n[security.capabilities]\n...".to_owned(),
        ),
        ("", "anrf") => Some("anrf = 1".to_owned()),
        ("security", "memory_safety") => Some("memory_safety = \"enforced\"".to_owned()),
        ("security", "isolation") => Some("isolation = \"wasm\"".to_owned()),
        ("security", "overrides") => Some("overrides = []".to_owned()),
        ("security", "limits") => Some(
            "[security.limits]\nmemory = \"64MiB\"\nfuel = 1000000000\ntimeout = \"5s\"\nstack = \"512KiB\"\nstdout = \"1MiB\"\nstderr = \"1MiB\"".to_owned(),
        ),
        ("security", "capabilities") => Some(
            "[security.capabilities]\ndirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = []".to_owned(),
        ),
        ("security.limits", name) => name.parse::<LimitName>().ok().map(|limit| {
            let default = Limits::DEFAULT;
            let value = match limit {
                LimitName::Memory => format!("\"{}\"", default.memory),
                LimitName::Fuel => default.fuel.units().to_string(),
                LimitName::Timeout => format!("\"{}\"", default.timeout),
                LimitName::Stack => format!("\"{}\"", default.stack),
                LimitName::Stdout => format!("\"{}\"", default.stdout),
                LimitName::Stderr => format!("\"{}\"", default.stderr),
            };
            format!("{name} = {value}")
        }),
        ("security.capabilities", "dirs" | "env" | "network") => Some(format!("{field} = []")),
        ("security.capabilities", "clock" | "random") => Some(format!("{field} = false")),
        ("security.overrides", "justification") => Some(
            "justification = \"what the module needs, why, and why the secure alternative does not work\"".to_owned(),
        ),
        ("security.overrides", "expires") => Some("expires = \"2027-03-31\"".to_owned()),
        ("security.overrides", "scope") => Some("scope = \"module\"".to_owned()),
        ("security.overrides", "approvals") => Some("approvals = []".to_owned()),
        _ => None,
    };
    let place = if table.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("under `[{table}]`")
    };
    match example {
        Some(example) => format!(
            "add it {place}; nothing in the manifest is filled in silently, e.g.\n{example}"
        ),
        None => format!("add `{field}` {place}; `anrf schema` shows its type"),
    }
}

fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Positions of keys and values, from a second, span-keeping parse.
struct Spans<'s> {
    root: Option<toml::Spanned<DeTable<'s>>>,
}

impl<'s> Spans<'s> {
    fn new(source: &'s str) -> Self {
        Self {
            root: DeTable::parse(source).ok(),
        }
    }

    /// The span of the value at `path`, or of the deepest ancestor that exists.
    fn span_of(&self, path: &[Step<'_>]) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let mut table = root.get_ref();
        let mut best: Option<Range<usize>> = None;
        let mut value: Option<&toml::Spanned<DeValue<'s>>> = None;
        for step in path {
            let next = match (step, value.map(toml::Spanned::get_ref)) {
                (Step::Key(k), None) => table.get(*k),
                (Step::Key(k), Some(DeValue::Table(t))) => {
                    table = t;
                    t.get(*k)
                }
                (Step::Index(i), Some(DeValue::Array(a))) => a.get(*i),
                _ => None,
            };
            match next {
                Some(v) => {
                    best = Some(v.span());
                    value = Some(v);
                }
                None => break,
            }
        }
        best
    }
}

/// The table an offset is in: the last `[table]` or `[[array]]` header at or before it.
fn table_at(source: &str, offset: usize) -> String {
    let mut table = String::new();
    let mut line_start = 0;
    for line in source.split_inclusive('\n') {
        if line_start > offset {
            break;
        }
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix('[') {
            let rest = rest.strip_prefix('[').unwrap_or(rest);
            if let Some(end) = rest.find(']') {
                table = rest[..end]
                    .split('.')
                    .map(|k| k.trim().trim_matches('"'))
                    .collect::<Vec<_>>()
                    .join(".");
            }
        }
        line_start += line.len();
    }
    table
}
