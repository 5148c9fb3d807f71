//! Creating an override request and an approval. Both check everything they can
//! before anything is written or signed: a request must carry a real justification,
//! a scope that fits and a relaxation within the project maxima; an approval is
//! signed only by a trusted approver whom the Cedar rules authorize, never by the
//! requester outside `dev`.

use anrf_format::{Approval, Justification, Override, OverrideId, Profile, Relaxation, Scope};
use serde::Serialize;
use sha2::Digest as _;
use time::{Date, OffsetDateTime};

use crate::authz::ApproveRequest;
use crate::check::{Refusal, beyond_maxima, beyond_validity_cap, target_of};
use crate::keys::SecretKey;
use crate::project::ProjectPolicy;
use crate::record::{self, Signer, Subject};

/// How long an override lasts when no `--expires` is given.
pub const DEFAULT_VALIDITY_DAYS: i64 = 90;
/// The longest an override may last, in days from the day it is requested,
/// approved or used (and from each approval's signing day): enforced at
/// request, at approval and at every decision (`run`, `verify`, `explain`,
/// `override list`/`show`), so a hand-written `expires` far ahead grants nothing.
pub const MAX_VALIDITY_DAYS: i64 = 366;

/// A refused request or approval: the refusal code and a message that says what
/// would allow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub refusal: Refusal,
    pub message: String,
}

fn refused(refusal: Refusal, message: String) -> Refused {
    Refused { refusal, message }
}

/// What a new override asks for.
#[derive(Debug, Clone)]
pub struct NewOverride<'a> {
    pub module: &'a str,
    pub functions: &'a [String],
    pub scope: Scope,
    pub relaxes: Relaxation,
    pub justification: &'a str,
    pub requested_by: &'a str,
    pub expires: Option<Date>,
    pub now: OffsetDateTime,
}

/// Builds a new override (no approvals yet), or says why it cannot be requested.
pub fn new_override(req: &NewOverride<'_>, project: &ProjectPolicy) -> Result<Override, Refused> {
    let justification = Justification::new(req.justification).map_err(|e| {
        refused(Refusal::Justification, format!("{e}: pass --justification \"what the module needs, and why the secure default does not work\""))
    })?;
    if !crate::project::valid_name(req.requested_by) {
        return Err(refused(
            Refusal::Scope,
            format!(
                "requester name `{}` must be 1-64 characters of `a-z`, `A-Z`, `0-9`, `.`, `_`, `-`, `@`",
                req.requested_by
            ),
        ));
    }
    if let Scope::Function(name) = &req.scope
        && !req.functions.iter().any(|f| f == name)
    {
        return Err(refused(
            Refusal::Scope,
            format!(
                "scope `function:{name}`: `logic.functions` of `{}` does not list `{name}`; add it there or use `--scope module`",
                req.module
            ),
        ));
    }
    if let Some(why) = beyond_maxima(&req.relaxes, project) {
        return Err(refused(Refusal::WiderThanMaxima, why));
    }
    let today = req.now.date();
    let expires = match req.expires {
        Some(d) if d < today => {
            return Err(refused(
                Refusal::Expired,
                format!("`--expires {d}` is in the past (today is {today})"),
            ));
        }
        Some(d) if beyond_validity_cap(d, today, "today").is_some() => {
            return Err(refused(
                Refusal::Expired,
                format!(
                    "`--expires {d}` is more than {MAX_VALIDITY_DAYS} days away: overrides are reviewed at least yearly"
                ),
            ));
        }
        Some(d) => d,
        None => today.saturating_add(time::Duration::days(DEFAULT_VALIDITY_DAYS)),
    };
    let id = override_id(req, expires).map_err(|e| refused(Refusal::Scope, e.to_string()))?;
    Ok(Override {
        id,
        scope: req.scope.clone(),
        relaxes: req.relaxes.clone(),
        justification,
        requested_by: req
            .requested_by
            .parse()
            .map_err(|e| refused(Refusal::Scope, format!("requester: {e}")))?,
        expires,
        approvals: Vec::new(),
        revoked: None,
    })
}

