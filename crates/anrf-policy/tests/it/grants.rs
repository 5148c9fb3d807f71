//! Command-line grants (`anrf run --allow-read DIR ...`): the profile's approver
//! rules apply to them too, directories are compared with the maxima as absolute
//! host paths when the policy is anchored, the filesystem root is never granted;
//! and every refusal's fix is a command `anrf override request` accepts.

use std::path::{Path, PathBuf};

use anrf_format::{Profile, Revocation, Scope};
use anrf_policy::{
    CliGrant, HostAnchor, ModuleInput, ProjectPolicy, Refusal, Resolution, ResolveInput,
    RevocationNotice, Verdict, check_cli_grants, resolve,
};
use time::macros::datetime;

use crate::support::*;

fn read(host: &str) -> CliGrant {
    CliGrant::Read {
        host: host.into(),
        guest: None,
    }
}

fn write(host: &str) -> CliGrant {
    CliGrant::Write {
        host: host.into(),
        guest: None,
    }
}

/// The project `/p` with the module at `/p/wordcount`, run from `/p`.
fn anchor() -> HostAnchor {
    HostAnchor {
        working_dir: PathBuf::from("/p"),
        module_dir: PathBuf::from("/p/wordcount"),
        project_root: PathBuf::from("/p"),
        resolve_links: None,
    }
}

fn dev_grants(project: &ProjectPolicy, grants: &[CliGrant]) -> Vec<anrf_policy::GrantDecision> {
    check_cli_grants(project, Profile::Dev, grants, Some(WHY), "alice", MODULE)
}

fn resolve_with(
    m: &anrf_format::Manifest,
    profile: Profile,
    project: &ProjectPolicy,
    grants: &[CliGrant],
) -> Resolution {
    let d = digest();
    resolve(&ResolveInput {
        project,
        profile,
        now: NOW,
        module: Some(ModuleInput {
            manifest: m,
            code_digest: &d,
        }),
        cli_grants: grants,
        cli_justification: Some(WHY),
        user: "alice",
        revocations: &[],
    })
}

// ------------------------------------------------- approver rules in dev

#[test]
fn dev_refuses_a_command_line_grant_when_dev_rules_require_an_approver() {
    let p = policy_with(
        "[maxima]\nread = [\"data\"]\n\n[profiles.dev]\nmin_approvers = { default = 1 }\n",
    );
    let ds = dev_grants(&p, &[read("data")]);
    assert_eq!(ds[0].verdict, Verdict::Refused);
    let why = ds[0].reasons.join(" ");
    assert!(
        why.contains("needs 1 approver(s) for `allow-read`")
            && why.contains("[profiles.dev] min_approvers"),
        "{why}"
    );
    let fix = ds[0].fix.as_deref().unwrap();
    assert!(
        fix.starts_with(
            "anrf override request wordcount --allow-read data --justification \"...\", then `anrf override approve ID --key KEY --profile dev`"
        ),
        "{fix}"
    );
    // the same override in the manifest is refused as unsigned: both paths agree
    let ovr = request("allow-read:data", Scope::Module, "alice");
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let r = run(&m, Profile::Dev, &p);
    assert_eq!(r.overrides[0].refusal, Some(Refusal::Unsigned));
    let r = resolve_with(
        &manifest(&security("enforced", "64MiB", READ_DATA)),
        Profile::Dev,
        &p,
        &[read("data")],
    );
    assert!(!r.is_complete(), "{}", r.explain());
    assert!(r.effective.dirs.is_empty());
}

#[test]
fn dev_approver_rules_apply_per_kind_to_command_line_grants() {
    let p = policy_with(
        "[maxima]\nread = [\"data\"]\n\n[profiles.dev]\nmin_approvers = { default = 0, allow-env = 1 }\n",
    );
    let env = CliGrant::Env {
        name: anrf_format::EnvName::new("GREETING").unwrap(),
    };
    let ds = dev_grants(&p, &[read("data"), env]);
    assert_eq!(ds[0].verdict, Verdict::Granted, "{:?}", ds[0].reasons);
    assert_eq!(ds[1].verdict, Verdict::Refused);
    assert!(
        ds[1]
            .fix
            .as_deref()
            .unwrap()
            .starts_with("anrf override request wordcount --allow-env GREETING"),
        "{:?}",
        ds[1].fix
    );
}

#[test]
fn dev_grants_an_environment_variable_on_the_command_line() {
    let caps = "dirs = []\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []";
    let m = manifest(&security("enforced", "64MiB", caps));
    let grants = [
        CliGrant::Env {
            name: anrf_format::EnvName::new("GREETING").unwrap(),
        },
        CliGrant::Env {
            name: anrf_format::EnvName::new("LANG").unwrap(),
        },
    ];
    let r = resolve_with(&m, Profile::Dev, &ProjectPolicy::builtin(), &grants);
    assert!(r.is_complete(), "{}", r.explain());
    let names: Vec<&str> = r
        .effective
        .env
        .iter()
        .map(anrf_format::EnvName::as_str)
        .collect();
    assert_eq!(names, ["GREETING", "LANG"]);
    let declared = r
        .items
        .iter()
        .find(|i| i.subject == "env GREETING")
        .unwrap();
    assert_eq!(declared.via, ["cli"]);
    assert!(
        r.items
            .iter()
            .any(|i| i.subject == "env LANG (command line)"),
        "{}",
        r.explain()
    );
    // without the command-line grant the declared variable is refused
    let r = resolve_with(&m, Profile::Dev, &ProjectPolicy::builtin(), &[]);
    assert!(!r.is_complete());
    assert!(r.effective.env.is_empty());
    // and prod refuses the grant itself
    let r = resolve_with(&m, Profile::Prod, &ProjectPolicy::builtin(), &grants);
    assert!(r.effective.env.is_empty());
    assert!(r.cli_grants.iter().all(|g| g.verdict == Verdict::Refused));
}

