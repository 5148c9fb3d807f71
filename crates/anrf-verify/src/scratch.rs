//! Scratch copies of the read-write directories an intent example is granted:
//! `anrf verify` runs examples against a fresh temporary copy, never the real
//! directory, so an example that writes, renames or deletes leaves the module
//! as it was.
//!
//! The copy is made through directory descriptors, one component at a time,
//! with `O_NOFOLLOW`: the granted directory itself and everything below it
//! must be real directories and regular files. A symbolic link (anywhere, also
//! as the granted directory or one of its parents inside the module), a FIFO,
//! a socket or a device refuses the copy, and so does a tree over the budgets
//! ([`MAX_BYTES`], [`MAX_ENTRIES`], [`MAX_DEPTH`]). A file is opened
//! non-blocking and checked on the opened descriptor, so a FIFO swapped in
//! after the listing cannot block the copy.

use std::ffi::OsStr;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

/// The most bytes one example's scratch copies may hold.
pub(crate) const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The most directory entries one example's scratch copies may hold.
pub(crate) const MAX_ENTRIES: usize = 10_000;
/// The deepest a copied tree may nest below its granted directory.
pub(crate) const MAX_DEPTH: usize = 64;

/// What one example may still copy.
#[derive(Debug)]
pub(crate) struct Budget {
    bytes: u64,
    entries: usize,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget {
            bytes: MAX_BYTES,
            entries: MAX_ENTRIES,
        }
    }
}

/// Why a directory could not be copied: the message names the entry.
pub(crate) type CopyError = String;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC);

/// Opens `rel` below `module_dir` one component at a time, never following a
/// symbolic link.
fn open_below(module_dir: &Path, rel: &str) -> Result<OwnedFd, CopyError> {
    let mut fd = rustix::fs::open(
        module_dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot open the module directory: {e}"))?;
    let mut walked = String::new();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !walked.is_empty() {
            walked.push('/');
        }
        walked.push_str(part);
        if part == ".." {
            return Err(format!("`{walked}` climbs out of the module directory"));
        }
        fd = rustix::fs::openat(&fd, part, DIR_FLAGS, Mode::empty()).map_err(|e| match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => format!(
                "`{walked}` is a symbolic link or not a directory; the scratch copy follows no links"
            ),
            rustix::io::Errno::NOENT => format!("`{walked}` does not exist"),
            e => format!("`{walked}` cannot be opened: {e}"),
        })?;
    }
    Ok(fd)
}

