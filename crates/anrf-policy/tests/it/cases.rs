//! Policy cases: every grant path across `dev`, `test` and `prod`, and every
//! refusal with its own reason.

use anrf_format::{Profile, Revocation, Scope};
use anrf_policy::{
    ApproveAs, CliGrant, ModuleInput, NewOverride, ProjectPolicy, Refusal, ResolveInput,
    RevocationNotice, Signer, Verdict, approve, check_cli_grants, new_override, resolve,
    sign_approval,
};
use time::macros::{date, datetime};

use crate::support::*;

// ---------------------------------------------------------------- grants

#[test]
fn module_without_relaxations_gets_the_defaults_in_every_profile() {
    let m = manifest(&security("enforced", "32MiB", NO_CAPS));
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let r = run(&m, profile, &ProjectPolicy::builtin());
        assert!(r.is_complete(), "{}", r.explain());
        assert_eq!(r.effective.limits.memory.bytes(), 32 << 20);
        assert!(r.effective.dirs.is_empty() && r.effective.env.is_empty());
        assert!(!r.effective.clock && !r.effective.random && !r.effective.threads);
    }
}

#[test]
fn dev_grants_a_justified_override_without_signature_as_self_approved() {
    let ovr = request("allow-read:data", Scope::Module, "alice");
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let r = run(&m, Profile::Dev, &ProjectPolicy::builtin());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.dirs.len(), 1);
    assert_eq!(r.effective.dirs[0].guest, "/data");
    let reasons = r.overrides[0].reasons.join("\n");
    assert!(reasons.contains("self-approved by `alice`"), "{reasons}");
}

#[test]
fn dev_counts_a_self_approval_signature() {
    let mut ovr = request("allow-env:GREETING", Scope::Module, "alice");
    sign(&mut ovr, "alice", Profile::Dev, &policy());
    let d = decide(&ovr, Profile::Dev, &policy());
    assert!(d.is_granted(), "{:?}", d.reasons);
    assert_eq!(d.approvers, ["alice"]);
    assert_eq!(d.approvals[0].cedar_policies, ["developers-approve-in-dev"]);
}

#[test]
fn test_grants_with_one_trusted_signature() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Test, &policy());
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let r = run(&m, Profile::Test, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    let item = r
        .items
        .iter()
        .find(|i| i.subject.starts_with("dir /data"))
        .unwrap();
    assert_eq!(item.verdict, Verdict::Granted);
    let why = item.reasons.join(" ");
    assert!(
        why.contains("approved by `bob`")
            && why.contains("security-approves-all")
            && why.contains("expires end of"),
        "{why}"
    );
}

#[test]
fn prod_grants_read_with_one_reviewer_signature() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "dave", Profile::Prod, &policy());
    let d = decide(&ovr, Profile::Prod, &policy());
    assert!(d.is_granted(), "{:?}", d.reasons);
    assert_eq!(d.approvals[0].cedar_policies, ["reviewers-approve-reads"]);
}

