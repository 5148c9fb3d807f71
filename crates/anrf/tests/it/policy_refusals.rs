//! Refusals through the real commands on a real module: an expired override
//! (run, verify, explain, show), an approver the Cedar rules stop permitting,
//! too few distinct approvers, command-line grants under `min_approvers`,
//! command-line paths compared as host paths, the filesystem root, and an audit
//! log that cannot be written.

use crate::policy::{Project, WHY, code, request_read, text};

const SECURITY_AND_REVIEWERS: &str = "@id(\"security-approves\")\npermit(principal in Role::\"security\", action == Action::\"approve\", resource);\n@id(\"reviewers-approve-reads\")\npermit(principal in Role::\"reviewer\", action == Action::\"approve\", resource) when { resource.kind == \"allow-read\" };";
const SECURITY_ONLY: &str = "@id(\"security-approves\")\npermit(principal in Role::\"security\", action == Action::\"approve\", resource);";

fn approve(p: &Project, id: &str, key: &str, profile: &str) -> String {
    p.ok(&[
        "override",
        "approve",
        id,
        "--key",
        &format!("keys/{key}.key"),
        "--profile",
        profile,
    ])
}

/// Moves the override's expiry into the past (the expiry is checked before the
/// signatures, so this is refused as expired, not as altered).
fn expire(p: &Project) {
    let path = p.module().join("anrf.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    let start = manifest.find("expires = \"").unwrap() + "expires = \"".len();
    let end = start + manifest[start..].find('"').unwrap();
    let edited = format!("{}2020-01-31{}", &manifest[..start], &manifest[end..]);
    std::fs::write(&path, edited).unwrap();
}

#[test]
fn an_expired_override_is_refused_by_run_verify_explain_and_show() {
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    approve(&p, &id, "bob", "test");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
    expire(&p);

    let run = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&run), 2, "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(run.stdout.is_empty(), "the guest did not run");
    assert!(
        stderr.contains("refused (expired)") && stderr.contains("valid through 2020-01-31"),
        "{stderr}"
    );
    assert!(
        stderr.contains("anrf override request hello --allow-read data --justification"),
        "the fix is the exact command: {stderr}"
    );
    // dev too: expiry is not a matter of approvals
    let dev = p.anrf(&["run", "hello", "--profile", "dev"]);
    assert_eq!(code(&dev), 2, "{}", text(&dev.stderr));

    let verify = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_eq!(code(&verify), 1, "{}", text(&verify.stdout));
    assert!(
        text(&verify.stdout).contains("expired"),
        "{}",
        text(&verify.stdout)
    );

    let explain = p.anrf(&["explain", "hello", "--profile", "test"]);
    let all = format!("{}{}", text(&explain.stdout), text(&explain.stderr));
    assert!(all.contains("expired"), "{all}");

    let shown = p.ok(&["override", "show", &id, "--profile", "test", "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["decision"]["refusal"], "expired");
}

#[test]
fn an_approver_the_cedar_rules_no_longer_permit_stops_counting() {
    let p = Project::new();
    let approvers = [("bob", "security"), ("dave", "reviewer")];
    p.policy_with(&approvers, SECURITY_AND_REVIEWERS, "");
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    let approved = approve(&p, &id, "dave", "test");
    assert!(approved.contains("reviewers-approve-reads"), "{approved}");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // the project drops the reviewers' rule: dave's approval stops counting at once
    p.policy_with(&approvers, SECURITY_ONLY, "");
    let run = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&run), 2, "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("refused (unauthorized)") && stderr.contains("no Cedar rule permits it"),
        "{stderr}"
    );
    let verify = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_eq!(code(&verify), 1, "{}", text(&verify.stdout));
    // and dave cannot sign again
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/dave.key",
        "--profile",
        "prod",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("refused (unauthorized)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn too_few_distinct_approvers_refuse_the_run_until_a_second_one_signs() {
    let p = Project::new();
    p.policy_with(
        &[("bob", "security"), ("carol", "security")],
        SECURITY_ONLY,
        "\n[profiles.test]\nmin_approvers = { default = 2 }\n",
    );
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    let approved = approve(&p, &id, "bob", "test");
    assert!(
        approved.contains("does not hold in `test` yet"),
        "{approved}"
    );
    let run = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&run), 2, "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("refused (too_few_approvers)")
            && stderr.contains("needs 2 for `allow-read`, has 1"),
        "{stderr}"
    );
    let verify = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_eq!(code(&verify), 1, "{}", text(&verify.stdout));
    // bob signing twice is refused; carol's signature completes it
    let twice = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "test",
    ]);
    assert_eq!(code(&twice), 1, "{}", text(&twice.stderr));
    approve(&p, &id, "carol", "test");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
}

