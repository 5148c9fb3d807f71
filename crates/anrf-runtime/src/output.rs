//! Bounded capture of the guest's stdout and stderr.
//!
//! Bytes up to the cap are kept. A write past the cap keeps what fits, records
//! the overflow and stops the guest with an [`OutputLimitHit`] trap: a flooding
//! guest is cut at once instead of spinning on write errors until its timeout.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The trap that stops a guest writing past its output cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} limit of {cap} bytes reached", stream.name())]
pub(crate) struct OutputLimitHit {
    pub(crate) stream: Stream,
    pub(crate) cap: u64,
}

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    cut: bool,
}

/// A capped in-memory pipe; clones share the same buffer.
#[derive(Debug, Clone)]
pub(crate) struct BoundedPipe {
    stream: Stream,
    cap: usize,
    buffer: Arc<Mutex<Buffer>>,
    // Only the async (WASIp3) path would use this; preview 1 never does.
    async_fallback: MemoryOutputPipe,
}

impl BoundedPipe {
    pub(crate) fn new(stream: Stream, cap: u64) -> BoundedPipe {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        BoundedPipe {
            stream,
            cap,
            buffer: Arc::default(),
            async_fallback: MemoryOutputPipe::new(cap),
        }
    }

    /// The bytes kept so far, and whether output was cut.
    pub(crate) fn contents(&self) -> (Vec<u8>, bool) {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        (buffer.bytes.clone(), buffer.cut)
    }
}

impl OutputStream for BoundedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.cap.saturating_sub(buffer.bytes.len());
        if bytes.len() <= room {
            buffer.bytes.extend_from_slice(&bytes);
            return Ok(());
        }
        buffer.bytes.extend_from_slice(&bytes[..room]);
        buffer.cut = true;
        Err(StreamError::Trap(
            OutputLimitHit {
                stream: self.stream,
                cap: self.cap as u64,
            }
            .into(),
        ))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // A constant permit, so that a write past the cap reaches `write` and is
        // cut there instead of waiting forever for room.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for BoundedPipe {
    async fn ready(&mut self) {}
}

impl IsTerminal for BoundedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for BoundedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        self.async_fallback.async_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_past_the_cap_are_cut_and_stop_the_guest() {
        let pipe = BoundedPipe::new(Stream::Stdout, 10);
        let mut stream = pipe.clone();
        stream.write(Bytes::from_static(b"0123456")).unwrap();
        let err = stream.write(Bytes::from_static(b"789abc")).unwrap_err();
        let StreamError::Trap(trap) = err else {
            panic!("expected a trap")
        };
        let hit = trap.downcast_ref::<OutputLimitHit>().unwrap();
        assert_eq!((hit.stream, hit.cap), (Stream::Stdout, 10));
        assert_eq!(pipe.contents(), (b"0123456789".to_vec(), true));
    }

    #[test]
    fn writes_within_the_cap_are_kept_whole() {
        let pipe = BoundedPipe::new(Stream::Stderr, 10);
        let mut stream = pipe.clone();
        stream.write(Bytes::from_static(b"0123456789")).unwrap();
        assert_eq!(pipe.contents(), (b"0123456789".to_vec(), false));
    }
}
