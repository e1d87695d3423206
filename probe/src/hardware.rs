//! Real boards through the probe-rs library: list the attached probes, pick one, attach to
//! the chip, flash the firmware ELF, start it with a clean RTT control block, and serve
//! [`TargetMemory`] through the probe while the core runs.
//!
//! probe-rs is blocking: callers run these on a blocking thread.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use probe_rs::config::Registry;
use probe_rs::flashing::{ElfLoader, ElfOptions, download_file};
pub use probe_rs::probe::DebugProbeInfo;
use probe_rs::probe::DebugProbeSelector;
use probe_rs::probe::list::Lister;
use probe_rs::{MemoryInterface, Permissions, Session};

use crate::memory::{AccessError, TargetMemory};
use crate::rtt::CONTROL_BLOCK_ID;

/// An attached probe, as `tandem probe list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeInfo {
    /// The probe's name (e.g. `J-Link`, `STLink V2-1`).
    pub name: String,
    /// The probe's USB vendor id.
    pub vendor_id: u16,
    /// The probe's USB product id.
    pub product_id: u16,
    /// The probe's USB serial number, if it reports one: tells identical probes apart.
    pub serial: Option<String>,
}

impl ProbeInfo {
    /// The `--probe` argument that selects exactly this probe.
    pub fn selector(&self) -> String {
        match &self.serial {
            Some(serial) => format!("{:04x}:{:04x}:{serial}", self.vendor_id, self.product_id),
            None => format!("{:04x}:{:04x}", self.vendor_id, self.product_id),
        }
    }
}

impl fmt::Display for ProbeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.selector())
    }
}

impl From<&DebugProbeInfo> for ProbeInfo {
    fn from(p: &DebugProbeInfo) -> Self {
        Self {
            name: p.identifier.clone(),
            vendor_id: p.vendor_id,
            product_id: p.product_id,
            serial: p.serial_number.clone(),
        }
    }
}

/// Why a board could not be reached, flashed or started.
#[derive(Debug)]
pub enum ProbeError {
    /// No probe is attached at all.
    NoProbe,
    /// `--probe` did not parse as `VID:PID[:SERIAL]`.
    BadSelector {
        /// The `--probe` argument as given.
        given: String,
        /// probe-rs's parse error.
        why: String,
    },
    /// No attached probe matches `--probe`.
    NotFound {
        /// The `--probe` argument as given.
        selector: String,
        /// Every probe attached, to choose from instead.
        attached: Vec<ProbeInfo>,
    },
    /// More than one probe and no `--probe` to choose.
    Ambiguous {
        /// The candidates: every probe that matches `--probe`, or every probe attached.
        attached: Vec<ProbeInfo>,
    },
    /// probe-rs knows no chip by that name.
    UnknownChip {
        /// The chip name as given.
        chip: String,
        /// probe-rs's error.
        why: String,
    },
    /// probe-rs knows the chip, but the generic firmware cannot run on it.
    UnsupportedChip {
        /// The chip, as probe-rs names it.
        chip: String,
        /// Why not.
        why: String,
    },
    /// The probe would not open, or would not attach to the chip.
    Attach {
        /// The probe, as [`ProbeInfo`] displays it.
        probe: String,
        /// The chip name as given.
        chip: String,
        /// probe-rs's error.
        why: String,
    },
    /// Flashing the ELF failed.
    Flash {
        /// The ELF's path.
        elf: String,
        /// probe-rs's error.
        why: String,
    },
    /// Reset or run failed.
    Start {
        /// probe-rs's error.
        why: String,
    },
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |attached: &[ProbeInfo]| {
            attached.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
        };
        match self {
            Self::NoProbe => {
                write!(
                    f,
                    "no debug probe found: looked for USB debug probes (J-Link, ST-LINK, \
                     CMSIS-DAP, ...) and found none; attach the board and check with \
                     `tandem probe list`"
                )?;
                if let Some(why) = no_usb() {
                    write!(f, " ({why})")?;
                }
                Ok(())
            }
            Self::BadSelector { given, why } => {
                write!(f, "--probe {given:?} is not VID:PID[:SERIAL] (hex ids): {why}")
            }
            Self::NotFound { selector, attached } if attached.is_empty() => write!(
                f,
                "no debug probe matches --probe {selector}: no probe is attached at all \
                 (see `tandem probe list`)"
            ),
            Self::NotFound { selector, attached } => write!(
                f,
                "no debug probe matches --probe {selector}; attached: {} (see `tandem probe list`)",
                list(attached)
            ),
            Self::Ambiguous { attached } => write!(
                f,
                "{} debug probes are attached; pick one with --probe VID:PID[:SERIAL]: {}",
                attached.len(),
                list(attached)
            ),
            Self::UnknownChip { chip, why } => write!(
                f,
                "unknown chip `{chip}`: {why} (probe-rs names them like nRF52840_xxAA, \
                 R7FA6M3AH, STM32F429ZITx)"
            ),
            Self::UnsupportedChip { chip, why } => {
                write!(f, "no firmware for the {chip}: {why}")
            }
            Self::Attach { probe, chip, why } => {
                write!(
                    f,
                    "cannot attach {probe} to the {chip}: {why} (is the board powered and wired?)"
                )
            }
            Self::Flash { elf, why } => write!(f, "flashing {elf} failed: {why}"),
            Self::Start { why } => write!(f, "cannot reset and start the firmware: {why}"),
        }
    }
}

