//! An instance's exports, by name and kind, as store handles: what the embedder calls
//! and reads after instantiation.

use alloc::vec::Vec;

use crate::error::{Error, ExternKind};
use crate::linker::broken;
use crate::raw::memory::{LinearMemory, MemStats};
use crate::store::{Extern, Func, Global, Instance, InstanceEntity, Memory, Store, Table};
use crate::typed::{TypedFunc, WasmTyList};

impl Instance {
    /// The export `name`, or `None` if there is none (or the instance belongs to
    /// another store).
    pub fn export(&self, store: &Store, name: &str) -> Option<Extern> {
        let inst = store.instances.get(self.0 as usize)?;
        let export = inst.module.inner.exports.iter().find(|e| &*e.name == name)?;
        resolve_export(inst, export.kind, export.index)
    }

    /// Every export, in the module's order.
    pub fn exports<'a>(
        &self,
        store: &'a Store,
    ) -> impl Iterator<Item = (&'a str, Extern)> + use<'a> {
        store.instances.get(self.0 as usize).into_iter().flat_map(|inst| {
            inst.module.inner.exports.iter().filter_map(move |e| {
                resolve_export(inst, e.kind, e.index).map(|ext| (&*e.name, ext))
            })
        })
    }

    /// The exported function `name`.
    pub fn func(&self, store: &Store, name: &str) -> Result<Func, Error> {
        match self.typed_export(store, name, ExternKind::Func)? {
            Extern::Func(f) => Ok(f),
            _ => Err(broken("export kind")),
        }
    }

    /// The exported function `name` as a [`TypedFunc`] of signature `Params -> Results`
    /// ([`Store::typed_func`]).
    pub fn typed_func<Params: WasmTyList, Results: WasmTyList>(
        &self,
        store: &Store,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        store.typed_func(self.func(store, name)?)
    }

    /// The exported global `name`.
    pub fn global(&self, store: &Store, name: &str) -> Result<Global, Error> {
        match self.typed_export(store, name, ExternKind::Global)? {
            Extern::Global(g) => Ok(g),
            _ => Err(broken("export kind")),
        }
    }

    /// The exported memory `name`.
    pub fn memory(&self, store: &Store, name: &str) -> Result<Memory, Error> {
        match self.typed_export(store, name, ExternKind::Memory)? {
            Extern::Memory(m) => Ok(m),
            _ => Err(broken("export kind")),
        }
    }

    /// The exported table `name`.
    pub fn table(&self, store: &Store, name: &str) -> Result<Table, Error> {
        match self.typed_export(store, name, ExternKind::Table)? {
            Extern::Table(t) => Ok(t),
            _ => Err(broken("export kind")),
        }
    }

    /// The export `name`, which must be of kind `expected`.
    fn typed_export(
        &self,
        store: &Store,
        name: &str,
        expected: ExternKind,
    ) -> Result<Extern, Error> {
        let ext =
            self.export(store, name).ok_or_else(|| Error::ExportNotFound { name: name.into() })?;
        if ext.kind() != expected {
            return Err(Error::ExportKind { name: name.into(), expected, found: ext.kind() });
        }
        Ok(ext)
    }

    /// The instance's memories' figures (imported and defined), in index order.
    pub fn memory_stats(&self, store: &Store) -> Vec<MemStats> {
        let Some(inst) = store.instances.get(self.0 as usize) else {
            return Vec::new();
        };
        inst.memories
            .iter()
            .filter_map(|&addr| store.memories.get(addr as usize))
            .map(LinearMemory::stats)
            .collect()
    }
}

/// The export of `kind` and module `index` as a store handle.
fn resolve_export(inst: &InstanceEntity, kind: ExternKind, index: u32) -> Option<Extern> {
    let index = index as usize;
    Some(match kind {
        ExternKind::Func => Extern::Func(Func(*inst.funcs.get(index)?)),
        ExternKind::Table => Extern::Table(Table(*inst.tables.get(index)?)),
        ExternKind::Memory => Extern::Memory(Memory(*inst.memories.get(index)?)),
        ExternKind::Global => Extern::Global(Global(*inst.globals.get(index)?)),
    })
}
