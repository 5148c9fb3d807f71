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
