//! Sizes and durations as people write them: `67108864` or `64MiB`, `2000` or `2s`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A size in bytes, greater than zero.
///
/// Written as an integer (bytes) or a string with a unit: `B`, `KiB`, `MiB`, `GiB`
/// (powers of 1024) or `KB`, `MB`, `GB` (powers of 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "SizeOrInt", into = "u64")]
pub struct ByteSize(u64);

/// A duration in milliseconds, greater than zero.
///
/// Written as an integer (milliseconds) or a string with a unit: `ms`, `s`, `m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "SizeOrInt", into = "u64")]
pub struct Millis(u64);

/// Why a size or duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitError {
    #[error("`{0}` is not a number with an optional unit")]
    Malformed(String),
    #[error("unknown unit `{unit}` in `{input}` (use {allowed})")]
    UnknownUnit {
        input: String,
        unit: String,
        allowed: &'static str,
    },
    #[error("`{0}` must be greater than zero")]
    Zero(String),
    #[error("`{0}` is negative; it must be greater than zero")]
    Negative(String),
    #[error("`{0}` is not a whole number")]
    Fractional(String),
    #[error("`{0}` is too large")]
    Overflow(String),
}

const SIZE_UNITS: &str = "B, KiB, MiB, GiB, KB, MB or GB";
const DURATION_UNITS: &str = "ms, s or m";

/// Parses a size: bytes, or a number with a unit (`64MiB`, `1 GB`).
pub fn parse_size(input: &str) -> Result<ByteSize, UnitError> {
    let (number, unit) = split_number(input)?;
    let factor: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(UnitError::UnknownUnit {
                input: input.to_owned(),
                unit: other.to_owned(),
                allowed: SIZE_UNITS,
            });
        }
    };
    scaled(input, number, factor).map(ByteSize)
}

/// Parses a duration: milliseconds, or a number with a unit (`2s`, `500ms`, `1m`).
pub fn parse_duration(input: &str) -> Result<Millis, UnitError> {
    let (number, unit) = split_number(input)?;
    let factor: u64 = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        other => {
            return Err(UnitError::UnknownUnit {
                input: input.to_owned(),
                unit: other.to_owned(),
                allowed: DURATION_UNITS,
            });
        }
    };
    scaled(input, number, factor).map(Millis)
}

fn split_number(input: &str) -> Result<(u64, &str), UnitError> {
    let trimmed = input.trim();
    if trimmed.starts_with('-') && trimmed[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return Err(UnitError::Negative(input.to_owned()));
    }
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return Err(UnitError::Malformed(input.to_owned()));
    }
    let number = digits
        .parse::<u64>()
        .map_err(|_| UnitError::Overflow(input.to_owned()))?;
    Ok((number, unit.trim()))
}

fn scaled(input: &str, number: u64, factor: u64) -> Result<u64, UnitError> {
    let value = number
        .checked_mul(factor)
        .ok_or_else(|| UnitError::Overflow(input.to_owned()))?;
    if value == 0 {
        return Err(UnitError::Zero(input.to_owned()));
    }
    Ok(value)
}

impl ByteSize {
    /// A size of `bytes`; `None` for zero.
    pub const fn new(bytes: u64) -> Option<Self> {
        if bytes == 0 { None } else { Some(Self(bytes)) }
    }
    /// For constants: a zero fails to compile.
    pub(crate) const fn literal(bytes: u64) -> Self {
        assert!(bytes > 0, "a size is greater than zero");
        Self(bytes)
    }
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl Millis {
    /// A duration of `ms` milliseconds; `None` for zero.
    pub const fn new(ms: u64) -> Option<Self> {
        if ms == 0 { None } else { Some(Self(ms)) }
    }
    /// For constants: a zero fails to compile.
    pub(crate) const fn literal(ms: u64) -> Self {
        assert!(ms > 0, "a duration is greater than zero");
        Self(ms)
    }
    pub const fn ms(self) -> u64 {
        self.0
    }
    pub const fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_size(s)
    }
}

impl std::str::FromStr for Millis {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s)
    }
}

