//! The intent checker is deterministic and its report is well formed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anrf_fuzz::intent(data));
