//! Linking and instantiation: a [`Linker`]'s definitions resolve a module's imports,
//! and [`Linker::instantiate_with`] makes the instance, its memories in static buffers
//! where [`InstanceOptions`] says so.
//!
//! Instantiation follows the Wasm 2.0 order: resolve the imports, allocate the
//! module's entities, initialise tables from the active element segments and
//! memory from the active data segments, then run the start function. Everything
//! that can fail before the instance exists (linking, allocation, a static buffer
//! that is too small) is checked before the store changes, so a failed link leaves
//! no half-made instance behind. A trap while initialising or in the start
//! function happens after the instance is in the store, as the spec has it: the
//! writes of earlier segments to imported tables and memories stay, and the
//! functions they reference stay callable.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{Error, ExternKind, TrapKind};
use crate::heap::{HeapUse, board_bytes};
use crate::module::{
    ConstExpr, DataMode, ElemMode, Import, ImportType, MemoryType, Module, ModuleInner, TableType,
    eval_ops,
};
use crate::raw::memory::LinearMemory;
use crate::store::{
    DataEntity, ElemEntity, Extern, Func, FuncEntity, FuncKind, GlobalEntity, Instance,
    InstanceEntity, Store, TableEntity, alloc_table, store_addr,
};
use crate::typed::IntoHostFunc;
use crate::value::Slot;

/// Definitions for imports, by module and item name.
#[derive(Debug, Clone, Default)]
pub struct Linker {
    /// In the order defined. A list, not a map: a linker holds tens of definitions, looked
    /// up once per import, and a map's code would cost a board 2 KiB of flash.
    defs: Vec<Definition>,
}

/// One definition: `module`.`name` is `ext`.
#[derive(Debug, Clone)]
struct Definition {
    module: Box<str>,
    name: Box<str>,
    ext: Extern,
}

impl Linker {
    /// A linker with no definitions.
    pub fn new() -> Self {
        Linker::default()
    }

    /// Defines `module`.`name` as `ext`, replacing an earlier definition.
    pub fn define(&mut self, module: &str, name: &str, ext: Extern) {
        match self.defs.iter_mut().find(|d| &*d.module == module && &*d.name == name) {
            Some(def) => def.ext = ext,
            None => self.defs.push(Definition { module: module.into(), name: name.into(), ext }),
        }
    }

    /// Makes `f` a typed host function in `store` ([`Store::typed_host_func`]), defines
    /// `module`.`name` as it, and returns it.
    pub fn func_wrap<Signature, F: IntoHostFunc<Signature>>(
        &mut self,
        store: &mut Store,
        module: &str,
        name: &str,
        f: F,
    ) -> Func {
        let func = store.typed_host_func(f);
        self.define(module, name, Extern::Func(func));
        func
    }

    /// Defines every export of `instance` under `module` (wast `register`).
    /// An instance of another store defines nothing.
    pub fn define_instance(&mut self, store: &Store, module: &str, instance: Instance) {
        for (name, ext) in instance.exports(store) {
            self.define(module, name, ext);
        }
    }

