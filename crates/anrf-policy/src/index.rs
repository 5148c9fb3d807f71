//! The override index under `$ANRF_HOME/overrides/<id>.toml`: which module an
//! override belongs to (so `anrf override approve ID` finds it) and, once revoked,
//! the revocation (so removing the `revoked` line from a manifest does not bring
//! the override back). The CLI reads and writes the files; this is their format.

use serde::{Deserialize, Serialize};

use crate::check::RevocationNotice;
use crate::error::PolicyError;

/// One index record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexRecord {
    pub id: String,
    /// The module's name.
    pub module: String,
    /// The module directory, absolute.
    pub module_dir: String,
    pub relaxes: String,
    pub scope: String,
    pub requested_by: String,
    pub requested_at: String,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevokedEntry>,
}

/// A revocation as indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedEntry {
    pub by: String,
    pub at: String,
    pub reason: String,
}

impl IndexRecord {
    pub fn parse(text: &str, origin: &str) -> Result<Self, PolicyError> {
        toml::from_str(text).map_err(|e| PolicyError::IndexRecord {
            origin: origin.into(),
            message: e.to_string(),
        })
    }

    pub fn to_toml(&self) -> Result<String, PolicyError> {
        toml::to_string(self).map_err(|e| PolicyError::IndexRecord {
            origin: self.id.clone(),
            message: e.to_string(),
        })
    }

    /// The revocation, as resolution takes it.
    pub fn revocation(&self) -> Option<RevocationNotice> {
        self.revoked.as_ref().map(|r| RevocationNotice {
            override_id: self.id.clone(),
            by: r.by.clone(),
            at: r.at.clone(),
            reason: r.reason.clone(),
        })
    }
}