// --------------------------------------------- paths: canonical, bounded

#[test]
fn command_line_paths_are_compared_with_the_maxima_as_host_paths() {
    // maxima.read = ["data", "shared"] is relative to the module (/p/wordcount).
    let p = policy().anchored(anchor());
    // from the project root, the module's data directory is `wordcount/data`
    let ds = dev_grants(
        &p,
        &[read("wordcount/data"), read("./wordcount/x/../data/")],
    );
    for d in &ds {
        assert_eq!(d.verdict, Verdict::Granted, "{:?}", d.reasons);
        assert_eq!(d.relaxation, Some("allow-read:data".parse().unwrap()));
        assert_eq!(d.host_path.as_deref(), Some("/p/wordcount/data"));
        assert_eq!(d.dir.as_ref().unwrap().guest, "/data");
    }
    // `data` from the project root is /p/data: not the module's, refused
    let ds = dev_grants(&p, &[read("data")]);
    assert_eq!(ds[0].verdict, Verdict::Refused);
    let why = ds[0].reasons.join(" ");
    assert!(
        why.contains("`/p/data`") && why.contains("relative to the module `/p/wordcount`"),
        "{why}"
    );
    // and the grant covers the directory the manifest declares
    let r = resolve_with(
        &manifest(&security("enforced", "64MiB", READ_DATA)),
        Profile::Dev,
        &p,
        &[read("wordcount/data")],
    );
    assert!(r.is_complete(), "{}", r.explain());
    assert_eq!(r.effective.dirs.len(), 1, "{:?}", r.effective.dirs);
    assert_eq!(r.effective.dirs[0].host, "data");
}

#[test]
fn the_fix_for_a_refused_grant_names_the_module_relative_directory() {
    let p = policy().anchored(anchor());
    let ds = check_cli_grants(
        &p,
        Profile::Prod,
        &[read("wordcount/data")],
        Some(WHY),
        "alice",
        MODULE,
    );
    let fix = ds[0].fix.as_deref().unwrap();
    assert!(
        fix.starts_with("anrf override request wordcount --allow-read data --justification"),
        "{fix}"
    );
}

#[test]
fn the_filesystem_root_is_never_granted_even_in_dev() {
    for project in [
        ProjectPolicy::builtin(),
        ProjectPolicy::builtin().anchored(anchor()),
    ] {
        for grant in [read("/"), write("/"), write("//"), read("/p/../..")] {
            let ds = dev_grants(&project, std::slice::from_ref(&grant));
            assert_eq!(ds[0].verdict, Verdict::Refused, "{grant:?}");
            assert!(
                ds[0].reasons[0].contains("filesystem root"),
                "{:?}",
                ds[0].reasons
            );
        }
    }
}

#[test]
fn builtin_maxima_cover_only_directories_inside_the_project() {
    // Under the built-in policy the project is the module directory.
    let p = ProjectPolicy::builtin().anchored(HostAnchor {
        project_root: PathBuf::from("/p/wordcount"),
        ..anchor()
    });
    let ds = dev_grants(
        &p,
        &[
            read("wordcount/fixtures"),
            write("wordcount/out"),
            read("/etc"),
            write("/home/alice"),
            read("wordcount/../other"),
        ],
    );
    let verdicts: Vec<Verdict> = ds.iter().map(|d| d.verdict).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Granted,
            Verdict::Granted,
            Verdict::Refused,
            Verdict::Refused,
            Verdict::Refused
        ],
        "{ds:#?}"
    );
    assert!(
        ds[2].reasons[0].contains("`*` covers only directories inside the project `/p/wordcount`"),
        "{:?}",
        ds[2].reasons
    );
}

#[test]
fn a_symbolic_link_is_judged_by_its_target() {
    fn links(p: &Path) -> Option<PathBuf> {
        (p == Path::new("/p/wordcount/data")).then(|| PathBuf::from("/etc"))
    }
    let p = ProjectPolicy::builtin().anchored(HostAnchor {
        resolve_links: Some(links),
        ..anchor()
    });
    let ds = dev_grants(&p, &[read("wordcount/data"), read("wordcount/other")]);
    assert_eq!(ds[0].verdict, Verdict::Refused, "{:?}", ds[0].reasons);
    assert!(ds[0].reasons[0].contains("`/etc`"), "{:?}", ds[0].reasons);
    assert_eq!(ds[1].verdict, Verdict::Granted, "{:?}", ds[1].reasons);
}