    /// The definition of `module`.`name`, if any.
    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.defs.iter().find(|d| &*d.module == module && &*d.name == name).map(|d| d.ext)
    }

    /// Instantiates `module` in `store` with every defined memory on the heap.
    pub fn instantiate(&self, store: &mut Store, module: &Module) -> Result<Instance, Error> {
        self.instantiate_with(store, module, InstanceOptions::new())
    }

    /// Instantiates `module` in `store`: links its imports against this linker's
    /// definitions, allocates its entities (memories in static buffers where
    /// `options` says so), initialises tables and memories, and runs the start
    /// function.
    ///
    /// Link and allocation errors leave the store as it was (but for interned
    /// signatures). A trap (`Error::Trap`) during initialisation or in the start
    /// function leaves the instance in the store with the effects so far, as the
    /// spec requires, but returns no handle to it.
    ///
    /// Static buffers are never lost: one that ends up holding a memory comes back from
    /// [`Store::into_static_buffers`] with it, and one that does not (instantiation failed
    /// first, or a later buffer for the same index replaced it) stays idle in the store and
    /// comes back from there.
    pub fn instantiate_with(
        &self,
        store: &mut Store,
        module: &Module,
        options: InstanceOptions,
    ) -> Result<Instance, Error> {
        let mut statics = options.static_memories;
        // A refusal before the instance is committed gives its charges back; after (a trap
        // in the start function) its entities stay in the store, charged.
        let (held, instances) = (store.heap, store.instances.len());
        let result = self.instantiate_parts(store, module, &mut statics);
        if result.is_err() && store.instances.len() == instances {
            store.heap = held;
        }
        store.park_static_buffers(statics.into_iter().map(|(_, buffer)| buffer));
        result
    }

    /// [`Linker::instantiate_with`]; takes from `statics` the buffers it moves into
    /// memories and leaves the others there.
    fn instantiate_parts(
        &self,
        store: &mut Store,
        module: &Module,
        statics: &mut Vec<(u32, &'static mut [u8])>,
    ) -> Result<Instance, Error> {
        let m: &ModuleInner = &module.inner;
        if let Some(limit) = store.config.max_instances
            && store.instances.len() >= limit as usize
        {
            return Err(Error::InstanceLimit { limit });
        }
        if m.fuel != store.config.fuel {
            return Err(Error::ConfigMismatch { what: "fuel metering" });
        }
        for (index, buffer) in statics.iter() {
            if *index < m.num_imported_memories {
                return Err(Error::NoSuchMemory { memory: *index });
            }
            let ty =
                m.memories.get(*index as usize).ok_or(Error::NoSuchMemory { memory: *index })?;
            LinearMemory::check_static(buffer.len(), ty, *index)?;
        }

        let instance = store_addr(store.instances.len(), "store instances")?;
        // The instance's index spaces, kept; its new entities, held here until they move
        // into the store's vectors (grown, charged, at the commit below).
        let heap = &mut store.heap;
        let what = HeapUse::Instance;
        heap.charge(board_bytes::<u32>(m.types.len()), what)?;
        let mut funcs = Vec::new();
        let mut tables = Vec::new();
        let mut memories = Vec::new();
        let mut globals = Vec::new();
        heap.reserve_exact(&mut funcs, m.funcs.len(), what)?;
        heap.reserve_exact(&mut tables, m.tables.len(), what)?;
        heap.reserve_exact(&mut memories, m.memories.len(), what)?;
        heap.reserve_exact(&mut globals, m.globals.len(), what)?;
        let types: Box<[u32]> = m.types.iter().map(|t| store.intern_type(t)).collect();

        // Imports.
        // Values of the globals so far, for constant expressions.
        let mut global_values: Vec<Slot> = Vec::with_capacity(m.globals.len());
        for import in &m.imports {
            let ext =
                self.get(&import.module, &import.name).ok_or_else(|| Error::UnknownImport {
                    module: import.module.as_ref().into(),
                    name: import.name.as_ref().into(),
                    kind: import.ty.kind(),
                })?;
            match (&import.ty, ext) {
                (ImportType::Func(ty), Extern::Func(f)) => {
                    let entity = store
                        .funcs
                        .get(f.0 as usize)
                        .ok_or_else(|| incompatible(import, FOREIGN))?;
                    if types.get(*ty as usize) != Some(&entity.ty) {
                        return Err(incompatible(import, "function signatures differ"));
                    }
                    funcs.push(f.0);
                }
                (ImportType::Table(ty), Extern::Table(t)) => {
                    let entity = store
                        .tables
                        .get(t.0 as usize)
                        .ok_or_else(|| incompatible(import, FOREIGN))?;
                    check_table_import(ty, entity).map_err(|why| incompatible(import, why))?;
                    tables.push(t.0);
                }
                (ImportType::Memory(ty), Extern::Memory(mem)) => {
                    let entity = store
                        .memories
                        .get(mem.0 as usize)
                        .ok_or_else(|| incompatible(import, FOREIGN))?;
                    check_memory_import(ty, entity).map_err(|why| incompatible(import, why))?;
                    memories.push(mem.0);
                }
                (ImportType::Global(ty), Extern::Global(g)) => {
                    let entity = store
                        .globals
                        .get(g.0 as usize)
                        .ok_or_else(|| incompatible(import, FOREIGN))?;
                    if entity.ty != ty.content {
                        return Err(incompatible(import, "global value types differ"));
                    }
                    if entity.mutable != ty.mutable {
                        return Err(incompatible(import, "global mutability differs"));
                    }
                    globals.push(g.0);
                    global_values.push(entity.value);
                }
                (ty, _) => {
                    let why = match ty.kind() {
                        ExternKind::Func => "the definition is not a function",
                        ExternKind::Table => "the definition is not a table",
                        ExternKind::Memory => "the definition is not a memory",
                        ExternKind::Global => "the definition is not a global",
                    };
                    return Err(incompatible(import, why));
                }
            }
        }
        if funcs.len() != m.num_imported_funcs as usize
            || tables.len() != m.num_imported_tables as usize
            || memories.len() != m.num_imported_memories as usize
            || globals.len() != m.num_imported_globals as usize
        {
            return Err(broken("import counts"));
        }

        // The module's own entities, built apart from the store and added at once
        // below; their addresses are known in advance.
        let defined_func_types = m.funcs.get(funcs.len()..).unwrap_or(&[]);
        let mut new_funcs = Vec::new();
        store.heap.reserve_exact(&mut new_funcs, defined_func_types.len(), what)?;
        for (i, ty) in defined_func_types.iter().enumerate() {
            let ty = *types.get(*ty as usize).ok_or_else(|| broken("function type"))?;
            let index = store_addr(funcs.len(), "module functions")?;
            funcs.push(store_addr(store.funcs.len() + i, "store functions")?);
            new_funcs.push(FuncEntity { ty, kind: FuncKind::Wasm { instance, index } });
        }

        let defined_tables = m.tables.get(tables.len()..).unwrap_or(&[]);
        let mut new_tables = Vec::new();
        store.heap.reserve_exact(&mut new_tables, defined_tables.len(), what)?;
        for (i, ty) in defined_tables.iter().enumerate() {
            tables.push(store_addr(store.tables.len() + i, "store tables")?);
            new_tables.push(alloc_table(ty, 0, store.config.max_table_elements, &mut store.heap)?);
        }

        let defined_globals = m.globals.get(globals.len()..).unwrap_or(&[]);
        if defined_globals.len() != m.global_inits.len() {
            return Err(broken("global initialisers"));
        }
        let mut new_globals = Vec::new();
        store.heap.reserve_exact(&mut new_globals, defined_globals.len(), what)?;
        for (i, (ty, init)) in defined_globals.iter().zip(&m.global_inits).enumerate() {
            let value = eval(*init, m, &global_values, &funcs)?;
            globals.push(store_addr(store.globals.len() + i, "store globals")?);
            global_values.push(value);
            new_globals.push(GlobalEntity { ty: ty.content, mutable: ty.mutable, value });
        }

        let mut elems = Vec::new();
        let mut new_elems = Vec::new();
        store.heap.reserve_exact(&mut elems, m.elems.len(), what)?;
        store.heap.reserve_exact(&mut new_elems, m.elems.len(), what)?;
        for (i, segment) in m.elems.iter().enumerate() {
            // A declared segment is dropped at once: it only declares references.
            let items: Box<[Slot]> = match segment.mode {
                ElemMode::Declared => Box::default(),
                _ => {
                    store.heap.charge(board_bytes::<Slot>(segment.items.len()), what)?;
                    segment
                        .items
                        .iter()
                        .map(|item| eval(*item, m, &global_values, &funcs))
                        .collect::<Result<_, _>>()?
                }
            };
            elems.push(store_addr(store.elems.len() + i, "store element segments")?);
            new_elems.push(ElemEntity { items });
        }

        let mut datas = Vec::new();
        let mut new_datas = Vec::new();
        store.heap.reserve_exact(&mut datas, m.datas.len(), what)?;
        store.heap.reserve_exact(&mut new_datas, m.datas.len(), what)?;
        for (i, segment) in m.datas.iter().enumerate() {
            datas.push(store_addr(store.datas.len() + i, "store data segments")?);
            new_datas.push(DataEntity { bytes: Some(segment.bytes.clone()) });
        }

        // Memories last, after every reservation the commit needs: once a static buffer
        // is in a memory, only a failed heap allocation below can undo it, and that
        // hands the buffer back.
        let defined_memories = m.memories.get(memories.len()..).unwrap_or(&[]);
        // The last buffer given for an index is the one used.
        let static_for = |statics: &[(u32, &'static mut [u8])], index: u32| {
            statics.iter().rposition(|(at, _)| *at == index)
        };
        // The heap-backed ones must fit the budget: checked before any is allocated.
        let first_defined = memories.len();
        let heap_bytes: u64 = defined_memories
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let index = u32::try_from(first_defined + i).unwrap_or(u32::MAX);
                static_for(statics, index).is_none()
            })
            .map(|(_, ty)| ty.bytes(ty.initial))
            .fold(0u64, u64::saturating_add);
        store.check_heap_memory(heap_bytes)?;
        // Commit. Reserving first means an exhausted heap is an error, not an abort.
        let heap = &mut store.heap;
        heap.reserve(&mut store.funcs, new_funcs.len(), what)?;
        heap.reserve(&mut store.tables, new_tables.len(), what)?;
        heap.reserve(&mut store.memories, defined_memories.len(), what)?;
        heap.reserve(&mut store.globals, new_globals.len(), what)?;
        heap.reserve(&mut store.elems, new_elems.len(), what)?;
        heap.reserve(&mut store.datas, new_datas.len(), what)?;
        heap.reserve(&mut store.instances, 1, what)?;
        let mut new_memories = Vec::new();
        heap.reserve_exact(&mut new_memories, defined_memories.len(), what)?;
        heap.charge(heap_bytes, HeapUse::Memory)?;
        for (i, ty) in defined_memories.iter().enumerate() {
            let index = store_addr(memories.len(), "module memories")?;
            memories.push(store_addr(store.memories.len() + i, "store memories")?);
            let memory = match static_for(statics, index) {
                Some(at) => {
                    let (_, buffer) = statics.swap_remove(at);
                    LinearMemory::new_static(buffer, *ty, index)
                }
                None => LinearMemory::new_heap(*ty),
            };
            match memory {
                Ok(memory) => new_memories.push(memory),
                Err(e) => {
                    // Hand the buffers already moved into memories back to the caller's
                    // list; `statics` has room, having held them a moment ago.
                    let back =
                        new_memories.into_iter().filter_map(LinearMemory::into_static_buffer);
                    statics.extend(back.map(|buffer| (u32::MAX, buffer)));
                    return Err(e);
                }
            }
        }
        // The build vectors are freed once their items have moved.
        let moved = board_bytes::<FuncEntity>(new_funcs.capacity())
            + board_bytes::<TableEntity>(new_tables.capacity())
            + board_bytes::<LinearMemory>(new_memories.capacity())
            + board_bytes::<GlobalEntity>(new_globals.capacity())
            + board_bytes::<ElemEntity>(new_elems.capacity())
            + board_bytes::<DataEntity>(new_datas.capacity());
        store.heap.release(moved);
        store.funcs.extend(new_funcs);
        store.tables.extend(new_tables);
        store.memories.extend(new_memories);
        store.heap_memory_bytes = store.heap_memory_bytes.saturating_add(heap_bytes);
        store.globals.extend(new_globals);
        store.elems.extend(new_elems);
        store.datas.extend(new_datas);
        store.instances.push(InstanceEntity {
            module: module.clone(),
            types,
            funcs: funcs.into_boxed_slice(),
            tables: tables.into_boxed_slice(),
            memories: memories.into_boxed_slice(),
            globals: globals.into_boxed_slice(),
            elems: elems.into_boxed_slice(),
            datas: datas.into_boxed_slice(),
        });

        initialize(store, instance, &global_values)?;
        if let Some(start) = m.start {
            let addr = instance_entity(store, instance)?
                .funcs
                .get(start as usize)
                .copied()
                .ok_or_else(|| broken("start function"))?;
            crate::exec::invoke(store, addr, &[], &mut [])?;
        }
        Ok(Instance(instance))
    }
}

