//! Training the intent model: one-vs-rest logistic regression fitted by stochastic
//! gradient descent with L2 regularization, in a fixed example order, so that the same
//! data and settings always give the same weights.

use std::collections::HashMap;

use super::Category;
use super::dataset::Example;
use super::features;
use super::model::{Model, TrainInfo, sigmoid};

/// Training settings. The defaults are the ones the shipped model was trained with.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Initial learning rate (decays as `lr / (1 + epoch / 10)`).
    pub learning_rate: f64,
    /// L2 regularization strength.
    pub l2: f64,
    /// Seed of the example order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 60,
            learning_rate: 1.0,
            l2: 1e-4,
            seed: 0x5eed_a9f5,
        }
    }
}

/// Weights smaller than this are dropped from the stored model.
const PRUNE: f32 = 0.02;

/// Fits a model on `examples` (all of them: filter the split before calling).
pub fn train(examples: &[Example], config: &TrainConfig) -> Model {
    let vectors: Vec<Vec<(u32, f32)>> = examples
        .iter()
        .map(|e| features::vectorize(&e.text))
        .collect();
    let mut bias = [0.0_f32; 6];
    let mut weights: HashMap<u32, [f32; 6]> = HashMap::new();

    for category in Category::ALL {
        let index = category.index();
        let labels: Vec<f32> = examples
            .iter()
            .map(|e| if e.has(category) { 1.0 } else { 0.0 })
            .collect();
        let positives = labels.iter().filter(|y| **y > 0.5).count().max(1);
        let negatives = (labels.len() - positives.min(labels.len())).max(1);
        // Positives are rare per category; weigh them up so recall does not suffer,
        // by the square root of the imbalance (the full ratio overshoots on small data).
        #[expect(clippy::cast_precision_loss, reason = "example counts are small")]
        let positive_weight = (negatives as f32 / positives as f32).sqrt().max(1.0);

        #[expect(clippy::cast_possible_truncation, reason = "a small rate")]
        let l2 = config.l2 as f32;
        let mut weight_of: HashMap<u32, f32> = HashMap::new();
        let mut bias_c = 0.0_f32;
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng =
            XorShift(config.seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for epoch in 0..config.epochs {
            rng.shuffle(&mut order);
            #[expect(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                reason = "epoch counts and rates are small"
            )]
            let lr = (config.learning_rate / (1.0 + epoch as f64 / 10.0)) as f32;
            for &i in &order {
                let x = &vectors[i];
                let z = bias_c
                    + x.iter()
                        .map(|(bucket, v)| v * weight_of.get(bucket).copied().unwrap_or(0.0))
                        .sum::<f32>();
                let y = labels[i];
                let weight = if y > 0.5 { positive_weight } else { 1.0 };
                let gradient = (sigmoid(z) - y) * weight;
                for (bucket, v) in x {
                    let wi = weight_of.entry(*bucket).or_insert(0.0);
                    *wi -= lr * (gradient * v + l2 * *wi);
                }
                bias_c -= lr * gradient;
            }
        }
        bias[index] = round3(bias_c);
        for (bucket, wi) in weight_of {
            if wi.abs() >= PRUNE {
                weights.entry(bucket).or_insert([0.0; 6])[index] = round3(wi);
            }
        }
    }
    Model::from_parts(
        bias,
        weights,
        Some(TrainInfo {
            examples: examples.len(),
            epochs: config.epochs,
            learning_rate: config.learning_rate,
            l2: config.l2,
            seed: config.seed,
        }),
    )
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// A small deterministic generator for the example order (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn shuffle(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            #[expect(clippy::cast_possible_truncation, reason = "modulo a usize length")]
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::dataset::Split;
    use super::*;

    fn example(text: &str, categories: &[Category]) -> Example {
        Example {
            text: text.to_owned(),
            categories: categories.to_vec(),
            split: Split::Train,
        }
    }

    #[test]
    fn training_separates_a_toy_problem_deterministically() {
        let data = vec![
            example("turn the sandbox off", &[Category::SandboxDisable]),
            example("disable the sandbox now", &[Category::SandboxDisable]),
            example("run without the sandbox", &[Category::SandboxDisable]),
            example("count the words", &[]),
            example("sort the lines", &[]),
            example("reverse each line", &[]),
        ];
        let config = TrainConfig::default();
        let model = train(&data, &config);
        let p = model.predict("please turn off the sandbox");
        assert!(p[Category::SandboxDisable.index()] > 0.5, "{p:?}");
        let q = model.predict("count the lines");
        assert!(q[Category::SandboxDisable.index()] < 0.5, "{q:?}");
        assert_eq!(train(&data, &config).to_json(), model.to_json());
    }
}
