//! Fixture modules: a manifest, sources and a real wasm artifact (compiled from
//! WAT), written to a temporary directory, plus a project policy with trusted
//! approvers whose keys are fixed.

use std::path::{Path, PathBuf};

use anrf_format::{Module, Profile};
use anrf_policy::{ApproveAs, ProjectPolicy, SecretKey, Subject};
use anrf_verify::{CheckId, Examples, Report, Status, VerifyOptions};
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);

/// A command that prints `2\n` whatever its input.
pub const PRINT_TWO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "2\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

pub const CLEAN_RS: &str = r#"use std::io::{self, Read};

fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    println!("{}", count_words(&input));
}
"#;

pub const EXAMPLES: &str = r#"[[intent.examples]]
name = "two words"
stdin = "hello world\n"
stdout = "2\n"
"#;

pub const CARGO_TOML: &str =
    "[package]\nname = \"wordcount\"\nversion = \"0.1.0\"\nedition = \"2024\"\n";

pub const NO_CAPS: &str = "dirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = []\n";

/// A module under construction.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub language: String,
    pub sources: Vec<(String, String)>,
    pub wat: Option<String>,
    pub raw_artifact: Option<Vec<u8>>,
    pub record_artifact: bool,
    pub examples: String,
    pub functions: String,
    pub effects: String,
    pub memory_safety: String,
    pub limits: String,
    pub capabilities: String,
    pub overrides: String,
    pub files: Vec<(String, String)>,
    pub corrupt_hash: bool,
}

impl Fixture {
    /// A clean Rust module: safe source, no capabilities, one passing example.
    pub fn rust() -> Self {
        Fixture {
            name: "wordcount".into(),
            language: "rust".into(),
            sources: vec![("src/main.rs".into(), CLEAN_RS.into())],
            wat: Some(PRINT_TWO.into()),
            raw_artifact: None,
            record_artifact: true,
            examples: EXAMPLES.into(),
            functions: "[\"count_words\"]".into(),
            effects: "[\"stdin\", \"stdout\"]".into(),
            memory_safety: "enforced".into(),
            limits: "memory = \"16MiB\"\nfuel = 100000000\ntimeout = \"2s\"\nstack = \"256KiB\"\nstdout = \"64KiB\"\nstderr = \"64KiB\"\n".into(),
            capabilities: NO_CAPS.into(),
            overrides: String::new(),
            files: vec![("Cargo.toml".into(), CARGO_TOML.into())],
            corrupt_hash: false,
        }
    }

    pub fn source(mut self, text: &str) -> Self {
        self.sources = vec![("src/main.rs".into(), text.into())];
        self
    }

    pub fn wat(mut self, wat: &str) -> Self {
        self.wat = Some(wat.into());
        self
    }

    pub fn examples(mut self, toml: &str) -> Self {
        self.examples = toml.into();
        self
    }

    pub fn capabilities(mut self, toml: &str) -> Self {
        self.capabilities = toml.into();
        self
    }

    pub fn effects(mut self, list: &str) -> Self {
        self.effects = list.into();
        self
    }

    pub fn overrides(mut self, toml: &str) -> Self {
        self.overrides = toml.into();
        self
    }

    pub fn memory_safety(mut self, basis: &str) -> Self {
        self.memory_safety = basis.into();
        self
    }

    pub fn file(mut self, path: &str, text: &str) -> Self {
        self.files.push((path.into(), text.into()));
        self
    }

    /// Writes the module and returns its directory.
    pub fn write(&self) -> Written {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(&self.name);
        for (path, text) in self.sources.iter().chain(&self.files) {
            write(&root, path, text);
        }
        let bytes = match (&self.raw_artifact, &self.wat) {
            (Some(raw), _) => Some(raw.clone()),
            (None, Some(wat)) => Some(wat::parse_str(wat).unwrap()),
            (None, None) => None,
        };
        let mut artifact = String::new();
        if let Some(bytes) = &bytes {
            let path = root.join("target/guest.wasm");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            let mut sha = anrf_format::Sha256Hex::of(bytes).as_str().to_owned();
            if self.corrupt_hash {
                sha = "0".repeat(64);
            }
            if self.record_artifact {
                artifact =
                    format!("artifact = {{ path = \"target/guest.wasm\", sha256 = \"{sha}\" }}\n");
            }
        }
        let sources: Vec<String> = self
            .sources
            .iter()
            .map(|(p, _)| format!("\"{p}\""))
            .collect();
        let overrides_inline = if self.overrides.is_empty() {
            "overrides = []\n"
        } else {
            ""
        };
        let manifest = format!(
            "anrf = 1\n\n[module]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n[intent]\nsummary = \"Count the words on stdin\"\n\n{examples}\n[logic]\ninterface = \"command\"\nfunctions = {functions}\neffects = {effects}\n\n[implementation]\nlanguage = \"{language}\"\nsources = [{sources}]\n{artifact}\n[security]\nmemory_safety = \"{ms}\"\nisolation = \"wasm\"\n{overrides_inline}\n[security.limits]\n{limits}\n[security.capabilities]\n{caps}\n{overrides}",
            name = self.name,
            examples = self.examples,
            functions = self.functions,
            effects = self.effects,
            language = self.language,
            sources = sources.join(", "),
            ms = self.memory_safety,
            limits = self.limits,
            caps = self.capabilities,
            overrides = self.overrides,
        );
        write(&root, "anrf.toml", &manifest);
        Written { _dir: dir, root }
    }
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A written fixture; the directory lives as long as this value.
#[derive(Debug)]
pub struct Written {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Written {
    pub fn module(&self) -> Module {
        Module::load(&self.root).unwrap()
    }

