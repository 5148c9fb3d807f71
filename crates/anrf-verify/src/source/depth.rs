//! A cheap lexical pre-scan that bounds how deeply a Rust file nests before
//! `syn` (a recursive-descent parser) and the visitor see it.
//!
//! A hostile file of a thousand nested parentheses would otherwise overflow the
//! stack and abort the verifier. The scan skips comments, string, byte-string,
//! raw-string and character literals, and measures, with the position where a
//! limit is first exceeded:
//!
//! - bracket depth (`(`, `[`, `{`),
//! - unclosed `<` within one statement (generic arguments nest through them),
//! - runs of prefix operators and keywords (`!!!!x`, `&&&&x`, `|| || ||`,
//!   `return return`), which nest without brackets,
//! - `=` and `else` within one statement (right-associative assignment and
//!   `else if` chains nest too).
//!
//! Real code stays far below every limit; the parser also runs on a thread with
//! a large stack (see `check_rust`), so anything within the limits is parsed
//! safely.

/// The most any measure may reach.
pub(crate) const MAX_NESTING: usize = 128;

/// The largest Rust file the verifier parses.
pub(crate) const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// Where a file nests too deeply, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooDeep {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What nests, e.g. `brackets`.
    pub what: &'static str,
}

#[derive(Default, Clone, Copy)]
struct Statement {
    angles: usize,
    assigns: usize,
    elses: usize,
}

const PREFIX_KEYWORDS: &[&str] = &[
    "mut", "move", "return", "break", "box", "dyn", "impl", "ref", "async", "const", "static",
    "unsafe", "yield", "become", "await",
];

/// The first place `src` nests beyond [`MAX_NESTING`], if any.
pub(crate) fn too_deep(src: &str) -> Option<TooDeep> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let (mut line, mut column) = (1usize, 1usize);
    // Statement counters per bracket level; the bottom one is the file.
    let mut levels: Vec<Statement> = vec![Statement::default()];
    let mut prefix_run = 0usize;
    // Whether the last token closed a block: only `else` continues the statement.
    let mut after_brace = false;
    let at = |line: usize, column: usize, what: &'static str| Some(TooDeep { line, column, what });
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        let (start_line, start_column) = (line, column);
        // Advance over `n` characters, keeping line and column.
        let mut step = |i: &mut usize, n: usize| {
            for _ in 0..n {
                if let Some(&ch) = chars.get(*i) {
                    if ch == '\n' {
                        line += 1;
                        column = 1;
                    } else {
                        column += 1;
                    }
                }
                *i += 1;
            }
        };
        if c.is_whitespace() {
            step(&mut i, 1);
            continue;
        }
        if c == '/' && next == Some('/') {
            while chars.get(i).is_some_and(|ch| *ch != '\n') {
                step(&mut i, 1);
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('/'), Some('*')) => {
                        depth += 1;
                        step(&mut i, 2);
                    }
                    (Some('*'), Some('/')) => {
                        depth = depth.saturating_sub(1);
                        step(&mut i, 2);
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => step(&mut i, 1),
                }
            }
            continue;
        }
        if after_brace {
            after_brace = false;
            if !starts_word(&chars, i, "else")
                && let Some(s) = levels.last_mut()
            {
                s.elses = 0;
            }
        }
        // Raw strings: r"..", r#".."#, br#".."#, cr#".."#.
        if let Some(len) = raw_string_prefix(&chars, i) {
            let hashes = len.saturating_sub(1) - usize::from(matches!(c, 'b' | 'c'));
            step(&mut i, len + 1);
            loop {
                match chars.get(i) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) => {
                        step(&mut i, 1 + hashes);
                        break;
                    }
                    Some(_) => step(&mut i, 1),
                }
            }
            prefix_run = 0;
            continue;
        }
        if c == '"' || (matches!(c, 'b' | 'c') && next == Some('"')) {
            step(&mut i, if c == '"' { 1 } else { 2 });
            loop {
                match chars.get(i) {
                    None => break,
                    Some('\\') => step(&mut i, 2),
                    Some('"') => {
                        step(&mut i, 1);
                        break;
                    }
                    Some(_) => step(&mut i, 1),
                }
            }
            prefix_run = 0;
            continue;
        }
        if c == '\'' || (c == 'b' && next == Some('\'')) {
            let skip = usize::from(c != '\'');
            let open = i + skip;
            match (chars.get(open + 1), chars.get(open + 2)) {
                // A character literal with an escape: skip to the closing quote.
                (Some('\\'), _) => {
                    step(&mut i, skip + 3);
                    while chars.get(i).is_some_and(|ch| *ch != '\'' && *ch != '\n') {
                        step(&mut i, 1);
                    }
                    step(&mut i, 1);
                }
                // `'x'`.
                (Some(_), Some('\'')) => step(&mut i, skip + 3),
                // A lifetime or label: the quote, then an identifier.
                _ => step(&mut i, skip + 1),
            }
            prefix_run = 0;
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let begin = i;
            while chars
                .get(i)
                .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_')
            {
                step(&mut i, 1);
            }
            let word: String = chars.get(begin..i).unwrap_or_default().iter().collect();
            if PREFIX_KEYWORDS.contains(&word.as_str()) {
                prefix_run += 1;
                if prefix_run > MAX_NESTING {
                    return at(
                        start_line,
                        start_column,
                        "prefix operators and keywords in a row",
                    );
                }
            } else {
                prefix_run = 0;
            }
            if word == "else"
                && let Some(s) = levels.last_mut()
            {
                s.elses += 1;
                if s.elses > MAX_NESTING {
                    return at(start_line, start_column, "`else` branches in one statement");
                }
            }
            continue;
        }
        // Punctuation.
        let two = next.map(|n| [c, n]);
        match c {
            '(' | '[' | '{' => {
                levels.push(Statement::default());
                prefix_run = 0;
                if levels.len() > MAX_NESTING + 1 {
                    return at(start_line, start_column, "brackets");
                }
            }
            ')' | ']' | '}' => {
                if levels.len() > 1 {
                    levels.pop();
                }
                if c == '}'
                    && let Some(s) = levels.last_mut()
                {
                    // A block ends a statement unless `else` follows; the
                    // `else` counter survives so `else if` chains are counted.
                    s.angles = 0;
                    s.assigns = 0;
                    after_brace = true;
                }
                prefix_run = 0;
            }
            ';' => {
                if let Some(s) = levels.last_mut() {
                    *s = Statement::default();
                }
                prefix_run = 0;
            }
            '!' | '-' | '*' | '&' | '|' => {
                let is_binary_pair = matches!(two, Some(['-', '>'] | ['!', '=']));
                if is_binary_pair {
                    prefix_run = 0;
                    step(&mut i, 2);
                    continue;
                }
                prefix_run += 1;
                if prefix_run > MAX_NESTING {
                    return at(
                        start_line,
                        start_column,
                        "prefix operators and keywords in a row",
                    );
                }
            }
            '<' => {
                prefix_run = 0;
                if two == Some(['<', '=']) {
                    step(&mut i, 2);
                    continue;
                }
                if let Some(s) = levels.last_mut() {
                    s.angles += 1;
                    if s.angles > MAX_NESTING {
                        return at(start_line, start_column, "unclosed `<` in one statement");
                    }
                }
            }
            '>' => {
                prefix_run = 0;
                if let Some(s) = levels.last_mut() {
                    s.angles = s.angles.saturating_sub(1);
                }
            }
            '=' => {
                prefix_run = 0;
                if matches!(two, Some(['=', '=' | '>'])) {
                    step(&mut i, 2);
                    continue;
                }
                if let Some(s) = levels.last_mut() {
                    s.assigns += 1;
                    if s.assigns > MAX_NESTING {
                        return at(start_line, start_column, "assignments in one statement");
                    }
                }
            }
            _ => prefix_run = 0,
        }
        step(&mut i, 1);
    }
    None
}

