//! The crate's raw-pointer code: the crate root denies `unsafe` everywhere else, except
//! in the run loop's one-line accessors (`exec/run.rs`: `fetch`, `reg`, `set`, `set_low`;
//! `exec/memory.rs`: `load`, `store`; `global.get` and `global.set`; a threaded handler's
//! `assume_kind`) that call into this module and state the guarantee
//! they rely on.
//!
//! - [`memory`]: linear memory, one `(ptr, len, cap)` representation for the heap and
//!   the static backend, so loads and stores take no branch.
//! - [`code`]: the running code behind an instruction pointer, so the run loop fetches
//!   without a bounds check each; and encoded code read in place from bytes (an image's,
//!   in flash) once its layout is checked.
//! - [`frame`]: the value stack and a running function's frame, so the run loop reads
//!   and writes operand slots without a bounds check each.
//! - [`globals`]: the store's globals and the running instance's view of them, so
//!   `global.get` and `global.set` take no lookup through checked maps.
//! - [`dispatch`]: what threaded dispatch tells the optimiser (each handler's kind is
//!   known; a taken branch stays a branch).
//!
//! Every `unsafe` block has a `SAFETY` comment; each submodule's docs say how to use
//! it and what the caller must guarantee. Their unit tests run under Miri
//! (`ci/miri.sh`, Stacked and Tree Borrows, 64- and 32-bit).
#![allow(unsafe_code)]

pub(crate) mod code;
#[cfg_attr(not(tandem_threaded), allow(dead_code))]
pub(crate) mod dispatch;
pub(crate) mod frame;
pub(crate) mod globals;
pub(crate) mod memory;