    pub fn verify(&self, profile: Profile) -> Report {
        self.verify_with(&ProjectPolicy::builtin(), profile)
    }

    pub fn verify_with(&self, policy: &ProjectPolicy, profile: Profile) -> Report {
        let mut options = VerifyOptions::new(policy, profile);
        options.now(NOW);
        anrf_verify::verify_path(&self.root, &options).unwrap()
    }

    pub fn verify_static(&self, profile: Profile) -> Report {
        self.verify_static_with(&ProjectPolicy::builtin(), profile)
    }

    pub fn verify_static_with(&self, policy: &ProjectPolicy, profile: Profile) -> Report {
        let mut options = VerifyOptions::new(policy, profile);
        options.now(NOW).examples(Examples::Skip);
        anrf_verify::verify_path(&self.root, &options).unwrap()
    }

    /// Signs override `id` in the manifest as `approver` for `profile`.
    pub fn approve(&self, policy: &ProjectPolicy, id: &str, approver: &str, profile: Profile) {
        let module = self.module();
        let ovr = module
            .manifest()
            .security
            .overrides
            .iter()
            .find(|o| o.id.as_str() == id)
            .unwrap()
            .clone();
        let subject = Subject::module(
            module.name(),
            module.code_digest().unwrap(),
            &module.manifest().security,
        );
        let key = key(approver);
        let who = ApproveAs {
            key: &key,
            role: None,
            profile,
            now: NOW,
        };
        let (approval, _) = anrf_policy::approve(&ovr, &subject, policy, &who).unwrap();
        let path = self.root.join("anrf.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = anrf_policy::add_approval(&text, id, &approval, "anrf.toml").unwrap();
        std::fs::write(path, text).unwrap();
    }
}

pub fn key(name: &str) -> SecretKey {
    let seed = match name {
        "bob" => 2,
        "carol" => 3,
        _ => 99,
    };
    SecretKey::from_seed([seed; 32])
}

/// A project policy with two trusted security approvers, bob and carol.
pub fn policy() -> ProjectPolicy {
    let pk = |n: &str| key(n).public_key().to_string();
    let text = format!(
        r#"version = 1
cedar = """
@id("security-approves-all")
permit(principal in Role::"security", action == Action::"approve", resource);
"""

[maxima]
read = ["data"]
threads = true

[[approvers]]
name = "bob"
public_key = "{}"
roles = ["security"]

[[approvers]]
name = "carol"
public_key = "{}"
roles = ["security"]
"#,
        pk("bob"),
        pk("carol")
    );
    ProjectPolicy::parse(&text, "anrf-policy.toml").unwrap()
}

/// An override entry for the manifest.
pub fn override_toml(id: &str, scope: &str, relaxes: &str, expires: &str) -> String {
    format!(
        "[[security.overrides]]\nid = \"{id}\"\nscope = \"{scope}\"\nrelaxes = \"{relaxes}\"\njustification = \"the checksum is ported from a C reference that walks raw pointers\"\nrequested_by = \"alice\"\nexpires = \"{expires}\"\napprovals = []\n"
    )
}

/// The IDs of the report's findings.
pub fn ids(report: &Report) -> Vec<CheckId> {
    report.findings.iter().map(|f| f.id).collect()
}

/// The IDs of unsuppressed findings.
pub fn open_ids(report: &Report) -> Vec<CheckId> {
    report
        .findings
        .iter()
        .filter(|f| !f.is_suppressed())
        .map(|f| f.id)
        .collect()
}

pub fn status(report: &Report, id: CheckId) -> Status {
    report.outcome(id).unwrap().status
}
