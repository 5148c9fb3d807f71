//! Domain values parsed once at the edge (parse, don't validate): a value of one of
//! these types is valid by construction.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a domain value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error(
        "module name `{0}` must start with a lowercase letter and contain only `a-z`, `0-9` and `-` (at most 64 characters)"
    )]
    ModuleName(String),
    #[error(
        "environment variable name `{0}` must contain only `A-Z`, `a-z`, `0-9` and `_` and not start with a digit"
    )]
    EnvName(String),
    #[error("path `{0}` must be relative to the module directory (no leading `/`)")]
    NotRelative(String),
    #[error("path `{0}` may not climb out of the module directory with `..`")]
    Climbs(String),
    #[error("guest path `{0}` must be absolute (start with `/`), e.g. `/data`")]
    GuestNotAbsolute(String),
    #[error("path `{0}` is empty or contains characters that are not allowed (NUL, `\\`)")]
    BadPath(String),
    #[error("override id `{0}` must look like `ovr-` followed by 8 to 32 lowercase hex digits")]
    OverrideId(String),
    #[error("digest `{0}` must be `sha256:` followed by 64 lowercase hex digits")]
    Digest(String),
    #[error("sha256 `{0}` must be 64 lowercase hex digits")]
    Sha256(String),
    #[error("justification is empty")]
    EmptyJustification,
    #[error("justification `{0}` is a placeholder, not a reason")]
    PlaceholderJustification(String),
    #[error(
        "justification `{0}` is too short: say what the module needs, why, and why the secure alternative does not work (at least 20 characters and 4 words)"
    )]
    ThinJustification(String),
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                let check: fn(&str) -> Result<(), NameError> = $check;
                check(&value)?;
                Ok(Self(value))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A module's name: `[a-z][a-z0-9-]*`, at most 64 characters.
    ModuleName,
    |s| {
        let ok = s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok { Ok(()) } else { Err(NameError::ModuleName(s.to_owned())) }
    }
);

string_newtype!(
    /// The name of an environment variable a module may read.
    EnvName,
    |s| {
        let ok = !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok { Ok(()) } else { Err(NameError::EnvName(s.to_owned())) }
    }
);

string_newtype!(
    /// A host path relative to the module directory that cannot climb out of it.
    RelPath,
    |s| {
        check_path_chars(s)?;
        if s.starts_with('/') {
            return Err(NameError::NotRelative(s.to_owned()));
        }
        if s.split('/').any(|part| part == "..") {
            return Err(NameError::Climbs(s.to_owned()));
        }
        Ok(())
    }
);

string_newtype!(
    /// A path as the guest sees it: absolute, without `..`.
    GuestPath,
    |s| {
        check_path_chars(s)?;
        if !s.starts_with('/') {
            return Err(NameError::GuestNotAbsolute(s.to_owned()));
        }
        if s.split('/').any(|part| part == "..") {
            return Err(NameError::Climbs(s.to_owned()));
        }
        Ok(())
    }
);

string_newtype!(
    /// The identifier of an override: `ovr-` and 8 to 32 lowercase hex digits.
    OverrideId,
    |s| {
        let hexpart = s.strip_prefix("ovr-").unwrap_or("");
        let ok = (8..=32).contains(&hexpart.len()) && hexpart.chars().all(is_lower_hex);
        if ok { Ok(()) } else { Err(NameError::OverrideId(s.to_owned())) }
    }
);

string_newtype!(
    /// A content digest: `sha256:` and 64 lowercase hex digits.
    ContentDigest,
    |s| {
        let hexpart = s.strip_prefix("sha256:").unwrap_or("");
        if hexpart.len() == 64 && hexpart.chars().all(is_lower_hex) {
            Ok(())
        } else {
            Err(NameError::Digest(s.to_owned()))
        }
    }
);

string_newtype!(
    /// A bare SHA-256 in lowercase hex, as recorded for the built artifact.
    Sha256Hex,
    |s| {
        if s.len() == 64 && s.chars().all(is_lower_hex) {
            Ok(())
        } else {
            Err(NameError::Sha256(s.to_owned()))
        }
    }
);

