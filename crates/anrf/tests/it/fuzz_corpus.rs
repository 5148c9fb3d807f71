//! Every fuzz target's corpus, replayed on the stable toolchain: the target
//! bodies in `fuzz/src/bodies.rs` are plain functions, and each file of
//! `fuzz/corpus/TARGET/` goes through its target here, so an input that once
//! broke a property stays in every `cargo test` run without nightly.

#[path = "../../../../fuzz/src/bodies.rs"]
mod bodies;

use std::path::Path;

#[test]
fn every_corpus_file_replays_through_its_target() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for (name, body) in bodies::TARGETS {
        let dir = corpus.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no corpus for target `{name}` at {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "target `{name}` has an empty corpus");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(
                outcome.is_ok(),
                "target `{name}` fails on {}",
                file.display()
            );
            replayed += 1;
        }
    }
    // Every directory under corpus/ belongs to a target.
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            bodies::TARGETS.iter().any(|(t, _)| *t == name),
            "corpus/{name} has no target in fuzz/src/bodies.rs"
        );
    }
    assert!(replayed > 0);
}
