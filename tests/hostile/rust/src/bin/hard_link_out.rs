//! Tries to hard-link `/etc/passwd` into the granted `/data`, then read it.
fn main() {
    let _ = std::fs::hard_link("/data/../../../../etc/passwd", "/data/pw");
    let _ = std::fs::hard_link("/etc/passwd", "/data/pw2");
    for path in ["/data/pw", "/data/pw2"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            println!("LEAKED {} bytes via {path}", text.len());
            std::process::exit(1);
        }
    }
    println!("denied");
}
