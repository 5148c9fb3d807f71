//! A screen run on the model's sources *before* they are compiled: anything that
//! reaches the host at compile time, where no sandbox watches.
//!
//! `include_str!("/home/me/.ssh/id_ed25519")` or `env!("ANRF_LLM_API_KEY")` would
//! copy host data into the artifact while it is built; `#[path = "/etc/passwd"]`
//! would feed a host file to the compiler (and its diagnostics back to the model).
//! The verifier checks what the module does when it runs; this screen covers what
//! the build does. The sources are read as Rust tokens, so comments and string
//! literals never trigger it, and macro arguments are searched too.
//!
//! A macro whose *name* is a macro variable (`$name!(...)` inside `macro_rules!`)
//! is refused as well: `macro_rules! m { ($n:ident) => { $n!("KEY") } } m!(env)`
//! would otherwise call `env!` without ever spelling it. The screen is the first
//! line; the second is `anrf-build`, which compiles guests with a cleared,
//! allow-listed environment, so no secret is visible to `env!` however it is named.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Macros that read host files or the build environment.
pub const REFUSED_MACROS: [&str; 5] = [
    "include",
    "include_str",
    "include_bytes",
    "env",
    "option_env",
];

/// One construct refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `src/main.rs`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What was found.
    pub what: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.what
        )
    }
}

/// Screens every source; an empty list means nothing reaches the host at build time.
pub fn screen(sources: &BTreeMap<String, String>) -> Vec<Refusal> {
    let mut out = Vec::new();
    for (file, text) in sources {
        match TokenStream::from_str(text) {
            Ok(tokens) => walk(file, tokens, &mut out),
            Err(error) => {
                let start = error.span().start();
                out.push(Refusal {
                    file: file.clone(),
                    line: start.line,
                    column: start.column + 1,
                    what: format!(
                        "the file is not valid Rust tokens ({error}), so it cannot be screened"
                    ),
                });
            }
        }
    }
    out
}

/// Adds a refusal at the start of `span` (columns counted from 1).
fn refuse(out: &mut Vec<Refusal>, file: &str, span: proc_macro2::Span, what: String) {
    let start = span.start();
    out.push(Refusal {
        file: file.to_owned(),
        line: start.line,
        column: start.column + 1,
        what,
    });
}

fn walk(file: &str, tokens: TokenStream, out: &mut Vec<Refusal>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let bang =
                    matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                let renamed = matches!(trees.get(i + 1), Some(TokenTree::Ident(a)) if a == "as");
                if renamed && REFUSED_MACROS.contains(&name.as_str()) {
                    refuse(
                        out,
                        file,
                        ident.span(),
                        format!(
                            "`{name} as ...` imports under another name what may be the `{name}!` macro, which reads the host while the module is built; use `{name}` by its own name"
                        ),
                    );
                }
                if bang && REFUSED_MACROS.contains(&name.as_str()) {
                    refuse(
                        out,
                        file,
                        ident.span(),
                        format!(
                            "`{name}!` reads {} while the module is built, outside the sandbox",
                            if name.contains("env") {
                                "the build environment"
                            } else {
                                "host files"
                            }
                        ),
                    );
                }
            }
            TokenTree::Punct(p) if p.as_char() == '$' => {
                let name = matches!(trees.get(i + 1), Some(TokenTree::Ident(_)));
                let bang =
                    matches!(trees.get(i + 2), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if name && bang {
                    refuse(
                        out,
                        file,
                        p.span(),
                        format!(
                            "`${}!` calls a macro whose name is a macro variable, which can hide `env!` or `include_str!`; call macros by name",
                            trees
                                .get(i + 1)
                                .map(ToString::to_string)
                                .unwrap_or_default()
                        ),
                    );
                }
            }
            TokenTree::Group(group) => {
                if group.delimiter() == Delimiter::Bracket && is_path_attribute(&trees, i) {
                    refuse(
                        out,
                        file,
                        group.span(),
                        "`#[path = ...]` points the compiler at a file of the host's choosing"
                            .to_owned(),
                    );
                }
                walk(file, group.stream(), out);
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

/// `#[path ...]` or `#![path ...]`: a bracket group after `#` (and `!`) whose first
/// token is the identifier `path`.
fn is_path_attribute(trees: &[TokenTree], at: usize) -> bool {
    let Some(TokenTree::Group(group)) = trees.get(at) else {
        return false;
    };
    let after_hash = match at.checked_sub(1).and_then(|i| trees.get(i)) {
        Some(TokenTree::Punct(p)) if p.as_char() == '#' => true,
        Some(TokenTree::Punct(p)) if p.as_char() == '!' => matches!(
            at.checked_sub(2).and_then(|i| trees.get(i)),
            Some(TokenTree::Punct(h)) if h.as_char() == '#'
        ),
        _ => false,
    };
    after_hash
        && matches!(
            group.stream().into_iter().next(),
            Some(TokenTree::Ident(ident)) if ident == "path"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Vec<Refusal> {
        screen(&BTreeMap::from([(
            "src/main.rs".to_owned(),
            src.to_owned(),
        )]))
    }

    #[test]
    fn compile_time_host_access_is_refused_even_inside_other_macros() {
        let found = check(
            "fn main() {\n    println!(\"{}\", include_str!(\"/etc/passwd\"));\n    let k = std::env!(\"ANRF_LLM_API_KEY\");\n}\n",
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].line, found[0].column), (2, 20));
        assert!(found[0].what.contains("`include_str!` reads host files"));
        assert!(found[1].what.contains("`env!` reads the build environment"));
    }

    #[test]
    fn macros_named_by_a_macro_variable_are_refused() {
        let found = check(
            "macro_rules! m {\n    ($n:ident) => { $n!(\"ANRF_LLM_API_KEY\") };\n}\nfn main() { let k: Option<&str> = m!(option_env); println!(\"{k:?}\"); }\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].column), (2, 21));
        assert!(found[0].what.contains("`$n!`"), "{}", found[0].what);
        // Ordinary macro_rules with `$x` arguments and `$(...)*` repetitions are fine.
        let renamed = check("use std::env as e;\nfn main() { println!(\"{}\", e!(\"K\")); }\n");
        assert_eq!(renamed.len(), 1, "{renamed:?}");
        assert!(renamed[0].what.contains("`env as ...`"));
        let fine = "macro_rules! sum {\n    ($($x:expr),*) => { 0 $(+ $x)* };\n}\nfn main() { println!(\"{}\", sum!(1, 2)); }\n";
        assert_eq!(check(fine), []);
    }

    #[test]
    fn path_attributes_are_refused() {
        let found = check("#[path = \"/etc/passwd\"]\nmod secrets;\nfn main() {}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].to_string().starts_with("src/main.rs:1:"));
        assert_eq!(check("#![path = \"x\"]\nfn main() {}\n").len(), 1);
    }

    #[test]
    fn comments_strings_and_runtime_env_are_fine() {
        let src = "// include_str!(\"/etc/passwd\")\n/* env!(\"X\") */\nfn main() {\n    let args: Vec<String> = std::env::args().collect();\n    println!(\"env!(X) {}\", args.len());\n    #[allow(unused)]\n    let path = 1;\n}\n";
        assert_eq!(check(src), []);
    }

    #[test]
    fn unreadable_tokens_are_refused_rather_than_skipped() {
        let found = check("fn main() { \"unterminated }\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].what.contains("not valid Rust tokens"));
    }
}
