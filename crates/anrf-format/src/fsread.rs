//! Bounded reads of regular files, for every file anrf reads on a decision's way:
//! manifests, sources, artifacts, policy files.
//!
//! A file is opened once, with `O_NOFOLLOW` (a symbolic link as the last component
//! is refused, not followed), `O_NONBLOCK` (opening a FIFO never waits for a
//! writer) and `O_NOCTTY`; what was opened is then checked on the descriptor: a
//! regular file no larger than the limit. The read itself stops one byte past
//! the limit, so a file that grows after the check is refused too, and a device
//! such as `/dev/zero` is never read at all. Directory components are resolved as
//! usual: callers that must not follow links in them open beneath a directory
//! descriptor instead.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("`{path}` does not exist")]
    NotFound { path: PathBuf },
    #[error(
        "`{path}` is a symbolic link; anrf reads only regular files, never through a link (replace it by the file it points to)"
    )]
    Symlink { path: PathBuf },
    #[error("`{path}` is a {kind}, not a regular file; anrf reads only regular files")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("`{path}` is {size} bytes, more than the {limit} bytes anrf reads from such a file")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "`{path}` is {problem}; anrf trusts it only when it is owned by you or root and writable by no one else (fix: `{fix}`)"
    )]
    NotPrivate {
        path: PathBuf,
        problem: String,
        fix: String,
    },
    #[error("`{path}` is not valid UTF-8 text")]
    NotUtf8 { path: PathBuf },
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReadError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NotFound { path }
            | Self::Symlink { path }
            | Self::NotRegular { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotPrivate { path, .. }
            | Self::NotUtf8 { path }
            | Self::Io { path, .. } => path,
        }
    }
}

/// Opens `path` as a regular file of at most `max_bytes`, without following a
/// final symbolic link and without blocking on a FIFO; returns the open file and
/// the metadata of what was opened.
pub fn open_regular(path: &Path, max_bytes: u64) -> Result<(File, Metadata), ReadError> {
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags_bits(flags))
        .open(path)
        .map_err(|source| open_error(path, source))?;
    let meta = file.metadata().map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check_regular(path, &meta)?;
    if meta.len() > max_bytes {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            limit: max_bytes,
        });
    }
    Ok((file, meta))
}

/// The bytes of the regular file at `path`, at most `max_bytes` of them (see
/// [`open_regular`]).
pub fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let (file, meta) = open_regular(path, max_bytes)?;
    read_opened(path, file, &meta, max_bytes)
}

