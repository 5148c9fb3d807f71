//! The decision on one override: granted or refused, with the chain of reasons
//! (who approved it, under which Cedar rule, expiring when — or exactly why not and
//! what would fix it). Expiry and revocation are checked against the `now` given,
//! so every caller that decides (run, verify, explain) enforces them.

use std::collections::BTreeSet;

use anrf_format::{Approval, Override, Profile, Relaxation, Scope};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::approve::MAX_VALIDITY_DAYS;
use crate::authz::ApproveRequest;
use crate::project::{Maxima, ProjectPolicy};
use crate::record::{self, SignatureCheck, Subject};

/// A revocation known outside the manifest (the CLI's index under `$ANRF_HOME`),
/// so deleting the `revoked` line from a manifest does not bring an override back.
///
/// It revokes the override with this id **of this module** (`*`: of the project
/// policy), so revoking one module's `ovr-…` leaves another module's override
/// with the same id alone. `module: None` (an index record written before
/// records named their module) revokes every override with the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationNotice {
    pub override_id: String,
    /// The module whose override is revoked, `*` for a project override, `None`
    /// for any module.
    pub module: Option<String>,
    pub by: String,
    pub at: String,
    pub reason: String,
}

/// What an override is checked against.
#[derive(Debug, Clone)]
pub struct OverrideContext<'a> {
    pub project: &'a ProjectPolicy,
    pub profile: Profile,
    pub now: OffsetDateTime,
    /// The module (name, current code digest and security section) the
    /// override's approvals must bind to ([`Subject::binding`]); for
    /// project-scoped overrides, [`Subject::project`].
    pub subject: &'a Subject,
    /// The module's `logic.functions`, which `function:NAME` scopes must name.
    pub functions: &'a [String],
    pub revocations: &'a [RevocationNotice],
}

/// Granted or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Granted,
    Refused,
}

/// Why an override was refused: one stable code per refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No justification, or a placeholder one.
    Justification,
    /// Past its expiry date.
    Expired,
    /// Revoked.
    Revoked,
    /// No approval at all, where the profile needs one.
    Unsigned,
    /// Signed by a key that is not a trusted approver of the project policy.
    UnknownKey,
    /// A signature that does not verify: forged, or the record altered after signing.
    BadSignature,
    /// The approver signed under a role they do not hold.
    UnknownRole,
    /// The Cedar rules do not authorize the approver for this override.
    Unauthorized,
    /// Fewer distinct approvers than the profile's rules need.
    TooFewApprovers,
    /// The requester approved their own override outside `dev`.
    SelfApproval,
    /// The module's code, artifact or security section changed since approval.
    DigestMismatch,
    /// Approved for a weaker profile than the one in force.
    ProfileMismatch,
    /// The override asks for more than the project maxima allow.
    WiderThanMaxima,
    /// The scope does not fit where the override is written.
    Scope,
    /// The approver already approved this content for this profile (at approval time).
    AlreadyApproved,
}

impl Refusal {
    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Justification => "justification",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::Unsigned => "unsigned",
            Refusal::UnknownKey => "unknown_key",
            Refusal::BadSignature => "bad_signature",
            Refusal::UnknownRole => "unknown_role",
            Refusal::Unauthorized => "unauthorized",
            Refusal::TooFewApprovers => "too_few_approvers",
            Refusal::SelfApproval => "self_approval",
            Refusal::DigestMismatch => "digest_mismatch",
            Refusal::ProfileMismatch => "profile_mismatch",
            Refusal::WiderThanMaxima => "wider_than_maxima",
            Refusal::Scope => "scope",
            Refusal::AlreadyApproved => "already_approved",
        }
    }
}

/// One approval as checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalCheck {
    pub approver: String,
    pub role: String,
    pub public_key: String,
    pub profile: Profile,
    pub signed_at: String,
    /// Whether it counts towards the profile's minimum.
    pub counted: bool,
    /// Why it does not count, if it does not.
    pub refusal: Option<Refusal>,
    /// The Cedar rules that decided (permit or forbid).
    pub cedar_policies: Vec<String>,
    /// One line saying what was found.
    pub note: String,
}

