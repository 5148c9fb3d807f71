//! One path from `dev` to `prod`: `anrf policy init` names the approvers,
//! `override request` refuses what could never be used and declares what it
//! asks for in one step, `approve --module` indexes the override for the next
//! approver, and `override status` says what is still missing. Each refusal's
//! fix, applied, works.

use crate::policy::{Project, WHY, code, text};

fn err(out: &std::process::Output) -> String {
    text(&out.stderr)
}

#[test]
fn policy_init_writes_the_named_approvers_and_never_replaces_a_policy() {
    let p = Project::new();
    let keys = p.root.join("keys");
    let keys = keys.to_str().unwrap();
    // A missing key: the refusal names the command that makes it.
    let out = p.anrf(&["policy", "init", "--approver", "bob", "--keys", keys]);
    assert_eq!(code(&out), 2);
    assert!(
        err(&out).contains(&format!("anrf key gen bob --out {keys}")),
        "{}",
        err(&out)
    );
    p.ok(&["key", "gen", "bob", "--out", keys]);
    p.ok(&["key", "gen", "carol", "--out", keys, "--role", "reviewer"]);
    let said = p.ok(&[
        "policy",
        "init",
        "--approver",
        "bob",
        "--approver",
        "carol:security,reviewer",
        "--keys",
        keys,
    ]);
    assert!(said.contains("2 approver(s)"), "{said}");
    let policy = std::fs::read_to_string(p.root.join("anrf-policy.toml")).unwrap();
    assert!(
        policy.contains("name = \"carol\"")
            && policy.contains("roles = [\"security\", \"reviewer\"]"),
        "{policy}"
    );
    assert!(
        policy.contains("# [profiles.prod]"),
        "a commented example of per-profile rules"
    );
    // The module follows it: bob may approve in prod.
    p.ok(&["build", "hello"]);
    let id = crate::policy::request_read(&p);
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "prod",
    ]);
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
    // Never replaced.
    let out = p.anrf(&["policy", "init", "--approver", "bob", "--keys", keys]);
    assert_eq!(code(&out), 2);
    assert!(err(&out).contains("never replaced"), "{}", err(&out));
    assert_eq!(
        std::fs::read_to_string(p.root.join("anrf-policy.toml")).unwrap(),
        policy
    );
}

#[test]
fn a_request_for_a_missing_directory_is_refused_with_the_command_that_fixes_it() {
    let p = Project::new();
    let ask = [
        "override",
        "request",
        "hello",
        "--allow-read",
        "templates",
        "--justification",
        WHY,
    ];
    let out = p.anrf(&ask);
    assert_eq!(code(&out), 2);
    let stderr = err(&out);
    assert!(stderr.contains("does not exist"), "{stderr}");
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    assert!(
        !manifest.contains("templates"),
        "nothing written: {manifest}"
    );
    // The help, run as printed.
    let mkdir = stderr
        .split("create it first: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let dir = mkdir.strip_prefix("mkdir -p ").unwrap();
    std::fs::create_dir_all(p.root.join(dir)).unwrap();
    p.ok(&ask);
    // A file in its place is refused too.
    std::fs::write(p.module().join("notes"), "x").unwrap();
    let out = p.anrf(&[
        "override",
        "request",
        "hello",
        "--allow-read",
        "notes",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&out), 2);
    assert!(err(&out).contains("is not a directory"), "{}", err(&out));
}

#[test]
fn a_function_scoped_capability_is_refused_and_the_module_wide_request_works() {
    let p = Project::new();
    let manifest = p.module().join("anrf.toml");
    let text_before = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text_before.replace(
            "effects = [\"stdout\"]",
            "effects = [\"stdout\"]\nfunctions = [\"greet\"]",
        ),
    )
    .unwrap();
    let out = p.anrf(&[
        "override",
        "request",
        "hello",
        "--allow-env",
        "GREETING",
        "--scope",
        "function:greet",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&out), 2);
    let stderr = err(&out);
    assert!(
        stderr.contains("cannot be scoped to `function:greet`"),
        "{stderr}"
    );
    let fix = stderr
        .split("request it for the whole module: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(fix.starts_with("anrf override request "), "{fix}");
    assert!(
        fix.contains("--allow-env GREETING") && !fix.contains("--scope"),
        "{fix}"
    );
    p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-env",
        "GREETING",
        "--justification",
        WHY,
    ]);
    // memory-unsafe may still be scoped to a function.
    p.ok(&[
        "override",
        "request",
        "hello",
        "--memory-unsafe",
        "--scope",
        "function:greet",
        "--justification",
        "the greeting table is a C port that indexes raw buffers, fuzzed nightly",
    ]);
}

