//! Rust guest source checks (`ANRF-S001`..`ANRF-S011`, `ANRF-S013`), parsed with `syn`.
//!
//! One pass over each file collects every memory-safety construct with its
//! enclosing function (what a `function:NAME` override matches), the names of
//! the functions the file defines, and, for name resolution (`resolve.rs`),
//! every module scope's declared items, imports and used paths. Capability
//! uses (`std::fs`, `std::env`, `std::net`, `std::process`, `std::os`, the
//! `Path` methods that query the file system) are judged only once every file
//! of the module and of its path dependencies is resolved together, so a name
//! reaches what the compiler would make it reach: through `use` (renames,
//! groups, `self`/`super`/`crate`), `pub use` re-exports across files, globs,
//! `extern crate X as Y` and `::std` paths.
//!
//! Files are not read here: each scan records the `mod name;` declarations and
//! `include!` invocations it saw ([`ModRef`]), and the pipeline follows them
//! (`tree.rs`) so every file the compiler would compile is scanned. Before
//! parsing, a lexical pre-scan (`depth.rs`) bounds the nesting, and the parser
//! runs on a thread with a large stack, so a hostile file cannot overflow it.
//!
//! Macro invocations are not expanded. Their arguments are parsed as
//! expressions when they are expressions (`println!`, `format!`, `vec!`, ...);
//! otherwise (e.g. `macro_rules!` bodies) their tokens are scanned for the same
//! constructs and paths, so code hidden inside a macro is still seen. What the
//! verifier cannot see is `ANRF-S013`, never a claim of safety: a
//! `macro_rules!` body that builds a path from its arguments or declares
//! imports, a macro the module does not define and `std` does not provide, a
//! procedural-macro attribute or derive, a name that leads into a module of
//! the guest that does not declare it.

use std::collections::BTreeSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

use crate::finding::{CheckId, Finding, Location};

mod depth;
pub(crate) mod resolve;
pub(crate) mod tree;

pub(crate) use resolve::Resolver;
use resolve::{FileItems, Import, MacroCall, MethodCall, Ref, Scope, Written};

/// The stack the parser and visitor run on. Only the pages used are committed;
/// within [`depth::MAX_NESTING`] real and hostile files need far less.
const PARSE_STACK_BYTES: usize = 256 * 1024 * 1024;

/// What the manifest's effective capabilities grant, as far as source APIs go.
/// Starts empty: nothing is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    granted: BTreeSet<Resource>,
    /// Granted variable names, when known (`None`: any granted variable counts).
    env_names: Option<BTreeSet<String>>,
    /// Granted guest directories and whether each is writable, when known.
    dirs: Option<Vec<(String, bool)>>,
}

impl Grants {
    /// Nothing granted.
    pub fn none() -> Self {
        Grants {
            granted: BTreeSet::new(),
            env_names: None,
            dirs: None,
        }
    }

    /// Grants exactly these environment variables (and so `Resource::Env` if any).
    #[must_use]
    pub fn env_names<I: IntoIterator<Item = String>>(mut self, names: I) -> Self {
        let names: BTreeSet<String> = names.into_iter().collect();
        if !names.is_empty() {
            self.granted.insert(Resource::Env);
        }
        self.env_names = Some(names);
        self
    }

    /// Grants exactly these guest directories, `(guest path, writable)`.
    #[must_use]
    pub fn dirs<I: IntoIterator<Item = (String, bool)>>(mut self, dirs: I) -> Self {
        let dirs: Vec<(String, bool)> = dirs.into_iter().collect();
        if !dirs.is_empty() {
            self.granted.insert(Resource::FsRead);
        }
        if dirs.iter().any(|(_, w)| *w) {
            self.granted.insert(Resource::FsWrite);
        }
        self.dirs = Some(dirs);
        self
    }

    /// Whether a literal variable name is granted (unknown names lists: any).
    fn allows_env_name(&self, name: &str) -> bool {
        self.env_names
            .as_ref()
            .is_none_or(|names| names.contains(name))
    }

    /// Whether a literal absolute guest path lies in a granted directory.
    fn allows_path(&self, path: &str, write: bool) -> bool {
        let Some(dirs) = &self.dirs else {
            return true;
        };
        dirs.iter().any(|(dir, writable)| {
            let dir = dir.trim_end_matches('/');
            (path == dir || path.starts_with(&format!("{dir}/")) || dir.is_empty())
                && (*writable || !write)
        })
    }

    /// Grants one more resource.
    #[must_use]
    pub fn with(mut self, resource: Resource) -> Self {
        self.granted.insert(resource);
        self
    }

    /// Whether `resource` is granted (a read-write directory also grants reading).
    pub fn allows(&self, resource: Resource) -> bool {
        self.granted.contains(&resource)
            || (resource == Resource::FsRead && self.granted.contains(&Resource::FsWrite))
    }
}

/// The kind of host resource a `std` API reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    /// Reading the file system (`std::fs`).
    FsRead,
    /// Writing the file system (`std::fs::write`, `File::create`, ...).
    FsWrite,
    /// Environment variables (`std::env::var`, ...); `std::env::args` is not one.
    Env,
    /// Sockets (`std::net`).
    Network,
    /// Subprocesses (`std::process::Command`); never available in the sandbox.
    Process,
    /// Ending or identifying its own process (`std::process::exit`, `abort`,
    /// `id`, `ExitCode`): needs no capability, recorded so nothing is left unsaid.
    Exit,
    /// Its own command-line arguments (`std::env::args`): needs no capability.
    Args,
}

impl Resource {
    fn covered_by(self, grants: &Grants) -> bool {
        match self {
            Resource::Exit | Resource::Args => true,
            Resource::Process => false,
            _ => grants.allows(self),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Resource::FsRead => "reads the file system",
            Resource::FsWrite => "writes the file system",
            Resource::Env => "reads environment variables",
            Resource::Network => "opens network connections",
            Resource::Process => "spawns or controls processes",
            Resource::Exit => "ends its own process",
            Resource::Args => "reads its command-line arguments",
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Resource::FsRead => "the manifest grants no directory",
            Resource::FsWrite => "the manifest grants no read-write directory",
            Resource::Env => "the manifest grants no environment variable",
            Resource::Network => "the manifest grants no network host",
            Resource::Process => "subprocesses are never available in the sandbox",
            Resource::Exit | Resource::Args => "nothing needs to be granted",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            Resource::FsRead => {
                "grant a directory in `[security.capabilities]`, e.g. `dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]`, or read the input from stdin"
            }
            Resource::FsWrite => {
                "grant a directory with `access = \"read-write\"` in `[security.capabilities]` (or `anrf override request MODULE --allow-write DIR`), or write to stdout"
            }
            Resource::Env => {
                "list the variable in `env = [\"NAME\"]` under `[security.capabilities]`, or pass the value as an argument"
            }
            Resource::Network => {
                "the v1 runtime provides no sockets; remove the network code (a network host needs `anrf override request MODULE --allow-network HOST`)"
            }
            Resource::Process => {
                "remove the subprocess call; a guest can only compute and use its granted capabilities"
            }
            Resource::Exit | Resource::Args => "nothing to fix",
        }
    }
}