#[test]
fn prod_grants_memory_unsafe_with_two_distinct_approvers() {
    let mut ovr = request("memory-unsafe", Scope::Module, "alice");
    let base = manifest(&security("sandbox-only", "64MiB", NO_CAPS));
    sign_in(&base, &mut ovr, "bob", Profile::Prod, &policy());
    sign_in(&base, &mut ovr, "carol", Profile::Prod, &policy());
    let m = with_overrides(base, vec![ovr]);
    let r = run(&m, Profile::Prod, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(
        r.effective.memory_safety,
        anrf_format::MemorySafety::SandboxOnly
    );
    assert_eq!(r.overrides[0].approvers, ["bob", "carol"]);
    assert_eq!(r.overrides[0].required_approvers, 2);
}

#[test]
fn prod_grants_a_network_host_with_two_approvers() {
    let mut ovr = request("allow-network:api.example.com", Scope::Module, "alice");
    let caps =
        "dirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = [\"api.example.com\"]";
    let base = manifest(&security("enforced", "64MiB", caps));
    sign_in(&base, &mut ovr, "bob", Profile::Prod, &policy());
    sign_in(&base, &mut ovr, "carol", Profile::Prod, &policy());
    let m = with_overrides(base, vec![ovr]);
    let r = run(&m, Profile::Prod, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.network, ["api.example.com"]);
}

#[test]
fn test_grants_a_raised_limit_and_the_run_gets_it() {
    let mut ovr = request("raise:memory=256MiB", Scope::Module, "alice");
    let base = manifest(&security("enforced", "256MiB", NO_CAPS));
    sign_in(&base, &mut ovr, "carol", Profile::Test, &policy());
    let m = with_overrides(base, vec![ovr]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.limits.memory.bytes(), 256 << 20);
}

#[test]
fn prod_grants_env_and_threads_as_the_rules_say() {
    // The fixture's Cedar rules: security approves everything, but a `forbid`
    // rule stops threads in prod. So in prod env is granted and threads are not;
    // in test, the same kind of approval grants threads.
    let caps = "dirs = []\nenv = [\"GREETING\"]\nclock = true\nrandom = true\nnetwork = []";
    let base = manifest(&security("enforced", "64MiB", caps));
    let mut env = request("allow-env:GREETING", Scope::Module, "alice");
    sign_in(&base, &mut env, "bob", Profile::Prod, &policy());
    let mut threads = request("threads", Scope::Module, "alice");
    let forced = sign_approval(
        &threads,
        &subject_of(&base),
        &Signer {
            name: "bob",
            role: "security",
            key: &key("bob"),
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    threads.approvals.push(forced);
    let m = with_overrides(base, vec![env, threads.clone()]);
    let r = run(&m, Profile::Prod, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.env.len(), 1);
    assert!(r.effective.clock && r.effective.random);
    assert!(!r.effective.threads, "{}", r.explain());
    assert_eq!(r.overrides[1].refusal, Some(Refusal::Unauthorized));
    assert!(
        r.overrides[1]
            .reasons
            .join(" ")
            .contains("no-threads-in-prod"),
        "{:?}",
        r.overrides[1].reasons
    );

    let mut threads_test = request("threads", Scope::Module, "alice");
    let base = manifest(&security("enforced", "64MiB", NO_CAPS));
    sign_in(&base, &mut threads_test, "bob", Profile::Test, &policy());
    let m = with_overrides(base, vec![threads_test]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.effective.threads, "{}", r.explain());
    let item = r.items.iter().find(|i| i.subject == "threads").unwrap();
    assert_eq!(item.verdict, Verdict::Granted);
}

#[test]
fn test_grants_a_writable_directory_with_one_signature() {
    let mut ovr = request("allow-write:out", Scope::Module, "alice");
    let caps = "dirs = [{ guest = \"/out\", host = \"out\", access = \"read-write\" }]\nenv = []\nclock = false\nrandom = false\nnetwork = []";
    let base = manifest(&security("enforced", "64MiB", caps));
    sign_in(&base, &mut ovr, "bob", Profile::Test, &policy());
    let m = with_overrides(base, vec![ovr]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.dirs.len(), 1);
    assert_eq!(r.effective.dirs[0].access, anrf_format::Access::ReadWrite);
    // without the approval, the same profile refuses it
    let unsigned = request("allow-write:out", Scope::Module, "alice");
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", caps)),
        vec![unsigned],
    );
    let r = run(&m, Profile::Test, &policy());
    assert_eq!(r.refused().count(), 1, "{}", r.explain());
    assert!(r.effective.dirs.is_empty());
}

#[test]
fn an_approval_for_prod_also_counts_in_test() {
    // dev needs a signature here too, so the dev result depends on the approval.
    let p = policy_with(
        "[maxima]\nread = [\"data\"]\n\n[profiles.dev]\nmin_approvers = { default = 1 }\nself_approval = false\n",
    );
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        assert_eq!(
            decide(&ovr, profile, &p).refusal,
            Some(Refusal::Unsigned),
            "{profile}"
        );
    }
    sign(&mut ovr, "bob", Profile::Prod, &p);
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let d = decide(&ovr, profile, &p);
        assert!(d.is_granted(), "{profile}: {:?}", d.reasons);
        assert_eq!(d.approvers, ["bob"], "{profile}");
    }
    // and the reverse does not hold: a test approval does not count in prod
    let mut weaker = request("allow-read:data", Scope::Module, "alice");
    sign(&mut weaker, "bob", Profile::Test, &p);
    assert!(decide(&weaker, Profile::Dev, &p).is_granted());
    assert_eq!(
        decide(&weaker, Profile::Prod, &p).refusal,
        Some(Refusal::ProfileMismatch)
    );
}

