//! The chip database: what probe-rs's built-in target descriptions say of a Cortex-M chip,
//! as the [`Chip`] the generic firmware's profile is derived from
//! ([`tandem_boards::BoardProfile::for_chip`]). The one place that reads probe-rs's
//! descriptions for it.
//!
//! The description gives the core's architecture, the memory regions and which NVM the chip
//! boots from. The firmware gets the boot flash (banks that follow each other joined) and
//! the largest run of adjacent RAM regions in the architecture's SRAM region that its core
//! reaches (code-bus aliases and tightly-coupled RAM elsewhere left out). ARMv8-M is one type there, Baseline (M23) and Mainline (M33) alike:
//! the families known to be M23 build for Baseline, every other for Mainline. Chips that
//! boot through a second-stage loader in external flash are refused: the generic firmware
//! does not carry one.

use std::ops::Range;

use probe_rs::config::{CoreType, MemoryRegion, RamRegion, Registry};
use tandem_boards::{Chip, CortexM, MemoryRange};

use crate::hardware::ProbeError;

/// Name prefixes of the ARMv8-M families whose core is the Cortex-M23 (Baseline).
const M23_FAMILIES: &[&str] =
    &["ATSAML10", "ATSAML11", "R7FA2", "M2351", "M251", "M258", "GD32E23"];

/// Name prefixes of families that boot from external flash through a second-stage loader
/// the generic firmware lacks, and why.
const SECOND_STAGE_BOOT: &[(&str, &str)] = &[
    ("RP2040", "boots from QSPI flash through a 256-byte second-stage loader (boot2)"),
    ("RP235", "boots from QSPI flash through an image definition block"),
    ("MIMXRT", "boots from FlexSPI flash through a configuration block (FCB)"),
];

/// What probe-rs's database says of `name`, for a generic firmware.
pub fn describe(name: &str) -> Result<Chip, ProbeError> {
    let target = Registry::from_builtin_families()
        .get_target_by_name(name)
        .map_err(|e| ProbeError::UnknownChip { chip: name.into(), why: e.to_string() })?;
    let unsupported = |why: String| ProbeError::UnsupportedChip { chip: target.name.clone(), why };
    let upper = target.name.to_ascii_uppercase();
    if let Some((_, why)) = SECOND_STAGE_BOOT.iter().find(|(prefix, _)| upper.starts_with(prefix)) {
        return Err(unsupported(format!("it {why}; it needs a board layer of its own")));
    }
    let Some(core) = target.cores.first() else {
        return Err(unsupported("the database lists no core for it".into()));
    };
    let arch = match core.core_type {
        CoreType::Armv6m => CortexM::V6M,
        CoreType::Armv7m => CortexM::V7M,
        CoreType::Armv7em => CortexM::V7EM,
        CoreType::Armv8m if M23_FAMILIES.iter().any(|p| upper.starts_with(p)) => {
            CortexM::V8MBaseline
        }
        CoreType::Armv8m => CortexM::V8MMainline,
        other => return Err(unsupported(format!("its core ({other:?}) is not a Cortex-M"))),
    };
    let reaches = |cores: &[String]| cores.is_empty() || cores.contains(&core.name);
    let nvm = target.memory_map.iter().filter_map(MemoryRegion::as_nvm_region);
    let boot = nvm.filter(|r| r.is_boot_memory() && !r.is_alias && reaches(&r.cores));
    // The vector table goes at the lowest boot address; banks that follow it make one flash.
    let flash = contiguous(boot.map(|r| r.range.clone()))
        .into_iter()
        .next()
        .ok_or_else(|| unsupported("the database names no flash it boots from".into()))?;
    // The RAM the core's data belongs in: the architecture's SRAM region (0x2000_0000 up),
    // not code-bus aliases or tightly-coupled RAM elsewhere, unless there is nothing there.
    let rams: Vec<_> = target
        .memory_map
        .iter()
        .filter_map(MemoryRegion::as_ram_region)
        .filter(|r| r.is_writable() && reaches(&r.cores))
        .collect();
    let in_sram = |r: &RamRegion| SRAM_REGION.contains(&r.range.start);
    let any_in_sram = rams.iter().any(|r| in_sram(r));
    let chosen = rams.iter().filter(|r| !any_in_sram || in_sram(r)).map(|r| r.range.clone());
    // The largest run of adjacent regions; of equal ones the lowest.
    let ram = contiguous(chosen)
        .into_iter()
        .rev()
        .max_by_key(|r| r.end - r.start)
        .ok_or_else(|| unsupported("the database names no RAM for its core".into()))?;
    let range = |r: Range<u64>| MemoryRange { origin: r.start, bytes: r.end - r.start };
    Ok(Chip { name: target.name.clone(), core: arch, flash: range(flash), ram: range(ram) })
}

