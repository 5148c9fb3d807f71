//! Who may approve which relaxation on which module, written in Cedar.
//!
//! The entity model (also in `docs/policy.md`):
//!
//! - principal `Approver::"NAME"`, a member of `Role::"ROLE"` for the one role it
//!   signs under, with attributes `name` and `roles` (all its roles);
//! - action `Action::"approve"`;
//! - resource `Override::"ID"` with attributes `module`, `kind` (`memory-unsafe`,
//!   `allow-read`, ...), `target` (the path, name, host or `limit=value`),
//!   `scope` (`project`, `module`, `function:NAME`), `scope_kind` (`project`,
//!   `module`, `function`), `profile` and `requested_by`;
//! - context `{ role, profile, self_approval }`.
//!
//! Rules are validated against this schema in strict mode when the policy is read,
//! so a typo in an attribute name is an error, not a rule that never matches.

use std::collections::{HashMap, HashSet};
use std::str::FromStr as _;
use std::sync::OnceLock;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::error::PolicyError;

/// The Cedar schema every project's rules are checked against.
pub const SCHEMA: &str = r"
entity Role;
entity Approver in [Role] {
  name: String,
  roles: Set<String>,
};
entity Override {
  module: String,
  kind: String,
  target: String,
  scope: String,
  scope_kind: String,
  profile: String,
  requested_by: String,
};
action approve appliesTo {
  principal: [Approver],
  resource: [Override],
  context: {
    role: String,
    profile: String,
    self_approval: Bool,
  },
};
";

/// The rules used when the policy file gives none: an approver signing as
/// `security` may approve anything.
pub const BUILTIN_RULES: &str = r#"@id("security-approves-all")
permit(principal in Role::"security", action == Action::"approve", resource);
"#;

/// Compiled Cedar rules.
#[derive(Debug, Clone)]
pub struct CedarRules {
    /// A project's rules are compiled when the policy is read, so that an error
    /// in them is reported then; the built-in rules (a constant, checked by a
    /// unit test) only when a decision needs them, so that a run that asks for
    /// no approval does not pay for parsing Cedar.
    compiled: OnceLock<Compiled>,
}

#[derive(Debug, Clone)]
struct Compiled {
    policies: PolicySet,
    /// `None` only if the constant schema failed to parse: then every request is
    /// denied (fails closed).
    schema: Option<Schema>,
}

/// What Cedar is asked: may this approver, signing under this role, approve this
/// override for this profile?
#[derive(Debug, Clone)]
pub struct ApproveRequest<'a> {
    pub approver: &'a str,
    pub approver_roles: &'a [String],
    pub role: &'a str,
    pub override_id: &'a str,
    pub module: &'a str,
    pub kind: &'a str,
    pub target: &'a str,
    pub scope: &'a str,
    pub profile: &'a str,
    pub requested_by: &'a str,
}

/// Cedar's answer, with the rules that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub allowed: bool,
    /// Ids (`@id("...")` or Cedar's `policyN`) of the rules that decided.
    pub policies: Vec<String>,
    /// Rules that failed to evaluate (they are skipped, never read as permits).
    pub errors: Vec<String>,
}

impl CedarRules {
    /// The built-in rules ([`BUILTIN_RULES`]), compiled on first use.
    pub fn builtin() -> Self {
        Self {
            compiled: OnceLock::new(),
        }
    }

    /// Parses and validates `text` against [`SCHEMA`].
    pub fn parse(text: &str, origin: &str) -> Result<Self, PolicyError> {
        Ok(Self {
            compiled: OnceLock::from(compile(text, origin)?),
        })
    }

