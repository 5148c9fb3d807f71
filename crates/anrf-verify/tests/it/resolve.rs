//! The verifier sees what the compiler sees: names are resolved across every
//! file of the module and its path dependencies before capabilities are
//! judged; what cannot be resolved is `ANRF-S013`; a path dependency outside
//! the module is `ANRF-S106`. Each route is verified under `prod`, and
//! `explain` must then not claim the source calls nothing in `std::fs`.

use anrf_format::Profile;
use anrf_verify::explain::{explain, human};
use anrf_verify::{CheckId, Report};

use crate::support::{CARGO_TOML, Fixture, open_ids, write};

/// The fixture with these listed sources (the first is `src/main.rs`).
fn module(sources: &[(&str, &str)]) -> Fixture {
    let mut fixture = Fixture::rust();
    fixture.sources = sources
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    fixture
}

/// `count_words` is in `logic.functions`; every fixture defines it.
const WORDS: &str = "fn count_words() {}\n";

fn prod(fixture: &Fixture) -> (Report, String) {
    let report = fixture.write().verify_static(Profile::Prod);
    let text = human(&explain(&report));
    (report, text)
}

/// The finding blocks under `prod`, and explain no longer claims safety.
#[track_caller]
fn blocked(report: &Report, text: &str, id: CheckId, needle: &str) {
    let found = report
        .blocking()
        .any(|f| f.id == id && (f.message.contains(needle) || needle.is_empty()));
    assert!(
        found,
        "no blocking {id} mentioning `{needle}`: {:#?}",
        report.findings
    );
    assert!(!report.passed());
    assert!(!text.contains("calls nothing in"), "{text}");
}

#[test]
fn a_clean_multi_file_module_still_passes_and_is_explained() {
    let main = format!(
        "mod util;\nuse util::shout;\nuse crate::util::inner::{{self, Helper as H}};\n{WORDS}fn main() {{ count_words(); let _ = shout(\"a\"); let _ = inner::twice(2); let _: Option<H> = None; let _ = std::io::stdin(); }}\n"
    );
    let util = "pub mod inner { pub fn twice(x: u32) -> u32 { x * 2 } pub struct Helper; }\npub use self::inner::*;\npub fn shout(s: &str) -> String { s.to_uppercase() }\n";
    let (report, text) = prod(&module(&[("src/main.rs", &main), ("src/util.rs", util)]));
    assert!(report.passed(), "{:#?}", report.findings);
    assert!(text.contains("calls nothing in"), "{text}");
}

#[test]
fn pub_use_re_export_in_a_submodule_file() {
    let main = format!(
        "mod util;\n{WORDS}fn main() {{ count_words(); let _ = util::load(\"/etc/passwd\"); }}\n"
    );
    let util = "pub use std::fs::read_to_string as load;\n";
    let (report, text) = prod(&module(&[("src/main.rs", &main), ("src/util.rs", util)]));
    blocked(&report, &text, CheckId::S010, "std::fs::read_to_string");
    assert!(
        report
            .facts
            .capability_uses
            .iter()
            .any(|u| u.path == "std::fs::read_to_string"
                && u.location.to_string().starts_with("src/main.rs:"))
    );
}

#[test]
fn re_exports_through_inline_modules_globs_and_super() {
    let main = format!(
        "mod a {{ pub mod b {{ pub use super::super::c::*; }} }}\nmod c {{ pub use std::fs as files; }}\nuse a::b::files::{{self as f}};\n{WORDS}fn main() {{ count_words(); let _ = f::read(\"x\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::read");
}

#[test]
fn use_std_glob_then_fs() {
    let main =
        format!("use std::*;\n{WORDS}fn main() {{ count_words(); let _ = fs::read(\"x\"); }}\n");
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::read");
    // The same through a second, relative import of the glob-imported module.
    let main = format!(
        "use std::*;\nuse fs::File;\n{WORDS}fn main() {{ count_words(); let _ = File::open(\"x\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::File::open");
}

#[test]
fn glob_of_a_local_module_that_globs_std() {
    let main = format!(
        "mod prelude;\nuse prelude::*;\n{WORDS}fn main() {{ count_words(); let _ = net::TcpStream::connect(\"a:1\"); }}\n"
    );
    let (report, text) = prod(&module(&[
        ("src/main.rs", &main),
        ("src/prelude.rs", "pub use std::*;\n"),
    ]));
    blocked(
        &report,
        &text,
        CheckId::S010,
        "std::net::TcpStream::connect",
    );
}

