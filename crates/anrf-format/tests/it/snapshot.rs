//! One read of a module: the bytes a snapshot hashes are the bytes it hands
//! out, whatever is renamed, swapped or linked in the module meanwhile.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anrf_format::{ContentDigest, Module, Sha256Hex};

use crate::VALID;

const APPROVED: &[u8] = b"\0asm\x01\0\0\0approved";
const OTHER: &[u8] = b"\0asm\x01\0\0\0unapproved";

/// A module whose manifest records the artifact `bytes`.
fn module_recording(dir: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(dir.join("out/m.wasm"), bytes).unwrap();
    let manifest = VALID.replace(
        "sources = [\"src/main.rs\"]\n",
        &format!(
            "sources = [\"src/main.rs\"]\nartifact = {{ path = \"out/m.wasm\", sha256 = \"{}\" }}\n",
            Sha256Hex::of(bytes).as_str()
        ),
    );
    std::fs::write(dir.join("anrf.toml"), manifest).unwrap();
}

/// The security digest of the module as it would be with `bytes` as its artifact.
fn digest_with(module: &Module, bytes: &[u8]) -> ContentDigest {
    std::fs::write(module.dir().join("out/m.wasm"), bytes).unwrap();
    module.snapshot().unwrap().code_digest()
}

#[test]
fn a_snapshot_hashes_the_bytes_it_hands_out_under_an_atomic_rename_race() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    module_recording(&dir, APPROVED);
    let module = Module::load(&dir).unwrap();
    let approved = digest_with(&module, APPROVED);
    let other = digest_with(&module, OTHER);
    assert_ne!(approved, other);

    // A writer swaps the artifact between the two versions by atomic renames
    // as fast as it can, while snapshots are taken.
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        let dir = dir.clone();
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let bytes = if flips.is_multiple_of(2) {
                    OTHER
                } else {
                    APPROVED
                };
                let tmp = dir.join("out/.next");
                std::fs::write(&tmp, bytes).unwrap();
                std::fs::rename(&tmp, dir.join("out/m.wasm")).unwrap();
                flips += 1;
            }
            flips
        })
    };
    let (mut saw_approved, mut saw_other) = (0, 0);
    for _ in 0..2000 {
        let snapshot = module.snapshot().unwrap();
        let bytes = snapshot.artifact().unwrap();
        let digest = snapshot.code_digest();
        if bytes == APPROVED {
            assert_eq!(digest, approved, "the approved bytes hash as approved");
            assert_eq!(snapshot.artifact_matches(), Some(true));
            saw_approved += 1;
        } else {
            assert_eq!(bytes, OTHER);
            assert_eq!(digest, other, "other bytes never carry the approved digest");
            assert_eq!(snapshot.artifact_matches(), Some(false));
            saw_other += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flips = swapper.join().unwrap();
    assert!(flips > 0, "the race ran");
    assert!(saw_approved + saw_other == 2000);
}

#[test]
fn a_fifo_or_a_device_as_the_artifact_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    module_recording(&dir, APPROVED);
    let artifact = dir.join("out/m.wasm");
    std::fs::remove_file(&artifact).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&artifact)
            .status()
            .unwrap()
            .success()
    );
    let module = Module::load(&dir).unwrap();
    let err = module.snapshot().unwrap_err();
    assert!(format!("{err:?}").contains("FIFO"), "{err:?}");

    std::fs::remove_file(&artifact).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &artifact).unwrap();
    let err = module.snapshot().unwrap_err();
    assert!(format!("{err:?}").contains("Symlink"), "{err:?}");
}

#[test]
fn a_source_behind_a_symlinked_directory_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    module_recording(&dir, APPROVED);
    let outside = tmp.path().join("outside");
    std::fs::rename(dir.join("src"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("src")).unwrap();
    let module = Module::load(&dir).unwrap();
    let err = module.snapshot().unwrap_err();
    assert!(err.to_string().contains("src/main.rs"), "{err}");
    assert!(format!("{err:?}").contains("Symlink"), "{err:?}");
}

#[test]
fn a_module_directory_swapped_after_load_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    module_recording(&dir, APPROVED);
    let module = Module::load(&dir).unwrap();
    // The directory that was loaded moves away; another takes its name.
    std::fs::rename(&dir, tmp.path().join("moved")).unwrap();
    module_recording(&dir, OTHER);
    let snapshot = module.snapshot().unwrap();
    assert_eq!(snapshot.artifact(), Some(APPROVED));
}

#[test]
fn a_huge_sparse_artifact_is_refused_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    module_recording(&dir, APPROVED);
    std::fs::File::create(dir.join("out/m.wasm"))
        .unwrap()
        .set_len(16 << 30)
        .unwrap();
    let module = Module::load(&dir).unwrap();
    let err = module.snapshot().unwrap_err();
    assert!(format!("{err:?}").contains("TooLarge"), "{err:?}");
}

#[test]
fn a_manifest_that_is_a_fifo_is_refused_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(dir.join("anrf.toml"))
            .status()
            .unwrap()
            .success()
    );
    let err = Module::load(&dir).unwrap_err();
    assert!(err.to_string().contains("FIFO"), "{err}");
}
