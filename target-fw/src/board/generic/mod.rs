//! Any Cortex-M chip probe-rs knows, with no board layer of its own: the board profile is
//! derived from the chip database (`tandem boards --chip NAME` prints it), and this layer
//! takes everything from it. The build script writes `memory.x` from the profile's
//! `[generic]` origins and `[memory]` sizes; the link is RTT through the probe, as on every
//! board behind one; no clock or peripheral is set up, so the core runs on its reset clock,
//! which the profile names (`core_clock_hz`) for the call deadline.

#[path = "../debug_probe.rs"]
mod debug_probe;

pub use debug_probe::{HostUart, eprint, exit, heap_source, init};

use crate::profile::PROFILE;

/// The core clock out of reset, from the profile.
pub const CORE_CLOCK_HZ: u32 = match PROFILE.generic {
    Some(chip) => chip.core_clock_hz,
    None => panic!("the generic layer's profile has a [generic] table (build.rs checks it)"),
};

/// DWT's cycle counter counts core cycles on every core that has one (`clock` leaves it
/// alone on the others).
pub const CYCLE_COUNTER: bool = true;