/// One use of a capability-bearing `std` API, covered or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityUse {
    /// What it reaches.
    pub resource: Resource,
    /// The resolved path, e.g. `std::fs::read_to_string`.
    pub path: String,
    /// Where it is used.
    pub location: Location,
    /// Whether the effective capabilities grant it.
    pub covered: bool,
}

/// What one pass over a Rust file established.
#[derive(Debug, Default)]
pub(crate) struct RustScan {
    /// Memory-safety findings (S001..S009), parse errors (S011), and what
    /// the verifier cannot see without resolution (S013: procedural macros,
    /// macros that build paths). Capability creep (S010) comes from [`Resolver`].
    pub findings: Vec<Finding>,
    /// Names of defined functions and methods (`name` and `Type::name`).
    pub functions: BTreeSet<String>,
    /// `mod name;` declarations and `include!` invocations, to follow.
    pub modules: Vec<ModRef>,
    /// Scopes, imports and paths, for [`Resolver`].
    pub items: FileItems,
}

/// A reference from one file to another that the compiler would follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModRef {
    /// `mod name;` (no body): the file is `name.rs` or `name/mod.rs`, or
    /// what a `#[path]` (also inside `#[cfg_attr]`) names.
    File {
        /// The module's name.
        name: String,
        /// Enclosing inline modules (`mod a { mod name; }`), outermost first;
        /// an inline module with `#[path = "p"]` contributes `p`.
        inline: Vec<String>,
        /// Every `#[path]` value on the declaration.
        paths: Vec<String>,
        /// Where it is declared.
        location: Location,
        /// The module scope declaring it (an index into the file's scopes).
        scope: usize,
    },
    /// `include!("path")`; `None` when the path is not a string literal.
    Include {
        /// The literal path.
        path: Option<String>,
        /// Where it is invoked.
        location: Location,
        /// The module scope the included items belong to.
        scope: usize,
    },
}

/// Checks one Rust source file. `file` is the path relative to the module.
///
/// A file larger than [`depth::MAX_SOURCE_BYTES`] or nested deeper than
/// [`depth::MAX_NESTING`] is not parsed: it is an `ANRF-S011` finding.
pub(crate) fn check_rust(file: &str, src: &str) -> RustScan {
    if src.len() > depth::MAX_SOURCE_BYTES {
        return unchecked(
            Location::file(file),
            format!(
                "`{file}` is {} bytes, above the {} bytes the verifier parses; its constructs could not be checked",
                src.len(),
                depth::MAX_SOURCE_BYTES
            ),
            "split the file into smaller modules (each listed in `implementation.sources`)",
        );
    }
    if let Some(deep) = depth::too_deep(src) {
        return unchecked(
            Location::at(file, line_u32(deep.line), line_u32(deep.column)),
            format!(
                "`{file}` nests {} more than {} deep; the verifier does not parse it, so its constructs could not be checked",
                deep.what,
                depth::MAX_NESTING
            ),
            "flatten the code: bind intermediate values with `let` or move parts into functions",
        );
    }
    let outcome = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("anrf-verify-parse".to_owned())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_and_scan(file, src))
            .map(std::thread::ScopedJoinHandle::join)
    });
    match outcome {
        Ok(Ok(scan)) => scan,
        Ok(Err(_)) => unchecked(
            Location::file(file),
            format!("the parser failed on `{file}`; its constructs could not be checked"),
            "simplify the file; please report the file to the anrf maintainers",
        ),
        Err(err) => unchecked(
            Location::file(file),
            format!("`{file}` could not be parsed: no parser thread ({err})"),
            "retry with more memory available",
        ),
    }
}

/// A scan that checked nothing, with the `ANRF-S011` finding saying why.
fn unchecked(location: Location, message: String, help: &str) -> RustScan {
    let mut scan = RustScan::default();
    scan.findings
        .push(Finding::new(CheckId::S011, message).at(location).help(help));
    scan
}

fn parse_and_scan(file: &str, src: &str) -> RustScan {
    let ast = match syn::parse_file(src) {
        Ok(ast) => ast,
        Err(err) => {
            let start = err.span().start();
            let mut scan = RustScan::default();
            scan.findings.push(
                Finding::new(
                    CheckId::S011,
                    format!(
                        "`{file}` is not valid Rust: {err}; its constructs could not be checked"
                    ),
                )
                .at(Location::at(
                    file,
                    line_u32(start.line),
                    line_u32(start.column + 1),
                )),
            );
            return scan;
        }
    };
    let mut visitor = Visitor {
        file,
        functions: Vec::new(),
        impl_types: Vec::new(),
        inline: Vec::new(),
        scope: 0,
        scan: RustScan {
            items: FileItems::new(),
            ..RustScan::default()
        },
    };
    visitor.foreign_attributes(&ast.attrs);
    visitor.visit_file(&ast);
    visitor.scan
}

fn line_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What a resolved `std` path is.
pub(crate) enum Class {
    /// Not a capability-bearing API.
    Harmless,
    /// An API that reaches a host resource.
    Reaches(Resource),
}

const FS_WRITES: &[&str] = &[
    "write",
    "create_dir",
    "create_dir_all",
    "remove_file",
    "remove_dir",
    "remove_dir_all",
    "rename",
    "copy",
    "hard_link",
    "soft_link",
    "set_permissions",
    "OpenOptions",
];

