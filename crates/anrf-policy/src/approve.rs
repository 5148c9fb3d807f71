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
