//! `prod` runs only what verifies: before a module runs under `prod`, the
//! verifier's blocking checks must pass for these exact bytes under this policy.
//! A passing `anrf verify --profile prod` of the same content in the
//! verification cache is enough; otherwise the static checks (everything but the
//! intent examples, which take milliseconds) run inline. Under `test` the same
//! checks run and what would block is printed as a warning; `dev` runs no gate.
//!
//! The verifier reads the module itself, so its report's content digest is
//! compared with the digest of the snapshot that will run: a module that changed
//! between the two reads is refused, never run on the strength of a check of
//! other bytes.

use anrf_format::{Module, Profile};
use anrf_policy::{ProjectPolicy, RevocationNotice};
use anrf_verify::{Cache, Examples, Report, VerifyOptions};
use miette::miette;

/// What the gate found.
#[derive(Debug)]
pub(super) enum Gate {
    /// Nothing to check under this profile (`dev`).
    NotChecked,
    /// The module verifies (from the cache, or checked now).
    Passed { cached: bool },
    /// `test`: findings that would block under `prod`, printed as a warning.
    Warned { blocking: Vec<String> },
    /// `prod`: the run is refused.
    Blocked { message: String },
}

impl Gate {
    /// The gate as the audit decision records it.
    pub(super) fn detail(&self) -> serde_json::Value {
        match self {
            Gate::NotChecked => serde_json::json!({"checked": false}),
            Gate::Passed { cached } => {
                serde_json::json!({"checked": true, "passed": true, "cached": cached})
            }
            Gate::Warned { blocking } => {
                serde_json::json!({"checked": true, "passed": false, "blocking": blocking})
            }
            Gate::Blocked { message } => {
                serde_json::json!({"checked": true, "passed": false, "refused": message})
            }
        }
    }
}

/// Checks `module` (whose snapshot to run has content digest `content_digest`)
/// under `profile`.
pub(super) fn check(
    module: &Module,
    content_digest: &str,
    policy: &ProjectPolicy,
    profile: Profile,
    revocations: &[RevocationNotice],
) -> miette::Result<Gate> {
    if profile == Profile::Dev {
        return Ok(Gate::NotChecked);
    }
    let mut options = VerifyOptions::new(policy, profile);
    if let Some(home) = crate::cmd::verify::cargo_home() {
        options.cargo_home(home);
    }
    options.revocations(revocations.to_vec());
    let how_to_see = format!(
        "see every finding with `anrf verify --profile {profile} {}`",
        module.dir().display()
    );
    if profile == Profile::Prod {
        let cache = Cache::new(crate::home::anrf_home()?.join("cache").join("verify"));
        if let Some(report) = Cache::key(module, &options).and_then(|k| cache.get(&k))
            && report.passed()
            && report.digest.as_deref() == Some(content_digest)
        {
            return Ok(Gate::Passed { cached: true });
        }
    }
    options.examples(Examples::Skip);
    let report = anrf_verify::verify(module, &options).map_err(|e| {
        miette!(
            help = how_to_see.clone(),
            "cannot verify `{}` before running it: {e}",
            module.dir().display()
        )
    })?;
    if report.digest.as_deref() != Some(content_digest) {
        return Ok(Gate::Blocked {
            message: format!(
                "refusing to run `{}`: its files changed while they were being checked (the verified content is not the content that would run); run it again when nothing is writing to the module",
                module.dir().display()
            ),
        });
    }
    let blocking = blocking_lines(&report);
    Ok(match (blocking.is_empty(), profile) {
        (true, _) => Gate::Passed { cached: false },
        (false, Profile::Prod) => Gate::Blocked {
            message: format!(
                "refusing to run `{}` under the `prod` profile: it does not verify\n{}\n  to allow it: fix the findings (or approve the overrides they name), then check with `anrf verify --profile prod {}`",
                module.dir().display(),
                blocking.join("\n"),
                module.dir().display()
            ),
        },
        (false, _) => Gate::Warned { blocking },
    })
}

/// One line per blocking finding: its check ID, where, and what.
fn blocking_lines(report: &Report) -> Vec<String> {
    report
        .blocking()
        .map(|f| {
            let place = f
                .location
                .as_ref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            format!("- {}{place}: {}\n  fix: {}", f.id, f.message, f.help)
        })
        .collect()
}
