//! What an approval binds to: the module's code and artifact, the override, and
//! the security fields it relaxes. Not the other overrides, not unrelated fields,
//! not the project policy's approvers.

use anrf_format::{Manifest, Override, Profile, Scope};
use anrf_policy::{ProjectPolicy, Refusal};

use crate::support::*;

const GREETING_TOO: &str = "dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []";

/// `data` granted read-only, approved by bob for `test`.
fn approved_read() -> (Manifest, Override) {
    let base = manifest(&security("enforced", "64MiB", READ_DATA));
    let mut ovr = request("allow-read:data", Scope::Module, "alice");
    sign_in(&base, &mut ovr, "bob", Profile::Test, &policy());
    (base, ovr)
}

fn refusal_of_first(m: &Manifest, project: &ProjectPolicy) -> Option<Refusal> {
    run(m, Profile::Test, project).overrides[0].refusal
}

#[test]
fn a_second_override_and_its_declaration_leave_the_first_approval_valid() {
    let (_, read) = approved_read();
    // The second request declares `GREETING` in `[security]` and adds its own
    // override, still unapproved: the first approval keeps counting.
    let grown = manifest(&security("enforced", "64MiB", GREETING_TOO));
    let env = request("allow-env:GREETING", Scope::Module, "alice");
    let m = with_overrides(grown.clone(), vec![read.clone(), env.clone()]);
    let r = run(&m, Profile::Test, &policy());
    assert!(r.overrides[0].is_granted(), "{}", r.explain());
    assert_eq!(r.overrides[1].refusal, Some(Refusal::Unsigned));
    // Approving the second one leaves both valid.
    let mut env = env;
    sign_in(&grown, &mut env, "carol", Profile::Test, &policy());
    let r = run(
        &with_overrides(grown, vec![read, env]),
        Profile::Test,
        &policy(),
    );
    assert!(r.is_complete(), "{}", r.explain());
    assert!(
        r.overrides
            .iter()
            .all(anrf_policy::OverrideDecision::is_granted)
    );
}

#[test]
fn unrelated_security_edits_leave_it_valid_and_the_relaxed_field_voids_it() {
    let (_, read) = approved_read();
    let with = |caps: &str, memory: &str| {
        with_overrides(
            manifest(&security("enforced", memory, caps)),
            vec![read.clone()],
        )
    };
    let p = policy();
    assert_eq!(refusal_of_first(&with(READ_DATA, "64MiB"), &p), None);
    // Lowering a limit or turning the clock on is not what `allow-read:data` relaxes.
    assert_eq!(refusal_of_first(&with(READ_DATA, "32MiB"), &p), None);
    let clock = READ_DATA.replace("clock = false", "clock = true");
    assert_eq!(refusal_of_first(&with(&clock, "64MiB"), &p), None);
    // Making `data` writable, or mounting it elsewhere, is.
    for edit in [
        READ_DATA.replace("read-only", "read-write"),
        READ_DATA.replace("\"/data\"", "\"/etc\""),
    ] {
        assert_eq!(
            refusal_of_first(&with(&edit, "64MiB"), &p),
            Some(Refusal::DigestMismatch),
            "{edit}"
        );
    }
}

#[test]
fn a_code_change_voids_the_approval() {
    let (base, read) = approved_read();
    let m = with_overrides(base, vec![read.clone()]);
    let d = decide_at(&read, Profile::Test, &policy(), NOW, &changed_digest(), &[]);
    assert_eq!(d.refusal, Some(Refusal::DigestMismatch), "{:?}", d.reasons);
    assert!(
        d.reasons.join(" ").contains("sources or artifact"),
        "{:?}",
        d.reasons
    );
    assert!(run(&m, Profile::Test, &policy()).is_complete());
}

#[test]
fn a_changed_justification_voids_the_approval() {
    let (base, mut read) = approved_read();
    read.justification = anrf_format::Justification::new(
        "reads the whole data directory, including the secrets someone put there",
    )
    .unwrap();
    let m = with_overrides(base, vec![read]);
    assert_eq!(refusal_of_first(&m, &policy()), Some(Refusal::BadSignature));
}

#[test]
fn a_new_approver_in_the_policy_leaves_module_and_project_approvals_valid() {
    let (base, read) = approved_read();
    let grown = policy_with(
        "[maxima]\nthreads = true\nnetwork = [\"api.example.com\"]\nread = [\"data\", \"shared\"]\nwrite = [\"out\"]\nmemory = \"512MiB\"\n",
    );
    let more = format!(
        "{}\n[[approvers]]\nname = \"frank\"\npublic_key = \"{}\"\nroles = [\"security\"]\n",
        policy_text(
            "[maxima]\nthreads = true\nnetwork = [\"api.example.com\"]\nread = [\"data\", \"shared\"]\nwrite = [\"out\"]\nmemory = \"512MiB\"\n"
        ),
        key("frank").public_key()
    );
    let more = ProjectPolicy::parse(&more, "anrf-policy.toml").unwrap();
    assert_ne!(more.digest(), grown.digest(), "the policy did change");
    let m = with_overrides(base, vec![read]);
    assert_eq!(refusal_of_first(&m, &more), None);

    // A project-scoped override approved under the smaller policy.
    let mut env = request("allow-env:GREETING", Scope::Project, "alice");
    sign_for(
        &mut env,
        "bob",
        Profile::Test,
        &grown,
        &anrf_policy::Subject::project(),
    );
    let d = anrf_policy::check_override(
        &env,
        &anrf_policy::OverrideContext {
            project: &more,
            profile: Profile::Test,
            now: NOW,
            subject: &anrf_policy::Subject::project(),
            functions: &[],
            revocations: &[],
        },
    );
    assert!(d.is_granted(), "{:?}", d.reasons);
}