#[test]
fn project_scoped_override_in_the_policy_file_applies_to_the_module() {
    // Approvals of project overrides bind to the policy's digest, which leaves
    // `[[overrides]]` out, so adding the signed override does not change it.
    let base_text = policy_text("[maxima]\nread = [\"data\"]");
    let base = ProjectPolicy::parse(&base_text, "anrf-policy.toml").unwrap();
    let mut ovr = request("allow-env:GREETING", Scope::Project, "alice");
    let k = key("bob");
    let subject = anrf_policy::Subject::project();
    let (approval, _) = approve(
        &ovr,
        &subject,
        &base,
        &ApproveAs {
            key: &k,
            role: None,
            profile: Profile::Prod,
            now: NOW,
        },
    )
    .unwrap();
    ovr.approvals.push(approval);
    let entry = toml::to_string(&ovr)
        .unwrap()
        .replace("[[approvals]]", "[[overrides.approvals]]");
    let with = ProjectPolicy::parse(
        &format!("{base_text}\n[[overrides]]\n{entry}"),
        "anrf-policy.toml",
    )
    .unwrap();
    assert_eq!(with.digest(), base.digest());
    let caps = "dirs = []\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []";
    let r = run(
        &manifest(&security("enforced", "64MiB", caps)),
        Profile::Prod,
        &with,
    );
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.overrides[0].scope, "project");
}

