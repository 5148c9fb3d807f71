//! The effective policy of one run: built-in defaults, narrowed by the manifest and
//! the project maxima, widened only by overrides (and, in `dev`, command-line
//! grants) that are valid now. Pure and deterministic: the same input gives the
//! same [`Resolution`], and every granted or refused item says why.

use anrf_format::{
    Access, BudgetName, ContentDigest, EnvName, Isolation, LimitName, Limits, Manifest,
    MemorySafety, Profile, Relaxation,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::check::{
    ANY_MODULE, OverrideContext, OverrideDecision, RevocationNotice, Verdict, check_override,
    show_limit,
};
use crate::grant::{CliGrant, GrantDecision, check_cli_grants, normalize};
use crate::project::{Maxima, ProjectPolicy};
use crate::record::Subject;

/// Said wherever a network host is decided: an override can be approved (and
/// `anrf verify` honours it), but the v1 runtime has no sockets.
pub const NO_SOCKETS: &str = "the v1 runtime provides no sockets: even with a granted override `anrf run` refuses network access; remove the host from `[security.capabilities] network` to run the module now";

/// Everything a resolution depends on. Nothing else is read.
#[derive(Debug, Clone)]
pub struct ResolveInput<'a> {
    pub project: &'a ProjectPolicy,
    pub profile: Profile,
    pub now: OffsetDateTime,
    /// The module and its current code digest; `None` for a bare `.wasm`/`.wat`.
    pub module: Option<ModuleInput<'a>>,
    /// Grants given on the command line (`--allow-read DIR` ...).
    pub cli_grants: &'a [CliGrant],
    /// The justification given with the command-line grants.
    pub cli_justification: Option<&'a str>,
    /// Who runs the command (for command-line grants, self-approved in `dev`).
    pub user: &'a str,
    /// Revocations recorded outside the manifest.
    pub revocations: &'a [RevocationNotice],
}

/// A module as resolution sees it.
#[derive(Debug, Clone, Copy)]
pub struct ModuleInput<'a> {
    pub manifest: &'a Manifest,
    /// `Module::code_digest()` of the module as it is now.
    pub code_digest: &'a ContentDigest,
}

/// Where a granted directory's host path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostBase {
    /// The module directory (directories declared in the manifest).
    ModuleDir,
    /// The current directory, or absolute (directories granted on the command line).
    WorkingDir,
}

/// One directory the run may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveDir {
    pub guest: String,
    pub host: String,
    pub base: HostBase,
    pub access: Access,
}

/// What the sandbox gets: convert it into the runtime's run policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    pub limits: Limits,
    /// The basis of memory safety: `sandbox-only` only with a granted override.
    pub memory_safety: MemorySafety,
    pub isolation: Isolation,
    pub dirs: Vec<EffectiveDir>,
    pub env: Vec<EnvName>,
    pub clock: bool,
    pub random: bool,
    /// Granted hosts (the v1 runtime provides no sockets and refuses them).
    pub network: Vec<String>,
    pub threads: bool,
    /// Compile budgets raised by a granted `raise:BUDGET=VALUE` override, each
    /// to its value; every other budget keeps the runtime's default.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<BudgetName, u64>,
}

/// One thing the run asked for, granted or refused, with the chain of reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// What, e.g. `limit memory = 268435456`, `dir /data -> data (read-only)`.
    pub subject: String,
    pub verdict: Verdict,
    /// Overrides (or `cli`) that granted it.
    pub via: Vec<String>,
    pub reasons: Vec<String>,
    /// The command or manifest line that would allow it, when refused.
    pub fix: Option<String>,
}

/// The outcome of resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub profile: Profile,
    pub policy: String,
    pub policy_digest: ContentDigest,
    pub effective: EffectivePolicy,
    pub items: Vec<Item>,
    pub overrides: Vec<OverrideDecision>,
    pub cli_grants: Vec<GrantDecision>,
}

impl Resolution {
    /// Items the run asked for and did not get. A run should not start while any
    /// remain: the module would meet a sandbox other than the one it declares.
    pub fn refused(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.verdict == Verdict::Refused)
    }

    /// Whether everything asked for was granted.
    pub fn is_complete(&self) -> bool {
        self.refused().next().is_none()
    }

    /// The granted override that covers a finding of relaxation `kind` (e.g.
    /// `memory-unsafe`) located in `function` (if known), for the verifier's
    /// suppressions. Module- and project-scoped overrides cover every function;
    /// `function:NAME` only that one.
    pub fn suppression(&self, kind: &str, function: Option<&str>) -> Option<&OverrideDecision> {
        self.overrides.iter().find(|d| {
            d.is_granted()
                && d.kind == kind
                && match d.scope.strip_prefix("function:") {
                    Some(name) => function == Some(name),
                    None => true,
                }
        })
    }

    /// A human report: one line per item and override, reasons indented.
    pub fn explain(&self) -> String {
        let mut out = format!(
            "profile `{}`, policy `{}` ({})\n",
            self.profile, self.policy, self.policy_digest
        );
        for item in &self.items {
            let mark = if item.verdict == Verdict::Granted {
                "granted"
            } else {
                "REFUSED"
            };
            let _ = writeln!(out, "{mark:8} {}", item.subject);
            for r in &item.reasons {
                let _ = writeln!(out, "         - {r}");
            }
            if let Some(fix) = &item.fix {
                let _ = writeln!(out, "         to allow: {fix}");
            }
        }
        for d in &self.overrides {
            let mark = if d.is_granted() { "granted" } else { "REFUSED" };
            let _ = writeln!(out, "{mark:8} override {} ({})", d.id, d.relaxes);
            for r in &d.reasons {
                let _ = writeln!(out, "         - {r}");
            }
            if let Some(fix) = &d.fix {
                let _ = writeln!(out, "         to allow: {fix}");
            }
        }
        out
    }
}

