//! Board support: one layer per board, selected by a cargo feature, each exporting the same
//! names (`Uart`, `init`, `exit`, `CORE_CLOCK_HZ`, `heap_source`). Everything else in the
//! firmware is board-agnostic Cortex-M code.

#[cfg(feature = "mps2-an386")]
mod mps2_an386;
#[cfg(feature = "mps2-an386")]
pub use mps2_an386::*;

#[cfg(not(feature = "mps2-an386"))]
compile_error!("enable exactly one board feature (e.g. `mps2-an386`)");
