//! Policy resolution never panics and is deterministic, and what it grants stays
//! within the project maxima. The input is a project policy and a manifest,
//! separated by a line `%%` (a missing policy part means the built-in policy).
#![no_main]

use anrf_format::{ContentDigest, LimitName, Manifest, Profile};
use anrf_policy::{ModuleInput, ProjectPolicy, ResolveInput, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (policy_text, manifest_text) = match text.split_once("\n%%\n") {
        Some((p, m)) => (Some(p), m),
        None => (None, text),
    };
    let project = match policy_text {
        Some(p) => match ProjectPolicy::parse(p, "fuzz-policy.toml") {
            Ok(p) => p,
            Err(_) => return,
        },
        None => ProjectPolicy::builtin(),
    };
    let Ok(manifest) = Manifest::from_str(manifest_text, "fuzz.toml") else { return };
    let digest = ContentDigest::of(manifest_text.as_bytes());
    let now = anrf_policy::OffsetDateTime::from_unix_timestamp(1_795_000_000)
        .expect("a fixed time in range");
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let input = ResolveInput {
            project: &project,
            profile,
            now,
            module: Some(ModuleInput {
                manifest: &manifest,
                security_digest: &digest,
            }),
            cli_grants: &[],
            cli_justification: None,
            user: "fuzz",
            revocations: &[],
        };
        let first = resolve(&input);
        assert_eq!(first, resolve(&input), "resolution is deterministic");
        for name in LimitName::ALL {
            assert!(
                first.effective.limits.get(name) <= project.maxima().limits.get(name),
                "limit {name} above the project maximum"
            );
        }
        if project.approvers().is_empty() && profile != Profile::Dev {
            assert!(
                first.effective.dirs.is_empty() && first.effective.env.is_empty(),
                "nothing past the defaults without trusted approvers in {profile}"
            );
        }
        if first.is_complete() {
            assert_eq!(
                first.effective.dirs.len(),
                manifest.security.capabilities.dirs.len(),
                "a complete resolution grants every declared directory"
            );
        }
    }
});