#[test]
fn dev_command_line_grants_follow_min_approvers_and_host_paths() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    std::fs::create_dir_all(p.root.join("data")).unwrap();
    // built-in policy, run from the project root: the module's data directory
    // is `hello/data` on the command line
    let granted = p.anrf(&[
        "run",
        "hello",
        "--allow-read",
        "hello/data",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&granted), 0, "{}", text(&granted.stderr));
    assert_eq!(text(&granted.stdout), "hello\n");
    // the filesystem root is never granted, not even in dev
    for flag in ["--allow-read", "--allow-write"] {
        let root = p.anrf(&["run", "hello", flag, "/", "--justification", WHY]);
        assert_eq!(code(&root), 2, "{flag}: {}", text(&root.stderr));
        assert!(
            text(&root.stderr).contains("filesystem root"),
            "{}",
            text(&root.stderr)
        );
        assert!(root.stdout.is_empty());
    }
    // outside the project (under the built-in policy: the module directory)
    let outside = p.anrf(&[
        "run",
        "hello",
        "--allow-read",
        "data",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&outside), 2, "{}", text(&outside.stderr));

    // a policy with maxima.read = ["data"] (relative to the module)
    p.policy(&[("bob", "security")]);
    let ok = p.anrf(&[
        "run",
        "hello",
        "--allow-read",
        "hello/data",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&ok), 0, "{}", text(&ok.stderr));
    let other = p.anrf(&[
        "run",
        "hello",
        "--allow-read",
        "data",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&other), 2, "{}", text(&other.stderr));
    assert!(
        text(&other.stderr).contains("outside the project maxima"),
        "{}",
        text(&other.stderr)
    );

    // dev rules that need an approver: the command-line grant is refused, naming
    // the request that would allow it
    p.policy_with(
        &[("bob", "security")],
        SECURITY_ONLY,
        "\n[profiles.dev]\nmin_approvers = { default = 1 }\n",
    );
    let refused = p.anrf(&[
        "run",
        "hello",
        "--allow-read",
        "hello/data",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&refused), 2, "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("needs 1 approver(s) for `allow-read`")
            && stderr.contains("anrf override request hello --allow-read data --justification"),
        "{stderr}"
    );
    assert!(refused.stdout.is_empty());
}

#[cfg(unix)]
#[test]
fn a_run_in_test_does_not_proceed_when_the_existing_log_cannot_be_written() {
    use std::os::unix::fs::PermissionsExt as _;
    let p = Project::new();
    p.ok(&["build", "hello"]);
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
    let audit = p.home.join("audit");
    let db = audit.join("audit.db");
    assert!(db.is_file());
    for extra in ["audit.db-wal", "audit.db-shm"] {
        let _ = std::fs::remove_file(audit.join(extra));
    }
    // permission bits stop everyone but root; as root, a directory where
    // SQLite's `audit.db-wal` must be created stops the write instead
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o500)).unwrap();
    let as_root = std::fs::write(audit.join("probe"), b"x").is_ok();
    if as_root {
        std::fs::remove_file(audit.join("probe")).unwrap();
        std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::create_dir(audit.join("audit.db-wal")).unwrap();
    }
    let out = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_ne!(code(&out), 0, "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "the guest ran unrecorded");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("audit.db") && stderr.contains("nothing was recorded"),
        "{stderr}"
    );
    if as_root {
        std::fs::remove_dir(audit.join("audit.db-wal")).unwrap();
    } else {
        std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p.ok(&["audit", "verify"]);
}

// ------------------------------------------- the policy file, trusted for a reason

