//! The section decoder: builds a [`ModuleInner`] payload by payload, checking every
//! structural invariant instantiation and the executor rely on (indices in range, section
//! counts that agree, at most one memory, unique export names), and hands each function
//! body to the translator.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::vec::Vec;

use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, Encoding, FunctionBody, Payload, TableInit,
    TypeRef,
};

use crate::config::{Config, Features};
use crate::error::{Error, ExternKind};
use crate::heap::{BoardSize, HeapAccount, HeapUse};
use crate::translate::ModuleCode;
use crate::value::{FuncType, ValType};

use super::types::{global_type, memory_type, ref_type, table_type, val_types};
use super::{
    BodyValidator, Bytes, ConstExpr, DataMode, DataSegment, ElemMode, ElemSegment, Export,
    FuncHeader, Import, ImportType, MemoryType, Module, ModuleInner, Part, Shared, invalid,
    len_u32, malformed, unsupported,
};

/// What the decoder has built so far: kept between the pieces of a module that arrives in
/// parts ([`super::PartialModule`]). The code and headers stay apart from `inner` until
/// the end, so the translator can read the module while appending code.
#[derive(Default)]
pub(super) struct Decoded {
    pub(super) inner: ModuleInner,
    code: ModuleCode,
    headers: Vec<FuncHeader>,
}

/// Builds a [`Decoded`] payload by payload. Everything it keeps is charged to `heap`
/// before it is allocated.
pub(super) struct Decoder<'c> {
    pub(super) config: &'c Config,
    pub(super) heap: &'c mut HeapAccount,
    pub(super) d: &'c mut Decoded,
}

impl<'c> Decoder<'c> {
    pub(super) fn new(config: &'c Config, heap: &'c mut HeapAccount, d: &'c mut Decoded) -> Self {
        Decoder { config, heap, d }
    }

    /// Decodes one payload other than a function body; `true` at the end.
    pub(super) fn payload(&mut self, payload: &Payload<'_>) -> Result<bool, Error> {
        match payload {
            Payload::Version { encoding, range, .. } => {
                if *encoding != Encoding::Module {
                    return Err(unsupported("component-model", range.start as usize));
                }
            }
            Payload::TypeSection(r) => self.types(r.clone())?,
            Payload::ImportSection(r) => self.imports(r.clone())?,
            Payload::FunctionSection(r) => self.functions(r.clone())?,
            Payload::TableSection(r) => self.tables(r.clone())?,
            Payload::MemorySection(r) => self.memories(r.clone())?,
            Payload::TagSection(r) => {
                return Err(unsupported("exceptions", r.range().start as usize));
            }
            Payload::GlobalSection(r) => self.globals(r.clone())?,
            Payload::ExportSection(r) => self.exports(r.clone())?,
            Payload::StartSection { func, range } => self.start(*func, range.start as usize)?,
            Payload::ElementSection(r) => self.elements(r.clone())?,
            Payload::DataCountSection { count, .. } => self.d.inner.data_count = Some(*count),
            Payload::CodeSectionStart { count, unchecked_range: range, .. } => {
                let defined = self.num_defined_funcs();
                if *count as usize != defined {
                    return Err(invalid(
                        format!(
                            "function and code section have inconsistent lengths \
                             ({defined} functions, {count} bodies)"
                        ),
                        range.start as usize,
                    ));
                }
                self.d.code.section = range.start as usize..range.end as usize;
                self.heap.reserve_exact(&mut self.d.headers, defined, HeapUse::Module)?;
            }
            Payload::CodeSectionEntry(body) => self.code_entry(body, None)?,
            Payload::DataSection(r) => self.datas(r.clone())?,
            Payload::CustomSection(_) => {}
            Payload::UnknownSection { id, range, .. } => {
                return Err(Error::Malformed {
                    message: format!("malformed section id: {id}"),
                    offset: range.start as usize,
                });
            }
            Payload::End(_) => return Ok(true),
            #[allow(unreachable_patterns)]
            _ => return Err(unsupported("component-model", 0)),
        }
        Ok(false)
    }

    fn num_defined_funcs(&self) -> usize {
        self.d.inner.funcs.len().saturating_sub(self.d.inner.num_imported_funcs as usize)
    }

