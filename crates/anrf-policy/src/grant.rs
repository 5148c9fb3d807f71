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

#[cfg(test)]
mod tests {
    use super::*;

    const WHY: &str = "reads the shipped stop-word list from data to filter common words";

    fn read(host: &str) -> CliGrant {
        CliGrant::Read {
            host: host.into(),
            guest: None,
        }
    }

    fn write(host: &str) -> CliGrant {
        CliGrant::Write {
            host: host.into(),
            guest: None,
        }
    }

    fn project(extra: &str) -> ProjectPolicy {
        ProjectPolicy::parse(&format!("version = 1\n{extra}"), "anrf-policy.toml").unwrap()
    }

    /// Maxima: read `data`, write `out`.
    fn data_and_out() -> ProjectPolicy {
        project("[maxima]\nread = [\"data\"]\nwrite = [\"out\"]\n")
    }

    /// The module at `/p/wordcount` in the project `/p`, run from `working_dir`.
    fn anchor(working_dir: &str) -> HostAnchor {
        HostAnchor {
            working_dir: PathBuf::from(working_dir),
            module_dir: PathBuf::from("/p/wordcount"),
            project_root: PathBuf::from("/p"),
            resolve_links: None,
        }
    }

    fn dev(project: &ProjectPolicy, grant: CliGrant) -> GrantDecision {
        decide(project, Profile::Dev, grant, Some(WHY))
    }

