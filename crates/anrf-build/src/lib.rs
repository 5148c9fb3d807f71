//! Builds a module's guest to `wasm32-wasip1` and records the artifact's path and
//! SHA-256 in its manifest, keeping the manifest's comments and layout.
//!
//! Rust guests are built with cargo (a missing `wasm32-wasip1` target is
//! installed with rustup first, [`ensure_wasm_target`]); WAT guests with the `wat` crate. C guests are
//! built outside anrf and their artifact recorded by hand.
//!
//! ```no_run
//! let module = anrf_format::Module::load(std::path::Path::new("examples/wordcount"))?;
//! let built = anrf_build::build(&module, &anrf_build::BuildOptions::default())?;
//! println!("{} {}", built.path, built.sha256);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anrf_format::{FormatError, Language, Module, RelPath, Sha256Hex};

/// The WebAssembly target guests are built for.
pub const WASM_TARGET: &str = "wasm32-wasip1";

/// The only environment variables cargo and rustc see when a guest is built: what
/// they need to find the toolchain (rustup's proxies, `CARGO_HOME`), a place for
/// temporary files, and the locale. Everything else (API keys, tokens, `RUSTFLAGS`,
/// `CARGO_TARGET_DIR`, ...) is cleared.
pub const BUILD_ENV_ALLOW: &[&str] = &[
    "PATH",
    "HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_AUTO_INSTALL",
    "CARGO_HOME",
    "RUSTC",
    "TMPDIR",
    "TMP",
    "TEMP",
    "LANG",
    "LC_ALL",
    // Windows: where the system and the user's profile are.
    "SYSTEMROOT",
    "USERPROFILE",
];

/// The environment a guest's build runs with: the allow-listed variables of this
/// process that are set (none of which looks like a secret: a test checks it).
pub fn build_env() -> Vec<(String, std::ffi::OsString)> {
    BUILD_ENV_ALLOW
        .iter()
        .filter_map(|name| std::env::var_os(name).map(|v| ((*name).to_owned(), v)))
        .collect()
}

/// A command for a toolchain program with a cleared environment plus [`build_env`].
fn toolchain_command(program: &std::ffi::OsStr) -> Command {
    let mut command = Command::new(program);
    command.env_clear().envs(build_env());
    command
}

