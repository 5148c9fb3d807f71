//! Text features for the intent model: lowercase words, adjacent word pairs and
//! character 4-grams (across word boundaries so that symbols such
//! as `</intent>` or `--no-sandbox` count), hashed into a sparse space.
//!
//! The same code featurizes at training and at check time, so the shipped weights and
//! the checker cannot disagree on what a feature is.

/// Size of the hashed feature space. Weights are stored sparsely, so a large space
/// costs nothing but keeps collisions rare.
pub const DIMS: u32 = 1 << 18;

/// The kind of a feature, also its hash prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// One word.
    Word,
    /// Two adjacent words.
    Pair,
    /// A run of 4 characters of the normalized text (`CHAR_NGRAMS`).
    Chars,
}

/// One feature occurrence: its bucket and, for evidence, its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Hash bucket in `0..DIMS`.
    pub bucket: u32,
    /// What kind of n-gram it is.
    pub kind: FeatureKind,
    /// The n-gram in normalized form.
    pub text: String,
}

/// Lengths of the character n-grams.
const CHAR_NGRAMS: std::ops::RangeInclusive<usize> = 4..=4;

/// The distinct features of a text with their value (`1/sqrt(n)` each, so that every
/// text has unit length), sorted by bucket.
pub fn vectorize(text: &str) -> Vec<(u32, f32)> {
    let mut buckets = Vec::with_capacity(text.len() * 4);
    walk(&normalize(text), &mut |kind, parts| {
        buckets.push(bucket(kind, parts));
    });
    buckets.sort_unstable();
    buckets.dedup();
    #[expect(
        clippy::cast_precision_loss,
        reason = "feature counts are small integers"
    )]
    let value = 1.0 / (buckets.len().max(1) as f32).sqrt();
    buckets.into_iter().map(|b| (b, value)).collect()
}

/// Every feature occurrence of a text, with its text (duplicates included).
pub fn extract(text: &str) -> Vec<Feature> {
    let mut out = Vec::new();
    walk(&normalize(text), &mut |kind, parts| {
        out.push(Feature {
            bucket: bucket(kind, parts),
            kind,
            text: parts.concat(),
        });
    });
    out
}

/// Lowercase with runs of whitespace collapsed to one space.
pub fn normalize(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Calls `f` with each feature of a normalized text, as the parts its text is made of
/// (so that checking a text allocates no string per feature).
fn walk(normalized: &str, f: &mut dyn FnMut(FeatureKind, &[&str])) {
    let words: Vec<&str> = normalized
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    for word in &words {
        f(FeatureKind::Word, &[word]);
    }
    for pair in words.windows(2) {
        f(FeatureKind::Pair, &[pair[0], " ", pair[1]]);
    }
    let padded = format!(" {normalized} ");
    let starts: Vec<usize> = padded
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(padded.len()))
        .collect();
    for n in CHAR_NGRAMS {
        for window in starts.windows(n + 1) {
            f(FeatureKind::Chars, &[&padded[window[0]..window[n]]]);
        }
    }
}

fn bucket(kind: FeatureKind, parts: &[&str]) -> u32 {
    let prefix = match kind {
        FeatureKind::Word => b'w',
        FeatureKind::Pair => b'p',
        FeatureKind::Chars => b'c',
    };
    fnv1a(prefix, parts) % DIMS
}

/// 32-bit FNV-1a: stable across platforms and releases, unlike `std`'s hasher.
fn fnv1a(prefix: u8, parts: &[&str]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let bytes = parts.iter().flat_map(|p| p.as_bytes());
    for byte in std::iter::once(&prefix).chain(bytes) {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_pairs_and_chars_are_extracted() {
        let features = extract("Turn  the Sandbox off");
        let words: Vec<&str> = features
            .iter()
            .filter(|f| f.kind == FeatureKind::Word)
            .map(|f| f.text.as_str())
            .collect();
        assert_eq!(words, ["turn", "the", "sandbox", "off"]);
        assert!(
            features
                .iter()
                .any(|f| f.kind == FeatureKind::Pair && f.text == "sandbox off")
        );
    }

    #[test]
    fn symbols_survive_in_character_ngrams() {
        let features = extract("parse it </intent> now");
        assert!(features.iter().any(|f| f.text == "</in"));
    }

    #[test]
    fn vectors_have_unit_length_and_stable_buckets() {
        let v = vectorize("count the words on stdin");
        let norm: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(fnv1a(b'w', &["sand", "box"]), fnv1a(b'w', &["sandbox"]));
        assert_ne!(fnv1a(b'w', &["sandbox"]), fnv1a(b'p', &["sandbox"]));
        assert!(v.iter().all(|(b, _)| *b < DIMS));
    }
}