/// What the canonical path `full` (`std::...`) reaches.
pub(crate) fn classify(full: &[String]) -> Class {
    let segs: Vec<&str> = full.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["std", "fs", "File", method, ..]
            if matches!(*method, "create" | "create_new" | "options") =>
        {
            Class::Reaches(Resource::FsWrite)
        }
        ["std", "fs", item, ..] if FS_WRITES.contains(item) => Class::Reaches(Resource::FsWrite),
        ["std", "fs", _, ..] => Class::Reaches(Resource::FsRead),
        ["std", "path", "Path" | "PathBuf", method, ..]
            if resolve::PATH_FS_METHODS.contains(method) =>
        {
            Class::Reaches(Resource::FsRead)
        }
        ["std", "env", "consts", ..] => Class::Harmless,
        ["std", "env", item, ..] if matches!(*item, "args" | "args_os" | "Args" | "ArgsOs") => {
            Class::Reaches(Resource::Args)
        }
        ["std", "env", _, ..] => Class::Reaches(Resource::Env),
        ["std", "net", _, ..] => Class::Reaches(Resource::Network),
        ["std", "process", item, ..]
            if matches!(*item, "exit" | "abort" | "ExitCode" | "Termination" | "id") =>
        {
            Class::Reaches(Resource::Exit)
        }
        ["std", "process", _, ..] => Class::Reaches(Resource::Process),
        // Platform extensions: `std::os::wasi::fs`, `std::os::unix::net`, ...
        ["std", "os", _, "fs", item, ..] => {
            if item.contains("link") || item.contains("Ext") && item.starts_with("Open") {
                Class::Reaches(Resource::FsWrite)
            } else {
                Class::Reaches(Resource::FsRead)
            }
        }
        ["std", "os", "net" | "fd", _, ..] | ["std", "os", _, "net", _, ..] => {
            Class::Reaches(Resource::Network)
        }
        ["std", "os", _, "process", _, ..] => Class::Reaches(Resource::Process),
        _ => Class::Harmless,
    }
}

/// Attributes the compiler defines (the first segment): anything else on an
/// item is a procedural macro whose expansion the verifier cannot see.
const BUILTIN_ATTRIBUTES: &[&str] = &[
    "cfg",
    "cfg_attr",
    "derive",
    "allow",
    "warn",
    "deny",
    "forbid",
    "expect",
    "deprecated",
    "must_use",
    "inline",
    "cold",
    "doc",
    "test",
    "ignore",
    "should_panic",
    "bench",
    "path",
    "macro_export",
    "macro_use",
    "repr",
    "non_exhaustive",
    "automatically_derived",
    "track_caller",
    "no_mangle",
    "export_name",
    "link_section",
    "used",
    "link",
    "link_name",
    "link_ordinal",
    "no_link",
    "no_std",
    "no_main",
    "no_implicit_prelude",
    "no_builtins",
    "recursion_limit",
    "type_length_limit",
    "windows_subsystem",
    "crate_name",
    "crate_type",
    "target_feature",
    "global_allocator",
    "panic_handler",
    "unsafe",
    "feature",
    "instruction_set",
    "debugger_visualizer",
    "collapse_debuginfo",
    "naked",
    "coverage",
    "optimize",
    "diagnostic",
    "rustfmt",
    "clippy",
    "rustdoc",
];

/// Derives the compiler provides.
const BUILTIN_DERIVES: &[&str] = &[
    "Debug",
    "Clone",
    "Copy",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
    "Default",
];

/// The attribute or derive in `meta` that is a procedural macro, if any.
fn foreign_meta(meta: &syn::Meta) -> Option<String> {
    let path = meta.path();
    let first = path.segments.first()?.ident.to_string();
    let text = path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    let tool = matches!(
        first.as_str(),
        "rustfmt" | "clippy" | "diagnostic" | "rustdoc"
    );
    if path.segments.len() > 1 && !tool {
        return Some(format!("#[{text}]"));
    }
    if !BUILTIN_ATTRIBUTES.contains(&first.as_str()) {
        return Some(format!("#[{text}]"));
    }
    let syn::Meta::List(list) = meta else {
        return None;
    };
    if first == "derive" {
        let parser = Punctuated::<syn::Path, syn::Token![,]>::parse_terminated;
        let Ok(paths) = list.parse_args_with(parser) else {
            return Some("#[derive(..)] with arguments the verifier cannot read".to_owned());
        };
        for p in &paths {
            let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let builtin = segs
                .last()
                .is_some_and(|l| BUILTIN_DERIVES.contains(&l.as_str()))
                && (segs.len() == 1
                    || matches!(segs.first().map(String::as_str), Some("std" | "core")));
            if !builtin {
                return Some(format!("#[derive({})]", segs.join("::")));
            }
        }
    } else if first == "cfg_attr" {
        let parser = Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated;
        let Ok(metas) = list.parse_args_with(parser) else {
            return Some("#[cfg_attr(..)] with arguments the verifier cannot read".to_owned());
        };
        for inner in metas.iter().skip(1) {
            if let Some(found) = foreign_meta(inner) {
                return Some(found);
            }
        }
    }
    None
}

/// Keywords that never start a path in a macro body.
const NOT_PATH_STARTS: &[&str] = &[
    "let",
    "fn",
    "if",
    "else",
    "match",
    "for",
    "while",
    "loop",
    "in",
    "as",
    "mut",
    "ref",
    "return",
    "pub",
    "struct",
    "enum",
    "impl",
    "trait",
    "type",
    "where",
    "const",
    "static",
    "move",
    "break",
    "continue",
    "unsafe",
    "mod",
    "dyn",
    "async",
    "await",
    "true",
    "false",
    "macro_rules",
    "_",
];

/// `::` at `trees[i..i+2]`.
fn colons_at(trees: &[TokenTree], i: usize) -> bool {
    matches!(
        (trees.get(i), trees.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':' && a.spacing() == proc_macro2::Spacing::Joint
    )
}

fn punct_at(trees: &[TokenTree], i: usize, c: char) -> bool {
    matches!(trees.get(i), Some(TokenTree::Punct(p)) if p.as_char() == c)
}

struct Visitor<'a> {
    file: &'a str,
    /// Enclosing functions, innermost last.
    functions: Vec<String>,
    /// Enclosing impl self types, innermost last.
    impl_types: Vec<Option<String>>,
    /// Enclosing inline modules (or their `#[path]`), outermost first.
    inline: Vec<String>,
    /// The current module scope in `scan.items.scopes`.
    scope: usize,
    scan: RustScan,
}

