//! Each malformed manifest and the exact error it must produce (file, line, column,
//! message, help), as snapshots.

use anrf_format::{FormatError, Manifest};

use crate::VALID;

/// Applies `edit` to the valid manifest and returns the plain error text.
fn error_of(edit: impl Fn(&str) -> String) -> String {
    let text = edit(VALID);
    match Manifest::from_str(&text, "anrf.toml") {
        Ok(_) => panic!("manifest was accepted:\n{text}"),
        Err(FormatError::Manifest(e)) => e.plain(),
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

fn replace(from: &'static str, to: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        assert!(text.contains(from), "fixture lacks {from:?}");
        text.replacen(from, to, 1)
    }
}

fn remove_line(line: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        let needle = format!("{line}\n");
        assert!(text.contains(&needle), "fixture lacks {line:?}");
        text.replacen(&needle, "", 1)
    }
}

fn append(extra: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| format!("{text}{extra}")
}

/// Removes a table: its header line and every line up to the next blank line.
fn remove_table(header: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        let start = text
            .find(&format!("{header}\n"))
            .expect("fixture lacks the table");
        let end = text[start..]
            .find("\n\n")
            .map_or(text.len(), |n| start + n + 1);
        format!("{}{}", &text[..start], &text[end..])
    }
}

const OVERRIDE: &str = r#"
[[security.overrides]]
id = "ovr-0123abcd"
scope = "module"
relaxes = "allow-env:HOME"
justification = "reads HOME to find the user's configuration file for the report"
requested_by = "alice"
expires = "2027-03-31"
approvals = []
"#;

fn with_override(field_edit: impl Fn(&str) -> String) -> impl Fn(&str) -> String {
    move |text: &str| {
        let text = text.replacen("overrides = []\n", "", 1);
        format!("{text}{}", field_edit(OVERRIDE))
    }
}

/// The justification of the override replaced by `text`.
fn justified(text: &'static str) -> impl Fn(&str) -> String {
    with_override(move |o| {
        o.replacen(
            "reads HOME to find the user's configuration file for the report",
            text,
            1,
        )
    })
}

macro_rules! malformed {
    ($($name:ident => $edit:expr;)*) => {
        $(
            #[test]
            fn $name() {
                insta::assert_snapshot!(error_of($edit));
            }
        )*
    };
}

