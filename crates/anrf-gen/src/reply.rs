//! The model's reply, parsed strictly: `### FILE: <path>` headers, each followed by
//! one fenced block. Only `anrf.toml` and Rust sources directly under `src/` are
//! accepted; anything else (a `Cargo.toml`, a `build.rs`, a path that climbs out)
//! is refused, so the model cannot add dependencies or build scripts.

use std::collections::BTreeMap;

/// The header that opens a file in a reply.
pub const FILE_HEADER: &str = "### FILE:";

/// The largest file accepted from a reply, in bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// The most Rust sources accepted from one reply.
pub const MAX_SOURCES: usize = 16;

/// The files of one well-formed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyFiles {
    /// The manifest's text, as the model wrote it.
    pub manifest: String,
    /// Rust sources by module-relative path (`src/main.rs`, ...), `src/main.rs` always present.
    pub sources: BTreeMap<String, String>,
}

/// Why a reply is malformed; fed back to the model as a repair message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a reply. Prose before the first header and after a block's closing fence
/// is ignored; everything else must follow the format.
pub fn parse(reply: &str) -> Result<ReplyFiles, Malformed> {
    let lines: Vec<&str> = reply.lines().collect();
    let headers: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(FILE_HEADER))
        .map(|(i, _)| i)
        .collect();
    if headers.is_empty() {
        return Err(Malformed(format!(
            "the reply has no `{FILE_HEADER} <path>` header; every file must start with one, followed by a fenced code block"
        )));
    }
    let mut manifest = None;
    let mut sources = BTreeMap::new();
    for (n, &start) in headers.iter().enumerate() {
        let end = headers.get(n + 1).copied().unwrap_or(lines.len());
        let path = lines[start].trim_start()[FILE_HEADER.len()..]
            .trim()
            .trim_matches('`')
            .trim();
        let body = block(path, &lines[start + 1..end])?;
        if body.len() > MAX_FILE_BYTES {
            return Err(Malformed(format!(
                "`{path}` is {} bytes; files from a reply are limited to {MAX_FILE_BYTES} bytes",
                body.len()
            )));
        }
        if path == "anrf.toml" {
            if manifest.replace(body).is_some() {
                return Err(Malformed(
                    "`anrf.toml` appears twice in the reply".to_owned(),
                ));
            }
        } else if is_source_path(path) {
            if sources.insert(path.to_owned(), body).is_some() {
                return Err(Malformed(format!("`{path}` appears twice in the reply")));
            }
        } else {
            return Err(Malformed(format!(
                "`{path}` is not accepted: a reply may hold only `anrf.toml` and Rust sources directly under `src/` \
                 (anrf writes `Cargo.toml` itself; dependencies and build scripts are not allowed)"
            )));
        }
    }
    let Some(manifest) = manifest else {
        return Err(Malformed(format!(
            "the reply has no `{FILE_HEADER} anrf.toml`; the manifest is required"
        )));
    };
    if !sources.contains_key("src/main.rs") {
        return Err(Malformed(format!(
            "the reply has no `{FILE_HEADER} src/main.rs`; a command module needs it"
        )));
    }
    if sources.len() > MAX_SOURCES {
        return Err(Malformed(format!(
            "the reply has {} Rust sources; at most {MAX_SOURCES} are accepted",
            sources.len()
        )));
    }
    Ok(ReplyFiles { manifest, sources })
}

/// `src/NAME.rs` with `NAME` a Rust identifier (lowercase, digits, `_`).
fn is_source_path(path: &str) -> bool {
    let Some(name) = path
        .strip_prefix("src/")
        .and_then(|p| p.strip_suffix(".rs"))
    else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The content of the one fenced block in a file's section: blank lines, an
/// opening fence of three or more backticks (an info string may follow), the
/// content, and the last line that is exactly that fence. Text after the closing
/// fence is prose and ignored.
fn block(path: &str, section: &[&str]) -> Result<String, Malformed> {
    let Some(open_at) = section.iter().position(|l| !l.trim().is_empty()) else {
        return Err(Malformed(format!(
            "`{path}` has a header but no fenced code block"
        )));
    };
    let open = section[open_at].trim();
    let ticks = open.chars().take_while(|c| *c == '`').count();
    if ticks < 3 {
        return Err(Malformed(format!(
            "`{path}`: the header must be followed by a fenced code block (a line starting with ```), found `{}`",
            crate::prompt::truncate(open, 60)
        )));
    }
    let fence = &open[..ticks];
    let rest = &section[open_at + 1..];
    let Some(close_at) = rest.iter().rposition(|l| l.trim_end() == fence) else {
        return Err(Malformed(format!(
            "`{path}`: the code block is not closed (no line `{fence}` after it)"
        )));
    };
    let mut body = rest[..close_at].join("\n");
    body.push('\n');
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Here you go.\n\n### FILE: anrf.toml\n```toml\nanrf = 1\n```\n\n### FILE: src/main.rs\n```rust\n/// ```\n/// doc\n/// ```\nfn main() {}\n```\nThat's all.\n";

    #[test]
    fn a_good_reply_parses_with_prose_and_inner_fences() {
        let files = parse(GOOD).unwrap();
        assert_eq!(files.manifest, "anrf = 1\n");
        assert_eq!(
            files.sources["src/main.rs"],
            "/// ```\n/// doc\n/// ```\nfn main() {}\n"
        );
    }

    #[test]
    fn malformed_replies_say_what_is_wrong() {
        let cases = [
            ("just some code", "no `### FILE:"),
            ("### FILE: anrf.toml\nanrf = 1\n", "fenced code block"),
            ("### FILE: anrf.toml\n```toml\nanrf = 1\n", "not closed"),
            (
                "### FILE: src/main.rs\n```rust\nfn main(){}\n```\n",
                "no `### FILE: anrf.toml`",
            ),
            (
                "### FILE: anrf.toml\n```\nx\n```\n",
                "no `### FILE: src/main.rs`",
            ),
            (
                "### FILE: Cargo.toml\n```\n[dependencies]\n```\n",
                "anrf writes `Cargo.toml` itself",
            ),
            (
                "### FILE: build.rs\n```\nfn main(){}\n```\n",
                "not accepted",
            ),
            ("### FILE: src/../x.rs\n```\n\n```\n", "not accepted"),
            (
                "### FILE: anrf.toml\n```\nx\n```\n### FILE: anrf.toml\n```\ny\n```\n",
                "twice",
            ),
            ("### FILE: anrf.toml\n", "no fenced code block"),
        ];
        for (reply, expected) in cases {
            let err = parse(reply).unwrap_err();
            assert!(err.0.contains(expected), "{reply:?}: {err}");
        }
    }

    #[test]
    fn source_paths_are_flat_rust_identifiers() {
        assert!(is_source_path("src/main.rs"));
        assert!(is_source_path("src/count_words.rs"));
        for bad in [
            "src/Main.rs",
            "src/a/b.rs",
            "src/.rs",
            "main.rs",
            "src/x.txt",
        ] {
            assert!(!is_source_path(bad), "{bad}");
        }
    }
}