#[test]
fn function_scoped_memory_unsafe_justifies_the_sandbox_only_basis() {
    let mut ovr = request(
        "memory-unsafe",
        Scope::Function("load_list".into()),
        "alice",
    );
    let base = manifest(&security("sandbox-only", "64MiB", NO_CAPS));
    sign_in(&base, &mut ovr, "bob", Profile::Test, &policy());
    let m = with_overrides(base, vec![ovr]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert!(r.suppression("memory-unsafe", Some("load_list")).is_some());
    assert!(
        r.suppression("memory-unsafe", Some("count_words"))
            .is_none()
    );
}

#[test]
fn dev_command_line_grant_with_justification_is_granted_and_added() {
    let m = manifest(&security("enforced", "64MiB", NO_CAPS));
    let d = digest();
    let grants = [CliGrant::Read {
        host: "fixtures/".into(),
        guest: None,
    }];
    let r = resolve(&ResolveInput {
        project: &ProjectPolicy::builtin(),
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
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.dirs[0].guest, "/fixtures");
    assert_eq!(r.effective.dirs[0].host, "fixtures");
    assert!(r.cli_grants[0].reasons[0].contains("self-approved by `alice`"));
}

#[test]
fn dev_command_line_grant_covers_a_declared_directory() {
    let m = manifest(&security("enforced", "64MiB", READ_DATA));
    let d = digest();
    let grants = [CliGrant::Read {
        host: "data".into(),
        guest: None,
    }];
    let r = resolve(&ResolveInput {
        project: &ProjectPolicy::builtin(),
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
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.dirs.len(), 1);
}

#[test]
fn project_maxima_narrow_a_limit_below_the_default() {
    let p = policy_with("[maxima]\nmemory = \"16MiB\"\n");
    let r = run(
        &manifest(&security("enforced", "64MiB", NO_CAPS)),
        Profile::Prod,
        &p,
    );
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.limits.memory.bytes(), 16 << 20);
    assert!(
        r.items[0]
            .reasons
            .join(" ")
            .contains("narrowed to the project maximum")
    );
}

#[test]
fn resolution_is_deterministic() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let a = serde_json::to_string(&run(&m, Profile::Prod, &policy())).unwrap();
    let b = serde_json::to_string(&run(&m, Profile::Prod, &policy())).unwrap();
    assert_eq!(a, b);
}

// -------------------------------------------------------------- refusals

#[test]
fn refuses_a_missing_or_placeholder_justification() {
    for text in ["", "   ", "n/a", "TODO", "test"] {
        let err = new_override(
            &NewOverride {
                module: MODULE,
                functions: &[],
                scope: Scope::Module,
                relaxes: "allow-read:data".parse().unwrap(),
                justification: text,
                requested_by: "alice",
                expires: None,
                now: NOW,
            },
            &policy(),
        )
        .unwrap_err();
        assert_eq!(err.refusal, Refusal::Justification, "{text:?}");
        assert!(err.message.contains("--justification"), "{}", err.message);
    }
    let err = check_cli_grants(
        &ProjectPolicy::builtin(),
        Profile::Dev,
        &[CliGrant::Read {
            host: "data".into(),
            guest: None,
        }],
        Some("n/a"),
        "alice",
        MODULE,
    );
    assert_eq!(err[0].verdict, Verdict::Refused);
    assert!(
        err[0].reasons[0].contains("placeholder"),
        "{:?}",
        err[0].reasons
    );
}

#[test]
fn refuses_an_expired_override_wherever_it_is_decided() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let later = datetime!(2027-06-01 00:00:00 UTC);
    let d = decide_at(&ovr, Profile::Prod, &policy(), later, &digest(), &[]);
    assert_eq!(d.refusal, Some(Refusal::Expired));
    assert!(d.reasons.last().unwrap().contains("valid through"));
    // The last valid day still counts.
    let last_day = ovr.expires.with_hms(23, 59, 59).unwrap().assume_utc();
    assert!(decide_at(&ovr, Profile::Prod, &policy(), last_day, &digest(), &[]).is_granted());
    // And approving an expired override is refused too.
    let k = key("bob");
    let err = approve(
        &ovr,
        &subject(),
        &policy(),
        &ApproveAs {
            key: &k,
            role: None,
            profile: Profile::Prod,
            now: later,
        },
    )
    .unwrap_err();
    assert_eq!(err.refusal, Refusal::Expired);
}

#[test]
fn refuses_an_expiry_in_the_past_at_request_time() {
    let err = new_override(
        &NewOverride {
            module: MODULE,
            functions: &[],
            scope: Scope::Module,
            relaxes: "allow-read:data".parse().unwrap(),
            justification: WHY,
            requested_by: "alice",
            expires: Some(date!(2020 - 01 - 01)),
            now: NOW,
        },
        &policy(),
    )
    .unwrap_err();
    assert_eq!(err.refusal, Refusal::Expired);
}

#[test]
fn refuses_a_revoked_override() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    ovr.revoked = Some(Revocation {
        by: "bob".into(),
        at: "2026-11-23T13:00:00Z".into(),
        reason: "data now shipped inside the module".into(),
    });
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::Revoked));
    assert!(d.reasons.last().unwrap().contains("revoked by `bob`"));
}

#[test]
fn refuses_an_override_revoked_in_the_index_even_if_the_manifest_forgot() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let notice = RevocationNotice {
        override_id: ovr.id.as_str().into(),
        module: Some(MODULE.into()),
        by: "carol".into(),
        at: "2026-11-23T14:00:00Z".into(),
        reason: "incident 42".into(),
    };
    let d = decide_at(&ovr, Profile::Prod, &policy(), NOW, &digest(), &[notice]);
    assert_eq!(d.refusal, Some(Refusal::Revoked));
}

