//! cargo-fuzz target: `zonechaos::fuzzing::profile` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zonechaos::fuzzing::profile(data));