/// Per-instantiation choices: which defined memories live in caller-provided
/// static buffers instead of the heap.
#[derive(Default)]
pub struct InstanceOptions {
    static_memories: Vec<(u32, &'static mut [u8])>,
}

impl InstanceOptions {
    /// Every defined memory on the heap.
    pub fn new() -> Self {
        InstanceOptions::default()
    }

    /// Puts the module's memory `memory_index` (in its memory index space, imports
    /// first) in `buffer`: it starts zeroed at its initial size and can grow to
    /// the buffer's whole pages without allocating. Instantiation fails with
    /// [`Error::NoSuchMemory`] if the module does not define that memory, and with
    /// [`Error::StaticBufferTooSmall`] if the buffer is shorter than its initial
    /// size. A second buffer for the same index replaces the first (which the store
    /// keeps idle and gives back; see [`Store::into_static_buffers`]).
    pub fn with_static_memory(mut self, memory_index: u32, buffer: &'static mut [u8]) -> Self {
        // The replaced buffer stays in the list, unused, so the store can give it back.
        self.static_memories.push((memory_index, buffer));
        self
    }
}

impl fmt::Debug for InstanceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The buffers' sizes, not their bytes.
        f.debug_map()
            .entries(self.static_memories.iter().map(|(index, buffer)| (index, buffer.len())))
            .finish()
    }
}