impl Visitor<'_> {
    fn location(&self, span: Span) -> Location {
        let start = span.start();
        Location::at(self.file, line_u32(start.line), line_u32(start.column + 1))
    }

    fn current_function(&self) -> Option<String> {
        self.functions.last().cloned()
    }

    fn scope_mut(&mut self) -> Option<&mut Scope> {
        self.scan.items.scopes.get_mut(self.scope)
    }

    fn declare(&mut self, ident: &syn::Ident) {
        if ident == "_" {
            return;
        }
        let name = ident.to_string();
        if let Some(scope) = self.scope_mut() {
            scope.items.insert(name);
        }
    }

    fn import(&mut self, path: Written, name: Option<String>, span: Span) {
        let location = self.location(span);
        if let Some(scope) = self.scope_mut() {
            scope.imports.push(Import {
                path,
                name,
                location,
                extern_crate: false,
            });
        }
    }

    fn walk_use(&mut self, prefix: &mut Vec<String>, leading: bool, tree: &syn::UseTree) {
        let written = |segs: Vec<String>| Written { leading, segs };
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.walk_use(prefix, leading, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    let local = prefix.last().cloned();
                    self.import(written(prefix.clone()), local, n.ident.span());
                } else {
                    let mut full = prefix.clone();
                    full.push(name.clone());
                    self.import(written(full), Some(name), n.ident.span());
                }
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.import(written(full), Some(r.rename.to_string()), r.ident.span());
            }
            syn::UseTree::Glob(g) => {
                self.import(written(prefix.clone()), None, g.star_token.span);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.walk_use(prefix, leading, tree);
                }
            }
        }
    }

    fn reference(&mut self, path: Written, span: Span, literal: Option<(String, Location)>) {
        let location = self.location(span);
        let function = self.current_function();
        if let Some(scope) = self.scope_mut() {
            scope.refs.push(Ref {
                path,
                location,
                function,
                literal,
            });
        }
    }

    fn macro_call(&mut self, path: Written, span: Span) {
        let location = self.location(span);
        let function = self.current_function();
        let scope = self.scope;
        self.scan.items.calls.push(MacroCall {
            path,
            scope,
            location,
            function,
        });
    }

    /// An `ANRF-S013` finding: something whose meaning the verifier cannot see.
    fn undecided(&mut self, span: Span, why: &str) {
        let finding = Finding::new(
            CheckId::S013,
            format!(
                "{why}; it cannot be shown not to reach `std::fs`, `std::net`, `std::env` or `std::process`"
            ),
        )
        .at(self.location(span))
        .help("name what is used by a path the verifier can follow (`use std::...`, a `mod` of the module, a path dependency inside it) instead of generating it with a macro; remove macros from dependencies and procedural macros")
        .in_function(self.current_function());
        self.scan.findings.push(finding);
    }

    /// Procedural-macro attributes and derives on an item.
    fn foreign_attributes(&mut self, attrs: &[syn::Attribute]) {
        for attr in attrs {
            if let Some(what) = foreign_meta(&attr.meta) {
                self.undecided(
                    attr.pound_token.span,
                    &format!("`{what}` is a procedural macro: it rewrites the item in ways the verifier does not see"),
                );
            }
        }
    }

    fn memory(&mut self, id: CheckId, span: Span, what: &str) {
        let function = self.current_function();
        let place = match &function {
            Some(name) => format!(" in function `{name}`"),
            None => String::new(),
        };
        let fix = match id {
            CheckId::S001 => "rewrite the block without `unsafe`",
            CheckId::S002 => "make the function safe",
            CheckId::S003 => "remove the `unsafe impl`",
            CheckId::S004 => "make the trait safe",
            CheckId::S005 => "call WASI through `std` instead of declaring foreign functions",
            CheckId::S006 => {
                "remove the attribute; a command needs no exported symbol but `_start`"
            }
            CheckId::S007 => "remove the assembly",
            CheckId::S008 => "use a safe conversion (`from_ne_bytes`, `From`, `TryFrom`, `as`)",
            _ => "use a local variable, `std::sync::OnceLock`, `Cell` or an atomic",
        };
        let scope = function
            .as_ref()
            .map_or_else(|| "module".to_owned(), |name| format!("function:{name}"));
        let help = format!(
            "{fix}; or declare `memory_safety = \"sandbox-only\"` and request an approved override scoped to it: `anrf override request MODULE --memory-unsafe --scope {scope} --justification \"...\"`"
        );
        let finding = Finding::new(id, format!("{what}{place}"))
            .at(self.location(span))
            .help(help)
            .in_function(function);
        self.scan.findings.push(finding);
    }

    fn check_attrs(&mut self, attrs: &[syn::Attribute]) {
        for attr in attrs {
            let name = symbol_attribute(attr);
            if let Some(name) = name {
                self.memory(
                    CheckId::S006,
                    attr.pound_token.span,
                    &format!("`#[{name}]` exports a raw symbol"),
                );
            }
        }
    }

    /// Scans tokens that are not parsed as Rust (macro bodies, macro
    /// arguments that are not expressions) for the same constructs, and
    /// records the paths in them. `body` is a `macro_rules!` body, where a
    /// path built from `$` fragments or an import cannot be followed.
    fn scan_tokens(&mut self, tokens: TokenStream, body: bool) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut skip_to = 0usize;
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(group) => self.scan_tokens(group.stream(), body),
                TokenTree::Punct(p) if p.as_char() == '$' && body => {
                    let fragment =
                        matches!(trees.get(i + 1), Some(TokenTree::Ident(id)) if id != "crate");
                    let joined = (fragment && colons_at(&trees, i + 2))
                        || (i >= 2 && colons_at(&trees, i - 2));
                    if joined {
                        self.undecided(
                            p.span(),
                            "a `macro_rules!` body builds a path from its arguments",
                        );
                    }
                }
                TokenTree::Ident(ident) => {
                    let text = ident.to_string();
                    let next_ident = |k: usize| match trees.get(i + k) {
                        Some(TokenTree::Ident(next)) => Some(next.to_string()),
                        _ => None,
                    };
                    let bang_follows = punct_at(&trees, i + 1, '!');
                    match text.as_str() {
                        "unsafe" => {
                            self.memory(
                                CheckId::S001,
                                ident.span(),
                                "`unsafe` inside a macro body",
                            );
                        }
                        "transmute" | "transmute_copy" => self.memory(
                            CheckId::S008,
                            ident.span(),
                            &format!("`{text}` inside a macro body"),
                        ),
                        "asm" | "global_asm" | "naked_asm" if bang_follows => self.memory(
                            CheckId::S007,
                            ident.span(),
                            &format!("`{text}!` inside a macro body"),
                        ),
                        "mod" => {
                            let semicolon = punct_at(&trees, i + 2, ';');
                            if let (Some(name), true) = (next_ident(1), semicolon) {
                                let location = self.location(ident.span());
                                self.scan.modules.push(ModRef::File {
                                    name,
                                    inline: self.inline.clone(),
                                    paths: Vec::new(),
                                    location,
                                    scope: self.scope,
                                });
                            }
                        }
                        "include" if bang_follows => {
                            let path = match trees.get(i + 2) {
                                Some(TokenTree::Group(g)) => syn::parse2::<syn::LitStr>(g.stream())
                                    .ok()
                                    .map(|l| l.value()),
                                _ => None,
                            };
                            let location = self.location(ident.span());
                            self.scan.modules.push(ModRef::Include {
                                path,
                                location,
                                scope: self.scope,
                            });
                        }
                        "static" if next_ident(1).as_deref() == Some("mut") => {
                            self.memory(
                                CheckId::S009,
                                ident.span(),
                                "`static mut` inside a macro body",
                            );
                        }
                        "use" | "extern" => self.undecided(
                            ident.span(),
                            &format!("a macro body declares `{text}` items, which the verifier does not expand"),
                        ),
                        _ => {}
                    }
                    if i >= skip_to {
                        skip_to = self.token_path(&trees, i);
                    }
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => {}
            }
        }
    }

    /// Records the path starting at `trees[i]` (an identifier), if it is
    /// one; returns the index after it.
    fn token_path(&mut self, trees: &[TokenTree], i: usize) -> usize {
        let Some(TokenTree::Ident(first)) = trees.get(i) else {
            return i + 1;
        };
        let text = first.to_string();
        // `$name` is a metavariable; `x.name` a field or method; `$x:frag` a fragment.
        let after_dollar = i >= 1 && punct_at(trees, i - 1, '$');
        let after_dot = i >= 1 && punct_at(trees, i - 1, '.');
        // `$name:ident`: the fragment specifier after a metavariable.
        let fragment = i >= 3
            && punct_at(trees, i - 1, ':')
            && !colons_at(trees, i - 2)
            && matches!(trees.get(i - 2), Some(TokenTree::Ident(_)))
            && punct_at(trees, i - 3, '$');
        if NOT_PATH_STARTS.contains(&text.as_str()) || after_dot || fragment {
            return i + 1;
        }
        if after_dollar && text != "crate" {
            return i + 1;
        }
        let leading = i >= 2
            && colons_at(trees, i - 2)
            && !matches!(
                trees.get(i.wrapping_sub(3)),
                Some(TokenTree::Ident(_)) | Some(TokenTree::Group(_))
            );
        let mut segs = vec![if after_dollar {
            "$crate".to_owned()
        } else {
            text
        }];
        let mut j = i + 1;
        while colons_at(trees, j) {
            match trees.get(j + 2) {
                Some(TokenTree::Ident(next)) => {
                    segs.push(next.to_string());
                    j += 3;
                }
                _ => break,
            }
        }
        let span = first.span();
        if punct_at(trees, j, '!') {
            self.macro_call(Written { leading, segs }, span);
        } else {
            self.reference(Written { leading, segs }, span, None);
        }
        j
    }

    fn fn_named<F: FnOnce(&mut Self)>(&mut self, name: String, body: F) {
        self.scan.functions.insert(name.clone());
        if let Some(short) = name.rsplit("::").next() {
            self.scan.functions.insert(short.to_owned());
        }
        self.functions.push(name);
        body(self);
        self.functions.pop();
    }
}

