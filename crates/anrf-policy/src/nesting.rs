//! A bound on how deeply Cedar rules nest, checked on the text before
//! `cedar-policy` parses it. Cedar's parser turns the text into a tree by
//! recursion and frees it by recursion, with no limit of its own: a rule nested
//! a few thousand levels deep (`((((...))))`, `!(!(...))`, a long `||` chain, an
//! `if ... else if ...` ladder) overflows the thread's stack and aborts the
//! process. So the text is scanned first, and refused with a diagnostic when its
//! nesting could exceed [`MAX_CEDAR_NESTING`].
//!
//! The scan is lexical and counts soundly (it may over-count, never
//! under-count): it splits the text into statements at each top-level `;`, and
//! within each bracket (`(`, `[`, `{`) counts every token that can add a level to
//! the tree: the operators `||`, `&&`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `+`,
//! `-`, `*`, `!`, the member access `.`, and the keywords `if`, `has`, `like`,
//! `is`, `in`. A statement's bound is computed bottom-up: a bracket's bound is
//! one, plus the tokens counted directly inside it, plus the largest bound of a
//! bracket inside it. Chains count in full because Cedar builds them as a
//! left-deep tree (`a || b || c` is `(a || b) || c`). String literals and
//! `//` comments are skipped as Cedar's lexer skips them, so brackets in a string
//! count nothing.

use crate::error::PolicyError;

/// The deepest nesting accepted in Cedar rules, counted as the module docs say.
/// Far above what a readable rule needs (a `when` of 80 `resource.kind == "..."`
/// alternatives counts about 240), far below what overflows the smallest stack
/// the rules are parsed on (a 2 MiB thread, in an unoptimized build).
pub const MAX_CEDAR_NESTING: u32 = 256;

/// Refuses `text` when its nesting could exceed [`MAX_CEDAR_NESTING`].
pub(crate) fn check(text: &str, origin: &str) -> Result<(), PolicyError> {
    match scan(text.as_bytes(), MAX_CEDAR_NESTING) {
        Ok(()) => Ok(()),
        Err(line) => Err(PolicyError::Cedar {
            origin: origin.into(),
            message: format!(
                "the statement at line {line} nests deeper than {MAX_CEDAR_NESTING} levels \
                 (brackets, `if`, unary operators and each operator of a chain count one each); \
                 it is refused before parsing, which would exhaust the stack: split the condition \
                 into several `permit`/`forbid` rules, or test membership in a set \
                 (`[\"a\", \"b\"].contains(resource.kind)`) instead of a long `||` chain"
            ),
        }),
    }
}

/// One open bracket (or the statement itself, at the bottom of the stack).
#[derive(Debug, Clone, Copy, Default)]
struct Level {
    /// Tokens counted directly at this level.
    ops: u32,
    /// The largest bound of a closed bracket inside this level.
    max_child: u32,
}

impl Level {
    fn bound(self) -> u32 {
        1u32.saturating_add(self.ops).saturating_add(self.max_child)
    }
}

