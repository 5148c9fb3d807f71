//! Policy resolution never panics and is deterministic, and what it grants stays
//! within the project maxima. The input is a project policy and a manifest,
//! separated by a line `%%` (a missing policy part means the built-in policy).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anrf_fuzz::policy(data));
