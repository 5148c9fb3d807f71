//! The engines accept exactly the proposals of `anrf_runtime::wasm_features`:
//! a module using any other (one per file in `tests/hostile/wat/proposals/`,
//! named after the proposal) is refused at load on every engine, with the
//! words the verifier uses; a module using every enabled one runs.

use anrf_runtime::{
    Capabilities, EngineKind, FeatureError, ModuleInput, REFUSED_PROPOSALS, RuntimeError, Status,
    check_features,
};

use crate::support::{hostile_dir, load_wat, policy, run, runtime};

const ENGINES: [EngineKind; 3] = [EngineKind::Interp, EngineKind::Jit, EngineKind::Aot];

/// Every proposal sample: (proposal name, binary).
fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = hostile_dir().join("wat/proposals");
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let bytes = wat::parse_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, bytes)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn every_proposal_the_engine_once_enabled_has_a_sample() {
    let names: Vec<String> = samples().into_iter().map(|(n, _)| n).collect();
    for proposal in [
        "gc",
        "function-references",
        "exception-handling",
        "legacy-exceptions",
        "memory64",
        "threads",
        "relaxed-simd",
        "multi-memory",
        "component-model",
        "wide-arithmetic",
        "custom-page-sizes",
        "stack-switching",
    ] {
        assert!(
            names.iter().any(|n| n == proposal),
            "no sample for {proposal}"
        );
        assert!(
            REFUSED_PROPOSALS.iter().any(|p| p.name() == proposal),
            "{proposal} is not in the refused list"
        );
    }
}

#[test]
fn each_disabled_proposal_is_refused_on_every_engine_in_the_verifiers_words() {
    for (name, bytes) in samples() {
        let refusal = match check_features(&bytes) {
            Err(FeatureError::Refused(refusal)) => refusal,
            other => panic!("{name}: not refused for a proposal: {other:?}"),
        };
        assert_eq!(refusal.proposal().name(), name);
        let words = refusal.proposal().refusal();
        for kind in ENGINES {
            let err = runtime(kind)
                .load(ModuleInput::Wasm(bytes.clone()))
                .expect_err(&format!("{kind} accepted {name}"));
            let RuntimeError::Unsupported { refusal: got } = &err else {
                panic!("{kind}, {name}: {err:?}");
            };
            assert_eq!(got.proposal().name(), name, "{kind}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("the module {words}: ")),
                "{kind}, {name}: {text}"
            );
        }
    }
}

#[test]
fn the_refusal_words_are_plain() {
    let bytes =
        wat::parse_file(hostile_dir().join("wat/proposals/exception-handling.wat")).unwrap();
    let err = runtime(EngineKind::Jit)
        .load(ModuleInput::Wasm(bytes))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the module uses exception handling (the `exception-handling` proposal), which the sandbox does not enable: "
        ),
        "{text}"
    );
    assert!(
        text.contains("docs/verify.md lists the proposals the runtime enables"),
        "{text}"
    );
}

#[test]
fn a_module_using_every_enabled_proposal_runs_on_every_engine() {
    for kind in ENGINES {
        let module = load_wat(kind, "enabled_proposals");
        let outcome = run(kind, &module, &policy(kind, Capabilities::none()));
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (Status::Ok, 42),
            "{kind}: {outcome:?}"
        );
    }
}