/// Scans `text`; `Err(line)` names the line (1-based) of the first statement
/// whose bound exceeds `limit`. Memory is bounded by `limit` (the stack of open
/// brackets never grows past it) and time is linear in the text.
fn scan(text: &[u8], limit: u32) -> Result<(), usize> {
    let mut stack: Vec<Level> = vec![Level::default()];
    // Sum of `1 + ops` over the open levels: a lower bound of the final bound,
    // kept so that a deep or long statement is refused as soon as it is seen.
    let mut open_sum: u32 = 1;
    let mut line = 1usize;
    let mut statement_line = 1usize;
    // Whether the next token starts a statement (its line is the one reported).
    let mut at_start = true;
    let mut i = 0usize;
    let count = |stack: &mut Vec<Level>, open_sum: &mut u32| {
        if let Some(top) = stack.last_mut() {
            top.ops = top.ops.saturating_add(1);
        }
        *open_sum = open_sum.saturating_add(1);
    };
    while let Some(&b) = text.get(i) {
        if at_start && !b.is_ascii_whitespace() && !text[i..].starts_with(b"//") {
            statement_line = line;
            at_start = false;
        }
        match b {
            b'\n' => line += 1,
            b'"' => {
                // A string literal: `\` escapes the next byte, as in Cedar's lexer.
                i += 1;
                while let Some(&c) = text.get(i) {
                    match c {
                        b'\\' => {
                            if text.get(i + 1) == Some(&b'\n') {
                                line += 1;
                            }
                            i += 1;
                        }
                        b'"' => break,
                        b'\n' => line += 1,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'/' if text.get(i + 1) == Some(&b'/') => {
                while let Some(&c) = text.get(i) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push(Level::default());
                open_sum = open_sum.saturating_add(1);
            }
            // An unmatched closer is Cedar's syntax error to report; it never
            // lowers the count below the statement itself.
            b')' | b']' | b'}' if stack.len() > 1 => {
                let closed = stack.pop().unwrap_or_default();
                open_sum = open_sum.saturating_sub(1).saturating_sub(closed.ops);
                let bound = closed.bound();
                if bound > limit {
                    return Err(statement_line);
                }
                if let Some(parent) = stack.last_mut() {
                    parent.max_child = parent.max_child.max(bound);
                }
            }
            b';' if stack.len() == 1 => {
                if stack[0].bound() > limit {
                    return Err(statement_line);
                }
                stack[0] = Level::default();
                open_sum = 1;
                at_start = true;
            }
            b'|' | b'&' | b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'.' => {
                // Two-character operators count once.
                let next = text.get(i + 1).copied();
                let pair = matches!(
                    (b, next),
                    (b'|', Some(b'|'))
                        | (b'&', Some(b'&'))
                        | (b'=' | b'!' | b'<' | b'>', Some(b'='))
                );
                if pair {
                    i += 1;
                }
                count(&mut stack, &mut open_sum);
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while text
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                if matches!(
                    text.get(start..i),
                    Some(b"if" | b"has" | b"like" | b"is" | b"in")
                ) {
                    count(&mut stack, &mut open_sum);
                }
                if open_sum > limit {
                    return Err(statement_line);
                }
                continue;
            }
            _ => {}
        }
        if open_sum > limit {
            return Err(statement_line);
        }
        i += 1;
    }
    // The end of the text closes whatever is still open.
    while stack.len() > 1 {
        let closed = stack.pop().unwrap_or_default();
        if let Some(parent) = stack.last_mut() {
            parent.max_child = parent.max_child.max(closed.bound());
        }
    }
    if stack[0].bound() > limit {
        return Err(statement_line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(text: &str) -> u32 {
        // The least limit the text passes.
        (0..=10_000)
            .find(|&l| scan(text.as_bytes(), l).is_ok())
            .unwrap()
    }

    #[test]
    fn plain_rules_count_little() {
        assert_eq!(bound("permit(principal, action, resource);"), 2);
        let rule = r#"permit(principal in Role::"security", action == Action::"approve", resource)
            when { resource.kind == "allow-read" && context.profile != "prod" };"#;
        // `in`, `==` and the `when` body's `.`, `==`, `&&`, `.`, `!=`.
        assert_eq!(bound(rule), 7);
    }

    #[test]
    fn brackets_and_chains_add_up() {
        assert_eq!(bound("((((x))))"), 5);
        assert_eq!(bound("a || b || c || d"), 4);
        assert_eq!(bound("(a || b) && (c || d || e)"), 5);
        assert_eq!(bound("if a then if b then c else d else e"), 3);
        assert_eq!(bound("!!!!x"), 5);
        assert_eq!(bound("x.a.b.c"), 4);
        assert_eq!(bound("[[{a: [1]}]]"), 5);
    }

    #[test]
    fn statements_are_counted_apart() {
        let one = "permit(principal, action, resource) when { a || b || c };\n";
        assert_eq!(bound(&one.repeat(500)), bound(one));
    }

    #[test]
    fn strings_and_comments_count_nothing() {
        let deep = "(".repeat(5_000);
        assert_eq!(bound(&format!("x == \"{deep}\\\"{deep}\"")), 2);
        assert_eq!(bound(&format!("x // {deep}\n")), 1);
        // A `;` in a string does not end the statement; one in a comment neither.
        assert_eq!(bound("a || \";\" || b // ;\n || c"), 4);
    }

    #[test]
    fn unclosed_and_unmatched_brackets_still_count() {
        assert!(scan("(".repeat(5_000).as_bytes(), 256).is_err());
        assert!(scan(format!("{};", "(".repeat(300)).as_bytes(), 256).is_err());
        assert!(scan(format!("{}x", ")".repeat(5_000)).as_bytes(), 256).is_ok());
        // A `;` inside brackets does not reset the count.
        let text = format!("({};", "(x) || ".repeat(300));
        assert!(scan(text.as_bytes(), 256).is_err());
    }

    #[test]
    fn deep_text_is_refused_with_its_line() {
        let deep = format!(
            "permit(principal, action, resource);\n\npermit(principal, action, resource) when {{ {}true{} }};",
            "(".repeat(5_000),
            ")".repeat(5_000)
        );
        let err = check(&deep, "approve.cedar").unwrap_err().to_string();
        assert!(err.contains("`approve.cedar`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("deeper than 256 levels"), "{err}");
    }
}
