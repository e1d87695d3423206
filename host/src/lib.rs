//! Tandem's host side: a `.wast` spec-test runner that drives any [`Target`],
//! the in-process simulator target over `tandem-interp`, and the pieces the
//! `tandem` CLI is built from.
//!
//! ```text
//! .wast text --wast crate (host)--> binary modules + directives
//!            --Target (sim in-process | board over UART or RTT)--> results, traps
//!            --runner--> passed / failed / skipped per directive --> report
//! ```
//!
//! The runner is generic over [`Target`], whose requests and answers are owned,
//! serializable data, so the same runner drives a Cortex-M4 board later.

#[cfg(feature = "sim")]
pub mod linked_sim;
pub mod parity;
#[cfg(feature = "sim")]
pub mod probe;
#[cfg(feature = "sim")]
pub mod qemu;
pub mod remote;
pub mod report;
#[cfg(feature = "sim")]
pub mod sim;
pub mod suite;
pub mod target;
pub mod wast;

pub use report::{FileReport, SuiteReport};
#[cfg(feature = "sim")]
pub use sim::SimTarget;
pub use suite::{Suite, run_suite};
pub use target::{InstanceId, ModuleId, Target, TargetError, TrapCode, TrapInfo, Val, WasmVersion};
pub use wast::{RunError, run_wast};
