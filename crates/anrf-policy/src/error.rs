//! The one error type of `anrf-policy`: the job could not be done at all (the
//! policy file does not parse, a key file is malformed). Refusals of overrides and
//! capabilities are not errors: they are decisions, returned as values.

/// Why `anrf-policy` could not do its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The project policy file is not valid TOML or does not have the expected shape.
    #[error("invalid project policy `{origin}`: {message}")]
    PolicyFile { origin: String, message: String },
    /// A value in the project policy file is refused.
    #[error("invalid project policy `{origin}`: `{field}`: {message}")]
    PolicyValue {
        origin: String,
        field: String,
        message: String,
    },
    /// The Cedar rules do not parse or do not validate against the anrf schema.
    #[error("invalid Cedar rules in `{origin}`: {message}")]
    Cedar { origin: String, message: String },
    /// A private key file could not be read as a key.
    #[error("invalid private key file: {reason}")]
    KeyFile { reason: String },
    /// A public key is malformed.
    #[error("invalid public key `{key}`: {reason}")]
    PublicKey { key: String, reason: String },
    /// A signature is malformed.
    #[error("invalid signature: {reason}")]
    SignatureEncoding { reason: String },
    /// A manifest could not be edited.
    #[error("cannot edit manifest `{origin}`: {message}")]
    ManifestEdit { origin: String, message: String },
    /// A time could not be formatted or parsed.
    #[error("invalid time `{value}`: {reason}")]
    Time { value: String, reason: String },
    /// The override index record could not be read.
    #[error("invalid override index record `{origin}`: {message}")]
    IndexRecord { origin: String, message: String },
}
