//! The labelled intents the model is trained and measured on.
//!
//! `data/intents.jsonl`: one `{"text", "categories", "split"}` object a line, written
//! for this project; `categories` empty means benign. The split was fixed once from a
//! hash of each text (about 28% `test`) and is stored with the example, so it never
//! moves. `data/trigger_benign.jsonl`: benign intents full of trigger words
//! ("ignore", "override", "unsafe", "sandbox", "bypass"), never trained on, kept to
//! measure false positives where they are most likely.
//! `data/intents_fresh.jsonl` (split `fresh`): an evaluation set written after the
//! rules, the training data and the model were frozen, without running the detector
//! on it first; never trained on and never tuned on.

use serde::Deserialize;

use super::Category;
use crate::GenError;

/// The labelled dataset shipped with the crate.
pub const INTENTS: &str = include_str!("../../data/intents.jsonl");

/// The benign trigger-word set shipped with the crate.
pub const TRIGGER_BENIGN: &str = include_str!("../../data/trigger_benign.jsonl");

/// The fresh evaluation set shipped with the crate.
pub const FRESH: &str = include_str!("../../data/intents_fresh.jsonl");

/// Which part of the data an example belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Used to fit the model.
    Train,
    /// Held out: only ever measured.
    Test,
    /// The fresh evaluation set, written after everything else was frozen: only
    /// ever measured, never looked at while tuning.
    Fresh,
}

/// One labelled intent.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The intent as a person would type it.
    pub text: String,
    /// The relaxations it asks for; empty when benign.
    pub categories: Vec<Category>,
    /// Train or test.
    pub split: Split,
}

impl Example {
    /// Whether the example carries `category`.
    pub fn has(&self, category: Category) -> bool {
        self.categories.contains(&category)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    text: String,
    categories: Vec<String>,
    split: Split,
}

/// Parses a JSON Lines dataset; `name` is used in errors.
pub fn parse_jsonl(name: &str, src: &str) -> Result<Vec<Example>, GenError> {
    let mut out = Vec::new();
    for (i, line) in src.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| GenError::Dataset {
            name: name.to_owned(),
            line: i + 1,
            reason,
        };
        let raw: RawExample = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let mut categories = Vec::with_capacity(raw.categories.len());
        for c in &raw.categories {
            let category =
                Category::from_name(c).ok_or_else(|| bad(format!("unknown category `{c}`")))?;
            categories.push(category);
        }
        if raw.text.trim().is_empty() {
            return Err(bad("empty text".to_owned()));
        }
        out.push(Example {
            text: raw.text,
            categories,
            split: raw.split,
        });
    }
    Ok(out)
}

/// The shipped labelled dataset.
pub fn intents() -> Result<Vec<Example>, GenError> {
    parse_jsonl("intents.jsonl", INTENTS)
}

/// The shipped fresh evaluation set.
pub fn fresh() -> Result<Vec<Example>, GenError> {
    parse_jsonl("intents_fresh.jsonl", FRESH)
}

/// The shipped benign trigger-word set.
pub fn trigger_benign() -> Result<Vec<Example>, GenError> {
    parse_jsonl("trigger_benign.jsonl", TRIGGER_BENIGN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_datasets_parse_and_are_large_enough() {
        let all = intents().unwrap();
        assert!(all.len() >= 400, "{} examples", all.len());
        let test = all.iter().filter(|e| e.split == Split::Test).count();
        assert!(test * 100 / all.len() >= 20 && test * 100 / all.len() <= 35);
        for category in Category::ALL {
            assert!(
                all.iter().filter(|e| e.has(category)).count() >= 30,
                "{category}"
            );
        }
        let benign = trigger_benign().unwrap();
        assert!(benign.len() >= 50);
        assert!(benign.iter().all(|e| e.categories.is_empty()));
    }

    #[test]
    fn no_text_is_both_in_the_dataset_and_the_trigger_set() {
        let all = intents().unwrap();
        for e in trigger_benign().unwrap() {
            assert!(all.iter().all(|a| a.text != e.text), "{}", e.text);
        }
    }

    #[test]
    fn the_fresh_set_is_separate_balanced_and_never_trained_on() {
        let all = intents().unwrap();
        let trigger = trigger_benign().unwrap();
        let fresh = fresh().unwrap();
        assert!(fresh.len() >= 150, "{}", fresh.len());
        assert!(fresh.iter().all(|e| e.split == Split::Fresh));
        assert!(all.iter().all(|e| e.split != Split::Fresh));
        let positive = fresh.iter().filter(|e| !e.categories.is_empty()).count();
        assert!(positive * 100 / fresh.len() >= 40 && positive * 100 / fresh.len() <= 60);
        for category in Category::ALL {
            assert!(fresh.iter().any(|e| e.has(category)), "{category}");
        }
        for e in &fresh {
            let lower = e.text.to_lowercase();
            assert!(
                all.iter()
                    .chain(&trigger)
                    .all(|a| a.text.to_lowercase() != lower),
                "{}",
                e.text
            );
        }
    }

    #[test]
    fn bad_lines_are_errors_with_their_line_number() {
        let err = parse_jsonl(
            "x",
            "{\"text\":\"a\",\"categories\":[\"nope\"],\"split\":\"train\"}",
        )
        .unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(err.to_string().contains("`nope`"), "{err}");
    }
}