/// Where a grant came from, while resolving.
struct Source<'d> {
    label: String,
    relaxation: Relaxation,
    module_wide: bool,
    reason: String,
    _decision: Option<&'d OverrideDecision>,
}

/// Whether an override relaxing `relaxes` concerns the module `manifest`
/// describes: it declares the directory (or one beneath it), the variable or
/// the host, the `sandbox-only` basis, or a limit above the default. `None`
/// when only the compiled module tells (`threads`, a compile budget). A
/// project override that does not apply grants nothing to the module and,
/// refused, blocks nothing of it.
pub fn applies_to(relaxes: &Relaxation, manifest: &Manifest) -> Option<bool> {
    let security = &manifest.security;
    let caps = &security.capabilities;
    Some(match relaxes {
        Relaxation::AllowRead(dir) | Relaxation::AllowWrite(dir) => caps
            .dirs
            .iter()
            .any(|d| anrf_format::path_within(d.host.as_str(), dir.as_str())),
        Relaxation::AllowEnv(name) => caps.env.contains(name),
        Relaxation::AllowNetwork(host) => caps.network.contains(host),
        Relaxation::MemoryUnsafe => security.memory_safety == MemorySafety::SandboxOnly,
        Relaxation::Raise(limit, _) => security.limits.get(*limit) > Limits::DEFAULT.get(*limit),
        Relaxation::Threads | Relaxation::RaiseBudget(..) => return None,
    })
}

