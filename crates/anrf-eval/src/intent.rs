//! Metrics of override detection on the shipped dataset.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anrf_gen::detect::dataset::{self, Example, Split};
use anrf_gen::detect::model::Model;
use anrf_gen::detect::train::{self, TrainConfig};
use anrf_gen::detect::{Category, Detector, MODEL_SOURCE_PATH, Scores, THRESHOLD};
use serde::Serialize;

use crate::EvalError;

/// Where the metrics documentation lives, relative to the repository root.
pub const DOCS_PATH: &str = "docs/intent-detection.md";

/// What a metrics run should do (`anrf eval intent`, `anrf-eval intent`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntentRun {
    /// Retrain on the train split first, and measure the retrained model.
    pub train: bool,
    /// Where a retrained model is written (default: [`MODEL_SOURCE_PATH`]).
    pub model_out: Option<PathBuf>,
    /// Replace the metrics block of this Markdown file.
    pub write_docs: Option<PathBuf>,
    /// Print JSON instead of Markdown.
    pub json: bool,
}

/// What a metrics run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The metrics.
    pub metrics: IntentMetrics,
    /// What to print on stdout (Markdown or JSON).
    pub stdout: String,
    /// What was written where, for stderr.
    pub notes: Vec<String>,
}

/// Runs the metrics command: optionally retrain, measure, optionally write the docs.
pub fn run(request: &IntentRun) -> Result<RunOutput, EvalError> {
    let mut notes = Vec::new();
    let metrics = if request.train {
        let model = train_builtin(&TrainConfig::default())?;
        let out = request
            .model_out
            .clone()
            .unwrap_or_else(|| PathBuf::from(MODEL_SOURCE_PATH));
        std::fs::write(&out, model.to_json()).map_err(|source| EvalError::Io {
            action: "write",
            path: out.clone(),
            source,
        })?;
        notes.push(format!(
            "trained on the train split: {} weight rows written to `{}` (rebuild to ship it)",
            model.len(),
            out.display()
        ));
        measure(&Detector::with_model(model)?)?
    } else {
        measure_builtin()?
    };
    if let Some(path) = &request.write_docs {
        write_docs(path, &metrics)?;
        notes.push(format!("metrics written to `{}`", path.display()));
    }
    let stdout = if request.json {
        let mut json = serde_json::to_string_pretty(&metrics).unwrap_or_default();
        json.push('\n');
        json
    } else {
        render_markdown(&metrics)
    };
    Ok(RunOutput {
        metrics,
        stdout,
        notes,
    })
}

/// Start marker of the generated block in the documentation.
pub const DOCS_BEGIN: &str = "<!-- intent-metrics:begin -->";
/// End marker of the generated block in the documentation.
pub const DOCS_END: &str = "<!-- intent-metrics:end -->";

/// A confusion matrix for one binary question.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Detected and labelled.
    pub tp: usize,
    /// Detected, not labelled.
    pub fp: usize,
    /// Labelled, not detected.
    pub fn_: usize,
    /// Neither.
    pub tn: usize,
}

impl Counts {
    fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// `tp / (tp + fp)`; 1 when nothing was detected.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp, 1.0)
    }

    /// `tp / (tp + fn)`; 1 when nothing was labelled.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_, 1.0)
    }

    /// `fp / (fp + tn)`; 0 when nothing was negative.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn, 0.0)
    }
}

#[expect(clippy::cast_precision_loss, reason = "example counts are small")]
fn ratio(num: usize, den: usize, empty: f64) -> f64 {
    if den == 0 {
        empty
    } else {
        num as f64 / den as f64
    }
}

/// Metrics of one way of scoring (combined, rules only, model only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Layer {
    /// "is any override requested?" on the held-out split.
    pub overall: Counts,
    /// Per category, in [`Category::ALL`] order, on the held-out split.
    pub per_category: Vec<(Category, Counts)>,
    /// False positives on the benign trigger-word set.
    pub trigger: Counts,
    /// "is any override requested?" on the fresh evaluation set.
    pub fresh: Counts,
}

