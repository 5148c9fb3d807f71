//! Name resolution over every file of a module, as the compiler resolves it,
//! so capability checks (`ANRF-S010`) judge the canonical path of what is
//! used, and a name the analysis cannot follow is `ANRF-S013`.
//!
//! Each file's scan ([`FileItems`]) records, per module scope (the file and
//! each inline `mod`), the names it declares, its imports (`use`, with
//! renames, groups, `self`/`super`/`crate` paths and globs; `extern crate X
//! as Y`) and every path it uses. Here the files are joined into the module
//! tree (`mod name;` edges as `tree.rs` resolves them; an `include!`d file
//! shares its includer's scope), path dependencies become extern crates rooted
//! at their files, and the imports are solved to a fixpoint:
//!
//! - a name's meaning is a set of targets (a local module, a local item, a
//!   path into `std`/`core`/`alloc`, or an external crate the module does not
//!   contain); when the analysis cannot choose (block scopes, `cfg`, shadowing
//!   by imports) it keeps every candidate, so it over-approximates and a
//!   capability is never missed for lack of precision;
//! - a glob of a local module copies that module's names (visibility is
//!   ignored: more candidates, never fewer); a glob of a `std` path makes every
//!   otherwise unknown name a candidate under it (`use std::*; fs::read`);
//! - items a module declares shadow what a glob brings, as in the compiler.
//!
//! Bounds keep hostile input finite: at most [`MAX_ROUNDS`] rounds and [`MAX_WORK`] steps, paths of
//! at most [`MAX_PATH`] segments, at most [`MAX_TARGETS`] candidates per name
//! and [`MAX_BINDINGS`] in all. Hitting one is an `ANRF-S013` finding, never
//! a loop or a claim of safety. Nothing here recurses on input structure.

use std::collections::{BTreeMap, BTreeSet};

use crate::finding::{CheckId, Finding, Location};

use super::tree::{self, Resolved, Unit};
use super::{CapabilityUse, Class, Grants, ModRef, Resource, classify};

/// Solving rounds before resolution is declared undecided (rounds alternate
/// direction, so a chain of re-exports settles in a few in either order).
const MAX_ROUNDS: usize = 256;
/// Import resolutions in all rounds before resolution is declared undecided.
const MAX_WORK: usize = 4_000_000;
/// The longest resolved path.
const MAX_PATH: usize = 16;
/// The most candidates one name may have.
const MAX_TARGETS: usize = 64;
/// The most (module, name, candidate) entries in all.
const MAX_BINDINGS: usize = 500_000;

/// What the syntactic pass saw in one file, for resolution.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileItems {
    /// Module scopes; `scopes[0]` is the file itself.
    pub scopes: Vec<Scope>,
    /// Names of the `macro_rules!` the file defines.
    pub macros: BTreeSet<String>,
    /// Macro invocations, judged once every file's macros are known.
    pub calls: Vec<MacroCall>,
    /// Method calls by a name that `Path` uses for file-system queries.
    pub methods: Vec<MethodCall>,
}

impl FileItems {
    /// A file with only its top scope.
    pub(crate) fn new() -> Self {
        FileItems {
            scopes: vec![Scope::default()],
            ..FileItems::default()
        }
    }
}

/// One module scope: the file or an inline `mod name { .. }`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// Items declared here (functions, types, traits, consts, statics, ...).
    pub items: BTreeSet<String>,
    /// Inline child modules, by name.
    pub children: BTreeMap<String, usize>,
    /// `use` and `extern crate` imports.
    pub imports: Vec<Import>,
    /// Every path used.
    pub refs: Vec<Ref>,
}

/// A path as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// Starts with `::`.
    pub leading: bool,
    /// The segments (`crate`, `self`, `super`, `$crate` included).
    pub segs: Vec<String>,
}

/// One import.
#[derive(Debug, Clone)]
pub(crate) struct Import {
    /// What is imported.
    pub path: Written,
    /// The local name (`_` binds none); `None` for a glob.
    pub name: Option<String>,
    /// Where.
    pub location: Location,
    /// `extern crate`: the name also joins the extern prelude.
    pub extern_crate: bool,
}

