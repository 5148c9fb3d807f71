//! Panics (and so aborts: wasm `unreachable`).
fn main() {
    let v: Vec<u32> = Vec::new();
    let i = std::hint::black_box(3);
    println!("{}", v[i]);
}
