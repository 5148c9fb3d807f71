//! Tries to create files outside the granted read-write `/out`.
fn main() {
    let mut wrote = 0;
    for path in ["/tmp/anrf-escape", "/out/../escape", "/escape"] {
        if std::fs::write(path, b"x").is_ok() {
            wrote += 1;
        }
    }
    std::fs::write("/out/inside.txt", b"ok").unwrap_or_else(|_| std::process::exit(3));
    println!("wrote_outside={wrote}");
}
