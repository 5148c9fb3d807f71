//! wordcount: prints the number of whitespace-separated words on stdin.

use std::io::{self, Read};

fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() -> io::Result<()> {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    println!("{}", count_words(&input));
    Ok(())
}
