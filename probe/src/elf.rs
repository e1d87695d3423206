//! The firmware ELF: where its RTT control block is, and how much flash and RAM it takes.

use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol};

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read firmware {}: {e}", path.display()))
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<object::File<'a>, String> {
    object::File::parse(bytes).map_err(|e| format!("{} is not an ELF file: {e}", path.display()))
}

/// The address of `symbol` in the ELF at `path`, or a message naming what went wrong.
pub fn symbol_address(path: &Path, symbol: &str) -> Result<u32, String> {
    let bytes = read(path)?;
    let file = parse(path, &bytes)?;
    let sym = file.symbols().find(|s| s.name() == Ok(symbol)).ok_or_else(|| {
        format!("{} has no `{symbol}` symbol (built without the RTT link?)", path.display())
    })?;
    u32::try_from(sym.address())
        .map_err(|_| format!("`{symbol}` at {:#x} is beyond 32-bit memory", sym.address()))
}

/// What a firmware takes of the chip, in bytes, as cortex-m-rt lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// Vector table, code, read-only data and the initial values of `.data`.
    pub flash: u64,
    /// `.data`, `.bss` (heap arena and static buffers included) and `.uninit`; the rest of
    /// the RAM is the stack.
    pub ram: u64,
}

/// The flash and RAM the firmware at `path` takes.
pub fn memory_use(path: &Path) -> Result<MemoryUse, String> {
    let bytes = read(path)?;
    let file = parse(path, &bytes)?;
    let mut used = MemoryUse { flash: 0, ram: 0 };
    for section in file.sections() {
        let size = section.size();
        match section.name() {
            Ok(".vector_table" | ".text" | ".rodata") => used.flash += size,
            Ok(".data") => {
                used.flash += size;
                used.ram += size;
            }
            Ok(".bss" | ".uninit") => used.ram += size,
            _ => {}
        }
    }
    Ok(used)
}
