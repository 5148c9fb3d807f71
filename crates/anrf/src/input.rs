//! Bounded reads of the files and the stdin a command is given: every file
//! is opened once as a regular file (a FIFO, a device, a socket or a directory
//! is refused on the opened handle, without waiting), and no more than a stated
//! number of bytes is read, so `/dev/zero` or a huge file is an error, not a
//! read that never ends.

use std::io::Read as _;
use std::path::Path;

use anrf_format::fsread::{self, ReadError};

/// The most bytes of a key file (a PEM key is a few hundred bytes).
pub(crate) const MAX_KEY_BYTES: u64 = 64 << 10;
/// The most bytes of a file of examples for `anrf gen`.
pub(crate) const MAX_EXAMPLES_BYTES: u64 = anrf_format::MAX_MANIFEST_BYTES;
/// The most bytes of an intent given on stdin.
pub(crate) const MAX_INTENT_BYTES: u64 = 1 << 20;

/// The UTF-8 text of the regular file at `path`, at most `max` bytes; `what`
/// names it in the one-line error.
pub(crate) fn read_text(path: &Path, max: u64, what: &str) -> miette::Result<String> {
    fsread::read_regular_text(path, max).map_err(|e| refused(what, &e))
}

/// The text of the regular file at `path`, refused unless it is private to
/// its owner (no permission for group or others): a secret key.
pub(crate) fn read_private_text(path: &Path, max: u64, what: &str) -> miette::Result<String> {
    let (file, meta) = fsread::open_regular(path, max).map_err(|e| refused(what, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            miette::bail!(
                help = format!("run `chmod 600 {}`", path.display()),
                "private key file `{}` is readable by others (mode {mode:o}): refusing to use it",
                path.display()
            );
        }
    }
    let bytes = fsread::read_opened(path, file, &meta, max).map_err(|e| refused(what, &e))?;
    String::from_utf8(bytes).map_err(|_| {
        refused(
            what,
            &ReadError::NotUtf8 {
                path: path.to_path_buf(),
            },
        )
    })
}

/// Stdin as UTF-8 text, at most `max` bytes.
pub(crate) fn read_stdin_text(max: u64, what: &str) -> miette::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| miette::miette!("cannot read {what} from stdin: {e}"))?;
    if bytes.len() as u64 > max {
        miette::bail!("{what} on stdin is more than {max} bytes");
    }
    String::from_utf8(bytes).map_err(|_| miette::miette!("{what} on stdin is not valid UTF-8"))
}

fn refused(what: &str, e: &ReadError) -> miette::Report {
    miette::miette!("cannot read {what}: {e}")
}
