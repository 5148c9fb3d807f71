//! Errors of this crate. A manifest error names the file, line and column, what is
//! wrong and how to fix it; on a terminal it renders as a miette diagnostic with the
//! offending line underlined.

use std::path::PathBuf;

use miette::{Diagnostic, NamedSource, SourceSpan};

use crate::fsread::ReadError;

/// Everything that can go wrong reading, checking or hashing a module.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[non_exhaustive]
pub enum FormatError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no manifest `anrf.toml` in `{}`", dir.display())]
    #[diagnostic(help(
        "create a module with `anrf init NAME`, or point at a directory that has an `anrf.toml`"
    ))]
    NoManifest { dir: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(Box<ManifestError>),
    #[error("source `{}` listed in `implementation.sources` cannot be read", path.display())]
    #[diagnostic(help("create the file, or remove it from `implementation.sources` in anrf.toml"))]
    MissingSource {
        path: PathBuf,
        #[source]
        source: ReadError,
    },
    #[error("artifact `{}` recorded in `implementation.artifact` cannot be read", path.display())]
    #[diagnostic(help("rebuild it with `anrf build {module}`"))]
    MissingArtifact {
        path: PathBuf,
        module: String,
        #[source]
        source: ReadError,
    },
    #[error(transparent)]
    #[diagnostic(help(
        "anrf reads a module's files only as regular files inside its directory, within documented sizes (docs/manifest.md)"
    ))]
    Unreadable(ReadError),
    #[error("cannot render the manifest as TOML")]
    Serialize(#[source] toml::ser::Error),
}

/// A problem at one place in a manifest.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ManifestError {
    /// The manifest file as given.
    pub path: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[help]
    pub help: Option<String>,
    #[source_code]
    src: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
}

impl ManifestError {
    pub(crate) fn new(
        path: &str,
        source: &str,
        span: std::ops::Range<usize>,
        message: String,
        help: Option<String>,
    ) -> Self {
        let start = span.start.min(source.len());
        let len = span
            .end
            .saturating_sub(span.start)
            .min(source.len() - start);
        let (line, column) = line_column(source, start);
        let label = short_label(&message);
        Self {
            path: path.to_owned(),
            line,
            column,
            message,
            help,
            src: NamedSource::new(path, source.to_owned()),
            span: (start, len).into(),
            label,
        }
    }

    /// Plain text for a pipe or a log: `path:line:col: message`, then the help.
    pub fn plain(&self) -> String {
        match &self.help {
            Some(help) => format!("{self}\n  help: {help}"),
            None => self.to_string(),
        }
    }
}

impl From<ManifestError> for FormatError {
    fn from(e: ManifestError) -> Self {
        FormatError::Manifest(Box::new(e))
    }
}

fn short_label(message: &str) -> String {
    if message.starts_with("missing") {
        "missing here".into()
    } else if message.starts_with("unknown") {
        "not allowed here".into()
    } else {
        "here".into()
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        assert_eq!(line_column("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_column("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_column("a\nbc\nd", 5), (3, 1));
        assert_eq!(line_column("é\nx", 3), (2, 1));
    }
}
