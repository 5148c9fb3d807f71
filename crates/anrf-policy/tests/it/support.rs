//! Fixtures: approvers with fixed keys, a project policy, a manifest, and helpers
//! to request, approve and resolve.

use anrf_format::{ContentDigest, Manifest, Override, Profile, Relaxation, Scope};
use anrf_policy::{
    ApproveAs, ModuleInput, NewOverride, OverrideContext, OverrideDecision, ProjectPolicy,
    Resolution, ResolveInput, RevocationNotice, SecretKey, Subject, approve, check_override,
    new_override, resolve,
};
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);
pub const MODULE: &str = "wordcount";
pub const WHY: &str = "reads the shipped stop-word list from data to filter common words";

pub fn key(name: &str) -> SecretKey {
    let seed = match name {
        "alice" => 1,
        "bob" => 2,
        "carol" => 3,
        "dave" => 4,
        "erin" => 5,
        _ => 99,
    };
    SecretKey::from_seed([seed; 32])
}

/// alice (developer, requests), bob and carol (security), dave (reviewer: reads
/// only), erin (auditor: holds a role no rule mentions). mallory is unknown.
pub fn policy_text(extra: &str) -> String {
    let pk = |n: &str| key(n).public_key().to_string();
    format!(
        r#"version = 1
cedar = """
@id("security-approves-all")
permit(principal in Role::"security", action == Action::"approve", resource);
@id("reviewers-approve-reads")
permit(principal in Role::"reviewer", action == Action::"approve", resource)
  when {{ resource.kind == "allow-read" && resource.scope_kind != "project" }};
@id("developers-approve-in-dev")
permit(principal in Role::"developer", action == Action::"approve", resource)
  when {{ context.profile == "dev" }};
@id("no-threads-in-prod")
forbid(principal, action, resource)
  when {{ resource.kind == "threads" && context.profile == "prod" }};
"""
{extra}

[[approvers]]
name = "alice"
public_key = "{}"
roles = ["developer"]

[[approvers]]
name = "bob"
public_key = "{}"
roles = ["security"]

[[approvers]]
name = "carol"
public_key = "{}"
roles = ["security", "reviewer"]

[[approvers]]
name = "dave"
public_key = "{}"
roles = ["reviewer"]

[[approvers]]
name = "erin"
public_key = "{}"
roles = ["auditor"]
"#,
        pk("alice"),
        pk("bob"),
        pk("carol"),
        pk("dave"),
        pk("erin")
    )
}

pub fn policy() -> ProjectPolicy {
    policy_with(
        "[maxima]\nthreads = true\nnetwork = [\"api.example.com\"]\nread = [\"data\", \"shared\"]\nwrite = [\"out\"]\nmemory = \"512MiB\"\n",
    )
}

pub fn policy_with(extra: &str) -> ProjectPolicy {
    ProjectPolicy::parse(&policy_text(extra), "anrf-policy.toml").unwrap()
}