/// Reason for linking a handle of another store.
const FOREIGN: &str = "the definition belongs to another store";

/// A broken internal invariant of a decoded module. Decoding makes these
/// unreachable; they are errors rather than panics all the same.
pub(crate) fn broken(what: &'static str) -> Error {
    Error::Invalid { message: alloc::format!("module invariant broken: {what}"), offset: 0 }
}

fn incompatible(import: &Import, reason: &'static str) -> Error {
    Error::IncompatibleImport {
        module: import.module.as_ref().into(),
        name: import.name.as_ref().into(),
        reason,
    }
}

/// Import matching for tables: same element type, and the table's current size
/// and maximum within the import's limits.
fn check_table_import(ty: &TableType, table: &TableEntity) -> Result<(), &'static str> {
    if table.elem_ty != ty.elem {
        return Err("table element types differ");
    }
    if (table.elems.len() as u64) < u64::from(ty.initial) {
        return Err("table is smaller than the import's minimum");
    }
    check_max(table.max, ty.maximum)
}

/// Import matching for memories: the memory's current size and maximum within
/// the import's limits.
fn check_memory_import(ty: &MemoryType, memory: &LinearMemory) -> Result<(), &'static str> {
    if memory.ty().page_size_log2 != ty.page_size_log2 {
        return Err("memory page sizes differ");
    }
    if memory.size_pages() < ty.initial {
        return Err("memory is smaller than the import's minimum");
    }
    check_max(memory.maximum_pages(), ty.maximum)
}

