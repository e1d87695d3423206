//! Images of wasm-smith modules with up to eight bytes changed (offsets and xors drawn from
//! the input), their checksum made right so every change reaches the verifier: each is
//! refused with an error or runs (with fuel) to its end, never a panic, a hang or undefined
//! behaviour (Module::from_image's promise for bytes from anywhere).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((wasm, edits)) = tandem_fuzz::image_input(data) else { return };
    // Refusals are fine: the target fails only by panicking or hanging.
    let _ = tandem_fuzz::run_edited_image(&wasm, &edits);
});
