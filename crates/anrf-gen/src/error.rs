//! The crate's one error type.

use std::path::PathBuf;

/// Why `anrf-gen` could not do a job at all. Decisions (an intent that asks for an
/// override, a model reply that does not verify) are values, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// The built-in intent model shipped with this build is unreadable.
    #[error("the built-in intent model is invalid: {reason}")]
    Model { reason: String },

    /// A built-in detection rule does not compile.
    #[error("the built-in detection rule `{id}` is invalid: {reason}")]
    Rule { id: &'static str, reason: String },

    /// A line of a labelled dataset could not be read.
    #[error("line {line} of the intent dataset `{name}` is invalid: {reason}")]
    Dataset {
        name: String,
        line: usize,
        reason: String,
    },

    /// The model client's configuration is invalid.
    #[error("invalid model client configuration from {source_name}: {reason}")]
    Config { source_name: String, reason: String },

    /// A configuration file could not be read.
    #[error("cannot read the model client configuration `{}`: {source}", path.display())]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Nothing answers at the configured endpoint.
    #[error(
        "no model server answers at `{endpoint}`: {reason}\n\
         start one, e.g. `ollama serve` (then `ollama pull {model}`) or llama.cpp's \
         `llama-server -m MODEL.gguf --port 11434`, or point anrf at another server with \
         `ANRF_LLM_ENDPOINT=https://HOST/v1` (or `--endpoint`)"
    )]
    Unreachable {
        endpoint: String,
        model: String,
        reason: String,
    },

    /// The server did not answer within the request timeout.
    #[error(
        "the model server at `{endpoint}` did not answer within {timeout_ms} ms \
         (raise it with `--llm-timeout` or `timeout_secs` in the config file)"
    )]
    Timeout { endpoint: String, timeout_ms: u128 },

    /// The server kept failing with a retryable status until the retry budget ran out.
    #[error(
        "the model server at `{endpoint}` failed {attempts} times, last with HTTP {status}: {body}"
    )]
    GaveUp {
        endpoint: String,
        attempts: u32,
        status: u16,
        body: String,
    },

    /// The server refused the request with a status that retrying cannot fix.
    #[error(
        "the model server at `{endpoint}` refused the request with HTTP {status}: {body}{hint}"
    )]
    Refused {
        endpoint: String,
        status: u16,
        body: String,
        hint: &'static str,
    },

    /// The server answered, but not with an OpenAI-compatible chat completion.
    #[error("the model server at `{endpoint}` sent a malformed reply: {reason}")]
    Malformed { endpoint: String, reason: String },

    /// Any other transport failure.
    #[error("request to the model server at `{endpoint}` failed: {reason}")]
    Transport { endpoint: String, reason: String },

    /// A file of the module being generated could not be written or moved.
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The output directory of `anrf gen` already holds something.
    #[error(
        "`{}` already exists and is not empty; generation writes only to a new or empty directory \
         (choose another `-o DIR` or remove it)",
        path.display()
    )]
    OutputExists { path: PathBuf },

    /// The guest could not be built for a reason the model cannot fix (no toolchain).
    #[error("the generated guest could not be built: {source}")]
    Build { source: Box<anrf_build::BuildError> },

    /// The verifier could not run at all.
    #[error("the generated module could not be verified: {source}")]
    Verify {
        source: Box<anrf_verify::VerifyError>,
    },
}
