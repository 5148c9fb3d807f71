//! Override detection: does an intent ask to relax security?
//!
//! Two layers, combined per category:
//!
//! - **rules** ([`rules`]): hand-written patterns with the matched span as evidence.
//!   A match inside quotes (the intent talks *about* a phrase, e.g. "count how often
//!   users wrote 'disable the sandbox'") is weak evidence and needs the model to agree.
//! - **model** ([`model`]): one-vs-rest logistic regression over hashed word, word-pair
//!   and character n-gram features ([`features`]), trained by [`train`] from the
//!   labelled dataset in `data/intents.jsonl` and shipped in this build as
//!   `data/intent-model.json`. Its evidence is the n-grams that pushed the score up.
//!
//! A few counter-patterns (lowering a limit) halve the model's score for their
//! category when no rule of that category fired.
//!
//! A category is detected when its combined score (the larger of the rule strength and
//! the model's probability) reaches [`THRESHOLD`]. Relaxations that an approval can
//! grant give [`Decision::NeedsApproval`]; tampering with policy, approvals or the
//! audit trail gives [`Decision::Block`].

pub mod dataset;
pub mod features;
pub mod model;
pub mod rules;
pub mod train;

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::GenError;
use model::Model;
use rules::RuleSet;

/// The score at or above which a category counts as detected.
pub const THRESHOLD: f32 = 0.5;

/// The trained model shipped with this build.
pub const BUILTIN_MODEL: &str = include_str!("../data/intent-model.json");

/// Where `anrf eval intent --train` writes a retrained model in a source checkout.
pub const MODEL_SOURCE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/intent-model.json");

/// A kind of security relaxation an intent may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Run without the sandbox, natively, as root, without isolation.
    SandboxDisable,
    /// `unsafe` Rust, C/C++, raw pointers, `memory_safety = "sandbox-only"`.
    MemoryUnsafe,
    /// Network, host files, environment variables, processes.
    CapabilityEscalation,
    /// Memory, fuel, timeout, stack or output limits above the defaults.
    LimitRaise,
    /// Changing policy, approvals or verification; injected instructions.
    PolicyTamper,
    /// Hiding from, editing or deleting the audit trail.
    AuditEvasion,
}

impl Category {
    /// Every category, in a fixed order (the model's output order).
    pub const ALL: [Category; 6] = [
        Category::SandboxDisable,
        Category::MemoryUnsafe,
        Category::CapabilityEscalation,
        Category::LimitRaise,
        Category::PolicyTamper,
        Category::AuditEvasion,
    ];

    /// The `snake_case` name used in JSON and in the dataset.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::SandboxDisable => "sandbox_disable",
            Category::MemoryUnsafe => "memory_unsafe",
            Category::CapabilityEscalation => "capability_escalation",
            Category::LimitRaise => "limit_raise",
            Category::PolicyTamper => "policy_tamper",
            Category::AuditEvasion => "audit_evasion",
        }
    }

    /// Parses the `snake_case` name.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The position of this category in [`Category::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether no approval can make this request legitimate.
    pub fn blocks(self) -> bool {
        matches!(self, Category::PolicyTamper | Category::AuditEvasion)
    }

    /// What a person would run to ask for this relaxation, when one can be asked for.
    pub fn request_hint(self) -> Option<&'static str> {
        match self {
            Category::SandboxDisable => Some(
                "the sandbox is never turned off; the widest override is \
                 `anrf override request MODULE --memory-unsafe --justification \"...\"`",
            ),
            Category::MemoryUnsafe => {
                Some("`anrf override request MODULE --memory-unsafe --justification \"...\"`")
            }
            Category::CapabilityEscalation => Some(
                "`anrf override request MODULE --allow-read DIR | --allow-write DIR | \
                 --allow-env NAME | --allow-network HOST --justification \"...\"` (a network \
                 grant can be requested and approved, but the v1 runtime has no sockets yet, \
                 so it does not make the network reachable)",
            ),
            Category::LimitRaise => {
                Some("`anrf override request MODULE --raise memory=256MiB --justification \"...\"`")
            }
            Category::PolicyTamper | Category::AuditEvasion => None,
        }
    }

    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Category::SandboxDisable => "run without the sandbox",
            Category::MemoryUnsafe => "memory-unsafe code",
            Category::CapabilityEscalation => "access to network, files, environment or processes",
            Category::LimitRaise => "resource limits above the defaults",
            Category::PolicyTamper => "tampering with policy, approvals or verification",
            Category::AuditEvasion => "hiding from or editing the audit trail",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What may happen to an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Nothing asks to relax security.
    Allow,
    /// A relaxation an approved override could grant; generation builds the secure
    /// version and records a pending request.
    NeedsApproval,
    /// Tampering with policy, approvals, verification or the audit trail.
    Block,
}

impl Decision {
    /// The `snake_case` name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::NeedsApproval => "needs_approval",
            Decision::Block => "block",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which layer produced a piece of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    /// A hand-written rule matched a span of the text.
    Rule,
    /// An n-gram that raised the model's score for the category.
    Model,
}

