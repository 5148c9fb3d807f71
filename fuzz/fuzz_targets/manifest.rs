//! The manifest parser never panics, and whatever it accepts survives a round trip
//! through its normal form unchanged.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anrf_fuzz::manifest(data));
