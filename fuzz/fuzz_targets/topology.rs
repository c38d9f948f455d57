//! cargo-fuzz target: `zonechaos::fuzzing::topology` on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zonechaos::fuzzing::topology(data));