#[test]
fn refuses_an_unsigned_override_in_test_and_prod() {
    let ovr = request("allow-read:data", Scope::Module, "alice");
    for profile in [Profile::Test, Profile::Prod] {
        let d = decide(&ovr, profile, &policy());
        assert_eq!(d.refusal, Some(Refusal::Unsigned), "{profile}");
        assert!(d.fix.as_deref().unwrap().contains("anrf override approve"));
    }
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let r = run(&m, Profile::Test, &policy());
    assert!(!r.is_complete());
    let refused: Vec<_> = r.refused().collect();
    assert_eq!(refused.len(), 1);
    // the override exists, so the fix is to approve it, not to request it again
    let fix = refused[0].fix.clone().unwrap();
    assert!(fix.starts_with("anrf override approve ovr-"), "{fix}");
    let bare = run(
        &manifest(&security("enforced", "64MiB", READ_DATA)),
        Profile::Test,
        &policy(),
    );
    let fix = bare.refused().next().unwrap().fix.clone().unwrap();
    assert!(
        fix.starts_with("anrf override request wordcount --allow-read data"),
        "{fix}"
    );
}

#[test]
fn refuses_a_signature_by_an_unknown_key() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    let mallory = key("mallory");
    let a = sign_approval(
        &ovr,
        &subject(),
        &Signer {
            name: "mallory",
            role: "security",
            key: &mallory,
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    ovr.approvals.push(a);
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::UnknownKey));
    assert!(
        d.reasons.last().unwrap().contains("not a trusted approver"),
        "{:?}",
        d.reasons
    );
    // and approve() refuses to sign with it at all
    let err = approve(
        &ovr,
        &subject(),
        &policy(),
        &ApproveAs {
            key: &mallory,
            role: None,
            profile: Profile::Prod,
            now: NOW,
        },
    )
    .unwrap_err();
    assert_eq!(err.refusal, Refusal::UnknownKey);
}

#[test]
fn refuses_a_forged_signature() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    // mallory signs but claims to be bob, with bob's public key
    let mallory = key("mallory");
    let mut a = sign_approval(
        &ovr,
        &subject(),
        &Signer {
            name: "bob",
            role: "security",
            key: &mallory,
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    a.public_key = key("bob").public_key().to_string();
    ovr.approvals.push(a);
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::BadSignature));
    assert!(d.reasons.last().unwrap().contains("forged"));
}

#[test]
fn refuses_an_approver_the_cedar_rules_do_not_authorize() {
    let mut ovr = request("allow-write:out", Scope::Module, "alice");
    // dave is a reviewer: reviewers approve reads only. approve() refuses to sign...
    let k = key("dave");
    let err = approve(
        &ovr,
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
    assert_eq!(err.refusal, Refusal::Unauthorized);
    assert!(
        err.message.contains("no Cedar rule permits it"),
        "{}",
        err.message
    );
    // ...and a signature made anyway does not count.
    let a = sign_approval(
        &ovr,
        &subject(),
        &Signer {
            name: "dave",
            role: "reviewer",
            key: &k,
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    ovr.approvals.push(a);
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::Unauthorized));
}

#[test]
fn refuses_what_a_cedar_forbid_rule_forbids_even_for_security() {
    let mut ovr = request("threads", Scope::Module, "alice");
    let k = key("bob");
    let err = approve(
        &ovr,
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
    assert!(
        err.message.contains("no-threads-in-prod"),
        "{}",
        err.message
    );
    // the same approval is fine in test
    sign(&mut ovr, "bob", Profile::Test, &policy());
    assert!(decide(&ovr, Profile::Test, &policy()).is_granted());
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::ProfileMismatch));
}