/// The UTF-8 text of the regular file at `path`, at most `max_bytes` long.
pub fn read_regular_text(path: &Path, max_bytes: u64) -> Result<String, ReadError> {
    let bytes = read_regular(path, max_bytes)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// Reads an already opened regular file (from [`open_regular`]) to its end,
/// refusing it if it holds more than `max_bytes` by then.
pub fn read_opened(
    path: &Path,
    file: File,
    meta: &Metadata,
    max_bytes: u64,
) -> Result<Vec<u8>, ReadError> {
    let capacity = usize::try_from(meta.len().min(max_bytes)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let read = bytes.len() as u64;
    if read > max_bytes {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: read.max(meta.len()),
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

/// Opens the directory at `path` once (the last component is not followed if it
/// is a symbolic link), to read files beneath it with [`read_beneath`].
pub fn open_dir(path: &Path) -> Result<File, ReadError> {
    let flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(flags_bits(flags))
        .open(path)
        .map_err(|source| match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => ReadError::Symlink {
                path: path.to_path_buf(),
            },
            Ok(meta) if !meta.is_dir() => ReadError::NotRegular {
                path: path.to_path_buf(),
                kind: kind_of(&meta),
            },
            _ => open_error(path, source),
        })?;
    Ok(dir)
}

/// Opens the directory at `path` once, following symbolic links in it as the
/// caller named it (a FIFO or a file in its place is refused, without waiting).
pub fn open_dir_following(path: &Path) -> Result<File, ReadError> {
    let flags = OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    OpenOptions::new()
        .read(true)
        .custom_flags(flags_bits(flags))
        .open(path)
        .map_err(|source| match std::fs::metadata(path) {
            Ok(meta) if !meta.is_dir() => ReadError::NotRegular {
                path: path.to_path_buf(),
                kind: kind_of(&meta),
            },
            _ => open_error(path, source),
        })
}

/// Opens `rel` beneath the directory `dir` (opened with [`open_dir`]; `dir_path`
/// names it in errors) as a regular file of at most `max_bytes`: no component may
/// be a symbolic link and the path may not leave `dir` (`openat2` with
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`), so what is read is the file inside
/// the directory that was opened, whatever is renamed or linked meanwhile.
pub fn open_beneath(
    dir: &File,
    dir_path: &Path,
    rel: &Path,
    max_bytes: u64,
) -> Result<(File, Metadata), ReadError> {
    use rustix::fs::{Mode, ResolveFlags};
    let path = dir_path.join(rel);
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let fd = rustix::fs::openat2(dir, rel, flags, Mode::empty(), resolve).map_err(|errno| {
        if errno == rustix::io::Errno::LOOP || errno == rustix::io::Errno::XDEV {
            ReadError::Symlink { path: path.clone() }
        } else {
            open_error(&path, errno.into())
        }
    })?;
    let file = File::from(fd);
    let meta = file.metadata().map_err(|source| ReadError::Io {
        path: path.clone(),
        source,
    })?;
    check_regular(&path, &meta)?;
    if meta.len() > max_bytes {
        return Err(ReadError::TooLarge {
            path,
            size: meta.len(),
            limit: max_bytes,
        });
    }
    Ok((file, meta))
}

/// The bytes of `rel` beneath `dir` (see [`open_beneath`]), at most `max_bytes`.
pub fn read_beneath(
    dir: &File,
    dir_path: &Path,
    rel: &Path,
    max_bytes: u64,
) -> Result<Vec<u8>, ReadError> {
    let (file, meta) = open_beneath(dir, dir_path, rel, max_bytes)?;
    read_opened(&dir_path.join(rel), file, &meta, max_bytes)
}

/// Checks that the file `meta` describes is owned by the current user or by root
/// and is writable by neither its group nor others: a file another account could
/// have written is not a trust root.
pub fn check_private(path: &Path, meta: &Metadata) -> Result<(), ReadError> {
    let me = rustix::process::getuid().as_raw();
    let owner = meta.uid();
    let mode = meta.mode();
    let quoted = shell_quote(path);
    if owner != me && owner != 0 {
        return Err(ReadError::NotPrivate {
            path: path.to_path_buf(),
            problem: format!("owned by user id {owner}, not by you (user id {me}) or root"),
            fix: format!("cp {quoted} {quoted}.mine && mv {quoted}.mine {quoted}"),
        });
    }
    if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "its group and others",
            (true, false) => "its group",
            _ => "others",
        };
        return Err(ReadError::NotPrivate {
            path: path.to_path_buf(),
            problem: format!("writable by {who} (mode {:04o})", mode & 0o7777),
            fix: format!("chmod go-w {quoted}"),
        });
    }
    Ok(())
}

/// What kind of file `meta` describes, in words, for errors.
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "regular file"
    } else if t.is_dir() {
        "directory"
    } else if t.is_symlink() {
        "symbolic link"
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

fn check_regular(path: &Path, meta: &Metadata) -> Result<(), ReadError> {
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta),
        })
    }
}

fn open_error(path: &Path, source: std::io::Error) -> ReadError {
    let path_buf = path.to_path_buf();
    if source.kind() == std::io::ErrorKind::NotFound {
        return ReadError::NotFound { path: path_buf };
    }
    // `O_NOFOLLOW` on a final symbolic link fails with `ELOOP`.
    if source.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
        && std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
    {
        return ReadError::Symlink { path: path_buf };
    }
    ReadError::Io {
        path: path_buf,
        source,
    }
}

fn flags_bits(flags: OFlags) -> i32 {
    i32::try_from(flags.bits()).unwrap_or(i32::MAX)
}

fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn reads_a_regular_file_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(read_regular(&path, 5).unwrap(), b"hello");
        assert_eq!(read_regular_text(&path, 100).unwrap(), "hello");
    }

    #[test]
    fn refuses_a_file_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        let err = read_regular(&path, 4).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::TooLarge {
                    size: 5,
                    limit: 4,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_a_huge_sparse_file_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        File::create(&path).unwrap().set_len(16 << 30).unwrap();
        let err = read_regular(&path, 1 << 20).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err:?}");
    }

    #[test]
    fn refuses_a_final_symlink_even_to_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read_regular(&link, 10).unwrap_err();
        assert!(matches!(err, ReadError::Symlink { .. }), "{err:?}");
        assert!(err.to_string().contains("symbolic link"));
    }

    #[test]
    fn refuses_a_device_and_a_link_to_it() {
        let err = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "character device",
                    ..
                }
            ),
            "{err:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(
            read_regular(&link, 10).unwrap_err(),
            ReadError::Symlink { .. }
        ));
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &path,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let err = read_regular(&path, 10).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::NotRegular {
                    kind: "FIFO (named pipe)",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_directory_and_a_missing_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_regular(dir.path(), 10).unwrap_err(),
            ReadError::NotRegular {
                kind: "directory",
                ..
            }
        ));
        assert!(matches!(
            read_regular(&dir.path().join("nope"), 10).unwrap_err(),
            ReadError::NotFound { .. }
        ));
    }

    #[test]
    fn invalid_utf8_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_regular_text(&path, 10).unwrap_err(),
            ReadError::NotUtf8 { .. }
        ));
    }

    #[test]
    fn private_means_no_group_or_other_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        check_private(&path, &meta).unwrap();
        for (mode, who) in [
            (0o664, "its group"),
            (0o646, "others"),
            (0o666, "its group and others"),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            let err = check_private(&path, &meta).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(who), "{text}");
            assert!(text.contains("chmod go-w"), "{text}");
        }
    }

    #[test]
    fn beneath_refuses_links_in_any_component_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("module");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/main.rs"), b"fn main() {}").unwrap();
        std::fs::write(dir.path().join("outside"), b"secret").unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink("src", root.join("alias")).unwrap();
        let opened = open_dir(&root).unwrap();
        assert_eq!(
            read_beneath(&opened, &root, Path::new("src/main.rs"), 100).unwrap(),
            b"fn main() {}"
        );
        for rel in ["up/outside", "alias/main.rs", "../outside", "/etc/hostname"] {
            let err = read_beneath(&opened, &root, Path::new(rel), 100).unwrap_err();
            assert!(
                matches!(err, ReadError::Symlink { .. } | ReadError::Io { .. }),
                "{rel}: {err:?}"
            );
        }
    }

    #[test]
    fn beneath_reads_the_opened_directory_after_a_rename() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("module");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("f"), b"approved").unwrap();
        let opened = open_dir(&root).unwrap();
        std::fs::rename(&root, dir.path().join("moved")).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("f"), b"swapped").unwrap();
        assert_eq!(
            read_beneath(&opened, &root, Path::new("f"), 100).unwrap(),
            b"approved"
        );
    }

    #[test]
    fn open_dir_refuses_a_link_and_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/etc", &link).unwrap();
        assert!(matches!(
            open_dir(&link).unwrap_err(),
            ReadError::Symlink { .. }
        ));
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            open_dir(&file).unwrap_err(),
            ReadError::NotRegular {
                kind: "regular file",
                ..
            }
        ));
    }
}