impl fmt::Display for ByteSize {
    /// The shortest exact binary form: `64MiB`, `1536KiB`, `1000B`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, factor) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0.is_multiple_of(factor) {
                return write!(f, "{}{unit}", self.0 / factor);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(60_000) {
            write!(f, "{}m", self.0 / 60_000)
        } else if self.0.is_multiple_of(1_000) {
            write!(f, "{}s", self.0 / 1_000)
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

impl From<ByteSize> for u64 {
    fn from(v: ByteSize) -> u64 {
        v.0
    }
}

impl From<Millis> for u64 {
    fn from(v: Millis) -> u64 {
        v.0
    }
}

/// What serde hands over for a size or duration: an integer or a string with a unit.
enum SizeOrInt {
    Int(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for SizeOrInt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SizeOrInt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number or a string with a unit")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SizeOrInt, E> {
                Ok(SizeOrInt::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SizeOrInt, E> {
                Ok(SizeOrInt::Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SizeOrInt, E> {
                Err(E::custom(UnitError::Fractional(v.to_string())))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SizeOrInt, E> {
                Ok(SizeOrInt::Text(v.to_owned()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl SizeOrInt {
    fn into_text(self) -> String {
        match self {
            SizeOrInt::Int(n) => n.to_string(),
            SizeOrInt::Text(s) => s,
        }
    }
}

impl TryFrom<SizeOrInt> for ByteSize {
    type Error = UnitError;
    fn try_from(v: SizeOrInt) -> Result<Self, Self::Error> {
        parse_size(&v.into_text())
    }
}

impl TryFrom<SizeOrInt> for Millis {
    type Error = UnitError;
    fn try_from(v: SizeOrInt) -> Result<Self, Self::Error> {
        parse_duration(&v.into_text())
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "bytes (> 0), or a number with a unit: B, KiB, MiB, GiB, KB, MB, GB",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^\\s*[0-9_]*[1-9][0-9_]*\\s*(B|KiB|MiB|GiB|KB|kB|MB|GB)?\\s*$" }
            ]
        })
    }
}

impl JsonSchema for Millis {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Millis".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "milliseconds (> 0), or a number with a unit: ms, s, m",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^\\s*[0-9_]*[1-9][0-9_]*\\s*(ms|s|m|min)?\\s*$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_units() {
        assert_eq!(parse_size("67108864").unwrap().bytes(), 64 << 20);
        assert_eq!(parse_size("64MiB").unwrap().bytes(), 64 << 20);
        assert_eq!(parse_size(" 1 GB ").unwrap().bytes(), 1_000_000_000);
        assert_eq!(parse_size("512KiB").unwrap().bytes(), 512 << 10);
        assert_eq!(parse_size("1_024").unwrap().bytes(), 1024);
    }

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("2000").unwrap().ms(), 2000);
        assert_eq!(parse_duration("2s").unwrap().ms(), 2000);
        assert_eq!(parse_duration("1m").unwrap().ms(), 60_000);
        assert_eq!(parse_duration("250ms").unwrap().ms(), 250);
    }

    #[test]
    fn bad_units_are_refused_with_the_allowed_list() {
        let err = parse_size("64MB/s").unwrap_err();
        assert!(err.to_string().contains("KiB, MiB"), "{err}");
        assert_eq!(parse_size("0").unwrap_err(), UnitError::Zero("0".into()));
        assert_eq!(
            parse_size("").unwrap_err(),
            UnitError::Malformed(String::new())
        );
        assert_eq!(
            parse_size("-1").unwrap_err(),
            UnitError::Negative("-1".into())
        );
        assert_eq!(
            parse_duration(" -5s").unwrap_err(),
            UnitError::Negative(" -5s".into())
        );
        assert_eq!(
            parse_size("-").unwrap_err(),
            UnitError::Malformed("-".into())
        );
        assert!(matches!(
            parse_size("99999999999GiB"),
            Err(UnitError::Overflow(_))
        ));
        assert!(matches!(
            parse_duration("5h"),
            Err(UnitError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn display_round_trips() {
        for text in ["64MiB", "1536KiB", "1000B", "1GiB"] {
            assert_eq!(parse_size(text).unwrap().to_string(), text);
        }
        for text in ["5s", "250ms", "2m"] {
            assert_eq!(parse_duration(text).unwrap().to_string(), text);
        }
    }
}