/// The Cortex-M memory map's SRAM region, meant for data.
const SRAM_REGION: Range<u64> = 0x2000_0000..0x4000_0000;

/// `ranges` by address, adjacent ones joined.
fn contiguous(ranges: impl IntoIterator<Item = Range<u64>>) -> Vec<Range<u64>> {
    let mut sorted: Vec<Range<u64>> = ranges.into_iter().collect();
    sorted.sort_by_key(|r| r.start);
    let mut joined: Vec<Range<u64>> = Vec::new();
    for r in sorted {
        match joined.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => joined.push(r),
        }
    }
    joined
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Chips of five families and every Cortex-M architecture, as probe-rs's database
    /// describes them.
    #[test]
    fn chips_of_every_core_are_described_from_the_database() {
        let kib = |k: u64| k * 1024;
        for (name, core, flash, ram) in [
            // Microchip SAMD21, Cortex-M0+.
            ("ATSAMD21G18A", CortexM::V6M, (0, kib(256)), (0x2000_0000, kib(32))),
            // Microchip SAM3X (Arduino Due), Cortex-M3: flash at 0x8_0000.
            ("ATSAM3X8E", CortexM::V7M, (0x8_0000, kib(256)), (0x2000_0000, kib(64))),
            // Nordic nRF52832, Cortex-M4F: the database's main RAM is the code-bus one at
            // 0x80_0000, its 0x2000_0000 view an alias; data goes in the latter.
            ("nRF52832_xxAA", CortexM::V7EM, (0, kib(512)), (0x2000_0000, kib(64))),
            // ST STM32H743, Cortex-M7: two flash banks make 2 MiB; the 512 KiB AXI SRAM
            // beats the 128 KiB DTCM.
            ("STM32H743ZITx", CortexM::V7EM, (0x0800_0000, kib(2048)), (0x2400_0000, kib(512))),
            // NXP LPC55S69, Cortex-M33: SRAM0-3 and SRAM4 adjoin.
            ("LPC55S69JBD100", CortexM::V8MMainline, (0, kib(630)), (0x2000_0000, kib(272))),
            // Renesas RA2L1, Cortex-M23.
            ("R7FA2L1AB", CortexM::V8MBaseline, (0, kib(256)), (0x2000_0000, kib(32))),
        ] {
            let chip = describe(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(chip.core, core, "{name}");
            assert_eq!((chip.flash.origin, chip.flash.bytes), flash, "{name} flash");
            assert_eq!((chip.ram.origin, chip.ram.bytes), ram, "{name} RAM");
        }
    }

    #[test]
    fn chips_it_cannot_serve_are_refused_with_the_reason() {
        let err = describe("nRF9999").expect_err("unknown").to_string();
        assert!(err.contains("unknown chip `nRF9999`"), "{err}");
        let err = describe("RP2040").expect_err("second-stage boot").to_string();
        assert!(err.contains("boot2") && err.contains("board layer"), "{err}");
        let err = describe("GD32VF103CBT6").expect_err("RISC-V").to_string();
        assert!(err.contains("not a Cortex-M"), "{err}");
    }
}
