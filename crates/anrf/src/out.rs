//! Everything the CLI writes to stdout goes through here. A closed pipe
//! (`anrf schema | head -1`) is not an error: the reader has what it wanted, so the
//! command ends with the exit code it would have had. Any other write error is
//! reported.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether anything was written to stdout: with `--json`, an error or refusal
/// is printed as a JSON object only when the command printed nothing itself.
static WROTE: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout as it is and flushes.
pub(crate) fn print(text: &str) -> miette::Result<()> {
    if !text.is_empty() {
        WROTE.store(true, Ordering::Relaxed);
    }
    write_to(&mut io::stdout().lock(), text.as_bytes())
}

/// Stdout, locked, for a command that writes it itself (raw guest output,
/// streamed exports); counted as written.
pub(crate) fn stdout() -> io::StdoutLock<'static> {
    WROTE.store(true, Ordering::Relaxed);
    io::stdout().lock()
}

/// Whether [`print`] or [`stdout`] wrote anything.
pub(crate) fn wrote_anything() -> bool {
    WROTE.load(Ordering::Relaxed)
}

/// Writes `text` and a newline to stdout and flushes.
pub(crate) fn println(text: &str) -> miette::Result<()> {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    print(&line)
}

/// `println!` that goes through [`println`]: evaluates to `miette::Result<()>`, so
/// a closed pipe is no panic and any other write error is reported.
macro_rules! outln {
    () => {
        $crate::out::println("")
    };
    ($($arg:tt)*) => {
        $crate::out::println(&format!($($arg)*))
    };
}
pub(crate) use outln;

fn write_to(out: &mut impl io::Write, bytes: &[u8]) -> miette::Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(miette::miette!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails every write with one error kind.
    struct Failing(io::ErrorKind);

    impl io::Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_but_other_failures_are() {
        assert!(write_to(&mut Failing(io::ErrorKind::BrokenPipe), b"x").is_ok());
        let err = write_to(&mut Failing(io::ErrorKind::StorageFull), b"x").unwrap_err();
        assert!(err.to_string().contains("cannot write to stdout"), "{err}");
        let mut buf = Vec::new();
        write_to(&mut buf, b"ok\n").unwrap();
        assert_eq!(buf, b"ok\n");
    }
}
