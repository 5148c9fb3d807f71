//! Approvals that stay valid: an approval binds to the module's code and
//! artifact, its override and the security fields that override relaxes. A
//! second request, a new approver or an unrelated edit leaves it valid; a code
//! edit or a change to the relaxed field voids it. A stale project override
//! blocks only the modules it applies to, and names the policy file it is in.

use crate::policy::{Project, code, request_read, text};

fn verdict(p: &Project, id: &str) -> (String, String) {
    let shown = p.ok(&["override", "show", id, "--profile", "test", "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    (
        shown["decision"]["verdict"].as_str().unwrap().to_owned(),
        shown["decision"]["refusal"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    )
}

fn approve(p: &Project, id: &str, key: &str) {
    p.ok(&[
        "override",
        "approve",
        id,
        "--key",
        &format!("keys/{key}.key"),
        "--profile",
        "test",
    ]);
}

#[test]
fn a_second_request_and_a_new_approver_leave_an_approval_valid_and_its_field_voids_it() {
    let p = Project::new();
    p.policy(&[("bob", "security"), ("carol", "security")]);
    p.ok(&["build", "hello"]);
    let read = request_read(&p);
    approve(&p, &read, "bob");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // A second request declares `GREETING` in `[security]` and adds its override.
    let out = p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-env",
        "GREETING",
        "--justification",
        "greets in the language the deployment sets in GREETING",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let env = json[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(verdict(&p, &read).0, "granted", "the first approval holds");
    assert_eq!(verdict(&p, &env), ("refused".into(), "unsigned".into()));

    // A new approver in the policy file leaves it valid too.
    p.policy(&[
        ("bob", "security"),
        ("carol", "security"),
        ("dave", "security"),
    ]);
    assert_eq!(verdict(&p, &read).0, "granted");
    approve(&p, &env, "carol");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // Mounting `data` elsewhere is a change to what `allow-read:data` relaxes:
    // that approval is void, the other one is not.
    let path = p.module().join("anrf.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    assert!(manifest.contains("guest = \"/data\""), "{manifest}");
    std::fs::write(
        &path,
        manifest.replace("guest = \"/data\"", "guest = \"/etc\""),
    )
    .unwrap();
    assert_eq!(
        verdict(&p, &read),
        ("refused".into(), "digest_mismatch".into())
    );
    assert_eq!(verdict(&p, &env).0, "granted");
    let refused = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&refused), 2, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("the security fields `allow-read:data` relaxes"),
        "{}",
        text(&refused.stderr)
    );
    std::fs::write(&path, manifest).unwrap();
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // A code edit voids both.
    p.set_message("bonjour");
    p.ok(&["build", "hello"]);
    for id in [&read, &env] {
        assert_eq!(
            verdict(&p, id),
            ("refused".into(), "digest_mismatch".into())
        );
    }
}

#[test]
fn a_stale_project_override_blocks_only_the_modules_it_applies_to() {
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    p.ok(&["build", "hello"]);
    // An unsigned project override for `HOME`: stale under `prod`.
    p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-env",
        "HOME",
        "--scope",
        "project",
        "--justification",
        "some modules look up the deployment's home directory",
    ]);
    // `override request` declared `HOME` in hello; a module that does not
    // declare it is not blocked by the stale override.
    let path = p.module().join("anrf.toml");
    let declared = std::fs::read_to_string(&path).unwrap();
    assert!(declared.contains("env = [\"HOME\"]"), "{declared}");
    std::fs::write(&path, declared.replace("env = [\"HOME\"]", "env = []")).unwrap();
    let out = p.anrf(&[
        "verify",
        "hello",
        "--profile",
        "prod",
        "--no-cache",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        !ids.iter().any(|id| id.starts_with("ANRF-O")),
        "a project override hello does not use blocks it: {ids:?}"
    );
    // The module that declares it is blocked, at the real policy file.
    std::fs::write(&path, &declared).unwrap();
    let out = p.anrf(&[
        "verify",
        "hello",
        "--profile",
        "prod",
        "--no-cache",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let report: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "ANRF-O003")
        .unwrap_or_else(|| panic!("{report:#}"));
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains("anrf-policy.toml"), "{message}");
    let file = finding["location"]["file"].as_str().unwrap();
    assert!(
        std::path::Path::new(file).ends_with("anrf-policy.toml") && file != "anrf-policy.toml",
        "the location names the file where it is, not one beside the module: {file}"
    );
}