/// Why a category was detected: a matched span or a contributing n-gram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The category this evidence supports.
    pub category: Category,
    /// The layer that produced it.
    pub source: EvidenceSource,
    /// The matched phrase (rules) or the n-gram (model), as it appears in the text
    /// for rules and in normalized (lowercase) form for the model.
    pub text: String,
    /// Byte offsets `[start, end)` of a rule match in the checked text.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub span: Option<[usize; 2]>,
    /// The rule's stable ID.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rule: Option<String>,
    /// The n-gram's contribution to the model's log-odds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub weight: Option<f32>,
}

/// The result of checking one intent; the JSON shape is the contract of
/// `anrf intent check --json` (DESIGN.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentReport {
    /// Whether any relaxation (or tampering) was detected.
    pub override_requested: bool,
    /// What may happen to the intent.
    pub decision: Decision,
    /// The detected categories, in [`Category::ALL`] order.
    pub categories: Vec<Category>,
    /// The highest combined score over all categories, in `0..=1`.
    pub score: f32,
    /// Why: rule matches first, then model n-grams, for detected categories only.
    pub evidence: Vec<Evidence>,
}

/// Per-category scores behind a report, for metrics and threshold studies.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The strongest rule match per category (0 when none matched).
    pub rule: [f32; 6],
    /// The model's probability per category.
    pub model: [f32; 6],
}

impl Scores {
    /// The combined score of a category.
    pub fn combined(&self, category: Category) -> f32 {
        let i = category.index();
        self.rule[i].max(self.model[i])
    }
}

/// Rules and model, ready to check texts. Cheap to share; checking does not allocate
/// beyond the report.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
    model: Model,
}

impl Detector {
    /// A detector with the built-in rules and the model shipped in this build.
    pub fn builtin() -> Result<&'static Detector, GenError> {
        static BUILTIN: OnceLock<Result<Detector, GenError>> = OnceLock::new();
        let init = || {
            let model = Model::from_json(BUILTIN_MODEL).map_err(|e| GenError::Model {
                reason: e.to_string(),
            })?;
            Detector::with_model(model)
        };
        match BUILTIN.get_or_init(init) {
            Ok(detector) => Ok(detector),
            Err(error) => Err(GenError::Model {
                reason: error.to_string(),
            }),
        }
    }

    /// A detector with the built-in rules and the given model (e.g. freshly trained).
    pub fn with_model(model: Model) -> Result<Detector, GenError> {
        Ok(Detector {
            rules: RuleSet::builtin()?,
            model,
        })
    }

    /// The model this detector uses.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Checks one intent.
    pub fn check(&self, text: &str) -> IntentReport {
        let (report, _) = self.check_with_scores(text);
        report
    }

    /// Checks one intent and also returns the per-category scores.
    pub fn check_with_scores(&self, text: &str) -> (IntentReport, Scores) {
        let hits = self.rules.find(text);
        let mut scores = Scores {
            rule: [0.0; 6],
            model: self.model.predict(text),
        };
        for hit in &hits {
            let i = hit.category.index();
            scores.rule[i] = scores.rule[i].max(hit.strength);
        }
        for category in self.rules.countered(text) {
            let i = category.index();
            if scores.rule[i] < THRESHOLD {
                scores.model[i] *= 0.5;
            }
        }
        let categories: Vec<Category> = Category::ALL
            .into_iter()
            .filter(|c| scores.combined(*c) >= THRESHOLD)
            .collect();
        let score = Category::ALL
            .into_iter()
            .map(|c| scores.combined(c))
            .fold(0.0_f32, f32::max);

        let mut evidence = Vec::new();
        for category in &categories {
            for hit in hits.iter().filter(|h| h.category == *category) {
                evidence.push(Evidence {
                    category: *category,
                    source: EvidenceSource::Rule,
                    text: text[hit.start..hit.end].to_owned(),
                    span: Some([hit.start, hit.end]),
                    rule: Some(hit.rule.to_owned()),
                    weight: None,
                });
            }
            if scores.model[category.index()] >= THRESHOLD {
                for (ngram, weight) in self.model.top_features(text, *category, 3) {
                    evidence.push(Evidence {
                        category: *category,
                        source: EvidenceSource::Model,
                        text: ngram,
                        span: None,
                        rule: None,
                        weight: Some(round3(weight)),
                    });
                }
            }
        }
        let decision = if categories.iter().any(|c| c.blocks()) {
            Decision::Block
        } else if categories.is_empty() {
            Decision::Allow
        } else {
            Decision::NeedsApproval
        };
        let report = IntentReport {
            override_requested: !categories.is_empty(),
            decision,
            categories,
            score: round3(score),
            evidence,
        };
        (report, scores)
    }
}

/// Checks one intent with the built-in detector.
pub fn check(text: &str) -> Result<IntentReport, GenError> {
    Ok(Detector::builtin()?.check(text))
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}
