//! What programs need from a board: the figures a run measured per file (value stack, call
//! depth, fuel, linear memory, the store's heap account; the allocator's heap and native stack
//! where the target measures them) and the
//! smallest profile limits that run every file, so a board profile is sized from figures
//! rather than guessed (`tandem measure`).

use std::fmt::Write;

use tandem_protocol::MemoryKind;

use crate::report::FileReport;

/// What one file (or, from [`Needs::most`], every file) needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The file, or how many files for [`Needs::most`].
    pub name: String,
    /// Most value-stack slots in use at once.
    pub value_stack_slots: u32,
    /// Deepest wasm call nesting.
    pub call_depth: u32,
    /// Fuel charged over the file: a bound on what its largest call took.
    pub fuel: u64,
    /// Bytes of linear memory in the board's static buffer.
    pub static_bytes: u64,
    /// Bytes of heap-backed linear memory, all instances together.
    pub heap_bytes: u64,
    /// The largest module, where known (`.wasm` programs).
    pub module_bytes: Option<u64>,
    /// The store's heap-account peak, in board bytes: the same on every target.
    pub store_heap: u64,
    /// The board's heap peak (targets that measure it).
    pub heap_peak: Option<u64>,
    /// The board's native stack high-water mark (targets that measure it).
    pub native_stack: Option<u64>,
}

impl Needs {
    /// What `file` needed, from the statistics its run ended with (`None` for a file that
    /// did not run). `module_bytes` is its module's size, if it is a program.
    pub fn of(file: &FileReport, module_bytes: Option<u64>) -> Option<Needs> {
        let stats = file.stats.as_ref()?;
        let bytes =
            |kind| stats.memories.iter().filter(|m| m.kind == kind).map(|m| m.size_bytes).sum();
        Some(Needs {
            name: file.name.clone(),
            value_stack_slots: stats.peak_stack_slots,
            call_depth: stats.peak_call_depth,
            fuel: stats.fuel_consumed,
            static_bytes: bytes(MemoryKind::Static),
            heap_bytes: bytes(MemoryKind::Heap),
            module_bytes,
            store_heap: stats.heap.peak,
            heap_peak: stats.target.heap_peak,
            native_stack: stats.target.native_stack_high_water,
        })
    }

    /// The most of every figure over `all`: what a board must offer to run them all.
    pub fn most(all: &[Needs]) -> Needs {
        let max = |f: fn(&Needs) -> Option<u64>| all.iter().filter_map(f).max();
        Needs {
            name: format!("{} files", all.len()),
            value_stack_slots: all.iter().map(|n| n.value_stack_slots).max().unwrap_or(0),
            call_depth: all.iter().map(|n| n.call_depth).max().unwrap_or(0),
            fuel: all.iter().map(|n| n.fuel).max().unwrap_or(0),
            static_bytes: all.iter().map(|n| n.static_bytes).max().unwrap_or(0),
            heap_bytes: all.iter().map(|n| n.heap_bytes).max().unwrap_or(0),
            module_bytes: max(|n| n.module_bytes),
            store_heap: all.iter().map(|n| n.store_heap).max().unwrap_or(0),
            heap_peak: max(|n| n.heap_peak),
            native_stack: max(|n| n.native_stack),
        }
    }

    /// The header of [`Needs::row`]'s table.
    pub fn header() -> String {
        format!(
            "{:<36} {:>7} {:>6} {:>11} {:>7} {:>6} {:>8} {:>10} {:>9} {:>8}",
            "file",
            "vstack",
            "depth",
            "fuel",
            "static",
            "heap",
            "module",
            "store heap",
            "heap peak",
            "stack"
        )
    }

    /// One row: the figures, `-` where not measured.
    pub fn row(&self) -> String {
        let opt = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
        format!(
            "{:<36} {:>7} {:>6} {:>11} {:>7} {:>6} {:>8} {:>10} {:>9} {:>8}",
            self.name,
            self.value_stack_slots,
            self.call_depth,
            self.fuel,
            self.static_bytes,
            self.heap_bytes,
            opt(self.module_bytes),
            self.store_heap,
            opt(self.heap_peak),
            opt(self.native_stack)
        )
    }

    /// The smallest profile settings that run what was measured, as the lines of a board
    /// profile file (`boards/profiles/*.toml`) with why each is what it is. `spectest`: a
    /// `.wast` file was measured, whose session links spectest's memory (a heap page).
    pub fn profile_lines(&self, spectest: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "[memory]");
        let _ = writeln!(
            out,
            "static_memory_bytes = {}      # memory 0 of the first module",
            self.static_bytes
        );
        let spectest_note =
            if spectest { ", + 64 KiB for spectest's, which .wast files link" } else { "" };
        let _ = writeln!(
            out,
            "heap_memory_bytes = {}        # the other memories{spectest_note}",
            self.heap_bytes + if spectest { 65_536 } else { 0 }
        );
        // The store's account may hold seven eighths of the arena (the rest is the reserve).
        let for_store = self.store_heap.div_ceil(7) * 8;
        let _ = writeln!(
            out,
            "heap_bytes >= {for_store}         # the store's heap peak ({}) and the reserve",
            self.store_heap
        );
        if let Some(peak) = self.heap_peak {
            let _ = writeln!(out, "heap_bytes >= {peak}         # the board's heap peak");
        }
        let _ = writeln!(out, "[limits]");
        let _ = writeln!(out, "value_stack_slots = {}", self.value_stack_slots.max(1));
        let _ = writeln!(out, "max_call_depth = {}", self.call_depth.max(1));
        let _ =
            writeln!(out, "fuel >= {}                  # per call; this is per file", self.fuel);
        if let Some(bytes) = self.module_bytes {
            let _ = writeln!(out, "max_module_bytes = {bytes}");
        }
        out
    }
}
