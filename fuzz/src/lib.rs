//! The fuzz targets' bodies; see `bodies.rs`.

mod bodies;
pub use bodies::*;
