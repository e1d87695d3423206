//! Images of wasm-smith modules with up to eight bytes changed (offsets and xors drawn from
//! the input), their checksum made right so every change reaches the verifier: each is
//! refused with an error or runs (with fuel) to its end, never a panic or undefined
//! behaviour (Module::from_image's promise for bytes from anywhere).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(count) = u.int_in_range(0usize..=8) else { return };
    let mut edits = Vec::with_capacity(count);
    for _ in 0..count {
        let (Ok(at), Ok(xor)) = (u.arbitrary::<u32>(), u.int_in_range(1u8..=255)) else { return };
        edits.push((at, xor));
    }
    let Ok(wasm) = tandem_fuzz::smith_module(&mut u) else { return };
    // Refusals are fine: the target fails only by panicking.
    let _ = tandem_fuzz::run_edited_image(&wasm, &edits);
});
