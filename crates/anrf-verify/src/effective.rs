//! The effective policy in the runtime's terms: the one conversion of its
//! limits and compile budgets, used by `anrf run` and by the examples `verify`
//! runs, so both run a module under the same numbers.

use anrf_policy::EffectivePolicy;
use anrf_runtime::{CompileBudget, Limits};

/// The runtime limits of `effective` (the rest, such as the table limit,
/// are the runtime's defaults).
pub fn runtime_limits(effective: &EffectivePolicy) -> Limits {
    let l = &effective.limits;
    Limits {
        memory_bytes: l.memory.bytes(),
        fuel: l.fuel.units(),
        timeout: l.timeout.as_duration(),
        stack_bytes: l.stack.bytes(),
        stdout_bytes: l.stdout.bytes(),
        stderr_bytes: l.stderr.bytes(),
        ..Limits::DEFAULT
    }
}

/// The compile budget of `effective`: the runtime's defaults, with each
/// budget a granted `raise:BUDGET=VALUE` override raised set to its value.
/// A raise is never a lowering: a value under the default keeps the default.
pub fn compile_budget(effective: &EffectivePolicy) -> CompileBudget {
    let mut budget = CompileBudget::DEFAULT;
    for (name, value) in &effective.budgets {
        let current = budget.get(name.as_str());
        debug_assert!(current.is_some(), "no runtime budget `{name}`");
        if current.is_some_and(|c| *value > c) {
            budget.set(name.as_str(), *value);
        }
    }
    budget
}

/// What to do about a module over its budgets, as `anrf run` and `ANRF-W009`
/// both say it: make it smaller, or ask for exactly the budgets it needs
/// (`--raise functions=30000`) with the command for `module` (`None`: a bare
/// file, which carries no overrides).
pub fn over_budget_help(exceeded: &anrf_runtime::BudgetExcesses, module: Option<&str>) -> String {
    let flags: Vec<String> = exceeded
        .0
        .iter()
        .map(|e| format!("--raise {}={}", e.budget, e.value))
        .collect();
    let flags = flags.join(" ");
    let ask = match module {
        Some(name) => format!(
            "`anrf override request {name} {flags} --justification \"...\"` (then `anrf override approve ID --key KEY`)"
        ),
        None => format!(
            "a bare file carries no overrides, so it always runs within the default budgets; put it in a module (a directory with an `anrf.toml` naming it as `implementation.artifact`) and ask `anrf override request DIR {flags} --justification \"...\"`"
        ),
    };
    format!(
        "make the module smaller (fewer dependencies and functions, `opt-level = \"s\"`, `lto = true`, no debug info), or ask for a larger budget: {ask}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use anrf_format::BudgetName;

    fn effective() -> EffectivePolicy {
        let project = anrf_policy::ProjectPolicy::builtin();
        anrf_policy::resolve(&anrf_policy::ResolveInput {
            project: &project,
            profile: anrf_format::Profile::Dev,
            now: time::OffsetDateTime::UNIX_EPOCH,
            module: None,
            cli_grants: &[],
            cli_justification: None,
            user: "test",
            revocations: &[],
        })
        .effective
    }

    #[test]
    fn every_budget_name_of_the_manifest_is_a_runtime_budget_and_back() {
        let runtime: Vec<&str> = CompileBudget::names().collect();
        let manifest: Vec<&str> = BudgetName::ALL.iter().map(|b| b.as_str()).collect();
        assert_eq!(runtime, manifest);
        for b in BudgetName::ALL {
            assert_eq!(
                CompileBudget::DEFAULT.get(b.as_str()),
                Some(b.default_value()),
                "{b}"
            );
        }
    }

    #[test]
    fn granted_raises_set_their_budget_and_only_raise() {
        let mut eff = effective();
        assert_eq!(compile_budget(&eff), CompileBudget::DEFAULT);
        eff.budgets.insert(BudgetName::Functions, 50_000);
        eff.budgets.insert(BudgetName::Tables, 1);
        let budget = compile_budget(&eff);
        assert_eq!(budget.functions, 50_000);
        assert_eq!(budget.tables, CompileBudget::DEFAULT.tables);
        assert_eq!(
            CompileBudget {
                functions: CompileBudget::DEFAULT.functions,
                ..budget
            },
            CompileBudget::DEFAULT
        );
    }
}