/// Copies the directory `rel` (relative to `module_dir`) to `dst`, which must
/// not exist yet, within `budget`.
pub(crate) fn copy_dir(
    module_dir: &Path,
    rel: &str,
    dst: &Path,
    budget: &mut Budget,
) -> Result<(), CopyError> {
    let root = open_below(module_dir, rel)?;
    std::fs::create_dir(dst).map_err(|e| format!("cannot create the scratch directory: {e}"))?;
    // (directory, its copy, its path for messages, depth)
    let mut stack: Vec<(OwnedFd, PathBuf, String, usize)> = vec![(
        root,
        dst.to_path_buf(),
        rel.trim_end_matches('/').to_owned(),
        0,
    )];
    while let Some((fd, to, shown, depth)) = stack.pop() {
        let entries = Dir::read_from(&fd).map_err(|e| format!("cannot list `{shown}`: {e}"))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list `{shown}`: {e}"))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = name.to_vec();
            let child = format!("{shown}/{}", String::from_utf8_lossy(&name));
            budget.entries = budget.entries.checked_sub(1).ok_or_else(|| {
                format!("it holds more than {MAX_ENTRIES} entries (at `{child}`); the scratch copy is bounded")
            })?;
            let target = to.join(OsStr::from_bytes(&name));
            let stat = rustix::fs::statat(&fd, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| format!("cannot inspect `{child}`: {e}"))?;
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => {
                    if depth + 1 > MAX_DEPTH {
                        return Err(format!(
                            "it nests deeper than {MAX_DEPTH} directories (at `{child}`); the scratch copy is bounded"
                        ));
                    }
                    let sub = rustix::fs::openat(&fd, name.as_slice(), DIR_FLAGS, Mode::empty())
                        .map_err(|e| refused(&child, e))?;
                    std::fs::create_dir(&target)
                        .map_err(|e| format!("cannot create the copy of `{child}`: {e}"))?;
                    stack.push((sub, target, child, depth + 1));
                }
                FileType::RegularFile => copy_file(&fd, &name, &child, &target, budget)?,
                FileType::Symlink => {
                    return Err(format!(
                        "`{child}` is a symbolic link; the scratch copy follows no links"
                    ));
                }
                other => {
                    return Err(format!(
                        "`{child}` is a {}, not a regular file or directory",
                        kind(other)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Copies one regular file, checked on the opened descriptor.
fn copy_file(
    dir: &OwnedFd,
    name: &[u8],
    shown: &str,
    target: &Path,
    budget: &mut Budget,
) -> Result<(), CopyError> {
    let fd =
        rustix::fs::openat(dir, name, FILE_FLAGS, Mode::empty()).map_err(|e| refused(shown, e))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| format!("cannot inspect `{shown}`: {e}"))?;
    let file_type = FileType::from_raw_mode(stat.st_mode);
    if file_type != FileType::RegularFile {
        return Err(format!(
            "`{shown}` is a {}, not a regular file",
            kind(file_type)
        ));
    }
    let size = u64::try_from(stat.st_size).unwrap_or(u64::MAX);
    let over = || {
        format!(
            "copying `{shown}` would exceed {} MiB; the scratch copy is bounded",
            MAX_BYTES / (1024 * 1024)
        )
    };
    if size > budget.bytes {
        return Err(over());
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(budget.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let read = bytes.len() as u64;
    budget.bytes = budget.bytes.checked_sub(read).ok_or_else(over)?;
    std::fs::write(target, &bytes)
        .map_err(|e| format!("cannot write the copy of `{shown}`: {e}"))?;
    std::fs::set_permissions(
        target,
        std::os::unix::fs::PermissionsExt::from_mode(stat.st_mode & 0o777),
    )
    .map_err(|e| format!("cannot write the copy of `{shown}`: {e}"))
}

fn refused(shown: &str, e: rustix::io::Errno) -> CopyError {
    match e {
        rustix::io::Errno::LOOP => {
            format!("`{shown}` is a symbolic link; the scratch copy follows no links")
        }
        rustix::io::Errno::NOTDIR => format!("`{shown}` changed while it was copied"),
        e => format!("`{shown}` cannot be opened: {e}"),
    }
}

fn kind(file_type: FileType) -> &'static str {
    match file_type {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(root: &Path, rel: &str) -> (tempfile::TempDir, Result<(), CopyError>) {
        let out = tempfile::tempdir().unwrap();
        let result = copy_dir(root, rel, &out.path().join("copy"), &mut Budget::new());
        (out, result)
    }

    #[test]
    fn copies_files_and_directories() {
        let module = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(module.path().join("data/sub")).unwrap();
        std::fs::write(module.path().join("data/a.txt"), "a").unwrap();
        std::fs::write(module.path().join("data/sub/b.txt"), "bb").unwrap();
        let (out, result) = copy(module.path(), "data");
        result.unwrap();
        let copy = out.path().join("copy");
        assert_eq!(std::fs::read_to_string(copy.join("a.txt")).unwrap(), "a");
        assert_eq!(
            std::fs::read_to_string(copy.join("sub/b.txt")).unwrap(),
            "bb"
        );
    }

    #[test]
    fn refuses_links_fifos_and_devices() {
        let module = tempfile::tempdir().unwrap();
        let data = module.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", data.join("passwd")).unwrap();
        let (_out, result) = copy(module.path(), "data");
        assert!(
            result
                .unwrap_err()
                .contains("`data/passwd` is a symbolic link")
        );

        std::fs::remove_file(data.join("passwd")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            data.join("pipe"),
            Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let (_out, result) = copy(module.path(), "data");
        assert!(result.unwrap_err().contains("`data/pipe` is a FIFO"));

        // The granted directory itself, or a parent of it, a link to elsewhere.
        std::fs::remove_file(data.join("pipe")).unwrap();
        std::fs::remove_dir(&data).unwrap();
        std::os::unix::fs::symlink("/dev", &data).unwrap();
        let (_out, result) = copy(module.path(), "data");
        assert!(
            result
                .unwrap_err()
                .contains("`data` is a symbolic link or not a directory")
        );
        let (_out, result) = copy(module.path(), "data/shm");
        assert!(result.unwrap_err().contains("`data` is a symbolic link"));
    }

    #[test]
    fn a_sparse_file_over_the_budget_is_refused_without_reading_it() {
        let module = tempfile::tempdir().unwrap();
        std::fs::create_dir(module.path().join("data")).unwrap();
        let huge = std::fs::File::create(module.path().join("data/huge")).unwrap();
        huge.set_len(16 * 1024 * 1024 * 1024).unwrap();
        let (_out, result) = copy(module.path(), "data");
        assert!(result.unwrap_err().contains("would exceed 64 MiB"));
    }

    #[test]
    fn entries_and_depth_are_bounded() {
        let module = tempfile::tempdir().unwrap();
        let mut deep = module.path().join("data");
        for _ in 0..=MAX_DEPTH {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let (_out, result) = copy(module.path(), "data");
        assert!(result.unwrap_err().contains("nests deeper than 64"));

        let wide = module.path().join("wide");
        std::fs::create_dir(&wide).unwrap();
        for i in 0..=MAX_ENTRIES {
            std::fs::File::create(wide.join(i.to_string())).unwrap();
        }
        let (_out, result) = copy(module.path(), "wide");
        assert!(result.unwrap_err().contains("more than 10000 entries"));
    }
}
