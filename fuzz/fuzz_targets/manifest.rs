//! The manifest parser never panics, and whatever it accepts survives a round trip
//! through its normal form unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(manifest) = anrf_format::Manifest::from_str(text, "fuzz.toml") {
        let normal = manifest.to_toml().expect("an accepted manifest serializes");
        let again = anrf_format::Manifest::from_str(&normal, "normal.toml")
            .expect("the normal form of an accepted manifest is accepted");
        assert_eq!(manifest, again);
    }
});