fn written(path: &syn::Path) -> Written {
    Written {
        leading: path.leading_colon.is_some(),
        segs: path.segments.iter().map(|s| s.ident.to_string()).collect(),
    }
}

/// Every `#[path = "..."]` on an item, also inside `#[cfg_attr(.., path = "..")]`.
fn path_attributes(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut paths = Vec::new();
    for attr in attrs {
        if attr.path().is_ident("path")
            && let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            }) = &nv.value
        {
            paths.push(lit.value());
        } else if attr.path().is_ident("cfg_attr")
            && let syn::Meta::List(list) = &attr.meta
        {
            let trees: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
            for window in trees.windows(3) {
                if let [
                    TokenTree::Ident(ident),
                    TokenTree::Punct(eq),
                    TokenTree::Literal(lit),
                ] = window
                    && ident == "path"
                    && eq.as_char() == '='
                    && let Ok(lit) =
                        syn::parse2::<syn::LitStr>(TokenTree::Literal(lit.clone()).into())
                {
                    paths.push(lit.value());
                }
            }
        }
    }
    paths
}

/// `#[no_mangle]`, `#[export_name = ..]`, or their edition-2024 `#[unsafe(..)]` forms.
fn symbol_attribute(attr: &syn::Attribute) -> Option<&'static str> {
    let path = attr.path();
    if path.is_ident("no_mangle") {
        return Some("no_mangle");
    }
    if path.is_ident("export_name") {
        return Some("export_name");
    }
    if path.is_ident("unsafe")
        && let syn::Meta::List(list) = &attr.meta
    {
        {
            for tree in list.tokens.clone() {
                if let TokenTree::Ident(ident) = tree {
                    if ident == "no_mangle" {
                        return Some("unsafe(no_mangle)");
                    }
                    if ident == "export_name" {
                        return Some("unsafe(export_name)");
                    }
                }
            }
        }
    }
    None
}

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        match item {
            syn::Item::Const(i) => self.declare(&i.ident),
            syn::Item::Enum(i) => self.declare(&i.ident),
            syn::Item::Fn(i) => self.declare(&i.sig.ident),
            syn::Item::Static(i) => self.declare(&i.ident),
            syn::Item::Struct(i) => self.declare(&i.ident),
            syn::Item::Trait(i) => self.declare(&i.ident),
            syn::Item::TraitAlias(i) => self.declare(&i.ident),
            syn::Item::Type(i) => self.declare(&i.ident),
            syn::Item::Union(i) => self.declare(&i.ident),
            syn::Item::Macro(i) => {
                if let Some(ident) = &i.ident
                    && i.mac.path.is_ident("macro_rules")
                {
                    self.scan.items.macros.insert(ident.to_string());
                }
            }
            syn::Item::ExternCrate(i) => {
                let crate_name = i.ident.to_string();
                let (path, leading) = if crate_name == "self" {
                    (vec!["crate".to_owned()], false)
                } else {
                    (vec![crate_name.clone()], true)
                };
                let name = i.rename.as_ref().map_or(crate_name, |(_, r)| r.to_string());
                let location = self.location(i.ident.span());
                if let Some(scope) = self.scope_mut() {
                    scope.imports.push(Import {
                        path: Written {
                            leading,
                            segs: path,
                        },
                        name: Some(name),
                        location,
                        extern_crate: true,
                    });
                }
            }
            syn::Item::Use(i) => {
                let mut prefix = Vec::new();
                self.walk_use(&mut prefix, i.leading_colon.is_some(), &i.tree);
            }
            _ => {}
        }
        let attrs = match item {
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::ExternCrate(i) => &i.attrs,
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::ForeignMod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::TraitAlias(i) => &i.attrs,
            syn::Item::Type(i) => &i.attrs,
            syn::Item::Union(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            _ => return visit::visit_item(self, item),
        };
        self.foreign_attributes(attrs);
        visit::visit_item(self, item);
    }

    fn visit_attribute(&mut self, _attr: &'ast syn::Attribute) {
        // Attributes are judged by `foreign_attributes` and `check_attrs`.
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        let name = item.sig.ident.to_string();
        self.fn_named(name, |v| {
            v.check_attrs(&item.attrs);
            if let Some(token) = &item.sig.unsafety {
                v.memory(CheckId::S002, token.span, "`unsafe fn` declared");
            }
            visit::visit_item_fn(v, item);
        });
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let name = match self.impl_types.last().cloned().flatten() {
            Some(ty) => format!("{ty}::{}", item.sig.ident),
            None => item.sig.ident.to_string(),
        };
        self.fn_named(name, |v| {
            v.check_attrs(&item.attrs);
            v.foreign_attributes(&item.attrs);
            if let Some(token) = &item.sig.unsafety {
                v.memory(CheckId::S002, token.span, "`unsafe fn` declared");
            }
            visit::visit_impl_item_fn(v, item);
        });
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        let name = item.sig.ident.to_string();
        self.fn_named(name, |v| {
            v.foreign_attributes(&item.attrs);
            if let Some(token) = &item.sig.unsafety {
                v.memory(CheckId::S002, token.span, "`unsafe fn` declared");
            }
            visit::visit_trait_item_fn(v, item);
        });
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            self.memory(CheckId::S003, token.span, "`unsafe impl` declared");
        }
        self.impl_types.push(type_name(&item.self_ty));
        visit::visit_item_impl(self, item);
        self.impl_types.pop();
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.memory(CheckId::S004, token.span, "`unsafe trait` declared");
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        let abi = item
            .abi
            .name
            .as_ref()
            .map_or_else(|| "C".to_owned(), syn::LitStr::value);
        self.memory(
            CheckId::S005,
            item.abi.extern_token.span,
            &format!("`extern \"{abi}\"` block declares foreign functions"),
        );
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let paths = path_attributes(&item.attrs);
        if item.content.is_none() {
            let location = self.location(item.ident.span());
            self.scan.modules.push(ModRef::File {
                name: item.ident.to_string(),
                inline: self.inline.clone(),
                paths,
                location,
                scope: self.scope,
            });
            visit::visit_item_mod(self, item);
            return;
        }
        let dir = paths
            .first()
            .cloned()
            .unwrap_or_else(|| item.ident.to_string());
        let parent = self.scope;
        let child = self.scan.items.scopes.len();
        self.scan.items.scopes.push(Scope::default());
        if let Some(scope) = self.scan.items.scopes.get_mut(parent) {
            scope.children.insert(item.ident.to_string(), child);
        }
        self.inline.push(dir);
        self.scope = child;
        visit::visit_item_mod(self, item);
        self.scope = parent;
        self.inline.pop();
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.check_attrs(&item.attrs);
        if let syn::StaticMutability::Mut(token) = &item.mutability {
            self.memory(
                CheckId::S009,
                token.span,
                &format!("`static mut {}` declared", item.ident),
            );
        }
        visit::visit_item_static(self, item);
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.memory(CheckId::S001, expr.unsafe_token.span, "`unsafe` block");
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(func) = call.func.as_ref()
            && func.qself.is_none()
        {
            let literal = match call.args.first() {
                Some(syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(lit),
                    ..
                })) => Some((lit.value(), self.location(lit.span()))),
                _ => None,
            };
            self.path_checks(&func.path);
            let span = func
                .path
                .segments
                .first()
                .map_or_else(Span::call_site, |s| s.ident.span());
            self.reference(written(&func.path), span, literal);
            for segment in &func.path.segments {
                self.visit_path_arguments(&segment.arguments);
            }
            for arg in &call.args {
                self.visit_expr(arg);
            }
            return;
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if resolve::PATH_FS_METHODS.contains(&name.as_str()) {
            let location = self.location(call.method.span());
            let function = self.current_function();
            self.scan.items.methods.push(MethodCall {
                name,
                location,
                function,
            });
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.path_checks(path);
        let span = path
            .segments
            .first()
            .map_or_else(Span::call_site, |s| s.ident.span());
        self.reference(written(path), span, None);
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, _item: &'ast syn::ItemUse) {
        // Imports are recorded by `visit_item` and judged once all files are resolved.
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let span = mac
            .path
            .segments
            .last()
            .map_or_else(Span::call_site, |s| s.ident.span());
        if matches!(name.as_str(), "asm" | "global_asm" | "naked_asm") {
            self.memory(CheckId::S007, span, &format!("`{name}!` inline assembly"));
            return;
        }
        if name == "macro_rules" {
            self.scan_tokens(mac.tokens.clone(), true);
            return;
        }
        self.macro_call(written(&mac.path), span);
        if name == "include" {
            let path = mac.parse_body::<syn::LitStr>().ok().map(|l| l.value());
            let location = self.location(span);
            self.scan.modules.push(ModRef::Include {
                path,
                location,
                scope: self.scope,
            });
            return;
        }
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        match mac.parse_body_with(parser) {
            Ok(exprs) => {
                for expr in &exprs {
                    self.visit_expr(expr);
                }
            }
            Err(_) => self.scan_tokens(mac.tokens.clone(), false),
        }
    }
}

