//! Bounded reads of the small files beside the database (`audit.key`,
//! `checkpoint.sig`) and of a witness file: regular files only, a final
//! symlink is not followed, a FIFO never blocks, and at most a stated number
//! of bytes is read, so a hostile file (a link to `/dev/zero`, a FIFO, a huge
//! sparse file) gives an error instead of a hang or an out-of-memory kill.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    NotFound,
    /// The path is a symbolic link (not followed).
    Symlink,
    /// Not a regular file (a directory, FIFO, device or socket).
    NotRegular(&'static str),
    TooLarge {
        size: u64,
        limit: u64,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => write!(f, "it does not exist"),
            ReadError::Symlink => write!(f, "it is a symbolic link, which is not followed"),
            ReadError::NotRegular(kind) => write!(f, "it is a {kind}, not a regular file"),
            ReadError::TooLarge { size, limit } => {
                write!(f, "it is {size} bytes, more than the {limit} bytes allowed")
            }
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads the regular file at `path`, at most `limit` bytes.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_no_follow(path)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(&meta)));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    // The size can change after the check: read one byte past the limit.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Checks that `path` is a regular file or absent, on a handle opened without
/// following a final link and without blocking: `SQLite` opens the database by
/// name and cannot be handed a descriptor, so this is the check that a FIFO, a
/// device or a directory in the database's place gives a one-line error rather
/// than a wait or a read of `/dev/zero`.
pub(crate) fn check_regular_or_absent(path: &Path) -> Result<(), ReadError> {
    match open_no_follow(path) {
        Err(ReadError::NotFound) => Ok(()),
        Err(e) => Err(e),
        Ok(file) => {
            let meta = file.metadata().map_err(ReadError::Io)?;
            if meta.is_file() {
                Ok(())
            } else {
                Err(ReadError::NotRegular(kind(&meta)))
            }
        }
    }
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> Result<File, ReadError> {
    use rustix::fs::{Mode, OFlags};
    // `O_NONBLOCK`: opening a FIFO returns at once instead of waiting for a
    // writer; it is then refused as not regular. It changes nothing for a
    // regular file.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => Ok(File::from(fd)),
        Err(rustix::io::Errno::NOENT) => Err(ReadError::NotFound),
        Err(rustix::io::Errno::LOOP) => Err(ReadError::Symlink),
        Err(e) => Err(ReadError::Io(e.into())),
    }
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> Result<File, ReadError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(ReadError::Symlink),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::NotFound),
        Err(e) => return Err(ReadError::Io(e)),
    }
    File::open(path).map_err(ReadError::Io)
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "device";
        }
        if t.is_socket() {
            return "socket";
        }
    }
    if meta.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_links_fifos_devices_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, "abc").unwrap();
        assert_eq!(read_bounded(&small, 3).unwrap(), b"abc");
        assert!(matches!(
            read_bounded(&small, 2),
            Err(ReadError::TooLarge { size: 3, limit: 2 })
        ));
        assert!(matches!(
            read_bounded(&dir.path().join("none"), 9),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_bounded(dir.path(), 9),
            Err(ReadError::NotRegular("directory"))
        ));
        #[cfg(unix)]
        {
            let link = dir.path().join("zero");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            assert!(matches!(read_bounded(&link, 9), Err(ReadError::Symlink)));
            assert!(matches!(
                read_bounded(Path::new("/dev/zero"), 9),
                Err(ReadError::NotRegular("device"))
            ));
            let fifo = dir.path().join("fifo");
            rustix::fs::mkfifoat(
                rustix::fs::CWD,
                &fifo,
                rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            )
            .unwrap();
            // Returns at once: no writer is waited for.
            assert!(matches!(
                read_bounded(&fifo, 9),
                Err(ReadError::NotRegular("FIFO"))
            ));
        }
    }
}
