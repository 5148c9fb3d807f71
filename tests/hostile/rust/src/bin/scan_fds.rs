//! Tries to read from every descriptor number 3..100, as a scanner would.
use std::io::Read as _;
use std::os::fd::FromRawFd as _;
fn main() {
    let mut readable = 0;
    for fd in 3..100 {
        // SAFETY: a hostile probe; the sandbox must refuse descriptors it never granted.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        let mut buf = [0u8; 16];
        if file.read(&mut buf).is_ok() {
            readable += 1;
        }
        std::mem::forget(file);
    }
    println!("readable={readable}");
}
