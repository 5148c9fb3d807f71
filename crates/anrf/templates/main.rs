//! {{name}}: reads stdin, writes it to stdout in upper case.

use std::io::{self, Read, Write};

fn shout(text: &str) -> String {
    text.to_ascii_uppercase()
}

fn main() -> io::Result<()> {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    io::stdout().write_all(shout(&input).as_bytes())
}
