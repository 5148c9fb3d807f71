//! Naive recursive Fibonacci: calls and integer adds.
fn fib(n: u32) -> u64 {
    if n < 2 { u64::from(n) } else { fib(n - 1) + fib(n - 2) }
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    println!("fib({n}) = {}", fib(std::hint::black_box(n)));
}
