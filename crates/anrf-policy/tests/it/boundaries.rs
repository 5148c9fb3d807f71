//! The trust boundaries policy keeps on its own: the validity cap at every
//! decision, revocations keyed by module, granted directories that may not nest,
//! and Cedar rules too deep to parse refused before parsing.

use std::path::PathBuf;

use anrf_format::{Profile, Scope};
use anrf_policy::{
    ApproveAs, CliGrant, HostAnchor, MAX_CEDAR_NESTING, MAX_VALIDITY_DAYS, ModuleInput,
    ProjectPolicy, Refusal, ResolveInput, RevocationNotice, Signer, Verdict, approve, resolve,
    sign_approval,
};
use time::Duration;
use time::macros::date;

use crate::support::*;

// ------------------------------------------------------------ validity cap

/// An override whose `expires` line was written by hand, far ahead.
fn far_ahead() -> anrf_format::Override {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    ovr.expires = date!(9999 - 12 - 31);
    ovr
}

/// Signs `ovr` as bob (security) at `when`, bypassing `approve`'s own checks,
/// as a hand-made or old approval would be.
fn sign_at(ovr: &mut anrf_format::Override, when: time::OffsetDateTime) {
    let k = key("bob");
    let approval = sign_approval(
        ovr,
        &subject(),
        &Signer {
            name: "bob",
            role: "security",
            key: &k,
        },
        Profile::Prod,
        policy().digest(),
        when,
    )
    .unwrap();
    ovr.approvals.push(approval);
}

#[test]
fn a_hand_written_far_expiry_is_refused_when_deciding() {
    // dev self-approves a justified override: only the cap can refuse it.
    let d = decide(&far_ahead(), Profile::Dev, &policy());
    assert_eq!(d.refusal, Some(Refusal::Expired), "{:?}", d.reasons);
    let last = d.reasons.last().unwrap();
    assert!(last.contains("at most 366 days"), "{last}");
    assert!(
        d.fix
            .as_deref()
            .unwrap()
            .contains("anrf override request wordcount --allow-read data"),
        "{:?}",
        d.fix
    );

    // A valid, trusted signature over it does not help.
    let mut signed = far_ahead();
    sign_at(&mut signed, NOW);
    let d = decide(&signed, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::Expired), "{:?}", d.reasons);
}

#[test]
fn a_hand_written_far_expiry_is_refused_at_run() {
    let mut signed = far_ahead();
    sign_at(&mut signed, NOW);
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![signed],
    );
    let r = run(&m, Profile::Prod, &policy());
    assert!(!r.is_complete(), "{}", r.explain());
    assert!(r.effective.dirs.is_empty());
    let item = r.refused().next().unwrap();
    assert!(item.subject.starts_with("dir /data"), "{}", item.subject);
    assert!(
        item.reasons.iter().any(|x| x.contains("at most 366 days")),
        "{:?}",
        item.reasons
    );
}

#[test]
fn approve_refuses_to_sign_a_far_expiry() {
    let k = key("bob");
    let err = approve(
        &far_ahead(),
        &subject(),
        &policy(),
        &ApproveAs {
            key: &k,
            role: None,
            profile: Profile::Prod,
            now: NOW,
        },
    )
    .unwrap_err();
    assert_eq!(err.refusal, Refusal::Expired);
    assert!(err.message.contains("is not signed"), "{}", err.message);
    assert!(err.message.contains("at most 366 days"), "{}", err.message);
}

#[test]
fn the_cap_is_366_days_from_today_inclusive() {
    let mut at_cap = request("allow-read:data", Scope::Module, "alice");
    at_cap.expires = NOW.date() + Duration::days(MAX_VALIDITY_DAYS);
    assert!(decide(&at_cap, Profile::Dev, &policy()).is_granted());
    at_cap.expires = NOW.date() + Duration::days(MAX_VALIDITY_DAYS + 1);
    let d = decide(&at_cap, Profile::Dev, &policy());
    assert_eq!(d.refusal, Some(Refusal::Expired), "{:?}", d.reasons);
}

#[test]
fn an_approval_signed_more_than_366_days_before_expiry_does_not_count() {
    // Valid 300 more days from now: within the cap today...
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    ovr.expires = NOW.date() + Duration::days(300);
    // ...but the signature was given 200 days ago, for a 500-day window.
    let mut old = ovr.clone();
    sign_at(&mut old, NOW - Duration::days(200));
    let d = decide(&old, Profile::Prod, &policy());
    assert!(!d.is_granted(), "{:?}", d.reasons);
    assert_eq!(d.approvals[0].refusal, Some(Refusal::Expired));
    assert!(
        d.approvals[0].note.contains("after it was signed"),
        "{}",
        d.approvals[0].note
    );
    // The same approval given 10 days ago covers 310 days, and counts.
    let mut recent = ovr;
    sign_at(&mut recent, NOW - Duration::days(10));
    assert!(decide(&recent, Profile::Prod, &policy()).is_granted());
}

