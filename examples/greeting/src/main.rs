//! greeting: greets each name on stdin with the salutation in `GREETING`
//! (default "Hello" when the variable is unset).

use std::io::{self, BufRead};

fn salutation() -> String {
    std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_owned())
}

fn main() {
    let greeting = salutation();
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { std::process::exit(1) };
        let name = line.trim();
        if !name.is_empty() {
            println!("{greeting}, {name}!");
        }
    }
}
