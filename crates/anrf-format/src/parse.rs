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
        let place = spans.place_at(source, &span);
        let key_text = source.get(span.clone()).unwrap_or_default();
        let (message, help) = explain_toml_error(e.message(), &place, key_text);
        ManifestError::new(path, source, span, message, Some(help))
    })?;
    validate(&manifest).map_err(|problem| {
        let span = spans.span_of(&problem.at).unwrap_or(0..0);
        ManifestError::new(path, source, span, problem.message, Some(problem.help))
    })?;
    Ok(manifest)
}

/// A problem found after the TOML parsed, with where to point.
struct Problem<'a> {
    at: Vec<Step<'a>>,
    message: String,
    help: String,
}

fn problem(at: Vec<Step<'_>>, message: String, help: String) -> Problem<'_> {
    Problem { at, message, help }
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
    if m.module.version.trim().is_empty() {
        return Err(problem(
            vec![Key("module"), Key("version")],
            "`version` in `[module]` is empty".into(),
            "write the module's version, e.g. `version = \"0.1.0\"`".to_owned(),
        ));
    }
    if m.intent.summary.trim().is_empty() {
        return Err(problem(
            vec![Key("intent"), Key("summary")],
            "`summary` in `[intent]` is empty: the intent layer says what the module is for".into(),
            "say in words what the module is for, e.g. `summary = \"Count the words on stdin\"`"
                .to_owned(),
        ));
    }
    if let Some(i) = m.logic.functions.iter().position(|f| f.trim().is_empty()) {
        return Err(problem(
            vec![Key("logic"), Key("functions"), Index(i)],
            format!(
                "`functions` in `[logic]` has an empty name (entry {})",
                i + 1
            ),
            "write the function's name, e.g. `functions = [\"count_words\"]`, or remove the entry"
                .to_owned(),
        ));
    }
    if m.intent.examples.len() > crate::module::MAX_EXAMPLES {
        return Err(problem(
            vec![
                Key("intent"),
                Key("examples"),
                Index(crate::module::MAX_EXAMPLES),
            ],
            format!(
                "`[intent]` has {} examples, more than the {} a manifest may carry",
                m.intent.examples.len(),
                crate::module::MAX_EXAMPLES
            ),
            format!(
                "keep at most {} `[[intent.examples]]`: each one runs in the sandbox on every `verify` and `explain`; move bulk test data into a test of the guest",
                crate::module::MAX_EXAMPLES
            ),
        ));
    }
    let declared = &m.security.capabilities.env;
    for (i, example) in m.intent.examples.iter().enumerate() {
        if let Some(name) = example
            .env
            .keys()
            .find(|name| !declared.iter().any(|d| d.as_str() == name.as_str()))
        {
            return Err(problem(
                vec![Key("intent"), Key("examples"), Index(i), Key("env")],
                format!(
                    "example `{}` sets `{name}`, which `security.capabilities.env` does not declare",
                    example.name
                ),
                format!(
                    "an example may set only declared variables: remove `{name}` from the example's `env`, or declare it with `env = [\"{name}\"]` under `[security.capabilities]`"
                ),
            ));
        }
    }
    if m.implementation.sources.is_empty() {
        return Err(problem(
            vec![Key("implementation"), Key("sources")],
            "`implementation.sources` is empty".into(),
            "list the module's source files, e.g. `sources = [\"src/main.rs\"]`".to_owned(),
        ));
    }
    // A file listed twice (also as `src/./main.rs` or `src//main.rs`) is one
    // file: refusing the repeat keeps every later pass one step per file.
    let mut seen = std::collections::HashSet::new();
    for (i, source) in m.implementation.sources.iter().enumerate() {
        let normal: Vec<&str> = source
            .as_str()
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if !seen.insert(normal) {
            return Err(problem(
                vec![Key("implementation"), Key("sources"), Index(i)],
                format!(
                    "source `{source}` is listed twice in `implementation.sources` (entry {})",
                    i + 1
                ),
                "keep one entry per file: remove this one".to_owned(),
            ));
        }
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

/// Where in the manifest a TOML error points: the table (dotted, array indices
/// dropped) and, when the error is about one key or its value, that key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    table: String,
    key: Option<String>,
}

impl Place {
    /// `the top level` or `` `[security.limits]` ``.
    fn table_ref(&self) -> String {
        if self.table.is_empty() {
            "the top level".to_owned()
        } else {
            format!("`[{}]`", self.table)
        }
    }

    /// `` `fuel` in `[security.limits]` `` or just the table.
    fn describe(&self) -> String {
        match &self.key {
            Some(key) => format!("`{key}` in {}", self.table_ref()),
            None => self.table_ref(),
        }
    }
}

/// Turns toml's message into ours: what is wrong, naming the key, and how to fix it.
fn explain_toml_error(message: &str, place: &Place, key_text: &str) -> (String, String) {
    let message = message.trim();
    let table = place.table.as_str();
    if let Some(field) = backticked_after(message, "missing field `") {
        let help = missing_field_help(table, field);
        return (
            format!("missing field `{field}` in {}", place.table_ref()),
            help,
        );
    }
    if let Some(field) = backticked_after(message, "unknown field `") {
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
        return (
            format!("unknown field `{field}` in {}", place.table_ref()),
            help,
        );
    }
    if message.starts_with("duplicate key") {
        let key = key_text.trim().trim_matches(['"', '\'']);
        return (
            format!("key `{key}` is set twice in {}", place.table_ref()),
            format!("keep one `{key} = ...` and delete the other: a key may appear once per table"),
        );
    }
    let Some(key) = place.key.as_deref() else {
        // Not about one key: a TOML syntax error or a whole table of the wrong shape.
        return (
            message.to_owned(),
            "fix the TOML syntax here: each line is `key = value`, a `[table]` or a `[[array]]` header, strings are in double quotes; `anrf init NAME` writes a complete manifest to compare with".to_owned(),
        );
    };
    let what = place.describe();
    if let Some(variant) = backticked_after(message, "unknown variant `") {
        let expected = message
            .split_once(", expected ")
            .map_or_else(|| value_help(table, key), |(_, e)| format!("use {e}"));
        return (
            format!("`{variant}` is not an allowed value of {what}"),
            expected,
        );
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.contains("did not match any variant")
    {
        let detail = if message.contains("did not match any variant") {
            String::new()
        } else {
            format!(": {message}")
        };
        return (
            format!("{what} has a value of the wrong type{detail}"),
            value_help(table, key),
        );
    }
    // The refusal of a domain value (a name, a path, a size, a justification, ...).
    (format!("{what}: {message}"), value_help(table, key))
}

fn backticked_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// A valid line for `key` in `table`, to show in a fix.
fn example_line(table: &str, key: &str) -> Option<String> {
    let line = match (table, key) {
        ("", "anrf") => "anrf = 1",
        ("", "module") => "[module]\nname = \"word-count\"\nversion = \"0.1.0\"",
        ("", "intent") => "[intent]\nsummary = \"Count the words on stdin\"",
        ("", "logic") => "[logic]\ninterface = \"command\"",
        ("", "implementation") => {
            "[implementation]\nlanguage = \"rust\"\nsources = [\"src/main.rs\"]"
        }
        ("", "security") => {
            "[security]\nmemory_safety = \"enforced\"\nisolation = \"wasm\"\noverrides = []\n\n[security.limits]\n...\n\n[security.capabilities]\n..."
        }
        ("module", "name") => "name = \"word-count\"",
        ("module", "version") => "version = \"0.1.0\"",
        ("intent", "summary") => "summary = \"Count the whitespace-separated words on stdin\"",
        ("intent", "requirements") => "requirements = [\"prints one integer and a newline\"]",
        ("intent", "examples") => {
            "[[intent.examples]]\nname = \"two words\"\nstdin = \"hello world\\n\"\nstdout = \"2\\n\""
        }
        ("intent.examples", "name") => "name = \"two words\"",
        ("intent.examples", "stdin") => "stdin = \"hello world\\n\"",
        ("intent.examples", "stdout") => "stdout = \"2\\n\"",
        ("intent.examples", "args") => "args = [\"--verbose\"]",
        ("intent.examples", "env") => "env = { GREETING = \"Hej\" }",
        ("intent.examples", "exit_code") => "exit_code = 0",
        ("logic", "interface") => "interface = \"command\"",
        ("logic", "functions") => "functions = [\"count_words\"]",
        ("logic", "effects") => "effects = [\"stdin\", \"stdout\"]",
        ("implementation", "language") => "language = \"rust\"",
        ("implementation", "sources") => "sources = [\"src/main.rs\"]",
        ("implementation", "provenance") => "provenance = { toolchain = \"rustc 1.95.0\" }",
        ("security", "memory_safety") => "memory_safety = \"enforced\"",
        ("security", "isolation") => "isolation = \"wasm\"",
        ("security", "overrides") => "overrides = []",
        ("security", "limits") => {
            "[security.limits]\nmemory = \"64MiB\"\nfuel = 1000000000\ntimeout = \"5s\"\nstack = \"512KiB\"\nstdout = \"1MiB\"\nstderr = \"1MiB\""
        }
        ("security", "capabilities") => {
            "[security.capabilities]\ndirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = []"
        }
        ("security.capabilities", "dirs") => {
            "dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]   # or dirs = []"
        }
        ("security.capabilities.dirs", "guest") => "guest = \"/data\"",
        ("security.capabilities.dirs", "host") => "host = \"data\"",
        ("security.capabilities.dirs", "access") => "access = \"read-only\"",
        ("security.capabilities", "env") => "env = [\"GREETING\"]   # or env = []",
        ("security.capabilities", "network") => "network = []",
        ("security.capabilities", "clock") => "clock = false",
        ("security.capabilities", "random") => "random = false",
        ("security.overrides", "id") => "id = \"ovr-0123abcd\"",
        ("security.overrides", "scope") => {
            "scope = \"module\"   # or \"project\", \"function:NAME\""
        }
        ("security.overrides", "relaxes") => "relaxes = \"allow-read:data\"",
        ("security.overrides", "justification") => {
            "justification = \"reads the shipped stop-word list from data/ to filter the output\""
        }
        ("security.overrides", "requested_by") => "requested_by = \"alice\"",
        ("security.overrides", "expires") => "expires = \"2027-03-31\"",
        ("security.overrides", "approvals") => {
            "approvals = []   # `anrf override approve` adds signatures"
        }
        ("security.limits", name) => return limit_example(name),
        _ => return None,
    };
    Some(line.to_owned())
}

/// `memory = "64MiB"`: the default of a limit, as a line.
fn limit_example(name: &str) -> Option<String> {
    let limit = name.parse::<LimitName>().ok()?;
    let default = Limits::DEFAULT;
    let value = match limit {
        LimitName::Memory => format!("\"{}\"", default.memory),
        LimitName::Fuel => default.fuel.units().to_string(),
        LimitName::Timeout => format!("\"{}\"", default.timeout),
        LimitName::Stack => format!("\"{}\"", default.stack),
        LimitName::Stdout => format!("\"{}\"", default.stdout),
        LimitName::Stderr => format!("\"{}\"", default.stderr),
    };
    Some(format!("{name} = {value}"))
}

/// How to fix a refused value of `key` in `table`.
fn value_help(table: &str, key: &str) -> String {
    let example = example_line(table, key);
    let size_rule = format!(
        "write a positive size, bytes or with a unit (B, KiB, MiB, GiB, KB, MB, GB), at most the default unless a `raise:{key}=...` override allows more"
    );
    let rule = match (table, key) {
        ("module", "name") => "use lowercase letters, digits and `-`, starting with a letter",
        ("module", "version") => "write the module's version",
        ("intent", "summary") => "say in words what the module is for",
        ("intent.examples", "name") => "give the example a name",
        ("intent.examples", "env") => {
            "set only variables declared in `security.capabilities.env`, as strings"
        }
        ("logic", "functions") => "list the names of the module's functions",
        ("implementation", "sources" | "artifact") | ("implementation.artifact", _) => {
            if key == "sources" {
                "list source files by paths relative to the module directory, without `..`"
            } else {
                "`anrf build` writes the artifact: remove it and run `anrf build PATH`"
            }
        }
        ("security.limits", "fuel") => {
            "write a positive whole number of fuel units, at most the default unless a `raise:fuel=N` override allows more"
        }
        ("security.limits", "timeout") => {
            "write a positive duration, milliseconds or with a unit (ms, s, m), at most the default unless a `raise:timeout=...` override allows more"
        }
        ("security.limits", _) => size_rule.as_str(),
        ("security.capabilities.dirs", "host") => {
            "name a directory inside the module, relative to it and without `..`"
        }
        ("security.capabilities.dirs", "guest") => {
            "write the path the guest sees: absolute, without `..`"
        }
        ("security.capabilities", "env") => {
            "list variable names of letters, digits and `_`, not starting with a digit"
        }
        ("security.capabilities", "clock" | "random") => "write `true` or `false`",
        ("security.capabilities", "network") => "list host names as strings, or leave it empty",
        ("security.overrides", "id") => {
            "keep the id that `anrf override request` assigned: `ovr-` and 8 to 32 lowercase hex digits"
        }
        ("security.overrides", "scope") => {
            "use `project`, `module` or `function:NAME` with NAME listed in `logic.functions`"
        }
        ("security.overrides", "relaxes") => {
            "name one relaxation: `memory-unsafe`, `threads`, `allow-read:PATH`, `allow-write:PATH`, `allow-env:NAME`, `allow-network:HOST` or `raise:LIMIT=VALUE`"
        }
        ("security.overrides", "justification") => {
            "say in your own words what the module needs, why, and why the secure alternative does not work (at least 20 characters and 4 real words; placeholders are refused)"
        }
        ("security.overrides", "requested_by") => "name the person who asked for the override",
        ("security.overrides", "expires") => "write the last day it is valid as YYYY-MM-DD",
        ("security.overrides", "approvals") => {
            "leave it as `approvals = []` and add signatures with `anrf override approve`"
        }
        ("security.overrides", "revoked") => {
            "`anrf override revoke` writes this; restore what it wrote or remove the entry"
        }
        _ => "`anrf schema` shows the type and values this key takes",
    };
    match example {
        Some(example) => format!("{rule}, e.g.\n{example}"),
        None => rule.to_owned(),
    }
}

fn missing_field_help(table: &str, field: &str) -> String {
    let place = if table.is_empty() {
        "at the top level".to_owned()
    } else {
        format!("under `[{table}]`")
    };
    match example_line(table, field) {
        Some(example) => format!(
            "add it {place}; nothing in the manifest is filled in silently, e.g.\n{example}"
        ),
        None => format!("add `{field}` {place}; `anrf schema` shows its type"),
    }
}

/// Positions of keys and values, from a second, span-keeping parse.
struct Spans<'s> {
    root: toml::Spanned<DeTable<'s>>,
    /// Whether the text has TOML syntax errors (or keys set twice).
    broken: bool,
}

impl<'s> Spans<'s> {
    fn new(source: &'s str) -> Self {
        let (root, errors) = DeTable::parse_recoverable(source);
        Self {
            root,
            broken: !errors.is_empty(),
        }
    }

    /// The span of the value at `path`, or of the deepest ancestor that exists.
    fn span_of(&self, path: &[Step<'_>]) -> Option<Range<usize>> {
        let mut table = self.root.get_ref();
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

    /// The table and key an error at `span` is about: the smallest key or value
    /// that holds it.
    fn place_at(&self, source: &str, span: &Range<usize>) -> Place {
        if self.broken {
            // Syntax errors and keys set twice: no tree to trust, the header says where.
            return Place {
                table: table_at(source, span.start),
                key: None,
            };
        }
        let mut best = None;
        search(self.root.get_ref(), &mut Vec::new(), span, &mut best);
        match best {
            Some(Found {
                mut path,
                is_table: false,
                ..
            }) => {
                let key = path.pop();
                Place {
                    table: path.join("."),
                    key,
                }
            }
            Some(Found { path, .. }) => Place {
                table: path.join("."),
                key: None,
            },
            None => Place {
                table: String::new(),
                key: None,
            },
        }
    }
}

/// The smallest key or value found so far that holds an error's span.
struct Found {
    len: usize,
    path: Vec<String>,
    is_table: bool,
}

fn search(
    table: &DeTable<'_>,
    path: &mut Vec<String>,
    span: &Range<usize>,
    best: &mut Option<Found>,
) {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        consider(&key.span(), false, path, span, best);
        visit_value(value, path, span, best);
        path.pop();
    }
}

fn visit_value(
    value: &toml::Spanned<DeValue<'_>>,
    path: &mut Vec<String>,
    span: &Range<usize>,
    best: &mut Option<Found>,
) {
    match value.get_ref() {
        DeValue::Table(inner) => {
            consider(&value.span(), true, path, span, best);
            search(inner, path, span, best);
        }
        DeValue::Array(items) => {
            // An array of tables (`[[security.overrides]]`) is a table to point at.
            let of_tables = !items.is_empty()
                && items
                    .iter()
                    .all(|item| matches!(item.get_ref(), DeValue::Table(_)));
            consider(&value.span(), of_tables, path, span, best);
            for item in items {
                visit_value(item, path, span, best);
            }
        }
        _ => consider(&value.span(), false, path, span, best),
    }
}

fn consider(
    at: &Range<usize>,
    is_table: bool,
    path: &[String],
    span: &Range<usize>,
    best: &mut Option<Found>,
) {
    let len = at.end.saturating_sub(at.start);
    if contains(at, span) && best.as_ref().is_none_or(|b| len < b.len) {
        *best = Some(Found {
            len,
            path: path.to_vec(),
            is_table,
        });
    }
}

/// Whether `inner` lies within `outer` (an empty `inner` at `outer`'s start counts).
fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
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