    fn types(&mut self, reader: wasmparser::TypeSectionReader<'_>) -> Result<(), Error> {
        for group in reader.into_iter_with_offsets() {
            let (offset, group) = group.map_err(malformed)?;
            let offset = offset as usize;
            if group.is_explicit_rec_group() || group.types().len() != 1 {
                return Err(unsupported("gc", offset));
            }
            for sub in group.into_types() {
                if !sub.is_final || !sub.supertype_idxs.is_empty() {
                    return Err(unsupported("gc", offset));
                }
                let composite = sub.composite_type;
                if composite.shared {
                    return Err(unsupported("shared-everything-threads", offset));
                }
                if composite.descriptor_idx.is_some() || composite.describes_idx.is_some() {
                    return Err(unsupported("custom-descriptors", offset));
                }
                let func = match composite.inner {
                    CompositeInnerType::Func(f) => f,
                    CompositeInnerType::Array(_) | CompositeInnerType::Struct(_) => {
                        return Err(unsupported("gc", offset));
                    }
                    CompositeInnerType::Cont(_) => {
                        return Err(unsupported("stack-switching", offset));
                    }
                };
                let params = val_types(func.params(), offset)?;
                let results = val_types(func.results(), offset)?;
                self.heap.charge((params.len() + results.len()) as u64, HeapUse::Module)?;
                let ty = FuncType::new(params, results);
                self.heap.push(&mut self.d.inner.types, ty, HeapUse::Module)?;
            }
        }
        Ok(())
    }

    fn imports(&mut self, reader: wasmparser::ImportSectionReader<'_>) -> Result<(), Error> {
        for import in reader.into_imports_with_offsets() {
            let (offset, import) = import.map_err(malformed)?;
            let offset = offset as usize;
            let ty = match import.ty {
                TypeRef::Func(ty) => {
                    self.check_type_index(ty, offset)?;
                    self.heap.push(&mut self.d.inner.funcs, ty, HeapUse::Module)?;
                    self.d.inner.num_imported_funcs =
                        len_u32(self.d.inner.funcs.len(), "imported functions")?;
                    ImportType::Func(ty)
                }
                TypeRef::FuncExact(_) => return Err(unsupported("custom-descriptors", offset)),
                TypeRef::Table(t) => {
                    let t = table_type(&t, offset)?;
                    self.heap.push(&mut self.d.inner.tables, t, HeapUse::Module)?;
                    self.d.inner.num_imported_tables =
                        len_u32(self.d.inner.tables.len(), "imported tables")?;
                    ImportType::Table(t)
                }
                TypeRef::Memory(m) => {
                    let m = memory_type(&m, self.config.features, offset)?;
                    self.push_memory(m, offset)?;
                    self.d.inner.num_imported_memories =
                        len_u32(self.d.inner.memories.len(), "imported memories")?;
                    ImportType::Memory(m)
                }
                TypeRef::Global(g) => {
                    let g = global_type(&g, offset)?;
                    self.heap.push(&mut self.d.inner.globals, g, HeapUse::Module)?;
                    self.d.inner.num_imported_globals =
                        len_u32(self.d.inner.globals.len(), "imported globals")?;
                    ImportType::Global(g)
                }
                TypeRef::Tag(_) => return Err(unsupported("exceptions", offset)),
            };
            self.heap.charge((import.module.len() + import.name.len()) as u64, HeapUse::Module)?;
            let import = Import { module: import.module.into(), name: import.name.into(), ty };
            self.heap.push(&mut self.d.inner.imports, import, HeapUse::Module)?;
        }
        Ok(())
    }

    fn check_type_index(&self, ty: u32, offset: usize) -> Result<(), Error> {
        if ty as usize >= self.d.inner.types.len() {
            return Err(invalid(format!("unknown type {ty}"), offset));
        }
        Ok(())
    }

    /// Wasm 2.0 has at most one memory, imported or defined.
    fn push_memory(&mut self, m: MemoryType, offset: usize) -> Result<(), Error> {
        let multi_memory = self.config.features.contains(Features::MULTI_MEMORY);
        if !self.d.inner.memories.is_empty() && !multi_memory {
            // Invalid under 2.0's rules, which the config holds the module to.
            return Err(invalid("multiple memories", offset));
        }
        self.heap.push(&mut self.d.inner.memories, m, HeapUse::Module)
    }

    fn functions(&mut self, reader: wasmparser::FunctionSectionReader<'_>) -> Result<(), Error> {
        for ty in reader.into_iter_with_offsets() {
            let (offset, ty) = ty.map_err(malformed)?;
            self.check_type_index(ty, offset as usize)?;
            self.heap.push(&mut self.d.inner.funcs, ty, HeapUse::Module)?;
        }
        len_u32(self.d.inner.funcs.len(), "functions")?;
        Ok(())
    }

    fn tables(&mut self, reader: wasmparser::TableSectionReader<'_>) -> Result<(), Error> {
        for table in reader.into_iter_with_offsets() {
            let (offset, table) = table.map_err(malformed)?;
            let offset = offset as usize;
            if !matches!(table.init, TableInit::RefNull) {
                // Table initialiser expressions come with typed function references.
                return Err(unsupported("function-references", offset));
            }
            let t = table_type(&table.ty, offset)?;
            self.heap.push(&mut self.d.inner.tables, t, HeapUse::Module)?;
        }
        len_u32(self.d.inner.tables.len(), "tables")?;
        Ok(())
    }

