//! The content digest ignores formatting and key order, and changes with any
//! semantic edit, source edit or rebuild; the code digest and approval bindings
//! change with exactly what they cover.

use std::path::Path;

use anrf_format::Module;

use crate::VALID;

fn module_with(manifest: &str, source: &str) -> (tempfile::TempDir, Module) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), manifest, source);
    let module = Module::load(dir.path()).unwrap_or_else(|e| panic!("{e:?}\n{manifest}"));
    (dir, module)
}

fn write(dir: &Path, manifest: &str, source: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("anrf.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), source).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "pub fn count_words() {}\n").unwrap();
}

/// An override entry, placed where `overrides = []` was.
const MEMORY_UNSAFE: &str = "\n[[security.overrides]]\nid = \"ovr-0123abcd\"\nscope = \"module\"\nrelaxes = \"memory-unsafe\"\njustification = \"the checksum is ported from a C reference that walks raw pointers\"\nrequested_by = \"alice\"\nexpires = \"2027-03-31\"\napprovals = []\n\n";

const SOURCE: &str = "fn main() {}\n";

/// The same manifest with comments, blank lines, reordered keys and inline tables.
const REFORMATTED: &str = r#"# a comment
anrf = 1
[implementation]
sources = [ "src/main.rs" ]   # trailing comment
language = "rust"

[security]
isolation = "wasm"
memory_safety = "enforced"
overrides = [ ]
limits = { stderr = "64KiB", stdout = 65536, stack = "256KiB", timeout = 2000, fuel = 100_000_000, memory = "32MiB" }
capabilities.network = []
capabilities.random = false
capabilities.clock = false
capabilities.env = [ "GREETING" ]
capabilities.dirs = [ { access = "read-only", host = "data", guest = "/data" } ]

[logic]
effects = ["stdin", "stdout"]
functions = ["count_words"]
interface = "command"

[module]
version = "0.1.0"
name = "wordcount"

[intent]
requirements = ["prints one integer and a newline"]
summary = "Count the words on stdin"
examples = [ { stdout = "2\n", stdin = "hello world\n", name = "two words" } ]
"#;

#[test]
fn digest_is_stable_under_reformatting() {
    let (_a, original) = module_with(VALID, SOURCE);
    let (_b, reformatted) = module_with(REFORMATTED, SOURCE);
    assert_eq!(original.manifest(), reformatted.manifest());
    assert_eq!(
        original.content_digest().unwrap(),
        reformatted.content_digest().unwrap()
    );
    assert_eq!(
        original.code_digest().unwrap(),
        reformatted.code_digest().unwrap()
    );
}

#[test]
fn digest_changes_with_every_semantic_edit() {
    let (_d, base) = module_with(VALID, SOURCE);
    let base_digest = base.content_digest().unwrap();
    let edits: &[(&str, &str)] = &[
        ("name = \"wordcount\"", "name = \"wordcount2\""),
        ("version = \"0.1.0\"", "version = \"0.1.1\""),
        (
            "summary = \"Count the words on stdin\"",
            "summary = \"Count words\"",
        ),
        ("stdin = \"hello world\\n\"", "stdin = \"hello there\\n\""),
        ("stdout = \"2\\n\"", "stdout = \"3\\n\""),
        ("stdout = \"2\\n\"", "stdout = \"2\\n\"\nexit_code = 1"),
        ("functions = [\"count_words\"]", "functions = []"),
        ("language = \"rust\"", "language = \"c\""),
        (
            "sources = [\"src/main.rs\"]",
            "sources = [\"src/main.rs\", \"src/lib.rs\"]",
        ),
        ("isolation = \"wasm\"", "isolation = \"process\""),
        ("overrides = []\n", MEMORY_UNSAFE),
        ("memory = \"32MiB\"", "memory = \"16MiB\""),
        ("fuel = 100000000", "fuel = 100000001"),
        ("timeout = \"2s\"", "timeout = \"3s\""),
        ("stack = \"256KiB\"", "stack = \"128KiB\""),
        ("stdout = \"64KiB\"", "stdout = \"32KiB\""),
        ("stderr = \"64KiB\"", "stderr = \"32KiB\""),
        ("guest = \"/data\"", "guest = \"/input\""),
        ("host = \"data\"", "host = \"data2\""),
        ("access = \"read-only\"", "access = \"read-write\""),
        ("env = [\"GREETING\"]", "env = []"),
        ("clock = false", "clock = true"),
        ("random = false", "random = true"),
        ("network = []", "network = [\"example.org\"]"),
    ];
    for (from, to) in edits {
        assert!(VALID.contains(from), "fixture lacks {from}");
        let (_e, edited) = module_with(&VALID.replacen(from, to, 1), SOURCE);
        assert_ne!(
            edited.content_digest().unwrap(),
            base_digest,
            "edit {from} -> {to} kept the digest"
        );
    }
    // memory_safety, with the override it needs in both manifests.
    let with_override = VALID.replacen("overrides = []\n", MEMORY_UNSAFE, 1);
    let (_m, enforced) = module_with(&with_override, SOURCE);
    let (_n, sandbox_only) = module_with(
        &with_override.replacen(
            "memory_safety = \"enforced\"",
            "memory_safety = \"sandbox-only\"",
            1,
        ),
        SOURCE,
    );
    assert_ne!(
        enforced.content_digest().unwrap(),
        sandbox_only.content_digest().unwrap(),
        "memory_safety is in the digest"
    );
    // ... and in what a `memory-unsafe` approval binds, not in the code digest.
    assert_eq!(
        enforced.code_digest().unwrap(),
        sandbox_only.code_digest().unwrap()
    );
    assert_ne!(
        binding(&enforced, "memory-unsafe"),
        binding(&sandbox_only, "memory-unsafe")
    );
    let (_s, source_edited) = module_with(VALID, "fn main() { println!(); }\n");
    assert_ne!(source_edited.content_digest().unwrap(), base_digest);
    assert_ne!(
        source_edited.code_digest().unwrap(),
        base.code_digest().unwrap()
    );
}

/// What an approval of an override relaxing `relaxes` binds to in `module`.
fn binding(module: &Module, relaxes: &str) -> anrf_format::ContentDigest {
    anrf_format::approval_binding(
        &module.code_digest().unwrap(),
        &module.manifest().security,
        &relaxes.parse().unwrap(),
    )
}

#[test]
fn code_digest_covers_code_and_isolation_only() {
    let (_d, base) = module_with(VALID, SOURCE);
    for (from, to) in [
        ("Count the words on stdin", "Count words"),
        ("clock = false", "clock = true"),
        ("env = [\"GREETING\"]", "env = [\"GREETING\", \"HOME\"]"),
        ("memory = \"32MiB\"", "memory = \"16MiB\""),
    ] {
        let (_e, edited) = module_with(&VALID.replacen(from, to, 1), SOURCE);
        assert_eq!(
            base.code_digest().unwrap(),
            edited.code_digest().unwrap(),
            "{from} -> {to}"
        );
    }
    for (from, to) in [
        ("isolation = \"wasm\"", "isolation = \"process\""),
        ("name = \"wordcount\"", "name = \"wordcount2\""),
        ("language = \"rust\"", "language = \"c\""),
    ] {
        let (_e, edited) = module_with(&VALID.replacen(from, to, 1), SOURCE);
        assert_ne!(
            base.code_digest().unwrap(),
            edited.code_digest().unwrap(),
            "{from} -> {to}"
        );
    }
}

#[test]
fn an_approval_binds_the_fields_its_override_relaxes_and_no_others() {
    let (_d, base) = module_with(VALID, SOURCE);
    // (relaxation, edit, whether the edit voids an approval of it)
    let cases: &[(&str, (&str, &str), bool)] = &[
        (
            "allow-read:data",
            ("access = \"read-only\"", "access = \"read-write\""),
            true,
        ),
        (
            "allow-read:data",
            ("guest = \"/data\"", "guest = \"/input\""),
            true,
        ),
        (
            "allow-read:data",
            ("host = \"data\"", "host = \"data2\""),
            true,
        ),
        (
            "allow-read:data",
            ("env = [\"GREETING\"]", "env = []"),
            false,
        ),
        ("allow-read:data", ("clock = false", "clock = true"), false),
        (
            "allow-read:data",
            ("memory = \"32MiB\"", "memory = \"16MiB\""),
            false,
        ),
        (
            "allow-read:data",
            (
                "dirs = [{",
                "dirs = [{ guest = \"/out\", host = \"out\", access = \"read-write\" }, {",
            ),
            false,
        ),
        (
            "allow-read:data",
            ("Count the words on stdin", "Count words"),
            false,
        ),
        (
            "allow-env:GREETING",
            ("env = [\"GREETING\"]", "env = []"),
            true,
        ),
        (
            "allow-env:GREETING",
            ("env = [\"GREETING\"]", "env = [\"GREETING\", \"HOME\"]"),
            false,
        ),
        (
            "allow-env:GREETING",
            ("host = \"data\"", "host = \"data2\""),
            false,
        ),
        (
            "raise:memory=128MiB",
            ("memory = \"32MiB\"", "memory = \"48MiB\""),
            true,
        ),
        (
            "raise:memory=128MiB",
            ("timeout = \"2s\"", "timeout = \"3s\""),
            false,
        ),
        (
            "allow-network:example.org",
            ("network = []", "network = [\"example.org\"]"),
            true,
        ),
        (
            "allow-network:example.org",
            ("network = []", "network = [\"other.org\"]"),
            false,
        ),
        ("threads", ("clock = false", "clock = true"), false),
        (
            "threads",
            ("isolation = \"wasm\"", "isolation = \"process\""),
            true,
        ),
    ];
    for (relaxes, (from, to), voids) in cases {
        assert!(VALID.contains(from), "fixture lacks {from}");
        let (_e, edited) = module_with(&VALID.replacen(from, to, 1), SOURCE);
        let changed = binding(&base, relaxes) != binding(&edited, relaxes);
        assert_eq!(changed, *voids, "{relaxes}: {from} -> {to}");
    }
    // A code edit voids every approval.
    let (_s, recoded) = module_with(VALID, "fn main() { println!(); }\n");
    for relaxes in [
        "allow-read:data",
        "allow-env:GREETING",
        "threads",
        "raise:functions=20000",
    ] {
        assert_ne!(
            binding(&base, relaxes),
            binding(&recoded, relaxes),
            "{relaxes}"
        );
    }
    // Two overrides never share a binding.
    assert_ne!(
        binding(&base, "allow-read:data"),
        binding(&base, "allow-write:data")
    );
}

#[test]
fn digest_covers_the_artifact() {
    let with_artifact = |bytes: &[u8]| {
        let dir = tempfile::tempdir().unwrap();
        let manifest = VALID.replacen(
            "sources = [\"src/main.rs\"]",
            &format!(
                "sources = [\"src/main.rs\"]\nartifact = {{ path = \"m.wasm\", sha256 = \"{}\" }}",
                anrf_format::Sha256Hex::of(b"same")
            ),
            1,
        );
        write(dir.path(), &manifest, SOURCE);
        std::fs::write(dir.path().join("m.wasm"), bytes).unwrap();
        let digest = Module::load(dir.path()).unwrap().content_digest().unwrap();
        (dir, digest)
    };
    let (_a, one) = with_artifact(b"\0asm one");
    let (_b, two) = with_artifact(b"\0asm two");
    assert_ne!(one, two);
}

#[test]
fn missing_source_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anrf.toml"), VALID).unwrap();
    let module = Module::load(dir.path()).unwrap();
    let err = module.content_digest().unwrap_err();
    assert!(err.to_string().contains("src/main.rs"), "{err}");
}

#[test]
fn missing_manifest_names_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let err = Module::load(dir.path()).unwrap_err();
    assert!(
        err.to_string().starts_with("no manifest `anrf.toml` in"),
        "{err}"
    );
}
