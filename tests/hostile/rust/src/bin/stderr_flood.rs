//! Writes to stderr without end.
fn main() {
    let line = "e".repeat(1000);
    loop {
        eprintln!("{line}");
    }
}