/// One path use.
#[derive(Debug, Clone)]
pub(crate) struct Ref {
    /// The path.
    pub path: Written,
    /// Where.
    pub location: Location,
    /// The enclosing function.
    pub function: Option<String>,
    /// A string literal passed as the first argument, when the path is called.
    pub literal: Option<(String, Location)>,
}

/// A macro invocation.
#[derive(Debug, Clone)]
pub(crate) struct MacroCall {
    /// The macro's path.
    pub path: Written,
    /// The scope it is invoked in.
    pub scope: usize,
    /// Where.
    pub location: Location,
    /// The enclosing function.
    pub function: Option<String>,
}

/// A method call `.name(..)` whose name is a `Path` file-system query.
#[derive(Debug, Clone)]
pub(crate) struct MethodCall {
    /// The method.
    pub name: String,
    /// Where.
    pub location: Location,
    /// The enclosing function.
    pub function: Option<String>,
}

/// `Path`/`PathBuf` methods that query the file system.
pub(crate) const PATH_FS_METHODS: &[&str] = &[
    "read_dir",
    "exists",
    "try_exists",
    "metadata",
    "symlink_metadata",
    "canonicalize",
    "read_link",
    "is_file",
    "is_dir",
    "is_symlink",
];

/// Macros `std` and `core` define; their expansion reaches no host resource.
const STD_MACROS: &[&str] = &[
    "print",
    "println",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "write",
    "writeln",
    "vec",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "panic",
    "unreachable",
    "todo",
    "unimplemented",
    "matches",
    "concat",
    "stringify",
    "line",
    "column",
    "file",
    "module_path",
    "cfg",
    "env",
    "option_env",
    "include_str",
    "include_bytes",
    "include",
    "dbg",
    "thread_local",
    "compile_error",
    "macro_rules",
    "addr_of",
    "addr_of_mut",
    "offset_of",
    "pin",
    "ready",
    "asm",
    "global_asm",
    "naked_asm",
];

/// What a name means.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// A module of this module (by canonical scope id).
    Mod(usize),
    /// A local item that is not a module (its body is checked where it is).
    Item,
    /// A path into `std`, `core` or `alloc`.
    Std(Vec<String>),
    /// Something in a crate the module does not contain (a registry dependency).
    Extern,
}

/// What resolving one path gave.
#[derive(Default)]
struct Outcome {
    targets: BTreeSet<Target>,
    /// Why it could not be decided, if it could not.
    undecided: Option<String>,
}

/// Collects every file's scan, then resolves and judges them together.
pub(crate) struct Resolver {
    grants: Grants,
    files: Vec<(Unit, FileItems, Vec<ModRef>)>,
    /// Crates the module contains besides its own: extern name -> root file.
    crates: Vec<(String, String)>,
    /// Every function and method the module defines (`Type::name` and `name`).
    functions: BTreeSet<String>,
}

impl Resolver {
    /// A resolver judging against `grants`; `crates` are the path
    /// dependencies inside the module, by the names code uses for them
    /// (and the guest's own library by its package name), with their root files.
    pub(crate) fn new(grants: &Grants, crates: Vec<(String, String)>) -> Self {
        Resolver {
            grants: grants.clone(),
            files: Vec::new(),
            crates,
            functions: BTreeSet::new(),
        }
    }

    /// Adds one scanned file, as `unit` was scanned.
    pub(crate) fn add(&mut self, unit: &Unit, scan: &super::RustScan) {
        self.functions.extend(scan.functions.iter().cloned());
        self.files
            .push((unit.clone(), scan.items.clone(), scan.modules.clone()));
    }

    /// Resolves every name and returns the `ANRF-S010`/`S013` findings and
    /// the capability uses.
    pub(crate) fn finish(self) -> (Vec<Finding>, Vec<CapabilityUse>) {
        let mut solver = Solver::build(&self);
        let settled = solver.solve();
        let mut judge = Judge {
            grants: &self.grants,
            findings: Vec::new(),
            uses: Vec::new(),
            seen: BTreeSet::new(),
        };
        if let Err(why) = settled {
            let location = self.files.first().map_or_else(
                || Location::file(""),
                |(u, _, _)| Location::file(u.file.clone()),
            );
            judge.undecided(location, None, &why);
        }
        solver.judge(&mut judge, &self.functions);
        (judge.findings, judge.uses)
    }
}

