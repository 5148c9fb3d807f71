//! Lines and columns of manifest entries, so metadata and override findings
//! point at the exact place in `anrf.toml` (and `anrf explain` can cite it).
//!
//! The manifest is parsed once, into an index of every key's and array
//! element's byte offset; a lookup then costs the depth of its path, plus at
//! most [`CHECKPOINT`] bytes to turn the offset into a column. Locating every
//! entry of a manifest with tens of thousands of `sources` is linear in its size.

use std::collections::HashMap;

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

/// Bytes between two character-count checkpoints.
const CHECKPOINT: usize = 4096;

/// A key's or element's offset and what it holds.
#[derive(Debug, Clone, Default)]
struct Node {
    /// Where the key (for a table entry) or the value (for an array element) starts.
    start: usize,
    children: Children,
}

#[derive(Debug, Clone, Default)]
enum Children {
    #[default]
    None,
    Table(HashMap<String, Node>),
    Array(Vec<Node>),
}

/// The manifest's text, for locating entries.
#[derive(Debug, Clone)]
pub(crate) struct ManifestText {
    file: String,
    src: String,
    /// The parsed entries; `None` when the text does not parse.
    root: Option<HashMap<String, Node>>,
    /// Byte offset of the start of every line.
    line_starts: Vec<usize>,
    /// Characters before byte `i * CHECKPOINT`.
    chars_at: Vec<usize>,
}

impl ManifestText {
    pub(crate) fn new(file: impl Into<String>, src: impl Into<String>) -> Self {
        let src = src.into();
        let root = DeTable::parse(&src).ok().map(|t| table(t.get_ref()));
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let chars_at = std::iter::once(0)
            .chain(src.as_bytes().chunks(CHECKPOINT).scan(0, |n, chunk| {
                *n += chars_in(chunk);
                Some(*n)
            }))
            .collect();
        ManifestText {
            file: file.into(),
            src,
            root,
            line_starts,
            chars_at,
        }
    }

    /// The location of the deepest entry of `path` that exists (the whole file
    /// when not even the first does).
    pub(crate) fn locate(&self, path: &[Key<'_>]) -> Location {
        match self.offset(path) {
            Some(offset) => {
                let (line, column) = self.line_column(offset);
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
        let mut best = None;
        let mut children = Some(ChildrenRef::Table(self.root.as_ref()?));
        for key in path {
            let node = match (key, children) {
                (Key::Name(name), Some(ChildrenRef::Table(t))) => t.get(*name),
                (Key::Index(i), Some(ChildrenRef::Array(a))) => a.get(*i),
                _ => None,
            };
            let Some(node) = node else {
                return best;
            };
            best = Some(node.start);
            children = match &node.children {
                Children::Table(t) => Some(ChildrenRef::Table(t)),
                Children::Array(a) => Some(ChildrenRef::Array(a)),
                Children::None => None,
            };
        }
        best
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_column(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.src.len());
        let line = self.line_starts.partition_point(|start| *start <= offset);
        let line_start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = self.chars_before(offset) - self.chars_before(line_start) + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }

    /// Characters before byte `offset`: the nearest checkpoint, then at most
    /// [`CHECKPOINT`] bytes counted.
    fn chars_before(&self, offset: usize) -> usize {
        let block = offset / CHECKPOINT;
        let base = self.chars_at.get(block).copied().unwrap_or(0);
        let bytes = self
            .src
            .as_bytes()
            .get(block * CHECKPOINT..offset)
            .unwrap_or_default();
        base + chars_in(bytes)
    }
}

#[derive(Clone, Copy)]
enum ChildrenRef<'a> {
    Table(&'a HashMap<String, Node>),
    Array(&'a [Node]),
}

/// Characters whose first byte is in `bytes` (UTF-8: every byte that is not a
/// continuation byte starts one).
fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

fn table(t: &DeTable<'_>) -> HashMap<String, Node> {
    t.iter()
        .map(|(k, v)| {
            (
                k.get_ref().to_string(),
                Node {
                    start: k.span().start,
                    children: children(v),
                },
            )
        })
        .collect()
}

fn children(value: &Spanned<DeValue<'_>>) -> Children {
    match value.get_ref() {
        DeValue::Table(t) => Children::Table(table(t)),
        DeValue::Array(items) => Children::Array(
            items
                .iter()
                .map(|v| Node {
                    start: v.span().start,
                    children: children(v),
                })
                .collect(),
        ),
        _ => Children::None,
    }
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

    #[test]
    fn columns_count_characters_across_checkpoints() {
        // Multi-byte characters before the entry, on a line longer than a checkpoint.
        let pad = "é".repeat(CHECKPOINT);
        let src = format!("anrf = 1\n[intent]\nsummary = \"{pad}\"; x = 1\n");
        let src = src.replace("\"; x = 1", "\"\nlater = 1");
        let text = ManifestText::new("anrf.toml", src.clone());
        assert_eq!(
            text.locate(&[Key::Name("intent"), Key::Name("later")]),
            Location::at("anrf.toml", 4, 1)
        );
        let one_line = format!("anrf = 1\nsummary = \"{pad}\" # c\nx = [\"{pad}\", 2]\n");
        let text = ManifestText::new("anrf.toml", one_line);
        // `2` sits after `x = ["` (6 characters), the padding and `", ` (3).
        let column = u32::try_from(6 + CHECKPOINT + 3 + 1).unwrap();
        assert_eq!(
            text.locate(&[Key::Name("x"), Key::Index(1)]),
            Location::at("anrf.toml", 3, column)
        );
    }

    #[test]
    fn twenty_thousand_sources_on_one_line_are_located() {
        // One line of 20 000 entries: every lookup is exact, and the text is
        // parsed once (a lookup used to parse the whole manifest again and
        // count columns from the start of the text: quadratic).
        let n = 20_000;
        let entries: Vec<String> = (0..n).map(|i| format!("\"src/f{i:05}.rs\"")).collect();
        let src = format!("[implementation]\nsources = [{}]\n", entries.join(", "));
        let text = ManifestText::new("anrf.toml", src);
        for i in [0, 1, n / 2, n - 1] {
            let column = u32::try_from(12 + i * 17).unwrap();
            assert_eq!(
                text.locate(&[
                    Key::Name("implementation"),
                    Key::Name("sources"),
                    Key::Index(i)
                ]),
                Location::at("anrf.toml", 2, column),
                "entry {i}"
            );
        }
        for i in 0..n {
            let at = text.locate(&[
                Key::Name("implementation"),
                Key::Name("sources"),
                Key::Index(i),
            ]);
            assert_eq!(at.line, Some(2));
        }
    }

    #[test]
    fn an_unparsable_text_locates_the_file() {
        let text = ManifestText::new("anrf.toml", "this is = = not toml");
        assert_eq!(
            text.locate(&[Key::Name("this")]),
            Location::file("anrf.toml")
        );
    }
}
