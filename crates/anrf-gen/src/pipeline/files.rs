//! The files of a generation: the guest's own `Cargo.toml`, the staged module,
//! the reports, and the checks on the output directory.

use std::path::{Path, PathBuf};

use anrf_format::Module;

use super::{Generated, PENDING_FILE, REPORT_JSON, REPORT_MD};
use crate::GenError;
use crate::report;

pub(super) fn load(dir: &Path) -> Result<Module, GenError> {
    Module::load(dir).map_err(|e| GenError::Io {
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// The guest's `Cargo.toml`: no dependencies, no build script, its own workspace.
pub fn cargo_toml(name: &str) -> String {
    format!(
        "# Written by anrf gen: the standard library only, no build script.\n\
         [package]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         build = false\n\
         \n\
         [dependencies]\n\
         \n\
         [profile.release]\n\
         opt-level = \"s\"\n\
         lto = true\n\
         strip = true\n\
         \n\
         # A guest is its own workspace, never a member of an enclosing one.\n\
         [workspace]\n"
    )
}

pub(super) fn write_module(
    dir: &Path,
    manifest: &str,
    sources: &std::collections::BTreeMap<String, String>,
) -> Result<(), GenError> {
    let src = dir.join("src");
    if src.exists() {
        std::fs::remove_dir_all(&src).map_err(|source| GenError::Io {
            path: src.clone(),
            source,
        })?;
    }
    std::fs::create_dir_all(&src).map_err(|source| GenError::Io {
        path: src.clone(),
        source,
    })?;
    for (path, text) in sources {
        write(&dir.join(path), text)?;
    }
    write(&dir.join(anrf_format::MANIFEST_FILE), manifest)
}

pub(super) fn write(path: &Path, text: &str) -> Result<(), GenError> {
    std::fs::write(path, text).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Refuses an output directory that exists and is not empty.
pub(super) fn ensure_free(dir: &Path) -> Result<(), GenError> {
    if dir.exists() {
        let empty = dir.is_dir()
            && std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
        if !empty {
            return Err(GenError::OutputExists {
                path: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// A staging directory beside `out`, so the final move is a rename.
pub(super) fn staging_dir(out: &Path) -> Result<tempfile::TempDir, GenError> {
    let parent = std::path::absolute(out)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(|source| GenError::Io {
        path: parent.clone(),
        source,
    })?;
    tempfile::Builder::new()
        .prefix(".anrf-gen-")
        .tempdir_in(&parent)
        .map_err(|source| GenError::Io {
            path: parent,
            source,
        })
}

/// Writes `GEN-REPORT.md`, `GEN-REPORT.json` and, when relaxations are pending,
/// `pending-overrides.toml` into the staged module.
pub(super) fn write_reports(generated: &Generated) -> Result<(), GenError> {
    let Some(dir) = generated.staged_dir() else {
        return Ok(());
    };
    let report = &generated.report;
    write(&dir.join(REPORT_MD), &report::markdown(report))?;
    write(&dir.join(REPORT_JSON), &report::json(report))?;
    if !report.overrides.pending.is_empty() {
        write(&dir.join(PENDING_FILE), &report::pending_toml(report))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guest_cargo_toml_has_no_dependencies_and_its_own_workspace() {
        let text = cargo_toml("demo");
        let table: toml::Table = text.parse().unwrap();
        assert!(table["dependencies"].as_table().unwrap().is_empty());
        assert!(table.contains_key("workspace"));
        assert_eq!(table["package"]["build"].as_bool(), Some(false));
    }

    #[test]
    fn a_non_empty_output_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ensure_free(dir.path()).is_ok());
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert!(matches!(
            ensure_free(dir.path()),
            Err(GenError::OutputExists { .. })
        ));
    }
}
