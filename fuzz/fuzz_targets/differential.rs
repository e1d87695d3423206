//! The same wasm-smith modules on Tandem and on wasmi, with NaNs canonicalised by
//! wasm-smith: identical results or trap kinds, identical exported globals and memory
//! digests. A call where either engine ran out of fuel or stack ends the comparison (the two
//! meter differently); everything up to it must agree.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(wasm) = tandem_fuzz::smith_module(&mut u) else { return };
    if let Err(mismatch) = tandem_fuzz::differential(&wasm) {
        panic!("Tandem and wasmi disagree: {mismatch}");
    }
});
