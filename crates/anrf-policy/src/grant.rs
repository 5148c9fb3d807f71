//! Grants given on the command line of `anrf run` (`--allow-read DIR`,
//! `--allow-write DIR`, `--allow-env NAME`, `--raise LIMIT=VALUE`) with
//! `--justification`. They are a `dev` convenience: accepted in `dev` with a real
//! justification (self-approved, and the caller records them in the audit log),
//! refused in `test` and `prod`, where the way to ask is `anrf override request`.
//! Even in `dev` a grant is refused when the profile's rules require approvers
//! for its kind, and a directory must lie within the project maxima, compared on
//! absolute host paths when the policy is anchored ([`crate::HostAnchor`]); the
//! filesystem root is never granted.

use std::path::{Component, Path, PathBuf};

use anrf_format::{
    Access, BudgetName, EnvName, Justification, LimitName, Profile, RelPath, Relaxation,
};
use serde::Serialize;

use crate::check::{Verdict, beyond_maxima, request_flag};
use crate::project::{HostAnchor, Maxima, ProjectPolicy};
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
    /// `--raise BUDGET=VALUE`: a compile budget.
    RaiseBudget { budget: BudgetName, value: u64 },
}

impl CliGrant {
    /// Parses `--raise LIMIT=VALUE` (a limit or a compile budget).
    pub fn raise(spec: &str) -> Result<Self, String> {
        match format!("raise:{spec}").parse::<Relaxation>() {
            Ok(Relaxation::Raise(limit, value)) => Ok(CliGrant::Raise { limit, value }),
            Ok(Relaxation::RaiseBudget(budget, value)) => {
                Ok(CliGrant::RaiseBudget { budget, value })
            }
            Ok(_) => Err(format!("`{spec}` is not `LIMIT=VALUE`")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// As an override relaxation, when it can be written as one (absolute
    /// directories cannot: overrides name paths inside a module). This reads a
    /// relative directory as relative to the module; [`GrantDecision::relaxation`]
    /// is the same resolved against the policy's anchor.
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
            CliGrant::RaiseBudget { budget, value } => {
                Some(Relaxation::RaiseBudget(*budget, *value))
            }
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

    /// The relaxation kind, as `min_approvers` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            CliGrant::Read { .. } => "allow-read",
            CliGrant::Write { .. } => "allow-write",
            CliGrant::Env { .. } => "allow-env",
            CliGrant::Raise { .. } | CliGrant::RaiseBudget { .. } => "raise",
        }
    }

    /// The flag that asks for it, e.g. `--allow-read data`.
    pub fn flag(&self) -> String {
        match self {
            CliGrant::Read { host, .. } => format!("--allow-read {host}"),
            CliGrant::Write { host, .. } => format!("--allow-write {host}"),
            CliGrant::Env { name } => format!("--allow-env {name}"),
            CliGrant::Raise { limit, value } => format!("--raise {limit}={value}"),
            CliGrant::RaiseBudget { budget, value } => format!("--raise {budget}={value}"),
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
    /// What it relaxes, with a directory made relative to the module (when the
    /// policy is anchored and the directory lies inside the module); `None` for a
    /// directory outside the module, which no override can name.
    pub relaxation: Option<Relaxation>,
    /// The directory it grants, for directory grants.
    pub dir: Option<EffectiveDir>,
    /// The absolute host directory it was checked as, when anchored.
    pub host_path: Option<String>,
}

/// A directory grant located against the anchor.
struct Located {
    /// The normalized absolute host path, when known.
    absolute: Option<PathBuf>,
    /// The path relative to the module, when it lies inside it (or, unanchored,
    /// when it was given relative).
    module_rel: Option<RelPath>,
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
            let located = match grant {
                CliGrant::Read { host, .. } | CliGrant::Write { host, .. } => {
                    Some(locate(host, project.anchor()))
                }
                _ => None,
            };
            let relaxation = match (grant, &located) {
                (CliGrant::Read { .. }, Some(l)) => l.module_rel.clone().map(Relaxation::AllowRead),
                (CliGrant::Write { .. }, Some(l)) => l.module_rel.clone().map(Relaxation::AllowWrite),
                _ => grant.relaxation(),
            };
            let dir = grant.dir().map(|mut d| {
                if let (None, Some(rel)) = (grant_guest(grant), located.as_ref().and_then(|l| l.module_rel.as_ref())) {
                    d.guest = format!("/{rel}");
                }
                d
            });
            let host_path = located
                .as_ref()
                .and_then(|l| l.absolute.as_ref())
                .map(|p| p.display().to_string());
            let flag = relaxation.as_ref().map_or_else(|| grant.flag(), request_flag);
            let request = match &relaxation {
                _ if module.starts_with('<') => format!(
                    "make it a module (`anrf init`), then `anrf override request MODULE {flag} --justification \"...\"` and `anrf override approve ID --key KEY --profile {profile}`"
                ),
                Some(_) => format!(
                    "anrf override request {module} {flag} --justification \"...\", then `anrf override approve ID --key KEY --profile {profile}`"
                ),
                None => format!(
                    "overrides name directories inside the module: put what `{module}` needs under its directory, then `anrf override request {module} --allow-read DIR --justification \"...\"`"
                ),
            };
            let decision = |verdict, reasons, fix| GrantDecision {
                grant: grant.clone(),
                verdict,
                reasons,
                fix,
                relaxation: relaxation.clone(),
                dir: dir.clone(),
                host_path: host_path.clone(),
            };
            let refuse = |why: String, fix: Option<String>| {
                decision(Verdict::Refused, vec![format!("`{}` refused: {why}", grant.flag())], fix)
            };
            if profile != Profile::Dev {
                return refuse(
                    format!("command-line grants are only honoured in `dev`; in `{profile}` a relaxation needs an approved override"),
                    Some(request),
                );
            }
            let need = rules.required(grant.kind());
            if need > 0 {
                return refuse(
                    format!(
                        "profile `dev` in `{}` needs {need} approver(s) for `{}` (`[profiles.dev] min_approvers`), and a command-line grant is only self-approved",
                        project.origin(),
                        grant.kind()
                    ),
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
            let beyond = match (grant, &located) {
                (CliGrant::Read { host, .. } | CliGrant::Write { host, .. }, Some(l)) => {
                    dir_beyond_maxima(grant, host, l, project)
                }
                _ => relaxation.as_ref().and_then(|r| beyond_maxima(r, project)),
            };
            if let Some(why) = beyond {
                return refuse(why, None);
            }
            decision(
                Verdict::Granted,
                vec![format!(
                    "`{}` granted on the command line in `dev`, self-approved by `{user}` (audited): \"{text}\"",
                    grant.flag()
                )],
                None,
            )
        })
        .collect()
}

fn grant_guest(grant: &CliGrant) -> Option<&String> {
    match grant {
        CliGrant::Read { guest, .. } | CliGrant::Write { guest, .. } => guest.as_ref(),
        _ => None,
    }
}

/// Resolves a command-line directory against the anchor, lexically.
fn locate(host: &str, anchor: Option<&HostAnchor>) -> Located {
    let given = Path::new(host);
    match anchor {
        Some(a) => {
            let lexical = normalize(&a.working_dir.join(given));
            let absolute = a
                .resolve_links
                .and_then(|resolve| resolve(&lexical))
                .map_or(lexical, |p| normalize(&p));
            let module_dir = normalize(&a.module_dir);
            let module_rel = absolute
                .strip_prefix(&module_dir)
                .ok()
                .and_then(|rel| rel.to_str())
                .filter(|rel| !rel.is_empty())
                .and_then(|rel| RelPath::new(rel).ok());
            Located {
                absolute: Some(absolute),
                module_rel,
            }
        }
        None if given.is_absolute() => Located {
            absolute: Some(normalize(given)),
            module_rel: None,
        },
        None => Located {
            absolute: None,
            module_rel: RelPath::new(host.trim_end_matches('/')).ok(),
        },
    }
}

/// Whether a directory grant exceeds the maxima (or is the filesystem root).
fn dir_beyond_maxima(
    grant: &CliGrant,
    host: &str,
    located: &Located,
    project: &ProjectPolicy,
) -> Option<String> {
    let is_root = located
        .absolute
        .as_ref()
        .is_some_and(|p| p.parent().is_none());
    if is_root {
        return Some(format!(
            "`{host}` is the filesystem root, which is never granted: name the one directory the module needs"
        ));
    }
    let m = project.maxima();
    let (field, patterns): (&str, Vec<String>) = match grant {
        CliGrant::Read { .. } => ("read", m.read.iter().chain(&m.write).cloned().collect()),
        _ => ("write", m.write.clone()),
    };
    let anchor = project.anchor();
    let covered = patterns.iter().any(|p| {
        if p == "*" {
            match (anchor, &located.absolute) {
                (Some(a), Some(abs)) => abs.starts_with(normalize(&a.project_root)),
                _ => true,
            }
        } else {
            located
                .module_rel
                .as_ref()
                .is_some_and(|rel| Maxima::path_allowed(std::slice::from_ref(p), rel.as_str()))
        }
    });
    if covered {
        return None;
    }
    let list = crate::check::list(&patterns);
    let at = located
        .absolute
        .as_ref()
        .map_or_else(String::new, |p| format!(" (`{}`)", p.display()));
    let frame = anchor.map_or_else(String::new, |a| {
        format!(
            ", relative to the module `{}`; `*` covers only directories inside the project `{}`",
            normalize(&a.module_dir).display(),
            normalize(&a.project_root).display()
        )
    });
    Some(format!(
        "`{host}`{at} is outside the project maxima: `maxima.{field}` in `{}` allows {list}{frame}",
        project.origin()
    ))
}

/// Lexical normalization: drops `.`, resolves `..` (never above the root).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
