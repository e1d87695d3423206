//! Profiles for chips with no board layer of their own: derived from what a chip database
//! (probe-rs's, read by `tandem-probe`) says of the chip, for the generic firmware layer.
//!
//! The database knows a chip's core architecture and its memory regions, not its board: the
//! profile takes the boot flash and the largest RAM region, leaves room in that RAM for the
//! firmware's own data and its stack, and sizes the heap, the static buffer and the limits
//! from what is left, in the proportions of the hand-written profiles. What the database does
//! not know (the reset clock, whether there is an FPU) is chosen so that nothing breaks: the
//! soft-float target, and a clock no slower than the chip's, so a call deadline comes late,
//! never early. A user who knows better edits the profile `tandem boards --chip` prints.

use std::format;
use std::string::{String, ToString};

use crate::{
    BoardError, BoardMemory, BoardProfile, GENERIC_LAYER, GenericChip, Limits, MAX_STATIC_MEMORIES,
};

/// A Cortex-M architecture, as chip databases name a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CortexM {
    /// ARMv6-M: Cortex-M0, M0+, M1.
    V6M,
    /// ARMv7-M: Cortex-M3.
    V7M,
    /// ARMv7E-M: Cortex-M4, M7.
    V7EM,
    /// ARMv8-M Baseline: Cortex-M23.
    V8MBaseline,
    /// ARMv8-M Mainline: Cortex-M33, M35P, M55, M85.
    V8MMainline,
}

impl CortexM {
    /// The Rust target the generic firmware is built for. Soft-float where an FPU is
    /// optional (the database does not say whether the chip has one): right on every chip of
    /// the class; a profile may name the `hf` target instead.
    pub fn rust_target(self) -> &'static str {
        match self {
            CortexM::V6M => "thumbv6m-none-eabi",
            CortexM::V7M => "thumbv7m-none-eabi",
            CortexM::V7EM => "thumbv7em-none-eabi",
            CortexM::V8MBaseline => "thumbv8m.base-none-eabi",
            CortexM::V8MMainline => "thumbv8m.main-none-eabi",
        }
    }

    /// The core's name for listings.
    pub fn cores(self) -> &'static str {
        match self {
            CortexM::V6M => "Cortex-M0/M0+ (ARMv6-M)",
            CortexM::V7M => "Cortex-M3 (ARMv7-M)",
            CortexM::V7EM => "Cortex-M4/M7 (ARMv7E-M)",
            CortexM::V8MBaseline => "Cortex-M23 (ARMv8-M Baseline)",
            CortexM::V8MMainline => "Cortex-M33/M55 (ARMv8-M Mainline)",
        }
    }

    /// The architecture a Rust target builds for (`thumbv7em-none-eabihf`: ARMv7E-M), if it
    /// is a Cortex-M one.
    pub fn of_target(target: &str) -> Option<CortexM> {
        [
            ("thumbv6m-", CortexM::V6M),
            ("thumbv7m-", CortexM::V7M),
            ("thumbv7em-", CortexM::V7EM),
            ("thumbv8m.base-", CortexM::V8MBaseline),
            ("thumbv8m.main-", CortexM::V8MMainline),
        ]
        .into_iter()
        .find_map(|(prefix, core)| target.starts_with(prefix).then_some(core))
    }

    /// Whether its DWT has a cycle counter (ARMv7-M and ARMv8-M Mainline): the firmware
    /// counts core cycles there, SysTick ticks elsewhere.
    pub fn has_cycle_counter(self) -> bool {
        matches!(self, CortexM::V7M | CortexM::V7EM | CortexM::V8MMainline)
    }

    /// Whether it has atomic compare-and-swap (all but ARMv6-M), which `Arc`, and so
    /// wasmparser's validator, needs.
    pub fn has_compare_and_swap(self) -> bool {
        self != CortexM::V6M
    }

    /// Whether chips of the class may have an FPU, for which an `hf` target exists.
    fn may_have_fpu(self) -> bool {
        matches!(self, CortexM::V7EM | CortexM::V8MMainline)
    }

    /// The fastest core clock of the class's chips (RP2040 133 MHz, STM32F2 120 MHz,
    /// STM32H7 480 MHz, STM32H5 250 MHz): the clock a profile assumes when the database does
    /// not know the reset clock. A slower real clock makes a call deadline come late.
    fn fastest_clock_hz(self) -> u32 {
        match self {
            CortexM::V6M => 133_000_000,
            CortexM::V7M => 120_000_000,
            CortexM::V7EM => 480_000_000,
            CortexM::V8MBaseline | CortexM::V8MMainline => 250_000_000,
        }
    }
}

