//! Grants given on the command line of `anrf run` (`--allow-read DIR`,
//! `--allow-write DIR`, `--allow-env NAME`, `--raise LIMIT=VALUE`) with
//! `--justification`. They are a `dev` convenience: accepted in `dev` with a real
//! justification (self-approved, and the caller records them in the audit log),
//! refused in `test` and `prod`, where the way to ask is `anrf override request`.

use anrf_format::{Access, EnvName, Justification, LimitName, Profile, RelPath, Relaxation};
use serde::Serialize;

use crate::check::{Verdict, beyond_maxima};
use crate::project::ProjectPolicy;
use crate::resolve::{EffectiveDir, HostBase};

/// One grant from the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CliGrant {
    /// `--allow-read DIR`: a directory, relative to the working directory or absolute.
    Read { host: String, guest: Option<String> },
    /// `--allow-write DIR`.
    Write { host: String, guest: Option<String> },
    /// `--allow-env NAME`.
    Env { name: EnvName },
    /// `--raise LIMIT=VALUE`.
    Raise { limit: LimitName, value: u64 },
}

impl CliGrant {
    /// Parses `--raise LIMIT=VALUE`.
    pub fn raise(spec: &str) -> Result<Self, String> {
        match format!("raise:{spec}").parse::<Relaxation>() {
            Ok(Relaxation::Raise(limit, value)) => Ok(CliGrant::Raise { limit, value }),
            Ok(_) => Err(format!("`{spec}` is not `LIMIT=VALUE`")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// As an override relaxation, when it can be written as one (absolute
    /// directories cannot: overrides name paths inside a module).
    pub fn relaxation(&self) -> Option<Relaxation> {
        match self {
            CliGrant::Read { host, .. } => RelPath::new(host.trim_end_matches('/'))
                .ok()
                .map(Relaxation::AllowRead),
            CliGrant::Write { host, .. } => RelPath::new(host.trim_end_matches('/'))
                .ok()
                .map(Relaxation::AllowWrite),
            CliGrant::Env { name } => Some(Relaxation::AllowEnv(name.clone())),
            CliGrant::Raise { limit, value } => Some(Relaxation::Raise(*limit, *value)),
        }
    }

    /// The directory it grants: the guest path defaults to the host path when
    /// absolute, else `/` followed by it (`data/` -> `/data`).
    pub fn dir(&self) -> Option<EffectiveDir> {
        let (host, guest, access) = match self {
            CliGrant::Read { host, guest } => (host, guest, Access::ReadOnly),
            CliGrant::Write { host, guest } => (host, guest, Access::ReadWrite),
            _ => return None,
        };
        let trimmed = host.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let guest = guest.clone().unwrap_or_else(|| {
            if trimmed.starts_with('/') {
                trimmed.to_owned()
            } else {
                format!("/{}", trimmed.trim_start_matches("./"))
            }
        });
        Some(EffectiveDir {
            guest,
            host: trimmed.to_owned(),
            base: HostBase::WorkingDir,
            access,
        })
    }

    /// The flag that asks for it, e.g. `--allow-read data`.
    pub fn flag(&self) -> String {
        match self {
            CliGrant::Read { host, .. } => format!("--allow-read {host}"),
            CliGrant::Write { host, .. } => format!("--allow-write {host}"),
            CliGrant::Env { name } => format!("--allow-env {name}"),
            CliGrant::Raise { limit, value } => format!("--raise {limit}={value}"),
        }
    }
}

/// The decision on one command-line grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantDecision {
    pub grant: CliGrant,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The command that asks for it properly, when refused.
    pub fix: Option<String>,
}

/// Decides command-line grants for `module` (its name, or how a bare file is shown).
pub fn check_cli_grants(
    project: &ProjectPolicy,
    profile: Profile,
    grants: &[CliGrant],
    justification: Option<&str>,
    user: &str,
    module: &str,
) -> Vec<GrantDecision> {
    let rules = project.profile(profile);
    grants
        .iter()
        .map(|grant| {
            let request = if module.starts_with('<') {
                format!(
                    "make it a module (`anrf init`), then `anrf override request MODULE {} --justification \"...\"` and `anrf override approve ID --key KEY --profile {profile}`",
                    grant.flag()
                )
            } else {
                format!(
                    "anrf override request {module} {} --justification \"...\", then `anrf override approve ID --key KEY --profile {profile}`",
                    grant.flag()
                )
            };
            let refuse = |why: String, fix: Option<String>| GrantDecision {
                grant: grant.clone(),
                verdict: Verdict::Refused,
                reasons: vec![format!("`{}` refused: {why}", grant.flag())],
                fix,
            };
            if profile != Profile::Dev {
                return refuse(
                    format!("command-line grants are only honoured in `dev`; in `{profile}` a relaxation needs an approved override"),
                    Some(request),
                );
            }
            if !rules.self_approval {
                return refuse(
                    format!("`{}` forbids self-approval in `dev`, so a command-line grant cannot approve itself", project.origin()),
                    Some(request),
                );
            }
            let Some(text) = justification else {
                return refuse(
                    "no `--justification`: say why the module needs it".into(),
                    Some(format!("add --justification \"what it needs and why\" to `{}`", grant.flag())),
                );
            };
            if let Err(e) = Justification::new(text) {
                return refuse(e.to_string(), Some("give a real --justification: what the module needs, and why".into()));
            }
            let beyond = match (grant, grant.relaxation()) {
                (_, Some(r)) => beyond_maxima(&r, project),
                (CliGrant::Read { host, .. } | CliGrant::Write { host, .. }, None) => {
                    let m = project.maxima();
                    let list = if matches!(grant, CliGrant::Read { .. }) { &m.read } else { &m.write };
                    (!list.iter().any(|p| p == "*")).then(|| {
                        format!("`{host}` is outside the project maxima (`maxima.{}` in `{}`)", if matches!(grant, CliGrant::Read { .. }) { "read" } else { "write" }, project.origin())
                    })
                }
                _ => None,
            };
            if let Some(why) = beyond {
                return refuse(why, None);
            }
            GrantDecision {
                grant: grant.clone(),
                verdict: Verdict::Granted,
                reasons: vec![format!(
                    "`{}` granted on the command line in `dev`, self-approved by `{user}` (audited): \"{text}\"",
                    grant.flag()
                )],
                fix: None,
            }
        })
        .collect()
}
