//! The JSON Schema (`anrf schema`) accepts every real manifest and refuses what the
//! parser refuses wherever a schema can say so (patterns, minimum, length).

use std::path::{Path, PathBuf};

use anrf_format::Manifest;

use crate::VALID;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A TOML manifest as the JSON an editor validates.
fn as_json(text: &str) -> serde_json::Value {
    toml::from_str(text).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&Manifest::json_schema()).unwrap()
}

fn errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    validator
        .iter_errors(&as_json(text))
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn schema_accepts_the_examples_and_the_init_template() {
    let validator = validator();
    let mut manifests: Vec<(String, String)> =
        ["wordcount", "greeting", "stopwords", "checksum-unsafe"]
            .iter()
            .map(|name| {
                let path = repo().join("examples").join(name).join("anrf.toml");
                (name.to_string(), std::fs::read_to_string(path).unwrap())
            })
            .collect();
    let template = std::fs::read_to_string(repo().join("crates/anrf/templates/anrf.toml"))
        .unwrap()
        .replace("{{name}}", "shout");
    manifests.push(("init template".into(), template));
    manifests.push(("test fixture".into(), VALID.to_owned()));
    for (name, text) in &manifests {
        // The parser takes them, and so does the schema.
        Manifest::from_str(text, name).unwrap();
        let errors = errors(&validator, text);
        assert!(errors.is_empty(), "{name} fails the schema: {errors:#?}");
    }
}

#[test]
fn schema_refuses_what_it_can_express() {
    let validator = validator();
    let overridden = |field: &str, value: &str| {
        let entry = "\n[[security.overrides]]\nid = \"ovr-0123abcd\"\nscope = \"module\"\nrelaxes = \"allow-env:HOME\"\njustification = \"reads HOME to find the user's configuration file\"\nrequested_by = \"alice\"\nexpires = \"2027-03-31\"\napprovals = []\n";
        let line = entry
            .lines()
            .find(|l| l.starts_with(&format!("{field} =")))
            .unwrap()
            .to_owned();
        VALID.replacen("overrides = []\n", "", 1)
            + &entry.replacen(&line, &format!("{field} = {value}"), 1)
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "absolute host path",
            VALID.replacen("host = \"data\"", "host = \"/etc\"", 1),
        ),
        (
            "climbing host path",
            VALID.replacen("host = \"data\"", "host = \"a/../../etc\"", 1),
        ),
        (
            "relative guest path",
            VALID.replacen("guest = \"/data\"", "guest = \"data\"", 1),
        ),
        (
            "climbing guest path",
            VALID.replacen("guest = \"/data\"", "guest = \"/data/..\"", 1),
        ),
        (
            "zero fuel",
            VALID.replacen("fuel = 100000000", "fuel = 0", 1),
        ),
        (
            "zero memory",
            VALID.replacen("memory = \"32MiB\"", "memory = \"0MiB\"", 1),
        ),
        (
            "zero timeout",
            VALID.replacen("timeout = \"2s\"", "timeout = 0", 1),
        ),
        (
            "bad module name",
            VALID.replacen("name = \"wordcount\"", "name = \"Word Count\"", 1),
        ),
        (
            "bad env name",
            VALID.replacen("env = [\"GREETING\"]", "env = [\"MY-VAR\"]", 1),
        ),
        (
            "empty version",
            VALID.replacen("version = \"0.1.0\"", "version = \"\"", 1),
        ),
        ("version 2", VALID.replacen("anrf = 1", "anrf = 2", 1)),
        (
            "unknown key",
            VALID.replacen("anrf = 1\n", "anrf = 1\nsandbox = false\n", 1),
        ),
        (
            "missing isolation",
            VALID.replacen("isolation = \"wasm\"\n", "", 1),
        ),
        (
            "placeholder justification",
            overridden("justification", "\"n/a\""),
        ),
        ("bad override id", overridden("id", "\"42\"")),
        ("blank requester", overridden("requested_by", "\"  \"")),
        ("bad scope", overridden("scope", "\"crate\"")),
    ];
    for (what, text) in &cases {
        assert!(
            Manifest::from_str(text, "anrf.toml").is_err(),
            "the parser takes {what}"
        );
        assert!(
            !validator.is_valid(&as_json(text)),
            "the schema takes {what}"
        );
    }
    // The valid fixture with an override passes both.
    let fine = overridden("requested_by", "\"bob\"");
    Manifest::from_str(&fine, "anrf.toml").unwrap();
    assert_eq!(errors(&validator, &fine), Vec::<String>::new());
}
