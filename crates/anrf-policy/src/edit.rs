//! Edits of a manifest's text that keep the author's comments and layout
//! (`toml_edit`): adding an override, an approval, a revocation, and declaring the
//! capability an override asks for. Text in, text out: the CLI reads and writes the
//! file and re-parses the result with `anrf-format`.

use anrf_format::{Approval, Override, Relaxation, Revocation};
use serde::Serialize;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use crate::error::PolicyError;

/// What [`declare`] changed, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestEdit {
    /// Nothing: the manifest already declares it.
    AlreadyDeclared,
    /// A line was added or changed, described here.
    Declared(String),
}

fn err(origin: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::ManifestEdit {
        origin: origin.into(),
        message: message.into(),
    }
}

fn parse(text: &str, origin: &str) -> Result<DocumentMut, PolicyError> {
    text.parse::<DocumentMut>()
        .map_err(|e| err(origin, e.to_string()))
}

fn to_table<T: Serialize>(v: &T, origin: &str) -> Result<Table, PolicyError> {
    let text = toml::to_string(v).map_err(|e| err(origin, e.to_string()))?;
    let doc = parse(&text, origin)?;
    Ok(doc.as_table().clone())
}

fn security<'d>(doc: &'d mut DocumentMut, origin: &str) -> Result<&'d mut Table, PolicyError> {
    doc.get_mut("security")
        .and_then(Item::as_table_mut)
        .ok_or_else(|| err(origin, "no `[security]` table"))
}

/// The overrides array, converting an empty inline `overrides = []`: in a manifest
/// `[[security.overrides]]`; in a project policy (no `[security]`, a `version`
/// key) the top-level `[[overrides]]`, which holds `project`-scoped overrides.
fn overrides<'d>(
    doc: &'d mut DocumentMut,
    origin: &str,
) -> Result<&'d mut ArrayOfTables, PolicyError> {
    let (table, name): (&mut Table, &str) = if doc.contains_key("security") {
        (security(doc, origin)?, "security.overrides")
    } else if doc.contains_key("version") {
        (doc.as_table_mut(), "overrides")
    } else {
        return Err(err(
            origin,
            "neither a manifest (`[security]`) nor a project policy (`version`)",
        ));
    };
    let convert = match table.get("overrides") {
        None => true,
        Some(Item::Value(v)) => match v.as_array() {
            Some(a) if a.is_empty() => true,
            _ => {
                return Err(err(
                    origin,
                    format!("`{name}` is an inline array: write each override as `[[{name}]]`"),
                ));
            }
        },
        Some(Item::ArrayOfTables(_)) => false,
        Some(_) => return Err(err(origin, format!("`{name}` must be an array"))),
    };
    if convert {
        table.insert("overrides", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    table
        .get_mut("overrides")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| err(origin, format!("`{name}` must be an array of tables")))
}

fn find<'d>(
    doc: &'d mut DocumentMut,
    id: &str,
    origin: &str,
) -> Result<&'d mut Table, PolicyError> {
    overrides(doc, origin)?
        .iter_mut()
        .find(|t| t.get("id").and_then(Item::as_str) == Some(id))
        .ok_or_else(|| err(origin, format!("no override `{id}` in `{origin}`")))
}

/// Appends `ovr` to `[[security.overrides]]` of a manifest, or to `[[overrides]]`
/// of a project policy.
pub fn add_override(text: &str, ovr: &Override, origin: &str) -> Result<String, PolicyError> {
    let mut doc = parse(text, origin)?;
    let mut table = to_table(ovr, origin)?;
    // `approvals = []` reads better than an absent key for a fresh request.
    table.remove("approvals");
    table.insert("approvals", value(toml_edit::Array::new()));
    overrides(&mut doc, origin)?.push(table);
    Ok(doc.to_string())
}

