//! The examples in `docs/policy.md` are real: the policy file parses and the Cedar
//! rules validate against the schema.

use anrf_policy::{CedarRules, ProjectPolicy, SecretKey};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md")).unwrap()
}

/// The fenced blocks of `lang` that follow `heading`.
fn block_after(doc: &str, heading: &str, lang: &str) -> String {
    let rest = &doc[doc.find(heading).unwrap()..];
    let fence = format!("```{lang}\n");
    let start = rest.find(&fence).unwrap() + fence.len();
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_owned()
}

#[test]
fn the_documented_policy_file_parses() {
    let text = block_after(&doc(), "## The project policy file", "toml")
        .replace(
            "ed25519:3m2x...=",
            &SecretKey::from_seed([1; 32]).public_key().to_string(),
        )
        .replace(
            "ed25519:Qk9C...=",
            &SecretKey::from_seed([2; 32]).public_key().to_string(),
        );
    let policy = ProjectPolicy::parse(&text, "docs/policy.md").unwrap();
    assert_eq!(policy.approvers().len(), 2);
    assert_eq!(
        policy.cedar().policy_ids(),
        [
            "security-approves-all",
            "reviewers-approve-reads",
            "no-memory-unsafe-in-prod"
        ]
    );
    assert!(!policy.maxima().memory_unsafe);
}

#[test]
fn the_documented_schema_and_example_rule_are_the_real_ones() {
    let doc = doc();
    let example = block_after(&doc, "Example: reviewers may approve", "cedar");
    let rules = CedarRules::parse(&example, "docs/policy.md").unwrap();
    assert_eq!(rules.policy_ids(), ["reviewers-read-data"]);
    for attribute in [
        "module",
        "kind",
        "target",
        "scope",
        "scope_kind",
        "profile",
        "requested_by",
        "self_approval",
    ] {
        assert!(anrf_policy::SCHEMA.contains(attribute), "{attribute}");
        assert!(
            block_after(&doc, "## Cedar entity model", "cedar").contains(attribute),
            "{attribute}"
        );
    }
}