impl std::error::Error for ProbeError {}

/// Why no probe can be seen at all on this machine, if that is the case: on Linux, USB
/// devices are found through sysfs, which containers often lack.
pub fn no_usb() -> Option<&'static str> {
    (cfg!(target_os = "linux") && !Path::new("/sys/bus/usb/devices").exists())
        .then_some("this machine shows no USB bus: /sys/bus/usb/devices is missing")
}

/// The probes attached now.
pub fn list_probes() -> Vec<ProbeInfo> {
    Lister::new().list_all().iter().map(ProbeInfo::from).collect()
}

/// Checks that probe-rs knows `chip`, before anything is built or opened.
pub fn check_chip(chip: &str) -> Result<(), ProbeError> {
    Registry::from_builtin_families()
        .get_target_by_name(chip)
        .map(|_| ())
        .map_err(|e| ProbeError::UnknownChip { chip: chip.into(), why: e.to_string() })
}

/// Parses `--probe VID:PID[:SERIAL]`.
pub fn parse_selector(given: &str) -> Result<DebugProbeSelector, ProbeError> {
    given
        .parse::<DebugProbeSelector>()
        .map_err(|e| ProbeError::BadSelector { given: given.into(), why: e.to_string() })
}

/// The probe to use: the one `selector` names, or the only one attached.
pub fn choose_probe(selector: Option<&str>) -> Result<DebugProbeInfo, ProbeError> {
    let lister = Lister::new();
    let mut all = lister.list_all();
    let attached: Vec<ProbeInfo> = all.iter().map(ProbeInfo::from).collect();
    match selector {
        Some(given) => {
            let sel = parse_selector(given)?;
            let mut matching = lister.list(Some(&sel));
            match matching.len() {
                0 => Err(ProbeError::NotFound { selector: given.into(), attached }),
                1 => Ok(matching.remove(0)),
                _ => Err(ProbeError::Ambiguous {
                    attached: matching.iter().map(ProbeInfo::from).collect(),
                }),
            }
        }
        None => match all.len() {
            0 => Err(ProbeError::NoProbe),
            1 => Ok(all.remove(0)),
            _ => Err(ProbeError::Ambiguous { attached }),
        },
    }
}

/// A probe attached to a chip.
pub struct Board {
    session: Session,
}

impl Board {
    /// Opens `probe` and attaches to `chip`.
    pub fn attach(probe: &DebugProbeInfo, chip: &str) -> Result<Self, ProbeError> {
        let name = ProbeInfo::from(probe).to_string();
        let attach =
            |why: String| ProbeError::Attach { probe: name.clone(), chip: chip.into(), why };
        let opened = probe.open().map_err(|e| attach(e.to_string()))?;
        let session =
            opened.attach(chip, Permissions::default()).map_err(|e| attach(e.to_string()))?;
        Ok(Self { session })
    }

    /// Writes the firmware ELF into flash.
    pub fn flash(&mut self, elf: &Path) -> Result<(), ProbeError> {
        download_file(&mut self.session, elf, ElfLoader(ElfOptions::default()))
            .map_err(|e| ProbeError::Flash { elf: elf.display().to_string(), why: e.to_string() })
    }

    /// Resets into the new firmware with the RTT control block at `rtt` wiped, so a block
    /// left in RAM by the previous run is never mistaken for this run's, then lets it run.
    pub fn start(&mut self, rtt: u32) -> Result<(), ProbeError> {
        let start = |e: probe_rs::Error| ProbeError::Start { why: e.to_string() };
        let mut core = self.session.core(0).map_err(start)?;
        core.reset_and_halt(Duration::from_secs(2)).map_err(start)?;
        core.write(u64::from(rtt), &[0; CONTROL_BLOCK_ID.len()]).map_err(start)?;
        core.run().map_err(start)
    }
}

fn access(e: probe_rs::Error) -> AccessError {
    AccessError::Failed(format!("probe: {e}"))
}

/// The board's memory, read and written through the probe (core 0) while the core runs.
impl TargetMemory for Board {
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<(), AccessError> {
        self.session.core(0).map_err(access)?.read(u64::from(addr), buf).map_err(access)
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), AccessError> {
        let mut core = self.session.core(0).map_err(access)?;
        if data.len() == 4 && addr.is_multiple_of(4) {
            let word = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            return core.write_word_32(u64::from(addr), word).map_err(access);
        }
        core.write(u64::from(addr), data).map_err(access)
    }
}