/// Appends `approval` to override `id`.
pub fn add_approval(
    text: &str,
    id: &str,
    approval: &Approval,
    origin: &str,
) -> Result<String, PolicyError> {
    let mut doc = parse(text, origin)?;
    let table = to_table(approval, origin)?;
    let entry = find(&mut doc, id, origin)?;
    let existing: Vec<Table> = match entry.get("approvals") {
        None => Vec::new(),
        Some(Item::ArrayOfTables(a)) => a.iter().cloned().collect(),
        Some(Item::Value(v)) => match v.as_array() {
            Some(a) if a.is_empty() => Vec::new(),
            Some(a) => a
                .iter()
                .map(|v| v.as_inline_table().map(|t| t.clone().into_table()))
                .collect::<Option<Vec<Table>>>()
                .ok_or_else(|| err(origin, format!("approvals of `{id}` must be tables")))?,
            None => return Err(err(origin, format!("approvals of `{id}` must be an array"))),
        },
        Some(_) => return Err(err(origin, format!("approvals of `{id}` must be an array"))),
    };
    let mut array = ArrayOfTables::new();
    for t in existing {
        array.push(t);
    }
    array.push(table);
    entry.insert("approvals", Item::ArrayOfTables(array));
    Ok(doc.to_string())
}

/// Marks override `id` revoked.
pub fn set_revoked(
    text: &str,
    id: &str,
    revocation: &Revocation,
    origin: &str,
) -> Result<String, PolicyError> {
    let mut doc = parse(text, origin)?;
    let table = to_table(revocation, origin)?;
    let entry = find(&mut doc, id, origin)?;
    if entry.contains_key("revoked") {
        return Err(err(origin, format!("override `{id}` is already revoked")));
    }
    // Keep `revoked` above the approvals so it is seen first.
    let approvals = entry.remove("approvals");
    entry.insert("revoked", value(table.into_inline_table()));
    if let Some(a) = approvals {
        entry.insert("approvals", a);
    }
    Ok(doc.to_string())
}