/// The joined module tree and its bindings.
struct Solver {
    /// First scope id of each file.
    base: Vec<usize>,
    /// Per canonical scope: parents (modules declaring it).
    parents: Vec<BTreeSet<usize>>,
    /// Per canonical scope: names of declared items and child modules.
    declared: Vec<BTreeSet<String>>,
    /// Per canonical scope: name -> candidates.
    bindings: Vec<BTreeMap<String, BTreeSet<Target>>>,
    /// Per canonical scope: `std` paths globbed in.
    std_globs: Vec<BTreeSet<Vec<String>>>,
    /// Per canonical scope: a glob of something the module does not contain.
    opaque: Vec<bool>,
    /// Scopes that are crate roots.
    roots: BTreeSet<usize>,
    /// Extern prelude: name -> candidates.
    externs: BTreeMap<String, BTreeSet<Target>>,
    /// Every `macro_rules!` name.
    macros: BTreeSet<String>,
    /// Total entries in `bindings`.
    count: usize,
    /// Every import, with its canonical scope.
    imports: Vec<(usize, Import)>,
    /// Every path use, with its canonical scope.
    refs: Vec<(usize, Ref)>,
    /// Every macro call, with its canonical scope.
    calls: Vec<(usize, MacroCall)>,
    /// Every `Path`-like method call.
    methods: Vec<MethodCall>,
}

fn find(canon: &mut [usize], mut id: usize) -> usize {
    while let Some(&up) = canon.get(id) {
        if up == id {
            break;
        }
        let grand = canon.get(up).copied().unwrap_or(up);
        if let Some(slot) = canon.get_mut(id) {
            *slot = grand;
        }
        id = up;
    }
    id
}

impl Solver {
    fn build(resolver: &Resolver) -> Solver {
        let mut base = Vec::with_capacity(resolver.files.len());
        let mut total = 0usize;
        for (_, items, _) in &resolver.files {
            base.push(total);
            total += items.scopes.len().max(1);
        }
        let by_file: BTreeMap<&str, usize> = resolver
            .files
            .iter()
            .enumerate()
            .map(|(i, (u, _, _))| (u.file.as_str(), i))
            .collect();
        let mut canon: Vec<usize> = (0..total).collect();
        let mut child_edges: Vec<(usize, String, usize)> = Vec::new();
        for (fi, (unit, items, modules)) in resolver.files.iter().enumerate() {
            let b = base.get(fi).copied().unwrap_or(0);
            for (si, scope) in items.scopes.iter().enumerate() {
                for (name, child) in &scope.children {
                    child_edges.push((b + si, name.clone(), b + child));
                }
            }
            for reference in modules {
                let Resolved::Units(units) =
                    tree::resolve(unit, reference, |f| by_file.contains_key(f))
                else {
                    continue;
                };
                for next in units {
                    let Some(&fj) = by_file.get(next.file.as_str()) else {
                        continue;
                    };
                    let target = base.get(fj).copied().unwrap_or(0);
                    match reference {
                        ModRef::File { name, scope, .. } => {
                            child_edges.push((b + scope, name.clone(), target));
                        }
                        ModRef::Include { scope, .. } => {
                            let (x, y) = (find(&mut canon, b + scope), find(&mut canon, target));
                            if x != y
                                && let Some(slot) = canon.get_mut(y)
                            {
                                *slot = x;
                            }
                        }
                    }
                }
            }
        }
        for id in 0..total {
            let root = find(&mut canon, id);
            if let Some(slot) = canon.get_mut(id) {
                *slot = root;
            }
        }
        let c = |id: usize| canon.get(id).copied().unwrap_or(id);
        let mut solver = Solver {
            base,
            parents: vec![BTreeSet::new(); total],
            declared: vec![BTreeSet::new(); total],
            bindings: vec![BTreeMap::new(); total],
            std_globs: vec![BTreeSet::new(); total],
            opaque: vec![false; total],
            roots: BTreeSet::new(),
            externs: BTreeMap::new(),
            macros: BTreeSet::new(),
            count: 0,
            imports: Vec::new(),
            refs: Vec::new(),
            calls: Vec::new(),
            methods: Vec::new(),
        };
        for (fi, (_, items, _)) in resolver.files.iter().enumerate() {
            solver.macros.extend(items.macros.iter().cloned());
            let b = solver.base.get(fi).copied().unwrap_or(0);
            for (si, scope) in items.scopes.iter().enumerate() {
                let id = c(b + si);
                for item in &scope.items {
                    solver.bind_declared(id, item, Target::Item);
                }
                solver
                    .imports
                    .extend(scope.imports.iter().map(|i| (id, i.clone())));
                solver
                    .refs
                    .extend(scope.refs.iter().map(|r| (id, r.clone())));
            }
            solver.calls.extend(
                items
                    .calls
                    .iter()
                    .map(|call| (c(b + call.scope), call.clone())),
            );
            solver.methods.extend(items.methods.iter().cloned());
        }
        for (from, name, to) in child_edges {
            let (from, to) = (c(from), c(to));
            solver.bind_declared(from, &name, Target::Mod(to));
            if let Some(p) = solver.parents.get_mut(to) {
                p.insert(from);
            }
        }
        for (fi, (unit, _, _)) in resolver.files.iter().enumerate() {
            let id = c(solver.base.get(fi).copied().unwrap_or(0));
            let name = unit.file.rsplit('/').next().unwrap_or_default();
            let no_parent = solver.parents.get(id).is_none_or(BTreeSet::is_empty);
            if no_parent || matches!(name, "main.rs" | "lib.rs") {
                solver.roots.insert(id);
            }
        }
        for (name, root) in &resolver.crates {
            let target = match by_file.get(root.as_str()) {
                Some(&fi) => {
                    let id = c(solver.base.get(fi).copied().unwrap_or(0));
                    solver.roots.insert(id);
                    Target::Mod(id)
                }
                None => Target::Extern,
            };
            solver
                .externs
                .entry(name.clone())
                .or_default()
                .insert(target);
        }
        for name in ["std", "core", "alloc"] {
            solver
                .externs
                .entry(name.to_owned())
                .or_default()
                .insert(Target::Std(vec![name.to_owned()]));
        }
        // `extern crate X as Y` (at a crate root) puts `Y` in every module's
        // extern prelude; taken wherever it is written (more candidates).
        let renames: Vec<(String, String)> = solver
            .imports
            .iter()
            .filter(|(_, i)| i.extern_crate && i.path.leading)
            .filter_map(|(_, i)| Some((i.name.clone()?, i.path.segs.first()?.clone())))
            .collect();
        for (name, krate) in renames {
            let targets = solver
                .externs
                .get(&krate)
                .cloned()
                .unwrap_or_else(|| BTreeSet::from([Target::Extern]));
            solver.externs.entry(name).or_default().extend(targets);
        }
        solver
    }

