//! The firmware ELF: where its RTT control block is.

use std::path::Path;

use object::{Object, ObjectSymbol};

/// The address of `symbol` in the ELF at `path`, or a message naming what went wrong.
pub fn symbol_address(path: &Path, symbol: &str) -> Result<u32, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read firmware {}: {e}", path.display()))?;
    let file = object::File::parse(&*bytes)
        .map_err(|e| format!("{} is not an ELF file: {e}", path.display()))?;
    let sym = file.symbols().find(|s| s.name() == Ok(symbol)).ok_or_else(|| {
        format!("{} has no `{symbol}` symbol (built without the RTT link?)", path.display())
    })?;
    u32::try_from(sym.address())
        .map_err(|_| format!("`{symbol}` at {:#x} is beyond 32-bit memory", sym.address()))
}