#[test]
fn refuses_too_few_distinct_approvers() {
    let mut ovr = request("memory-unsafe", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::TooFewApprovers));
    assert!(
        d.reasons
            .last()
            .unwrap()
            .contains("needs 2 for `memory-unsafe`, has 1"),
        "{:?}",
        d.reasons
    );
    // approve() refuses to sign twice for the same content...
    let k = key("bob");
    let err = approve(
        &ovr,
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
    assert_eq!(err.refusal, Refusal::AlreadyApproved);
    // ...and a second approval by the same approver made anyway is still one
    let again = sign_approval(
        &ovr,
        &subject(),
        &Signer {
            name: "bob",
            role: "security",
            key: &k,
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    ovr.approvals.push(again);
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::TooFewApprovers));
    assert_eq!(d.approvers, ["bob"]);
    // test needs one
    assert!(decide(&ovr, Profile::Test, &policy()).is_granted());
}

#[test]
fn refuses_self_approval_outside_dev() {
    let mut ovr = request("allow-read:data", Scope::Module, "carol");
    let k = key("carol");
    for profile in [Profile::Test, Profile::Prod] {
        let err = approve(
            &ovr,
            &subject(),
            &policy(),
            &ApproveAs {
                key: &k,
                role: None,
                profile,
                now: NOW,
            },
        )
        .unwrap_err();
        assert_eq!(err.refusal, Refusal::SelfApproval, "{profile}");
    }
    // a self-approval made by hand does not count either
    let a = sign_approval(
        &ovr,
        &subject(),
        &Signer {
            name: "carol",
            role: "security",
            key: &k,
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    ovr.approvals.push(a);
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::SelfApproval));
    // in dev it is allowed
    assert!(decide(&ovr, Profile::Dev, &policy()).is_granted());
}

