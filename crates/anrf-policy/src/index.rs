//! The override index under `$ANRF_HOME/overrides/`: which module an override
//! belongs to (so `anrf override approve ID` finds it) and, once revoked, the
//! revocation (so removing the `revoked` line from a manifest does not bring the
//! override back). One record per module and override id: [`IndexRecord::file_name`]
//! keys the file by both, so two modules' overrides with the same id never share
//! (or overwrite) a record. The CLI reads and writes the files; this is their
//! format.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::check::RevocationNotice;
use crate::error::PolicyError;

/// One index record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexRecord {
    pub id: String,
    /// The module's name (`*`: the project policy). The revocation a record
    /// carries applies to this module's override only. Empty in a record written
    /// before records were keyed by module: its revocation applies to every
    /// override with the id, as it did then.
    #[serde(default)]
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

    /// The file the record is kept in: `<id>.<module>.toml`, with `*` (the
    /// project policy) written `_project`. A legacy record (no module) was kept
    /// in `<id>.toml`.
    /// A part that is not a plain name (a hand-edited record) is written as a
    /// hash of it, so a record never names a path outside the index.
    pub fn file_name(&self) -> String {
        let id = file_part(&self.id);
        match self.module.as_str() {
            "" => format!("{id}.toml"),
            "*" => format!("{id}._project.toml"),
            m => format!("{id}.{}.toml", file_part(m)),
        }
    }

    /// The revocation, as resolution takes it.
    pub fn revocation(&self) -> Option<RevocationNotice> {
        self.revoked.as_ref().map(|r| RevocationNotice {
            override_id: self.id.clone(),
            module: (!self.module.is_empty()).then(|| self.module.clone()),
            by: r.by.clone(),
            at: r.at.clone(),
            reason: r.reason.clone(),
        })
    }
}

/// `part` when it is a plain name (`a-z`, `A-Z`, `0-9`, `-`, 1-80 bytes), else
/// `h` and 16 hex digits of its SHA-256.
fn file_part(part: &str) -> String {
    let plain = !part.is_empty()
        && part.len() <= 80
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plain {
        part.to_owned()
    } else {
        format!(
            "h{}",
            hex::encode(&sha2::Sha256::digest(part.as_bytes())[..8])
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(module: &str) -> IndexRecord {
        IndexRecord {
            id: "ovr-0123abcd".into(),
            module: module.into(),
            module_dir: "/p/m".into(),
            relaxes: "allow-read:data".into(),
            scope: "module".into(),
            requested_by: "alice".into(),
            requested_at: String::new(),
            expires: "2027-01-01".into(),
            revoked: Some(RevokedEntry {
                by: "bob".into(),
                at: "2026-12-01T10:00:00Z".into(),
                reason: "no longer needed".into(),
            }),
        }
    }

    #[test]
    fn records_of_two_modules_with_one_id_are_two_files() {
        assert_eq!(record("hello").file_name(), "ovr-0123abcd.hello.toml");
        assert_eq!(record("other").file_name(), "ovr-0123abcd.other.toml");
        assert_eq!(record("*").file_name(), "ovr-0123abcd._project.toml");
        assert_eq!(record("").file_name(), "ovr-0123abcd.toml");
        let odd = record("../../etc").file_name();
        assert!(
            odd.starts_with("ovr-0123abcd.h") && !odd.contains('/'),
            "{odd}"
        );
    }

    #[test]
    fn a_revocation_names_its_module_and_a_legacy_one_names_none() {
        let notice = record("hello").revocation().unwrap();
        assert_eq!(notice.module.as_deref(), Some("hello"));
        let legacy = "id = \"ovr-0123abcd\"\nmodule_dir = \"/p/m\"\nrelaxes = \"allow-read:data\"\nscope = \"module\"\nrequested_by = \"alice\"\nrequested_at = \"\"\nexpires = \"2027-01-01\"\n[revoked]\nby = \"bob\"\nat = \"2026-12-01T10:00:00Z\"\nreason = \"old\"\n";
        let parsed = IndexRecord::parse(legacy, "old.toml").unwrap();
        assert_eq!(parsed.file_name(), "ovr-0123abcd.toml");
        assert_eq!(parsed.revocation().unwrap().module, None);
    }
}
