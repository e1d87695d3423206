//! Tandem's host side, as a library the `tandem` command line is a thin shell over: a
//! `.wast` runner that drives any [`Target`], the targets (the in-process simulator, the
//! firmware behind the link in a thread, on QEMU or on a board through a probe), and what
//! they need (QEMU launching, firmware builds, reports, parity).
//!
//! ```text
//! .wast text --wast crate (host)--> binary modules + directives
//!            --Target (sim in-process | board over UART or RTT)--> results, traps
//!            --runner--> passed / failed / skipped per directive --> report
//! ```
//!
//! Every target speaks `tandem-protocol`'s types, the ones on the wire, so the same runner
//! drives the simulator and a Cortex-M4 board with nothing converted on the way.

pub mod firmware;
pub mod jobs;
pub mod measure;
pub mod parity;
pub mod program;
pub mod qemu;
pub mod records;
pub mod report;
pub mod shard;
pub mod suite;
pub mod target;
pub mod wast;

pub use report::{FileReport, SuiteReport};
pub use suite::{Suite, run_suite};
#[cfg(feature = "sim")]
pub use target::sim::SimTarget;
pub use target::{Target, TargetError};
pub use wast::{RunError, run_wast};

/// The proposals a session accepts, named: the core's set (the wire carries its bits).
pub use tandem_interp::Features;
/// The vocabulary every [`Target`] speaks: `tandem-protocol`'s, re-exported for the runner's
/// users.
pub use tandem_protocol::{
    InstanceId, ModuleId, Printed, Refusal, StatsResponse, Trap, TrapKind, Val,
};