/// Time to check one text, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Checks timed.
    pub samples: usize,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Slowest.
    pub max_us: f64,
    /// Whether this was an optimized build.
    pub optimized: bool,
}

/// Which evaluation set a text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalSet {
    /// The held-out split of `intents.jsonl`.
    HeldOut,
    /// The benign trigger-word set.
    Trigger,
    /// The fresh evaluation set.
    Fresh,
}

/// The targets of issue 6: recall at least 95%, false-positive rate at most 5%.
pub const TARGET_RECALL: f64 = 0.95;
/// See [`TARGET_RECALL`].
pub const TARGET_FPR: f64 = 0.05;

/// A text the detector got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    /// The set it is from.
    pub set: EvalSet,
    /// The text.
    pub text: String,
    /// Its labels.
    pub expected: Vec<Category>,
    /// What was detected.
    pub detected: Vec<Category>,
}

/// Everything the metrics command reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntentMetrics {
    /// Training examples.
    pub train_examples: usize,
    /// Held-out examples.
    pub test_examples: usize,
    /// Held-out examples that request an override.
    pub test_positive: usize,
    /// Benign trigger-word texts.
    pub trigger_examples: usize,
    /// Fresh evaluation texts.
    pub fresh_examples: usize,
    /// Fresh texts that request an override.
    pub fresh_positive: usize,
    /// Rules and model combined: what `anrf intent check` does.
    pub overall: Counts,
    /// Combined, per category.
    pub per_category: Vec<(Category, Counts)>,
    /// Combined, on the trigger-word set.
    pub trigger: Counts,
    /// Combined, on the fresh set.
    pub fresh: Counts,
    /// Combined, per category, on the fresh set.
    pub fresh_per_category: Vec<(Category, Counts)>,
    /// Rules alone (ablation).
    pub rules_only: Layer,
    /// Model alone (ablation).
    pub model_only: Layer,
    /// Texts of every evaluation set the combined detector got wrong.
    pub misses: Vec<Miss>,
    /// Time per check.
    pub latency: Latency,
}

/// Trains a model on the train split of the shipped dataset.
pub fn train_builtin(config: &TrainConfig) -> Result<Model, EvalError> {
    let train: Vec<Example> = dataset::intents()?
        .into_iter()
        .filter(|e| e.split == Split::Train)
        .collect();
    Ok(train::train(&train, config))
}

/// Measures the detector shipped in this build.
pub fn measure_builtin() -> Result<IntentMetrics, EvalError> {
    measure(Detector::builtin()?)
}

