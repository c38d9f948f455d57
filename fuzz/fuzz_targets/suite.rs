//! cargo-fuzz target: `zonechaos::fuzzing::suite` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zonechaos::fuzzing::suite(data));