    fn decide(
        project: &ProjectPolicy,
        profile: Profile,
        grant: CliGrant,
        why: Option<&str>,
    ) -> GrantDecision {
        let mut all = check_cli_grants(project, profile, &[grant], why, "alice", "wordcount");
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn rel(p: &str) -> RelPath {
        RelPath::new(p).unwrap()
    }

    #[test]
    fn write_grant_gives_a_read_write_directory_and_read_a_read_only_one() {
        assert_eq!(
            write("out/").dir(),
            Some(EffectiveDir {
                guest: "/out".into(),
                host: "out".into(),
                base: HostBase::WorkingDir,
                access: Access::ReadWrite,
            })
        );
        assert_eq!(
            read("./data").dir(),
            Some(EffectiveDir {
                guest: "/data".into(),
                host: "./data".into(),
                base: HostBase::WorkingDir,
                access: Access::ReadOnly,
            })
        );
        let abs = read("/srv/words/").dir().unwrap();
        assert_eq!(
            (abs.guest.as_str(), abs.host.as_str()),
            ("/srv/words", "/srv/words")
        );
        let root = read("/").dir().unwrap();
        assert_eq!((root.guest.as_str(), root.host.as_str()), ("/", "/"));
        let named = CliGrant::Write {
            host: "out".into(),
            guest: Some("/results".into()),
        };
        assert_eq!(named.dir().unwrap().guest, "/results");
        assert_eq!(CliGrant::raise("memory=128MiB").unwrap().dir(), None);
    }

    #[test]
    fn grants_become_the_relaxation_of_their_kind() {
        assert_eq!(
            read("data/").relaxation(),
            Some(Relaxation::AllowRead(rel("data")))
        );
        assert_eq!(
            write("out").relaxation(),
            Some(Relaxation::AllowWrite(rel("out")))
        );
        // An absolute directory is not something an override can name.
        assert_eq!(read("/srv/words").relaxation(), None);
        let raise = CliGrant::raise("memory=128MiB").unwrap();
        assert_eq!(
            raise.relaxation(),
            Some("raise:memory=128MiB".parse::<Relaxation>().unwrap())
        );
        assert_eq!(raise.kind(), "raise");
        assert!(CliGrant::raise("memory").is_err());
    }

    #[test]
    fn anchored_write_grant_is_made_relative_to_the_module() {
        let p = data_and_out().anchored(anchor("/p/wordcount/src"));
        let d = dev(&p, write("../out"));
        assert_eq!(d.verdict, Verdict::Granted, "{:?}", d.reasons);
        assert_eq!(d.relaxation, Some(Relaxation::AllowWrite(rel("out"))));
        assert_eq!(d.host_path.as_deref(), Some("/p/wordcount/out"));
        let dir = d.dir.unwrap();
        assert_eq!(
            (dir.guest.as_str(), dir.access),
            ("/out", Access::ReadWrite)
        );

        let d = dev(&p, read("../data"));
        assert_eq!(d.verdict, Verdict::Granted, "{:?}", d.reasons);
        assert_eq!(d.relaxation, Some(Relaxation::AllowRead(rel("data"))));
        assert_eq!(d.dir.unwrap().guest, "/data");
    }

    #[test]
    fn anchored_grant_keeps_an_explicit_guest_path() {
        let p = data_and_out().anchored(anchor("/p/wordcount"));
        let d = dev(
            &p,
            CliGrant::Read {
                host: "data".into(),
                guest: Some("/stopwords".into()),
            },
        );
        assert_eq!(d.verdict, Verdict::Granted, "{:?}", d.reasons);
        assert_eq!(d.dir.unwrap().guest, "/stopwords");
    }

    #[test]
    fn write_grant_is_checked_against_the_write_maxima_only() {
        let p = data_and_out().anchored(anchor("/p/wordcount"));
        let d = dev(&p, write("data"));
        assert_eq!(d.verdict, Verdict::Refused);
        assert!(d.reasons[0].contains("maxima.write"), "{:?}", d.reasons);
        // What may be written may be read.
        assert_eq!(dev(&p, read("out")).verdict, Verdict::Granted);
        assert_eq!(dev(&p, read("secrets")).verdict, Verdict::Refused);
        // Unanchored, the same holds on the paths as given.
        let p = data_and_out();
        assert_eq!(dev(&p, write("data")).verdict, Verdict::Refused);
        assert_eq!(dev(&p, write("out")).verdict, Verdict::Granted);
    }

    #[test]
    fn star_covers_only_directories_inside_the_project() {
        let p =
            project("[maxima]\nread = [\"*\"]\nwrite = [\"*\"]\n").anchored(anchor("/p/wordcount"));
        assert_eq!(dev(&p, read("../shared")).verdict, Verdict::Granted);
        let d = dev(&p, read("/etc"));
        assert_eq!(d.verdict, Verdict::Refused);
        assert!(
            d.reasons[0].contains("outside the project maxima"),
            "{:?}",
            d.reasons
        );
        assert_eq!(dev(&p, write("../../tmp")).verdict, Verdict::Refused);
    }

    #[test]
    fn filesystem_root_is_never_granted() {
        let p = project("[maxima]\nread = [\"*\"]\nwrite = [\"*\"]\n");
        for grant in [read("/"), write("/"), read("/.."), write("/tmp/..")] {
            let d = dev(&p, grant);
            assert_eq!(d.verdict, Verdict::Refused);
            assert!(d.reasons[0].contains("filesystem root"), "{:?}", d.reasons);
        }
        let p = p.anchored(anchor("/p"));
        let d = dev(&p, read("../.."));
        assert_eq!(d.verdict, Verdict::Refused);
        assert!(d.reasons[0].contains("filesystem root"), "{:?}", d.reasons);
    }

    #[test]
    fn grants_outside_dev_are_refused_with_the_override_to_request() {
        let p = data_and_out();
        for profile in [Profile::Test, Profile::Prod] {
            let d = decide(&p, profile, read("data"), Some(WHY));
            assert_eq!(d.verdict, Verdict::Refused, "{profile}");
            let fix = d.fix.unwrap();
            assert!(
                fix.starts_with("anrf override request wordcount --allow-read data"),
                "{fix}"
            );
        }
    }

    #[test]
    fn grant_for_a_bare_file_is_told_to_make_it_a_module() {
        let p = data_and_out();
        let d = check_cli_grants(
            &p,
            Profile::Test,
            &[read("data")],
            Some(WHY),
            "alice",
            "<m.wasm>",
        )
        .remove(0);
        assert!(d.fix.unwrap().starts_with("make it a module"));
        // A directory outside the module cannot be named by an override.
        let d = decide(
            &p.anchored(anchor("/p")),
            Profile::Test,
            read("shared"),
            Some(WHY),
        );
        assert_eq!(d.relaxation, None);
        assert!(
            d.fix
                .unwrap()
                .starts_with("overrides name directories inside the module")
        );
    }

    #[test]
    fn grant_needs_a_real_justification() {
        let p = data_and_out();
        let d = decide(&p, Profile::Dev, read("data"), None);
        assert_eq!(d.verdict, Verdict::Refused);
        assert!(
            d.reasons[0].contains("no `--justification`"),
            "{:?}",
            d.reasons
        );
        assert_eq!(
            decide(&p, Profile::Dev, read("data"), Some("x")).verdict,
            Verdict::Refused
        );
        let d = dev(&p, read("data"));
        assert_eq!(d.verdict, Verdict::Granted);
        assert!(
            d.reasons[0].contains("self-approved by `alice`"),
            "{:?}",
            d.reasons
        );
    }

    #[test]
    fn dev_rules_requiring_approvers_for_a_kind_refuse_that_kind_only() {
        let p = project(
            "[maxima]\nread = [\"data\"]\nwrite = [\"out\"]\n[profiles.dev]\nmin_approvers = { default = 0, allow-write = 1 }\n",
        );
        let d = dev(&p, write("out"));
        assert_eq!(d.verdict, Verdict::Refused);
        assert!(
            d.reasons[0].contains("needs 1 approver(s) for `allow-write`"),
            "{:?}",
            d.reasons
        );
        assert_eq!(dev(&p, read("data")).verdict, Verdict::Granted);
    }

    #[test]
    fn dev_without_self_approval_refuses_every_grant() {
        let p = project("[maxima]\nread = [\"data\"]\n[profiles.dev]\nself_approval = false\n");
        let d = dev(&p, read("data"));
        assert_eq!(d.verdict, Verdict::Refused);
        assert!(
            d.reasons[0].contains("forbids self-approval"),
            "{:?}",
            d.reasons
        );
    }

    #[test]
    fn raise_grant_is_checked_against_the_maxima() {
        let p = project("[maxima]\nmemory = \"256MiB\"\n");
        assert_eq!(
            dev(&p, CliGrant::raise("memory=128MiB").unwrap()).verdict,
            Verdict::Granted
        );
        assert_eq!(
            dev(&p, CliGrant::raise("memory=1GiB").unwrap()).verdict,
            Verdict::Refused
        );
    }

    #[test]
    fn refusals_name_the_flag_that_asked() {
        let env = CliGrant::Env {
            name: anrf_format::EnvName::new("GREETING").unwrap(),
        };
        for (grant, flag) in [
            (read("data"), "--allow-read data"),
            (write("out"), "--allow-write out"),
            (env, "--allow-env GREETING"),
            (CliGrant::raise("fuel=5000").unwrap(), "--raise fuel=5000"),
        ] {
            assert_eq!(grant.flag(), flag);
            let d = decide(&data_and_out(), Profile::Test, grant.clone(), Some(WHY));
            assert!(
                d.reasons[0].starts_with(&format!("`{flag}` refused:")),
                "{:?}",
                d.reasons
            );
            let d = decide(&data_and_out(), Profile::Dev, grant, None);
            assert!(d.fix.unwrap().contains(&format!("to `{flag}`")));
        }
    }

    #[test]
    fn normalize_resolves_dots_lexically_and_never_above_the_root() {
        for (input, want) in [
            ("/p/wordcount/../data/./x", "/p/data/x"),
            ("/..", "/"),
            ("/a/../..", "/"),
            ("a/b/..", "a"),
            ("a/..", ""),
            ("../x", "../x"),
            ("a/../../x", "../x"),
            ("./a", "a"),
        ] {
            assert_eq!(normalize(Path::new(input)), PathBuf::from(want), "{input}");
        }
    }
}
