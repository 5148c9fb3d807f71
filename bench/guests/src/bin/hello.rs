//! Hello world: the cold-start measurement.
fn main() {
    println!("hello, world");
}
