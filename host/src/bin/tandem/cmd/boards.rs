//! `tandem boards`: the built-in board profiles, one row each.

use anyhow::Result;
use tandem_boards::BoardProfile;

/// Lists the built-in boards with their RAM, heap, static buffer and limits.
pub fn run() -> Result<bool> {
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>7} {:>7}  description",
        "board", "RAM", "heap", "static", "vstack", "depth"
    );
    for b in BoardProfile::builtin() {
        let ram = b.memory.map_or(0, |m| m.ram_bytes);
        println!(
            "{:<18} {:>8}K {:>8}K {:>8}K {:>7} {:>7}  {}",
            b.name,
            ram / 1024,
            b.heap_bytes() / 1024,
            b.static_memory_bytes() / 1024,
            b.limits.value_stack_slots,
            b.limits.max_call_depth,
            b.description
        );
    }
    Ok(true)
}