// ------------------------------------------------- revocations by module

fn notice(module: Option<&str>, id: &str) -> RevocationNotice {
    RevocationNotice {
        override_id: id.into(),
        module: module.map(Into::into),
        by: "carol".into(),
        at: "2026-11-23T14:00:00Z".into(),
        reason: "incident 42".into(),
    }
}

#[test]
fn revoking_another_modules_override_with_the_same_id_revokes_nothing_here() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let id = ovr.id.as_str().to_owned();
    let decide_with = |n: &RevocationNotice| {
        decide_at(
            &ovr,
            Profile::Prod,
            &policy(),
            NOW,
            &digest(),
            std::slice::from_ref(n),
        )
    };
    assert!(decide_with(&notice(Some("other-module"), &id)).is_granted());
    assert!(decide_with(&notice(Some("*"), &id)).is_granted());
    let own = decide_with(&notice(Some(MODULE), &id));
    assert_eq!(own.refusal, Some(Refusal::Revoked));
    // A legacy notice (no module) revokes by id alone, as it always did.
    let legacy = decide_with(&notice(None, &id));
    assert_eq!(legacy.refusal, Some(Refusal::Revoked));
}

// ------------------------------------------------------ nested grants

fn dirs(entries: &[(&str, &str, &str)]) -> String {
    let list: Vec<String> = entries
        .iter()
        .map(|(guest, host, access)| {
            format!("{{ guest = \"{guest}\", host = \"{host}\", access = \"{access}\" }}")
        })
        .collect();
    format!(
        "dirs = [{}]\nenv = []\nclock = false\nrandom = false\nnetwork = []",
        list.join(", ")
    )
}

fn run_with_write_out(caps: &str) -> anrf_policy::Resolution {
    let mut ovr = request("allow-write:out", Scope::Module, "alice");
    let base = manifest(&security("enforced", "64MiB", caps));
    sign_in(&base, &mut ovr, "bob", Profile::Test, &policy());
    let m = with_overrides(base, vec![ovr]);
    run(&m, Profile::Test, &policy())
}

#[test]
fn granted_dirs_that_nest_are_refused_with_a_fix() {
    let r = run_with_write_out(&dirs(&[
        ("/out", "out", "read-write"),
        ("/cfg", "out/cfg", "read-only"),
    ]));
    assert!(!r.is_complete(), "{}", r.explain());
    let refused: Vec<_> = r.refused().collect();
    assert_eq!(refused.len(), 1, "{}", r.explain());
    let item = refused[0];
    assert!(
        item.subject.starts_with("dir /cfg -> out/cfg"),
        "{}",
        item.subject
    );
    assert!(
        item.reasons[0].contains("may not nest"),
        "{:?}",
        item.reasons
    );
    let fix = item.fix.as_deref().unwrap();
    assert!(fix.contains("grant only `out`"), "{fix}");
    assert!(fix.contains("[security.capabilities] dirs"), "{fix}");
    // The inner directory is not in the effective policy either.
    assert_eq!(r.effective.dirs.len(), 1);
    assert_eq!(r.effective.dirs[0].host, "out");

    // In the other order, the outer one is the one refused.
    let r = run_with_write_out(&dirs(&[
        ("/cfg", "out/cfg/", "read-only"),
        ("/out", "./out", "read-write"),
    ]));
    assert_eq!(r.refused().count(), 1, "{}", r.explain());
    assert_eq!(r.effective.dirs.len(), 1);
}

#[test]
fn the_same_host_dir_granted_twice_is_refused() {
    let r = run_with_write_out(&dirs(&[
        ("/a", "out", "read-only"),
        ("/b", "out", "read-write"),
    ]));
    let item = r.refused().next().expect("refused");
    assert!(
        item.reasons[0].contains("granted twice"),
        "{:?}",
        item.reasons
    );
    assert_eq!(r.effective.dirs.len(), 1);
}

#[test]
fn sibling_dirs_with_a_common_prefix_do_not_nest() {
    let base = manifest(&security(
        "enforced",
        "64MiB",
        &dirs(&[
            ("/out", "out", "read-write"),
            ("/data", "data", "read-only"),
        ]),
    ));
    let mut ovr = request("allow-write:out", Scope::Module, "alice");
    sign_in(&base, &mut ovr, "bob", Profile::Test, &policy());
    let mut reads = request("allow-read:data", Scope::Module, "alice");
    sign_in(&base, &mut reads, "bob", Profile::Test, &policy());
    let m = with_overrides(base, vec![ovr, reads]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.dirs.len(), 2);
}

