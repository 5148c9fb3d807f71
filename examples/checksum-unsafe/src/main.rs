//! checksum-unsafe: prints the Adler-32 checksum of stdin, computed through raw
//! pointers in the style of ported C code. The `unsafe` makes the guest's own
//! memory safety rest on the wasm sandbox alone: it declares
//! `memory_safety = "sandbox-only"` and carries a `memory-unsafe` override.

use std::io::{self, Read};

const MOD_ADLER: u32 = 65_521;

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    let mut ptr = data.as_ptr();
    // SAFETY: `ptr` walks exactly `data.len()` bytes of `data`, which outlives the loop.
    unsafe {
        let end = ptr.add(data.len());
        while ptr < end {
            a = (a + u32::from(*ptr)) % MOD_ADLER;
            b = (b + a) % MOD_ADLER;
            ptr = ptr.add(1);
        }
    }
    (b << 16) | a
}

fn main() -> io::Result<()> {
    let mut input = Vec::new();
    io::stdin().read_to_end(&mut input)?;
    println!("{:08x}", adler32(&input));
    Ok(())
}
