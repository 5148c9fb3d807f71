//! Reserves 1 MiB blocks and keeps them, forever.
fn main() {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = Vec::with_capacity(1 << 20);
        block.push(1u8);
        blocks.push(block);
        std::hint::black_box(&blocks);
    }
}