/// Measures `detector` on the held-out split and the trigger-word set.
pub fn measure(detector: &Detector) -> Result<IntentMetrics, EvalError> {
    let all = dataset::intents()?;
    let trigger = dataset::trigger_benign()?;
    let fresh = dataset::fresh()?;
    let test: Vec<&Example> = all.iter().filter(|e| e.split == Split::Test).collect();

    let mut combined = Layer::default();
    let mut rules = Layer::default();
    let mut model = Layer::default();
    for layer in [&mut combined, &mut rules, &mut model] {
        layer.per_category = Category::ALL
            .iter()
            .map(|c| (*c, Counts::default()))
            .collect();
    }
    let mut misses = Vec::new();
    let detected = |scores: &Scores, pick: fn(&Scores, Category) -> f32| -> Vec<Category> {
        Category::ALL
            .into_iter()
            .filter(|c| pick(scores, *c) >= THRESHOLD)
            .collect()
    };
    let picks: [(&mut Layer, Pick); 3] = [
        (&mut combined, |s, c| s.combined(c)),
        (&mut rules, |s, c| s.rule[c.index()]),
        (&mut model, |s, c| s.model[c.index()]),
    ];
    let mut fresh_per_category: Vec<(Category, Counts)> = Category::ALL
        .iter()
        .map(|c| (*c, Counts::default()))
        .collect();
    let scored: Vec<(&Example, Scores, EvalSet)> = test
        .iter()
        .map(|e| (*e, EvalSet::HeldOut))
        .chain(trigger.iter().map(|e| (e, EvalSet::Trigger)))
        .chain(fresh.iter().map(|e| (e, EvalSet::Fresh)))
        .map(|(e, set)| (e, detector.check_with_scores(&e.text).1, set))
        .collect();
    for (layer, pick) in picks {
        for (example, scores, set) in &scored {
            let found = detected(scores, pick);
            let requested = !example.categories.is_empty();
            match set {
                EvalSet::Trigger => layer.trigger.add(!found.is_empty(), false),
                EvalSet::Fresh => layer.fresh.add(!found.is_empty(), requested),
                EvalSet::HeldOut => {
                    layer.overall.add(!found.is_empty(), requested);
                    for (category, counts) in &mut layer.per_category {
                        counts.add(found.contains(category), example.has(*category));
                    }
                }
            }
        }
    }
    for (example, scores, set) in &scored {
        let found = detected(scores, Scores::combined);
        if *set == EvalSet::Fresh {
            for (category, counts) in &mut fresh_per_category {
                counts.add(found.contains(category), example.has(*category));
            }
        }
        let mut expected = example.categories.clone();
        expected.sort();
        if found != expected {
            misses.push(Miss {
                set: *set,
                text: example.text.clone(),
                expected,
                detected: found,
            });
        }
    }

    let texts: Vec<&str> = all
        .iter()
        .chain(&trigger)
        .chain(&fresh)
        .map(|e| e.text.as_str())
        .collect();
    let latency = time_checks(detector, &texts);
    Ok(IntentMetrics {
        train_examples: all.len() - test.len(),
        test_examples: test.len(),
        test_positive: test.iter().filter(|e| !e.categories.is_empty()).count(),
        trigger_examples: trigger.len(),
        fresh_examples: fresh.len(),
        fresh_positive: fresh.iter().filter(|e| !e.categories.is_empty()).count(),
        overall: combined.overall,
        per_category: combined.per_category,
        trigger: combined.trigger,
        fresh: combined.fresh,
        fresh_per_category,
        rules_only: rules,
        model_only: model,
        misses,
        latency,
    })
}

/// How a layer's score is read off the per-category scores.
type Pick = fn(&Scores, Category) -> f32;

/// Times `detector.check` over `texts`, 20 rounds, after one warm-up round.
fn time_checks(detector: &Detector, texts: &[&str]) -> Latency {
    for text in texts {
        std::hint::black_box(detector.check(text));
    }
    let mut micros: Vec<f64> = Vec::new();
    for _ in 0..20 {
        for text in texts {
            let start = Instant::now();
            std::hint::black_box(detector.check(std::hint::black_box(text)));
            micros.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a short sorted list"
        )]
        let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
        micros.get(i).copied().unwrap_or(0.0)
    };
    #[expect(clippy::cast_precision_loss, reason = "sample counts are small")]
    let mean = micros.iter().sum::<f64>() / micros.len().max(1) as f64;
    Latency {
        samples: micros.len(),
        mean_us: mean,
        p50_us: at(0.5),
        p99_us: at(0.99),
        max_us: at(1.0),
        optimized: !cfg!(debug_assertions),
    }
}

/// Whether a count meets the targets: recall (when it has positives) and FPR.
fn verdict(c: &Counts, with_recall: bool) -> &'static str {
    let recall_ok = !with_recall || c.recall() >= TARGET_RECALL;
    let fpr_ok = c.false_positive_rate() <= TARGET_FPR;
    match (recall_ok, fpr_ok) {
        (true, true) => "met",
        (false, true) => "NOT met (recall)",
        (true, false) => "NOT met (FPR)",
        (false, false) => "NOT met (recall and FPR)",
    }
}

