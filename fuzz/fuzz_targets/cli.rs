//! cargo-fuzz target: `zonechaos::fuzzing::cli` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zonechaos::fuzzing::cli(data));
