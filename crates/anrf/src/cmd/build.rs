//! `anrf build PATH`: compiles a module's guest to `wasm32-wasip1` and records the
//! artifact's path and hash in the manifest (comments and layout are kept).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anrf_format::{Language, Module, RelPath, Sha256Hex};
use clap::Args;
use miette::{IntoDiagnostic, WrapErr, miette};

use crate::exit::Finish;

/// The WebAssembly target guests are built for.
pub(crate) const WASM_TARGET: &str = "wasm32-wasip1";

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf build examples/wordcount\n\n\
Rust guests need the target installed once: rustup target add wasm32-wasip1")]
pub(crate) struct BuildArgs {
    /// Module directory or its `anrf.toml`.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(args: BuildArgs) -> miette::Result<Finish> {
    let module = Module::load(&args.path)?;
    let built = build_module(&module)?;
    if args.json {
        let out = serde_json::json!({
            "module": module.name(),
            "artifact": built.path.as_str(),
            "sha256": built.sha256.as_str(),
            "toolchain": built.toolchain,
        });
        println!("{out}");
    } else {
        println!(
            "built `{}`: {} (sha256 {})",
            module.name(),
            module.dir().join(built.path.as_str()).display(),
            built.sha256
        );
    }
    Ok(Finish::Code(0))
}

/// What a build produced, as recorded in the manifest.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) path: RelPath,
    pub(crate) sha256: Sha256Hex,
    pub(crate) toolchain: String,
}

/// Builds the module's guest and records the artifact in its manifest.
pub(crate) fn build_module(module: &Module) -> miette::Result<Built> {
    let (artifact, toolchain) = match module.manifest().implementation.language {
        Language::Rust => build_rust(module)?,
        Language::Wat => build_wat(module)?,
        Language::C => {
            return Err(miette!(
                help = "build it with clang for wasm32-wasip1 (wasi-libc), then record the artifact under \
                        `[implementation.artifact]` with its sha256",
                "`anrf build` compiles Rust and WAT guests; this module's language is C"
            ));
        }
    };
    let bytes = std::fs::read(&artifact)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read the built artifact `{}`", artifact.display()))?;
    let rel = artifact.strip_prefix(module.dir()).map_err(|_| {
        miette!(
            "artifact `{}` is outside the module directory",
            artifact.display()
        )
    })?;
    let rel = RelPath::new(rel.to_string_lossy().replace('\\', "/")).map_err(|e| miette!("{e}"))?;
    let built = Built {
        path: rel,
        sha256: Sha256Hex::of(&bytes),
        toolchain,
    };
    record_artifact(module.manifest_path(), &built)?;
    // The manifest as written must still load.
    Module::load(module.dir())?;
    Ok(built)
}

fn build_rust(module: &Module) -> miette::Result<(PathBuf, String)> {
    let dir = module.dir();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = tool_output(
        Command::new(&rustc)
            .args(["--print", "sysroot"])
            .current_dir(dir),
    )
    .wrap_err("cannot run `rustc`: is Rust installed? (https://rustup.rs)")?;
    let target_lib = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(WASM_TARGET);
    if !target_lib.exists() {
        return Err(miette!(
            help = "install it with: rustup target add wasm32-wasip1",
            "the Rust target `{WASM_TARGET}` is not installed, so the guest cannot be compiled to WebAssembly"
        ));
    }
    let toolchain = tool_output(Command::new(&rustc).arg("--version").current_dir(dir))?
        .trim()
        .to_owned();
    if !dir.join("Cargo.toml").exists() {
        return Err(miette!(
            help = "a Rust guest is a cargo package: `anrf init NAME` creates one",
            "no `Cargo.toml` in `{}`",
            dir.display()
        ));
    }
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            WASM_TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stderr(Stdio::inherit())
        .output()
        .into_diagnostic()
        .wrap_err("cannot run `cargo`")?;
    if !output.status.success() {
        return Err(miette!(
            help = "fix the compiler errors above, then run `anrf build` again",
            "`cargo build` of the guest in `{}` failed",
            dir.display()
        ));
    }
    let wasm = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .filter_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .rfind(|path| path.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| {
            miette!(
                help = "a guest is a binary crate (`src/main.rs`)",
                "`cargo build` produced no `.wasm` executable"
            )
        })?;
    // Cargo reports absolute paths; record one relative to the module.
    let dir_abs = dir.canonicalize().into_diagnostic()?;
    let rel = wasm
        .strip_prefix(&dir_abs)
        .map_or(wasm.clone(), Path::to_path_buf);
    Ok((dir.join(rel), toolchain))
}

fn build_wat(module: &Module) -> miette::Result<(PathBuf, String)> {
    let sources = &module.manifest().implementation.sources;
    let source = sources
        .iter()
        .find(|s| s.as_str().ends_with(".wat"))
        .ok_or_else(|| miette!("a WAT module lists its `.wat` file in `implementation.sources`"))?;
    let wasm = wat::parse_file(module.resolve(source.as_str()))
        .map_err(|e| miette!(help = "fix the text format error", "{e}"))?;
    let out = module
        .dir()
        .join("target/anrf")
        .join(format!("{}.wasm", module.name()));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).into_diagnostic()?;
    }
    std::fs::write(&out, wasm).into_diagnostic()?;
    Ok((out, format!("wat {}", env!("CARGO_PKG_VERSION"))))
}

fn tool_output(command: &mut Command) -> miette::Result<String> {
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .into_diagnostic()?;
    if !out.status.success() {
        return Err(miette!("`{command:?}` failed with {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes `[implementation.artifact]` and the toolchain into the manifest, keeping
/// everything else (comments included) as it was.
fn record_artifact(manifest_path: &Path, built: &Built) -> miette::Result<()> {
    let text = std::fs::read_to_string(manifest_path).into_diagnostic()?;
    let mut doc: toml_edit::DocumentMut = text.parse().into_diagnostic()?;
    let implementation = doc["implementation"]
        .as_table_like_mut()
        .ok_or_else(|| miette!("`[implementation]` is not a table"))?;
    let mut artifact = toml_edit::InlineTable::new();
    artifact.insert("path", built.path.as_str().into());
    artifact.insert("sha256", built.sha256.as_str().into());
    implementation.insert("artifact", toml_edit::value(artifact));
    let provenance = implementation
        .entry("provenance")
        .or_insert_with(|| toml_edit::value(toml_edit::InlineTable::new()));
    if let Some(table) = provenance.as_table_like_mut() {
        table.insert("toolchain", toml_edit::value(built.toolchain.as_str()));
    }
    let tmp = manifest_path.with_extension("toml.tmp");
    std::fs::write(&tmp, doc.to_string()).into_diagnostic()?;
    std::fs::rename(&tmp, manifest_path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot update `{}`", manifest_path.display()))?;
    Ok(())
}
