//! Board support: one layer per board, selected by a cargo feature, each exporting the same
//! names: `HostUart` (the link's byte stream), `init`, `exit`, `eprint`, `CORE_CLOCK_HZ`,
//! `CYCLE_COUNTER` and `heap_source`. Everything else in the firmware is board-agnostic
//! Cortex-M code. Boards reached through a debug probe share `debug_probe.rs`.
//!
//! The layer is `src/board/<feature>/mod.rs` for the enabled board feature, included by the
//! build script (which also checks that every board has a profile, a feature and a folder),
//! so no list of boards is kept here.

include!(concat!(env!("OUT_DIR"), "/board_layer.rs"));
