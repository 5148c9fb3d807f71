//! Host directories opened once, by descriptor.
//!
//! A granted directory is named by a path exactly once: [`HostDir::open`] walks
//! an absolute path one component at a time from `/`, each step an `openat` of
//! the previous descriptor with `O_NOFOLLOW | O_DIRECTORY`, so a symbolic link
//! in *any* component is refused rather than followed (a link swapped in after
//! the path was approved or canonicalized cannot redirect the open).
//! [`HostDir::open_beneath`] does the same below an already opened directory
//! (the module directory), refusing `..` and absolute paths, so what it opens
//! is inside that directory by construction. After that the runtime holds the
//! descriptor: the guest is given the directory through `/proc/self/fd/N` of
//! that descriptor (`/dev/fd/N` off Linux), never through the name again, so a
//! rename or a swap of the name between the check and the run changes nothing.

use std::path::{Component, Path, PathBuf};

use crate::error::RuntimeError;

/// How many `..` steps [`HostDir::ancestors`] takes at most before it gives up.
const MAX_DEPTH: usize = 4096;

/// A directory on the host, opened without following symbolic links, and the
/// path it was opened at (for messages; it is never opened by that name again).
#[derive(Debug, Clone)]
pub struct HostDir {
    inner: imp::Handle,
    path: PathBuf,
}

/// The identity of a directory: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl HostDir {
    /// Opens the directory at `path`, which must be absolute and contain no
    /// `..`; no component may be a symbolic link (pass a canonical path, e.g.
    /// from `std::fs::canonicalize`: a component swapped for a link after that
    /// is refused, not followed).
    pub fn open(path: impl AsRef<Path>) -> Result<HostDir, RuntimeError> {
        let path = path.as_ref();
        if !path.is_absolute() {
            return Err(refused(path, "the path is not absolute".into()));
        }
        let parts = normal_parts(path, path)?;
        let inner = imp::walk(None, path, Path::new("/"), &parts)?;
        Ok(HostDir {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// The directory `dir`, already opened by the caller (e.g. the module
    /// directory as `anrf_format::Module::load` opened it), known as `path` in
    /// messages: a second descriptor of that very directory, so grants opened
    /// beneath it are beneath what was loaded, not beneath whatever now has
    /// its name.
    pub fn from_opened(
        dir: &std::fs::File,
        path: impl Into<PathBuf>,
    ) -> Result<HostDir, RuntimeError> {
        let path = path.into();
        let inner = imp::from_opened(dir, &path)?;
        Ok(HostDir { inner, path })
    }

    /// Opens `rel` below this directory: a relative path without `..`, no
    /// component of which may be a symbolic link. What it opens lies inside
    /// this directory (e.g. a grant declared in a module's manifest, opened
    /// beneath the opened module directory).
    pub fn open_beneath(&self, rel: impl AsRef<Path>) -> Result<HostDir, RuntimeError> {
        let rel = rel.as_ref();
        let path = self.path.join(rel);
        if rel.has_root() {
            return Err(refused(
                &path,
                format!(
                    "`{}` is absolute; a directory inside `{}` is named relative to it",
                    rel.display(),
                    self.path.display()
                ),
            ));
        }
        let parts = normal_parts(rel, &path)?;
        let inner = imp::walk(Some(&self.inner), &path, &self.path, &parts)?;
        Ok(HostDir { inner, path })
    }

    /// The path the directory was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path that names the open descriptor itself (`/proc/self/fd/N`):
    /// opening it reaches this very directory, even if its name now leads
    /// elsewhere.
    pub(crate) fn descriptor_path(&self) -> PathBuf {
        self.inner.descriptor_path()
    }

    pub(crate) fn id(&self) -> FileId {
        self.inner.id
    }

    /// The identities of the directories above this one, nearest first, up to
    /// and including the root; empty when this is the root of the filesystem.
    pub(crate) fn ancestors(&self) -> Result<Vec<FileId>, RuntimeError> {
        self.inner.ancestors(&self.path)
    }
}

/// The normal components of `path`; `..` is refused (it would make "inside"
/// depend on what the components are), `.` and the root are skipped.
fn normal_parts<'a>(
    path: &'a Path,
    shown: &Path,
) -> Result<Vec<&'a std::ffi::OsStr>, RuntimeError> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(refused(shown, "the path contains `..`".into()));
            }
        }
    }
    Ok(parts)
}

