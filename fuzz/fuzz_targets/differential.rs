//! The same wasm-smith modules on Tandem and on wasmi, with NaNs canonicalised by
//! wasm-smith, every export called with arguments drawn from the rest of the input:
//! identical results or trap kinds, identical exported globals and memory digests. A call where either engine ran out of fuel or stack ends the comparison (the two
//! meter differently); everything up to it must agree. Then Tandem against itself, down to
//! the fuel left and the exact trap after each call: both dispatches where the build has
//! both; every call run as a task in small fuel slices (1 to 61, from the input's length),
//! on each dispatch, observes what the plain calls observe; and the module written as an
//! image and read back observes the same again.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((wasm, args)) = tandem_fuzz::differential_input(data) else { return };
    if let Err(mismatch) = tandem_fuzz::differential(&wasm, &args) {
        panic!("Tandem and wasmi disagree: {mismatch}");
    }
    let slice = 1 + data.len() as u64 % 61;
    if let Err(mismatch) = tandem_fuzz::slices_agree(&wasm, &args, slice) {
        panic!("{mismatch}");
    }
    if let Err(mismatch) = tandem_fuzz::image_agrees(&wasm, &args) {
        panic!("{mismatch}");
    }
});