/// If the import has a maximum, the definition must have one no larger.
fn check_max(actual: Option<u32>, import: Option<u32>) -> Result<(), &'static str> {
    match (actual, import) {
        (_, None) => Ok(()),
        (None, Some(_)) => Err("the import has a maximum size, the definition has none"),
        (Some(actual), Some(import)) if actual > import => {
            Err("the definition's maximum size exceeds the import's")
        }
        (Some(_), Some(_)) => Ok(()),
    }
}

/// Evaluates a constant expression of `m`, given the values of the globals so far and
/// the store addresses of the module's functions.
fn eval(expr: ConstExpr, m: &ModuleInner, globals: &[Slot], funcs: &[u32]) -> Result<Slot, Error> {
    match expr {
        ConstExpr::Extended { start, len } => {
            let ops = m.const_ops.get(start as usize..).and_then(|ops| ops.get(..len as usize));
            ops.and_then(|ops| eval_ops(ops, globals))
                .ok_or_else(|| broken("extended constant expression"))
        }
        ConstExpr::Value(slot) => Ok(slot),
        ConstExpr::Global(g) => {
            globals.get(g as usize).copied().ok_or_else(|| broken("constant expression global"))
        }
        ConstExpr::RefFunc(f) => funcs
            .get(f as usize)
            .map(|&addr| Slot::from(addr) + 1)
            .ok_or_else(|| broken("constant expression function")),
    }
}

fn instance_entity(store: &Store, instance: u32) -> Result<&InstanceEntity, Error> {
    store.instances.get(instance as usize).ok_or_else(|| broken("instance"))
}

