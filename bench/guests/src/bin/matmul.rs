//! Dense f64 matrix multiplication: floating point and array indexing.
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let a: Vec<f64> = (0..n * n).map(|i| ((i * 7) % 13) as f64 / 13.0).collect();
    let b: Vec<f64> = (0..n * n).map(|i| ((i * 5) % 11) as f64 / 11.0).collect();
    let mut c = vec![0.0f64; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    let trace: f64 = (0..n).map(|i| c[i * n + i]).sum();
    println!("trace: {trace:.6}");
}
