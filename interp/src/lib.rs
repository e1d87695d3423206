//! Tandem's WebAssembly interpreter core: `no_std` + `alloc`, Wasm 2.0 without SIMD.
//!
//! ```text
//! bytes --wasmparser--> Module (validated, translated once into compact code)
//!       --Linker::instantiate--> Instance in a Store --Store::call--> results | Trap
//! ```
//!
//! The same crate runs in the desktop simulator and on a Cortex-M4 board; every
//! limit and statistic is counted in units that do not depend on the pointer width.
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

mod config;
mod error;
mod exec;
mod instance;
mod ir;
mod linker;
mod module;
mod num;
mod raw;
mod store;
mod translate;
mod value;

pub use config::{Config, WasmVersion};
pub use error::{Error, ExternKind, Trap, TrapKind};
pub use linker::{InstanceOptions, Linker};
pub use module::{GlobalType, MemoryType, Module, TableType};
pub use raw::memory::{MemStats, MemoryKind, PAGE_SIZE};
pub use store::{Caller, ExecStats, Extern, Func, Global, HostFn, Instance, Memory, Store, Table};
pub use value::{FuncRef, FuncType, ValType, Value};