/// The decision on one override, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideDecision {
    pub id: String,
    pub relaxes: String,
    pub kind: String,
    pub scope: String,
    pub justification: String,
    pub requested_by: String,
    /// Last valid day (UTC).
    pub expires: String,
    pub verdict: Verdict,
    pub refusal: Option<Refusal>,
    /// Distinct approvers whose approval counts.
    pub approvers: Vec<String>,
    /// Distinct approvers the profile needs for this kind.
    pub required_approvers: u32,
    pub approvals: Vec<ApprovalCheck>,
    /// The chain of reasons, in order, one statement each.
    pub reasons: Vec<String>,
    /// What would allow it, when refused.
    pub fix: Option<String>,
}

impl OverrideDecision {
    pub fn is_granted(&self) -> bool {
        self.verdict == Verdict::Granted
    }
}

/// Decides one override.
pub fn check_override(ovr: &Override, ctx: &OverrideContext<'_>) -> OverrideDecision {
    let rules = ctx.project.profile(ctx.profile);
    let kind = ovr.relaxes.kind();
    let mut d = OverrideDecision {
        id: ovr.id.as_str().to_owned(),
        relaxes: ovr.relaxes.to_string(),
        kind: kind.to_owned(),
        scope: ovr.scope.to_string(),
        justification: ovr.justification.as_str().to_owned(),
        requested_by: ovr.requested_by.to_string(),
        expires: ovr.expires.to_string(),
        verdict: Verdict::Refused,
        refusal: None,
        approvers: Vec::new(),
        required_approvers: rules.required(kind),
        approvals: Vec::new(),
        reasons: Vec::new(),
        fix: None,
    };
    d.reasons.push(format!(
        "override `{}` relaxes `{}` at scope `{}`, requested by `{}`: \"{}\"",
        d.id, d.relaxes, d.scope, d.requested_by, d.justification
    ));

    // Override-level refusals, in the order a reader would check them.
    if let Some(notice) = revocation(ovr, &ctx.subject.module, ctx.revocations) {
        return d.refuse(
            Refusal::Revoked,
            format!(
                "revoked by `{}` at {}: {}",
                notice.by, notice.at, notice.reason
            ),
            Some(format!(
                "a revoked override never comes back: request a new one with `{}`",
                request_command(&ctx.subject.module, &ovr.relaxes, &ovr.scope)
            )),
        );
    }
    if ctx.now.date() > ovr.expires {
        return d.refuse(
            Refusal::Expired,
            format!(
                "it was valid through {} (UTC) and it is now {}",
                ovr.expires,
                ctx.now.date()
            ),
            Some(format!(
                "request it again (a new request is valid for {} days unless `--expires DATE` says otherwise): `{}`",
                crate::approve::DEFAULT_VALIDITY_DAYS,
                request_command(&ctx.subject.module, &ovr.relaxes, &ovr.scope)
            )),
        );
    }
    if let Some(message) = beyond_validity_cap(ovr.expires, ctx.now.date(), "today") {
        return d.refuse(
            Refusal::Expired,
            message,
            Some(format!(
                "request it again with an `--expires` date at most {MAX_VALIDITY_DAYS} days ahead (the default is {} days), and have it approved: `{}`",
                crate::approve::DEFAULT_VALIDITY_DAYS,
                request_command(&ctx.subject.module, &ovr.relaxes, &ovr.scope)
            )),
        );
    }
    if let Some(message) = scope_problem(ovr, ctx) {
        return d.refuse(Refusal::Scope, message, None);
    }
    if let Some(message) = beyond_maxima(&ovr.relaxes, ctx.project) {
        return d.refuse(
            Refusal::WiderThanMaxima,
            message,
            Some(format!(
                "ask for less, or widen `[maxima]` in `{}` (which itself needs review)",
                ctx.project.origin()
            )),
        );
    }
    d.reasons
        .push(format!("valid through {} (UTC)", ovr.expires));

    // Approvals.
    let mut tampered = false;
    for approval in &ovr.approvals {
        let check = check_approval(ovr, approval, ctx);
        tampered |= check.refusal == Some(Refusal::BadSignature);
        d.approvals.push(check);
    }
    let mut counted: BTreeSet<String> = BTreeSet::new();
    for check in &mut d.approvals {
        if check.counted && !counted.insert(check.approver.clone()) {
            check.counted = false;
            check.refusal = Some(Refusal::TooFewApprovers);
            check.note = format!(
                "`{}` already approved: a second approval by the same approver does not count",
                check.approver
            );
        }
    }
    for check in &d.approvals {
        d.reasons.push(check.note.clone());
    }
    d.approvers = counted.into_iter().collect();
    if tampered {
        return d.refuse(
            Refusal::BadSignature,
            "an approval's signature does not verify: it was forged or the record was altered after signing",
            Some("remove the altered approval and approve again with `anrf override approve`".into()),
        );
    }
    let have = u32::try_from(d.approvers.len()).unwrap_or(u32::MAX);
    let need = d.required_approvers;
    if have >= need {
        if need == 0 && have == 0 {
            if !rules.self_approval {
                let fix = format!("approve it with `anrf override approve {} --key KEY`", d.id);
                return d.refuse(
                    Refusal::SelfApproval,
                    format!("profile `{}` needs no signature but forbids self-approval, so nobody has approved it", ctx.profile),
                    Some(fix),
                );
            }
            d.reasons.push(format!(
                "self-approved by `{}` on its justification: profile `{}` needs no signature (audited)",
                d.requested_by, ctx.profile
            ));
        } else {
            d.reasons.push(format!(
                "profile `{}` needs {need} distinct approver(s) for `{kind}`; has {have}: {}",
                ctx.profile,
                d.approvers
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        d.verdict = Verdict::Granted;
        d.reasons.push(format!(
            "granted `{}` until the end of {} (UTC)",
            d.relaxes, ovr.expires
        ));
        return d;
    }
    let approve_cmd = format!(
        "anrf override approve {} --key KEY --profile {}",
        d.id, ctx.profile
    );
    let first_ignored = d.approvals.iter().find_map(|c| c.refusal);
    let (refusal, message) = match (have, first_ignored) {
        (0, None) => (
            Refusal::Unsigned,
            format!(
                "profile `{}` needs {need} trusted approver signature(s) for `{kind}` and it has none",
                ctx.profile
            ),
        ),
        (0, Some(r)) if r != Refusal::TooFewApprovers => (
            r,
            format!(
                "no approval counts (profile `{}` needs {need} for `{kind}`): {}",
                ctx.profile,
                first_note(&d.approvals)
            ),
        ),
        _ => (
            Refusal::TooFewApprovers,
            format!(
                "too few distinct approvers: profile `{}` needs {need} for `{kind}`, has {have}",
                ctx.profile
            ),
        ),
    };
    d.refuse(refusal, message, Some(approve_cmd))
}

impl OverrideDecision {
    fn refuse(
        mut self,
        refusal: Refusal,
        message: impl std::fmt::Display,
        fix: Option<String>,
    ) -> Self {
        self.verdict = Verdict::Refused;
        self.refusal = Some(refusal);
        self.reasons
            .push(format!("refused ({}): {message}", refusal.code()));
        self.fix = fix;
        self
    }
}

fn first_note(checks: &[ApprovalCheck]) -> String {
    checks
        .iter()
        .find(|c| c.refusal.is_some())
        .map(|c| c.note.clone())
        .unwrap_or_default()
}

fn revocation(
    ovr: &Override,
    module: &str,
    notices: &[RevocationNotice],
) -> Option<RevocationNotice> {
    if let Some(r) = &ovr.revoked {
        return Some(RevocationNotice {
            override_id: ovr.id.as_str().to_owned(),
            module: Some(module.to_owned()),
            by: r.by.clone(),
            at: r.at.clone(),
            reason: r.reason.clone(),
        });
    }
    notices
        .iter()
        .find(|n| {
            n.override_id == ovr.id.as_str() && n.module.as_deref().is_none_or(|m| m == module)
        })
        .cloned()
}

/// Why `expires` is further from `from` than an override may last
/// ([`MAX_VALIDITY_DAYS`]), if it is. `from` is today when an override is
/// requested, approved or used, and the signing day for each approval: an
/// override is reviewed at least yearly, whatever its `expires` line says.
pub(crate) fn beyond_validity_cap(expires: Date, from: Date, what: &str) -> Option<String> {
    let days = (expires - from).whole_days();
    (days > MAX_VALIDITY_DAYS).then(|| {
        format!(
            "it is valid through {expires} (UTC), {days} days after {what} ({from}): an override lasts at most {MAX_VALIDITY_DAYS} days, so that it is reviewed at least yearly"
        )
    })
}

fn scope_problem(ovr: &Override, ctx: &OverrideContext<'_>) -> Option<String> {
    let in_policy_file = ctx.subject.module == "*";
    match &ovr.scope {
        Scope::Project if !in_policy_file => Some(format!(
            "scope `project` belongs in the project policy's `[[overrides]]`, not in module `{}`: use `--scope module` for this module alone",
            ctx.subject.module
        )),
        Scope::Module | Scope::Function(_) if in_policy_file => Some(format!(
            "scope `{}` in the project policy: only `project` overrides live there",
            ovr.scope
        )),
        Scope::Function(name) if !ctx.functions.iter().any(|f| f == name) => Some(format!(
            "scope `function:{name}` names a function that `logic.functions` does not list (it lists {})",
            if ctx.functions.is_empty() {
                "none".to_owned()
            } else {
                ctx.functions.join(", ")
            }
        )),
        _ => None,
    }
}

/// Whether `relaxation` exceeds the project maxima, and how.
pub fn beyond_maxima(relaxation: &Relaxation, project: &ProjectPolicy) -> Option<String> {
    let m = project.maxima();
    let origin = project.origin();
    match relaxation {
        Relaxation::MemoryUnsafe if !m.memory_unsafe => Some(format!(
            "`memory-unsafe` is wider than the project maxima: `{origin}` sets `memory-unsafe = false`"
        )),
        Relaxation::Threads if !m.threads => Some(format!(
            "`threads` is wider than the project maxima: `{origin}` does not set `threads = true`"
        )),
        Relaxation::AllowRead(p)
            if !Maxima::path_allowed(&m.read, p.as_str())
                && !Maxima::path_allowed(&m.write, p.as_str()) =>
        {
            Some(format!(
                "reading `{p}` is wider than the project maxima: `maxima.read` in `{origin}` allows {}",
                list(&m.read)
            ))
        }
        Relaxation::AllowWrite(p) if !Maxima::path_allowed(&m.write, p.as_str()) => Some(format!(
            "writing `{p}` is wider than the project maxima: `maxima.write` in `{origin}` allows {}",
            list(&m.write)
        )),
        Relaxation::AllowEnv(n) if !Maxima::name_allowed(&m.env, n.as_str()) => Some(format!(
            "environment variable `{n}` is wider than the project maxima: `maxima.env` in `{origin}` allows {}",
            list(&m.env)
        )),
        Relaxation::AllowNetwork(h) if !Maxima::name_allowed(&m.network, h) => Some(format!(
            "network host `{h}` is wider than the project maxima: `maxima.network` in `{origin}` allows {}",
            list(&m.network)
        )),
        Relaxation::RaiseBudget(budget, value)
            if m.budgets.get(budget).is_none_or(|max| value > max) =>
        {
            let max = m.budgets.get(budget).copied().unwrap_or(0);
            Some(format!(
                "raising the compile budget `{budget}` to {} is wider than the project maxima: `maxima.compile.{budget}` in `{origin}` is {}",
                budget.format_value(*value),
                budget.format_value(max)
            ))
        }
        Relaxation::Raise(limit, value) if *value > m.limits.get(*limit) => Some(format!(
            "raising `{limit}` to {} is wider than the project maxima: `maxima.{limit}` in `{origin}` is {}",
            show_limit(*limit, *value),
            show_limit(*limit, m.limits.get(*limit))
        )),
        _ => None,
    }
}

/// `nothing`, or the items in backticks, comma-separated.
pub(crate) fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn check_approval(ovr: &Override, approval: &Approval, ctx: &OverrideContext<'_>) -> ApprovalCheck {
    let mut c = ApprovalCheck {
        approver: approval.approver.clone(),
        role: approval.role.clone(),
        public_key: approval.public_key.clone(),
        profile: approval.profile,
        signed_at: approval.signed_at.clone(),
        counted: false,
        refusal: None,
        cedar_policies: Vec::new(),
        note: String::new(),
    };
    let who = format!(
        "approval by `{}` as `{}` ({})",
        approval.approver, approval.role, approval.signed_at
    );
    let ignore = |c: &mut ApprovalCheck, r: Refusal, why: String| {
        c.refusal = Some(r);
        c.note = format!("{who} ignored: {why}");
    };
    match record::verify(ovr, &ctx.subject.module, approval) {
        SignatureCheck::Valid => {}
        SignatureCheck::Missing => {
            ignore(&mut c, Refusal::Unsigned, "it carries no signature".into());
            return c;
        }
        SignatureCheck::Malformed(why) => {
            ignore(
                &mut c,
                Refusal::BadSignature,
                format!("its signature or key is malformed ({why})"),
            );
            return c;
        }
        SignatureCheck::Mismatch => {
            ignore(&mut c, Refusal::BadSignature, "its signature does not verify: forged, or the override or approval was altered after signing".into());
            return c;
        }
    }
    let trusted = approval
        .public_key
        .parse()
        .ok()
        .and_then(|k| ctx.project.approver_by_key(&k));
    let Some(trusted) = trusted else {
        ignore(
            &mut c,
            Refusal::UnknownKey,
            format!(
                "signed by `{}`, which is not a trusted approver's key in `{}`",
                approval.public_key,
                ctx.project.origin()
            ),
        );
        return c;
    };
    if trusted.name != approval.approver {
        ignore(
            &mut c,
            Refusal::UnknownKey,
            format!(
                "the key belongs to `{}` in `{}`, not to `{}`",
                trusted.name,
                ctx.project.origin(),
                approval.approver
            ),
        );
        return c;
    }
    if !trusted.roles.iter().any(|r| r == &approval.role) {
        ignore(
            &mut c,
            Refusal::UnknownRole,
            format!(
                "`{}` does not hold role `{}` (holds {})",
                trusted.name,
                approval.role,
                trusted.roles.join(", ")
            ),
        );
        return c;
    }
    let signed_on = record::parse_time(&approval.signed_at).map(OffsetDateTime::date);
    let cap = match signed_on {
        Ok(day) => beyond_validity_cap(ovr.expires, day, "it was signed"),
        Err(_) => Some(format!(
            "its signing time `{}` is not an RFC 3339 time",
            approval.signed_at
        )),
    };
    if let Some(why) = cap {
        ignore(&mut c, Refusal::Expired, why);
        return c;
    }
    let binding = ctx.subject.binding(&ovr.relaxes);
    if approval.subject_digest != binding {
        ignore(
            &mut c,
            Refusal::DigestMismatch,
            format!(
                "it binds {} but what it approves is now {binding}: the module's sources or artifact, or the security fields `{}` relaxes, changed since approval; approve again",
                approval.subject_digest, ovr.relaxes
            ),
        );
        return c;
    }
    if approval.profile < ctx.profile {
        ignore(
            &mut c,
            Refusal::ProfileMismatch,
            format!(
                "given for profile `{}`, weaker than `{}`",
                approval.profile, ctx.profile
            ),
        );
        return c;
    }
    let rules = ctx.project.profile(ctx.profile);
    if approval.approver == ovr.requested_by.as_str() && !rules.self_approval {
        ignore(
            &mut c,
            Refusal::SelfApproval,
            format!(
                "`{}` requested it and may not approve it in profile `{}`",
                approval.approver, ctx.profile
            ),
        );
        return c;
    }
    let target = target_of(&ovr.relaxes);
    let scope = ovr.scope.to_string();
    let authz = ctx.project.cedar().authorize(&ApproveRequest {
        approver: &trusted.name,
        approver_roles: &trusted.roles,
        role: &approval.role,
        override_id: ovr.id.as_str(),
        module: &ctx.subject.module,
        kind: ovr.relaxes.kind(),
        target: &target,
        scope: &scope,
        profile: ctx.profile.as_str(),
        requested_by: ovr.requested_by.as_str(),
    });
    c.cedar_policies.clone_from(&authz.policies);
    if !authz.allowed {
        let by = if authz.policies.is_empty() {
            "no Cedar rule permits it".to_owned()
        } else {
            format!("forbidden by Cedar rule(s) {}", authz.policies.join(", "))
        };
        ignore(
            &mut c,
            Refusal::Unauthorized,
            format!(
                "`{}` acting as `{}` may not approve `{}` in `{}`: {by}",
                trusted.name, approval.role, ovr.relaxes, ctx.profile
            ),
        );
        return c;
    }
    c.counted = true;
    c.note = format!(
        "{who}: signature valid, trusted key, bound to the current module content, permitted by Cedar rule(s) {}",
        authz.policies.join(", ")
    );
    c
}

/// Placeholder for the module argument of a project-scoped request, which
/// [`crate::resolve`] replaces with the module being resolved.
pub(crate) const ANY_MODULE: &str = "MODULE";

/// The `anrf override request` flag that asks for `relaxation`, exactly as the
/// command accepts it: `--allow-read data`, `--raise memory=256MiB`, `--threads`.
pub fn request_flag(relaxation: &Relaxation) -> String {
    match relaxation {
        Relaxation::MemoryUnsafe => "--memory-unsafe".into(),
        Relaxation::Threads => "--threads".into(),
        Relaxation::AllowRead(p) => format!("--allow-read {p}"),
        Relaxation::AllowWrite(p) => format!("--allow-write {p}"),
        Relaxation::AllowEnv(n) => format!("--allow-env {n}"),
        Relaxation::AllowNetwork(h) => format!("--allow-network {h}"),
        Relaxation::Raise(l, v) => format!("--raise {l}={}", show_limit(*l, *v)),
        Relaxation::RaiseBudget(b, v) => format!("--raise {b}={}", b.format_value(*v)),
    }
}

/// The exact `anrf override request` command that asks for `relaxation` at
/// `scope` for `module` (`*`: a project override, asked through any module of
/// the project).
pub(crate) fn request_command(module: &str, relaxation: &Relaxation, scope: &Scope) -> String {
    let module = if module == "*" { ANY_MODULE } else { module };
    let scope = match scope {
        Scope::Module => String::new(),
        other => format!(" --scope {other}"),
    };
    format!(
        "anrf override request {module} {}{scope} --justification \"...\"",
        request_flag(relaxation)
    )
}

/// A limit's value as people write it: `64MiB`, `5s`, `1000000000`.
pub(crate) fn show_limit(name: anrf_format::LimitName, value: u64) -> String {
    use anrf_format::{ByteSize, LimitName, Millis};
    match name {
        LimitName::Fuel => value.to_string(),
        LimitName::Timeout => {
            Millis::new(value).map_or_else(|| value.to_string(), |m| m.to_string())
        }
        _ => ByteSize::new(value).map_or_else(|| value.to_string(), |b| b.to_string()),
    }
}

/// The `target` attribute Cedar sees: the path, name, host or `limit=value`.
pub(crate) fn target_of(r: &Relaxation) -> String {
    match r {
        Relaxation::MemoryUnsafe | Relaxation::Threads => String::new(),
        Relaxation::AllowRead(p) | Relaxation::AllowWrite(p) => p.as_str().to_owned(),
        Relaxation::AllowEnv(n) => n.as_str().to_owned(),
        Relaxation::AllowNetwork(h) => h.clone(),
        Relaxation::Raise(l, v) => format!("{l}={v}"),
        Relaxation::RaiseBudget(b, v) => format!("{b}={v}"),
    }
}
