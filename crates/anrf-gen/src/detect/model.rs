//! The intent model: one logistic regression per category over hashed features
//! ([`super::features`]), stored sparsely as JSON.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::Category;
use super::features::{self, FeatureKind};

/// Format version of the JSON model file.
pub const FORMAT: u32 = 1;

/// How a model was trained, stored with it so a reader can reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainInfo {
    /// Number of training examples.
    pub examples: usize,
    /// Passes over the training data.
    pub epochs: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// L2 regularization strength.
    pub l2: f64,
    /// Seed of the example order.
    pub seed: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: u32,
    dims: u32,
    categories: Vec<Category>,
    trained: Option<TrainInfo>,
    bias: [f32; 6],
    /// Weights are stored as integers in units of `1 / weight_scale`.
    weight_scale: u32,
    /// `[bucket, [weight per category]]`, sorted by bucket.
    weights: Vec<(u32, [i32; 6])>,
}

/// Stored weights are integers in thousandths: training rounds to that precision.
const WEIGHT_SCALE: u32 = 1000;

/// A trained (or empty) intent model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    bias: [f32; 6],
    weights: HashMap<u32, [f32; 6]>,
    trained: Option<TrainInfo>,
}

impl Model {
    /// A model that predicts 0.5 for nothing: all weights zero, bias very negative.
    pub fn empty() -> Model {
        Model {
            bias: [-10.0; 6],
            weights: HashMap::new(),
            trained: None,
        }
    }

    /// Builds a model from trained parameters (weights are rounded to thousandths
    /// when stored).
    pub fn from_parts(
        bias: [f32; 6],
        weights: HashMap<u32, [f32; 6]>,
        trained: Option<TrainInfo>,
    ) -> Model {
        Model {
            bias,
            weights,
            trained,
        }
    }

    /// Reads a model file.
    pub fn from_json(src: &str) -> Result<Model, serde_json::Error> {
        let file: ModelFile = serde_json::from_str(src)?;
        if file.format != FORMAT || file.dims != features::DIMS || file.categories != Category::ALL
        {
            return Err(serde::de::Error::custom(format!(
                "model format {} with {} dimensions does not match this build \
                 (format {FORMAT}, {} dimensions); retrain with `anrf eval intent --train`",
                file.format,
                file.dims,
                features::DIMS
            )));
        }
        #[expect(clippy::cast_precision_loss, reason = "small integers")]
        let scale = file.weight_scale.max(1) as f32;
        #[expect(
            clippy::cast_precision_loss,
            reason = "weights in thousandths are small"
        )]
        let weights = file
            .weights
            .into_iter()
            .map(|(b, w)| (b, w.map(|x| x as f32 / scale)))
            .collect();
        Ok(Model {
            bias: file.bias,
            weights,
            trained: file.trained,
        })
    }

    /// Writes the model file, weights sorted by bucket so that retraining on the same
    /// data gives the same bytes.
    pub fn to_json(&self) -> String {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_precision_loss,
            reason = "weights are small and rounded to thousandths"
        )]
        let mut weights: Vec<(u32, [i32; 6])> = self
            .weights
            .iter()
            .map(|(b, w)| (*b, w.map(|x| (x * WEIGHT_SCALE as f32).round() as i32)))
            .collect();
        weights.sort_unstable_by_key(|(b, _)| *b);
        let file = ModelFile {
            format: FORMAT,
            dims: features::DIMS,
            categories: Category::ALL.to_vec(),
            trained: self.trained.clone(),
            bias: self.bias,
            weight_scale: WEIGHT_SCALE,
            weights,
        };
        // One weight row a line: diffs of a retrained model stay readable.
        let mut out = String::from("{\n");
        // Keys in a fixed order, written one by one: a `serde_json::Map` orders its keys
        // differently depending on the crate features a build happens to unify.
        let head: [(&str, serde_json::Value); 5] = [
            ("format", file.format.into()),
            ("dims", file.dims.into()),
            ("categories", serde_json::json!(file.categories)),
            ("trained", serde_json::json!(file.trained)),
            ("weight_scale", file.weight_scale.into()),
        ];
        for (key, value) in head {
            let value = match (key, &file.trained) {
                // A struct serializes its fields in declaration order, whatever the map.
                ("trained", Some(info)) => serde_json::to_string(info).unwrap_or_default(),
                _ => value.to_string(),
            };
            let _ = writeln!(out, "  \"{key}\": {value},");
        }
        // f32 `Display` is the shortest text that reads back to the same value.
        let bias: Vec<String> = file.bias.iter().map(f32::to_string).collect();
        let _ = writeln!(out, "  \"bias\": [{}],", bias.join(","));
        out.push_str("  \"weights\": [\n");
        let rows: Vec<String> = file
            .weights
            .iter()
            .map(|(b, w)| format!("    [{b}, {}]", serde_json::json!(w)))
            .collect();
        out.push_str(&rows.join(",\n"));
        out.push_str("\n  ]\n}\n");
        out
    }

    /// How the model was trained, if it was.
    pub fn trained(&self) -> Option<&TrainInfo> {
        self.trained.as_ref()
    }

    /// Number of stored weight rows.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the model has no weights.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The probability of each category, in [`Category::ALL`] order.
    pub fn predict(&self, text: &str) -> [f32; 6] {
        let mut z = self.bias;
        for (bucket, value) in features::vectorize(text) {
            if let Some(w) = self.weights.get(&bucket) {
                for (zi, wi) in z.iter_mut().zip(w) {
                    *zi += value * wi;
                }
            }
        }
        z.map(sigmoid)
    }

    /// The `k` word or word-pair features of `text` that raised `category`'s score
    /// most, with their contribution to the log-odds (falling back to character
    /// n-grams when no word feature contributes; common words such as "it" or "the"
    /// alone are never shown).
    pub fn top_features(&self, text: &str, category: Category, k: usize) -> Vec<(String, f32)> {
        let vector = features::vectorize(text);
        let value = vector.first().map_or(0.0, |(_, v)| *v);
        let mut words = Vec::new();
        let mut chars = Vec::new();
        for feature in features::extract(text) {
            let Some(w) = self.weights.get(&feature.bucket) else {
                continue;
            };
            let contribution = w[category.index()] * value;
            if contribution <= 0.0
                || (feature.kind == FeatureKind::Word && STOPWORDS.contains(&feature.text.as_str()))
            {
                continue;
            }
            let entry = (feature.text, contribution);
            if feature.kind == FeatureKind::Chars {
                chars.push(entry);
            } else {
                words.push(entry);
            }
        }
        let mut pick = if words.is_empty() { chars } else { words };
        pick.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        pick.dedup_by(|a, b| a.0 == b.0);
        pick.truncate(k);
        pick
    }
}