/// The metrics as a Markdown block (what `--write-docs` puts between the markers).
pub fn render_markdown(m: &IntentMetrics) -> String {
    let mut out = String::new();
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let _ = writeln!(
        out,
        "Sets: {} training examples; {} held-out ({} requesting an override, {} benign); \
         {} benign trigger-word texts; {} fresh texts ({} requesting an override, {} benign). \
         Only the training examples are trained on. Threshold {THRESHOLD}.\n",
        m.train_examples,
        m.test_examples,
        m.test_positive,
        m.test_examples - m.test_positive,
        m.trigger_examples,
        m.fresh_examples,
        m.fresh_positive,
        m.fresh_examples - m.fresh_positive,
    );
    let _ = writeln!(
        out,
        "| scoring | held-out precision | held-out recall | held-out FPR | trigger-word FPR | fresh precision | fresh recall | fresh FPR |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    let rows = [
        ("rules + model (shipped)", &m.overall, &m.trigger, &m.fresh),
        (
            "rules only",
            &m.rules_only.overall,
            &m.rules_only.trigger,
            &m.rules_only.fresh,
        ),
        (
            "model only",
            &m.model_only.overall,
            &m.model_only.trigger,
            &m.model_only.fresh,
        ),
    ];
    for (name, overall, trigger, fresh) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} ({}/{}) | {} ({}/{}) | {} | {} | {} ({}/{}) |",
            pct(overall.precision()),
            pct(overall.recall()),
            pct(overall.false_positive_rate()),
            overall.fp,
            overall.fp + overall.tn,
            pct(trigger.false_positive_rate()),
            trigger.fp,
            trigger.fp + trigger.tn,
            pct(fresh.precision()),
            pct(fresh.recall()),
            pct(fresh.false_positive_rate()),
            fresh.fp,
            fresh.fp + fresh.tn,
        );
    }
    let _ = writeln!(
        out,
        "\nTargets (recall >= {}, FPR <= {}), shipped detector: held-out {}; fresh {}; trigger-word set {}.",
        pct(TARGET_RECALL),
        pct(TARGET_FPR),
        verdict(&m.overall, true),
        verdict(&m.fresh, true),
        verdict(&m.trigger, false),
    );
    for (title, per_category) in [
        ("held-out split", &m.per_category),
        ("fresh set", &m.fresh_per_category),
    ] {
        let _ = writeln!(out, "\nPer category (rules + model, {title}):\n");
        let _ = writeln!(out, "| category | positives | precision | recall | FPR |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for (category, c) in per_category {
            let _ = writeln!(
                out,
                "| `{category}` | {} | {} | {} | {} |",
                c.tp + c.fn_,
                pct(c.precision()),
                pct(c.recall()),
                pct(c.false_positive_rate()),
            );
        }
    }
    let l = &m.latency;
    let _ = writeln!(
        out,
        "\n{LATENCY_PREFIX} ({} build, {} checks, one thread): mean {:.1} µs, median {:.1} µs, \
         p99 {:.1} µs, max {:.1} µs.\n",
        if l.optimized { "release" } else { "debug" },
        l.samples,
        l.mean_us,
        l.p50_us,
        l.p99_us,
        l.max_us,
    );
    let _ = writeln!(
        out,
        "Texts the shipped detector gets wrong ({}; an exact category match is required):\n",
        m.misses.len()
    );
    for miss in &m.misses {
        let names = |cs: &[Category]| {
            if cs.is_empty() {
                "benign".to_owned()
            } else {
                cs.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let set = match miss.set {
            EvalSet::HeldOut => "held-out",
            EvalSet::Trigger => "trigger-word",
            EvalSet::Fresh => "fresh",
        };
        let _ = writeln!(
            out,
            "- [{set}] {} — expected {}, detected {}",
            serde_json::Value::String(miss.text.clone()),
            names(&miss.expected),
            names(&miss.detected),
        );
    }
    out
}

/// How the timing line of [`render_markdown`] starts (it differs run to run).
pub const LATENCY_PREFIX: &str = "Time per text";

/// The block as rendered, without the timing line: what a regression test compares.
pub fn without_timing(block: &str) -> String {
    block
        .lines()
        .filter(|l| !l.starts_with(LATENCY_PREFIX))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The generated block of a documentation file (between the markers).
pub fn docs_block(doc: &str) -> Option<&str> {
    let (begin, end) = block_bounds(doc).ok()?;
    doc.get(begin + DOCS_BEGIN.len()..end)
        .map(|b| b.trim_start_matches('\n'))
}

/// Where [`DOCS_BEGIN`] and [`DOCS_END`] start in `doc`, or the marker that
/// is missing (or out of order).
fn block_bounds(doc: &str) -> Result<(usize, usize), &'static str> {
    let begin = doc.find(DOCS_BEGIN).ok_or(DOCS_BEGIN)?;
    let end = doc.find(DOCS_END).ok_or(DOCS_END)?;
    if end < begin {
        return Err(DOCS_END);
    }
    Ok((begin, end))
}

/// Replaces the block between [`DOCS_BEGIN`] and [`DOCS_END`] in `path`.
pub fn write_docs(path: &Path, m: &IntentMetrics) -> Result<(), EvalError> {
    let io = |action| {
        move |source| EvalError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let doc = std::fs::read_to_string(path).map_err(io("read"))?;
    let (begin, end) = block_bounds(&doc).map_err(|marker| EvalError::Markers {
        path: path.to_path_buf(),
        marker,
    })?;
    let updated = format!(
        "{}{DOCS_BEGIN}\n{}{}",
        &doc[..begin],
        render_markdown(m),
        &doc[end..]
    );
    std::fs::write(path, updated).map_err(io("write"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_compute_rates() {
        let mut c = Counts::default();
        c.add(true, true);
        c.add(true, false);
        c.add(false, true);
        c.add(false, false);
        c.add(false, false);
        c.add(false, false);
        assert!((c.precision() - 0.5).abs() < 1e-9);
        assert!((c.recall() - 0.5).abs() < 1e-9);
        assert!((c.false_positive_rate() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn docs_block_is_replaced_between_markers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.md");
        std::fs::write(
            &path,
            format!("intro\n{DOCS_BEGIN}\nSTALE-BLOCK\n{DOCS_END}\noutro\n"),
        )
        .unwrap();
        let metrics = measure(&Detector::with_model(Model::empty()).unwrap()).unwrap();
        write_docs(&path, &metrics).unwrap();
        let doc = std::fs::read_to_string(&path).unwrap();
        assert!(doc.starts_with("intro\n"));
        assert!(doc.ends_with(&format!("{DOCS_END}\noutro\n")));
        assert!(!doc.contains("STALE-BLOCK"));
        assert!(doc.contains("| rules only |"));
    }

    #[test]
    fn the_shipped_model_is_what_the_training_code_produces() {
        // The committed weights are reproducible: retraining on the train split with
        // the default settings gives the same file, byte for byte.
        let model = train_builtin(&TrainConfig::default()).unwrap();
        assert!(
            model.to_json() == anrf_gen::detect::BUILTIN_MODEL,
            "the shipped model differs from a fresh training run; \
             run `anrf eval intent --train` and commit the model"
        );
    }

    #[test]
    fn the_documented_figures_are_what_the_shipped_detector_measures() {
        // docs/intent-detection.md holds the block `--write-docs` wrote; the shipped
        // rules, model and data must still produce exactly those figures (timing
        // aside). Rerun `anrf-eval intent --write-docs` after changing any of them.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DOCS_PATH);
        let doc = std::fs::read_to_string(&path).unwrap();
        let documented = docs_block(&doc).unwrap();
        let measured = render_markdown(&measure_builtin().unwrap());
        assert_eq!(
            without_timing(documented),
            without_timing(&measured),
            "the figures in {DOCS_PATH} are stale: run `cargo run --release -p anrf-eval -- intent --write-docs`"
        );
    }

    #[test]
    fn the_shipped_detector_meets_the_held_out_targets() {
        let m = measure_builtin().unwrap();
        assert!(m.overall.recall() >= TARGET_RECALL, "{:?}", m.overall);
        assert!(
            m.overall.false_positive_rate() <= TARGET_FPR,
            "{:?}",
            m.overall
        );
        assert!(
            m.trigger.false_positive_rate() <= TARGET_FPR,
            "{:?}",
            m.trigger
        );
        assert!(m.fresh_examples >= 150);
    }

    #[test]
    fn a_file_without_markers_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.md");
        std::fs::write(&path, "no markers here\n").unwrap();
        let metrics = measure(&Detector::with_model(Model::empty()).unwrap()).unwrap();
        let err = write_docs(&path, &metrics).unwrap_err();
        assert!(err.to_string().contains(DOCS_BEGIN), "{err}");
    }
}
