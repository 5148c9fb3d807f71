//! Canonical JSON for event details: object keys sorted by their UTF-8 bytes,
//! no insignificant whitespace, strings and numbers as `serde_json` writes
//! them. Written by hand so the stored text does not depend on whether some
//! other crate in the build turned on `serde_json/preserve_order`.

use serde_json::Value;

/// The canonical text of `value`.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(key, out);
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    // Serializing a `&str` cannot fail; fall back to an escaped debug form
    // rather than panic if that ever changes.
    if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted);
    } else {
        use std::fmt::Write as _;
        let _ = write!(out, "{s:?}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sorts_keys_recursively_and_drops_whitespace() {
        let v = json!({"b": 1, "a": {"z": [true, null, "x\"y"], "c": 1.5}});
        assert_eq!(
            to_string(&v),
            r#"{"a":{"c":1.5,"z":[true,null,"x\"y"]},"b":1}"#
        );
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_value() {
        let v = json!({"ü": "\u{1}", "n": -3, "e": [], "o": {}});
        let text = to_string(&v);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }
}