#[test]
fn absolute_std_paths() {
    let main = format!("{WORDS}fn main() {{ count_words(); let _ = ::std::fs::read(\"x\"); }}\n");
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::read");
}

#[test]
fn extern_crate_alias_then_use_net() {
    let main = format!(
        "extern crate std as s;\nuse s::net;\n{WORDS}fn main() {{ count_words(); let _ = net::TcpStream::connect(\"a:1\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(
        &report,
        &text,
        CheckId::S010,
        "std::net::TcpStream::connect",
    );
    // The alias is in every module's extern prelude, also in another file.
    let main = format!(
        "extern crate std as s;\nmod net_use;\n{WORDS}fn main() {{ count_words(); net_use::go(); }}\n"
    );
    let other = "pub fn go() { let _ = s::net::UdpSocket::bind(\"0:0\"); }\n";
    let (report, text) = prod(&module(&[
        ("src/main.rs", &main),
        ("src/net_use.rs", other),
    ]));
    blocked(&report, &text, CheckId::S010, "std::net::UdpSocket::bind");
}

#[test]
fn path_methods_that_query_the_file_system() {
    for method in [
        "read_dir",
        "exists",
        "metadata",
        "canonicalize",
        "read_link",
        "is_file",
        "is_dir",
        "symlink_metadata",
        "try_exists",
    ] {
        let main = format!(
            "use std::path::Path;\n{WORDS}fn main() {{ count_words(); let _ = Path::new(\"/etc\").{method}(); }}\n"
        );
        let (report, text) = prod(&module(&[("src/main.rs", &main)]));
        blocked(
            &report,
            &text,
            CheckId::S010,
            &format!("std::path::Path::{method}"),
        );
    }
    // Called as an associated function, through a renamed import.
    let main = format!(
        "use std::path::PathBuf as P;\n{WORDS}fn main() {{ count_words(); let p = P::from(\"/\"); let _ = P::exists(&p); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::path::PathBuf::exists");
}