    /// The compiled rules: the built-in ones are compiled here on first use; if
    /// that ever failed the fallback is the empty set, which permits nothing.
    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            compile(BUILTIN_RULES, "<built-in rules>").unwrap_or_else(|_| Compiled {
                policies: PolicySet::new(),
                schema: None,
            })
        })
    }

    /// Ids of the rules, for reports.
    pub fn policy_ids(&self) -> Vec<String> {
        let policies = &self.compiled().policies;
        policies
            .policies()
            .map(|p| rule_name(policies, p.id()))
            .collect()
    }

    /// Asks Cedar. Anything that cannot be expressed as a request is a deny.
    pub fn authorize(&self, req: &ApproveRequest<'_>) -> Authorization {
        match self.try_authorize(req) {
            Ok(a) => a,
            Err(message) => Authorization {
                allowed: false,
                policies: Vec::new(),
                errors: vec![message],
            },
        }
    }

    fn try_authorize(&self, req: &ApproveRequest<'_>) -> Result<Authorization, String> {
        let compiled = self.compiled();
        let schema = compiled
            .schema
            .as_ref()
            .ok_or("the anrf Cedar schema is unavailable")?;
        let principal = uid("Approver", req.approver)?;
        let role = uid("Role", req.role)?;
        let resource = uid("Override", req.override_id)?;
        let action = uid("Action", "approve")?;
        let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
        let approver = Entity::new(
            principal.clone(),
            HashMap::from([
                ("name".to_owned(), s(req.approver)),
                (
                    "roles".to_owned(),
                    RestrictedExpression::new_set(req.approver_roles.iter().map(|r| s(r))),
                ),
            ]),
            HashSet::from([role.clone()]),
        )
        .map_err(|e| e.to_string())?;
        let scope_kind = if req.scope.starts_with("function:") {
            "function"
        } else {
            req.scope
        };
        let over = Entity::new(
            resource.clone(),
            HashMap::from([
                ("module".to_owned(), s(req.module)),
                ("kind".to_owned(), s(req.kind)),
                ("target".to_owned(), s(req.target)),
                ("scope".to_owned(), s(req.scope)),
                ("scope_kind".to_owned(), s(scope_kind)),
                ("profile".to_owned(), s(req.profile)),
                ("requested_by".to_owned(), s(req.requested_by)),
            ]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let role_entity = Entity::new_no_attrs(role, HashSet::new());
        let entities = Entities::from_entities([approver, over, role_entity], Some(schema))
            .map_err(|e| e.to_string())?;
        let context = Context::from_pairs([
            ("role".to_owned(), s(req.role)),
            ("profile".to_owned(), s(req.profile)),
            (
                "self_approval".to_owned(),
                RestrictedExpression::new_bool(req.approver == req.requested_by),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let request = Request::new(principal, action, resource, context, Some(schema))
            .map_err(|e| e.to_string())?;
        let response = Authorizer::new().is_authorized(&request, &compiled.policies, &entities);
        let diagnostics = response.diagnostics();
        Ok(Authorization {
            allowed: response.decision() == Decision::Allow,
            policies: diagnostics
                .reason()
                .map(|id| rule_name(&compiled.policies, id))
                .collect(),
            errors: diagnostics.errors().map(ToString::to_string).collect(),
        })
    }
}

/// The stack of the thread Cedar rules are parsed on. Cedar's parser recurses
/// once per nesting level with large frames (tens of KiB per bracket in an
/// unoptimized build), so rules within [`crate::MAX_CEDAR_NESTING`] are parsed
/// on a thread of their own with this much stack, whatever stack the caller has.
/// Only the pages the parser touches are ever used.
const PARSE_STACK: usize = 64 << 20;

/// Parses `text` and validates it against [`SCHEMA`] in strict mode: its
/// nesting bounded first ([`crate::nesting`]), then parsed on a thread with a
/// [`PARSE_STACK`] stack.
fn compile(text: &str, origin: &str) -> Result<Compiled, PolicyError> {
    let cedar_err = |message: String| PolicyError::Cedar {
        origin: origin.into(),
        message,
    };
    crate::nesting::check(text, origin)?;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("anrf-cedar-parse".into())
            .stack_size(PARSE_STACK)
            .spawn_scoped(scope, || compile_here(text, origin))
            .map_err(|e| cedar_err(format!("cannot start a thread to parse the rules: {e}")))?
            .join()
            .map_err(|_| cedar_err("the Cedar parser failed on these rules".into()))?
    })
}

fn compile_here(text: &str, origin: &str) -> Result<Compiled, PolicyError> {
    let cedar_err = |message: String| PolicyError::Cedar {
        origin: origin.into(),
        message,
    };
    let policies =
        PolicySet::from_str(text).map_err(|e| cedar_err(format!("{e}: {}", render_causes(&e))))?;
    let schema = Schema::from_cedarschema_str(SCHEMA)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| cedar_err(format!("the anrf schema does not parse: {e}")))?;
    let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
    if !result.validation_passed() {
        // Cedar names rules `policy0`, `policy1`, ... in the order written:
        // name each by its `@id` instead, which is what the author wrote.
        let named: Vec<(String, String)> = policies
            .policies()
            .filter_map(|p| {
                let id = p.annotation("id")?;
                Some((
                    format!("`{}`", p.id()),
                    format!("`@id(\"{id}\")` ({})", p.id()),
                ))
            })
            .collect();
        let messages: Vec<String> = result
            .validation_errors()
            .map(|e| {
                named
                    .iter()
                    .fold(e.to_string(), |m, (from, to)| m.replace(from.as_str(), to))
            })
            .collect();
        return Err(cedar_err(format!(
            "rules do not fit the anrf schema: {}",
            messages.join("; ")
        )));
    }
    Ok(Compiled {
        policies,
        schema: Some(schema),
    })
}

fn uid(type_name: &str, id: &str) -> Result<EntityUid, String> {
    let t = EntityTypeName::from_str(type_name).map_err(|e| e.to_string())?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

fn rule_name(set: &PolicySet, id: &cedar_policy::PolicyId) -> String {
    set.annotation(id, "id")
        .map_or_else(|| id.to_string(), ToOwned::to_owned)
}

fn render_causes(e: &cedar_policy::ParseErrors) -> String {
    e.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_that_does_not_fit_is_named_by_its_id() {
        let text = "@id(\"ok-rule\")\npermit(principal, action, resource);\n@id(\"reads-only\")\npermit(principal, action, resource) when { resource.kinds == \"allow-read\" };\n";
        let Err(err) = compile(text, "anrf-policy.toml") else {
            panic!("a misspelled attribute must not compile");
        };
        let message = err.to_string();
        assert!(
            message.contains("`@id(\"reads-only\")` (policy1)"),
            "{message}"
        );
        assert!(!message.contains("ok-rule"), "{message}");
    }

    fn req<'a>(role: &'a str, kind: &'a str, roles: &'a [String]) -> ApproveRequest<'a> {
        ApproveRequest {
            approver: "bob",
            approver_roles: roles,
            role,
            override_id: "ovr-0123abcd",
            module: "wordcount",
            kind,
            target: "data",
            scope: "module",
            profile: "prod",
            requested_by: "alice",
        }
    }

    #[test]
    fn schema_and_builtin_rules_parse() {
        assert!(Schema::from_cedarschema_str(SCHEMA).is_ok());
        assert!(CedarRules::parse(BUILTIN_RULES, "builtin").is_ok());
        assert_eq!(
            CedarRules::builtin().policy_ids(),
            ["security-approves-all"]
        );
    }

    #[test]
    fn builtin_permits_security_role_only() {
        let rules = CedarRules::builtin();
        let held = vec!["security".to_owned(), "dev".to_owned()];
        let a = rules.authorize(&req("security", "allow-read", &held));
        assert!(a.allowed, "{a:?}");
        assert_eq!(a.policies, ["security-approves-all"]);
        let a = rules.authorize(&req("dev", "allow-read", &held));
        assert!(!a.allowed);
        assert!(a.policies.is_empty());
    }

    #[test]
    fn rules_can_use_kind_profile_and_forbid() {
        let rules = CedarRules::parse(
            r#"
            @id("reviewers-approve-reads")
            permit(principal in Role::"reviewer", action == Action::"approve", resource)
              when { resource.kind == "allow-read" && resource.scope_kind != "project" };
            @id("no-memory-unsafe-in-prod")
            forbid(principal, action, resource)
              when { resource.kind == "memory-unsafe" && context.profile == "prod" };
            @id("security-all")
            permit(principal in Role::"security", action == Action::"approve", resource);
            "#,
            "p",
        )
        .unwrap();
        let held = vec!["reviewer".to_owned(), "security".to_owned()];
        assert!(
            rules
                .authorize(&req("reviewer", "allow-read", &held))
                .allowed
        );
        assert!(
            !rules
                .authorize(&req("reviewer", "allow-write", &held))
                .allowed
        );
        let denied = rules.authorize(&req("security", "memory-unsafe", &held));
        assert!(!denied.allowed);
        assert_eq!(denied.policies, ["no-memory-unsafe-in-prod"]);
    }

    #[test]
    fn misspelled_attribute_is_a_parse_error() {
        let err = CedarRules::parse(
            r#"permit(principal, action == Action::"approve", resource) when { resource.knd == "x" };"#,
            "p.cedar",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("anrf schema"), "{err}");
    }

    #[test]
    fn syntax_error_is_reported_with_origin() {
        let err = CedarRules::parse("permit(", "approve.cedar")
            .unwrap_err()
            .to_string();
        assert!(err.contains("approve.cedar"), "{err}");
    }
}
