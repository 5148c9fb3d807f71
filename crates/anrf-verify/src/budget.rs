//! How much the verifier reads. Every file it opens is a regular file opened
//! without following a final symbolic link and without blocking on a FIFO
//! (`fsread`), each read is bounded by one of these budgets, and the totals
//! are bounded too; a file over its budget is a finding (or, for the cache
//! key, a module that is not cached), never an unbounded read. Documented in
//! `docs/verify.md` ("What the verifier reads").

/// The manifest, `anrf.toml` (as `anrf_format` reads it).
pub(crate) const MANIFEST_BYTES: u64 = anrf_format::MAX_MANIFEST_BYTES;
/// One Rust source file (the lexical pre-scan's limit as well).
pub(crate) const SOURCE_BYTES: u64 = 1024 * 1024;
/// All Rust source the source checks read for one module.
pub(crate) const SOURCES_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// One cargo file: the guest's `Cargo.toml`, `Cargo.lock` or `build.rs`, or
/// a dependency's `Cargo.toml` in the cargo registry.
pub(crate) const CARGO_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The artifact, `implementation.artifact.path`.
pub(crate) const ARTIFACT_BYTES: u64 = anrf_format::MAX_ARTIFACT_BYTES;

/// Whether every file the module's digests hash (the listed sources and the
/// artifact) is a regular file, not a link, within its budget, so that
/// `anrf_format`'s digests may read them: a FIFO, a device, a link to
/// `/dev/zero` or a 16 GiB sparse file is never handed to a reader that would
/// block on it or read it whole. A module that fails this has no digest (it is
/// not cached, and approvals cannot bind to it); the checks report each file.
pub(crate) fn digestible(module: &anrf_format::Module) -> bool {
    let fits = |rel: &str, limit: u64| {
        inside(module, rel)
            && std::fs::symlink_metadata(module.resolve(rel))
                .is_ok_and(|meta| meta.is_file() && meta.len() <= limit)
    };
    let implementation = &module.manifest().implementation;
    implementation
        .sources
        .iter()
        .all(|s| fits(s.as_str(), SOURCE_BYTES))
        && implementation
            .artifact
            .as_ref()
            .is_none_or(|a| fits(a.path.as_str(), ARTIFACT_BYTES))
}

/// Whether `rel` lies inside the module directory once every link on the way
/// is resolved (a directory link leading out of the module makes it outside).
/// A path that does not exist counts as inside: it is reported as missing.
pub(crate) fn inside(module: &anrf_format::Module, rel: &str) -> bool {
    let Ok(root) = std::fs::canonicalize(module.dir()) else {
        return true;
    };
    let path = module.resolve(rel);
    // The entry itself is not resolved: a final link is judged where it lies.
    let parent = path.parent().map(std::fs::canonicalize);
    match parent {
        Some(Ok(canonical)) => canonical.starts_with(&root),
        _ => true,
    }
}
