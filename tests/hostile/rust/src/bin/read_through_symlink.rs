//! Reads `/data/link`, a symlink the host planted pointing at `/etc/passwd`,
//! and `/data/up`, one pointing at `..`.
fn main() {
    for path in ["/data/link", "/data/up/passwd", "/data/up/../../etc/passwd"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            println!("LEAKED {} bytes via {path}", text.len());
            std::process::exit(1);
        }
    }
    println!("denied");
}