impl Visitor<'_> {
    /// Checks that depend on a path's last segment alone (`transmute`).
    fn path_checks(&mut self, path: &syn::Path) {
        if let Some(last) = path.segments.last()
            && (last.ident == "transmute" || last.ident == "transmute_copy")
        {
            self.memory(
                CheckId::S008,
                last.ident.span(),
                &format!("`{}` reinterprets memory", last.ident),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One file scanned and resolved on its own, as the pipeline does for a
    /// one-file module.
    struct Judged {
        findings: Vec<Finding>,
        uses: Vec<CapabilityUse>,
        functions: BTreeSet<String>,
        modules: Vec<ModRef>,
    }

    fn check_rust(file: &str, src: &str, grants: &Grants) -> Judged {
        let scan = super::check_rust(file, src);
        let mut resolver = Resolver::new(grants, Vec::new());
        resolver.add(&tree::Unit::listed(file), &scan);
        let (found, uses) = resolver.finish();
        let mut findings = scan.findings;
        findings.extend(found);
        findings.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.location.cmp(&b.location)));
        Judged {
            findings,
            uses,
            functions: scan.functions,
            modules: scan.modules,
        }
    }

    #[expect(
        clippy::needless_pass_by_value,
        reason = "tests read better passing grants by value"
    )]
    fn ids(src: &str, grants: Grants) -> Vec<(CheckId, u32, Option<String>)> {
        let grants = &grants;
        check_rust("src/main.rs", src, grants)
            .findings
            .into_iter()
            .map(|f| {
                (
                    f.id,
                    f.location.and_then(|l| l.line).unwrap_or(0),
                    f.function,
                )
            })
            .collect()
    }

    fn only(src: &str) -> Vec<CheckId> {
        ids(src, Grants::none())
            .into_iter()
            .map(|(id, _, _)| id)
            .collect()
    }

    const CLEAN: &str = r#"