    fn bind_declared(&mut self, id: usize, name: &str, target: Target) {
        if let Some(d) = self.declared.get_mut(id) {
            d.insert(name.to_owned());
        }
        self.bind(id, name, target);
    }

    /// Adds a candidate; whether it is new.
    fn bind(&mut self, id: usize, name: &str, target: Target) -> bool {
        let Some(map) = self.bindings.get_mut(id) else {
            return false;
        };
        let set = map.entry(name.to_owned()).or_default();
        if set.len() >= MAX_TARGETS || self.count >= MAX_BINDINGS {
            return false;
        }
        let new = set.insert(target);
        if new {
            self.count += 1;
        }
        new
    }

    /// The crate roots above `id`.
    fn crate_roots(&self, id: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(m) = stack.pop() {
            if !seen.insert(m) {
                continue;
            }
            let parents = self.parents.get(m).cloned().unwrap_or_default();
            if self.roots.contains(&m) || parents.is_empty() {
                out.insert(m);
            }
            stack.extend(parents);
        }
        out
    }

    /// The members named `name` of module `m`.
    fn member(&self, m: usize, name: &str) -> BTreeSet<Target> {
        let mut out: BTreeSet<Target> = self
            .bindings
            .get(m)
            .and_then(|b| b.get(name))
            .cloned()
            .unwrap_or_default();
        let declared = self.declared.get(m).is_some_and(|d| d.contains(name));
        if !declared {
            for glob in self.std_globs.get(m).into_iter().flatten() {
                let mut path = glob.clone();
                path.push(name.to_owned());
                out.insert(Target::Std(path));
            }
            if self.opaque.get(m).copied().unwrap_or(false) {
                out.insert(Target::Extern);
            }
        }
        out
    }

