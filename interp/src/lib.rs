//! Tandem's WebAssembly interpreter core: `no_std` + `alloc`, Wasm 2.0 without SIMD, and the
//! proposals [`Features`] lists.
//!
//! ```text
//! bytes --wasmparser--> Module (validated, translated once into compact code)
//!       --Linker::instantiate--> Instance in a Store --Store::call--> results | Trap
//! ```
//!
//! The same crate runs in the desktop simulator and on a Cortex-M4 board; every
//! limit and statistic is counted in units that do not depend on the pointer width.
//! With the `validate` feature (on by default) modules are validated on the device;
//! without it the host is trusted to have validated them, and the decoder and the
//! translator still check every invariant they rely on, so bad input is an error,
//! never a panic.
//!
//! # Example
//! A module that imports a host function, its memory in a static buffer:
//!
//! ```
//! use tandem_interp::{
//!     Caller, Config, InstanceOptions, Linker, MemoryKind, Module, PAGE_SIZE, Store, Trap,
//! };
//!
//! let wasm = wat::parse_str(
//!     r#"(module
//!          (import "env" "log" (func $log (param i32)))
//!          (memory 1 2)
//!          ;; 1 + 2 + ... + n, stored at address 0 and logged.
//!          (func (export "sum") (param $n i32) (result i32) (local $s i32)
//!            (block (loop
//!              (br_if 1 (i32.eqz (local.get $n)))
//!              (local.set $s (i32.add (local.get $s) (local.get $n)))
//!              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//!              (br 0)))
//!            (i32.store (i32.const 0) (local.get $s))
//!            (call $log (local.get $s))
//!            (local.get $s)))"#,
//! )?;
//! let config = Config::new();
//! let module = Module::new(&config, &wasm)?;
//! let mut store = Store::new(config);
//!
//! // A typed host function: its signature, (i32) -> (), comes from the closure's types.
//! // It sees the calling instance's memory 0, and traps by returning `Err`.
//! let mut linker = Linker::new();
//! linker.func_wrap(&mut store, "env", "log", |caller: &mut Caller<'_>, logged: i32| {
//!     let memory = caller.memory().ok_or_else(|| Trap::host("no memory"))?;
//!     let stored = i32::from_le_bytes([memory[0], memory[1], memory[2], memory[3]]);
//!     if logged == stored { Ok(()) } else { Err(Trap::host("the log and the memory disagree")) }
//! });
//!
//! // Memory 0 in a static buffer: a `.bss` array on a board, a leaked one on a host.
//! let buffer: &'static mut [u8] = Box::leak(vec![0u8; 2 * PAGE_SIZE].into_boxed_slice());
//! let options = InstanceOptions::new().with_static_memory(0, buffer);
//! let instance = linker.instantiate_with(&mut store, &module, options)?;
//!
//! // A typed call: the signature is checked once, here; calls take and return Rust values.
//! let sum = instance.typed_func::<i32, i32>(&store, "sum")?;
//! assert_eq!(sum.call(&mut store, 100)?, 5050);
//!
//! // Figures that read the same on a 64-bit host and a 32-bit board.
//! assert_eq!(store.stats().peak_call_depth, 1);
//! let memory = instance.memory_stats(&store);
//! assert_eq!((memory[0].kind, memory[0].pages), (MemoryKind::Static, 1));
//! assert_eq!(memory[0].capacity_bytes, 2 * PAGE_SIZE as u64);
//!
//! // The store gives the buffer back, as the wasm code left it, for the next store.
//! let buffers: Vec<&'static mut [u8]> = store.into_static_buffers().collect();
//! assert_eq!(buffers.len(), 1);
//! assert_eq!(buffers[0][..4], 5050i32.to_le_bytes());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where signatures are known only at run time (a `.wast` runner, a wire protocol), the
//! untyped API does the same with [`Value`] slices: [`Store::host_func`] with a
//! [`FuncType`], [`Store::call`] with argument and result slices. A typed host function
//! is an untyped one underneath, and a [`TypedFunc`]'s call goes through [`Store::call`];
//! neither allocates per call. The types that stand for wasm values are listed at
//! [`WasmTy`]; floats cross as bits, so NaN payloads survive.
//!
//! # Tasks: calls that stop and resume
//! An RTOS can time-slice Wasm without threads: [`Store::start`] runs a call on a [`Task`]
//! (stacks of its own, made once by [`Store::new_task`]) and answers
//! [`Progress::Suspended`] where its fuel runs out, where the interrupt flag is raised, or
//! after a host function that called [`Caller::request_yield`]; [`Store::resume`] goes on
//! from exactly there. Tasks stopped at once keep their own stacks, so several can be
//! interleaved over one instance; nothing allocates per start, stop or resume.
//!
//! ```
//! use tandem_interp::{Config, Linker, Module, Progress, Store, Value};
//!
//! let wasm = wat::parse_str(
//!     r#"(module (func (export "count") (param i32) (result i32)
//!          (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
//!          (local.get 0)))"#,
//! )?;
//! let config = Config::new().with_fuel(true);
//! let module = Module::new(&config, &wasm)?;
//! let mut store = Store::new(config);
//! let instance = Linker::new().instantiate(&mut store, &module)?;
//! let count = instance.func(&store, "count")?;
//!
//! let task = store.new_task(64, 8)?; // 64 value slots, 8 frames
//! let mut results = [Value::I32(0)];
//! store.set_fuel(100);
//! let mut progress = store.start(task, count, &[Value::I32(1000)], &mut results)?;
//! let mut slices = 1;
//! while let Progress::Suspended(_) = progress {
//!     // ... another task, or the rest of the firmware, runs here ...
//!     store.set_fuel(100);
//!     progress = store.resume(task, &mut results)?;
//!     slices += 1;
//! }
//! assert_eq!((results[0], slices), (Value::I32(0), 11));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Linear memory in a static buffer
//! A memory can live in a caller-provided `&'static mut [u8]` instead of the heap,
//! so its size is fixed when the firmware links and `memory.grow` never allocates:
//! past the buffer it returns -1. Hand the buffer over with
//! [`InstanceOptions::with_static_memory`] (a memory the module defines) or
//! [`Store::new_static_memory`] (a memory for modules to import), and take it back with
//! [`Store::into_static_buffers`], e.g. to run the next store in it.
//!
//! Obtain the buffer without `unsafe`:
//!
//! - with [`static_cell`](https://docs.rs/static_cell), which hands out its
//!   contents once (a second `init` panics):
//!   ```ignore
//!   use static_cell::StaticCell;
//!   static BUF: StaticCell<[u8; 4 * 65536]> = StaticCell::new();
//!   let buf: &'static mut [u8; 4 * 65536] = BUF.init([0; 4 * 65536]);
//!   ```
//!   `init` may build the array on the stack before moving it in; for a buffer this
//!   size prefer `static BUF: ConstStaticCell<[u8; N]> = ConstStaticCell::new([0; N]);`
//!   and `BUF.take()`, which keeps it in `.bss` and copies nothing.
//! - with [`cortex_m::singleton!`](https://docs.rs/cortex-m), which gives `Some` the
//!   first time its call site runs and `None` after:
//!   ```ignore
//!   let buf: &'static mut [u8; 4 * 65536] =
//!       cortex_m::singleton!(: [u8; 4 * 65536] = [0; 4 * 65536]).unwrap();
//!   ```
//! - on a host, by leaking a heap buffer (what the simulator and the tests do):
//!   `Box::leak(vec![0u8; 2 * PAGE_SIZE].into_boxed_slice())`.
//!
//! The `&'static mut` is moved into the memory, which from then on is the only way to
//! reach those bytes; the borrow checker keeps it so for the three ways above (do not
//! keep a second path to the buffer, e.g. through a `static mut` and a raw pointer). No
//! alignment is needed. The memory zeroes its initial pages when it is made and each
//! page it grows into; bytes past the buffer's last whole page are never used.
#![no_std]
// `unsafe` code lives in `raw`; the only other places allowed to call into it are the
// run loop's one-line accessors in `exec` (fetch and slot read/write in `exec/run.rs`,
// load/store in `exec/memory.rs`), each stating the translator's guarantee it relies on.
#![deny(unsafe_code)]

