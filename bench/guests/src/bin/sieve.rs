//! Sieve of Eratosthenes, repeated: memory-bound loops over a byte array.
fn count_primes(limit: usize) -> usize {
    let mut composite = vec![false; limit + 1];
    let mut count = 0;
    for i in 2..=limit {
        if !composite[i] {
            count += 1;
            if i > limit / i {
                continue; // i * i would pass the limit (and overflow a 32-bit usize)
            }
            let mut j = i * i;
            while j <= limit {
                composite[j] = true;
                j += i;
            }
        }
    }
    count
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let mut total = 0;
    for _ in 0..rounds {
        total += count_primes(std::hint::black_box(2_000_000));
    }
    println!("primes: {total}");
}