/// Whether the word `word` (not a longer identifier) starts at `i`.
fn starts_word(chars: &[char], i: usize, word: &str) -> bool {
    let n = word.chars().count();
    chars
        .get(i..i + n)
        .is_some_and(|w| w.iter().copied().eq(word.chars()))
        && !chars
            .get(i + n)
            .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_')
}

/// The length of a raw string's opening (`r#"` is 3) when one starts at `i`.
fn raw_string_prefix(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    // Not the tail of an identifier such as `bar"`.
    if i > 0
        && chars
            .get(i - 1)
            .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_')
    {
        return None;
    }
    j += 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some(j - i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_is_not_too_deep() {
        let src = "fn main() {\n    let v: Vec<Vec<u8>> = vec![vec![1]];\n    if a < b && c < d { x = 1; } else if e { y = 2; } else { z = 3; }\n    let s = \"((((((((\"; let r = r#\"[[[[\"#; let c = '('; let l: &'static str = \"\";\n    // ((((((((((((\n    /* {{{{{{ /* nested */ }}} */\n    let f = |x: &&u8| **x; let _ = !!true;\n}\n";
        assert_eq!(too_deep(src), None);
    }

    #[test]
    fn nested_brackets_are_found_with_their_position() {
        let src = format!(
            "fn main() {{\n    let x = {}1{};\n}}\n",
            "(".repeat(1000),
            ")".repeat(1000)
        );
        let found = too_deep(&src).unwrap();
        assert_eq!(found.what, "brackets");
        assert_eq!(found.line, 2);
        assert!(found.column > 100, "{found:?}");
    }

    #[test]
    fn brackets_inside_literals_and_comments_do_not_count() {
        let src = format!(
            "fn main() {{ let s = \"{}\"; let b = b\"{}\"; let r = r##\"{}\"##; }}\n// {}\n",
            "(".repeat(500),
            "[".repeat(500),
            "{\"#".repeat(500),
            "(".repeat(500)
        );
        assert_eq!(too_deep(&src), None);
    }

    #[test]
    fn chains_without_brackets_are_bounded_too() {
        let unary = format!("fn main() {{ let x = {}true; }}\n", "!".repeat(1000));
        assert_eq!(
            too_deep(&unary).unwrap().what,
            "prefix operators and keywords in a row"
        );
        let generics = format!("type T = {}u8{};\n", "Vec<".repeat(500), ">".repeat(500));
        assert_eq!(
            too_deep(&generics).unwrap().what,
            "unclosed `<` in one statement"
        );
        let assign = format!("fn main() {{ {}1; }}\n", "a = ".repeat(500));
        assert_eq!(
            too_deep(&assign).unwrap().what,
            "assignments in one statement"
        );
        let elses = format!(
            "fn main() {{ if a {{}} {} }}\n",
            "else if a {} ".repeat(500)
        );
        assert_eq!(
            too_deep(&elses).unwrap().what,
            "`else` branches in one statement"
        );
        let many_statements = format!(
            "fn main() {{ {} }}\n",
            "if a { b() } else { c() } ".repeat(500)
        );
        assert_eq!(
            too_deep(&many_statements),
            None,
            "separate `if`s are no chain"
        );
    }
}