string_newtype!(
    /// Why an override is needed, in real words.
    ///
    /// Refused: empty text, placeholders (`n/a`, `test`, `todo`, `tbd`, ...), a
    /// repeated character, or fewer than 20 characters and 4 words.
    Justification,
    check_justification
);

impl ContentDigest {
    /// The digest of `bytes` under SHA-256.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self::from_sha256(sha2::Sha256::digest(bytes).into())
    }

    pub(crate) fn from_sha256(hash: [u8; 32]) -> Self {
        Self(format!("sha256:{}", hex::encode(hash)))
    }
}

impl Sha256Hex {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(hex::encode(sha2::Sha256::digest(bytes)))
    }
}

fn is_lower_hex(c: char) -> bool {
    c.is_ascii_digit() || ('a'..='f').contains(&c)
}

fn check_path_chars(s: &str) -> Result<(), NameError> {
    if s.is_empty() || s.contains('\0') || s.contains('\\') {
        Err(NameError::BadPath(s.to_owned()))
    } else {
        Ok(())
    }
}

const PLACEHOLDERS: &[&str] = &[
    "n/a",
    "na",
    "none",
    "nil",
    "null",
    "test",
    "testing",
    "todo",
    "tbd",
    "tba",
    "fixme",
    "xxx",
    "asdf",
    "foo",
    "bar",
    "because",
    "needed",
    "required",
    "necessary",
    "whatever",
    "lorem ipsum",
    "placeholder",
    "justification",
    "reason",
    "no reason",
    "see above",
    "-",
    "...",
    "?",
    "ok",
    "yes",
    "please",
];

fn check_justification(s: &str) -> Result<(), NameError> {
    let text = s.trim();
    if text.is_empty() {
        return Err(NameError::EmptyJustification);
    }
    let lowered = text.to_lowercase();
    let normalized = lowered.trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    if PLACEHOLDERS.contains(&normalized) || PLACEHOLDERS.contains(&lowered.as_str()) {
        return Err(NameError::PlaceholderJustification(s.to_owned()));
    }
    let letters: Vec<char> = lowered.chars().filter(|c| !c.is_whitespace()).collect();
    let distinct: std::collections::BTreeSet<char> = letters.iter().copied().collect();
    if distinct.len() <= 2 {
        return Err(NameError::PlaceholderJustification(s.to_owned()));
    }
    let words: Vec<&str> = lowered
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    let distinct_words: std::collections::BTreeSet<&str> = words.iter().copied().collect();
    if text.chars().count() < 20 || words.len() < 4 || distinct_words.len() < 3 {
        return Err(NameError::ThinJustification(s.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert!(RelPath::new("data/in").is_ok());
        assert_eq!(
            RelPath::new("/etc"),
            Err(NameError::NotRelative("/etc".into()))
        );
        assert_eq!(
            RelPath::new("a/../../b"),
            Err(NameError::Climbs("a/../../b".into()))
        );
        assert!(GuestPath::new("/data").is_ok());
        assert!(GuestPath::new("data").is_err());
        assert!(GuestPath::new("/data/../etc").is_err());
    }

    #[test]
    fn justifications_need_real_content() {
        for bad in [
            "",
            "   ",
            "n/a",
            "N/A.",
            "test",
            "TODO",
            "xxxxxxxxxxxxxxxxxxxxxxxxx",
            "abababababababababababab",
            "needs it",
            "because I want",
        ] {
            assert!(Justification::new(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(
            Justification::new("reads the shipped word list from data/ to filter stop words")
                .is_ok()
        );
    }

    #[test]
    fn names_and_ids() {
        assert!(ModuleName::new("word-count2").is_ok());
        assert!(ModuleName::new("Word").is_err());
        assert!(ModuleName::new("2words").is_err());
        assert!(EnvName::new("GREETING_1").is_ok());
        assert!(EnvName::new("A-B").is_err());
        assert!(OverrideId::new("ovr-0123abcd").is_ok());
        assert!(OverrideId::new("ovr-XYZ").is_err());
        let digest = ContentDigest::of(b"");
        assert_eq!(
            digest.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(ContentDigest::new(digest.as_str()).is_ok());
    }
}