// ------------------------------------------------ fixes are real commands

#[test]
fn a_refused_network_host_names_the_request_and_says_the_runtime_has_no_sockets() {
    let caps =
        "dirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = [\"api.example.com\"]";
    let m = manifest(&security("enforced", "64MiB", caps));
    let r = run(&m, Profile::Prod, &policy());
    let item = r.refused().next().unwrap();
    assert_eq!(
        item.fix.as_deref().unwrap(),
        "anrf override request wordcount --allow-network api.example.com --justification \"...\" (then `anrf override approve ID --key KEY`)"
    );
    assert!(
        item.reasons
            .join(" ")
            .contains("the v1 runtime provides no sockets"),
        "{:?}",
        item.reasons
    );
    // with an override that does not hold yet, the fix is to approve it
    let mut ovr = request("allow-network:api.example.com", Scope::Module, "alice");
    let m2 = with_overrides(m.clone(), vec![ovr.clone()]);
    let r = run(&m2, Profile::Prod, &policy());
    let fix = r.refused().next().unwrap().fix.clone().unwrap();
    assert!(
        fix.starts_with(&format!("anrf override approve {}", ovr.id)),
        "{fix}"
    );
    // granted: the item still says the runtime will not open a socket
    sign_in(&m, &mut ovr, "bob", Profile::Prod, &policy());
    sign_in(&m, &mut ovr, "carol", Profile::Prod, &policy());
    let r = run(&with_overrides(m, vec![ovr]), Profile::Prod, &policy());
    let item = r
        .items
        .iter()
        .find(|i| i.subject.starts_with("network"))
        .unwrap();
    assert_eq!(item.verdict, Verdict::Granted);
    assert!(item.reasons.join(" ").contains("no sockets"));
}

#[test]
fn an_expired_override_names_the_exact_request_command() {
    let later = datetime!(2027-06-01 00:00:00 UTC);
    for (relaxes, scope, flags) in [
        ("allow-read:data", Scope::Module, "--allow-read data"),
        (
            "raise:memory=256MiB",
            Scope::Module,
            "--raise memory=256MiB",
        ),
        (
            "memory-unsafe",
            Scope::Function("load_list".into()),
            "--memory-unsafe --scope function:load_list",
        ),
        ("threads", Scope::Module, "--threads"),
    ] {
        let mut ovr = request(relaxes, scope, "alice");
        sign(&mut ovr, "bob", Profile::Test, &policy());
        let d = decide_at(&ovr, Profile::Test, &policy(), later, &digest(), &[]);
        assert_eq!(d.refusal, Some(Refusal::Expired));
        let fix = d.fix.unwrap();
        assert!(
            fix.ends_with(&format!(
                "`anrf override request wordcount {flags} --justification \"...\"`"
            )),
            "{relaxes}: {fix}"
        );
    }
}

#[test]
fn an_expired_project_override_names_the_module_being_resolved() {
    let base_text = policy_text("[maxima]\nread = [\"data\"]");
    let ovr = request("allow-env:GREETING", Scope::Project, "alice");
    let entry = toml::to_string(&ovr).unwrap();
    let with = ProjectPolicy::parse(
        &format!("{base_text}\n[[overrides]]\n{entry}"),
        "anrf-policy.toml",
    )
    .unwrap();
    let caps = "dirs = []\nenv = [\"GREETING\"]\nclock = false\nrandom = false\nnetwork = []";
    let m = manifest(&security("enforced", "64MiB", caps));
    let d = digest();
    let r = resolve(&ResolveInput {
        project: &with,
        profile: Profile::Dev,
        now: datetime!(2027-06-01 00:00:00 UTC),
        module: Some(ModuleInput {
            manifest: &m,
            code_digest: &d,
        }),
        cli_grants: &[],
        cli_justification: None,
        user: "alice",
        revocations: &[],
    });
    assert_eq!(r.overrides[0].refusal, Some(Refusal::Expired));
    let fix = r.overrides[0].fix.clone().unwrap();
    assert!(
        fix.contains(
            "`anrf override request wordcount --allow-env GREETING --scope project --justification \"...\"`"
        ),
        "{fix}"
    );
    assert!(!fix.contains(" * "), "{fix}");
}

#[test]
fn a_revoked_override_names_the_command_that_asks_again() {
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
    assert!(
        d.fix.as_deref().unwrap().ends_with(
            "`anrf override request wordcount --allow-read data --justification \"...\"`"
        ),
        "{:?}",
        d.fix
    );
    ovr.revoked = Some(Revocation {
        by: "bob".into(),
        at: "2026-11-23T13:00:00Z".into(),
        reason: "data now shipped inside the module".into(),
    });
    let m = with_overrides(
        manifest(&security("enforced", "64MiB", READ_DATA)),
        vec![ovr],
    );
    let r = run(&m, Profile::Prod, &policy());
    let item = r.refused().next().unwrap();
    assert!(
        item.fix
            .as_deref()
            .unwrap()
            .contains("anrf override request wordcount --allow-read data"),
        "{:?}",
        item.fix
    );
}
