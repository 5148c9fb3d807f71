//! What a manifest may declare and a policy may grant, but this runtime cannot
//! provide, so `anrf run` refuses it: `isolation = "process"` and network
//! hosts. `ANRF-M014` reports each with these words, so `anrf verify` and
//! `anrf explain` never pass a module that `anrf run` refuses.

use anrf_format::Isolation;
use anrf_policy::EffectivePolicy;

/// One thing the runtime cannot provide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The manifest key it comes from, e.g. `["security", "isolation"]`.
    pub key: &'static [&'static str],
    /// What is refused and why.
    pub message: String,
    /// The change that makes the module runnable.
    pub help: &'static str,
}

/// The message for `isolation = "process"`.
pub const PROCESS_ISOLATION: &str = "`isolation = \"process\"` is not supported by this runtime yet, and running with less isolation than declared is refused";
/// The fix for `isolation = "process"`.
pub const PROCESS_ISOLATION_HELP: &str = "set `isolation = \"wasm\"` in `[security]`; the in-process wasm sandbox is what this runtime provides";
/// The fix for a granted network host.
pub const NETWORK_HELP: &str = "remove the `network` entries from `[security.capabilities]`";

/// The message for a granted network host.
pub fn network_message(host: &str) -> String {
    format!(
        "network access (`{host}`) is not supported by the v1 runtime: no socket is ever granted"
    )
}

/// Everything in `effective` that this runtime refuses to run, in the order
/// `anrf run` checks it.
pub fn unsupported(effective: &EffectivePolicy) -> Vec<Unsupported> {
    let mut out = Vec::new();
    if effective.isolation == Isolation::Process {
        out.push(Unsupported {
            key: &["security", "isolation"],
            message: PROCESS_ISOLATION.to_owned(),
            help: PROCESS_ISOLATION_HELP,
        });
    }
    if let Some(host) = effective.network.first() {
        out.push(Unsupported {
            key: &["security", "capabilities", "network"],
            message: network_message(host),
            help: NETWORK_HELP,
        });
    }
    out
}