#[test]
fn an_example_that_sets_the_variable_it_requests_is_no_chicken_and_egg() {
    let p = Project::new();
    let path = p.module().join("anrf.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    let with_example = manifest.replace(
        "[logic]",
        "[[intent.examples]]\nname = \"greets\"\nstdout = \"hello\\n\"\nenv = { GREETING = \"Hej\" }\n\n[logic]",
    );
    std::fs::write(&path, &with_example).unwrap();
    let out = p.anrf(&["check", "hello"]);
    assert_eq!(code(&out), 2, "undeclared until requested: {}", err(&out));
    p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-env",
        "GREETING",
        "--justification",
        WHY,
    ]);
    p.ok(&["check", "hello"]);
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("env = [\"GREETING\"]"), "{now}");
}

#[test]
fn status_names_the_missing_approvers_and_approve_module_indexes_for_the_next_one() {
    let p = Project::new();
    p.policy_with(
        &[("bob", "security"), ("carol", "security"), ("dave", "reviewer")],
        "@id(\"security-approves\")\npermit(principal in Role::\"security\", action == Action::\"approve\", resource);",
        "[profiles.prod]\nmin_approvers = { default = 2 }\n",
    );
    p.ok(&["build", "hello"]);
    let id = crate::policy::request_read(&p);
    let out = p.anrf(&["override", "status", "hello", "--profile", "prod", "--json"]);
    assert_eq!(code(&out), 1);
    let status: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(status["ready"], false);
    let o = &status["overrides"][0];
    assert_eq!(o["id"], id.as_str());
    assert_eq!(o["missing_approvals"], 2);
    let names: Vec<&str> = o["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["approver"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["bob", "carol"],
        "dave's role may not approve; alice requested it"
    );
    assert!(
        o["next"]
            .as_str()
            .unwrap()
            .starts_with(&format!("anrf override approve {id} --key "))
    );

    // This machine's index is gone (another checkout, another machine):
    // the first approver names the module, the second needs only the id.
    std::fs::remove_dir_all(p.home.join("overrides")).unwrap();
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "prod",
    ]);
    assert_eq!(code(&out), 2);
    assert!(err(&out).contains("--module"), "{}", err(&out));
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "prod",
        "--module",
        "hello",
    ]);
    let human = p.anrf(&["override", "status", "hello", "--profile", "prod"]);
    assert_eq!(code(&human), 1);
    let said = text(&human.stdout);
    assert!(
        said.contains("may approve: carol (security)") && !said.contains("bob ("),
        "{said}"
    );
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/carol.key",
        "--profile",
        "prod",
    ]);
    let out = p.anrf(&["override", "status", "hello", "--profile", "prod"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("everything it asks for holds"));
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
}

#[test]
fn policy_init_refuses_names_that_are_not_names() {
    let p = Project::new();
    for spec in ["bob\"\nroles = [\"admin\"]", "bob:", "bob:sec urity", ""] {
        let out = p.anrf(&["policy", "init", "--approver", spec, "--keys", "keys"]);
        assert_eq!(code(&out), 2, "{spec:?}");
        assert!(!p.root.join("anrf-policy.toml").exists(), "{spec:?}");
    }
}

#[test]
fn without_user_variables_the_requester_is_the_account_not_unknown() {
    let p = Project::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anrf"))
        .env("ANRF_HOME", &p.home)
        .env_remove("USER")
        .env_remove("USERNAME")
        .env_remove("LOGNAME")
        .current_dir(&p.root)
        .args([
            "override",
            "request",
            "hello",
            "--allow-read",
            "data",
            "--justification",
            WHY,
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", err(&out));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let account = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let account = text(&account.stdout).trim().to_owned();
    assert_eq!(json[0]["requested_by"], account.as_str());
    assert_ne!(json[0]["requested_by"], "unknown");
}

#[test]
fn a_source_edited_after_build_is_reported_in_dev_and_refused_in_test() {
    let p = Project::new();
    p.ok(&["build", "hello"]);
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    assert!(manifest.contains("sources_sha256 = "), "{manifest}");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");
    p.set_message("edited");
    let dev = p.anrf(&["run", "hello"]);
    assert_eq!(code(&dev), 0, "{}", err(&dev));
    assert_eq!(text(&dev.stdout), "hello\n", "dev runs what was built");
    assert!(
        err(&dev).contains("changed after `anrf build`"),
        "{}",
        err(&dev)
    );
    let test = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&test), 2);
    let stderr = err(&test);
    assert!(stderr.contains("changed after `anrf build`"), "{stderr}");
    let fix = stderr
        .split("rebuild it: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let args: Vec<&str> = fix.split_whitespace().skip(1).collect();
    assert_eq!(args[0], "build", "{fix}");
    p.ok(&args);
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "edited\n");
}
