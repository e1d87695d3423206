//! The engine under test, chosen by cargo feature, behind one small interface: instantiate a
//! module in a fresh store (its function imports, an app's WASI, linked to stand-ins that
//! trap: the benchmark export never calls them), call an `(i32) -> i32` export, report the
//! linear memory size, the heap the store itself took before any module (the value stack
//! reservation) and the instructions the module took to load (decode, validate if built
//! to, translate; or read an image).

use alloc::string::{String, ToString};

use crate::{clock, heap};

/// Call-depth limit, the same on both engines.
const CALL_DEPTH: u32 = 1024;

#[cfg(any(feature = "tandem", feature = "tandem-images"))]
mod imp {
    use super::*;
    use tandem_interp as tandem;

    pub const NAME: &str = if cfg!(feature = "tandem-images") {
        "tandem-images"
    } else if cfg!(feature = "validate") {
        "tandem+validate"
    } else {
        "tandem"
    };

    /// Value stack: 16 Ki slots (128 KiB), reserved when the store is made.
    const VALUE_STACK_SLOTS: u32 = 16 * 1024;

    pub struct Instance {
        store: tandem::Store,
        instance: tandem::Instance,
        store_heap: usize,
        load_instructions: u64,
    }

    impl Instance {
        /// `module`: a wasm binary, or in the `tandem-images` build an image in flash, read
        /// with its code in place.
        pub fn new(module: &'static [u8]) -> Result<Self, String> {
            let config = tandem::Config::new().with_limits(VALUE_STACK_SLOTS, CALL_DEPTH);
            let before = heap::counters().allocated_bytes;
            let mut store = tandem::Store::new(config.clone());
            let store_heap = heap::counters().allocated_bytes - before;
            let start = clock::instructions();
            #[cfg(feature = "tandem-images")]
            let module = tandem::Module::from_static_image(&config, module);
            #[cfg(not(feature = "tandem-images"))]
            let module = tandem::Module::new(&config, module);
            let load_instructions = clock::instructions() - start;
            let module = module.map_err(|e| e.to_string())?;
            let mut linker = tandem::Linker::new();
            for (module_name, name, _) in module.imports() {
                let ty = module.func_type_of_import(module_name, name);
                let ty = ty.ok_or_else(|| "an import that is not a function".to_string())?;
                let stand_in = store.host_func(ty.clone(), |_, _, _| {
                    Err(tandem::Trap::host("a benchmark called an import"))
                });
                linker.define(module_name, name, tandem::Extern::Func(stand_in));
            }
            let instance = linker.instantiate(&mut store, &module).map_err(|e| e.to_string())?;
            Ok(Self { store, instance, store_heap, load_instructions })
        }

        pub fn load_instructions(&self) -> u64 {
            self.load_instructions
        }

        pub fn call(&mut self, export: &str, n: i32) -> Result<i32, String> {
            let func = self.instance.func(&self.store, export).map_err(|e| e.to_string())?;
            let mut results = [tandem::Value::I32(0)];
            self.store
                .call(func, &[tandem::Value::I32(n)], &mut results)
                .map_err(|e| e.to_string())?;
            match results[0] {
                tandem::Value::I32(v) => Ok(v),
                _ => Err("run returned a non-i32".to_string()),
            }
        }

        pub fn memory_bytes(&self) -> usize {
            match self.instance.memory(&self.store, "memory") {
                Ok(m) => self.store.memory_data(m).len(),
                Err(_) => 0,
            }
        }

        pub fn store_heap(&self) -> usize {
            self.store_heap
        }
    }
}

#[cfg(feature = "wasmi")]
mod imp {
    use super::*;

    pub const NAME: &str = if cfg!(feature = "validate") { "wasmi+validate" } else { "wasmi" };

    pub struct Instance {
        store: wasmi::Store<()>,
        instance: wasmi::Instance,
        store_heap: usize,
        load_instructions: u64,
    }

    impl Instance {
        pub fn new(wasm: &'static [u8]) -> Result<Self, String> {
            let before = heap::counters().allocated_bytes;
            // The same call-depth limit as Tandem's (wasmi's default is 1000).
            let mut config = wasmi::Config::default();
            config.set_max_recursion_depth(CALL_DEPTH as usize);
            let engine = wasmi::Engine::new(&config);
            let mut store = wasmi::Store::new(&engine, ());
            let store_heap = heap::counters().allocated_bytes - before;
            let start = clock::instructions();
            #[cfg(feature = "validate")]
            let module = wasmi::Module::new(&engine, wasm);
            // SAFETY: wasmi requires a valid module without its validator. The inputs are the
            // committed benchmark programs, validated by the desktop harness, the `.wast`
            // suites and the `validate` build of this firmware.
            #[cfg(not(feature = "validate"))]
            let module = unsafe { wasmi::Module::new_unchecked(&engine, wasm) };
            let load_instructions = clock::instructions() - start;
            let module = module.map_err(|e| e.to_string())?;
            let mut linker = wasmi::Linker::<()>::new(&engine);
            for import in module.imports() {
                let wasmi::ExternType::Func(ty) = import.ty() else {
                    return Err("an import that is not a function".to_string());
                };
                linker
                    .func_new(import.module(), import.name(), ty.clone(), |_, _, _| {
                        Err(wasmi::Error::new("a benchmark called an import"))
                    })
                    .map_err(|e| e.to_string())?;
            }
            let instance =
                linker.instantiate_and_start(&mut store, &module).map_err(|e| e.to_string())?;
            Ok(Self { store, instance, store_heap, load_instructions })
        }

        pub fn load_instructions(&self) -> u64 {
            self.load_instructions
        }

        pub fn call(&mut self, export: &str, n: i32) -> Result<i32, String> {
            let func = self
                .instance
                .get_typed_func::<i32, i32>(&self.store, export)
                .map_err(|e| e.to_string())?;
            func.call(&mut self.store, n).map_err(|e| e.to_string())
        }

        pub fn memory_bytes(&self) -> usize {
            match self.instance.get_memory(&self.store, "memory") {
                Some(m) => m.data_size(&self.store),
                None => 0,
            }
        }

        pub fn store_heap(&self) -> usize {
            self.store_heap
        }
    }
}

#[cfg(feature = "none")]
mod imp {
    use super::*;

    pub const NAME: &str = "none";

    /// No engine: the glue alone, with the programs still linked in (their bytes are
    /// summed so they stay), so that its size is the baseline the engines add to.
    pub struct Instance;

    impl Instance {
        pub fn new(wasm: &'static [u8]) -> Result<Self, String> {
            let sum = wasm.iter().fold(0u32, |s, b| s.wrapping_add(u32::from(*b)));
            Err(alloc::format!("no engine (module of {} bytes, sum {sum})", wasm.len()))
        }

        pub fn call(&mut self, _export: &str, _n: i32) -> Result<i32, String> {
            Err("no engine".to_string())
        }

        pub fn memory_bytes(&self) -> usize {
            0
        }

        pub fn store_heap(&self) -> usize {
            0
        }

        pub fn load_instructions(&self) -> u64 {
            0
        }
    }
}

#[cfg(not(any(
    feature = "tandem",
    feature = "tandem-images",
    feature = "wasmi",
    feature = "none"
)))]
compile_error!("enable one engine feature: tandem, tandem-images, wasmi or none");

pub use imp::{Instance, NAME};
