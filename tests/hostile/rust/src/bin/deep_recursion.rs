//! Recurses without end. The frames live on the wasm stack (no locals in
//! linear memory), so the wasm stack limit is what stops it.
#[inline(never)]
fn down(n: u64) -> u64 {
    if n % 1_000_000_007 == 1_000_000_006 {
        return n;
    }
    down(n + 1).wrapping_mul(3) ^ n
}
fn main() {
    let start = std::env::args().count() as u64;
    println!("{}", down(start));
}
