//! Board support: one layer per board, selected by a cargo feature, each exporting the same
//! names: `HostUart` (the link's byte stream), `init`, `exit`, `eprint`, `CORE_CLOCK_HZ`,
//! `CYCLE_COUNTER` and `heap_source`. Everything else in the firmware is board-agnostic
//! Cortex-M code. Boards reached through a debug probe share [`debug_probe`].

#[cfg(any(feature = "nrf52840-dk", feature = "ek-ra6m3", feature = "nucleo-f429zi"))]
mod debug_probe;

#[cfg(feature = "mps2-an386")]
mod mps2_an386;
#[cfg(feature = "mps2-an386")]
pub use mps2_an386::*;

#[cfg(feature = "nrf52840-dk")]
mod nrf52840_dk;
#[cfg(feature = "nrf52840-dk")]
pub use nrf52840_dk::*;

#[cfg(feature = "ek-ra6m3")]
mod ek_ra6m3;
#[cfg(feature = "ek-ra6m3")]
pub use ek_ra6m3::*;

#[cfg(feature = "nucleo-f429zi")]
mod nucleo_f429zi;
#[cfg(feature = "nucleo-f429zi")]
pub use nucleo_f429zi::*;

// build.rs checks that exactly one board feature is on and names it in its error.
