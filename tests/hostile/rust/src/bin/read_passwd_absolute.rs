//! Reads `/etc/passwd` by absolute path. Prints `denied` if refused.
fn main() {
    match std::fs::read_to_string("/etc/passwd") {
        Ok(text) => {
            println!("LEAKED {} bytes", text.len());
            std::process::exit(1);
        }
        Err(_) => println!("denied"),
    }
}
