//! The one `unsafe` operation of the workspace: loading precompiled native code.

use wasmtime::{Engine, Module};

/// Native code that passed its integrity check against this machine's cache key,
/// or that this process compiled a moment ago. Only the cache can make one.
#[derive(Debug)]
pub(crate) struct CheckedArtifact {
    bytes: Vec<u8>,
}

impl CheckedArtifact {
    /// Bytes whose HMAC matched the per-home key for this cache entry.
    pub(super) fn verified(bytes: Vec<u8>) -> CheckedArtifact {
        CheckedArtifact { bytes }
    }

    /// Bytes `Engine::precompile_module` produced in this process.
    pub(super) fn freshly_compiled(bytes: Vec<u8>) -> CheckedArtifact {
        CheckedArtifact { bytes }
    }
}

/// Loads a checked artifact into `engine`.
#[expect(
    unsafe_code,
    reason = "wasmtime cannot verify native code; the integrity check stands in for it"
)]
pub(crate) fn load(engine: &Engine, artifact: &CheckedArtifact) -> wasmtime::Result<Module> {
    // SAFETY: `Module::deserialize` trusts its input to be an artifact produced
    // by `Engine::precompile_module` of a compatible engine. A `CheckedArtifact`
    // is either bytes this process just produced with `precompile_module`, or
    // bytes read from the cache whose HMAC-SHA256, under a secret key kept in
    // the cache directory, matches the one written when this process family
    // produced them for exactly this cache key (module digest, engine settings,
    // wasmtime version). Wasmtime additionally checks the engine compatibility
    // header before using the code.
    unsafe { Module::deserialize(engine, &artifact.bytes) }
}