/// Sets the policy file's mode.
fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `anrf verify hello --profile test` fails as a usage error naming `needle`.
fn verify_refuses(p: &Project, args: &[&str], needles: &[&str]) {
    let mut all = vec!["verify", "hello", "--profile", "test", "--no-cache"];
    all.extend_from_slice(args);
    let out = p.anrf(&all);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 2, "{stderr}{}", text(&out.stdout));
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
}

#[test]
fn a_policy_file_others_can_write_is_refused_by_every_command_with_the_fix() {
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    p.ok(&["build", "hello"]);
    let policy = p.root.join("anrf-policy.toml");
    chmod(&policy, 0o666);
    let name = policy.display().to_string();
    verify_refuses(&p, &[], &[&name, &format!("chmod go-w {name}")]);
    for args in [
        &["run", "hello", "--profile", "test"][..],
        &["explain", "hello", "--profile", "test"],
        &["override", "list", "hello"],
    ] {
        let out = p.anrf(args);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("chmod go-w {name}")),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty() || !text(&out.stdout).contains("hello\n"));
    }
    chmod(&policy, 0o620);
    verify_refuses(&p, &[], &[&name]);
    chmod(&policy, 0o644);
    let out = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_ne!(code(&out), 2, "{}", text(&out.stderr));
}

#[test]
fn a_fifo_a_device_link_or_a_huge_policy_file_is_refused_not_read() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    let policy = p.root.join("anrf-policy.toml");
    // A FIFO: refused at once (a read would block forever).
    let made = std::process::Command::new("mkfifo")
        .arg(&policy)
        .status()
        .unwrap();
    assert!(made.success());
    verify_refuses(&p, &[], &[&policy.display().to_string(), "regular"]);
    std::fs::remove_file(&policy).unwrap();
    // A link to /dev/zero: refused as a link, never read.
    std::os::unix::fs::symlink("/dev/zero", &policy).unwrap();
    verify_refuses(&p, &[], &["symbolic link"]);
    std::fs::remove_file(&policy).unwrap();
    // Larger than the bound: refused before it is read.
    let mut big = String::from("version = 1\n");
    big.push_str(&"# padding padding padding padding padding padding padding\n".repeat(20_000));
    std::fs::write(&policy, big).unwrap();
    verify_refuses(&p, &[], &["1048576"]);
}

#[test]
fn an_explicit_policy_goes_through_the_same_trusted_read() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    let elsewhere = p.root.join("other-policy.toml");
    std::fs::write(&elsewhere, "version = 1\n").unwrap();
    let arg = elsewhere.display().to_string();
    chmod(&elsewhere, 0o646);
    verify_refuses(&p, &["--policy", &arg], &[&arg, "chmod go-w"]);
    let explain = p.anrf(&["explain", "hello", "--policy", &arg]);
    assert_eq!(code(&explain), 2, "{}", text(&explain.stderr));
    chmod(&elsewhere, 0o600);
    let ok = p.anrf(&[
        "verify",
        "hello",
        "--profile",
        "test",
        "--no-cache",
        "--policy",
        &arg,
    ]);
    assert_ne!(code(&ok), 2, "{}", text(&ok.stderr));
    // `--policy /dev/zero` is refused, never read.
    verify_refuses(&p, &["--policy", "/dev/zero"], &["/dev/zero", "regular"]);
}

#[test]
fn a_cedar_file_must_lie_inside_the_policy_directory() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    let rules =
        "permit(principal in Role::\"security\", action == Action::\"approve\", resource);\n";
    let outside = p.root.parent().unwrap().join("outside.cedar");
    std::fs::write(&outside, rules).unwrap();
    std::fs::create_dir_all(p.root.join("rules")).unwrap();
    std::fs::write(p.root.join("rules/approve.cedar"), rules).unwrap();
    std::os::unix::fs::symlink(p.root.parent().unwrap(), p.root.join("up")).unwrap();
    std::os::unix::fs::symlink(&outside, p.root.join("rules/link.cedar")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", p.root.join("zero.cedar")).unwrap();
    let write = |cedar_file: &str| {
        std::fs::write(
            p.root.join("anrf-policy.toml"),
            format!("version = 1\ncedar_file = \"{cedar_file}\"\n"),
        )
        .unwrap();
    };
    for (cedar_file, why) in [
        ("../outside.cedar", "`..`"),
        (outside.to_str().unwrap(), "absolute"),
        ("up/outside.cedar", "symbolic link"),
        ("rules/link.cedar", "symbolic link"),
        ("zero.cedar", "symbolic link"),
    ] {
        write(cedar_file);
        verify_refuses(&p, &[], &[cedar_file, why]);
    }
    // Inside, private and regular: read.
    write("rules/approve.cedar");
    let ok = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_ne!(code(&ok), 2, "{}", text(&ok.stderr));
    chmod(&p.root.join("rules/approve.cedar"), 0o666);
    verify_refuses(&p, &[], &["approve.cedar", "chmod go-w"]);
}

