//! Prints every environment variable it can see, then looks for the canary.
fn main() {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    for (name, value) in &vars {
        println!("{name}={value}");
    }
    println!("count={}", vars.len());
    if std::env::var("ANRF_CANARY").is_ok() || std::env::var("PATH").is_ok() {
        println!("LEAKED");
        std::process::exit(1);
    }
}