#[test]
fn refuses_after_the_code_or_manifest_changed() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let d = decide_at(&ovr, Profile::Prod, &policy(), NOW, &changed_digest(), &[]);
    assert_eq!(d.refusal, Some(Refusal::DigestMismatch));
    assert!(
        d.reasons.last().unwrap().contains("changed since approval"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn refuses_an_override_wider_than_the_project_maxima() {
    for relaxes in [
        "allow-read:secrets",
        "allow-write:data",
        "raise:memory=1GiB",
        "allow-network:evil.example.org",
    ] {
        let err = new_override(
            &NewOverride {
                module: MODULE,
                functions: &[],
                scope: Scope::Module,
                relaxes: relaxes.parse().unwrap(),
                justification: WHY,
                requested_by: "alice",
                expires: None,
                now: NOW,
            },
            &policy(),
        )
        .unwrap_err();
        assert_eq!(err.refusal, Refusal::WiderThanMaxima, "{relaxes}");
        assert!(
            err.message.contains("wider than the project maxima"),
            "{}",
            err.message
        );
    }
    // an override written by hand past the maxima is refused at decision time too
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    ovr.relaxes = "allow-read:secrets".parse().unwrap();
    let d = decide(&ovr, Profile::Dev, &policy());
    assert_eq!(d.refusal, Some(Refusal::WiderThanMaxima));
}

#[test]
fn refuses_memory_unsafe_when_the_maxima_forbid_it() {
    let p = policy_with("[maxima]\nmemory-unsafe = false\n");
    let ovr = request("memory-unsafe", Scope::Module, "alice");
    let m = with_overrides(
        manifest(&security("sandbox-only", "64MiB", NO_CAPS)),
        vec![ovr],
    );
    let r = run(&m, Profile::Dev, &p);
    assert_eq!(r.overrides[0].refusal, Some(Refusal::WiderThanMaxima));
    assert!(!r.is_complete());
}

#[test]
fn refuses_a_role_the_approver_does_not_hold() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    let k = key("dave");
    let err = approve(
        &ovr,
        &subject(),
        &policy(),
        &ApproveAs {
            key: &k,
            role: Some("security"),
            profile: Profile::Prod,
            now: NOW,
        },
    )
    .unwrap_err();
    assert_eq!(err.refusal, Refusal::UnknownRole);
    let a = sign_approval(
        &ovr,
        &subject(),
        &Signer {
            name: "dave",
            role: "security",
            key: &k,
        },
        Profile::Prod,
        policy().digest(),
        NOW,
    )
    .unwrap();
    ovr.approvals.push(a);
    assert_eq!(
        decide(&ovr, Profile::Prod, &policy()).refusal,
        Some(Refusal::UnknownRole)
    );
}

#[test]
fn refuses_a_dev_approval_in_prod() {
    let mut ovr = request("allow-read:data", Scope::Module, "bob");
    sign(&mut ovr, "alice", Profile::Dev, &policy());
    let d = decide(&ovr, Profile::Prod, &policy());
    assert_eq!(d.refusal, Some(Refusal::ProfileMismatch));
}

#[test]
fn refuses_command_line_grants_in_test_and_prod_naming_override_request() {
    let grants = [
        CliGrant::Read {
            host: "data".into(),
            guest: None,
        },
        CliGrant::raise("memory=128MiB").unwrap(),
    ];
    for profile in [Profile::Test, Profile::Prod] {
        let ds = check_cli_grants(&policy(), profile, &grants, Some(WHY), "alice", MODULE);
        for d in &ds {
            assert_eq!(d.verdict, Verdict::Refused);
            assert!(
                d.reasons[0].contains("only honoured in `dev`"),
                "{:?}",
                d.reasons
            );
            assert!(
                d.fix
                    .as_deref()
                    .unwrap()
                    .starts_with("anrf override request wordcount"),
                "{:?}",
                d.fix
            );
        }
    }
    let ds = check_cli_grants(&policy(), Profile::Dev, &grants, None, "alice", MODULE);
    assert!(ds.iter().all(|d| d.verdict == Verdict::Refused && d.reasons[0].contains("no `--justification`")));
}

#[test]
fn refuses_a_function_scoped_capability_for_a_whole_module_run() {
    let mut ovr = request(
        "allow-read:data",
        Scope::Function("load_list".into()),
        "alice",
    );
    sign(&mut ovr, "bob", Profile::Prod, &policy());
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let r = run(&m, Profile::Prod, &policy());
    assert!(r.overrides[0].is_granted());
    let refused: Vec<_> = r.refused().collect();
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0]
            .reasons
            .join(" ")
            .contains("scoped to one function"),
        "{:?}",
        refused[0].reasons
    );
}

#[test]
fn refuses_a_project_scope_inside_a_module_manifest_and_unknown_functions() {
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    ovr.scope = Scope::Project;
    assert_eq!(
        decide(&ovr, Profile::Dev, &policy()).refusal,
        Some(Refusal::Scope)
    );
    ovr.scope = Scope::Function("nope".into());
    let d = decide(&ovr, Profile::Dev, &policy());
    assert_eq!(d.refusal, Some(Refusal::Scope));
    assert!(d.reasons.last().unwrap().contains("count_words, load_list"));
}

#[test]
fn builtin_policy_cannot_approve_anything_for_test_or_prod() {
    let ovr = request("allow-read:data", Scope::Module, "alice");
    let k = key("bob");
    let err = approve(
        &ovr,
        &subject(),
        &ProjectPolicy::builtin(),
        &ApproveAs {
            key: &k,
            role: None,
            profile: Profile::Test,
            now: NOW,
        },
    )
    .unwrap_err();
    assert_eq!(err.refusal, Refusal::UnknownKey);
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    assert!(!run(&m, Profile::Prod, &ProjectPolicy::builtin()).is_complete());
}

#[test]
fn refuses_the_clock_when_the_maxima_forbid_it() {
    let p = policy_with("[maxima]\nclock = false\n");
    let caps = "dirs = []\nenv = []\nclock = true\nrandom = false\nnetwork = []";
    let r = run(
        &manifest(&security("enforced", "64MiB", caps)),
        Profile::Dev,
        &p,
    );
    let refused: Vec<_> = r.refused().collect();
    assert_eq!(refused[0].subject, "clock");
    assert!(!r.effective.clock);
}

