//! Fuzzes the C ABI: the input is a program of sockrt_* calls (see
//! fuzz/harness.rs); any broken invariant panics, which libFuzzer reports.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = harness::run(data) {
        panic!("invariant violated: {e}");
    }
});