/// A range of a chip's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRange {
    /// The first address.
    pub origin: u64,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What a chip database says of a chip that the generic firmware needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chip {
    /// The database's name for it, e.g. `STM32F411CEUx`.
    pub name: String,
    /// Its (first) core.
    pub core: CortexM,
    /// The flash it boots from.
    pub flash: MemoryRange,
    /// The RAM the firmware gets to itself: the chip's largest RAM region.
    pub ram: MemoryRange,
}

/// RAM the firmware keeps for its own data (link buffers, RTT rings, allocator and handler
/// state; about 12 KiB measured) besides heap and static buffer.
const FIRMWARE_DATA_BYTES: u64 = 16 * 1024;
/// RAM kept for the stack: the firmware's deepest measured is a few KiB (native stack 2.5 KiB
/// during wasm recursion, more in the validator); smaller chips get the smaller stack.
const STACK_BYTES: u64 = 16 * 1024;
const SMALL_STACK_BYTES: u64 = 8 * 1024;
/// Below this much RAM the smaller stack is kept.
const SMALL_RAM_BYTES: u64 = 128 * 1024;
/// The least heap worth building a firmware for: a module, its instance and a value stack.
const MIN_HEAP_BYTES: u64 = 8 * 1024;
/// With this much left after data and stack, memory 0 gets a 64 KiB static buffer (one
/// page); below it, modules' memories come from the heap alone.
const STATIC_BUFFER_FROM_BYTES: u64 = 256 * 1024;
const STATIC_BUFFER_BYTES: u64 = 64 * 1024;

/// The largest power of two at most `n`, within `[min, max]`.
fn power_of_two_within(n: u64, min: u64, max: u64) -> u64 {
    let floor = if n == 0 { 0 } else { 1 << (63 - n.leading_zeros()) };
    floor.clamp(min, max)
}

impl BoardProfile {
    /// The profile of a chip with no board layer, for the generic firmware layer (see the
    /// module comment for how the RAM is shared out). Refused when the RAM cannot hold the
    /// firmware and a useful heap.
    pub fn for_chip(chip: &Chip) -> Result<BoardProfile, BoardError> {
        let ram = chip.ram.bytes;
        let stack = if ram < SMALL_RAM_BYTES { SMALL_STACK_BYTES } else { STACK_BYTES };
        let usable = ram.saturating_sub(FIRMWARE_DATA_BYTES + stack);
        if usable < MIN_HEAP_BYTES {
            return Err(BoardError::Inconsistent {
                board: chip.name.clone(),
                message: format!(
                    "its RAM ({} KiB) leaves less than {} KiB of heap after the firmware's \
                     data ({} KiB) and stack ({} KiB)",
                    ram / 1024,
                    MIN_HEAP_BYTES / 1024,
                    FIRMWARE_DATA_BYTES / 1024,
                    stack / 1024
                ),
            });
        }
        let static_buffer =
            if usable >= STATIC_BUFFER_FROM_BYTES { STATIC_BUFFER_BYTES } else { 0 };
        // A whole number of KiB: the arena is a static array.
        let heap = (usable - static_buffer) / 1024 * 1024;
        // The proportions of the hand-written profiles (nRF52840-DK: 160 KiB of heap, 2 Ki
        // value-stack slots, 32 KiB modules, 4 Ki table elements, 64 modules): heap-backed
        // memory 2/5 of the heap, value stack 1/10, a module upload 1/5.
        let value_stack_slots = power_of_two_within(heap / 10 / 8, 128, 65_536);
        let max_module_bytes = power_of_two_within(heap / 5, 1024, 1 << 20);
        let max_table_elements = power_of_two_within(heap / 5 / 8, 64, 262_144);
        let modules = (heap / 2560).clamp(4, 1024);
        let mut static_memory_bytes = [0; MAX_STATIC_MEMORIES];
        static_memory_bytes[0] = static_buffer;
        let short_name: String = chip
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        let board = BoardProfile {
            name: short_name.into(),
            description: format!(
                "{}: {}, {} KiB RAM at {:#x}, {} KiB flash (derived from the chip database)",
                chip.name,
                chip.core.cores(),
                ram / 1024,
                chip.ram.origin,
                chip.flash.bytes / 1024
            )
            .into(),
            chip: Some(chip.name.clone().into()),
            firmware: Some(GENERIC_LAYER.into()),
            target: Some(chip.core.rust_target().into()),
            memory: Some(BoardMemory {
                ram_bytes: ram,
                flash_bytes: chip.flash.bytes,
                heap_bytes: heap,
                static_memory_bytes,
                heap_memory_bytes: heap * 2 / 5 / 1024 * 1024,
            }),
            limits: Limits {
                value_stack_slots: value_stack_slots as u32,
                max_call_depth: (value_stack_slots / 8).clamp(32, 1024) as u32,
                fuel: Some(10_000_000),
                max_module_bytes: max_module_bytes as u32,
                max_table_elements: Some(max_table_elements as u32),
                max_modules: Some(modules as u32),
                max_instances: Some(modules as u32),
            },
            generic: Some(GenericChip {
                flash_origin: chip.flash.origin,
                ram_origin: chip.ram.origin,
                core_clock_hz: chip.core.fastest_clock_hz(),
            }),
            origin: None,
        };
        board.check()?;
        Ok(board)
    }