fn refused(path: &Path, message: String) -> RuntimeError {
    RuntimeError::GrantedDir {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(unix)]
mod imp {
    use std::ffi::OsStr;
    use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{FileId, MAX_DEPTH, refused};
    use crate::error::RuntimeError;

    #[derive(Debug, Clone)]
    pub(super) struct Handle {
        fd: Arc<OwnedFd>,
        pub(super) id: FileId,
    }

    /// Flags for a step of the walk: `O_PATH` where it exists for the steps in
    /// between (search permission is enough to pass through), a readable
    /// descriptor for the directory itself.
    fn flags(last: bool) -> OFlags {
        let base = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if !last {
            return base | OFlags::PATH;
        }
        let _ = last;
        base | OFlags::RDONLY
    }

    pub(super) fn walk(
        from: Option<&Handle>,
        path: &Path,
        start_path: &Path,
        parts: &[&OsStr],
    ) -> Result<Handle, RuntimeError> {
        let root;
        let base = if let Some(handle) = from {
            handle.fd.as_fd()
        } else {
            root = rustix::fs::openat(CWD, "/", flags(false), Mode::empty())
                .map_err(|e| refused(path, format!("cannot open `/`: {e}")))?;
            root.as_fd()
        };
        let mut reached = start_path.to_path_buf();
        let mut opened: Option<OwnedFd> = None;
        if parts.is_empty() {
            // The start directory itself, reopened readable.
            let fd = rustix::fs::openat(base, ".", flags(true), Mode::empty())
                .map_err(|e| refused(path, format!("cannot open it: {e}")))?;
            opened = Some(fd);
        }
        for (i, part) in parts.iter().enumerate() {
            let dir = opened.as_ref().map_or(base, |fd| fd.as_fd());
            let next = rustix::fs::openat(dir, *part, flags(i + 1 == parts.len()), Mode::empty())
                .map_err(|e| refused(path, explain(dir, part, &reached.join(part), e)))?;
            reached.push(part);
            opened = Some(next);
        }
        let fd = opened.ok_or_else(|| refused(path, "nothing was opened".into()))?;
        directory(fd, path)
    }

    /// The handle of `fd`, which must be a directory.
    fn directory(fd: OwnedFd, path: &Path) -> Result<Handle, RuntimeError> {
        let meta =
            rustix::fs::fstat(&fd).map_err(|e| refused(path, format!("cannot stat it: {e}")))?;
        if FileType::from_raw_mode(meta.st_mode) != FileType::Directory {
            return Err(refused(path, "it is not a directory".into()));
        }
        Ok(Handle {
            fd: Arc::new(fd),
            id: id_of(&meta),
        })
    }

    pub(super) fn from_opened(dir: &std::fs::File, path: &Path) -> Result<Handle, RuntimeError> {
        let fd: OwnedFd = dir
            .try_clone()
            .map_err(|e| refused(path, format!("cannot duplicate its descriptor: {e}")))?
            .into();
        directory(fd, path)
    }

    /// Why one step failed, in words: a link, not a directory, missing.
    fn explain(dir: std::os::fd::BorrowedFd<'_>, part: &OsStr, at: &Path, error: Errno) -> String {
        let kind = rustix::fs::statat(dir, part, AtFlags::SYMLINK_NOFOLLOW)
            .map(|s| FileType::from_raw_mode(s.st_mode));
        match kind {
            Ok(FileType::Symlink) => format!(
                "`{}` is a symbolic link: a granted directory is opened without following links in any component, so a link put in its place is refused, not followed; grant the directory itself, by its real path",
                at.display()
            ),
            Ok(FileType::Directory) => format!("cannot open `{}`: {error}", at.display()),
            Ok(_) => format!("`{}` is not a directory", at.display()),
            Err(Errno::NOENT) => format!("`{}` does not exist", at.display()),
            Err(e) => format!("cannot open `{}`: {e}", at.display()),
        }
    }

    #[allow(
        clippy::unnecessary_cast,
        reason = "the types of `st_dev` and `st_ino` differ between platforms"
    )]
    fn id_of(stat: &rustix::fs::Stat) -> FileId {
        FileId {
            dev: stat.st_dev as u64,
            ino: stat.st_ino as u64,
        }
    }

    impl Handle {
        pub(super) fn descriptor_path(&self) -> PathBuf {
            let fd = self.fd.as_raw_fd();
            if cfg!(any(target_os = "linux", target_os = "android")) {
                PathBuf::from(format!("/proc/self/fd/{fd}"))
            } else {
                PathBuf::from(format!("/dev/fd/{fd}"))
            }
        }

        pub(super) fn ancestors(&self, path: &Path) -> Result<Vec<FileId>, RuntimeError> {
            let mut chain = Vec::new();
            let mut current: Option<OwnedFd> = None;
            let mut id = self.id;
            for _ in 0..MAX_DEPTH {
                let dir = current
                    .as_ref()
                    .map_or_else(|| self.fd.as_fd(), |fd| fd.as_fd());
                let parent = rustix::fs::openat(dir, "..", flags(false), Mode::empty())
                    .map_err(|e| refused(path, format!("cannot open a directory above it: {e}")))?;
                let stat = rustix::fs::fstat(&parent)
                    .map_err(|e| refused(path, format!("cannot stat a directory above it: {e}")))?;
                let parent_id = id_of(&stat);
                if parent_id == id {
                    return Ok(chain);
                }
                chain.push(parent_id);
                id = parent_id;
                current = Some(parent);
            }
            Err(refused(
                path,
                format!("it lies more than {MAX_DEPTH} directories deep"),
            ))
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::ffi::OsStr;
    use std::path::{Path, PathBuf};

    use super::{FileId, refused};
    use crate::error::RuntimeError;

    #[derive(Debug, Clone)]
    pub(super) struct Handle {
        pub(super) id: FileId,
    }

    pub(super) fn walk(
        _start: Option<&Handle>,
        path: &Path,
        _start_path: &Path,
        _parts: &[&OsStr],
    ) -> Result<Handle, RuntimeError> {
        Err(refused(
            path,
            "granting directories needs a unix host (directories are opened by descriptor, without following links)".into(),
        ))
    }

    pub(super) fn from_opened(_dir: &std::fs::File, path: &Path) -> Result<Handle, RuntimeError> {
        walk(None, path, path, &[])
    }

    impl Handle {
        pub(super) fn descriptor_path(&self) -> PathBuf {
            PathBuf::new()
        }

        pub(super) fn ancestors(&self, _path: &Path) -> Result<Vec<FileId>, RuntimeError> {
            Ok(Vec::new())
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_in_any_component_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(base.join("real/inner")).unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("link")).unwrap();
        assert!(HostDir::open(base.join("real/inner")).is_ok());
        for through in ["link", "link/inner"] {
            let err = HostDir::open(base.join(through)).unwrap_err().to_string();
            assert!(err.contains("symbolic link"), "{err}");
            assert!(
                err.contains(&base.join("link").display().to_string()),
                "{err}"
            );
        }
        let root = HostDir::open(&base).unwrap();
        assert!(root.open_beneath("real/inner").is_ok());
        let err = root.open_beneath("link/inner").unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }

    #[test]
    fn beneath_refuses_climbing_and_absolute_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let root = HostDir::open(std::fs::canonicalize(tmp.path()).unwrap()).unwrap();
        for bad in ["..", "a/../..", "/etc"] {
            assert!(root.open_beneath(bad).is_err(), "{bad}");
        }
        assert!(HostDir::open("relative").is_err());
        assert!(HostDir::open("/tmp/../etc").is_err());
    }

    #[test]
    fn files_and_missing_paths_are_refused_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::write(base.join("file"), "x").unwrap();
        let err = HostDir::open(base.join("file")).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        let err = HostDir::open(base.join("missing")).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn the_descriptor_path_reaches_the_opened_directory_after_a_swap() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir(base.join("data")).unwrap();
        std::fs::write(base.join("data/mark"), "original").unwrap();
        let dir = HostDir::open(base.join("data")).unwrap();
        std::fs::rename(base.join("data"), base.join("moved")).unwrap();
        std::fs::create_dir(base.join("other")).unwrap();
        std::fs::write(base.join("other/mark"), "other").unwrap();
        std::os::unix::fs::symlink(base.join("other"), base.join("data")).unwrap();
        let seen = std::fs::read_to_string(dir.descriptor_path().join("mark")).unwrap();
        assert_eq!(seen, "original");
    }

    #[test]
    fn ancestors_end_at_the_root() {
        let root = HostDir::open("/").unwrap();
        assert!(root.ancestors().unwrap().is_empty());
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir(base.join("a")).unwrap();
        let outer = HostDir::open(&base).unwrap();
        let inner = HostDir::open(base.join("a")).unwrap();
        let chain = inner.ancestors().unwrap();
        assert_eq!(chain.first(), Some(&outer.id()));
        assert_eq!(chain.last(), Some(&root.id()));
    }

    /// The open flags of the descriptor behind `dir`, from `/proc/self/fdinfo`.
    #[cfg(target_os = "linux")]
    fn open_flags(dir: &HostDir) -> Option<u32> {
        let fd_path = dir.descriptor_path();
        let fd = fd_path.file_name()?.to_str()?.to_owned();
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
        let octal = info.lines().find_map(|l| l.strip_prefix("flags:"))?.trim();
        u32::from_str_radix(octal, 8).ok()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn granted_directory_is_held_by_a_readable_descriptor_not_o_path() {
        // The steps in between are `O_PATH` (search permission suffices); the
        // directory granted is opened for reading.
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        std::fs::create_dir_all(base.join("a/b/c")).unwrap();
        let top = HostDir::open(&base).unwrap();
        for dir in [
            HostDir::open(base.join("a/b/c")).unwrap(),
            HostDir::open(base.join("a")).unwrap(),
            top.open_beneath("a/b").unwrap(),
            top.open_beneath("a").unwrap(),
            top.clone(),
        ] {
            let flags = open_flags(&dir).unwrap();
            let path_bit = rustix::fs::OFlags::PATH.bits();
            // O_DIRECTORY shows the flags were read at all.
            let directory_bit = rustix::fs::OFlags::DIRECTORY.bits();
            assert_ne!(
                flags & directory_bit,
                0,
                "{}: flags {flags:o}",
                dir.path().display()
            );
            assert_eq!(
                flags & path_bit,
                0,
                "{}: flags {flags:o}",
                dir.path().display()
            );
            assert_eq!(flags & 0o3, 0, "{}: read-only access", dir.path().display());
            assert!(std::fs::read_dir(dir.descriptor_path()).is_ok());
        }
    }
}