    fn memories(&mut self, reader: wasmparser::MemorySectionReader<'_>) -> Result<(), Error> {
        for memory in reader.into_iter_with_offsets() {
            let (offset, memory) = memory.map_err(malformed)?;
            let offset = offset as usize;
            let m = memory_type(&memory, self.config.features, offset)?;
            self.push_memory(m, offset)?;
        }
        Ok(())
    }

    fn globals(&mut self, reader: wasmparser::GlobalSectionReader<'_>) -> Result<(), Error> {
        for global in reader.into_iter_with_offsets() {
            let (offset, global) = global.map_err(malformed)?;
            let ty = global_type(&global.ty, offset as usize)?;
            let (init, init_ty) = self.const_expr(&global.init_expr)?;
            if init_ty != ty.content {
                return Err(invalid(
                    format!(
                        "type mismatch: global of type {} initialised with {init_ty}",
                        ty.content
                    ),
                    offset as usize,
                ));
            }
            self.heap.push(&mut self.d.inner.globals, ty, HeapUse::Module)?;
            self.heap.push(&mut self.d.inner.global_inits, init, HeapUse::Module)?;
        }
        len_u32(self.d.inner.globals.len(), "globals")?;
        Ok(())
    }

    fn exports(&mut self, reader: wasmparser::ExportSectionReader<'_>) -> Result<(), Error> {
        let mut names = BTreeSet::new();
        for export in reader.into_iter_with_offsets() {
            let (offset, export) = export.map_err(malformed)?;
            let offset = offset as usize;
            let (kind, count) = match export.kind {
                wasmparser::ExternalKind::Func => (ExternKind::Func, self.d.inner.funcs.len()),
                wasmparser::ExternalKind::Table => (ExternKind::Table, self.d.inner.tables.len()),
                wasmparser::ExternalKind::Memory => {
                    (ExternKind::Memory, self.d.inner.memories.len())
                }
                wasmparser::ExternalKind::Global => {
                    (ExternKind::Global, self.d.inner.globals.len())
                }
                wasmparser::ExternalKind::Tag => {
                    return Err(unsupported("exceptions", offset));
                }
                wasmparser::ExternalKind::FuncExact => {
                    return Err(unsupported("custom-descriptors", offset));
                }
            };
            if export.index as usize >= count {
                return Err(invalid(format!("unknown {kind} {} in export", export.index), offset));
            }
            if !names.insert(export.name) {
                return Err(invalid(format!("duplicate export name \"{}\"", export.name), offset));
            }
            self.heap.charge(export.name.len() as u64, HeapUse::Module)?;
            let export = Export { name: export.name.into(), kind, index: export.index };
            self.heap.push(&mut self.d.inner.exports, export, HeapUse::Module)?;
        }
        Ok(())
    }

    fn start(&mut self, func: u32, offset: usize) -> Result<(), Error> {
        let ty = self
            .d
            .inner
            .funcs
            .get(func as usize)
            .and_then(|&t| self.d.inner.types.get(t as usize))
            .ok_or_else(|| invalid(format!("unknown function {func}"), offset))?;
        if !ty.params().is_empty() || !ty.results().is_empty() {
            return Err(invalid("start function must have type [] -> []", offset));
        }
        self.d.inner.start = Some(func);
        Ok(())
    }

