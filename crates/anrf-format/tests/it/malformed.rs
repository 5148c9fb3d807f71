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
    missing_security_section => |t: &str| t.split("[security]").next().unwrap_or_default().to_owned();
    missing_memory_safety => remove_line("memory_safety = \"enforced\"");
    missing_isolation => remove_line("isolation = \"wasm\"");
    missing_overrides => remove_line("overrides = []");
    missing_limit_fuel => remove_line("fuel = 100000000");
    missing_capability_clock => remove_line("clock = false");
    missing_version_field => remove_line("anrf = 1");
    unknown_top_level_key => append("sandbox = false\n");
    unknown_security_key => replace("isolation = \"wasm\"", "isolation = \"wasm\"\nunsafe_ok = true");
    misspelled_limit => replace("stack = \"256KiB\"", "stak = \"256KiB\"");
    bad_memory_safety_value => replace("memory_safety = \"enforced\"", "memory_safety = \"off\"");
    bad_isolation_value => replace("isolation = \"wasm\"", "isolation = \"none\"");
    zero_memory_limit => replace("memory = \"32MiB\"", "memory = 0");
    zero_fuel => replace("fuel = 100000000", "fuel = 0");
    bad_size_unit => replace("memory = \"32MiB\"", "memory = \"32 parsecs\"");
    negative_timeout => replace("timeout = \"2s\"", "timeout = -5");
    absolute_capability_path => replace("host = \"data\"", "host = \"/etc\"");
    climbing_capability_path => replace("host = \"data\"", "host = \"data/../../etc\"");
    relative_guest_path => replace("guest = \"/data\"", "guest = \"data\"");
    bad_access_mode => replace("access = \"read-only\"", "access = \"rw\"");
    bad_env_name => replace("env = [\"GREETING\"]", "env = [\"MY-VAR\"]");
    duplicate_env_name => replace("env = [\"GREETING\"]", "env = [\"GREETING\", \"GREETING\"]");
    raised_limit_without_override => replace("memory = \"32MiB\"", "memory = \"1GiB\"");
    sandbox_only_without_override => replace("memory_safety = \"enforced\"", "memory_safety = \"sandbox-only\"");
    unsupported_version => replace("anrf = 1", "anrf = 2");
    bad_module_name => replace("name = \"wordcount\"", "name = \"Word Count\"");
    empty_sources => replace("sources = [\"src/main.rs\"]", "sources = []");
    toml_syntax_error => replace("[logic]", "[logic");
    override_missing_justification => with_override(|o| o.replacen("justification = \"reads HOME to find the user's configuration file for the report\"\n", "", 1));
    override_placeholder_justification => with_override(|o| o.replacen("reads HOME to find the user's configuration file for the report", "n/a", 1));
    override_repeated_char_justification => with_override(|o| o.replacen("reads HOME to find the user's configuration file for the report", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1));
    override_empty_justification => with_override(|o| o.replacen("reads HOME to find the user's configuration file for the report", "  ", 1));
    override_todo_justification => with_override(|o| o.replacen("reads HOME to find the user's configuration file for the report", "TODO", 1));
    override_missing_expiry => with_override(|o| o.replacen("expires = \"2027-03-31\"\n", "", 1));
    override_bad_expiry => with_override(|o| o.replacen("2027-03-31", "next year", 1));
    override_missing_requester => with_override(|o| o.replacen("requested_by = \"alice\"\n", "", 1));
    override_bad_scope => with_override(|o| o.replacen("scope = \"module\"", "scope = \"crate\"", 1));
    override_unknown_function_scope => with_override(|o| o.replacen("scope = \"module\"", "scope = \"function:parse\"", 1));
    override_bad_relaxation => with_override(|o| o.replacen("allow-env:HOME", "disable-sandbox", 1));
    override_bad_id => with_override(|o| o.replacen("ovr-0123abcd", "42", 1));
    override_unknown_field => with_override(|o| o.replacen("approvals = []", "approvals = []\napproved = true", 1));
}