/// Why a build could not be done.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[non_exhaustive]
pub enum BuildError {
    #[error(
        "the Rust target `{WASM_TARGET}` is not installed, so the guest cannot be compiled to WebAssembly"
    )]
    #[diagnostic(help("install it with: rustup target add wasm32-wasip1"))]
    TargetMissing,
    #[error("cannot run `{tool}`")]
    #[diagnostic(help("is Rust installed and on PATH? (https://rustup.rs)"))]
    Tool {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{tool}` failed: {detail}")]
    ToolFailed { tool: String, detail: String },
    #[error("no `Cargo.toml` in `{}`", dir.display())]
    #[diagnostic(help("a Rust guest is a cargo package: `anrf init NAME` creates one"))]
    NoCargoToml { dir: PathBuf },
    /// The compiler rejected the guest; `output` holds its rendered diagnostics.
    #[error("`cargo build` of the guest in `{}` failed", dir.display())]
    #[diagnostic(help("fix the compiler errors, then run `anrf build` again"))]
    Compile { dir: PathBuf, output: String },
    #[error("`cargo build` produced no `.wasm` executable")]
    #[diagnostic(help("a guest is a binary crate (`src/main.rs`)"))]
    NoArtifact,
    #[error("`anrf build` compiles Rust and WAT guests; this module's language is C")]
    #[diagnostic(help(
        "build it with clang for wasm32-wasip1 (wasi-libc), then record the artifact under `[implementation.artifact]` with its sha256"
    ))]
    UnsupportedLanguage,
    #[error("a WAT module lists its `.wat` file in `implementation.sources`")]
    NoWatSource,
    #[error("`{}` is not valid WebAssembly text: {message}", path.display())]
    Wat { path: PathBuf, message: String },
    #[error("artifact `{}` is outside the module directory", path.display())]
    OutsideModule { path: PathBuf },
    #[error("cannot update `{}`: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    #[error("cannot access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Format(#[from] FormatError),
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Capture the compiler's diagnostics into [`BuildError::Compile`] instead of
    /// passing them through to stderr (for callers that feed them back, like `anrf gen`).
    pub capture_diagnostics: bool,
}

/// What a build produced, as recorded in the manifest.
#[derive(Debug, Clone)]
pub struct Built {
    /// Artifact path relative to the module directory.
    pub path: RelPath,
    pub sha256: Sha256Hex,
    /// `rustc --version`, or the WAT parser's version.
    pub toolchain: String,
    /// The digest of the listed sources, taken before compiling
    /// (`provenance.sources_sha256`).
    pub sources: Sha256Hex,
}

/// Builds the module's guest and records the artifact in its manifest.
pub fn build(module: &Module, options: &BuildOptions) -> Result<Built, BuildError> {
    if module.manifest().implementation.language == Language::C {
        return Err(BuildError::UnsupportedLanguage);
    }
    // Before the compiler reads them: a source edited during the build is
    // then reported as edited after it.
    let sources = module.sources_digest()?;
    let (artifact, toolchain) = match module.manifest().implementation.language {
        Language::Rust => build_rust(module, options)?,
        Language::Wat => build_wat(module)?,
        Language::C => return Err(BuildError::UnsupportedLanguage),
    };
    let bytes = anrf_format::fsread::read_regular(&artifact, anrf_format::MAX_ARTIFACT_BYTES)
        .map_err(FormatError::Unreadable)?;
    let rel = artifact
        .strip_prefix(module.dir())
        .map_err(|_| BuildError::OutsideModule {
            path: artifact.clone(),
        })?;
    let rel = RelPath::new(rel.to_string_lossy().replace('\\', "/")).map_err(|e| {
        BuildError::Manifest {
            path: artifact.clone(),
            message: e.to_string(),
        }
    })?;
    let built = Built {
        path: rel,
        sha256: Sha256Hex::of(&bytes),
        toolchain,
        sources,
    };
    record_artifact(module.manifest_path(), &built)?;
    // The manifest as written must still load.
    Module::load(module.dir())?;
    Ok(built)
}

/// Whether the Rust standard library for [`WASM_TARGET`] is installed for the
/// `rustc` that would build in `dir` (honours `$RUSTC`).
pub fn wasm_target_installed(dir: &Path) -> Result<bool, BuildError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = tool_output(
        toolchain_command(&rustc)
            .args(["--print", "sysroot"])
            .current_dir(dir),
        "rustc",
    )?;
    Ok(Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .exists())
}

/// Makes sure [`WASM_TARGET`] is installed for the toolchain that builds in
/// `dir`: when it is missing and that toolchain is rustup's (no `$RUSTC`),
/// runs `rustup target add wasm32-wasip1` once, saying so on stderr in one
/// line. [`BuildError::TargetMissing`] when it is still missing after that.
pub fn ensure_wasm_target(dir: &Path) -> Result<(), BuildError> {
    if wasm_target_installed(dir)? {
        return Ok(());
    }
    if std::env::var_os("RUSTC").is_none() {
        eprintln!(
            "anrf: installing the Rust target {WASM_TARGET} (rustup target add {WASM_TARGET})"
        );
        let status = toolchain_command(std::ffi::OsStr::new("rustup"))
            .args(["target", "add", WASM_TARGET])
            .current_dir(dir)
            .stdout(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() && wasm_target_installed(dir)? => return Ok(()),
            Ok(_) | Err(_) => {}
        }
    }
    Err(BuildError::TargetMissing)
}

fn build_rust(module: &Module, options: &BuildOptions) -> Result<(PathBuf, String), BuildError> {
    let dir = module.dir();
    ensure_wasm_target(dir)?;
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let toolchain = tool_output(
        toolchain_command(&rustc).arg("--version").current_dir(dir),
        "rustc",
    )?
    .trim()
    .to_owned();
    if !dir.join("Cargo.toml").exists() {
        return Err(BuildError::NoCargoToml {
            dir: dir.to_path_buf(),
        });
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // A cleared environment: nothing but [`BUILD_ENV_ALLOW`] reaches cargo, rustc
    // or the guest's `env!`/`option_env!`.
    let mut command = toolchain_command(&cargo);
    command
        .args(["build", "--release", "--target", WASM_TARGET])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"));
    if options.capture_diagnostics {
        command
            .args(["--message-format=json", "--color=never"])
            .stderr(Stdio::piped());
    } else {
        command
            .arg("--message-format=json-render-diagnostics")
            .stderr(Stdio::inherit());
    }
    let output = command.output().map_err(|source| BuildError::Tool {
        tool: "cargo".into(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let messages: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    if !output.status.success() {
        let rendered: String = messages
            .iter()
            .filter(|m| m["reason"] == "compiler-message")
            .filter_map(|m| m["message"]["rendered"].as_str())
            .collect();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let output = if rendered.is_empty() {
            stderr.into_owned()
        } else {
            rendered
        };
        return Err(BuildError::Compile {
            dir: dir.to_path_buf(),
            output,
        });
    }
    let wasm = messages
        .iter()
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .rfind(|path| path.extension().is_some_and(|e| e == "wasm"))
        .ok_or(BuildError::NoArtifact)?;
    // Cargo reports absolute paths; record one relative to the module.
    let dir_abs = dir.canonicalize().map_err(|source| BuildError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let rel = wasm
        .strip_prefix(&dir_abs)
        .map_or(wasm.clone(), Path::to_path_buf);
    Ok((dir.join(rel), toolchain))
}

fn build_wat(module: &Module) -> Result<(PathBuf, String), BuildError> {
    let source = module
        .manifest()
        .implementation
        .sources
        .iter()
        .find(|s| {
            Path::new(s.as_str())
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("wat"))
        })
        .ok_or(BuildError::NoWatSource)?;
    let path = module.resolve(source.as_str());
    let wasm = wat::parse_file(&path).map_err(|e| BuildError::Wat {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let out = module
        .dir()
        .join("target/anrf")
        .join(format!("{}.wasm", module.name()));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(&out, wasm).map_err(|source| BuildError::Io {
        path: out.clone(),
        source,
    })?;
    Ok((out, "wat (anrf-build)".to_owned()))
}

fn tool_output(command: &mut Command, tool: &str) -> Result<String, BuildError> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| BuildError::Tool {
            tool: tool.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(BuildError::ToolFailed {
            tool: tool.to_owned(),
            detail: out.status.to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes `implementation.artifact` and the toolchain into the manifest, keeping
/// everything else (comments included) as it was. The write is atomic.
fn record_artifact(manifest_path: &Path, built: &Built) -> Result<(), BuildError> {
    let io = |source| BuildError::Io {
        path: manifest_path.to_path_buf(),
        source,
    };
    let bad = |message: String| BuildError::Manifest {
        path: manifest_path.to_path_buf(),
        message,
    };
    let text =
        anrf_format::fsread::read_regular_text(manifest_path, anrf_format::MAX_MANIFEST_BYTES)
            .map_err(FormatError::Unreadable)?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| bad(e.to_string()))?;
    let implementation = doc["implementation"]
        .as_table_like_mut()
        .ok_or_else(|| bad("`[implementation]` is not a table".into()))?;
    let mut artifact = toml_edit::InlineTable::new();
    artifact.insert("path", built.path.as_str().into());
    artifact.insert("sha256", built.sha256.as_str().into());
    implementation.insert("artifact", toml_edit::value(artifact));
    let provenance = implementation
        .entry("provenance")
        .or_insert_with(|| toml_edit::value(toml_edit::InlineTable::new()));
    if let Some(table) = provenance.as_table_like_mut() {
        table.insert("toolchain", toml_edit::value(built.toolchain.as_str()));
        table.insert("sources_sha256", toml_edit::value(built.sources.as_str()));
    }
    let tmp = manifest_path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string()).map_err(io)?;
    std::fs::rename(&tmp, manifest_path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a variable's name looks like it holds a secret (`*KEY*`,
    /// `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*CREDENTIAL*`, `*AUTH*`, `ANRF_LLM_*`).
    fn is_secret_name(name: &str) -> bool {
        let upper = name.to_ascii_uppercase();
        upper.starts_with("ANRF_LLM_")
            || [
                "KEY",
                "TOKEN",
                "SECRET",
                "PASSWORD",
                "PASSWD",
                "CREDENTIAL",
                "AUTH",
            ]
            .iter()
            .any(|w| upper.contains(w))
    }

    #[test]
    fn no_allow_listed_build_variable_looks_like_a_secret() {
        assert!(is_secret_name("ANRF_LLM_API_KEY") && is_secret_name("GITHUB_TOKEN"));
        for name in BUILD_ENV_ALLOW {
            assert!(
                !is_secret_name(name),
                "`{name}` must not reach a guest build"
            );
        }
    }

    const WAT_MANIFEST: &str = r#"anrf = 1
# keep me
[module]
name = "tiny"
version = "0.1.0"
[intent]
summary = "exits zero"
[logic]
interface = "command"
[implementation]
language = "wat"
sources = ["tiny.wat"]
[security]
memory_safety = "enforced"
isolation = "wasm"
overrides = []
[security.limits]
memory = "1MiB"
fuel = 1000
timeout = "1s"
stack = "64KiB"
stdout = "1KiB"
stderr = "1KiB"
[security.capabilities]
dirs = []
env = []
clock = false
random = false
network = []
"#;

    #[test]
    fn wat_guest_builds_and_is_recorded_with_comments_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("anrf.toml"), WAT_MANIFEST).unwrap();
        std::fs::write(
            dir.path().join("tiny.wat"),
            "(module (func (export \"_start\")))",
        )
        .unwrap();
        let module = Module::load(dir.path()).unwrap();
        let built = build(&module, &BuildOptions::default()).unwrap();
        assert_eq!(built.path.as_str(), "target/anrf/tiny.wasm");
        let text = std::fs::read_to_string(dir.path().join("anrf.toml")).unwrap();
        assert!(text.contains("# keep me"));
        assert!(text.contains(built.sha256.as_str()));
        let reloaded = Module::load(dir.path()).unwrap();
        let artifact = reloaded.manifest().implementation.artifact.clone().unwrap();
        assert_eq!(artifact.sha256, built.sha256);
    }

    #[test]
    fn malformed_wat_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("anrf.toml"), WAT_MANIFEST).unwrap();
        std::fs::write(dir.path().join("tiny.wat"), "(module (func").unwrap();
        let module = Module::load(dir.path()).unwrap();
        let err = build(&module, &BuildOptions::default()).unwrap_err();
        assert!(matches!(err, BuildError::Wat { .. }), "{err:?}");
    }

    #[test]
    fn c_guests_are_refused_with_the_way_forward() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = WAT_MANIFEST
            .replace("language = \"wat\"", "language = \"c\"")
            .replace("tiny.wat", "tiny.c");
        std::fs::write(dir.path().join("anrf.toml"), manifest).unwrap();
        let module = Module::load(dir.path()).unwrap();
        let err = build(&module, &BuildOptions::default()).unwrap_err();
        assert!(matches!(err, BuildError::UnsupportedLanguage));
    }
}
