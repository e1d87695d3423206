//! Valid modules from wasm-smith under a tiny board's heap account (a few hundred bytes to
//! 256 KiB, and upload chunks of 1 to 512 bytes, both drawn from the input): every refusal
//! path of loading, instantiating and growing runs, and each must be an error or a -1 that
//! gives back what it charged, never a panic or an account over its limit.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(limit) = u.int_in_range(256u64..=256 * 1024) else { return };
    let Ok(chunk) = u.int_in_range(1usize..=512) else { return };
    let Ok(wasm) = tandem_fuzz::smith_module(&mut u) else { return };
    if let Err(broken) = tandem_fuzz::run_tiny(&wasm, limit, chunk) {
        panic!("under a {limit}-byte heap in {chunk}-byte parts: {broken}");
    }
});