/// Copies the active element segments into their tables and the active data
/// segments into memory, in module order, dropping each (and every declared
/// element segment) after use. An out-of-bounds segment traps; the effects of
/// the segments before it stay.
fn initialize(store: &mut Store, instance: u32, global_values: &[Slot]) -> Result<(), Error> {
    let inst = instance_entity(store, instance)?;
    let module = inst.module.clone();
    let m: &ModuleInner = &module.inner;
    // The instance's addresses, copied out so the store can be borrowed mutably.
    let (tables, memories, elems, datas) =
        (inst.tables.clone(), inst.memories.clone(), inst.elems.clone(), inst.datas.clone());

    for (segment, &addr) in m.elems.iter().zip(elems.iter()) {
        let ElemMode::Active { table, offset } = segment.mode else {
            // Passive segments stay; declared ones were created empty.
            continue;
        };
        let entity = store.elems.get_mut(addr as usize).ok_or_else(|| broken("element segment"))?;
        // Dropped after use: take the items out.
        let items = core::mem::take(&mut entity.items);
        let offset = eval(offset, m, global_values, &[])? as u32;
        let table = tables
            .get(table as usize)
            .and_then(|&t| store.tables.get_mut(t as usize))
            .ok_or_else(|| broken("element segment table"))?;
        let dst = range_mut(&mut table.elems, offset, items.len())
            .ok_or(Error::from(TrapKind::TableOutOfBounds))?;
        dst.copy_from_slice(&items);
    }

    for (segment, &addr) in m.datas.iter().zip(datas.iter()) {
        let DataMode::Active { memory, offset } = segment.mode else {
            continue;
        };
        let entity = store.datas.get_mut(addr as usize).ok_or_else(|| broken("data segment"))?;
        let bytes = entity.bytes.take().unwrap_or_default();
        let offset = eval(offset, m, global_values, &[])? as u32;
        let memory = memories
            .get(memory as usize)
            .and_then(|&mem| store.memories.get_mut(mem as usize))
            .ok_or_else(|| broken("data segment memory"))?;
        let dst = range_mut(memory.data_mut(), offset, bytes.len())
            .ok_or(Error::from(TrapKind::MemoryOutOfBounds))?;
        dst.copy_from_slice(&bytes);
    }
    Ok(())
}

/// `data[offset..offset + len]`, or `None` if any of it is out of bounds (with
/// checked arithmetic: `usize` is 32 bits on the board).
fn range_mut<T>(data: &mut [T], offset: u32, len: usize) -> Option<&mut [T]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(len)?;
    data.get_mut(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::value::FuncType;
    use alloc::vec;

    fn module(wat: &str) -> Module {
        Module::new(&Config::new(), &wat::parse_str(wat).unwrap()).unwrap()
    }

    /// Entity counts of every store vector but the types.
    fn counts(s: &Store) -> [usize; 7] {
        [
            s.funcs.len(),
            s.tables.len(),
            s.memories.len(),
            s.globals.len(),
            s.elems.len(),
            s.datas.len(),
            s.instances.len(),
        ]
    }

    const FULL: &str = r#"(module
        (import "env" "f" (func))
        (func $a) (func $b)
        (table 2 funcref)
        (memory 2)
        (global i32 (i32.const 1))
        (elem (i32.const 0) $a)
        (elem func $b)
        (data "x"))"#;

    #[test]
    fn failed_link_leaves_the_store_unchanged() {
        let mut s = Store::new(Config::new().with_limits(64, 8));
        let m = module(FULL);
        let before = counts(&s);
        assert!(matches!(Linker::new().instantiate(&mut s, &m), Err(Error::UnknownImport { .. })));
        assert_eq!(counts(&s), before);

        let mut linker = Linker::new();
        let f = s.host_func(FuncType::new([], []), |_, _, _| Ok(()));
        linker.define("env", "f", Extern::Func(f));
        let before = counts(&s);
        let buffer: &'static mut [u8] =
            Box::leak(vec![0u8; crate::raw::memory::PAGE_SIZE].into_boxed_slice());
        let options = InstanceOptions::new().with_static_memory(0, buffer);
        assert!(matches!(
            linker.instantiate_with(&mut s, &m, options),
            Err(Error::StaticBufferTooSmall { memory: 0, .. })
        ));
        assert_eq!(counts(&s), before);

        let inst = linker.instantiate(&mut s, &m).unwrap();
        assert_eq!(counts(&s), [3, 1, 1, 1, 2, 1, 1]);
        let entity = &s.instances[inst.0 as usize];
        assert_eq!(&*entity.funcs, &[f.0, 1, 2]);
        // The active segment was used and dropped, the passive one kept.
        assert!(s.elems[0].items.is_empty());
        assert_eq!(&*s.elems[1].items, &[3]);
        assert!(s.datas[0].bytes.is_some());
        assert_eq!(s.tables[0].elems, vec![2, 0]);
        assert_eq!(s.globals[0].value, 1);
        assert!(matches!(s.funcs[2].kind, FuncKind::Wasm { instance: 0, index: 2 }));
    }

    #[test]
    fn range_mut_is_checked() {
        let mut data = [0u8; 4];
        assert!(range_mut(&mut data, 4, 0).is_some());
        assert!(range_mut(&mut data, 5, 0).is_none());
        assert!(range_mut(&mut data, 2, 3).is_none());
        assert!(range_mut(&mut data, u32::MAX, usize::MAX).is_none());
    }
}