use std::io::{self, Read, Write};
use std::env;

fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input).unwrap();
    let args: Vec<String> = env::args().collect();
    let n = count_words(&input) + args.len() - 1;
    writeln!(io::stdout(), "{n}").unwrap();
    if n > 1000 { std::process::exit(3); }
}
"#;

    #[test]
    fn clean_source_has_no_findings() {
        let scan = check_rust("src/main.rs", CLEAN, &Grants::none());
        assert!(scan.findings.is_empty(), "{:?}", scan.findings);
        assert!(scan.functions.contains("count_words"));
        assert!(scan.functions.contains("main"));
    }

    #[test]
    fn s001_unsafe_block_with_enclosing_function() {
        let src = "fn read_raw(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n";
        assert_eq!(
            ids(src, Grants::none()),
            vec![(CheckId::S001, 2, Some("read_raw".to_owned()))]
        );
    }

    #[test]
    fn s001_column_is_one_based() {
        let scan = check_rust("a.rs", "fn f() {\n    unsafe { }\n}\n", &Grants::none());
        assert_eq!(scan.findings[0].location, Some(Location::at("a.rs", 2, 5)));
    }

    #[test]
    fn s002_unsafe_fn_and_method() {
        let src = "unsafe fn a() {}\nstruct T;\nimpl T { unsafe fn b(&self) {} }\ntrait U { unsafe fn c(); }\n";
        let found = ids(src, Grants::none());
        assert_eq!(
            found,
            vec![
                (CheckId::S002, 1, Some("a".to_owned())),
                (CheckId::S002, 3, Some("T::b".to_owned())),
                (CheckId::S002, 4, Some("c".to_owned())),
            ]
        );
    }

    #[test]
    fn s003_unsafe_impl() {
        assert_eq!(
            only("struct T;\nunsafe impl Send for T {}\n"),
            vec![CheckId::S003]
        );
        assert!(only("struct T;\nimpl Clone for T { fn clone(&self) -> T { T } }\n").is_empty());
    }

    #[test]
    fn s004_unsafe_trait() {
        assert_eq!(only("unsafe trait Raw {}\n"), vec![CheckId::S004]);
        assert!(only("trait Safe {}\n").is_empty());
    }

    #[test]
    fn s005_extern_block() {
        assert_eq!(
            only("extern \"C\" { fn abs(x: i32) -> i32; }\n"),
            vec![CheckId::S005]
        );
        assert_eq!(
            only("unsafe extern \"C\" { fn abs(x: i32) -> i32; }\n"),
            vec![CheckId::S005]
        );
        assert!(only("extern crate core;\n").is_empty());
    }

    #[test]
    fn s006_symbol_attributes() {
        assert_eq!(only("#[no_mangle]\nfn f() {}\n"), vec![CheckId::S006]);
        assert_eq!(
            only("#[unsafe(no_mangle)]\nfn f() {}\n"),
            vec![CheckId::S006]
        );
        assert_eq!(
            only("#[export_name = \"g\"]\nfn f() {}\n"),
            vec![CheckId::S006]
        );
        assert!(only("#[inline]\nfn f() {}\n").is_empty());
    }

    #[test]
    fn s007_inline_asm() {
        let found = only("fn f() { unsafe { core::arch::asm!(\"nop\") } }\n");
        assert_eq!(found, vec![CheckId::S001, CheckId::S007]);
        assert_eq!(only("std::arch::global_asm!(\"\");\n"), vec![CheckId::S007]);
    }

    #[test]
    fn s008_transmute() {
        let found = only("fn f(x: u32) -> f32 { unsafe { std::mem::transmute(x) } }\n");
        assert_eq!(found, vec![CheckId::S001, CheckId::S008]);
        assert!(only("fn f(x: u32) -> f32 { f32::from_bits(x) }\n").is_empty());
    }

    #[test]
    fn s009_static_mut() {
        assert_eq!(only("static mut COUNT: u32 = 0;\n"), vec![CheckId::S009]);
        assert!(only("static COUNT: u32 = 0;\n").is_empty());
    }

    #[test]
    fn unsafe_hidden_in_macros_is_found() {
        let src = "macro_rules! m { () => { unsafe { 1 } } }\nfn f() { println!(\"{}\", unsafe { 2 }); }\n";
        assert_eq!(only(src), vec![CheckId::S001, CheckId::S001]);
    }

    #[test]
    fn s010_fs_without_dirs_is_creep() {
        let src = "fn main() { let s = std::fs::read_to_string(\"/data/x\").unwrap(); print!(\"{s}\"); }\n";
        assert_eq!(only(src), vec![CheckId::S010]);
        let granted = Grants::none().with(Resource::FsRead);
        assert!(ids(src, granted).is_empty());
    }

    #[test]
    fn s010_fs_write_needs_read_write() {
        let src = "use std::fs::File;\nfn main() { let _f = File::create(\"/data/out\"); }\n";
        let read_only = Grants::none().with(Resource::FsRead);
        assert_eq!(ids(src, read_only).len(), 1);
        let read_write = Grants::none().with(Resource::FsWrite);
        assert!(ids(src, read_write).is_empty());
    }

    #[test]
    fn s010_resolves_aliases_and_macro_arguments() {
        let src = "use std::env as e;\nfn main() { println!(\"{:?}\", e::var(\"HOME\")); }\n";
        let scan = check_rust("src/main.rs", src, &Grants::none());
        assert_eq!(scan.findings.len(), 1);
        assert_eq!(scan.uses[0].path, "std::env::var");
        assert!(scan.findings[0].message.contains("environment"));
    }

    #[test]
    fn s010_env_args_and_process_exit_are_not_creep() {
        let src = "use std::env::args;\nfn main() { let _ = args(); std::process::exit(0); }\n";
        assert!(only(src).is_empty());
    }

    #[test]
    fn s010_process_and_net_are_creep() {
        let src = "use std::process::Command;\nuse std::net::TcpStream;\nfn main() { let _ = Command::new(\"sh\"); let _ = TcpStream::connect(\"a:1\"); }\n";
        assert_eq!(only(src), vec![CheckId::S010, CheckId::S010]);
        let everything = Grants::none()
            .with(Resource::FsWrite)
            .with(Resource::Env)
            .with(Resource::Network)
            .with(Resource::Process);
        let found = ids(src, everything);
        assert_eq!(found.len(), 1, "subprocesses are never covered: {found:?}");
    }

    #[test]
    fn s010_glob_import() {
        assert_eq!(only("use std::fs::*;\nfn main() {}\n"), vec![CheckId::S010]);
        assert!(
            ids(
                "use std::fs::*;\nfn main() {}\n",
                Grants::none().with(Resource::FsRead)
            )
            .is_empty()
        );
    }

    #[test]
    fn s010_literal_names_and_paths_must_be_granted() {
        let grants = Grants::none()
            .env_names(["GREETING".to_owned()])
            .dirs([("/data".to_owned(), false)]);
        let ok = "fn main() { let _ = std::env::var(\"GREETING\"); let _ = std::fs::read(\"/data/list.txt\"); }\n";
        assert!(ids(ok, grants.clone()).is_empty());
        let env = "fn main() { let _ = std::env::var(\"HOME\"); }\n";
        assert_eq!(ids(env, grants.clone()).len(), 1);
        let outside = "fn main() { let _ = std::fs::read_to_string(\"/etc/passwd\"); }\n";
        assert_eq!(ids(outside, grants.clone()).len(), 1);
        let prefix = "fn main() { let _ = std::fs::read(\"/database\"); }\n";
        assert_eq!(
            ids(prefix, grants.clone()).len(),
            1,
            "`/database` is not under `/data`"
        );
        let write = "fn main() { let _ = std::fs::write(\"/data/out\", b\"x\"); }\n";
        let found = ids(write, grants);
        assert_eq!(
            found.len(),
            1,
            "a read-only directory is not writable: {found:?}"
        );
    }

    #[test]
    fn s011_deep_nesting_is_a_finding_not_a_crash() {
        // On a 2 MiB test thread, syn overflows the stack long before 1000 levels.
        let src = format!(
            "fn main() {{\n    let x = {}1{};\n}}\n",
            "(".repeat(1000),
            ")".repeat(1000)
        );
        let scan = check_rust("src/main.rs", &src, &Grants::none());
        assert_eq!(scan.findings.len(), 1, "{:?}", scan.findings);
        assert_eq!(scan.findings[0].id, CheckId::S011);
        assert!(
            scan.findings[0]
                .message
                .contains("nests brackets more than 128 deep"),
            "{}",
            scan.findings[0].message
        );
        assert_eq!(
            scan.findings[0].location.as_ref().and_then(|l| l.line),
            Some(2)
        );
        let unary = format!("fn main() {{ let _ = {}true; }}\n", "!".repeat(5000));
        assert_eq!(only(&unary), vec![CheckId::S011]);
    }

    #[test]
    fn nesting_within_the_limit_is_parsed_on_the_large_stack() {
        // 120 levels: within the limit, so parsed (on the parser thread) and checked.
        let src = format!(
            "fn main() {{ let x = {}unsafe {{ 1 }}{}; }}\n",
            "(".repeat(120),
            ")".repeat(120)
        );
        assert_eq!(only(&src), vec![CheckId::S001]);
    }

    #[test]
    fn s010_extern_crate_std_alias_is_resolved() {
        let src = "extern crate std as s;\nfn main() { let _ = s::fs::read(\"/etc/passwd\"); }\n";
        let scan = check_rust("src/main.rs", src, &Grants::none());
        assert_eq!(
            scan.findings.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![CheckId::S010]
        );
        assert_eq!(scan.uses[0].path, "std::fs::read");
    }

    #[test]
    fn s007_asm_as_a_plain_identifier_in_a_macro_is_not_assembly() {
        assert!(only("macro_rules! m { ($asm:ident) => { let asm = $asm; }; }\n").is_empty());
        assert_eq!(
            only("macro_rules! m { () => { core::arch::asm!(\"nop\") }; }\n"),
            vec![CheckId::S007]
        );
    }

    #[test]
    fn harmless_process_and_args_uses_are_recorded() {
        let src = "fn main() { let _ = std::env::args(); std::process::exit(3); }\n";
        let scan = check_rust("src/main.rs", src, &Grants::none());
        assert!(scan.findings.is_empty());
        let kinds: Vec<Resource> = scan.uses.iter().map(|u| u.resource).collect();
        assert_eq!(kinds, vec![Resource::Args, Resource::Exit]);
        assert!(scan.uses.iter().all(|u| u.covered));
    }

    #[test]
    fn mod_declarations_and_includes_are_recorded() {
        let src = "mod evil;\n#[path = \"x/y.rs\"]\nmod other;\n#[cfg_attr(all(), path = \"z.rs\")]\nmod z;\nmod inner { mod deep; }\ninclude!(\"gen.rs\");\nfn main() { include!(concat!(env!(\"OUT_DIR\"), \"/a.rs\")); }\nmacro_rules! m { () => { mod hidden; }; }\n";
        let scan = check_rust("src/main.rs", src, &Grants::none());
        let refs: Vec<String> = scan
            .modules
            .iter()
            .map(|m| match m {
                ModRef::File {
                    name,
                    inline,
                    paths,
                    ..
                } => format!(
                    "mod {}{name} {paths:?}",
                    inline.iter().fold(String::new(), |acc, i| acc + i + "::")
                ),
                ModRef::Include { path, .. } => format!("include {path:?}"),
            })
            .collect();
        assert_eq!(
            refs,
            vec![
                "mod evil []",
                "mod other [\"x/y.rs\"]",
                "mod z [\"z.rs\"]",
                "mod inner::deep []",
                "include Some(\"gen.rs\")",
                "include None",
                "mod hidden []",
            ]
        );
    }

    #[test]
    fn s011_parse_error_has_a_location() {
        let scan = check_rust(
            "src/main.rs",
            "fn main() {\n  let = ;\n}\n",
            &Grants::none(),
        );
        assert_eq!(scan.findings.len(), 1);
        assert_eq!(scan.findings[0].id, CheckId::S011);
        assert_eq!(
            scan.findings[0].location.as_ref().and_then(|l| l.line),
            Some(2)
        );
    }
}