#[test]
fn refuses_a_raised_limit_without_override_and_runs_nothing_past_the_default() {
    let r = run(
        &manifest(&security("enforced", "128MiB", NO_CAPS)),
        Profile::Dev,
        &policy(),
    );
    let refused: Vec<_> = r.refused().collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0]
            .fix
            .as_deref()
            .unwrap()
            .split(" --justification")
            .next()
            .unwrap(),
        "anrf override request wordcount --raise memory=128MiB"
    );
    assert_eq!(r.effective.limits.memory.bytes(), 64 << 20);
}

#[test]
fn explanation_of_a_mixed_resolution() {
    let mut ok = request("allow-read:data", Scope::Module, "alice");
    sign(&mut ok, "bob", Profile::Prod, &policy());
    let unsigned = request("allow-env:GREETING", Scope::Module, "alice");
    let caps = "dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []";
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", caps)),
        vec![ok, unsigned],
    );
    let r = run(&m, Profile::Prod, &policy());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(r"ovr-[0-9a-f]{16}", "ovr-[id]");
    settings.bind(|| insta::assert_snapshot!(r.explain()));
}

#[test]
fn a_bare_wasm_gets_defaults_and_dev_grants_only() {
    let grants = [CliGrant::Read {
        host: "/tmp/in".into(),
        guest: None,
    }];
    let bare = |profile| {
        resolve(&ResolveInput {
            project: &ProjectPolicy::builtin(),
            profile,
            now: NOW,
            module: None,
            cli_grants: &grants,
            cli_justification: Some(WHY),
            user: "alice",
            revocations: &[],
        })
    };
    let dev = bare(Profile::Dev);
    assert!(dev.is_complete(), "{}", dev.explain());
    assert_eq!(dev.effective.dirs[0].guest, "/tmp/in");
    assert_eq!(dev.effective.limits, anrf_format::Limits::DEFAULT);
    let prod = bare(Profile::Prod);
    assert_eq!(prod.cli_grants[0].verdict, Verdict::Refused);
    assert!(prod.effective.dirs.is_empty());
    assert!(
        prod.cli_grants[0]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("make it a module (`anrf init`)")
    );
}

#[test]
fn a_granted_budget_raise_reaches_the_effective_policy_and_nothing_else_does() {
    use anrf_format::BudgetName;
    let mut ovr = request("raise:functions=30000", Scope::Module, "alice");
    sign(&mut ovr, "carol", Profile::Test, &policy());
    let m = with_overrides(manifest(&security("enforced", "64MiB", NO_CAPS)), vec![ovr]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(
        r.effective.budgets.get(&BudgetName::Functions),
        Some(&30_000)
    );

    // Unsigned in test: not granted, and it refuses nothing (a module within
    // the default budget still runs; one over it is refused at load).
    let unsigned = request("raise:functions=30000", Scope::Module, "alice");
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", NO_CAPS)),
        vec![unsigned],
    );
    let r = run(&m, Profile::Test, &policy());
    assert!(r.effective.budgets.is_empty());
    let item = r
        .items
        .iter()
        .find(|i| i.subject.starts_with("compile budget functions"))
        .unwrap();
    assert_eq!(item.verdict, Verdict::Granted, "{}", r.explain());
    assert!(item.subject.ends_with("(the default)"), "{}", item.subject);

    // Function-scoped (a module compiles as one) and below the default: no
    // effect.
    for (relaxes, scope) in [
        ("raise:functions=30000", Scope::Function("load_list".into())),
        ("raise:tables=2", Scope::Module),
    ] {
        let m = with_overrides(
            manifest(&security("enforced", "64MiB", NO_CAPS)),
            vec![request(relaxes, scope, "alice")],
        );
        let r = run(&m, Profile::Dev, &policy());
        assert!(r.effective.budgets.is_empty(), "{relaxes}: {}", r.explain());
    }
}