extern crate alloc;

// `build.rs` leaves threaded dispatch out of builds with debug assertions, whose handlers
// would keep their calls and take native stack per instruction; this catches a way of
// turning them on that it did not see. (rustdoc reads the crate with debug assertions to
// find its examples, which then run on the crate as cargo built it.)
#[cfg(all(tandem_threaded, debug_assertions, not(doc), not(doctest)))]
compile_error!("threaded dispatch in a build with debug assertions: see interp/build.rs");

// Every module is private; the public API is the re-exports below.
mod config; // Config: the feature set and the limits
mod error; // Error, Trap: every stage's failures
mod exec; // the run loop over translated code
mod heap; // the heap account: what the store holds, in board bytes, against a limit
mod image; // images: a translated module as bytes, written on the host, verified and run on a board
mod instance; // Instance: an instance's exports
mod ir; // the internal code (Instr) and the numeric-op table
mod linker; // Linker, InstanceOptions: linking and instantiation
mod module; // Module: decoding (and validating) a module
mod num; // the spec's numeric semantics beyond one Rust operator
mod raw; // the crate's `unsafe`: linear memory, value stack, instruction pointer
mod store; // Store: the entities, and the embedder's API
mod task; // Task: calls that stop (fuel, interrupt, yield) and resume later
#[cfg(feature = "wasm")]
mod translate; // wasm operators -> internal code, checking what the executor relies on
mod typed; // typed host functions and typed calls over the untyped API
mod value; // Value, ValType, FuncType, and the raw slot encoding
mod verify; // what the executor relies on, checked per function (translator and images)

pub use config::{Config, Dispatch, Features};
pub use error::{Error, ExternKind, Trap, TrapKind};
pub use heap::{HeapStats, HeapUse};
pub use image::image_checksum;
pub use linker::{InstanceOptions, Linker};
#[cfg(feature = "wasm")]
pub use module::PartialModule;
pub use module::{GlobalType, MemoryType, Module, TableType};
pub use raw::memory::{MemStats, MemoryKind, PAGE_SIZE};
pub use store::{
    Caller, ExecStats, Extern, FUEL_SLICE, Func, Global, HostFn, Instance, Memory, Store, Table,
};
pub use task::{Progress, Suspension, Task};
pub use typed::{HostReturn, IntoHostFunc, TypedFunc, WasmTy, WasmTyList};
pub use value::{ExternRef, FuncRef, FuncType, ValType, Value};
