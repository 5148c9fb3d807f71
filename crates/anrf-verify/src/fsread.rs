//! Stand-in for `anrf_format::fsread` until it is on this branch: bounded
//! reads of regular files that never follow a final symlink and never block
//! on a FIFO. Same API; replaced by a re-export when merged.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("`{}` does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("`{}` is a symbolic link; it is not followed", path.display())]
    Symlink { path: PathBuf },
    #[error("`{}` is a {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("`{}` is {size} bytes, over the limit of {limit}", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("`{}` is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn read_regular(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let p = || path.to_path_buf();
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::NOENT => ReadError::NotFound { path: p() },
        rustix::io::Errno::LOOP => ReadError::Symlink { path: p() },
        e => ReadError::Io {
            path: p(),
            source: e.into(),
        },
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| ReadError::Io {
        path: p(),
        source: e.into(),
    })?;
    let kind = match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => None,
        FileType::Directory => Some("directory"),
        FileType::Fifo => Some("FIFO"),
        FileType::CharacterDevice => Some("character device"),
        FileType::BlockDevice => Some("block device"),
        FileType::Socket => Some("socket"),
        _ => Some("special file"),
    };
    if let Some(kind) = kind {
        return Err(ReadError::NotRegular { path: p(), kind });
    }
    let size = u64::try_from(stat.st_size).unwrap_or(u64::MAX);
    if size > max_bytes {
        return Err(ReadError::TooLarge {
            path: p(),
            size,
            limit: max_bytes,
        });
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io { path: p(), source })?;
    if bytes.len() as u64 > max_bytes {
        return Err(ReadError::TooLarge {
            path: p(),
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

pub(crate) fn read_regular_text(path: &Path, max_bytes: u64) -> Result<String, ReadError> {
    String::from_utf8(read_regular(path, max_bytes)?).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })
}