    fn elements(&mut self, reader: wasmparser::ElementSectionReader<'_>) -> Result<(), Error> {
        for elem in reader.into_iter_with_offsets() {
            let (offset, elem) = elem.map_err(malformed)?;
            let offset = offset as usize;
            let mut items = Vec::new();
            let ty = match elem.items {
                ElementItems::Functions(funcs) => {
                    for func in funcs.into_iter_with_offsets() {
                        let (at, func) = func.map_err(malformed)?;
                        if func as usize >= self.d.inner.funcs.len() {
                            return Err(invalid(format!("unknown function {func}"), at as usize));
                        }
                        self.heap.push(&mut items, ConstExpr::RefFunc(func), HeapUse::Module)?;
                    }
                    ValType::FuncRef
                }
                ElementItems::Expressions(ref_ty, exprs) => {
                    let ty = ref_type(ref_ty, offset)?;
                    for expr in exprs.into_iter_with_offsets() {
                        let (at, expr) = expr.map_err(malformed)?;
                        let (item, item_ty) = self.const_expr(&expr)?;
                        if item_ty != ty {
                            return Err(invalid(
                                format!("type mismatch: {item_ty} item in a {ty} segment"),
                                at as usize,
                            ));
                        }
                        self.heap.push(&mut items, item, HeapUse::Module)?;
                    }
                    ty
                }
            };
            let mode = match elem.kind {
                ElementKind::Passive => ElemMode::Passive,
                ElementKind::Declared => ElemMode::Declared,
                ElementKind::Active { table_index, offset_expr } => {
                    let table = table_index.unwrap_or(0);
                    let table_ty = self
                        .d
                        .inner
                        .tables
                        .get(table as usize)
                        .ok_or_else(|| invalid(format!("unknown table {table}"), offset))?;
                    if table_ty.elem != ty {
                        return Err(invalid(
                            format!("type mismatch: {ty} segment for a {} table", table_ty.elem),
                            offset,
                        ));
                    }
                    let offset_expr = self.offset_expr(&offset_expr)?;
                    ElemMode::Active { table, offset: offset_expr }
                }
            };
            let segment = ElemSegment { mode, ty, items: self.heap.boxed(items) };
            self.heap.push(&mut self.d.inner.elems, segment, HeapUse::Module)?;
        }
        len_u32(self.d.inner.elems.len(), "element segments")?;
        Ok(())
    }

    /// Translates a function body, fed to `validator` on the way if it is validated here.
    pub(super) fn code_entry(
        &mut self,
        body: &FunctionBody<'_>,
        validator: Option<&mut BodyValidator>,
    ) -> Result<(), Error> {
        let func_index = self.d.inner.num_imported_funcs as usize + self.d.headers.len();
        if func_index >= self.d.inner.funcs.len() {
            return Err(invalid(
                "function and code section have inconsistent lengths",
                body.range().start as usize,
            ));
        }
        let header = crate::translate::translate_function(
            &self.d.inner,
            self.config,
            func_index as u32,
            body,
            validator,
            &mut self.d.code,
            self.heap,
        )?;
        self.heap.push(&mut self.d.headers, header, HeapUse::Module)?;
        Ok(())
    }

    fn datas(&mut self, reader: wasmparser::DataSectionReader<'_>) -> Result<(), Error> {
        for data in reader.into_iter_with_offsets() {
            let (offset, data) = data.map_err(malformed)?;
            let mode = match data.kind {
                wasmparser::DataKind::Passive => DataMode::Passive,
                wasmparser::DataKind::Active { memory_index, offset_expr } => {
                    if memory_index as usize >= self.d.inner.memories.len() {
                        return Err(invalid(
                            format!("unknown memory {memory_index}"),
                            offset as usize,
                        ));
                    }
                    DataMode::Active {
                        memory: memory_index,
                        offset: self.offset_expr(&offset_expr)?,
                    }
                }
            };
            // A `Shared`'s two counts, then the bytes.
            self.heap.charge(8 + data.data.len() as u64, HeapUse::Module)?;
            let segment = DataSegment { mode, bytes: Bytes::Shared(Shared::from(data.data)) };
            self.heap.push(&mut self.d.inner.datas, segment, HeapUse::Module)?;
        }
        len_u32(self.d.inner.datas.len(), "data segments")?;
        Ok(())
    }

    /// The checks that need the whole module, then the module.
    pub(super) fn finish(self) -> Result<Module, Error> {
        let defined = self.num_defined_funcs();
        if self.d.headers.len() != defined {
            return Err(invalid(
                format!(
                    "function and code section have inconsistent lengths \
                     ({defined} functions, {} bodies)",
                    self.d.headers.len()
                ),
                0,
            ));
        }
        if let Some(count) = self.d.inner.data_count
            && count as usize != self.d.inner.datas.len()
        {
            return Err(invalid(
                format!(
                    "data count and data section have inconsistent lengths \
                     ({count} declared, {} segments)",
                    self.d.inner.datas.len()
                ),
                0,
            ));
        }
        self.d.code.scratch.release(self.heap);
        // Grown ahead while translating: trimmed, so a module holds what it uses.
        self.heap.shrink(&mut self.d.code.instrs);
        self.heap.shrink(&mut self.d.code.consts);
        self.heap.shrink(&mut self.d.headers);
        // The module itself, behind its `Shared`'s two counts.
        self.heap.charge(8 + ModuleInner::BYTES, HeapUse::Module)?;
        let Decoded { mut inner, code, headers } = core::mem::take(self.d);
        inner.code = Part::Owned(code.instrs);
        inner.consts = Part::Owned(code.consts);
        inner.headers = Part::Owned(headers);
        inner.fuel = self.config.fuel;
        Ok(Module { inner: Shared::new(inner) })
    }
}
