//! Board profiles: what a board has (RAM, flash, heap, static linear memory) and the limits
//! Tandem applies on it (value stack, call depth, fuel, module size).
//!
//! [`BoardProfile`] is the one profile type. It is `no_std` and `const`-constructible, so
//! the request handler takes it as it is, a firmware embeds its board's profile as one
//! `const` (generated from the profile file by its build script), and the host's simulator
//! builds the same value from the same file: a module that exhausts memory on the board
//! exhausts it in the simulator at the same call.
//!
//! The profiles are data files, `boards/profiles/*.toml`; with the `std` feature (the
//! default) this crate embeds every one of them, parses and checks profile files, and
//! writes the `const` a firmware build embeds; it also derives the profile of a chip with
//! no board layer from what a chip database says of it ([`Chip`]).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
mod chip;
#[cfg(feature = "std")]
mod file;

use alloc::borrow::Cow;

#[cfg(feature = "std")]
pub use chip::{Chip, CortexM, MemoryRange};
#[cfg(feature = "std")]
pub use file::BoardError;

/// The most memory indices a profile gives static buffers to (memories 0 to 3).
pub const MAX_STATIC_MEMORIES: usize = 4;

/// The board CI runs on (QEMU), and the default of the targets behind a link.
pub const DEFAULT_BOARD: &str = "qemu-mps2-an386";

/// The firmware layer of chips with no board layer of their own (see [`GenericChip`]).
pub const GENERIC_LAYER: &str = "generic";

/// One board profile, as its TOML file spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Deserialize), serde(deny_unknown_fields))]
pub struct BoardProfile {
    /// The name `--board` takes, e.g. `nrf52840-dk`.
    pub name: Cow<'static, str>,
    /// One line for listings.
    pub description: Cow<'static, str>,
    /// The probe-rs chip name, for boards flashed through a debug probe.
    #[cfg_attr(feature = "std", serde(default))]
    pub chip: Option<Cow<'static, str>>,
    /// The firmware's board layer (its cargo feature), for boards it has support for.
    #[cfg_attr(feature = "std", serde(default))]
    pub firmware: Option<Cow<'static, str>>,
    /// The Rust target the firmware is built for; required with `firmware`.
    #[cfg_attr(feature = "std", serde(default))]
    pub target: Option<Cow<'static, str>>,
    /// Where the board's RAM goes; `None` only for the desktop, which has the host's memory.
    #[cfg_attr(feature = "std", serde(default))]
    pub memory: Option<BoardMemory>,
    /// The limits every target applies alike.
    pub limits: Limits,
    /// For the generic firmware layer (`firmware = "generic"`, a chip with no board layer of
    /// its own): what a board layer would know. `None` for every other profile.
    #[cfg_attr(feature = "std", serde(default))]
    pub generic: Option<GenericChip>,
    /// The file a profile given by path came from (`None` for built-in ones), so a
    /// firmware build can be pointed at the same file.
    #[cfg_attr(feature = "std", serde(skip))]
    pub origin: Option<Cow<'static, str>>,
}

/// Where a board's RAM goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Deserialize), serde(deny_unknown_fields))]
pub struct BoardMemory {
    /// All RAM the firmware may use.
    pub ram_bytes: u64,
    /// The board's flash.
    pub flash_bytes: u64,
    /// The heap arena (modules, instances, value stack, heap-backed linear memory).
    pub heap_bytes: u64,
    /// Bytes of the static buffers in `.bss`, one per memory index (0 for none): buffer `i`
    /// backs memory `i` of the first module that defines one. In bytes, so that a board can
    /// offer less than a 64 KiB page to a module with 1-byte pages (custom page sizes). The
    /// file gives one number (memory 0's buffer) or a list (memories 0, 1, ...).
    #[cfg_attr(feature = "std", serde(deserialize_with = "file::static_memories"))]
    pub static_memory_bytes: [u64; MAX_STATIC_MEMORIES],
    /// Bytes of heap-backed linear memory allowed, all instances together.
    pub heap_memory_bytes: u64,
}

