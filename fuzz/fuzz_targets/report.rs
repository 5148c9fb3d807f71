//! Any string in a finding yields valid JSON and SARIF that carry it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anrf_fuzz::report(data));
