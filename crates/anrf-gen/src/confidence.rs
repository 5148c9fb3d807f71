//! Confidence in a generated module, in `0..=1`, from verified facts only.
//!
//! ```text
//! confidence = verified × examples × findings × overrides × breadth × rounds
//! ```
//!
//! | factor | value |
//! |---|---|
//! | `verified` | 1 when the final module verified (nothing blocks, every error-level finding absent, every example passed), else 0 |
//! | `examples` | passed / run; 0 when none ran (a module without examples is never verified); × 0.85 when every example was written by the model (none by the person) |
//! | `findings` | 0 with any unsuppressed error; else 0.9 per warning × 0.98 per note |
//! | `overrides` | 1; 0.8 when relaxations the person asked for are pending (the module is the secure version, which may not do all that was asked); × 0.7 when part of the intent was refused |
//! | `breadth` | 1 − 0.1 per capability granted (clock, random, each directory, variable or host), at least 0.5 |
//! | `rounds` | 1 − 0.1 per repair round used (round 1 is the first answer), at least 0.5 |
//!
//! The result is rounded to three decimals. It is stored as
//! `implementation.provenance.confidence`, with the breakdown in `GEN-REPORT.json`.

use anrf_format::Capabilities;
use anrf_verify::{Report, Severity};
use serde::Serialize;

/// The inputs of the formula, as established by the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs<'a> {
    /// The final verification report, when there is one.
    pub report: Option<&'a Report>,
    /// Whether the pipeline accepted the module as verified.
    pub verified: bool,
    /// Whether the person supplied at least one example.
    pub person_examples: bool,
    /// Relaxations recorded as pending override requests.
    pub pending_overrides: usize,
    /// Whether part of the intent was refused (blocked).
    pub refused_part: bool,
    /// The capabilities the final manifest declares.
    pub capabilities: Option<&'a Capabilities>,
    /// Rounds used (1 = accepted on the first answer).
    pub rounds: u32,
}

/// The score and every factor behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confidence {
    /// The product of the factors, rounded to three decimals.
    pub score: f64,
    /// 1 or 0.
    pub verified: f64,
    /// From the examples.
    pub examples: f64,
    /// Examples that passed.
    pub examples_passed: usize,
    /// Examples run.
    pub examples_run: usize,
    /// From the findings.
    pub findings: f64,
    /// Unsuppressed findings by severity.
    pub errors: usize,
    /// Unsuppressed warnings.
    pub warnings: usize,
    /// Unsuppressed notes.
    pub notes: usize,
    /// From pending and refused relaxations.
    pub overrides: f64,
    /// Pending override requests.
    pub pending_overrides: usize,
    /// From the capabilities granted.
    pub breadth: f64,
    /// Capabilities counted.
    pub capabilities: usize,
    /// From the rounds used.
    pub rounds: f64,
    /// Rounds used.
    pub rounds_used: u32,
}

/// Computes the confidence. See the module documentation for the formula.
pub fn compute(inputs: &Inputs<'_>) -> Confidence {
    let (passed, run) = inputs.report.map_or((0, 0), |r| {
        let run = r.facts.examples.len();
        (r.facts.examples.iter().filter(|e| e.passed).count(), run)
    });
    let mut examples = if run == 0 { 0.0 } else { ratio(passed, run) };
    if !inputs.person_examples {
        examples *= 0.85;
    }
    let (errors, warnings, notes) = inputs.report.map_or((0, 0, 0), |r| {
        let unsuppressed = r.findings.iter().filter(|f| !f.is_suppressed());
        let mut counts = (0, 0, 0);
        for f in unsuppressed {
            match f.severity {
                Severity::Error => counts.0 += 1,
                Severity::Warning => counts.1 += 1,
                Severity::Note => counts.2 += 1,
            }
        }
        counts
    });
    let findings = if errors > 0 {
        0.0
    } else {
        0.9_f64.powi(clamp_i32(warnings)) * 0.98_f64.powi(clamp_i32(notes))
    };
    let mut overrides = if inputs.pending_overrides > 0 {
        0.8
    } else {
        1.0
    };
    if inputs.refused_part {
        overrides *= 0.7;
    }
    let capabilities = inputs.capabilities.map_or(0, |c| {
        usize::from(c.clock) + usize::from(c.random) + c.dirs.len() + c.env.len() + c.network.len()
    });
    let breadth = (1.0 - 0.1 * f64::from(clamp_i32(capabilities))).max(0.5);
    let rounds = (1.0 - 0.1 * f64::from(inputs.rounds.saturating_sub(1))).max(0.5);
    let verified = if inputs.verified { 1.0 } else { 0.0 };
    let score = round3(verified * examples * findings * overrides * breadth * rounds);
    Confidence {
        score,
        verified,
        examples: round3(examples),
        examples_passed: passed,
        examples_run: run,
        findings: round3(findings),
        errors,
        warnings,
        notes,
        overrides: round3(overrides),
        pending_overrides: inputs.pending_overrides,
        breadth: round3(breadth),
        capabilities,
        rounds: round3(rounds),
        rounds_used: inputs.rounds,
    }
}

impl Confidence {
    /// One line: the score and its factors.
    pub fn line(&self) -> String {
        format!(
            "{:.3} = verified {} × examples {:.3} ({}/{} passed) × findings {:.3} ({} errors, {} warnings, {} notes) × overrides {:.3} ({} pending) × breadth {:.3} ({} capabilities) × rounds {:.3} ({} used)",
            self.score,
            self.verified,
            self.examples,
            self.examples_passed,
            self.examples_run,
            self.findings,
            self.errors,
            self.warnings,
            self.notes,
            self.overrides,
            self.pending_overrides,
            self.breadth,
            self.capabilities,
            self.rounds,
            self.rounds_used
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    f64::from(clamp_i32(a)) / f64::from(clamp_i32(b).max(1))
}

fn clamp_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn inputs() -> Inputs<'static> {
        Inputs {
            report: None,
            verified: true,
            person_examples: true,
            pending_overrides: 0,
            refused_part: false,
            capabilities: None,
            rounds: 1,
        }
    }

    #[test]
    fn not_verified_is_zero_whatever_else_holds() {
        let c = compute(&Inputs {
            verified: false,
            ..inputs()
        });
        assert!(close(c.score, 0.0));
    }

    #[test]
    fn each_factor_lowers_the_score_as_documented() {
        // No examples ran: the examples factor, and so the score, is 0.
        let none = compute(&inputs());
        assert!(close(none.examples, 0.0) && close(none.score, 0.0));
        let c = compute(&Inputs {
            person_examples: false,
            pending_overrides: 1,
            refused_part: true,
            rounds: 3,
            ..inputs()
        });
        assert!(close(c.overrides, round3(0.8 * 0.7)));
        assert!(close(c.rounds, 0.8));
        assert!(close(c.breadth, 1.0));
        assert!(close(c.findings, 1.0));
        assert_eq!(c.rounds_used, 3);
        let many = compute(&Inputs {
            rounds: 50,
            ..inputs()
        });
        assert!(close(many.rounds, 0.5), "the rounds factor has a floor");
        assert!(c.line().contains("× rounds 0.800 (3 used)"));
    }
}
