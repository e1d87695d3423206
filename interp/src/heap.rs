//! The heap account: what a store holds on the heap, counted in the bytes a 32-bit board
//! allocates for it, and checked against `Config::max_heap` before it is allocated.
//!
//! A board's heap is one arena for everything: the stores' stacks, translated code,
//! instances, tables and heap-backed memories. The account charges each of them before the
//! allocation is made, in board units ([`BoardSize`]), growing vectors by the same doubling
//! on every target, so the simulator with a board's profile refuses the same allocation, at
//! the same directive, as the board does, and neither aborts: a refusal is
//! [`Error::HeapExhausted`] (or -1 from a `grow`). The firmware sets the limit below its
//! arena by a reserve for what the account does not see (the validator's scratch while a
//! module is read, and the allocator's own overhead), so the arena itself never runs dry
//! first.

#[cfg(feature = "wasm")]
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::error::Error;

/// What asked for heap: how a refusal names its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapUse {
    /// The store's value stack and call-frame stack, allocated when it is made.
    Stacks,
    /// A task's own stacks ([`Store::new_task`](crate::Store::new_task)).
    Task,
    /// The module's sections (types, imports, exports, segments) as they are decoded.
    Module,
    /// A section or function body of a module arriving in parts, held until it is complete.
    Arriving,
    /// Translating the function of this index (imports first) into internal code.
    Function(u32),
    /// An instance: its index spaces, functions, globals, segments and tables.
    Instance,
    /// A table made or grown.
    Table,
    /// A heap-backed linear memory made or grown.
    Memory,
    /// A host function.
    HostFunc,
    /// Something the embedder charges itself (a host module's state).
    Embedder(&'static str),
}

impl fmt::Display for HeapUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapUse::Stacks => f.write_str("allocating the store's stacks"),
            HeapUse::Task => f.write_str("allocating a task's stacks"),
            HeapUse::Module => f.write_str("decoding the module"),
            HeapUse::Arriving => f.write_str("holding the module's next section as it arrives"),
            HeapUse::Function(index) => write!(f, "translating function {index}"),
            HeapUse::Instance => f.write_str("instantiating the module"),
            HeapUse::Table => f.write_str("a table"),
            HeapUse::Memory => f.write_str("a linear memory"),
            HeapUse::HostFunc => f.write_str("a host function"),
            HeapUse::Embedder(what) => f.write_str(what),
        }
    }
}

/// The heap account's figures, in board bytes: the same on a 64-bit host and a 32-bit board.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes charged now.
    pub in_use: u64,
    /// Most bytes charged at once, including a vector's old and new buffers while it grows.
    pub peak: u64,
    /// `Config::max_heap`, if any.
    pub limit: Option<u64>,
}

/// The account itself: a few integers, copied into a module's decoder and back so that a
/// failed load leaves the store's account as it was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeapAccount {
    limit: Option<u64>,
    in_use: u64,
    peak: u64,
    /// Tests: the charge of this number (counting from 0) fails, to reach every refusal.
    #[cfg(test)]
    pub fail_at: Option<u32>,
    #[cfg(test)]
    pub charges: u32,
}