/// `ovr-` and 16 hex digits of a hash of what is asked, by whom and when.
fn override_id(req: &NewOverride<'_>, expires: Date) -> Result<OverrideId, anrf_format::NameError> {
    let mut h = sha2::Sha256::new();
    for part in [
        req.module,
        &req.scope.to_string(),
        &req.relaxes.to_string(),
        req.justification,
        req.requested_by,
        &expires.to_string(),
        &req.now.unix_timestamp_nanos().to_string(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let hex = hex::encode(&h.finalize()[..8]);
    OverrideId::new(format!("ovr-{hex}"))
}

/// What an approver asks to sign.
#[derive(Debug)]
pub struct ApproveAs<'a> {
    pub key: &'a SecretKey,
    /// The role to sign under; `None` picks the first of the approver's roles
    /// that the Cedar rules authorize.
    pub role: Option<&'a str>,
    pub profile: Profile,
    pub now: OffsetDateTime,
}

/// Checks that the key's holder may approve `ovr` (trusted key, role held, Cedar
/// permits, not self-approval outside `dev`, not expired or revoked, within maxima)
/// and only then signs. Returns the approval and the Cedar rules that permitted it.
pub fn approve(
    ovr: &Override,
    subject: &Subject,
    project: &ProjectPolicy,
    who: &ApproveAs<'_>,
) -> Result<(Approval, Vec<String>), Refused> {
    let public = who.key.public_key();
    let Some(approver) = project.approver_by_key(&public) else {
        return Err(refused(
            Refusal::UnknownKey,
            format!(
                "key `{public}` is not a trusted approver in `{}`: add it under `[[approvers]]` (printed by `anrf key gen`)",
                project.origin()
            ),
        ));
    };
    if let Some(r) = &ovr.revoked {
        return Err(refused(
            Refusal::Revoked,
            format!(
                "override `{}` was revoked by `{}` at {}: {}",
                ovr.id, r.by, r.at, r.reason
            ),
        ));
    }
    if who.now.date() > ovr.expires {
        return Err(refused(
            Refusal::Expired,
            format!(
                "override `{}` expired at the end of {}",
                ovr.id, ovr.expires
            ),
        ));
    }
    if let Some(why) = beyond_validity_cap(ovr.expires, who.now.date(), "today") {
        return Err(refused(
            Refusal::Expired,
            format!(
                "override `{}` is not signed: {why}; request it again with `--expires` at most {MAX_VALIDITY_DAYS} days ahead",
                ovr.id
            ),
        ));
    }
    if let Some(why) = beyond_maxima(&ovr.relaxes, project) {
        return Err(refused(Refusal::WiderThanMaxima, why));
    }
    let binding = subject.binding(&ovr.relaxes);
    let already = ovr.approvals.iter().any(|a| {
        a.approver == approver.name
            && a.subject_digest == binding
            && a.profile >= who.profile
            && record::verify(ovr, &subject.module, a) == record::SignatureCheck::Valid
    });
    if already {
        return Err(refused(
            Refusal::AlreadyApproved,
            format!(
                "`{}` already approved override `{}` for this content in profile `{}` or stronger; a second approval by the same approver would not count",
                approver.name, ovr.id, who.profile
            ),
        ));
    }
    let rules = project.profile(who.profile);
    if approver.name == ovr.requested_by.as_str() && !rules.self_approval {
        return Err(refused(
            Refusal::SelfApproval,
            format!(
                "`{}` requested override `{}` and may not approve it in profile `{}`: another trusted approver must sign",
                approver.name, ovr.id, who.profile
            ),
        ));
    }
    let candidates: Vec<&str> = match who.role {
        Some(role) if approver.roles.iter().any(|r| r == role) => vec![role],
        Some(role) => {
            return Err(refused(
                Refusal::UnknownRole,
                format!(
                    "`{}` does not hold role `{role}` in `{}` (holds {})",
                    approver.name,
                    project.origin(),
                    approver.roles.join(", ")
                ),
            ));
        }
        None => approver.roles.iter().map(String::as_str).collect(),
    };
    let target = target_of(&ovr.relaxes);
    let scope = ovr.scope.to_string();
    let mut denials = Vec::new();
    for role in candidates {
        let authz = project.cedar().authorize(&ApproveRequest {
            approver: &approver.name,
            approver_roles: &approver.roles,
            role,
            override_id: ovr.id.as_str(),
            module: &subject.module,
            kind: ovr.relaxes.kind(),
            target: &target,
            scope: &scope,
            profile: who.profile.as_str(),
            requested_by: ovr.requested_by.as_str(),
        });
        if authz.allowed {
            let signer = Signer {
                name: &approver.name,
                role,
                key: who.key,
            };
            let approval = record::sign(
                ovr,
                subject,
                &signer,
                who.profile,
                project.digest(),
                who.now,
            )
            .map_err(|e| refused(Refusal::BadSignature, e.to_string()))?;
            return Ok((approval, authz.policies));
        }
        denials.push(if authz.policies.is_empty() {
            format!("as `{role}`: no Cedar rule permits it")
        } else {
            format!("as `{role}`: forbidden by {}", authz.policies.join(", "))
        });
    }
    Err(refused(
        Refusal::Unauthorized,
        format!(
            "`{}` may not approve `{}` on `{}` in profile `{}` ({}); the Cedar rules in `{}` decide who may",
            approver.name,
            ovr.relaxes,
            subject.module,
            who.profile,
            denials.join("; "),
            project.origin()
        ),
    ))
}

/// An approver who could still give an approval that counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub approver: String,
    /// The first of their roles the Cedar rules permit for this override.
    pub role: String,
}

