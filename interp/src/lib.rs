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
//! past the buffer it returns -1. See [`memory`] for how to obtain such a buffer.
#![no_std]
// `unsafe` code lives in `raw`; the only other places allowed to call into it are the
// run loop's one-line accessors in `exec` (fetch and slot read/write in `exec/run.rs`,
// load/store in `exec/memory.rs`), each stating the translator's guarantee it relies on.
#![deny(unsafe_code)]

extern crate alloc;

pub mod config;
pub mod error;
pub mod ir;
pub mod module;
pub mod num;
pub mod store;
pub mod value;

mod exec;
mod instance;
mod linker;
mod raw;
mod translate;

pub use raw::memory;

pub use config::{Config, WasmVersion};
pub use error::{Error, ExternKind, Trap, TrapKind};
pub use linker::{InstanceOptions, Linker};
pub use memory::{MemStats, MemoryKind};
pub use module::{GlobalType, MemoryType, Module, TableType};
pub use store::{Caller, ExecStats, Extern, Func, Global, HostFn, Instance, Memory, Store, Table};
pub use value::{FuncRef, FuncType, ValType, Value};
