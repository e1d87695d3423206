//! Board profiles: what a board has (RAM, flash, heap, static linear memory) and the limits
//! Tandem applies on it (value stack, call depth, fuel, module size).
//!
//! The profiles are data files, `boards/profiles/*.toml`, embedded here so the host binary
//! knows every built-in board. The host's simulator applies a profile's limits exactly as the
//! firmware does, and the firmware's build script sizes its heap arena and static buffer from
//! the same file, so a module that exhausts memory on the board exhausts it in the simulator.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// A WebAssembly page: 64 KiB.
pub const PAGE_BYTES: u64 = 65_536;

/// The built-in profiles: (file name, contents).
const BUILTIN: &[(&str, &str)] = &[
    ("qemu-mps2-an386.toml", include_str!("../profiles/qemu-mps2-an386.toml")),
    ("nrf52840-dk.toml", include_str!("../profiles/nrf52840-dk.toml")),
    ("ek-ra6m3.toml", include_str!("../profiles/ek-ra6m3.toml")),
    ("nucleo-f429zi.toml", include_str!("../profiles/nucleo-f429zi.toml")),
];

/// The board CI runs on (QEMU), and the default of the `qemu` target.
pub const DEFAULT_BOARD: &str = "qemu-mps2-an386";

/// One board profile, as its TOML file spells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// The name `--board` takes, e.g. `nrf52840-dk`.
    pub name: String,
    pub description: String,
    /// The probe-rs chip name, for boards flashed through a debug probe.
    #[serde(default)]
    pub chip: Option<String>,
    /// The firmware's board-support feature, for boards it has support for.
    #[serde(default)]
    pub firmware: Option<String>,
    /// The Rust target the firmware is built for.
    pub target: String,
    pub memory: BoardMemory,
    pub limits: BoardLimits,
    /// The file a profile given by path came from (`None` for built-in ones), so a
    /// firmware build can be pointed at the same file.
    #[serde(skip)]
    pub origin: Option<String>,
}

/// Where a board's RAM goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardMemory {
    /// All RAM the firmware may use.
    pub ram_bytes: u64,
    pub flash_bytes: u64,
    /// The heap arena (modules, instances, value stack, heap-backed linear memory).
    pub heap_bytes: u64,
    /// Pages of the static buffer in `.bss` that backs memory 0 of the first module.
    pub static_memory_pages: u32,
    /// Pages of heap-backed linear memory allowed, all instances together.
    pub heap_memory_pages: u32,
}

/// The limits every target applies alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardLimits {
    /// Value-stack size in 64-bit slots.
    pub value_stack_slots: u32,
    pub max_call_depth: u32,
    /// Fuel per invocation and instantiation; absent means unmetered.
    #[serde(default)]
    pub fuel: Option<u64>,
    /// The largest module upload accepted.
    pub max_module_bytes: u32,
}

/// Why a profile could not be found or used.
#[derive(Debug)]
pub enum BoardError {
    /// Neither a built-in board nor a readable `.toml` file.
    Unknown { name: String, known: Vec<String> },
    /// The file could not be read.
    Io { path: String, source: std::io::Error },
    /// The TOML does not describe a profile.
    Parse { origin: String, message: String },
    /// The numbers do not add up (e.g. more memory than the board has).
    Inconsistent { board: String, message: String },
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardError::Unknown { name, known } => write!(
                f,
                "unknown board `{name}` (built-in boards: {}; or give a path to a .toml profile)",
                known.join(", ")
            ),
            BoardError::Io { path, source } => {
                write!(f, "cannot read board profile {path}: {source}")
            }
            BoardError::Parse { origin, message } => {
                write!(f, "board profile {origin} is not valid: {message}")
            }
            BoardError::Inconsistent { board, message } => {
                write!(f, "board profile `{board}` is inconsistent: {message}")
            }
        }
    }
}

impl std::error::Error for BoardError {}

