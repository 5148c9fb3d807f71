//! Lines and columns of manifest entries, so metadata and override findings
//! point at the exact place in `anrf.toml` (and `anrf explain` can cite it).

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::finding::Location;

/// One step of a path into the manifest.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    /// A table key.
    Name(&'a str),
    /// An array element.
    Index(usize),
}

/// The manifest's text, for locating entries.
#[derive(Debug, Clone)]
pub(crate) struct ManifestText {
    file: String,
    src: String,
}

impl ManifestText {
    pub(crate) fn new(file: impl Into<String>, src: impl Into<String>) -> Self {
        ManifestText {
            file: file.into(),
            src: src.into(),
        }
    }

    /// The location of the deepest entry of `path` that exists (the whole file
    /// when not even the first does).
    pub(crate) fn locate(&self, path: &[Key<'_>]) -> Location {
        match self.offset(path) {
            Some(offset) => {
                let (line, column) = line_column(&self.src, offset);
                Location::at(self.file.clone(), line, column)
            }
            None => Location::file(self.file.clone()),
        }
    }

    /// The 1-based line of the entry, if it exists.
    pub(crate) fn line(&self, path: &[Key<'_>]) -> Option<u32> {
        self.locate(path).line
    }

    fn offset(&self, path: &[Key<'_>]) -> Option<usize> {
        let root = DeTable::parse(&self.src).ok()?;
        let mut best = None;
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
        for key in path {
            let value: &Spanned<DeValue<'_>> = match (key, table, array) {
                (Key::Name(name), Some(t), _) => {
                    let Some((k, v)) = t.get_key_value(*name) else {
                        return best;
                    };
                    best = Some(k.span().start);
                    v
                }
                (Key::Index(i), _, Some(items)) => {
                    let Some(v) = items.get(*i) else {
                        return best;
                    };
                    best = Some(v.span().start);
                    v
                }
                _ => return best,
            };
            table = None;
            array = None;
            match value.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(a),
                _ => {}
            }
        }
        best
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(src: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "anrf = 1\n[security]\nmemory_safety = \"enforced\"\n[[security.overrides]]\nid = \"a\"\n[[security.overrides]]\nid = \"b\"\n";

    #[test]
    fn locates_keys_and_array_elements() {
        let text = ManifestText::new("anrf.toml", SRC);
        assert_eq!(
            text.locate(&[Key::Name("security"), Key::Name("memory_safety")]),
            Location::at("anrf.toml", 3, 1)
        );
        let second = text.locate(&[
            Key::Name("security"),
            Key::Name("overrides"),
            Key::Index(1),
            Key::Name("id"),
        ]);
        assert_eq!(second.line, Some(7));
    }

    #[test]
    fn missing_entries_fall_back_to_the_deepest_found() {
        let text = ManifestText::new("anrf.toml", SRC);
        let loc = text.locate(&[Key::Name("security"), Key::Name("limits")]);
        assert_eq!(loc.line, Some(2));
        assert_eq!(
            text.locate(&[Key::Name("nothing")]),
            Location::file("anrf.toml")
        );
    }
}