#[test]
fn a_method_named_like_a_path_query_on_the_guests_own_type_is_undecided() {
    let main = format!(
        "struct Set;\nimpl Set {{ fn exists(&self) -> bool {{ true }} }}\n{WORDS}fn main() {{ count_words(); let _ = Set.exists(); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S013, "`.exists()`");
}

#[test]
fn platform_extensions_in_std_os() {
    let main = format!(
        "use std::os::wasi;\n{WORDS}fn main() {{ count_words(); let _ = wasi::fs::symlink_path(\"/etc\", \"x\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(
        &report,
        &text,
        CheckId::S010,
        "std::os::wasi::fs::symlink_path",
    );
}

#[test]
fn a_macro_that_builds_a_path_is_undecided() {
    let main = format!(
        "macro_rules! get {{ ($m:ident) => {{ std::$m::read(\"x\") }}; }}\n{WORDS}fn main() {{ count_words(); let _ = get!(fs); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S013, "builds a path");
    // A macro body that imports.
    let main = format!(
        "macro_rules! imp {{ () => {{ use std::fs as q; }}; }}\nimp!();\n{WORDS}fn main() {{ count_words(); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S013, "declares `use`");
    // A path inside a macro body is resolved like any other.
    let main = format!(
        "use std::fs as f;\nmacro_rules! rd {{ () => {{ f::read(\"x\") }}; }}\n{WORDS}fn main() {{ count_words(); let _ = rd!(); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::read");
}

#[test]
fn procedural_and_foreign_macros_are_undecided() {
    for (src, needle) in [
        (
            format!("#[tokio::main]\nfn main() {{ count_words(); }}\n{WORDS}"),
            "#[tokio::main]",
        ),
        (
            format!("#[derive(Serialize)]\nstruct S;\n{WORDS}fn main() {{ count_words(); }}\n"),
            "#[derive(Serialize)]",
        ),
        (
            format!(
                "#[cfg_attr(all(), hidden)]\nfn helper() {{}}\n{WORDS}fn main() {{ helper(); count_words(); }}\n"
            ),
            "#[hidden]",
        ),
        (
            format!("{WORDS}fn main() {{ count_words(); dep::spawn!(\"sh\"); }}\n"),
            "`dep::spawn!`",
        ),
        (
            format!("{WORDS}fn main() {{ count_words(); paste!(x); }}\n"),
            "`paste!`",
        ),
    ] {
        let (report, text) = prod(&module(&[("src/main.rs", &src)]));
        blocked(&report, &text, CheckId::S013, needle);
    }
    // Derives the compiler provides are not.
    let src = format!(
        "#[derive(Debug, Clone, PartialEq)]\nstruct S;\n{WORDS}fn main() {{ count_words(); println!(\"{{:?}}\", S.clone()); }}\n"
    );
    let (report, _) = prod(&module(&[("src/main.rs", &src)]));
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn a_name_into_a_module_that_does_not_declare_it_is_undecided() {
    let main = format!(
        "mod gen {{ }}\n{WORDS}fn main() {{ count_words(); let _ = crate::gen::made_by_macro(\"x\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S013, "made_by_macro");
}

#[test]
fn glob_cycles_terminate() {
    // A cycle that settles: no finding, and the module still passes.
    let main = format!(
        "mod a {{ pub use super::b::*; pub fn x() {{}} }}\nmod b {{ pub use super::a::*; pub fn y() {{}} }}\n{WORDS}fn main() {{ count_words(); a::y(); b::x(); }}\n"
    );
    let (report, _) = prod(&module(&[("src/main.rs", &main)]));
    assert!(report.passed(), "{:#?}", report.findings);
    // The cycle carries a capability both ways.
    let main = format!(
        "mod a {{ pub use super::b::*; pub use std::fs as f; }}\nmod b {{ pub use super::a::*; }}\n{WORDS}fn main() {{ count_words(); let _ = b::f::read(\"x\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::read");
    // An import that grows its own path without end hits the bound.
    let main =
        format!("use std as y;\nuse self::y::fs as y;\n{WORDS}fn main() {{ count_words(); }}\n");
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S013, "longer than");
}

#[test]
fn a_long_chain_of_glob_re_exports_resolves_in_either_order() {
    let n = 300;
    for forward in [true, false] {
        let mut main = String::new();
        for i in 0..n {
            if forward {
                main.push_str(&format!("mod m{i} {{ pub use super::m{}::*; }}\n", i + 1));
            } else {
                main.push_str(&format!("mod m{} {{ pub use super::m{i}::*; }}\n", i + 1));
            }
        }
        let (first, last) = if forward { (0, n) } else { (n, 0) };
        main.push_str(&format!(
            "mod m{last} {{ pub use std::net::TcpStream as T; }}\n"
        ));
        main.push_str(&format!(
            "{WORDS}fn main() {{ count_words(); let _ = m{first}::T::connect(\"a:1\"); }}\n"
        ));
        let (report, text) = prod(&module(&[("src/main.rs", &main)]));
        blocked(
            &report,
            &text,
            CheckId::S010,
            "std::net::TcpStream::connect",
        );
    }
}

#[test]
fn many_modules_globbing_each_other_do_not_hang() {
    // Every module globs every other: quadratic, but bounded.
    let n = 60;
    let mut main = String::new();
    for i in 0..n {
        main.push_str(&format!("mod m{i} {{"));
        for j in 0..n {
            if i != j {
                main.push_str(&format!(" pub use super::m{j}::*;"));
            }
        }
        main.push_str(&format!(" pub fn f{i}() {{}} }}\n"));
    }
    main.push_str(&format!(
        "{WORDS}fn main() {{ count_words(); m0::f59(); }}\n"
    ));
    let (report, _) = prod(&module(&[("src/main.rs", &main)]));
    assert!(report.passed(), "{:#?}", report.findings);
}

const UNSAFE_HELPER: &str = "pub fn peek(p: *const u8) -> u8 { unsafe { *p } }\npub use std::fs;\n";

fn with_dependency(path: &str) -> Fixture {
    let main = format!(
        "{WORDS}fn main() {{ count_words(); let x = 1u8; let _ = helper::peek(&x); let _ = helper::fs::read(\"x\"); }}\n"
    );
    module(&[("src/main.rs", &main)]).file(
        "Cargo.toml",
        &format!("{CARGO_TOML}\n[dependencies]\nhelper = {{ path = \"{path}\" }}\n"),
    )
}

#[test]
fn a_path_dependency_outside_the_module_is_refused() {
    let fixture = with_dependency("../helper");
    let written = fixture.write();
    let outside = written.root.parent().unwrap();
    write(
        outside,
        "helper/Cargo.toml",
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\n",
    );
    write(outside, "helper/src/lib.rs", UNSAFE_HELPER);
    let report = written.verify_static(Profile::Prod);
    let text = human(&explain(&report));
    blocked(&report, &text, CheckId::S106, "`helper`");
    let finding = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::S106)
        .unwrap();
    assert_eq!(
        finding.location.as_ref().unwrap().to_string(),
        "Cargo.toml:7:1"
    );
    assert!(finding.help.contains("vendor/helper"), "{}", finding.help);
    // Never read: nothing of it is reported as checked.
    assert!(
        !report
            .facts
            .sources_checked
            .iter()
            .any(|s| s.contains("helper")),
        "{:?}",
        report.facts.sources_checked
    );
    assert!(
        !text.contains("Its 1 dependencies were inspected"),
        "{text}"
    );
}

#[test]
fn a_path_dependency_through_a_symlink_out_of_the_module_is_refused() {
    let fixture = with_dependency("vendor/helper");
    let written = fixture.write();
    let outside = written.root.parent().unwrap();
    write(
        outside,
        "real/Cargo.toml",
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\n",
    );
    write(outside, "real/src/lib.rs", UNSAFE_HELPER);
    std::fs::create_dir_all(written.root.join("vendor")).unwrap();
    std::os::unix::fs::symlink(outside.join("real"), written.root.join("vendor/helper")).unwrap();
    let report = written.verify_static(Profile::Prod);
    let text = human(&explain(&report));
    blocked(&report, &text, CheckId::S106, "outside the module");
}

#[test]
fn a_path_dependency_inside_the_module_is_verified_as_its_own() {
    let mut fixture = with_dependency("vendor/helper")
        .file(
            "vendor/helper/Cargo.toml",
            "[package]\nname = \"helper\"\nversion = \"0.1.0\"\n",
        )
        .file("vendor/helper/src/lib.rs", UNSAFE_HELPER);
    let (report, text) = prod(&fixture);
    // Its unsafe code, its re-export of std::fs used by the guest, and its
    // files not being listed are all reported.
    blocked(&report, &text, CheckId::S001, "peek");
    blocked(&report, &text, CheckId::S010, "std::fs::read");
    assert!(open_ids(&report).contains(&CheckId::M013));
    assert!(
        report
            .facts
            .sources_checked
            .contains(&"vendor/helper/src/lib.rs".to_owned())
    );
    // Listed, it is bound into approvals: only the unsafe code and the creep remain.
    fixture
        .sources
        .push(("vendor/helper/src/lib.rs".into(), UNSAFE_HELPER.into()));
    fixture
        .files
        .retain(|(p, _)| p != "vendor/helper/src/lib.rs");
    let (report, _) = prod(&fixture);
    let ids = open_ids(&report);
    assert!(!ids.contains(&CheckId::M013), "{ids:?}");
    assert!(
        ids.contains(&CheckId::S001) && ids.contains(&CheckId::S010),
        "{ids:?}"
    );
}

#[test]
fn a_transitive_path_dependency_outside_is_refused() {
    let fixture = module(&[("src/main.rs", &format!("{WORDS}fn main() {{ count_words(); }}\n"))])
        .file(
            "Cargo.toml",
            &format!("{CARGO_TOML}\n[dependencies]\nhelper = {{ path = \"vendor/helper\" }}\n"),
        )
        .file(
            "vendor/helper/Cargo.toml",
            "[package]\nname = \"helper\"\nversion = \"0.1.0\"\n[dependencies]\ndeeper = { path = \"../../../deeper\" }\n",
        )
        .file("vendor/helper/src/lib.rs", "pub fn f() {}\n");
    let (report, text) = prod(&fixture);
    blocked(&report, &text, CheckId::S106, "`deeper`");
}

#[test]
fn cargo_configuration_that_redirects_dependencies_is_refused() {
    let fixture = module(&[(
        "src/main.rs",
        &format!("{WORDS}fn main() {{ count_words(); }}\n"),
    )])
    .file(".cargo/config.toml", "paths = [\"../elsewhere\"]\n");
    let (report, text) = prod(&fixture);
    blocked(&report, &text, CheckId::S106, "paths");
}

#[test]
fn an_enum_glob_does_not_make_std_macros_undecided() {
    let main = format!(
        "enum Color {{ Red, Blue }}\nuse Color::*;\n{WORDS}fn main() {{ count_words(); let c = Red; if let Blue = c {{ println!(\"blue\"); }} }}\n"
    );
    let (report, _) = prod(&module(&[("src/main.rs", &main)]));
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn a_typed_binding_inside_a_macro_body_is_resolved() {
    let main = format!(
        "macro_rules! open {{ ($p:expr) => {{ let f: std::fs::File = std::fs::File::open($p).unwrap(); f }}; }}\n{WORDS}fn main() {{ count_words(); let _ = open!(\"x\"); }}\n"
    );
    let (report, text) = prod(&module(&[("src/main.rs", &main)]));
    blocked(&report, &text, CheckId::S010, "std::fs::File");
}
