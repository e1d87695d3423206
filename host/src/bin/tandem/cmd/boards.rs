//! `tandem boards`: the built-in board profiles, one row each, with every limit they apply.

use anyhow::Result;
use tandem_boards::BoardProfile;

/// Lists the built-in boards: RAM, heap, what of it the store's heap account may hold,
/// static buffer and heap-backed linear memory, then
/// the limits every target applies alike (value stack, call depth, fuel per call, module
/// upload, elements per table, modules and instances per session).
pub fn run() -> Result<bool> {
    println!(
        "{:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>10} {:>7} {:>7} {:>5} {:>5}  description",
        "board",
        "RAM",
        "heap",
        "store",
        "static",
        "heapmem",
        "vstack",
        "depth",
        "fuel",
        "module",
        "table",
        "mods",
        "insts"
    );
    let count = |n: Option<u32>| n.map_or("-".into(), |n| n.to_string());
    let kib = |bytes: u64| format!("{}K", bytes / 1024);
    for b in BoardProfile::builtin() {
        let l = &b.limits;
        println!(
            "{:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>10} {:>7} {:>7} {:>5} {:>5}  {}",
            b.name,
            kib(b.memory.map_or(0, |m| m.ram_bytes)),
            kib(b.heap_bytes()),
            b.store_heap_bytes().map_or("-".into(), kib),
            kib(b.static_buffers_total()),
            b.heap_memory_bytes().map_or("-".into(), kib),
            l.value_stack_slots,
            l.max_call_depth,
            l.fuel.map_or("-".into(), |f| f.to_string()),
            kib(u64::from(l.max_module_bytes)),
            count(l.max_table_elements),
            count(l.max_modules),
            count(l.max_instances),
            b.description
        );
    }
    println!(
        "(store: what of the heap the store's account may hold, the rest kept in reserve; \
         vstack: value-stack slots; depth: wasm call depth; fuel: per call; module: largest \
         upload; table: elements per table; mods, insts: modules and instances per session; \
         -: unlimited)"
    );
    Ok(true)
}
