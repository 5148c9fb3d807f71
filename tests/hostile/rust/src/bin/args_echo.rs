//! Echoes its arguments and stdin: what the host passes and nothing else.
use std::io::Read as _;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args={args:?}");
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap_or_default();
    print!("stdin={input}");
    std::process::exit(i32::try_from(args.len()).unwrap_or(100));
}