#[test]
fn the_search_for_the_policy_stops_at_a_vcs_root_and_at_home() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    // A policy above the module that cannot be read as a policy: while it is
    // found, every command fails on it.
    std::fs::write(p.root.join("anrf-policy.toml"), "version = 99\n").unwrap();
    let run = p.anrf(&["run", "hello"]);
    assert_eq!(code(&run), 2, "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("version"),
        "{}",
        text(&run.stderr)
    );
    // `$HOME` is the last directory searched: a module at home ignores it.
    let at_home = p.anrf_with(&[("HOME", &p.module())], &["run", "hello"]);
    assert_eq!(code(&at_home), 0, "{}", text(&at_home.stderr));
    assert_eq!(text(&at_home.stdout), "hello\n");
    // So is a version-control root, whether `.git` is a directory or a file.
    for (marker, dir) in [
        (".git", true),
        (".jj", true),
        (".git", false),
        (".hg", false),
    ] {
        let path = p.module().join(marker);
        if dir {
            std::fs::create_dir(&path).unwrap();
        } else {
            std::fs::write(&path, "gitdir: /elsewhere\n").unwrap();
        }
        let run = p.anrf(&["run", "hello"]);
        assert_eq!(code(&run), 0, "{marker}: {}", text(&run.stderr));
        if dir {
            std::fs::remove_dir(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    // The VCS root itself is still searched.
    std::fs::create_dir(p.root.join(".git")).unwrap();
    let run = p.anrf(&["run", "hello"]);
    assert_eq!(code(&run), 2, "{}", text(&run.stderr));
}

// ------------------------------------------------------------------ deep Cedar

#[test]
fn cedar_nested_thousands_deep_is_a_diagnostic_in_verify_and_approve() {
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    let deep = format!(
        "permit(principal, action, resource) when {{ {}true{} }};",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    p.policy_with(&[("bob", "security")], &deep, "");
    verify_refuses(&p, &[], &["deeper than 256 levels", "anrf-policy.toml"]);
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "test",
    ]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("deeper than 256 levels"),
        "{}",
        text(&out.stderr)
    );
    let negations = format!(
        "permit(principal, action, resource) when {{ {}true{} }};",
        "!(".repeat(5_000),
        ")".repeat(5_000)
    );
    p.policy_with(&[("bob", "security")], &negations, "");
    let out = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("deeper than"),
        "{}",
        text(&out.stderr)
    );
}

// ------------------------------------------------------------- validity cap

/// Writes `date` as the override's `expires`.
fn set_expiry(p: &Project, date: &str) {
    let path = p.module().join("anrf.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    let start = manifest.find("expires = \"").unwrap() + "expires = \"".len();
    let end = start + manifest[start..].find('"').unwrap();
    std::fs::write(
        &path,
        format!("{}{date}{}", &manifest[..start], &manifest[end..]),
    )
    .unwrap();
}

#[test]
fn a_hand_written_far_expiry_is_refused_at_approve_run_and_verify() {
    let p = Project::new();
    p.policy(&[("bob", "security"), ("carol", "security")]);
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    approve(&p, &id, "bob", "test");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
    set_expiry(&p, "9999-12-31");

    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/carol.key",
        "--profile",
        "test",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refused (expired)")
            && text(&out.stderr).contains("at most 366 days"),
        "{}",
        text(&out.stderr)
    );
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    assert!(
        !manifest.contains("approver = \"carol\""),
        "nothing was signed"
    );

    for profile in ["dev", "test"] {
        let run = p.anrf(&["run", "hello", "--profile", profile]);
        assert_eq!(code(&run), 2, "{profile}: {}", text(&run.stderr));
        assert!(run.stdout.is_empty(), "the guest did not run");
        assert!(
            text(&run.stderr).contains("at most 366 days"),
            "{}",
            text(&run.stderr)
        );
    }
    let verify = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_eq!(code(&verify), 1, "{}", text(&verify.stdout));
    assert!(
        text(&verify.stdout).contains("at most 366 days"),
        "{}",
        text(&verify.stdout)
    );
}

