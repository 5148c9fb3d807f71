//! Rust guest source checks (`ANRF-S001`..`ANRF-S011`), parsed with `syn`.
//!
//! One pass over each file collects every memory-safety construct with its
//! enclosing function (what a `function:NAME` override matches), every use of
//! `std::fs`, `std::env`, `std::net` and `std::process` after resolving `use`
//! aliases, and the names of the functions the file defines.
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
//! constructs, so code hidden inside a macro is still seen.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Span, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

use crate::finding::{CheckId, Finding, Location};

mod depth;
pub(crate) mod tree;

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
    /// Memory-safety findings (S001..S009), capability creep (S010), parse errors (S011).
    pub findings: Vec<Finding>,
    /// Every capability-bearing API use, for the report's facts.
    pub uses: Vec<CapabilityUse>,
    /// Names of defined functions and methods (`name` and `Type::name`).
    pub functions: BTreeSet<String>,
    /// `mod name;` declarations and `include!` invocations, to follow.
    pub modules: Vec<ModRef>,
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
    },
    /// `include!("path")`; `None` when the path is not a string literal.
    Include {
        /// The literal path.
        path: Option<String>,
        /// Where it is invoked.
        location: Location,
    },
}

/// Checks one Rust source file. `file` is the path relative to the module.
///
/// A file larger than [`depth::MAX_SOURCE_BYTES`] or nested deeper than
/// [`depth::MAX_NESTING`] is not parsed: it is an `ANRF-S011` finding.
pub(crate) fn check_rust(file: &str, src: &str, grants: &Grants) -> RustScan {
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
            .spawn_scoped(scope, || parse_and_scan(file, src, grants))
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

fn parse_and_scan(file: &str, src: &str, grants: &Grants) -> RustScan {
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
    let mut aliases = Aliases::default();
    aliases.visit_file(&ast);
    let mut visitor = Visitor {
        file,
        grants: grants.clone(),
        aliases: aliases.map,
        functions: Vec::new(),
        impl_types: Vec::new(),
        inline: Vec::new(),
        scan: RustScan::default(),
    };
    for (span, display) in aliases.globs {
        visitor.glob(span, &display);
    }
    visitor.visit_file(&ast);
    visitor.scan
}

fn line_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `use` declarations: local name -> full path, plus glob imports of capability modules.
#[derive(Default)]
struct Aliases {
    map: BTreeMap<String, Vec<String>>,
    globs: Vec<(Span, String)>,
}

impl Aliases {
    fn walk(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.walk(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    if let Some(last) = prefix.last() {
                        self.map.insert(last.clone(), prefix.clone());
                    }
                } else {
                    let mut full = prefix.clone();
                    full.push(name.clone());
                    self.map.insert(name, full);
                }
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.map.insert(r.rename.to_string(), full);
            }
            syn::UseTree::Glob(g) => {
                if matches!(prefix.first().map(String::as_str), Some("std"))
                    && matches!(
                        prefix.get(1).map(String::as_str),
                        Some("fs" | "env" | "net" | "process")
                    )
                    && prefix.len() == 2
                {
                    self.globs.push((g.star_token.span, prefix.join("::")));
                }
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.walk(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Aliases {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        self.walk(&mut prefix, &item.tree);
    }

    /// `extern crate std as s;` makes `s::fs::read` a `std` path.
    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        if item.ident == "std"
            && let Some((_, rename)) = &item.rename
        {
            self.map.insert(rename.to_string(), vec!["std".to_owned()]);
        }
    }
}

/// What a resolved `std` path is.
enum Class {
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

fn classify(full: &[String]) -> Class {
    let segs: Vec<&str> = full.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["std", "fs", "File", method, ..]
            if matches!(*method, "create" | "create_new" | "options") =>
        {
            Class::Reaches(Resource::FsWrite)
        }
        ["std", "fs", item, ..] if FS_WRITES.contains(item) => Class::Reaches(Resource::FsWrite),
        ["std", "fs", _, ..] => Class::Reaches(Resource::FsRead),
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
        _ => Class::Harmless,
    }
}

struct Visitor<'a> {
    file: &'a str,
    grants: Grants,
    aliases: BTreeMap<String, Vec<String>>,
    /// Enclosing functions, innermost last.
    functions: Vec<String>,
    /// Enclosing impl self types, innermost last.
    impl_types: Vec<Option<String>>,
    /// Enclosing inline modules (or their `#[path]`), outermost first.
    inline: Vec<String>,
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

    fn reach(&mut self, resource: Resource, path: String, span: Span) {
        let covered = resource.covered_by(&self.grants);
        let location = self.location(span);
        if !covered {
            let finding = Finding::new(
                CheckId::S010,
                format!(
                    "`{path}` {} but {}",
                    resource.describe(),
                    resource.missing()
                ),
            )
            .at(location.clone())
            .help(resource.fix())
            .in_function(self.current_function());
            self.scan.findings.push(finding);
        }
        self.scan.uses.push(CapabilityUse {
            resource,
            path,
            location,
            covered,
        });
    }

    fn glob(&mut self, span: Span, module: &str) {
        let resource = match module {
            "std::fs" => Resource::FsRead,
            "std::env" => Resource::Env,
            "std::net" => Resource::Network,
            _ => Resource::Process,
        };
        if resource.covered_by(&self.grants) {
            return;
        }
        let finding = Finding::new(
            CheckId::S010,
            format!(
                "`use {module}::*` imports APIs that {} but {}",
                resource.describe(),
                resource.missing()
            ),
        )
        .at(self.location(span))
        .help(format!(
            "import the items by name so each use can be checked; {}",
            resource.fix()
        ));
        self.scan.findings.push(finding);
    }

    fn resolve(&self, path: &syn::Path) -> Option<Vec<String>> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let first = segs.first()?;
        if first == "std" {
            return Some(segs);
        }
        if path.leading_colon.is_none()
            && let Some(full) = self.aliases.get(first)
        {
            let mut resolved = full.clone();
            resolved.extend(segs.into_iter().skip(1));
            return Some(resolved);
        }
        None
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

    /// Scans tokens that are not parsed as Rust (macro bodies) for the same constructs.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(group) => self.scan_tokens(group.stream()),
                TokenTree::Ident(ident) => {
                    let text = ident.to_string();
                    let next_ident = |k: usize| match trees.get(i + k) {
                        Some(TokenTree::Ident(next)) => Some(next.to_string()),
                        _ => None,
                    };
                    let bang_follows = matches!(
                        trees.get(i + 1),
                        Some(TokenTree::Punct(p)) if p.as_char() == '!'
                    );
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
                            let semicolon = matches!(
                                trees.get(i + 2),
                                Some(TokenTree::Punct(p)) if p.as_char() == ';'
                            );
                            if let (Some(name), true) = (next_ident(1), semicolon) {
                                let location = self.location(ident.span());
                                self.scan.modules.push(ModRef::File {
                                    name,
                                    inline: self.inline.clone(),
                                    paths: Vec::new(),
                                    location,
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
                            self.scan.modules.push(ModRef::Include { path, location });
                        }
                        "static" if next_ident(1).as_deref() == Some("mut") => {
                            self.memory(
                                CheckId::S009,
                                ident.span(),
                                "`static mut` inside a macro body",
                            );
                        }
                        "std" => {
                            // `std :: module :: item` is Ident, Punct, Punct, Ident, Punct, Punct, Ident.
                            if let (Some(module), Some(item)) = (next_ident(3), next_ident(6)) {
                                let full = vec!["std".to_owned(), module, item];
                                if let Class::Reaches(resource) = classify(&full) {
                                    self.reach(resource, full.join("::"), ident.span());
                                }
                            }
                        }
                        _ => {}
                    }
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => {}
            }
        }
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
            if let Some(token) = &item.sig.unsafety {
                v.memory(CheckId::S002, token.span, "`unsafe fn` declared");
            }
            visit::visit_impl_item_fn(v, item);
        });
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        let name = item.sig.ident.to_string();
        self.fn_named(name, |v| {
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
            });
            visit::visit_item_mod(self, item);
            return;
        }
        let dir = paths
            .first()
            .cloned()
            .unwrap_or_else(|| item.ident.to_string());
        self.inline.push(dir);
        visit::visit_item_mod(self, item);
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
            && let Some(full) = self.resolve(&func.path)
            && let Some(syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            })) = call.args.first()
        {
            let value = lit.value();
            let path_text = full.join("::");
            match classify(&full) {
                Class::Reaches(Resource::Env)
                    if self.grants.allows(Resource::Env)
                        && !self.grants.allows_env_name(&value) =>
                {
                    let finding = Finding::new(
                        CheckId::S010,
                        format!("`{path_text}(\"{value}\")` reads environment variable `{value}`, which the manifest does not grant"),
                    )
                    .at(self.location(lit.span()))
                    .help(format!("add `\"{value}\"` to `env` under `[security.capabilities]` (`anrf override request MODULE --allow-env {value}`), or do not read it"))
                    .in_function(self.current_function());
                    self.scan.findings.push(finding);
                }
                Class::Reaches(resource @ (Resource::FsRead | Resource::FsWrite))
                    if self.grants.allows(resource)
                        && value.starts_with('/')
                        && !self
                            .grants
                            .allows_path(&value, resource == Resource::FsWrite) =>
                {
                    let finding = Finding::new(
                        CheckId::S010,
                        format!("`{path_text}(\"{value}\")` {} `{value}`, outside every granted directory", resource.describe()),
                    )
                    .at(self.location(lit.span()))
                    .help("use a path under a directory granted in `[security.capabilities]` (its `guest` path), or grant the directory")
                    .in_function(self.current_function());
                    self.scan.findings.push(finding);
                }
                _ => {}
            }
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if let Some(last) = path.segments.last()
            && (last.ident == "transmute" || last.ident == "transmute_copy")
        {
            {
                self.memory(
                    CheckId::S008,
                    last.ident.span(),
                    &format!("`{}` reinterprets memory", last.ident),
                );
            }
        }
        if let Some(full) = self.resolve(path)
            && let Class::Reaches(resource) = classify(&full)
        {
            {
                let span = path
                    .segments
                    .first()
                    .map_or_else(Span::call_site, |s| s.ident.span());
                self.reach(resource, full.join("::"), span);
            }
        }
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, _item: &'ast syn::ItemUse) {
        // Imports are resolved in a first pass; a use is judged where it is used.
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if matches!(name.as_str(), "asm" | "global_asm" | "naked_asm") {
            let span = mac
                .path
                .segments
                .last()
                .map_or_else(Span::call_site, |s| s.ident.span());
            self.memory(CheckId::S007, span, &format!("`{name}!` inline assembly"));
            return;
        }
        if name == "macro_rules" {
            self.scan_tokens(mac.tokens.clone());
            return;
        }
        if name == "include" {
            let path = mac.parse_body::<syn::LitStr>().ok().map(|l| l.value());
            let span = mac
                .path
                .segments
                .last()
                .map_or_else(Span::call_site, |s| s.ident.span());
            let location = self.location(span);
            self.scan.modules.push(ModRef::Include { path, location });
            return;
        }
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        match mac.parse_body_with(parser) {
            Ok(exprs) => {
                for expr in &exprs {
                    self.visit_expr(expr);
                }
            }
            Err(_) => self.scan_tokens(mac.tokens.clone()),
        }
        visit::visit_macro(self, mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