impl HeapAccount {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        HeapAccount { limit, ..HeapAccount::default() }
    }

    pub(crate) fn stats(&self) -> HeapStats {
        HeapStats { in_use: self.in_use, peak: self.peak, limit: self.limit }
    }

    /// Whether `bytes` more fit now; `transient` bytes are held besides them for a moment
    /// (a vector's old buffer while it moves), counted in the peak but not kept. Not
    /// inlined: one copy serves every vector type's growth (on the board each copy cost
    /// about 150 bytes of flash).
    #[inline(never)]
    fn check(&mut self, bytes: u64, transient: u64, what: HeapUse) -> Result<(), Error> {
        let needed = bytes.saturating_add(transient);
        #[cfg(test)]
        {
            let n = self.charges;
            self.charges += 1;
            if self.fail_at == Some(n) {
                return Err(self.refusal(needed, what));
            }
        }
        let at_most = self.in_use.saturating_add(needed);
        match self.limit {
            Some(limit) if at_most > limit => Err(self.refusal(needed, what)),
            _ => {
                self.peak = self.peak.max(at_most);
                Ok(())
            }
        }
    }

    fn refusal(&self, needed: u64, what: HeapUse) -> Error {
        let limit = self.limit.unwrap_or(u64::MAX);
        Error::HeapExhausted { what, needed, free: limit.saturating_sub(self.in_use), limit }
    }

    /// Charges `bytes`, or refuses them past the limit (charging nothing).
    pub(crate) fn charge(&mut self, bytes: u64, what: HeapUse) -> Result<(), Error> {
        self.check(bytes, 0, what)?;
        self.in_use += bytes;
        Ok(())
    }

    /// Charges `bytes` whatever the limit: for what is already allocated and cannot fail
    /// (the stacks of an infallible `Store::new`).
    pub(crate) fn charge_unchecked(&mut self, bytes: u64) {
        self.in_use = self.in_use.saturating_add(bytes);
        self.peak = self.peak.max(self.in_use);
    }

    /// Charges `added` bytes for a buffer of `held` bytes that grows by moving (a heap
    /// memory's, a table's): both are held for a moment.
    pub(crate) fn charge_growth(
        &mut self,
        held: u64,
        added: u64,
        what: HeapUse,
    ) -> Result<(), Error> {
        self.check(added, held, what)?;
        self.in_use += added;
        Ok(())
    }

    /// Gives back `bytes` charged before.
    pub(crate) fn release(&mut self, bytes: u64) {
        self.in_use = self.in_use.saturating_sub(bytes);
    }

    /// Makes room in `v` for `additional` more items, charged: the capacity doubles (at
    /// least 4), like std's, but on every target alike, and a refusal or a failed
    /// allocation is an error, never an abort.
    #[inline]
    pub(crate) fn reserve<T: BoardSize>(
        &mut self,
        v: &mut Vec<T>,
        additional: usize,
        what: HeapUse,
    ) -> Result<(), Error> {
        let needed = v.len().saturating_add(additional);
        if needed <= v.capacity() {
            return Ok(());
        }
        let grown = v.capacity().saturating_mul(2).max(needed).max(4);
        self.reserve_exact_to(v, grown, what)
    }

    /// Makes room in `v` for one more item while translating input of `total` bytes, of
    /// which `done` have produced its items so far. Past the first eighth of the input the
    /// capacity becomes the projection of the whole at the rate so far, and an eighth more:
    /// a module's code is then mostly allocated once. Doubling to the end would hold the
    /// old buffer beside one twice its size, up to three times the code at once.
    #[cfg(feature = "wasm")]
    #[inline]
    pub(crate) fn reserve_projected<T: BoardSize>(
        &mut self,
        v: &mut Vec<T>,
        done: usize,
        total: usize,
        what: HeapUse,
    ) -> Result<(), Error> {
        if v.len() < v.capacity() {
            return Ok(());
        }
        self.grow_projected(v, done, total, what)
    }

    /// [`HeapAccount::reserve_projected`] when `v` is full.
    #[cfg(feature = "wasm")]
    #[inline(never)]
    fn grow_projected<T: BoardSize>(
        &mut self,
        v: &mut Vec<T>,
        done: usize,
        total: usize,
        what: HeapUse,
    ) -> Result<(), Error> {
        if done == 0 || done.saturating_mul(8) < total {
            return self.reserve(v, 1, what);
        }
        let needed = v.len() as u64 + 1;
        let projected = needed.saturating_mul(total as u64) / done as u64;
        let capacity = (projected + projected / 8).max(needed + needed / 8);
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        self.reserve_exact_to(v, capacity, what)
    }

    /// Makes room in `v` for exactly `additional` more items, charged.
    pub(crate) fn reserve_exact<T: BoardSize>(
        &mut self,
        v: &mut Vec<T>,
        additional: usize,
        what: HeapUse,
    ) -> Result<(), Error> {
        let needed = v.len().saturating_add(additional);
        if needed <= v.capacity() {
            return Ok(());
        }
        self.reserve_exact_to(v, needed, what)
    }

    fn reserve_exact_to<T: BoardSize>(
        &mut self,
        v: &mut Vec<T>,
        capacity: usize,
        what: HeapUse,
    ) -> Result<(), Error> {
        let old = board_bytes::<T>(v.capacity());
        let new = board_bytes::<T>(capacity);
        // The old buffer stays until its items have moved to the new one.
        self.check(new - old, old, what)?;
        v.try_reserve_exact(capacity - v.len())
            .map_err(|_| Error::OutOfMemory { bytes: board_bytes::<T>(capacity) })?;
        self.in_use += new - old;
        Ok(())
    }

    /// Pushes `item`, growing `v` charged ([`HeapAccount::reserve`]).
    #[cfg(feature = "wasm")]
    #[inline]
    pub(crate) fn push<T: BoardSize>(
        &mut self,
        v: &mut Vec<T>,
        item: T,
        what: HeapUse,
    ) -> Result<(), Error> {
        self.reserve(v, 1, what)?;
        v.push(item);
        Ok(())
    }

    /// Trims `v` to its length, giving back the rest.
    #[cfg(feature = "wasm")]
    pub(crate) fn shrink<T: BoardSize>(&mut self, v: &mut Vec<T>) {
        self.release(board_bytes::<T>(v.capacity() - v.len()));
        v.shrink_to_fit();
    }

    /// `v`'s items as a boxed slice, charged for exactly its length (the vector's slack is
    /// given back).
    #[cfg(feature = "wasm")]
    pub(crate) fn boxed<T: BoardSize>(&mut self, mut v: Vec<T>) -> Box<[T]> {
        self.shrink(&mut v);
        v.into_boxed_slice()
    }
}