/// What the generic firmware layer is told of its chip, where a board layer knows it: where
/// flash and RAM start (the layer's `memory.x`; their sizes are [`BoardMemory`]'s), and the
/// core clock the call deadline counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Deserialize), serde(deny_unknown_fields))]
pub struct GenericChip {
    /// The boot flash's first address: the vector table goes there.
    pub flash_origin: u64,
    /// The first address of the RAM the firmware has to itself (data, heap, stack).
    pub ram_origin: u64,
    /// The core clock out of reset, in Hz (the firmware sets no clock up).
    pub core_clock_hz: u32,
}

/// The limits every target applies alike: identical limits give identical exhaustion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "std", derive(serde::Deserialize), serde(deny_unknown_fields))]
pub struct Limits {
    /// Value-stack size in 64-bit slots.
    pub value_stack_slots: u32,
    /// Deepest wasm call nesting.
    pub max_call_depth: u32,
    /// Fuel per invocation and instantiation; absent means unmetered.
    #[cfg_attr(feature = "std", serde(default))]
    pub fuel: Option<u64>,
    /// The largest module upload accepted.
    pub max_module_bytes: u32,
    /// Elements any one table may have (8 bytes each on the heap): a larger table is
    /// refused, `table.grow` past it returns -1. Absent means unlimited.
    #[cfg_attr(feature = "std", serde(default))]
    pub max_table_elements: Option<u32>,
    /// Modules a session may hold (uploaded since its reset): one more is refused before
    /// its upload. Absent means unlimited.
    #[cfg_attr(feature = "std", serde(default))]
    pub max_modules: Option<u32>,
    /// Instances a session may hold: one more is refused before anything of it is built.
    /// Absent means unlimited.
    #[cfg_attr(feature = "std", serde(default))]
    pub max_instances: Option<u32>,
}

impl BoardProfile {
    /// The name of [`BoardProfile::desktop`]'s profile.
    pub const DESKTOP: &'static str = "desktop";

    /// The simulator without a board: the host's memory (no heap-memory budget, no static
    /// buffer) and `limits`.
    pub const fn desktop(limits: Limits) -> BoardProfile {
        BoardProfile {
            name: Cow::Borrowed(Self::DESKTOP),
            description: Cow::Borrowed("the desktop simulator: the host's memory"),
            chip: None,
            firmware: None,
            target: None,
            memory: None,
            limits,
            generic: None,
            origin: None,
        }
    }

    /// Bytes of memory 0's static linear-memory buffer (0 without one).
    pub const fn static_memory_bytes(&self) -> u64 {
        self.static_buffer_bytes(0)
    }

    /// Bytes of memory `index`'s static linear-memory buffer (0 without one).
    pub const fn static_buffer_bytes(&self, index: usize) -> u64 {
        match &self.memory {
            Some(m) if index < MAX_STATIC_MEMORIES => m.static_memory_bytes[index],
            _ => 0,
        }
    }

    /// Bytes of all the static buffers together.
    pub const fn static_buffers_total(&self) -> u64 {
        let mut total = 0;
        let mut i = 0;
        while i < MAX_STATIC_MEMORIES {
            total += self.static_buffer_bytes(i);
            i += 1;
        }
        total
    }

    /// Bytes of heap-backed linear memory allowed, all instances together; `None` is no
    /// budget (the desktop).
    pub const fn heap_memory_bytes(&self) -> Option<u64> {
        match &self.memory {
            Some(m) => Some(m.heap_memory_bytes),
            None => None,
        }
    }

    /// What the store's heap account may hold (`Config::max_heap`): the arena less an eighth,
    /// kept in reserve for what the account does not count (the validator's scratch, the
    /// handler's own lists, the allocator's overhead and fragmentation), so the account
    /// refuses before the arena runs dry, at the same point on the board and in the
    /// simulator. `None` for the desktop.
    pub const fn store_heap_bytes(&self) -> Option<u64> {
        match &self.memory {
            Some(m) => Some(m.heap_bytes - m.heap_bytes / 8),
            None => None,
        }
    }

    /// The heap arena's size (0 for the desktop, whose heap is the host's).
    pub const fn heap_bytes(&self) -> u64 {
        match &self.memory {
            Some(m) => m.heap_bytes,
            None => 0,
        }
    }
}