/// Words too common to explain anything on their own; they still count in the score,
/// they are only left out of the evidence.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "any", "as", "at", "be", "by", "for", "from", "in", "is", "it", "its", "me",
    "my", "of", "on", "or", "so", "that", "the", "this", "to", "with",
];

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_model_detects_nothing() {
        let p = Model::empty().predict("turn the sandbox off");
        assert!(p.iter().all(|x| *x < 0.01));
    }

    #[test]
    fn json_round_trips() {
        let mut weights = HashMap::new();
        weights.insert(7, [0.5, 0.0, -0.25, 0.0, 0.0, 1.0]);
        let model = Model::from_parts([-1.0; 6], weights, None);
        let back = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
    }

    #[test]
    fn a_model_for_another_feature_space_is_refused() {
        let src = Model::empty()
            .to_json()
            .replace(&format!("\"dims\": {}", features::DIMS), "\"dims\": 12");
        let err = Model::from_json(&src).unwrap_err();
        assert!(err.to_string().contains("retrain"), "{err}");
    }

    #[test]
    fn evidence_skips_stopwords_and_ranks_by_contribution() {
        let mut weights = HashMap::new();
        for (text, w) in [("it", 2.0), ("sandbox", 1.0), ("off", 0.5)] {
            let bucket = features::extract(text)
                .into_iter()
                .find(|f| f.kind == FeatureKind::Word)
                .unwrap()
                .bucket;
            weights.insert(bucket, [w, 0.0, 0.0, 0.0, 0.0, 0.0]);
        }
        let model = Model::from_parts([0.0; 6], weights, None);
        let top = model.top_features("turn it sandbox off", Category::SandboxDisable, 3);
        let names: Vec<&str> = top.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, ["sandbox", "off"]);
    }

    #[test]
    fn the_shipped_model_loads() {
        let model = Model::from_json(super::super::BUILTIN_MODEL).unwrap();
        assert!(!model.is_empty());
    }
}