/// `count` items of `T` in board bytes.
pub(crate) fn board_bytes<T: BoardSize>(count: usize) -> u64 {
    (count as u64).saturating_mul(T::BYTES)
}

/// A type's size on a 32-bit board, where the heap account counts it: the same figure on
/// every target, checked against `size_of` wherever the core is built for 32-bit Arm (a
/// 32-bit x86 aligns `u64` to 4, so its sizes differ and are not checked).
pub(crate) trait BoardSize {
    const BYTES: u64;
}

/// Declares board sizes; a 32-bit Arm build checks each against the type's real size.
macro_rules! board_sizes {
    ($($ty:ty = $bytes:expr;)*) => {$(
        impl $crate::heap::BoardSize for $ty {
            const BYTES: u64 = $bytes;
        }
        #[cfg(all(target_arch = "arm", target_pointer_width = "32"))]
        const _: () = assert!(core::mem::size_of::<$ty>() as u64 == $bytes);
    )*};
}
#[cfg(feature = "wasm")]
pub(crate) use board_sizes;

board_sizes! {
    u8 = 1;
    u16 = 2;
    u32 = 4;
    u64 = 8;
    usize = 4;
    crate::ir::Instr = 12;
    crate::store::CallFrame = 12;
    crate::value::Value = 16;
    crate::value::FuncType = 16;
    crate::module::Import = 36;
    crate::module::Export = 16;
    crate::module::FuncHeader = 20;
    crate::module::TableType = 16;
    crate::module::MemoryType = 16;
    crate::module::GlobalType = 2;
    crate::module::ConstExpr = 16;
    crate::module::ConstOp = 16;
    crate::module::ElemSegment = 40;
    crate::module::DataSegment = 40;
    crate::store::FuncEntity = 16;
    crate::store::TableEntity = 28;
    crate::store::GlobalEntity = 16;
    crate::store::ElemEntity = 8;
    crate::store::DataEntity = 12;
    crate::store::InstanceEntity = 60;
    crate::task::TaskEntity = 52;
    crate::raw::memory::LinearMemory = 24;
    crate::module::ModuleInner = 204;
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec::Vec;

    use super::*;
    use crate::{Config, Linker, Store, Value};

    /// A module with a bit of everything the account charges: types, imports, exports,
    /// functions, a table with a segment, a heap memory with data, globals, and exports that
    /// grow the table and the memory.
    const EVERYTHING: &str = r#"(module
        (import "env" "g" (global i32))
        (table 4 funcref)
        (memory 1)
        (global $n (mut i32) (i32.const 7))
        (elem (i32.const 0) $sum $grow_table)
        (data (i32.const 8) "hello")
        (func $sum (export "sum") (param i32) (result i32)
          (block (loop
            (br_if 1 (i32.eqz (local.get 0)))
            (global.set $n (i32.add (global.get $n) (local.get 0)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br 0)))
          (global.get $n))
        (func $grow_table (export "grow_table") (result i32)
          (table.grow (ref.null func) (i32.const 100)))
        (func (export "grow_memory") (result i32) (memory.grow (i32.const 1)))
        (func (export "grow0") (result i32) (memory.grow (i32.const 0))))"#;

    /// A module of `count` exported functions; function `i` adds 1 to its argument `adds(i)`
    /// times.
    fn adders(count: usize, adds: impl Fn(usize) -> usize) -> Vec<u8> {
        let funcs: alloc::string::String = (0..count)
            .map(|i| {
                let body = "(i32.const 1) (i32.add)".repeat(adds(i));
                format!("(func (export \"f{i}\") (param i32) (result i32) (local.get 0) {body})")
            })
            .collect();
        wat::parse_str(format!("(module {funcs})")).unwrap()
    }

    fn store(limit: Option<u64>) -> Store {
        Store::try_new(Config::new().with_limits(256, 16).with_heap_limit(limit)).unwrap()
    }

    /// Loads, instantiates and runs `EVERYTHING`, as far as the account lets it.
    fn run(store: &mut Store, wasm: &[u8]) -> Result<[i32; 3], Error> {
        let module = store.load_module(wasm)?;
        let mut linker = Linker::new();
        let g = store.new_global(
            crate::GlobalType { content: crate::ValType::I32, mutable: false },
            Value::I32(1),
        )?;
        linker.define("env", "g", crate::Extern::Global(g));
        let instance = linker.instantiate(store, &module)?;
        let sum = instance.typed_func::<i32, i32>(store, "sum")?.call(store, 10)?;
        let table = instance.typed_func::<(), i32>(store, "grow_table")?.call(store, ())?;
        let memory = instance.typed_func::<(), i32>(store, "grow_memory")?.call(store, ())?;
        Ok([sum, table, memory])
    }

    #[test]
    fn growth_doubles_and_a_refusal_charges_nothing() {
        let mut heap = HeapAccount::new(Some(100));
        let mut v: Vec<u64> = Vec::new();
        heap.push(&mut v, 1, HeapUse::Module).unwrap();
        assert_eq!((v.capacity(), heap.stats().in_use), (4, 32));
        for i in 0..4 {
            heap.push(&mut v, i, HeapUse::Module).unwrap_or_else(|e| panic!("{e}"));
        }
        // 4 -> 8 slots: 64 bytes kept, but 32 + 64 held while they move.
        assert_eq!((v.capacity(), heap.stats().in_use, heap.stats().peak), (8, 64, 96));
        for i in 0..3 {
            heap.push(&mut v, i, HeapUse::Module).unwrap();
        }
        // 8 -> 16 slots needs 128 more bytes (with the old 64 held): refused.
        let err = heap.push(&mut v, 9, HeapUse::Function(3)).unwrap_err();
        assert_eq!(
            format!("{err}"),
            "out of memory: translating function 3 needs 128 bytes, 36 of the 100-byte heap free"
        );
        assert_eq!((v.len(), v.capacity(), heap.stats().in_use), (8, 8, 64));
        heap.shrink(&mut v);
        heap.release(64);
        assert_eq!(heap.stats().in_use, 0);
    }

    #[test]
    fn code_grows_by_doubling_then_to_its_projected_whole() {
        let mut heap = HeapAccount::new(None);
        let mut v: Vec<u32> = Vec::new();
        // 1 item per 10 input bytes of 10,000: doubling through the first eighth...
        for i in 0..125 {
            heap.reserve_projected(&mut v, i * 10, 10_000, HeapUse::Module).unwrap();
            v.push(0);
        }
        assert_eq!(v.capacity(), 128);
        for i in 125..128 {
            heap.reserve_projected(&mut v, i * 10, 10_000, HeapUse::Module).unwrap();
            v.push(0);
        }
        // ...then, full at 1,280 bytes, the whole projected (1,000) and an eighth.
        heap.reserve_projected(&mut v, 1_280, 10_000, HeapUse::Module).unwrap();
        assert_eq!(v.capacity(), 129 * 10_000 / 1_280 * 9 / 8);
        while v.len() < 1_000 {
            let done = v.len() * 10;
            heap.reserve_projected(&mut v, done, 10_000, HeapUse::Module).unwrap();
            v.push(0);
        }
        assert_eq!(v.capacity(), 1_132, "no second move at this rate");
        assert_eq!(heap.stats().peak, 4 * (128 + 1_132));
    }

    #[test]
    fn a_module_load_peaks_near_what_it_keeps() {
        // Functions of growing size: the rate of code per byte varies along the section.
        let wasm = adders(200, |i| 5 + i % 40);
        let mut store = store(None);
        let before = store.heap_stats().in_use;
        store.load_module(&wasm).unwrap();
        let kept = store.heap_stats().in_use - before;
        let peak = store.heap_stats().peak - before;
        // Doubling to the end held up to 3x the code (2.2x here); grown by projection, the
        // code's projection, its eighth more and the buffer it replaces: about 1.3x.
        assert!(peak * 10 < kept * 14, "a load of {kept} bytes peaked at {peak}");
    }

    #[test]
    fn the_stacks_are_charged_in_board_bytes() {
        // 256 slots of 8 bytes and 16 frames of 12, whatever the host's pointer width.
        assert_eq!(store(None).heap_stats().in_use, 256 * 8 + 16 * 12);
        let err = Store::try_new(Config::new().with_limits(256, 16).with_heap_limit(Some(2000)))
            .err()
            .unwrap();
        assert_eq!(
            format!("{err}"),
            "out of memory: allocating the store's stacks needs 2240 bytes, 2000 of the 2000-byte heap free"
        );
    }

    #[test]
    fn a_module_too_big_for_the_heap_names_the_function_and_leaves_the_account_as_it_was() {
        let wasm = adders(64, |_| 20);
        let mut unlimited = store(None);
        let before = unlimited.heap_stats().in_use;
        unlimited.load_module(&wasm).unwrap();
        let module_bytes = unlimited.heap_stats().in_use - before;

        let mut small = store(Some(before + module_bytes / 2));
        let err = small.load_module(&wasm).unwrap_err();
        assert!(
            matches!(err, Error::HeapExhausted { what: HeapUse::Function(f), .. } if f > 0),
            "{err}"
        );
        assert_eq!(small.heap_stats().in_use, before, "a refused load gives its charges back");

        // Exactly enough for the module (and its peak while building): it loads.
        let peak = unlimited.heap_stats().peak;
        let mut enough = store(Some(peak));
        enough.load_module(&wasm).unwrap();
        assert_eq!(enough.heap_stats().in_use, before + module_bytes);
        let mut one_short = store(Some(peak - 1));
        assert!(one_short.load_module(&wasm).is_err());
    }

    #[test]
    fn failing_every_charge_in_turn_is_an_error_or_minus_one_never_a_panic() {
        let wasm = wat::parse_str(EVERYTHING).unwrap();
        let mut reference = store(None);
        assert_eq!(run(&mut reference, &wasm).unwrap(), [62, 4, 1]);
        let (first, charges) = (store(None).heap.charges, reference.heap.charges);
        assert!(charges - first > 30, "only {} charges", charges - first);
        for n in first..charges {
            let mut s = store(None);
            s.heap.fail_at = Some(n);
            match run(&mut s, &wasm) {
                // A refused grow is wasm's -1, not an error.
                Ok(results) => {
                    assert!(
                        results[1] == -1 || results[2] == -1,
                        "charge {n} of {charges}: {results:?}"
                    )
                }
                Err(Error::HeapExhausted { .. }) => {}
                Err(e) => panic!("charge {n}: {e}"),
            }
            // What failed gave its charge back: the store still loads and runs the module.
            let in_use = s.heap_stats().in_use;
            assert!(in_use <= reference.heap_stats().in_use, "charge {n} leaked");
            s.heap.fail_at = None;
            assert_eq!(run(&mut s, &wasm).unwrap()[0], 62, "after charge {n}");
        }
    }

    #[test]
    fn grows_are_refused_by_the_heap_account() {
        let wasm = wat::parse_str(EVERYTHING).unwrap();
        let mut reference = store(None);
        run(&mut reference, &wasm).unwrap();
        let all = reference.heap_stats().peak;
        // A heap short of the memory's second page (held with the first while it moves):
        // the table grows, the memory does not.
        let mut s = store(Some(all - 1));
        assert_eq!(run(&mut s, &wasm).unwrap(), [62, 4, -1]);
        assert_eq!(s.stats().grow_refusals, 1);
    }

    #[test]
    fn growing_a_memory_by_nothing_needs_no_room() {
        let wasm = wat::parse_str(
            r#"(module (memory 2) (func (export "grow0") (result i32) (memory.grow (i32.const 0))))"#,
        )
        .unwrap();
        let mut reference = store(None);
        let module = reference.load_module(&wasm).unwrap();
        Linker::new().instantiate(&mut reference, &module).unwrap();
        // Just enough for the module and its memory: not for a second copy of the memory.
        let mut s = store(reference.heap_stats().peak.into());
        let module = s.load_module(&wasm).unwrap();
        let instance = Linker::new().instantiate(&mut s, &module).unwrap();
        let grow0 = instance.typed_func::<(), i32>(&s, "grow0").unwrap();
        assert_eq!(grow0.call(&mut s, ()).unwrap(), 2);
    }
}
