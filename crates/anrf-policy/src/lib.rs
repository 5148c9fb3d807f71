//! `anrf-policy`: the effective policy of one run, from the manifest, the project
//! policy (`anrf-policy.toml`), the profile and the overrides that are valid now.
//!
//! **Invariant:** this crate does no I/O. It takes parsed inputs (manifest, policy
//! text, profile, `now`, the module's security digest, key material) and returns
//! decisions as values, each with its chain of reasons. The CLI reads and writes
//! files, keys and the audit log.
//!
//! ```
//! use anrf_policy::{ProjectPolicy, check_cli_grants, CliGrant, Verdict};
//! use anrf_format::Profile;
//!
//! // No `anrf-policy.toml`: the strict built-in policy.
//! let policy = ProjectPolicy::builtin();
//! let grant = [CliGrant::Read { host: "data".into(), guest: None }];
//! let why = "reads the sample orders in data to total them per customer";
//!
//! // In dev a justified command-line grant is self-approved (and audited by the CLI)...
//! let dev = check_cli_grants(&policy, Profile::Dev, &grant, Some(why), "alice", "orders");
//! assert_eq!(dev[0].verdict, Verdict::Granted);
//!
//! // ...in prod it is refused, naming the command that asks properly.
//! let prod = check_cli_grants(&policy, Profile::Prod, &grant, Some(why), "alice", "orders");
//! assert_eq!(prod[0].verdict, Verdict::Refused);
//! assert!(prod[0].fix.as_deref().unwrap().starts_with("anrf override request orders --allow-read data"));
//! ```
#![forbid(unsafe_code)]

mod approve;
mod authz;
mod check;
mod edit;
mod error;
mod grant;
mod index;
mod keys;
mod nesting;
mod project;
mod record;
mod resolve;

pub use approve::{
    ApproveAs, Candidate, DEFAULT_VALIDITY_DAYS, MAX_VALIDITY_DAYS, NewOverride, Refused, approve,
    candidates, new_override,
};
pub use authz::{ApproveRequest, Authorization, BUILTIN_RULES, CedarRules, SCHEMA};
pub use check::{
    ApprovalCheck, OverrideContext, OverrideDecision, Refusal, RevocationNotice, Verdict,
    beyond_maxima, check_override, request_flag,
};
pub use edit::{ManifestEdit, add_approval, add_override, declare, set_revoked};
pub use error::PolicyError;
pub use grant::{CliGrant, GrantDecision, check_cli_grants};
pub use index::IndexRecord;
pub use index::RevokedEntry;
pub use keys::{ED25519_PREFIX, OsRng, PublicKey, SecretKey, Signature};
pub use nesting::MAX_CEDAR_NESTING;
pub use project::{
    Approver, HostAnchor, Maxima, POLICY_FILE, POLICY_VERSION, PolicyFile, ProfileRules,
    ProjectPolicy, RELAXATION_KINDS, valid_name,
};
pub use record::{
    APPROVAL_DOMAIN, SignatureCheck, Signer, Subject, format_time, parse_date, parse_time,
    sign as sign_approval, signed_message, verify as verify_signature,
};
pub use resolve::{
    EffectiveDir, EffectivePolicy, HostBase, Item, ModuleInput, Resolution, ResolveInput,
    applies_to, resolve,
};

/// Re-exported so callers need no direct dependency to build `now` and dates.
pub use time::{Date, OffsetDateTime};