    /// Resolves a path written in scope `m`.
    fn resolve(&self, m: usize, path: &Written) -> Outcome {
        let mut out = Outcome::default();
        let Some(first) = path.segs.first() else {
            return out;
        };
        let mut rest = 1usize;
        let mut current: BTreeSet<Target> = if path.leading {
            self.externs.get(first).cloned().unwrap_or_else(|| {
                let mut s = BTreeSet::new();
                s.insert(Target::Extern);
                s
            })
        } else {
            match first.as_str() {
                "crate" | "$crate" => self.crate_roots(m).into_iter().map(Target::Mod).collect(),
                "self" | "super" => {
                    let mut mods: BTreeSet<usize> = BTreeSet::new();
                    mods.insert(m);
                    rest = 0;
                    for seg in &path.segs {
                        match seg.as_str() {
                            "self" => {}
                            "super" => {
                                mods = mods
                                    .iter()
                                    .flat_map(|x| self.parents.get(*x).cloned().unwrap_or_default())
                                    .collect();
                            }
                            _ => break,
                        }
                        rest += 1;
                    }
                    if mods.is_empty() {
                        out.undecided = Some(format!(
                            "`{}` climbs above every crate root the verifier found",
                            path.segs.join("::")
                        ));
                        return out;
                    }
                    mods.into_iter().map(Target::Mod).collect()
                }
                _ => {
                    let mut s = self.member(m, first);
                    s.extend(self.externs.get(first).cloned().unwrap_or_default());
                    if s.is_empty() {
                        // A local variable, generic parameter, primitive or prelude name.
                        return out;
                    }
                    s
                }
            }
        };
        for seg in path.segs.iter().skip(rest) {
            let mut next = BTreeSet::new();
            for target in &current {
                match target {
                    Target::Mod(x) => {
                        let found = self.member(*x, seg);
                        if found.is_empty() {
                            if self.macros.contains(seg) {
                                next.insert(Target::Item);
                            } else {
                                out.undecided = Some(format!(
                                    "`{}` names `{seg}` in a module of the guest that declares no such item (is it generated by a macro?)",
                                    path.segs.join("::")
                                ));
                            }
                        }
                        next.extend(found);
                    }
                    Target::Std(p) => {
                        if p.len() >= MAX_PATH {
                            out.undecided = Some(format!(
                                "`{}` resolves to a path longer than {MAX_PATH} segments",
                                path.segs.join("::")
                            ));
                            continue;
                        }
                        let mut p = p.clone();
                        p.push(seg.clone());
                        next.insert(Target::Std(p));
                    }
                    Target::Item | Target::Extern => {
                        next.insert(target.clone());
                    }
                }
            }
            if next.len() > MAX_TARGETS {
                out.undecided = Some(format!(
                    "`{}` has more than {MAX_TARGETS} candidate meanings",
                    path.segs.join("::")
                ));
                return out;
            }
            current = next;
        }
        out.targets = current;
        out
    }

    /// Solves the imports to a fixpoint (bindings only grow, within the
    /// bounds, so it ends); `Err` when a bound stopped it.
    fn solve(&mut self) -> Result<(), String> {
        let mut work = 0usize;
        for round in 0..MAX_ROUNDS {
            let mut changed = false;
            let n = self.imports.len();
            for step in 0..n {
                let k = if round % 2 == 0 { step } else { n - 1 - step };
                work += 1;
                if work > MAX_WORK {
                    return Err(format!(
                        "the imports needed more than {MAX_WORK} resolution steps, so name resolution was stopped"
                    ));
                }
                let Some((id, import)) = self.imports.get(k) else {
                    continue;
                };
                let (id, name) = (*id, import.name.clone());
                let outcome = self.resolve(id, &import.path);
                match name.as_deref() {
                    Some("_") => {}
                    Some(name) => {
                        for target in outcome.targets {
                            changed |= self.bind(id, name, target);
                        }
                    }
                    None => {
                        for target in outcome.targets {
                            changed |= self.glob(id, &target);
                        }
                    }
                }
            }
            if self.count >= MAX_BINDINGS {
                return Err(format!(
                    "the imports bind more than {MAX_BINDINGS} names, so name resolution was stopped"
                ));
            }
            if !changed {
                return Ok(());
            }
        }
        Err(format!(
            "the imports did not settle within {MAX_ROUNDS} rounds of name resolution"
        ))
    }