/// Resolves the effective policy of one run.
pub fn resolve(input: &ResolveInput<'_>) -> Resolution {
    let project = input.project;
    let maxima = project.maxima();
    let module_name = input.module.map_or_else(
        || "<bare wasm>".to_owned(),
        |m| m.manifest.module.name.as_str().to_owned(),
    );

    // 1. Decide every override: the module's and the project's.
    let mut overrides = Vec::new();
    if let Some(m) = input.module {
        let subject = Subject::module(&module_name, m.code_digest.clone(), &m.manifest.security);
        let ctx = OverrideContext {
            project,
            profile: input.profile,
            now: input.now,
            subject: &subject,
            functions: &m.manifest.logic.functions,
            revocations: input.revocations,
        };
        overrides.extend(
            m.manifest
                .security
                .overrides
                .iter()
                .map(|o| check_override(o, &ctx)),
        );
    }
    let project_subject = Subject::project();
    let project_ctx = OverrideContext {
        project,
        profile: input.profile,
        now: input.now,
        subject: &project_subject,
        functions: &[],
        revocations: input.revocations,
    };
    // A project override is asked for through any module of the project: name
    // the one being resolved in the fix.
    let placeholder = format!("anrf override request {ANY_MODULE} ");
    overrides.extend(project.overrides().iter().map(|o| {
        let mut d = check_override(o, &project_ctx);
        if input.module.is_some() {
            d.fix = d.fix.map(|f| {
                f.replace(
                    &placeholder,
                    &format!("anrf override request {module_name} "),
                )
            });
        }
        d
    }));

    // 2. Command-line grants.
    let cli_grants = check_cli_grants(
        project,
        input.profile,
        input.cli_grants,
        input.cli_justification,
        input.user,
        &module_name,
    );

    let mut sources: Vec<Source<'_>> = Vec::new();
    for d in overrides.iter().filter(|d| d.is_granted()) {
        if let Ok(relaxation) = d.relaxes.parse::<Relaxation>() {
            let module_wide = !d.scope.starts_with("function:");
            let approvers = if d.approvers.is_empty() {
                format!("self-approved by `{}`", d.requested_by)
            } else {
                format!(
                    "approved by {}",
                    d.approvers
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let cedar: Vec<&str> = d
                .approvals
                .iter()
                .filter(|a| a.counted)
                .flat_map(|a| a.cedar_policies.iter().map(String::as_str))
                .collect();
            let cedar = if cedar.is_empty() {
                String::new()
            } else {
                format!(" under Cedar rule(s) {}", cedar.join(", "))
            };
            sources.push(Source {
                label: d.id.clone(),
                relaxation,
                module_wide,
                reason: format!(
                    "override `{}` (scope `{}`), {approvers}{cedar}, expires end of {}: \"{}\"",
                    d.id, d.scope, d.expires, d.justification
                ),
                _decision: Some(d),
            });
        }
    }
    for g in cli_grants.iter().filter(|g| g.verdict == Verdict::Granted) {
        if let Some(relaxation) = g.relaxation.clone() {
            sources.push(Source {
                label: "cli".into(),
                relaxation,
                module_wide: true,
                reason: g.reasons.last().cloned().unwrap_or_default(),
                _decision: None,
            });
        }
    }

    let mut items = Vec::new();
    let mut effective = EffectivePolicy {
        limits: Limits::DEFAULT,
        memory_safety: MemorySafety::Enforced,
        isolation: Isolation::Wasm,
        dirs: Vec::new(),
        env: Vec::new(),
        clock: false,
        random: false,
        network: Vec::new(),
        threads: false,
        budgets: BTreeMap::new(),
    };
    let request_cmd = |flag: &str| {
        format!(
            "anrf override request {module_name} {flag} --justification \"...\" (then `anrf override approve ID --key KEY`)"
        )
    };

    // 3. Limits.
    let declared = input
        .module
        .map_or(Limits::DEFAULT, |m| m.manifest.security.limits);
    let mut limits = Limits::DEFAULT;
    // A granted `--raise` on the command line (dev) asks for more than the
    // manifest declares, and for a bare file is the only way to ask.
    let cli_raise = |name: LimitName| {
        sources
            .iter()
            .filter(|s| s.label == "cli")
            .filter_map(|s| match s.relaxation {
                Relaxation::Raise(l, v) if l == name => Some(v),
                _ => None,
            })
            .max()
    };
    for name in LimitName::ALL {
        let want = declared.get(name).max(cli_raise(name).unwrap_or(0));
        let default = Limits::DEFAULT.get(name);
        let max = maxima.limits.get(name);
        let (show_want, show_default, show_max) = (
            show_limit(name, want),
            show_limit(name, default),
            show_limit(name, max),
        );
        let subject = format!("limit {name} = {show_want}");
        let (value, item) = if want <= default {
            let value = want.min(max);
            let mut reasons = vec![if want < default {
                format!("the manifest lowers `{name}` below the default {show_default}")
            } else {
                format!("the default for `{name}`")
            }];
            if value < want {
                reasons.push(format!(
                    "narrowed to the project maximum {show_max} (`maxima.{name}` in `{}`)",
                    project.origin()
                ));
            }
            (value, granted(&subject, Vec::new(), reasons))
        } else {
            let covering: Vec<&Source<'_>> = sources
                .iter()
                .filter(
                    |s| matches!(s.relaxation, Relaxation::Raise(l, v) if l == name && v >= want),
                )
                .collect();
            if let Some(s) = covering.iter().find(|s| s.module_wide) {
                (
                    want.min(max),
                    granted(
                        &subject,
                        vec![s.label.clone()],
                        vec![
                            format!("above the default {show_default}"),
                            s.reason.clone(),
                        ],
                    ),
                )
            } else {
                let mut reasons = vec![format!(
                    "above the default {show_default}: raising a limit needs a granted `raise:{name}=VALUE` override"
                )];
                reasons.extend(function_scoped_note(&covering));
                reasons.extend(refused_note(
                    &overrides,
                    |r| matches!(r, Relaxation::Raise(l, _) if *l == name),
                ));
                reasons.push(format!(
                    "the run gets the default {}",
                    show_limit(name, default.min(max))
                ));
                (
                    default.min(max),
                    refused(
                        &subject,
                        reasons,
                        refused_fix(
                            &overrides,
                            |r| matches!(r, Relaxation::Raise(l, _) if *l == name),
                        )
                        .unwrap_or_else(|| request_cmd(&format!("--raise {name}={show_want}"))),
                    ),
                )
            }
        };
        set_limit(&mut limits, name, value);
        items.push(item);
    }
    effective.limits = limits;

    // 3b. Compile budgets: not in the manifest at all, so each raise override
    // is its own request, granted when module-wide (the budget is a property
    // of the whole module, which is compiled as one).
    let mut asked: Vec<BudgetName> = sources
        .iter()
        .filter_map(|s| match s.relaxation {
            Relaxation::RaiseBudget(b, _) => Some(b),
            _ => None,
        })
        .collect();
    asked.extend(
        overrides
            .iter()
            .filter_map(|d| match d.relaxes.parse::<Relaxation>() {
                Ok(Relaxation::RaiseBudget(b, _)) => Some(b),
                _ => None,
            }),
    );
    asked.sort();
    asked.dedup();
    // A bare file carries no overrides of its own: only a granted `--raise`
    // on the command line raises its budgets.
    if input.module.is_none() {
        asked.retain(|b| {
            sources.iter().any(|s| {
                s.label == "cli" && matches!(s.relaxation, Relaxation::RaiseBudget(n, _) if n == *b)
            })
        });
    }
    for name in asked {
        let is_this = |r: &Relaxation| matches!(r, Relaxation::RaiseBudget(b, _) if *b == name);
        let covering: Vec<&Source<'_>> =
            sources.iter().filter(|s| is_this(&s.relaxation)).collect();
        let widest = covering
            .iter()
            .filter(|s| s.module_wide)
            .filter_map(|s| match s.relaxation {
                Relaxation::RaiseBudget(_, v) => Some((v, *s)),
                _ => None,
            })
            .max_by_key(|(v, _)| *v);
        let default = name.default_value();
        match widest {
            Some((value, s)) if value > default => {
                let value = value.min(maxima.budgets.get(&name).copied().unwrap_or(default));
                let subject = format!("compile budget {name} = {}", name.format_value(value));
                effective.budgets.insert(name, value);
                items.push(granted(
                    &subject,
                    vec![s.label.clone()],
                    vec![
                        format!(
                            "above the runtime's default of {} (docs/runtime.md, \"Compile budgets\")",
                            name.format_value(default)
                        ),
                        s.reason.clone(),
                    ],
                ));
            }
            // An override that does not count, or raises nothing, refuses
            // nothing either: the module gets the default budget, and only a
            // module over it is refused (at load, and as ANRF-W009).
            _ => {
                let subject = format!(
                    "compile budget {name} = {} (the default)",
                    name.format_value(default)
                );
                let mut reasons = Vec::new();
                if let Some((value, s)) = widest {
                    reasons.push(format!(
                        "`{}` raises `{name}` to {}, which is not above the default",
                        s.label,
                        name.format_value(value)
                    ));
                } else {
                    reasons.push(format!(
                        "raising a compile budget needs a granted, module-wide `raise:{name}=VALUE` override"
                    ));
                }
                reasons.extend(function_scoped_note(&covering));
                reasons.extend(refused_note(&overrides, is_this));
                items.push(granted(&subject, Vec::new(), reasons));
            }
        }
    }

    // 4. Memory safety and isolation.
    if let Some(m) = input.module {
        effective.isolation = m.manifest.security.isolation;
        if m.manifest.security.memory_safety == MemorySafety::SandboxOnly {
            effective.memory_safety = MemorySafety::SandboxOnly;
            let subject = "memory safety sandbox-only".to_owned();
            // Any scope may carry it: the basis is a fact about the code, and a
            // function-scoped override says where the unsafe code is.
            if let Some(s) = sources
                .iter()
                .find(|s| s.relaxation == Relaxation::MemoryUnsafe)
            {
                items.push(granted(
                    &subject,
                    vec![s.label.clone()],
                    vec![
                        "the module is memory-unsafe: the sandbox protects the host, not the guest"
                            .into(),
                        s.reason.clone(),
                    ],
                ));
            } else {
                let mut reasons = vec!["the module declares `memory_safety = \"sandbox-only\"`, which needs a granted `memory-unsafe` override".to_owned()];
                reasons.extend(refused_note(&overrides, |r| *r == Relaxation::MemoryUnsafe));
                items.push(refused(
                    &subject,
                    reasons,
                    refused_fix(&overrides, |r| *r == Relaxation::MemoryUnsafe)
                        .unwrap_or_else(|| request_cmd("--memory-unsafe")),
                ));
            }
        }
    }

    // 5. Directories.
    if let Some(m) = input.module {
        for dir in &m.manifest.security.capabilities.dirs {
            let host = dir.host.as_str();
            let access = match dir.access {
                Access::ReadOnly => "read-only",
                Access::ReadWrite => "read-write",
            };
            let subject = format!("dir {} -> {host} ({access})", dir.guest.as_str());
            let covers = |r: &Relaxation| match (r, dir.access) {
                (Relaxation::AllowWrite(p), _) | (Relaxation::AllowRead(p), Access::ReadOnly) => {
                    Maxima::path_allowed(&[p.as_str().to_owned()], host)
                }
                _ => false,
            };
            let covering: Vec<&Source<'_>> =
                sources.iter().filter(|s| covers(&s.relaxation)).collect();
            if let Some(s) = covering.iter().find(|s| s.module_wide) {
                effective.dirs.push(EffectiveDir {
                    guest: dir.guest.as_str().to_owned(),
                    host: host.to_owned(),
                    base: HostBase::ModuleDir,
                    access: dir.access,
                });
                items.push(granted(
                    &subject,
                    vec![s.label.clone()],
                    vec![s.reason.clone()],
                ));
            } else {
                let flag = if dir.access == Access::ReadOnly {
                    "--allow-read"
                } else {
                    "--allow-write"
                };
                let mut reasons = vec![format!(
                    "directories are denied by default: `{host}` needs a granted `{}:{host}` override",
                    &flag[2..]
                )];
                reasons.extend(function_scoped_note(&covering));
                reasons.extend(refused_note(&overrides, |r| covers(r)));
                items.push(refused(
                    &subject,
                    reasons,
                    refused_fix(&overrides, |r| covers(r))
                        .unwrap_or_else(|| request_cmd(&format!("{flag} {host}"))),
                ));
            }
        }
    }
    for g in cli_grants.iter().filter(|g| g.verdict == Verdict::Granted) {
        if let Some(dir) = g.dir.clone()
            && !effective.dirs.iter().any(|d| d.guest == dir.guest)
        {
            {
                items.push(granted(
                    &format!("dir {} -> {} (command line)", dir.guest, dir.host),
                    vec!["cli".into()],
                    g.reasons.clone(),
                ));
                effective.dirs.push(dir);
            }
        }
    }

    items.extend(refuse_nested_dirs(&mut effective.dirs, project.anchor()));

    // 6. Environment variables.
    let declared_env: Vec<EnvName> = input
        .module
        .map(|m| m.manifest.security.capabilities.env.clone())
        .unwrap_or_default();
    for name in &declared_env {
        let subject = format!("env {name}");
        let covering: Vec<&Source<'_>> = sources
            .iter()
            .filter(|s| matches!(&s.relaxation, Relaxation::AllowEnv(n) if n == name))
            .collect();
        if let Some(s) = covering.iter().find(|s| s.module_wide) {
            effective.env.push(name.clone());
            items.push(granted(
                &subject,
                vec![s.label.clone()],
                vec![s.reason.clone()],
            ));
        } else {
            let mut reasons = vec![format!(
                "environment variables are denied by default: `{name}` needs a granted `allow-env:{name}` override"
            )];
            reasons.extend(function_scoped_note(&covering));
            reasons.extend(refused_note(
                &overrides,
                |r| matches!(r, Relaxation::AllowEnv(n) if n == name),
            ));
            items.push(refused(
                &subject,
                reasons,
                refused_fix(
                    &overrides,
                    |r| matches!(r, Relaxation::AllowEnv(n) if n == name),
                )
                .unwrap_or_else(|| request_cmd(&format!("--allow-env {name}"))),
            ));
        }
    }
    for g in cli_grants.iter().filter(|g| g.verdict == Verdict::Granted) {
        if let Some(Relaxation::AllowEnv(name)) = g.relaxation.clone()
            && !effective.env.contains(&name)
        {
            {
                items.push(granted(
                    &format!("env {name} (command line)"),
                    vec!["cli".into()],
                    g.reasons.clone(),
                ));
                effective.env.push(name);
            }
        }
    }

    // 7. Clock and random: declared in the manifest, bounded by the maxima.
    if let Some(m) = input.module {
        let caps = &m.manifest.security.capabilities;
        for (what, wanted, allowed, slot) in [
            ("clock", caps.clock, maxima.clock, &mut effective.clock),
            ("random", caps.random, maxima.random, &mut effective.random),
        ] {
            if !wanted {
                continue;
            }
            let subject = what.to_owned();
            if allowed {
                *slot = true;
                items.push(granted(
                    &subject,
                    Vec::new(),
                    vec![format!(
                        "declared in the manifest; the project maxima allow `{what}`"
                    )],
                ));
            } else {
                items.push(refused(
                    &subject,
                    vec![format!("declared in the manifest, but `maxima.{what} = false` in `{}`", project.origin())],
                    format!("remove `{what} = true` from `[security.capabilities]`, or allow it in `{}`", project.origin()),
                ));
            }
        }
    }

    // 8. Network hosts and threads.
    if let Some(m) = input.module {
        for host in &m.manifest.security.capabilities.network {
            let subject = format!("network {host}");
            let covering: Vec<&Source<'_>> = sources
                .iter()
                .filter(|s| matches!(&s.relaxation, Relaxation::AllowNetwork(h) if h == host))
                .collect();
            if let Some(s) = covering.iter().find(|s| s.module_wide) {
                effective.network.push(host.clone());
                items.push(granted(
                    &subject,
                    vec![s.label.clone()],
                    vec![s.reason.clone(), NO_SOCKETS.to_owned()],
                ));
            } else {
                let mut reasons = vec![format!(
                    "the network is denied by default: `{host}` needs a granted `allow-network:{host}` override"
                )];
                reasons.extend(function_scoped_note(&covering));
                let is_host =
                    |r: &Relaxation| matches!(r, Relaxation::AllowNetwork(h) if h == host);
                reasons.extend(refused_note(&overrides, is_host));
                reasons.push(NO_SOCKETS.to_owned());
                items.push(refused(
                    &subject,
                    reasons,
                    refused_fix(&overrides, is_host)
                        .unwrap_or_else(|| request_cmd(&format!("--allow-network {host}"))),
                ));
            }
        }
    }
    if let Some(s) = sources
        .iter()
        .find(|s| s.relaxation == Relaxation::Threads && s.module_wide)
    {
        effective.threads = true;
        items.push(granted(
            "threads",
            vec![s.label.clone()],
            vec![s.reason.clone()],
        ));
    }

    Resolution {
        profile: input.profile,
        policy: project.origin().to_owned(),
        policy_digest: project.digest().clone(),
        effective,
        items,
        overrides,
        cli_grants,
    }
}

/// Granted directories may not nest or repeat: with `out` writable and
/// `out/cfg` granted as well, a guest could replace `out/cfg` (by a symlink, say)
/// and so choose what its next run reaches; the same host directory granted
/// twice (once read-only, once read-write) undoes the read-only one. Each
/// directory that lies inside (or is) one granted before it is refused and
/// dropped from the effective policy, so the run does not start.
///
/// Host paths are compared as absolute, normalized paths with their links
/// resolved when the policy is anchored ([`crate::HostAnchor`]); unanchored,
/// as written (relative paths against each other).
fn refuse_nested_dirs(
    dirs: &mut Vec<EffectiveDir>,
    anchor: Option<&crate::HostAnchor>,
) -> Vec<Item> {
    let mut items = Vec::new();
    let mut kept: Vec<(EffectiveDir, std::path::PathBuf)> = Vec::new();
    for dir in std::mem::take(dirs) {
        let path = host_key(&dir, anchor);
        let clash = kept
            .iter()
            .find(|(_, k)| k.starts_with(&path) || path.starts_with(k));
        let Some((outer, outer_path)) = clash else {
            kept.push((dir, path));
            continue;
        };
        let show = |d: &EffectiveDir| {
            let access = match d.access {
                Access::ReadOnly => "read-only",
                Access::ReadWrite => "read-write",
            };
            format!("dir {} -> {} ({access})", d.guest, d.host)
        };
        let (why, fix) = if *outer_path == path {
            (
                format!(
                    "host directory `{}` is granted twice (as `{}` and as `{}`): each host directory is granted once, with one access",
                    dir.host, outer.guest, dir.guest
                ),
                format!(
                    "grant `{}` once: keep one of the two entries (read-write if the module writes it)",
                    dir.host
                ),
            )
        } else {
            let (inner, wide) = if path.starts_with(outer_path) {
                (&dir, outer)
            } else {
                (outer, &dir)
            };
            (
                format!(
                    "`{}` lies inside `{}`, which is also granted: granted directories may not nest, since a guest that can change the outer one could replace the inner one (with a symlink, say) and widen what its next run reaches",
                    inner.host, wide.host
                ),
                format!(
                    "grant only `{}` (the module reaches `{}` through it), or move `{}` beside it rather than inside it",
                    wide.host, inner.host, inner.host
                ),
            )
        };
        let where_ = match dir.base {
            HostBase::ModuleDir => {
                "remove one entry from `[security.capabilities] dirs` in anrf.toml".to_owned()
            }
            HostBase::WorkingDir => {
                "drop one of the `--allow-read`/`--allow-write` flags".to_owned()
            }
        };
        items.push(refused(
            &format!("{} nests with {}", show(&dir), show(outer)),
            vec![why],
            format!("{fix}; {where_}"),
        ));
    }
    dirs.extend(kept.into_iter().map(|(d, _)| d));
    items
}

/// The host path a granted directory is compared by (see [`refuse_nested_dirs`]).
fn host_key(dir: &EffectiveDir, anchor: Option<&crate::HostAnchor>) -> std::path::PathBuf {
    let host = std::path::Path::new(&dir.host);
    let Some(a) = anchor else {
        return normalize(host);
    };
    let base = match dir.base {
        HostBase::ModuleDir => &a.module_dir,
        HostBase::WorkingDir => &a.working_dir,
    };
    let lexical = normalize(&base.join(host));
    a.resolve_links
        .and_then(|resolve| resolve(&lexical))
        .map_or(lexical, |p| normalize(&p))
}

fn granted(subject: &str, via: Vec<String>, reasons: Vec<String>) -> Item {
    Item {
        subject: subject.to_owned(),
        verdict: Verdict::Granted,
        via,
        reasons,
        fix: None,
    }
}

fn refused(subject: &str, reasons: Vec<String>, fix: String) -> Item {
    Item {
        subject: subject.to_owned(),
        verdict: Verdict::Refused,
        via: Vec::new(),
        reasons,
        fix: Some(fix),
    }
}

fn function_scoped_note(covering: &[&Source<'_>]) -> Option<String> {
    covering.iter().find(|s| !s.module_wide).map(|s| {
        format!(
            "override `{}` is scoped to one function: a command run executes the whole module, so the sandbox cannot confine it to that function; request it with `--scope module`",
            s.label
        )
    })
}

fn refused_note(
    overrides: &[OverrideDecision],
    relevant: impl Fn(&Relaxation) -> bool,
) -> Vec<String> {
    overrides
        .iter()
        .filter(|d| {
            d.verdict == Verdict::Refused
                && d.relaxes.parse::<Relaxation>().is_ok_and(|r| relevant(&r))
        })
        .map(|d| {
            let last = d.reasons.last().cloned().unwrap_or_default();
            format!("override `{}` does not count: {last}", d.id)
        })
        .collect()
}

/// The fix of the first refused override that is about this item, if any: an
/// override that exists but is unsigned needs approving, not requesting again.
fn refused_fix(
    overrides: &[OverrideDecision],
    relevant: impl Fn(&Relaxation) -> bool,
) -> Option<String> {
    overrides
        .iter()
        .filter(|d| {
            d.verdict == Verdict::Refused
                && d.relaxes.parse::<Relaxation>().is_ok_and(|r| relevant(&r))
        })
        .find_map(|d| d.fix.clone())
}

fn set_limit(limits: &mut Limits, name: LimitName, value: u64) {
    use anrf_format::{ByteSize, Fuel, Millis};
    match name {
        LimitName::Memory => limits.memory = ByteSize::new(value).unwrap_or(limits.memory),
        LimitName::Fuel => limits.fuel = Fuel::new(value).unwrap_or(limits.fuel),
        LimitName::Timeout => limits.timeout = Millis::new(value).unwrap_or(limits.timeout),
        LimitName::Stack => limits.stack = ByteSize::new(value).unwrap_or(limits.stack),
        LimitName::Stdout => limits.stdout = ByteSize::new(value).unwrap_or(limits.stdout),
        LimitName::Stderr => limits.stderr = ByteSize::new(value).unwrap_or(limits.stderr),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// A module that declares `data/words` read-only, the default limits and
    /// nothing else.
    fn manifest() -> Manifest {
        let text = r#"anrf = 1
[module]
name = "wordcount"
version = "0.1.0"
[intent]
summary = "Count the words on stdin"
[logic]
interface = "command"
functions = ["count_words"]
[implementation]
language = "rust"
sources = ["src/main.rs"]
[security]
memory_safety = "enforced"
isolation = "wasm"
overrides = []
[security.limits]
memory = "64MiB"
fuel = 1000000000
timeout = "5s"
stack = "512KiB"
stdout = "1MiB"
stderr = "1MiB"
[security.capabilities]
dirs = [{ guest = "/words", host = "data/words", access = "read-only" }]
env = []
clock = false
random = false
network = []
"#;
        Manifest::from_str(text, "anrf.toml").unwrap()
    }

    fn relaxation(text: &str) -> Relaxation {
        text.parse().unwrap()
    }

    #[test]
    fn override_applies_to_a_module_that_declares_what_it_relaxes() {
        let mut m = manifest();
        // The directory or one beneath it, for reading or writing.
        assert_eq!(applies_to(&relaxation("allow-read:data"), &m), Some(true));
        assert_eq!(
            applies_to(&relaxation("allow-read:data/words"), &m),
            Some(true)
        );
        assert_eq!(applies_to(&relaxation("allow-write:data"), &m), Some(true));
        assert_eq!(
            applies_to(&relaxation("allow-read:data/words/en"), &m),
            Some(false)
        );
        assert_eq!(
            applies_to(&relaxation("allow-read:secrets"), &m),
            Some(false)
        );
        // Variables and hosts it declares.
        assert_eq!(
            applies_to(&relaxation("allow-env:GREETING"), &m),
            Some(false)
        );
        assert_eq!(
            applies_to(&relaxation("allow-network:api.example.com"), &m),
            Some(false)
        );
        m.security
            .capabilities
            .env
            .push(anrf_format::EnvName::new("GREETING").unwrap());
        m.security
            .capabilities
            .network
            .push("api.example.com".into());
        assert_eq!(
            applies_to(&relaxation("allow-env:GREETING"), &m),
            Some(true)
        );
        assert_eq!(applies_to(&relaxation("allow-env:HOME"), &m), Some(false));
        assert_eq!(
            applies_to(&relaxation("allow-network:api.example.com"), &m),
            Some(true)
        );
        assert_eq!(
            applies_to(&relaxation("allow-network:evil.example.com"), &m),
            Some(false)
        );
        // The memory-unsafe basis.
        assert_eq!(applies_to(&relaxation("memory-unsafe"), &m), Some(false));
        m.security.memory_safety = MemorySafety::SandboxOnly;
        assert_eq!(applies_to(&relaxation("memory-unsafe"), &m), Some(true));
        // Only what the compiled module tells.
        assert_eq!(applies_to(&relaxation("threads"), &m), None);
    }

    #[test]
    fn raise_applies_only_to_a_limit_declared_above_the_default() {
        let mut m = manifest();
        let raise = relaxation("raise:memory=128MiB");
        assert_eq!(applies_to(&raise, &m), Some(false), "at the default");
        m.security.limits.memory = anrf_format::parse_size("32MiB").unwrap();
        assert_eq!(applies_to(&raise, &m), Some(false), "below the default");
        m.security.limits.memory = anrf_format::parse_size("65MiB").unwrap();
        assert_eq!(applies_to(&raise, &m), Some(true), "above the default");
        // Another limit raised does not make a memory raise apply.
        let mut m = manifest();
        m.security.limits.stack = anrf_format::parse_size("1MiB").unwrap();
        assert_eq!(applies_to(&raise, &m), Some(false));
        assert_eq!(applies_to(&relaxation("raise:stack=1MiB"), &m), Some(true));
    }

    fn bare_dev(project: &ProjectPolicy, grants: &[CliGrant]) -> Resolution {
        resolve(&ResolveInput {
            project,
            profile: Profile::Dev,
            now: datetime!(2026-11-23 12:00:00 UTC),
            module: None,
            cli_grants: grants,
            cli_justification: Some("the generated parser has many small functions"),
            user: "alice",
            revocations: &[],
        })
    }

    #[test]
    fn cli_budget_raise_reaches_a_bare_file_and_a_limit_raise_does_not_raise_budgets() {
        let project = ProjectPolicy::builtin();
        let r = bare_dev(&project, &[CliGrant::raise("functions=30000").unwrap()]);
        assert!(r.is_complete(), "{}", r.explain());
        assert_eq!(
            r.effective.budgets,
            BTreeMap::from([(BudgetName::Functions, 30_000)])
        );
        let r = bare_dev(&project, &[CliGrant::raise("memory=128MiB").unwrap()]);
        assert!(r.effective.budgets.is_empty(), "{}", r.explain());
    }

    #[test]
    fn project_budget_override_does_not_raise_a_bare_files_budget() {
        // A bare file carries no overrides: only its own `--raise` counts, even
        // beside a project override of the budget and another command-line raise.
        let ovr = crate::approve::new_override(
            &crate::approve::NewOverride {
                module: "*",
                functions: &[],
                scope: anrf_format::Scope::Project,
                relaxes: "raise:functions=30000".parse().unwrap(),
                justification: "the generated parser has many small functions",
                requested_by: "alice",
                expires: None,
                now: datetime!(2026-11-23 12:00:00 UTC),
            },
            &ProjectPolicy::builtin(),
        )
        .unwrap();
        let text = format!(
            "version = 1\n[[overrides]]\n{}",
            toml::to_string(&ovr).unwrap()
        );
        let project = ProjectPolicy::parse(&text, "anrf-policy.toml").unwrap();
        for grants in [vec![], vec![CliGrant::raise("memory=128MiB").unwrap()]] {
            let r = bare_dev(&project, &grants);
            assert!(
                r.effective.budgets.is_empty(),
                "{grants:?}: {}",
                r.explain()
            );
        }
    }

    #[test]
    fn budget_raise_to_the_default_raises_nothing() {
        let default = BudgetName::Functions.default_value();
        let grant = CliGrant::raise(&format!("functions={default}")).unwrap();
        let r = bare_dev(&ProjectPolicy::builtin(), &[grant]);
        assert!(r.effective.budgets.is_empty(), "{}", r.explain());
        let grant = CliGrant::raise(&format!("functions={}", default + 1)).unwrap();
        let r = bare_dev(&ProjectPolicy::builtin(), &[grant]);
        assert_eq!(
            r.effective.budgets.get(&BudgetName::Functions),
            Some(&(default + 1))
        );
    }

    #[test]
    fn refused_sandbox_only_names_the_memory_unsafe_override_not_another() {
        let request = |relaxes: &str| {
            crate::approve::new_override(
                &crate::approve::NewOverride {
                    module: "wordcount",
                    functions: &[],
                    scope: anrf_format::Scope::Module,
                    relaxes: relaxes.parse().unwrap(),
                    justification: "the vendored C parser is memory-unsafe, the sandbox contains it",
                    requested_by: "alice",
                    expires: None,
                    now: datetime!(2026-11-23 12:00:00 UTC),
                },
                &ProjectPolicy::builtin(),
            )
            .unwrap()
        };
        let env = request("allow-env:GREETING");
        let unsafe_basis = request("memory-unsafe");
        let mut m = manifest();
        m.security.memory_safety = MemorySafety::SandboxOnly;
        m.security.overrides = vec![env.clone(), unsafe_basis.clone()];
        let digest = ContentDigest::of(b"wordcount");
        let project = ProjectPolicy::builtin();
        let r = resolve(&ResolveInput {
            project: &project,
            profile: Profile::Test,
            now: datetime!(2026-11-23 12:00:00 UTC),
            module: Some(ModuleInput {
                manifest: &m,
                code_digest: &digest,
            }),
            cli_grants: &[],
            cli_justification: None,
            user: "alice",
            revocations: &[],
        });
        let item = r
            .items
            .iter()
            .find(|i| i.subject == "memory safety sandbox-only")
            .unwrap();
        assert_eq!(item.verdict, Verdict::Refused);
        let notes: Vec<&String> = item
            .reasons
            .iter()
            .filter(|n| n.starts_with("override `"))
            .collect();
        assert_eq!(notes.len(), 1, "{:?}", item.reasons);
        assert!(notes[0].contains(unsafe_basis.id.as_str()), "{notes:?}");
        let fix = item.fix.as_deref().unwrap();
        let wanted = r
            .overrides
            .iter()
            .find(|d| d.id == unsafe_basis.id.as_str())
            .and_then(|d| d.fix.as_deref())
            .unwrap();
        assert_eq!(fix, wanted);
        assert!(!fix.contains(env.id.as_str()), "{fix}");
    }

    #[test]
    fn cli_raise_raises_only_the_limit_it_names() {
        let project = ProjectPolicy::builtin();
        let grants = [CliGrant::raise("memory=128MiB").unwrap()];
        let r = resolve(&ResolveInput {
            project: &project,
            profile: Profile::Dev,
            now: datetime!(2026-11-23 12:00:00 UTC),
            module: None,
            cli_grants: &grants,
            cli_justification: Some("the word list of the whole corpus is held in memory"),
            user: "alice",
            revocations: &[],
        });
        assert_eq!(
            r.cli_grants[0].verdict,
            Verdict::Granted,
            "{:?}",
            r.cli_grants
        );
        assert!(r.is_complete(), "{:?}", r.refused().collect::<Vec<_>>());
        let limits = r.effective.limits;
        assert_eq!(limits.get(LimitName::Memory), 128 << 20);
        for name in LimitName::ALL {
            if name != LimitName::Memory {
                assert_eq!(limits.get(name), Limits::DEFAULT.get(name), "{name}");
            }
        }
        // Refused outside dev, the limit stays at its default.
        let r = resolve(&ResolveInput {
            project: &project,
            profile: Profile::Test,
            now: datetime!(2026-11-23 12:00:00 UTC),
            module: None,
            cli_grants: &grants,
            cli_justification: Some("the word list of the whole corpus is held in memory"),
            user: "alice",
            revocations: &[],
        });
        assert_eq!(r.cli_grants[0].verdict, Verdict::Refused);
        assert_eq!(
            r.effective.limits.get(LimitName::Memory),
            Limits::DEFAULT.get(LimitName::Memory)
        );
    }
}
