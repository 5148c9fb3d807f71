//! stopwords: copies the words on stdin to stdout, one per line, leaving out the
//! stop words listed in the read-only data directory (`/data/stopwords.txt`).
//! A `BTreeSet`, not a `HashSet`: hashing would seed itself from randomness, which
//! this module is not granted.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};

const STOPWORDS: &str = "/data/stopwords.txt";

fn load_stopwords() -> io::Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(STOPWORDS)?;
    Ok(text
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

fn filter_words<'a>(text: &'a str, stop: &BTreeSet<String>) -> Vec<&'a str> {
    text.split_whitespace()
        .filter(|w| !stop.contains(&w.to_lowercase()))
        .collect()
}

fn main() {
    let stop = match load_stopwords() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("stopwords: cannot read {STOPWORDS}: {e}");
            std::process::exit(3);
        }
    };
    let mut input = String::new();
    if let Err(e) = io::stdin().read_to_string(&mut input) {
        eprintln!("stopwords: cannot read stdin: {e}");
        std::process::exit(1);
    }
    let mut out = io::stdout().lock();
    for word in filter_words(&input, &stop) {
        if writeln!(out, "{word}").is_err() {
            std::process::exit(1);
        }
    }
}