impl Board {
    /// Parses and checks a profile; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Board, BoardError> {
        let board: Board = toml::from_str(text)
            .map_err(|e| BoardError::Parse { origin: origin.to_owned(), message: e.to_string() })?;
        board.check()?;
        Ok(board)
    }

    /// Every built-in board, in a fixed order (the CI board first).
    pub fn builtin() -> Vec<Board> {
        BUILTIN
            .iter()
            .map(|(file, text)| {
                // Checked by this crate's tests, so a broken built-in never ships.
                Board::from_toml(text, file).unwrap_or_else(|e| panic!("built-in profile: {e}"))
            })
            .collect()
    }

    /// A built-in board by name, or a profile file by path (anything ending in `.toml`).
    pub fn find(name: &str) -> Result<Board, BoardError> {
        if name.ends_with(".toml") {
            let text = std::fs::read_to_string(Path::new(name))
                .map_err(|source| BoardError::Io { path: name.to_owned(), source })?;
            let mut board = Board::from_toml(&text, name)?;
            // Absolute, so a build run from another directory finds it too.
            let path = std::fs::canonicalize(name).unwrap_or_else(|_| name.into());
            board.origin = Some(path.display().to_string());
            return Ok(board);
        }
        let boards = Board::builtin();
        match boards.iter().position(|b| b.name == name) {
            Some(i) => Ok(boards.into_iter().nth(i).expect("position is in range")),
            None => Err(BoardError::Unknown {
                name: name.to_owned(),
                known: boards.into_iter().map(|b| b.name).collect(),
            }),
        }
    }

    /// Bytes of the static linear-memory buffer.
    pub fn static_memory_bytes(&self) -> u64 {
        u64::from(self.memory.static_memory_pages) * PAGE_BYTES
    }

    /// Bytes of heap-backed linear memory allowed.
    pub fn heap_memory_bytes(&self) -> u64 {
        u64::from(self.memory.heap_memory_pages) * PAGE_BYTES
    }

    fn check(&self) -> Result<(), BoardError> {
        let fail =
            |message: String| Err(BoardError::Inconsistent { board: self.name.clone(), message });
        let m = &self.memory;
        let l = &self.limits;
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return fail(format!("name `{}` must be letters, digits and '-'", self.name));
        }
        let fixed = m.heap_bytes + self.static_memory_bytes();
        if fixed > m.ram_bytes {
            return fail(format!(
                "heap ({} B) + static memory ({} B) = {fixed} B exceeds the board's RAM ({} B)",
                m.heap_bytes,
                self.static_memory_bytes(),
                m.ram_bytes
            ));
        }
        let value_stack = u64::from(l.value_stack_slots) * 8;
        let needed = self.heap_memory_bytes() + value_stack + u64::from(l.max_module_bytes);
        if needed > m.heap_bytes {
            return fail(format!(
                "heap-backed linear memory ({} B) + value stack ({value_stack} B) + one module \
                 upload ({} B) = {needed} B exceeds the heap ({} B)",
                self.heap_memory_bytes(),
                l.max_module_bytes,
                m.heap_bytes
            ));
        }
        if l.value_stack_slots == 0 || l.max_call_depth == 0 {
            return fail("value_stack_slots and max_call_depth must be at least 1".into());
        }
        if l.fuel == Some(0) {
            return fail("fuel = 0 would trap every call; leave it out for no metering".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_parse_and_are_consistent() {
        let boards = Board::builtin();
        let names: Vec<_> = boards.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, [DEFAULT_BOARD, "nrf52840-dk", "ek-ra6m3", "nucleo-f429zi"]);
        for (board, (file, _)) in boards.iter().zip(BUILTIN) {
            assert_eq!(format!("{}.toml", board.name), *file, "file name matches the name");
        }
        let ra = Board::find("ek-ra6m3").expect("built-in");
        assert_eq!(ra.memory.ram_bytes, 640 * 1024);
        assert_eq!(ra.chip.as_deref(), Some("R7FA6M3AH"));
    }

    #[test]
    fn unknown_board_lists_the_known_ones() {
        let err = Board::find("nrf9999").expect_err("unknown").to_string();
        assert!(err.contains("nrf9999") && err.contains("nrf52840-dk"), "{err}");
        let err = Board::find("/nonexistent/board.toml").expect_err("missing").to_string();
        assert!(err.contains("/nonexistent/board.toml"), "{err}");
    }

    #[test]
    fn inconsistent_or_malformed_profiles_are_refused() {
        let (_, text) = BUILTIN[1];
        let too_much = text.replace("static_memory_pages = 1", "static_memory_pages = 3");
        let err = Board::from_toml(&too_much, "t.toml").expect_err("over RAM").to_string();
        assert!(err.contains("exceeds the board's RAM"), "{err}");
        let typo = text.replace("max_call_depth", "max_call_dept");
        let err = Board::from_toml(&typo, "t.toml").expect_err("typo").to_string();
        assert!(err.contains("t.toml"), "{err}");
    }
}
