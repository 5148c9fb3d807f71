//! Uses a `HashMap`, whose hasher asks the host for random bytes.
fn main() {
    let mut counts = std::collections::HashMap::new();
    *counts.entry("a").or_insert(0) += 1;
    println!("{}", counts.len());
}
