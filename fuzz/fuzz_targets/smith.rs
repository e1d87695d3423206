//! Valid modules from wasm-smith, within the core's feature set: they must decode, validate
//! and instantiate (or fail to with a clean error), and run every export with fuel.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(wasm) = tandem_fuzz::smith_module(&mut u) else { return };
    let observed = tandem_fuzz::run_tandem(&wasm, &[]);
    #[cfg(feature = "validate")]
    if let Err(e) = &observed {
        // wasm-smith's modules are valid: only a resource limit may refuse one.
        assert!(e.is_limit(), "a valid module was refused: {e}");
    }
    let _ = observed;
});