    /// The profile as a profile file (what [`BoardProfile::find`] reads back), with a
    /// comment on each figure a chip's derivation chose.
    pub fn to_toml(&self) -> String {
        let quoted = |s: &str| format!("{s:?}");
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("# {}", self.description));
        line(format!("name = {}", quoted(&self.name)));
        line(format!("description = {}", quoted(&self.description)));
        for (key, value) in [("chip", &self.chip), ("firmware", &self.firmware)] {
            if let Some(value) = value {
                line(format!("{key} = {}", quoted(value)));
            }
        }
        if let Some(target) = &self.target {
            let soft = target.ends_with("-none-eabi");
            let fpu = if soft && CortexM::of_target(target).is_some_and(CortexM::may_have_fpu) {
                "  # soft-float: the `hf` target (eabihf) if the chip has an FPU"
            } else {
                ""
            };
            line(format!("target = {}{fpu}", quoted(target)));
        }
        if let Some(m) = &self.memory {
            line(String::new());
            line("[memory]".into());
            line(format!("ram_bytes = {}", m.ram_bytes));
            line(format!("flash_bytes = {}", m.flash_bytes));
            line(format!("heap_bytes = {}", m.heap_bytes));
            let sizes: std::vec::Vec<String> =
                m.static_memory_bytes.iter().map(ToString::to_string).collect();
            line(format!("static_memory_bytes = [{}]", sizes.join(", ")));
            line(format!("heap_memory_bytes = {}", m.heap_memory_bytes));
        }
        let l = &self.limits;
        line(String::new());
        line("[limits]".into());
        line(format!("value_stack_slots = {}", l.value_stack_slots));
        line(format!("max_call_depth = {}", l.max_call_depth));
        for (key, value) in [
            ("fuel", l.fuel),
            ("max_table_elements", l.max_table_elements.map(u64::from)),
            ("max_modules", l.max_modules.map(u64::from)),
            ("max_instances", l.max_instances.map(u64::from)),
        ] {
            if let Some(value) = value {
                line(format!("{key} = {value}"));
            }
        }
        line(format!("max_module_bytes = {}", l.max_module_bytes));
        if let Some(g) = &self.generic {
            line(String::new());
            line("[generic]".into());
            line(format!("flash_origin = {:#x}", g.flash_origin));
            line(format!("ram_origin = {:#x}", g.ram_origin));
            line(format!(
                "core_clock_hz = {}  # the reset clock if known; else the class's fastest \
                 (a deadline comes late, never early)",
                g.core_clock_hz
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chip(core: CortexM, ram_kib: u64, flash_kib: u64) -> Chip {
        Chip {
            name: "STM32F411CEUx".into(),
            core,
            flash: MemoryRange { origin: 0x0800_0000, bytes: flash_kib * 1024 },
            ram: MemoryRange { origin: 0x2000_0000, bytes: ram_kib * 1024 },
        }
    }

    #[test]
    fn a_chip_profile_shares_its_ram_out_and_reads_back() {
        let board = BoardProfile::for_chip(&chip(CortexM::V7EM, 128, 512)).expect("fits");
        assert_eq!(board.name, "stm32f411ceux");
        assert_eq!(board.firmware.as_deref(), Some(GENERIC_LAYER));
        assert_eq!(board.target.as_deref(), Some("thumbv7em-none-eabi"));
        let m = board.memory.expect("memory");
        // 128 KiB less 16 KiB of data and 16 KiB of stack; under 256 KiB: no static buffer.
        assert_eq!((m.heap_bytes, board.static_buffers_total()), (96 * 1024, 0));
        assert_eq!(m.heap_memory_bytes, 38 * 1024);
        assert_eq!(board.limits.value_stack_slots, 1024);
        assert_eq!(board.limits.max_module_bytes, 16 * 1024);
        let generic = board.generic.expect("generic");
        assert_eq!((generic.flash_origin, generic.ram_origin), (0x0800_0000, 0x2000_0000));

        let text = board.to_toml();
        let read = BoardProfile::from_toml(&text, "chip.toml").expect("reads back");
        assert_eq!(read, board, "{text}");
        assert!(text.contains("flash_origin = 0x8000000"), "{text}");
    }

    #[test]
    fn a_large_ram_gets_a_static_page_and_a_small_one_the_small_stack() {
        let large = BoardProfile::for_chip(&chip(CortexM::V8MMainline, 512, 2048)).expect("fits");
        assert_eq!(large.static_memory_bytes(), 64 * 1024);
        assert_eq!(large.heap_bytes(), (512 - 32 - 64) * 1024);
        let small = BoardProfile::for_chip(&chip(CortexM::V6M, 36, 128)).expect("fits");
        assert_eq!(small.heap_bytes(), (36 - 16 - 8) * 1024);
        assert_eq!(small.target.as_deref(), Some("thumbv6m-none-eabi"));
        // Each derived profile passes the checks a profile file gets.
        for board in [large, small] {
            BoardProfile::from_toml(&board.to_toml(), "t.toml").expect("consistent");
        }
    }

    #[test]
    fn every_core_builds_for_a_target_that_names_it_back() {
        for core in
            [CortexM::V6M, CortexM::V7M, CortexM::V7EM, CortexM::V8MBaseline, CortexM::V8MMainline]
        {
            assert_eq!(CortexM::of_target(core.rust_target()), Some(core));
        }
        assert_eq!(CortexM::of_target("thumbv7em-none-eabihf"), Some(CortexM::V7EM));
        assert_eq!(CortexM::of_target("thumbv8m.main-none-eabihf"), Some(CortexM::V8MMainline));
        assert_eq!(CortexM::of_target("x86_64-unknown-linux-gnu"), None);
        let v6m = CortexM::V6M;
        assert!(!v6m.has_cycle_counter() && !v6m.has_compare_and_swap());
        assert!(!CortexM::V8MBaseline.has_cycle_counter());
    }

    #[test]
    fn a_ram_too_small_for_the_firmware_is_refused_with_its_size() {
        let err = BoardProfile::for_chip(&chip(CortexM::V6M, 16, 256)).expect_err("too small");
        let message = err.to_string();
        assert!(message.contains("16 KiB") && message.contains("STM32F411CEUx"), "{message}");
    }

    #[test]
    fn generic_tables_go_with_the_generic_layer_only() {
        let board = BoardProfile::for_chip(&chip(CortexM::V7M, 64, 256)).expect("fits");
        let text = board.to_toml();
        let without = &text[..text.find("[generic]").expect("has it")];
        let err = BoardProfile::from_toml(without, "t.toml").expect_err("no table").to_string();
        assert!(err.contains("[generic]"), "{err}");
        let other_layer = text.replace("firmware = \"generic\"", "firmware = \"nrf52840-dk\"");
        let err = BoardProfile::from_toml(&other_layer, "t.toml").expect_err("table").to_string();
        assert!(err.contains("only with it"), "{err}");
    }
}