    /// Applies `use target::*` in scope `id`; whether anything was added.
    fn glob(&mut self, id: usize, target: &Target) -> bool {
        match target {
            Target::Mod(from) => {
                if *from == id {
                    return false;
                }
                let mut changed = false;
                let names: Vec<(String, BTreeSet<Target>)> = self
                    .bindings
                    .get(*from)
                    .map(|b| b.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                for (name, targets) in names {
                    if self.declared.get(id).is_some_and(|d| d.contains(&name)) {
                        continue;
                    }
                    for t in targets {
                        changed |= self.bind(id, &name, t);
                    }
                }
                let globs: Vec<Vec<String>> = self
                    .std_globs
                    .get(*from)
                    .map(|g| g.iter().cloned().collect())
                    .unwrap_or_default();
                for g in globs {
                    if let Some(mine) = self.std_globs.get_mut(id) {
                        changed |= mine.insert(g);
                    }
                }
                if self.opaque.get(*from).copied().unwrap_or(false)
                    && let Some(mine) = self.opaque.get_mut(id)
                    && !*mine
                {
                    *mine = true;
                    changed = true;
                }
                changed
            }
            Target::Std(path) => {
                let mut star = path.clone();
                star.push("*".to_owned());
                // A glob of a capability module is judged where it is written.
                if matches!(classify(&star), Class::Reaches(_)) {
                    return false;
                }
                self.std_globs
                    .get_mut(id)
                    .is_some_and(|g| g.insert(path.clone()))
            }
            // Enum variants: constructors, never modules, macros or `std` paths.
            Target::Item => false,
            Target::Extern => match self.opaque.get_mut(id) {
                Some(mine) if !*mine => {
                    *mine = true;
                    true
                }
                _ => false,
            },
        }
    }

    /// Judges every import, path, macro call and method call.
    fn judge(&self, judge: &mut Judge<'_>, functions: &BTreeSet<String>) {
        for (id, import) in &self.imports {
            let outcome = self.resolve(*id, &import.path);
            if let Some(why) = &outcome.undecided {
                judge.undecided(import.location.clone(), None, why);
            }
            if import.name.is_none() {
                for target in &outcome.targets {
                    if let Target::Std(path) = target {
                        let mut star = path.clone();
                        star.push("*".to_owned());
                        if let Class::Reaches(resource) = classify(&star) {
                            judge.glob(resource, &path.join("::"), import.location.clone());
                        }
                    }
                }
            }
        }
        for (id, r) in &self.refs {
            let outcome = self.resolve(*id, &r.path);
            if let Some(why) = &outcome.undecided {
                judge.undecided(r.location.clone(), r.function.clone(), why);
            }
            for target in &outcome.targets {
                if let Target::Std(path) = target
                    && let Class::Reaches(resource) = classify(path)
                {
                    judge.reach(resource, path, r);
                }
            }
        }
        for (id, call) in &self.calls {
            self.judge_call(*id, call, judge);
        }
        for m in &self.methods {
            let path = format!("std::path::Path::{}", m.name);
            let defined = functions.contains(&m.name);
            if defined {
                judge.undecided(
                    m.location.clone(),
                    m.function.clone(),
                    &format!(
                        "`.{}()` may be `{path}`, which reads the file system, or the guest's own method of that name; the verifier does not infer types",
                        m.name
                    ),
                );
            } else {
                let r = Ref {
                    path: Written {
                        leading: false,
                        segs: Vec::new(),
                    },
                    location: m.location.clone(),
                    function: m.function.clone(),
                    literal: None,
                };
                let segs: Vec<String> = path.split("::").map(str::to_owned).collect();
                judge.reach(Resource::FsRead, &segs, &r);
            }
        }
    }

    fn judge_call(&self, id: usize, call: &MacroCall, judge: &mut Judge<'_>) {
        let Some(last) = call.path.segs.last() else {
            return;
        };
        let text = call.path.segs.join("::");
        let local = self.macros.contains(last);
        let std_path = call.path.segs.len() > 1
            && matches!(
                call.path.segs.first().map(String::as_str),
                Some("std" | "core" | "alloc")
            );
        let mut glob_note = "";
        let ok = if call.path.segs.len() == 1 {
            // An import of the name, or a glob of a dependency, may bring a
            // dependency's macro that shadows `std`'s.
            let imported = self.member(id, last);
            let foreign = imported.iter().any(|t| matches!(t, Target::Extern));
            if foreign {
                glob_note = " (a `use` of a dependency in this module may bring a macro of that name, which would shadow `std`'s)";
            }
            !foreign && (local || STD_MACROS.contains(&last.as_str()))
        } else if std_path {
            STD_MACROS.contains(&last.as_str())
        } else {
            matches!(
                call.path.segs.first().map(String::as_str),
                Some("crate" | "$crate" | "self" | "super")
            ) && local
        };
        if !ok {
            judge.undecided(
                call.location.clone(),
                call.function.clone(),
                &format!(
                    "`{text}!` is a macro the module does not define and `std` does not provide (a dependency's or a procedural macro){glob_note}; its expansion is not visible to the verifier"
                ),
            );
        }
    }
}

/// Turns resolved uses into findings, once per place and path.
pub(crate) struct Judge<'g> {
    grants: &'g Grants,
    findings: Vec<Finding>,
    uses: Vec<CapabilityUse>,
    seen: BTreeSet<(Location, String)>,
}