#[test]
fn a_command_line_dir_inside_a_granted_one_is_refused() {
    // dev: a self-approved override grants `data`; `--allow-read` names a
    // directory inside it, relative to the working directory.
    let project = ProjectPolicy::builtin().anchored(HostAnchor {
        working_dir: PathBuf::from("/p"),
        module_dir: PathBuf::from("/p/wordcount"),
        project_root: PathBuf::from("/p"),
        resolve_links: None,
    });
    let ovr = request("allow-read:data", Scope::Module, "alice");
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let d = digest();
    let grants = [CliGrant::Read {
        host: "wordcount/data/sub".into(),
        guest: Some("/sub".into()),
    }];
    let r = resolve(&ResolveInput {
        project: &project,
        profile: Profile::Dev,
        now: NOW,
        module: Some(ModuleInput {
            manifest: &m,
            code_digest: &d,
        }),
        cli_grants: &grants,
        cli_justification: Some(WHY),
        user: "alice",
        revocations: &[],
    });
    assert_eq!(r.cli_grants[0].verdict, Verdict::Granted, "{}", r.explain());
    let item = r.refused().next().expect("refused");
    assert!(item.subject.contains("nests with"), "{}", item.subject);
    assert!(
        item.fix.as_deref().unwrap().contains("--allow-read"),
        "{:?}",
        item.fix
    );
    assert_eq!(r.effective.dirs.len(), 1);
}

// -------------------------------------------------------------- deep Cedar

fn with_cedar(rule: &str) -> Result<ProjectPolicy, anrf_policy::PolicyError> {
    let text = format!("version = 1\ncedar = '''\n{rule}\n'''\n");
    ProjectPolicy::parse(&text, "anrf-policy.toml")
}

fn deep_rules() -> Vec<(&'static str, String)> {
    let n = 5_000;
    let when = |body: String| format!("permit(principal, action, resource) when {{ {body} }};");
    vec![
        (
            "parentheses",
            when(format!("{}true{}", "(".repeat(n), ")".repeat(n))),
        ),
        (
            "negations",
            when(format!("{}true{}", "!(".repeat(n), ")".repeat(n))),
        ),
        (
            "minus",
            when(format!("{}1{} == 1", "-(".repeat(n), ")".repeat(n))),
        ),
        (
            "if ladder",
            when(format!("{}true", "if true then true else ".repeat(n))),
        ),
        ("or chain", when(format!("true{}", " || true".repeat(n)))),
        (
            "sets",
            when(format!("{}1{}.contains(1)", "[".repeat(n), "]".repeat(n))),
        ),
        (
            "records",
            when(format!("{}1{} has a", "{a: ".repeat(n), "}".repeat(n))),
        ),
        (
            "member chain",
            when(format!("resource{} == \"x\"", ".module".repeat(n))),
        ),
    ]
}

#[test]
fn cedar_nested_thousands_deep_is_a_diagnostic_not_a_stack_overflow() {
    for (what, rule) in deep_rules() {
        let err = with_cedar(&rule).unwrap_err().to_string();
        assert!(
            err.contains(&format!("deeper than {MAX_CEDAR_NESTING} levels")),
            "{what}: {err}"
        );
        assert!(err.contains("anrf-policy.toml"), "{what}: {err}");
    }
}

#[test]
fn the_deepest_accepted_rules_parse_on_a_small_stack() {
    // Just inside the bound, called from a 2 MiB thread (the default for
    // spawned threads, where 40 nested parentheses overflow Cedar's parser in an
    // unoptimized build): parsing, validating and dropping must not overflow.
    let depth = usize::try_from(MAX_CEDAR_NESTING).unwrap() - 3;
    let rules = [
        format!(
            "permit(principal, action, resource) when {{ {}true{} }};",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        format!(
            "permit(principal, action, resource) when {{ true{} }};",
            " || true".repeat(depth)
        ),
        format!(
            "permit(principal, action, resource) when {{ {}true }};",
            "if true then true else ".repeat(depth)
        ),
        format!(
            "permit(principal, action, resource) when {{ {}true{} }};",
            "!(".repeat(depth / 2),
            ")".repeat(depth / 2)
        ),
        format!(
            "permit(principal, action, resource) when {{ {}1{}.contains(1) }};",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
    ];
    for rule in rules {
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || with_cedar(&rule).map(|_| ()).map_err(|e| e.to_string()))
            .unwrap()
            .join();
        let outcome = outcome.unwrap();
        if let Err(e) = outcome {
            assert!(!e.contains("deeper than"), "{e}");
        }
    }
}

#[test]
fn a_readable_long_rule_is_accepted() {
    let kinds: Vec<String> = (0..60)
        .map(|i| format!("resource.target == \"dir{i}\""))
        .collect();
    let rule = format!(
        "@id(\"reads\")\npermit(principal in Role::\"security\", action == Action::\"approve\", resource) when {{ {} }};",
        kinds.join(" || ")
    );
    assert!(with_cedar(&rule).is_ok());
}

#[test]
fn deep_toml_in_the_policy_file_is_an_error_not_a_crash() {
    let text = format!("version = 1\nx = {}", "[".repeat(100_000));
    assert!(ProjectPolicy::parse(&text, "anrf-policy.toml").is_err());
    let text = format!("version = 1\nx = {}", "{ a = ".repeat(100_000));
    assert!(ProjectPolicy::parse(&text, "anrf-policy.toml").is_err());
}