malformed! {
    // Missing: every security table and field is required, never defaulted.
    missing_security_section => |t: &str| t.split("[security]").next().unwrap_or_default().to_owned();
    missing_memory_safety => remove_line("memory_safety = \"enforced\"");
    missing_isolation => remove_line("isolation = \"wasm\"");
    missing_overrides => remove_line("overrides = []");
    missing_limits_table => remove_table("[security.limits]");
    missing_capabilities_table => remove_table("[security.capabilities]");
    missing_limit_memory => remove_line("memory = \"32MiB\"");
    missing_limit_fuel => remove_line("fuel = 100000000");
    missing_limit_timeout => remove_line("timeout = \"2s\"");
    missing_limit_stack => remove_line("stack = \"256KiB\"");
    missing_limit_stdout => remove_line("stdout = \"64KiB\"");
    missing_limit_stderr => remove_line("stderr = \"64KiB\"");
    missing_capability_dirs => remove_line("dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]");
    missing_capability_env => remove_line("env = [\"GREETING\"]");
    missing_capability_clock => remove_line("clock = false");
    missing_capability_random => remove_line("random = false");
    missing_capability_network => remove_line("network = []");
    missing_version_field => remove_line("anrf = 1");
    // Unknown keys, wherever they are.
    unknown_top_level_key => replace("anrf = 1\n", "anrf = 1\nsandbox = false\n");
    unknown_capabilities_key => append("sandbox = false\n");
    unknown_security_key => replace("isolation = \"wasm\"", "isolation = \"wasm\"\nunsafe_ok = true");
    misspelled_limit => replace("stack = \"256KiB\"", "stak = \"256KiB\"");
    duplicate_key => replace("clock = false", "clock = false\nclock = true");
    // Values.
    bad_memory_safety_value => replace("memory_safety = \"enforced\"", "memory_safety = \"off\"");
    bad_isolation_value => replace("isolation = \"wasm\"", "isolation = \"none\"");
    zero_memory_limit => replace("memory = \"32MiB\"", "memory = 0");
    zero_fuel => replace("fuel = 100000000", "fuel = 0");
    zero_timeout => replace("timeout = \"2s\"", "timeout = \"0s\"");
    zero_stack => replace("stack = \"256KiB\"", "stack = 0");
    zero_stdout => replace("stdout = \"64KiB\"", "stdout = \"0KiB\"");
    negative_fuel => replace("fuel = 100000000", "fuel = -1");
    negative_timeout => replace("timeout = \"2s\"", "timeout = -5");
    fractional_memory => replace("memory = \"32MiB\"", "memory = 1.5");
    fuel_as_text => replace("fuel = 100000000", "fuel = \"lots\"");
    bad_size_unit => replace("memory = \"32MiB\"", "memory = \"32 parsecs\"");
    absolute_capability_path => replace("host = \"data\"", "host = \"/etc\"");
    climbing_capability_path => replace("host = \"data\"", "host = \"data/../../etc\"");
    relative_guest_path => replace("guest = \"/data\"", "guest = \"data\"");
    climbing_guest_path => replace("guest = \"/data\"", "guest = \"/data/../etc\"");
    duplicate_guest_path => replace("dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]", "dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }, { guest = \"/data\", host = \"other\", access = \"read-write\" }]");
    bad_access_mode => replace("access = \"read-only\"", "access = \"rw\"");
    bad_env_name => replace("env = [\"GREETING\"]", "env = [\"MY-VAR\"]");
    duplicate_env_name => replace("env = [\"GREETING\"]", "env = [\"GREETING\", \"GREETING\"]");
    raised_limit_without_override => replace("memory = \"32MiB\"", "memory = \"1GiB\"");
    sandbox_only_without_override => replace("memory_safety = \"enforced\"", "memory_safety = \"sandbox-only\"");
    unsupported_version => replace("anrf = 1", "anrf = 2");
    bad_module_name => replace("name = \"wordcount\"", "name = \"Word Count\"");
    module_name_of_wrong_type => replace("name = \"wordcount\"", "name = 5");
    empty_version => replace("version = \"0.1.0\"", "version = \"\"");
    empty_summary => replace("summary = \"Count the words on stdin\"", "summary = \"  \"");
    empty_function_name => replace("functions = [\"count_words\"]", "functions = [\"count_words\", \"\"]");
    example_sets_undeclared_env => replace("stdout = \"2\\n\"", "stdout = \"2\\n\"\nenv = { HOME = \"/root\" }");
    empty_sources => replace("sources = [\"src/main.rs\"]", "sources = []");
    duplicate_source => replace("sources = [\"src/main.rs\"]", "sources = [\"src/main.rs\", \"src/lib.rs\", \"src/./main.rs\"]");
    toml_syntax_error => replace("[logic]", "[logic");
    // Overrides: every entry complete.
    override_missing_id => with_override(|o| o.replacen("id = \"ovr-0123abcd\"\n", "", 1));
    override_missing_scope => with_override(|o| o.replacen("scope = \"module\"\n", "", 1));
    override_missing_relaxes => with_override(|o| o.replacen("relaxes = \"allow-env:HOME\"\n", "", 1));
    override_missing_justification => with_override(|o| o.replacen("justification = \"reads HOME to find the user's configuration file for the report\"\n", "", 1));
    override_missing_requester => with_override(|o| o.replacen("requested_by = \"alice\"\n", "", 1));
    override_missing_expiry => with_override(|o| o.replacen("expires = \"2027-03-31\"\n", "", 1));
    override_missing_approvals => with_override(|o| o.replacen("approvals = []\n", "", 1));
    override_empty_requester => with_override(|o| o.replacen("requested_by = \"alice\"", "requested_by = \"\"", 1));
    override_blank_requester => with_override(|o| o.replacen("requested_by = \"alice\"", "requested_by = \"   \"", 1));
    override_placeholder_justification => justified("n/a");
    override_test_justification => justified("test");
    override_repeated_char_justification => justified("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    override_empty_justification => justified("  ");
    override_todo_justification => justified("TODO");
    override_todo_prefix_justification => justified("todo: write the real reason later");
    override_lorem_ipsum_justification => justified("lorem ipsum dolor sit amet");
    override_key_mash_justification => justified("asdf qwer zxcv uiop hjkl");
    override_thin_justification => justified("needs the home dir");
    override_bad_expiry => with_override(|o| o.replacen("2027-03-31", "next year", 1));
    override_bad_scope => with_override(|o| o.replacen("scope = \"module\"", "scope = \"crate\"", 1));
    override_unknown_function_scope => with_override(|o| o.replacen("scope = \"module\"", "scope = \"function:parse\"", 1));
    override_bad_relaxation => with_override(|o| o.replacen("allow-env:HOME", "disable-sandbox", 1));
    override_bad_id => with_override(|o| o.replacen("ovr-0123abcd", "42", 1));
    override_duplicate_id => |t: &str| with_override(|o| format!("{o}{o}"))(t);
    override_unknown_field => with_override(|o| o.replacen("approvals = []", "approvals = []\napproved = true", 1));
}

/// Every refusal says what is wrong and how to fix it: no snapshot lacks a `help:`.
#[test]
fn every_malformed_snapshot_has_a_fix() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("it__malformed__") || path.extension().is_none_or(|e| e != "snap") {
            continue;
        }
        count += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\n  help: "), "{name} has no fix:\n{text}");
        assert!(
            text.contains("anrf.toml:"),
            "{name} names no place:\n{text}"
        );
    }
    assert!(count >= 20, "only {count} malformed manifests are covered");
}
