//! Reads `/etc/passwd` through `..` out of the granted `/data`.
fn main() {
    for path in ["/data/../../../../etc/passwd", "../etc/passwd", "/data/../etc/passwd"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            println!("LEAKED {} bytes via {path}", text.len());
            std::process::exit(1);
        }
    }
    println!("denied");
}