/// Who could still approve `ovr` (of `module`, `*` for the project) so that it
/// counts under `profile`: each trusted approver with a role the Cedar rules
/// permit, leaving out the requester where the profile forbids self-approval
/// and those already in `counted`. What `anrf override status` names.
pub fn candidates(
    ovr: &Override,
    module: &str,
    project: &ProjectPolicy,
    profile: Profile,
    counted: &[String],
) -> Vec<Candidate> {
    let rules = project.profile(profile);
    let target = target_of(&ovr.relaxes);
    let scope = ovr.scope.to_string();
    project
        .approvers()
        .iter()
        .filter(|a| !counted.contains(&a.name))
        .filter(|a| rules.self_approval || a.name != ovr.requested_by.as_str())
        .filter_map(|a| {
            let role = a.roles.iter().find(|role| {
                project
                    .cedar()
                    .authorize(&ApproveRequest {
                        approver: &a.name,
                        approver_roles: &a.roles,
                        role,
                        override_id: ovr.id.as_str(),
                        module,
                        kind: ovr.relaxes.kind(),
                        target: &target,
                        scope: &scope,
                        profile: profile.as_str(),
                        requested_by: ovr.requested_by.as_str(),
                    })
                    .allowed
            })?;
            Some(Candidate {
                approver: a.name.clone(),
                role: role.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use anrf_format::Revocation;
    use time::macros::{date, datetime};

    use super::*;
    use crate::keys::SecretKey;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);
    const WHY: &str = "reads the shipped stop-word list from data to filter common words";
    const FUNCTIONS: [&str; 2] = ["count_words", "load_list"];

    fn key(name: &str) -> SecretKey {
        let seed = match name {
            "alice" => 1,
            "bob" => 2,
            "carol" => 3,
            _ => 99,
        };
        SecretKey::from_seed([seed; 32])
    }

    /// alice (developer: approves in `dev` only), bob (security), carol
    /// (security and reviewer: reviewers approve reads).
    fn project() -> ProjectPolicy {
        let pk = |n: &str| key(n).public_key().to_string();
        let text = format!(
            r#"version = 1
cedar = """
@id("security-approves-all")
permit(principal in Role::"security", action == Action::"approve", resource);
@id("reviewers-approve-reads")
permit(principal in Role::"reviewer", action == Action::"approve", resource)
  when {{ resource.kind == "allow-read" }};
@id("developers-approve-in-dev")
permit(principal in Role::"developer", action == Action::"approve", resource)
  when {{ context.profile == "dev" }};
"""
[maxima]
read = ["data"]
write = ["out"]

[[approvers]]
name = "alice"
public_key = "{}"
roles = ["developer"]

[[approvers]]
name = "bob"
public_key = "{}"
roles = ["security"]

[[approvers]]
name = "carol"
public_key = "{}"
roles = ["security", "reviewer"]
"#,
            pk("alice"),
            pk("bob"),
            pk("carol")
        );
        ProjectPolicy::parse(&text, "anrf-policy.toml").unwrap()
    }

    fn functions() -> Vec<String> {
        FUNCTIONS.iter().map(|f| (*f).to_owned()).collect()
    }

    fn ask(
        scope: Scope,
        relaxes: &str,
        by: &str,
        expires: Option<Date>,
    ) -> Result<Override, Refused> {
        new_override(
            &NewOverride {
                module: "*",
                functions: &functions(),
                scope,
                relaxes: relaxes.parse().unwrap(),
                justification: WHY,
                requested_by: by,
                expires,
                now: NOW,
            },
            &project(),
        )
    }

    /// A project-scoped override of a read of `data`, requested by alice today.
    fn read_data() -> Override {
        ask(Scope::Project, "allow-read:data", "alice", None).unwrap()
    }

    fn sign_as(
        ovr: &Override,
        name: &str,
        role: Option<&str>,
        profile: Profile,
        now: OffsetDateTime,
    ) -> Result<(Approval, Vec<String>), Refused> {
        approve(
            ovr,
            &Subject::project(),
            &project(),
            &ApproveAs {
                key: &key(name),
                role,
                profile,
                now,
            },
        )
    }

    fn refusal<T: std::fmt::Debug>(r: Result<T, Refused>) -> Refusal {
        r.unwrap_err().refusal
    }

    #[test]
    fn request_expiring_today_is_accepted_and_one_expiring_yesterday_is_refused() {
        let today = NOW.date();
        let ovr = ask(Scope::Project, "allow-read:data", "alice", Some(today)).unwrap();
        assert_eq!(ovr.expires, today);
        let yesterday = today.previous_day().unwrap();
        let err = ask(Scope::Project, "allow-read:data", "alice", Some(yesterday)).unwrap_err();
        assert_eq!(err.refusal, Refusal::Expired);
        assert!(err.message.contains("in the past"), "{}", err.message);
    }

    #[test]
    fn request_at_the_validity_cap_is_accepted_and_one_day_more_is_refused() {
        let cap = NOW.date() + time::Duration::days(MAX_VALIDITY_DAYS);
        assert_eq!(cap, date!(2027 - 11 - 24));
        let ovr = ask(Scope::Project, "allow-read:data", "alice", Some(cap)).unwrap();
        assert_eq!(ovr.expires, cap);
        let err = ask(Scope::Project, "allow-read:data", "alice", cap.next_day()).unwrap_err();
        assert_eq!(err.refusal, Refusal::Expired);
        assert!(
            err.message.contains("more than 366 days"),
            "{}",
            err.message
        );
    }

    #[test]
    fn request_without_expiry_lasts_the_default_validity() {
        let ovr = read_data();
        assert_eq!(
            ovr.expires,
            NOW.date() + time::Duration::days(DEFAULT_VALIDITY_DAYS)
        );
        assert!(ovr.approvals.is_empty());
        assert_eq!(ovr.requested_by.as_str(), "alice");
    }

    #[test]
    fn request_for_a_function_scope_needs_the_function_listed() {
        let listed = ask(
            Scope::Function("load_list".into()),
            "allow-read:data",
            "alice",
            None,
        );
        assert_eq!(listed.unwrap().scope, Scope::Function("load_list".into()));
        let unlisted = ask(
            Scope::Function("format_disk".into()),
            "allow-read:data",
            "alice",
            None,
        );
        assert_eq!(refusal(unlisted), Refusal::Scope);
    }

    #[test]
    fn request_by_an_invalid_requester_name_is_refused() {
        assert_eq!(
            refusal(ask(Scope::Project, "allow-read:data", "al ice", None)),
            Refusal::Scope
        );
    }

    #[test]
    fn request_beyond_the_maxima_is_refused() {
        assert_eq!(
            refusal(ask(Scope::Project, "allow-read:secrets", "alice", None)),
            Refusal::WiderThanMaxima
        );
    }

    #[test]
    fn request_without_a_real_justification_is_refused() {
        let r = new_override(
            &NewOverride {
                module: "*",
                functions: &functions(),
                scope: Scope::Project,
                relaxes: "allow-read:data".parse().unwrap(),
                justification: "todo",
                requested_by: "alice",
                expires: None,
                now: NOW,
            },
            &project(),
        );
        assert_eq!(refusal(r), Refusal::Justification);
    }

    #[test]
    fn approval_on_the_expiry_date_is_signed_and_one_day_after_is_refused() {
        let ovr = read_data();
        let last_day = ovr.expires.with_hms(23, 59, 59).unwrap().assume_utc();
        let (approval, rules) = sign_as(&ovr, "bob", None, Profile::Test, last_day).unwrap();
        assert_eq!(approval.approver, "bob");
        assert_eq!(rules, ["security-approves-all"]);
        let day_after = last_day + time::Duration::seconds(1);
        assert_eq!(day_after.date(), ovr.expires.next_day().unwrap());
        let err = sign_as(&ovr, "bob", None, Profile::Test, day_after).unwrap_err();
        assert_eq!(err.refusal, Refusal::Expired);
        assert!(err.message.contains("expired"), "{}", err.message);
    }

    #[test]
    fn approval_of_a_hand_written_expiry_beyond_the_cap_is_refused() {
        let mut ovr = read_data();
        ovr.expires = NOW.date() + time::Duration::days(MAX_VALIDITY_DAYS);
        assert!(sign_as(&ovr, "bob", None, Profile::Test, NOW).is_ok());
        ovr.expires = ovr.expires.next_day().unwrap();
        assert_eq!(
            refusal(sign_as(&ovr, "bob", None, Profile::Test, NOW)),
            Refusal::Expired
        );
    }

    #[test]
    fn approval_by_an_untrusted_key_is_refused() {
        assert_eq!(
            refusal(sign_as(&read_data(), "mallory", None, Profile::Test, NOW)),
            Refusal::UnknownKey
        );
    }

    #[test]
    fn approval_of_a_revoked_override_is_refused() {
        let mut ovr = read_data();
        ovr.revoked = Some(Revocation {
            by: "bob".into(),
            at: "2026-11-23T12:00:00Z".into(),
            reason: "no longer needed".into(),
        });
        assert_eq!(
            refusal(sign_as(&ovr, "bob", None, Profile::Test, NOW)),
            Refusal::Revoked
        );
    }

    #[test]
    fn approval_of_a_relaxation_beyond_the_maxima_is_refused() {
        let mut ovr = read_data();
        ovr.relaxes = "allow-read:secrets".parse().unwrap();
        assert_eq!(
            refusal(sign_as(&ovr, "bob", None, Profile::Test, NOW)),
            Refusal::WiderThanMaxima
        );
    }

    #[test]
    fn approval_under_a_role_the_approver_lacks_is_refused() {
        let ovr = read_data();
        let err = sign_as(&ovr, "bob", Some("reviewer"), Profile::Test, NOW).unwrap_err();
        assert_eq!(err.refusal, Refusal::UnknownRole);
        assert!(
            err.message.contains("does not hold role `reviewer`"),
            "{}",
            err.message
        );
        // carol holds it, and signs under exactly that role.
        let (approval, rules) =
            sign_as(&ovr, "carol", Some("reviewer"), Profile::Test, NOW).unwrap();
        assert_eq!(approval.role, "reviewer");
        assert_eq!(rules, ["reviewers-approve-reads"]);
    }

    #[test]
    fn approval_the_cedar_rules_do_not_permit_is_refused() {
        // alice is a developer, whom the rules permit in `dev` only.
        let mut ovr = read_data();
        ovr.requested_by = "bob".parse().unwrap();
        let err = sign_as(&ovr, "alice", None, Profile::Test, NOW).unwrap_err();
        assert_eq!(err.refusal, Refusal::Unauthorized);
        assert!(
            err.message.contains("no Cedar rule permits it"),
            "{}",
            err.message
        );
        assert!(sign_as(&ovr, "alice", None, Profile::Dev, NOW).is_ok());
    }

    #[test]
    fn self_approval_is_refused_outside_dev_and_signed_in_dev() {
        let ovr = read_data();
        for profile in [Profile::Test, Profile::Prod] {
            let err = sign_as(&ovr, "alice", None, profile, NOW).unwrap_err();
            assert_eq!(err.refusal, Refusal::SelfApproval, "{profile}");
        }
        let (approval, _) = sign_as(&ovr, "alice", None, Profile::Dev, NOW).unwrap();
        assert_eq!(approval.approver, "alice");
        // Another approver is not self-approving in any profile.
        assert!(sign_as(&ovr, "bob", None, Profile::Prod, NOW).is_ok());
    }

    #[test]
    fn second_approval_by_the_same_approver_is_refused_unless_for_a_stronger_profile() {
        let mut ovr = read_data();
        let (approval, _) = sign_as(&ovr, "bob", None, Profile::Test, NOW).unwrap();
        ovr.approvals.push(approval);
        assert_eq!(
            refusal(sign_as(&ovr, "bob", None, Profile::Test, NOW)),
            Refusal::AlreadyApproved
        );
        assert_eq!(
            refusal(sign_as(&ovr, "bob", None, Profile::Dev, NOW)),
            Refusal::AlreadyApproved
        );
        // A stronger profile, and another approver, still count.
        assert!(sign_as(&ovr, "bob", None, Profile::Prod, NOW).is_ok());
        assert!(sign_as(&ovr, "carol", None, Profile::Test, NOW).is_ok());
    }

    #[test]
    fn an_earlier_approval_with_a_broken_signature_does_not_block_a_new_one() {
        let mut ovr = read_data();
        let (mut approval, _) = sign_as(&ovr, "bob", None, Profile::Test, NOW).unwrap();
        approval.signature = key("bob").sign(b"something else").to_string();
        ovr.approvals.push(approval);
        assert!(sign_as(&ovr, "bob", None, Profile::Test, NOW).is_ok());
    }

    #[test]
    fn candidates_leave_out_the_requester_outside_dev_and_those_counted() {
        let ovr = read_data();
        let names = |profile, counted: &[String]| -> Vec<(String, String)> {
            candidates(&ovr, "*", &project(), profile, counted)
                .into_iter()
                .map(|c| (c.approver, c.role))
                .collect()
        };
        let pair = |a: &str, r: &str| (a.to_owned(), r.to_owned());
        assert_eq!(
            names(Profile::Test, &[]),
            [pair("bob", "security"), pair("carol", "security")]
        );
        assert_eq!(
            names(Profile::Test, &["bob".to_owned()]),
            [pair("carol", "security")]
        );
        assert_eq!(
            names(Profile::Dev, &[]),
            [
                pair("alice", "developer"),
                pair("bob", "security"),
                pair("carol", "security")
            ]
        );
    }
}
