//! Arbitrary bytes: decode, validate (unless built with `--no-default-features`), translate,
//! instantiate and run every export with fuel. Any panic, abort or sanitizer report is a bug.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let _ = tandem_fuzz::run_tandem(bytes, &[]);
});
