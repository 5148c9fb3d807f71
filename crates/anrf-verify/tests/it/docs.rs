//! `docs/verify.md` documents every check with its name, severity and gate.

use anrf_verify::{CheckId, Gate};

#[test]
fn the_catalogue_documents_every_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify.md");
    let doc = std::fs::read_to_string(path).unwrap();
    for id in CheckId::ALL {
        let row = doc
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("`{}`", id.code())))
            .unwrap_or_else(|| panic!("{} is not in docs/verify.md", id.code()));
        assert!(row.contains(&format!("`{}`", id.name())), "{row}");
        assert!(row.contains(&format!("| {} |", id.severity())), "{row}");
        let gate = match id.gate() {
            Gate::Safety => "safety",
            Gate::Correctness => "correctness",
        };
        assert!(row.contains(&format!("| {gate} |")), "{row}");
    }
}