/// A manifest whose `[security]` is given (without `overrides`).
pub fn manifest(security: &str) -> Manifest {
    let text = format!(
        r#"anrf = 1
[module]
name = "{MODULE}"
version = "0.1.0"
[intent]
summary = "Count the words on stdin"
[logic]
interface = "command"
functions = ["count_words", "load_list"]
[implementation]
language = "rust"
sources = ["src/main.rs"]
[security]
{security}
"#
    );
    // anrf-format refuses a raised limit or `sandbox-only` without any override in
    // the file; resolution must still decide them, so they are patched in here.
    let unsafe_basis = text.contains("\"sandbox-only\"");
    let memory = text
        .split("memory = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|m| anrf_format::parse_size(m).unwrap())
        .unwrap();
    let safe = text.replace("\"sandbox-only\"", "\"enforced\"").replace(
        &format!(
            "memory = \"{}\"",
            text.split("memory = \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        ),
        "memory = \"64MiB\"",
    );
    let mut m = Manifest::from_str(&safe, "anrf.toml").unwrap();
    if unsafe_basis {
        m.security.memory_safety = anrf_format::MemorySafety::SandboxOnly;
    }
    m.security.limits.memory = memory;
    m
}

pub const LIMITS: &str = r#"[security.limits]
memory = "64MiB"
fuel = 1000000000
timeout = "5s"
stack = "512KiB"
stdout = "1MiB"
stderr = "1MiB"
"#;

/// `memory_safety`, `isolation`, the limits and the given capabilities.
pub fn security(memory_safety: &str, memory: &str, caps: &str) -> String {
    format!(
        "memory_safety = \"{memory_safety}\"\nisolation = \"wasm\"\noverrides = []\n{}\n[security.capabilities]\n{caps}\n",
        LIMITS.replace("\"64MiB\"", &format!("\"{memory}\""))
    )
}

pub const NO_CAPS: &str = "dirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = []";
pub const READ_DATA: &str = "dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]\nenv = []\nclock = false\nrandom = false\nnetwork = []";

pub fn digest() -> ContentDigest {
    ContentDigest::of(b"wordcount security content v1")
}

pub fn changed_digest() -> ContentDigest {
    ContentDigest::of(b"wordcount security content v2: src/main.rs edited")
}

/// The module the override tests decide against: `data` granted read-only,
/// default limits.
pub fn subject() -> Subject {
    subject_of(&manifest(&security("enforced", "64MiB", READ_DATA)))
}

/// The subject of `manifest`, with the fixed code digest.
pub fn subject_of(manifest: &Manifest) -> Subject {
    Subject::module(MODULE, digest(), &manifest.security)
}

pub fn request(relaxes: &str, scope: Scope, by: &str) -> Override {
    let functions = ["count_words".to_owned(), "load_list".to_owned()];
    new_override(
        &NewOverride {
            module: MODULE,
            functions: &functions,
            scope,
            relaxes: relaxes.parse::<Relaxation>().unwrap(),
            justification: WHY,
            requested_by: by,
            expires: None,
            now: NOW,
        },
        &policy(),
    )
    .unwrap()
}

/// Signs `ovr` as `name` for `profile` (role picked by Cedar), with the policy.
pub fn sign(ovr: &mut Override, name: &str, profile: Profile, project: &ProjectPolicy) {
    sign_for(ovr, name, profile, project, &subject());
}

/// [`sign`] for the module `manifest` describes (what a real approval binds).
pub fn sign_in(
    manifest: &Manifest,
    ovr: &mut Override,
    name: &str,
    profile: Profile,
    project: &ProjectPolicy,
) {
    sign_for(ovr, name, profile, project, &subject_of(manifest));
}

/// [`sign`] for `subject`.
pub fn sign_for(
    ovr: &mut Override,
    name: &str,
    profile: Profile,
    project: &ProjectPolicy,
    subject: &Subject,
) {
    let k = key(name);
    let (approval, _) = approve(
        ovr,
        subject,
        project,
        &ApproveAs {
            key: &k,
            role: None,
            profile,
            now: NOW,
        },
    )
    .unwrap();
    ovr.approvals.push(approval);
}

pub fn decide(ovr: &Override, profile: Profile, project: &ProjectPolicy) -> OverrideDecision {
    decide_at(ovr, profile, project, NOW, &digest(), &[])
}

pub fn decide_at(
    ovr: &Override,
    profile: Profile,
    project: &ProjectPolicy,
    now: OffsetDateTime,
    current: &ContentDigest,
    revocations: &[RevocationNotice],
) -> OverrideDecision {
    let subject = Subject {
        digest: current.clone(),
        ..subject()
    };
    let functions = ["count_words".to_owned(), "load_list".to_owned()];
    check_override(
        ovr,
        &OverrideContext {
            project,
            profile,
            now,
            subject: &subject,
            functions: &functions,
            revocations,
        },
    )
}

pub fn run(manifest: &Manifest, profile: Profile, project: &ProjectPolicy) -> Resolution {
    let d = digest();
    resolve(&ResolveInput {
        project,
        profile,
        now: NOW,
        module: Some(ModuleInput {
            manifest,
            code_digest: &d,
        }),
        cli_grants: &[],
        cli_justification: None,
        user: "alice",
        revocations: &[],
    })
}

pub fn with_overrides(mut m: Manifest, overrides: Vec<Override>) -> Manifest {
    m.security.overrides = overrides;
    m
}