/// Declares in `[security]` what `relaxation` asks for when the manifest does not
/// yet: the directory (`/PATH` in the guest), the environment variable, the raised
/// limit, or `memory_safety = "sandbox-only"`.
pub fn declare(
    text: &str,
    relaxation: &Relaxation,
    origin: &str,
) -> Result<(String, ManifestEdit), PolicyError> {
    let mut doc = parse(text, origin)?;
    let sec = security(&mut doc, origin)?;
    let edit = match relaxation {
        Relaxation::MemoryUnsafe => {
            if sec.get("memory_safety").and_then(Item::as_str) == Some("sandbox-only") {
                ManifestEdit::AlreadyDeclared
            } else {
                sec.insert("memory_safety", value("sandbox-only"));
                ManifestEdit::Declared("`memory_safety = \"sandbox-only\"`".into())
            }
        }
        Relaxation::AllowRead(p) | Relaxation::AllowWrite(p) => {
            let access = if matches!(relaxation, Relaxation::AllowRead(_)) {
                "read-only"
            } else {
                "read-write"
            };
            let caps = sec
                .get_mut("capabilities")
                .and_then(Item::as_table_like_mut)
                .ok_or_else(|| err(origin, "no `[security.capabilities]` table"))?;
            let dirs = caps
                .get_mut("dirs")
                .and_then(Item::as_array_mut)
                .ok_or_else(|| {
                    err(
                        origin,
                        "`security.capabilities.dirs` must be an inline array",
                    )
                })?;
            let host = p.as_str().trim_end_matches('/');
            let present = dirs.iter().any(|d| {
                d.as_inline_table().is_some_and(|t| {
                    t.get("host")
                        .and_then(|h| h.as_str())
                        .map(|h| h.trim_end_matches('/'))
                        == Some(host)
                        && t.get("access").and_then(|a| a.as_str()) == Some(access)
                })
            });
            if present {
                ManifestEdit::AlreadyDeclared
            } else {
                let guest = format!("/{host}");
                let mut t = toml_edit::InlineTable::new();
                t.insert("guest", guest.as_str().into());
                t.insert("host", host.into());
                t.insert("access", access.into());
                dirs.push(t);
                ManifestEdit::Declared(format!(
                    "`{{ guest = \"{guest}\", host = \"{host}\", access = \"{access}\" }}` in `capabilities.dirs`"
                ))
            }
        }
        Relaxation::AllowEnv(name) => {
            let env = sec
                .get_mut("capabilities")
                .and_then(Item::as_table_like_mut)
                .and_then(|c| c.get_mut("env"))
                .and_then(Item::as_array_mut)
                .ok_or_else(|| {
                    err(
                        origin,
                        "`security.capabilities.env` must be an inline array",
                    )
                })?;
            if env.iter().any(|v| v.as_str() == Some(name.as_str())) {
                ManifestEdit::AlreadyDeclared
            } else {
                env.push(name.as_str());
                ManifestEdit::Declared(format!("`\"{name}\"` in `capabilities.env`"))
            }
        }
        Relaxation::AllowNetwork(host) => {
            let net = sec
                .get_mut("capabilities")
                .and_then(Item::as_table_like_mut)
                .and_then(|c| c.get_mut("network"))
                .and_then(Item::as_array_mut)
                .ok_or_else(|| {
                    err(
                        origin,
                        "`security.capabilities.network` must be an inline array",
                    )
                })?;
            if net.iter().any(|v| v.as_str() == Some(host.as_str())) {
                ManifestEdit::AlreadyDeclared
            } else {
                net.push(host.as_str());
                ManifestEdit::Declared(format!("`\"{host}\"` in `capabilities.network`"))
            }
        }
        Relaxation::Raise(limit, v) => {
            let limits = sec
                .get_mut("limits")
                .and_then(Item::as_table_like_mut)
                .ok_or_else(|| err(origin, "no `[security.limits]` table"))?;
            limits.insert(limit.as_str(), value(i64::try_from(*v).unwrap_or(i64::MAX)));
            ManifestEdit::Declared(format!("`{limit} = {v}` in `[security.limits]`"))
        }
        // Neither is written in the manifest: the threads proposal is in the
        // artifact, and compile budgets exist only as overrides.
        Relaxation::Threads | Relaxation::RaiseBudget(..) => ManifestEdit::AlreadyDeclared,
    };
    // The effect the capability serves, so the module says what it needs
    // (`ANRF-M009` otherwise) in the same step.
    let effect = match relaxation {
        Relaxation::AllowRead(_) => Some("fs-read"),
        Relaxation::AllowWrite(_) => Some("fs-write"),
        Relaxation::AllowEnv(_) => Some("env"),
        Relaxation::AllowNetwork(_) => Some("network"),
        _ => None,
    };
    let effect_added = match effect {
        Some(effect) => declare_effect(&mut doc, effect, origin)?,
        None => false,
    };
    let edit = match (edit, effect) {
        (edit, Some(effect)) if effect_added => {
            let also = format!("`\"{effect}\"` in `logic.effects`");
            ManifestEdit::Declared(match edit {
                ManifestEdit::Declared(what) => format!("{what} and {also}"),
                ManifestEdit::AlreadyDeclared => also,
            })
        }
        (edit, _) => edit,
    };
    Ok((doc.to_string(), edit))
}

/// Adds `effect` to `logic.effects` unless it is there; whether it was added.
fn declare_effect(
    doc: &mut toml_edit::DocumentMut,
    effect: &str,
    origin: &str,
) -> Result<bool, PolicyError> {
    let Some(effects) = doc
        .get_mut("logic")
        .and_then(Item::as_table_like_mut)
        .and_then(|l| l.get_mut("effects"))
    else {
        // No effects listed: nothing to add to (the manifest check says so).
        return Ok(false);
    };
    let effects = effects
        .as_array_mut()
        .ok_or_else(|| err(origin, "`logic.effects` must be an inline array"))?;
    if effects.iter().any(|v| v.as_str() == Some(effect)) {
        return Ok(false);
    }
    effects.push(effect);
    Ok(true)
}