impl Judge<'_> {
    fn undecided(&mut self, location: Location, function: Option<String>, why: &str) {
        if !self
            .seen
            .insert((location.clone(), format!("undecided {why}")))
        {
            return;
        }
        self.findings.push(
            Finding::new(
                CheckId::S013,
                format!(
                    "{why}; it cannot be shown not to reach `std::fs`, `std::net`, `std::env` or `std::process`"
                ),
            )
            .at(location)
            .help("name what is used by a path the verifier can follow (`use std::...`, a `mod` of the module, a path dependency inside it) instead of generating it with a macro; remove macros from dependencies and procedural macros")
            .in_function(function),
        );
    }

    fn glob(&mut self, resource: Resource, module: &str, location: Location) {
        if !self
            .seen
            .insert((location.clone(), format!("glob {module}")))
        {
            return;
        }
        if resource.covered_by(self.grants) {
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
        .at(location)
        .help(format!(
            "import the items by name so each use can be checked; {}",
            resource.fix()
        ));
        self.findings.push(finding);
    }

    fn reach(&mut self, resource: Resource, path: &[String], r: &Ref) {
        let text = path.join("::");
        if !self.seen.insert((r.location.clone(), text.clone())) {
            return;
        }
        let covered = resource.covered_by(self.grants);
        if !covered {
            self.findings.push(
                Finding::new(
                    CheckId::S010,
                    format!(
                        "`{text}` {} but {}",
                        resource.describe(),
                        resource.missing()
                    ),
                )
                .at(r.location.clone())
                .help(resource.fix())
                .in_function(r.function.clone()),
            );
        } else if let Some((value, at)) = &r.literal {
            self.literal(resource, &text, value, at, r.function.clone());
        }
        self.uses.push(CapabilityUse {
            resource,
            path: text,
            location: r.location.clone(),
            covered,
        });
    }

    /// A granted capability used with a literal name or path the grant does not cover.
    fn literal(
        &mut self,
        resource: Resource,
        path: &str,
        value: &str,
        at: &Location,
        function: Option<String>,
    ) {
        match resource {
            Resource::Env if !self.grants.allows_env_name(value) => {
                self.findings.push(
                    Finding::new(
                        CheckId::S010,
                        format!("`{path}(\"{value}\")` reads environment variable `{value}`, which the manifest does not grant"),
                    )
                    .at(at.clone())
                    .help(format!("add `\"{value}\"` to `env` under `[security.capabilities]` (`anrf override request MODULE --allow-env {value}`), or do not read it"))
                    .in_function(function),
                );
            }
            Resource::FsRead | Resource::FsWrite
                if value.starts_with('/')
                    && !self
                        .grants
                        .allows_path(value, resource == Resource::FsWrite) =>
            {
                self.findings.push(
                    Finding::new(
                        CheckId::S010,
                        format!("`{path}(\"{value}\")` {} `{value}`, outside every granted directory", resource.describe()),
                    )
                    .at(at.clone())
                    .help("use a path under a directory granted in `[security.capabilities]` (its `guest` path), or grant the directory")
                    .in_function(function),
                );
            }
            _ => {}
        }
    }
}