// ------------------------------------------------- revocations keyed by module

#[test]
fn revoking_one_modules_override_leaves_another_modules_same_id_alone() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    assert_eq!(p.ok(&["run", "hello"]), "hello\n");
    // A second module, copied from the first: the same override id.
    let other = p.root.join("other");
    std::fs::create_dir_all(other.join("data")).unwrap();
    for f in ["hello.wat", "data/greeting.txt"] {
        std::fs::copy(p.module().join(f), other.join(f)).unwrap();
    }
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml"))
        .unwrap()
        .replace("name = \"hello\"", "name = \"other\"");
    std::fs::write(other.join("anrf.toml"), manifest).unwrap();
    p.ok(&["build", "other"]);
    assert_eq!(p.ok(&["run", "other"]), "hello\n");

    p.ok(&[
        "override",
        "revoke",
        &id,
        "--module",
        "other",
        "--reason",
        "other reads nothing now",
    ]);
    let refused = p.anrf(&["run", "other"]);
    assert_eq!(code(&refused), 2, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("revoked"),
        "{}",
        text(&refused.stderr)
    );
    // hello's override, with the same id, still holds...
    assert_eq!(p.ok(&["run", "hello"]), "hello\n");
    // ...and `approve ID` without `--module` now asks which module is meant.
    let ambiguous = p.anrf(&["override", "show", &id]);
    assert_eq!(code(&ambiguous), 2, "{}", text(&ambiguous.stderr));
    assert!(
        text(&ambiguous.stderr).contains("--module"),
        "{}",
        text(&ambiguous.stderr)
    );
    // Revoking hello's too, then restoring the manifest lines, keeps both revoked.
    let before = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    p.ok(&[
        "override",
        "revoke",
        &id,
        "--module",
        "hello",
        "--reason",
        "templates ship inside",
    ]);
    std::fs::write(p.module().join("anrf.toml"), before).unwrap();
    for m in ["hello", "other"] {
        let refused = p.anrf(&["run", m]);
        assert_eq!(code(&refused), 2, "{m}: {}", text(&refused.stderr));
    }
}

#[test]
fn a_legacy_index_record_without_a_module_still_revokes_by_id() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    let index = p.home.join("overrides");
    for entry in std::fs::read_dir(&index).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(
        index.join(format!("{id}.toml")),
        format!(
            "id = \"{id}\"\nmodule_dir = \"{}\"\nrelaxes = \"allow-read:data\"\nscope = \"module\"\nrequested_by = \"alice\"\nrequested_at = \"\"\nexpires = \"2099-01-01\"\n\n[revoked]\nby = \"bob\"\nat = \"2026-01-01T00:00:00Z\"\nreason = \"recorded before records named their module\"\n",
            p.module().display()
        ),
    )
    .unwrap();
    let refused = p.anrf(&["run", "hello"]);
    assert_eq!(code(&refused), 2, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("revoked"),
        "{}",
        text(&refused.stderr)
    );
}

// ------------------------------------------------------------- nested grants

#[test]
fn granted_dirs_that_nest_are_refused_before_the_run() {
    let p = Project::new();
    std::fs::create_dir_all(p.module().join("data/sub")).unwrap();
    p.ok(&["build", "hello"]);
    let out = p.anrf(&[
        "run",
        "hello",
        "--allow-read",
        "hello/data",
        "--allow-read",
        "hello/data/sub",
        "--justification",
        WHY,
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(out.stdout.is_empty(), "the guest did not run");
    assert!(stderr.contains("may not nest"), "{stderr}");
    assert!(stderr.contains("grant only `hello/data`"), "{stderr}");
}
