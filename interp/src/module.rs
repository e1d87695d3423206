//! Decoding (and, with the `validate` feature, validating) a module into the parts
//! instantiation needs, translating every function body once into internal code.
//!
//! `wasmparser` splits the binary into payloads. Each one is decoded here first, so
//! that constructs the core does not support (SIMD, GC types, memory64, ...) are
//! reported as [`Error::Unsupported`] and reader errors as [`Error::Malformed`]; then
//! the validator (when compiled in) sees it. A function body goes the other way
//! round: it is validated in full before the translator sees it.
//!
//! Whatever the `validate` feature, decoding checks every structural invariant that
//! instantiation and the executor rely on: indices in range, section counts that
//! agree, constant expressions of the right type, at most one memory. So a module
//! the validator would reject is an error here too, never a panic later.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmparser::{
    CompositeInnerType, ElementItems, ElementKind, Encoding, FunctionBody, HeapType, Operator,
    Payload, RefType, TableInit, TypeRef,
};

use crate::config::Config;
use crate::error::{Error, ExternKind};
use crate::ir::Instr;
use crate::value::{FuncType, Slot, ValType};

/// A decoded, validated and translated module. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

/// Limits of a memory, in 64 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryType {
    pub initial: u32,
    pub maximum: Option<u32>,
}

/// Limits and element type of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableType {
    pub elem: ValType,
    pub initial: u32,
    pub maximum: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalType {
    pub content: ValType,
    pub mutable: bool,
}

/// A constant expression (Wasm 2.0: one instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstExpr {
    /// A number or `ref.null`, already encoded as a slot.
    Value(Slot),
    /// `global.get` of an (imported) global.
    Global(u32),
    /// `ref.func` of a module function index.
    RefFunc(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImportType {
    /// Type index.
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    pub module: Box<str>,
    pub name: Box<str>,
    pub ty: ImportType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Export {
    pub name: Box<str>,
    pub kind: ExternKind,
    pub index: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ElemMode {
    Passive,
    Active { table: u32, offset: ConstExpr },
    Declared,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ElemSegment {
    pub mode: ElemMode,
    pub ty: ValType,
    pub items: Box<[ConstExpr]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataMode {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataSegment {
    pub mode: DataMode,
    pub bytes: Arc<[u8]>,
}

/// Where a defined function's code starts and how big its frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FuncHeader {
    /// Index of the first instruction in `ModuleInner::code`.
    pub entry: u32,
    pub params: u16,
    pub results: u16,
    /// Locals including parameters.
    pub locals: u16,
    /// The function's constants, `ModuleInner::consts[consts..consts + num_consts]`,
    /// copied to the slots after the locals on entry.
    pub consts: u32,
    pub num_consts: u16,
    /// Slots the frame needs: locals, constants and the operand stack's maximum height.
    pub frame_size: u16,
}

/// Everything decoded from a module. Index spaces list imports first.
#[derive(Debug, Default)]
pub(crate) struct ModuleInner {
    pub types: Vec<FuncType>,
    pub imports: Vec<Import>,
    /// Type index of every function.
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    pub num_imported_tables: u32,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub num_imported_globals: u32,
    /// Initialisers of the defined (non-imported) globals.
    pub global_inits: Vec<ConstExpr>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    /// From the data count section, if present.
    pub data_count: Option<u32>,
    /// The internal code of all defined functions.
    pub code: Vec<Instr>,
    /// One per defined function, in order.
    pub headers: Vec<FuncHeader>,
    /// Every function's constant slots' values, one run per function.
    pub consts: Vec<Slot>,
    /// Whether the code charges fuel: a store must meter fuel exactly when its
    /// modules were translated to.
    pub fuel: bool,
}

/// The most pages a 32-bit memory can have (4 GiB).
const MAX_PAGES: u64 = 65536;

impl Module {
    /// Decodes `bytes` into a module: validates it (with the `validate` feature),
    /// checks its structure (always) and translates every function body once.
    ///
    /// Errors: [`Error::Malformed`] for bytes that do not decode,
    /// [`Error::Invalid`] for a module the validator or the structural checks reject,
    /// [`Error::Unsupported`] for constructs outside Wasm 2.0 without SIMD, and
    /// the translator's [`Error::Translate`] and [`Error::Limit`].
    pub fn new(config: &Config, bytes: &[u8]) -> Result<Module, Error> {
        let mut parser = wasmparser::Parser::new(0);
        parser.set_features(config.features());
        let mut decoder = Decoder::new(config);
        let mut checker = Checker::new(config);
        for payload in parser.parse_all(bytes) {
            let payload = payload.map_err(malformed)?;
            if let Payload::CodeSectionEntry(body) = &payload {
                // The translator only sees bodies the validator accepted.
                checker.check(&payload)?;
                decoder.code_entry(body)?;
            } else {
                let end = decoder.payload(&payload)?;
                checker.check(&payload)?;
                if end {
                    return decoder.finish();
                }
            }
        }
        // `parse_all` ends with `End` or an error; this is only a fallback.
        Err(Error::Malformed { message: "unexpected end of module".into(), offset: bytes.len() })
    }

    /// The module's exports, in order: name and kind.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExternKind)> + '_ {
        self.inner.exports.iter().map(|e| (&*e.name, e.kind))
    }

    /// The module's imports, in order: module name, item name and kind.
    pub fn imports(&self) -> impl Iterator<Item = (&str, &str, ExternKind)> + '_ {
        self.inner.imports.iter().map(|i| (&*i.module, &*i.name, i.ty.kind()))
    }

    /// The type of memory `index` if the module defines it (rather than imports it), e.g.
    /// to decide whether to give it a static buffer.
    pub fn defined_memory(&self, index: u32) -> Option<MemoryType> {
        let m = &self.inner;
        if index < m.num_imported_memories {
            return None;
        }
        m.memories.get(index as usize).copied()
    }

    /// The signature of the exported function `name`, if there is one.
    pub fn func_type_of_export(&self, name: &str) -> Option<&FuncType> {
        let export = self.inner.exports.iter().find(|e| &*e.name == name)?;
        if export.kind != ExternKind::Func {
            return None;
        }
        let ty = *self.inner.funcs.get(export.index as usize)?;
        self.inner.types.get(ty as usize)
    }
}

/// A summary: the full code would drown the output.
impl core::fmt::Debug for Module {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = &self.inner;
        f.debug_struct("Module")
            .field("types", &m.types.len())
            .field("imports", &m.imports.len())
            .field("funcs", &m.funcs.len())
            .field("tables", &m.tables.len())
            .field("memories", &m.memories.len())
            .field("globals", &m.globals.len())
            .field("exports", &m.exports.len())
            .field("elems", &m.elems.len())
            .field("datas", &m.datas.len())
            .field("code", &m.code.len())
            .finish()
    }
}

impl ImportType {
    /// The kind of entity this import asks for.
    pub(crate) fn kind(&self) -> ExternKind {
        match self {
            ImportType::Func(_) => ExternKind::Func,
            ImportType::Table(_) => ExternKind::Table,
            ImportType::Memory(_) => ExternKind::Memory,
            ImportType::Global(_) => ExternKind::Global,
        }
    }
}

fn malformed(e: wasmparser::BinaryReaderError) -> Error {
    Error::Malformed { message: e.message().into(), offset: e.offset() as usize }
}

fn invalid(message: impl Into<String>, offset: usize) -> Error {
    Error::Invalid { message: message.into(), offset }
}

fn unsupported(feature: &'static str, offset: usize) -> Error {
    Error::Unsupported { feature, offset }
}

/// `len` as a `u32` index-space size.
fn len_u32(len: usize, what: &'static str) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::Limit { what, value: len as u64, limit: u32::MAX as u64 })
}

/// Feeds the validator, when on-device validation is compiled in; otherwise a no-op.
struct Checker {
    #[cfg(feature = "validate")]
    validator: wasmparser::Validator,
    /// Reused from one function body to the next.
    #[cfg(feature = "validate")]
    allocs: wasmparser::FuncValidatorAllocations,
}

impl Checker {
    #[cfg_attr(not(feature = "validate"), allow(unused_variables))]
    fn new(config: &Config) -> Self {
        Checker {
            #[cfg(feature = "validate")]
            validator: wasmparser::Validator::new_with_features(config.features()),
            #[cfg(feature = "validate")]
            allocs: Default::default(),
        }
    }

    /// Validates `payload`, and a function body in full.
    #[cfg(feature = "validate")]
    fn check(&mut self, payload: &Payload<'_>) -> Result<(), Error> {
        let invalid = |e: wasmparser::BinaryReaderError| Error::Invalid {
            message: e.message().into(),
            offset: e.offset() as usize,
        };
        if let wasmparser::ValidPayload::Func(func, body) =
            self.validator.payload(payload).map_err(invalid)?
        {
            let mut v = func.into_validator(core::mem::take(&mut self.allocs));
            v.validate(&body).map_err(invalid)?;
            self.allocs = v.into_allocations();
        }
        Ok(())
    }

    #[cfg(not(feature = "validate"))]
    fn check(&mut self, _payload: &Payload<'_>) -> Result<(), Error> {
        Ok(())
    }
}

/// Builds a `ModuleInner` payload by payload. The code and headers stay apart
/// until the end, so the translator can read the module while appending code.
struct Decoder<'c> {
    config: &'c Config,
    inner: ModuleInner,
    code: Vec<Instr>,
    consts: Vec<Slot>,
    headers: Vec<FuncHeader>,
}

impl<'c> Decoder<'c> {
    fn new(config: &'c Config) -> Self {
        Decoder {
            config,
            inner: ModuleInner::default(),
            code: Vec::new(),
            consts: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Decodes one payload other than a function body; `true` at the end.
    fn payload(&mut self, payload: &Payload<'_>) -> Result<bool, Error> {
        match payload {
            Payload::Version { encoding, range, .. } => {
                if *encoding != Encoding::Module {
                    return Err(unsupported("component model", range.start as usize));
                }
            }
            Payload::TypeSection(r) => self.types(r.clone())?,
            Payload::ImportSection(r) => self.imports(r.clone())?,
            Payload::FunctionSection(r) => self.functions(r.clone())?,
            Payload::TableSection(r) => self.tables(r.clone())?,
            Payload::MemorySection(r) => self.memories(r.clone())?,
            Payload::TagSection(r) => {
                return Err(unsupported("exception handling", r.range().start as usize));
            }
            Payload::GlobalSection(r) => self.globals(r.clone())?,
            Payload::ExportSection(r) => self.exports(r.clone())?,
            Payload::StartSection { func, range } => self.start(*func, range.start as usize)?,
            Payload::ElementSection(r) => self.elements(r.clone())?,
            Payload::DataCountSection { count, .. } => self.inner.data_count = Some(*count),
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
            }
            Payload::CodeSectionEntry(body) => self.code_entry(body)?,
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
            _ => return Err(unsupported("component model", 0)),
        }
        Ok(false)
    }

    fn num_defined_funcs(&self) -> usize {
        self.inner.funcs.len().saturating_sub(self.inner.num_imported_funcs as usize)
    }

    fn types(&mut self, reader: wasmparser::TypeSectionReader<'_>) -> Result<(), Error> {
        for group in reader.into_iter_with_offsets() {
            let (offset, group) = group.map_err(malformed)?;
            let offset = offset as usize;
            if group.is_explicit_rec_group() || group.types().len() != 1 {
                return Err(unsupported("garbage collection", offset));
            }
            for sub in group.into_types() {
                if !sub.is_final || !sub.supertype_idxs.is_empty() {
                    return Err(unsupported("garbage collection", offset));
                }
                let composite = sub.composite_type;
                if composite.shared {
                    return Err(unsupported("shared-everything threads", offset));
                }
                if composite.descriptor_idx.is_some() || composite.describes_idx.is_some() {
                    return Err(unsupported("custom descriptors", offset));
                }
                let func = match composite.inner {
                    CompositeInnerType::Func(f) => f,
                    CompositeInnerType::Array(_) | CompositeInnerType::Struct(_) => {
                        return Err(unsupported("garbage collection", offset));
                    }
                    CompositeInnerType::Cont(_) => {
                        return Err(unsupported("stack switching", offset));
                    }
                };
                let params = val_types(func.params(), offset)?;
                let results = val_types(func.results(), offset)?;
                self.inner.types.push(FuncType::new(params, results));
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
                    self.inner.funcs.push(ty);
                    self.inner.num_imported_funcs =
                        len_u32(self.inner.funcs.len(), "imported functions")?;
                    ImportType::Func(ty)
                }
                TypeRef::FuncExact(_) => return Err(unsupported("custom descriptors", offset)),
                TypeRef::Table(t) => {
                    let t = table_type(&t, offset)?;
                    self.inner.tables.push(t);
                    self.inner.num_imported_tables =
                        len_u32(self.inner.tables.len(), "imported tables")?;
                    ImportType::Table(t)
                }
                TypeRef::Memory(m) => {
                    let m = memory_type(&m, offset)?;
                    self.push_memory(m, offset)?;
                    self.inner.num_imported_memories =
                        len_u32(self.inner.memories.len(), "imported memories")?;
                    ImportType::Memory(m)
                }
                TypeRef::Global(g) => {
                    let g = global_type(&g, offset)?;
                    self.inner.globals.push(g);
                    self.inner.num_imported_globals =
                        len_u32(self.inner.globals.len(), "imported globals")?;
                    ImportType::Global(g)
                }
                TypeRef::Tag(_) => return Err(unsupported("exception handling", offset)),
            };
            self.inner.imports.push(Import {
                module: import.module.into(),
                name: import.name.into(),
                ty,
            });
        }
        Ok(())
    }

    fn check_type_index(&self, ty: u32, offset: usize) -> Result<(), Error> {
        if ty as usize >= self.inner.types.len() {
            return Err(invalid(format!("unknown type {ty}"), offset));
        }
        Ok(())
    }

    /// Wasm 2.0 has at most one memory, imported or defined.
    fn push_memory(&mut self, m: MemoryType, offset: usize) -> Result<(), Error> {
        if !self.inner.memories.is_empty() {
            return Err(invalid("multiple memories", offset));
        }
        self.inner.memories.push(m);
        Ok(())
    }

    fn functions(&mut self, reader: wasmparser::FunctionSectionReader<'_>) -> Result<(), Error> {
        for ty in reader.into_iter_with_offsets() {
            let (offset, ty) = ty.map_err(malformed)?;
            self.check_type_index(ty, offset as usize)?;
            self.inner.funcs.push(ty);
        }
        len_u32(self.inner.funcs.len(), "functions")?;
        Ok(())
    }

    fn tables(&mut self, reader: wasmparser::TableSectionReader<'_>) -> Result<(), Error> {
        for table in reader.into_iter_with_offsets() {
            let (offset, table) = table.map_err(malformed)?;
            let offset = offset as usize;
            if !matches!(table.init, TableInit::RefNull) {
                // Table initialiser expressions come with typed function references.
                return Err(unsupported("typed function references", offset));
            }
            let t = table_type(&table.ty, offset)?;
            self.inner.tables.push(t);
        }
        len_u32(self.inner.tables.len(), "tables")?;
        Ok(())
    }

    fn memories(&mut self, reader: wasmparser::MemorySectionReader<'_>) -> Result<(), Error> {
        for memory in reader.into_iter_with_offsets() {
            let (offset, memory) = memory.map_err(malformed)?;
            let offset = offset as usize;
            let m = memory_type(&memory, offset)?;
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
            self.inner.globals.push(ty);
            self.inner.global_inits.push(init);
        }
        len_u32(self.inner.globals.len(), "globals")?;
        Ok(())
    }

    fn exports(&mut self, reader: wasmparser::ExportSectionReader<'_>) -> Result<(), Error> {
        let mut names = BTreeSet::new();
        for export in reader.into_iter_with_offsets() {
            let (offset, export) = export.map_err(malformed)?;
            let offset = offset as usize;
            let (kind, count) = match export.kind {
                wasmparser::ExternalKind::Func => (ExternKind::Func, self.inner.funcs.len()),
                wasmparser::ExternalKind::Table => (ExternKind::Table, self.inner.tables.len()),
                wasmparser::ExternalKind::Memory => (ExternKind::Memory, self.inner.memories.len()),
                wasmparser::ExternalKind::Global => (ExternKind::Global, self.inner.globals.len()),
                wasmparser::ExternalKind::Tag => {
                    return Err(unsupported("exception handling", offset));
                }
                wasmparser::ExternalKind::FuncExact => {
                    return Err(unsupported("custom descriptors", offset));
                }
            };
            if export.index as usize >= count {
                return Err(invalid(format!("unknown {kind} {} in export", export.index), offset));
            }
            if !names.insert(export.name) {
                return Err(invalid(format!("duplicate export name \"{}\"", export.name), offset));
            }
            self.inner.exports.push(Export { name: export.name.into(), kind, index: export.index });
        }
        Ok(())
    }

    fn start(&mut self, func: u32, offset: usize) -> Result<(), Error> {
        let ty = self
            .inner
            .funcs
            .get(func as usize)
            .and_then(|&t| self.inner.types.get(t as usize))
            .ok_or_else(|| invalid(format!("unknown function {func}"), offset))?;
        if !ty.params().is_empty() || !ty.results().is_empty() {
            return Err(invalid("start function must have type [] -> []", offset));
        }
        self.inner.start = Some(func);
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
                        if func as usize >= self.inner.funcs.len() {
                            return Err(invalid(format!("unknown function {func}"), at as usize));
                        }
                        items.push(ConstExpr::RefFunc(func));
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
                        items.push(item);
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
            self.inner.elems.push(ElemSegment { mode, ty, items: items.into_boxed_slice() });
        }
        len_u32(self.inner.elems.len(), "element segments")?;
        Ok(())
    }

    fn code_entry(&mut self, body: &FunctionBody<'_>) -> Result<(), Error> {
        let func_index = self.inner.num_imported_funcs as usize + self.headers.len();
        if func_index >= self.inner.funcs.len() {
            return Err(invalid(
                "function and code section have inconsistent lengths",
                body.range().start as usize,
            ));
        }
        let header = crate::translate::translate_function(
            &self.inner,
            self.config,
            func_index as u32,
            body,
            &mut self.code,
            &mut self.consts,
        )?;
        self.headers.push(header);
        Ok(())
    }

    fn datas(&mut self, reader: wasmparser::DataSectionReader<'_>) -> Result<(), Error> {
        for data in reader.into_iter_with_offsets() {
            let (offset, data) = data.map_err(malformed)?;
            let mode = match data.kind {
                wasmparser::DataKind::Passive => DataMode::Passive,
                wasmparser::DataKind::Active { memory_index, offset_expr } => {
                    if memory_index as usize >= self.inner.memories.len() {
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
            self.inner.datas.push(DataSegment { mode, bytes: Arc::from(data.data) });
        }
        len_u32(self.inner.datas.len(), "data segments")?;
        Ok(())
    }

    /// The checks that need the whole module, then the module.
    fn finish(mut self) -> Result<Module, Error> {
        let defined = self.num_defined_funcs();
        if self.headers.len() != defined {
            return Err(invalid(
                format!(
                    "function and code section have inconsistent lengths \
                     ({defined} functions, {} bodies)",
                    self.headers.len()
                ),
                0,
            ));
        }
        if let Some(count) = self.inner.data_count
            && count as usize != self.inner.datas.len()
        {
            return Err(invalid(
                format!(
                    "data count and data section have inconsistent lengths \
                     ({count} declared, {} segments)",
                    self.inner.datas.len()
                ),
                0,
            ));
        }
        // Grown by doubling while translating: trimmed, so a module holds what it uses
        // (up to half the code's heap otherwise).
        self.code.shrink_to_fit();
        self.consts.shrink_to_fit();
        self.headers.shrink_to_fit();
        self.inner.code = self.code;
        self.inner.consts = self.consts;
        self.inner.headers = self.headers;
        self.inner.fuel = self.config.fuel;
        Ok(Module { inner: Arc::new(self.inner) })
    }

    /// An element or data segment's offset: an `i32` constant expression.
    fn offset_expr(&mut self, expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, Error> {
        let offset = expr.get_binary_reader().original_position() as usize;
        let (value, ty) = self.const_expr(expr)?;
        if ty != ValType::I32 {
            return Err(invalid(
                format!("type mismatch: segment offset of type {ty}, expected i32"),
                offset,
            ));
        }
        Ok(value)
    }

    /// Decodes a Wasm 2.0 constant expression (one instruction, then `end`) and
    /// returns it with its type. A `ref.func` in it declares its function.
    fn const_expr(
        &mut self,
        expr: &wasmparser::ConstExpr<'_>,
    ) -> Result<(ConstExpr, ValType), Error> {
        let mut ops = expr.get_operators_reader();
        let offset = ops.original_position() as usize;
        let result = match ops.read().map_err(malformed)? {
            Operator::I32Const { value } => (ConstExpr::Value(value as u32 as Slot), ValType::I32),
            Operator::I64Const { value } => (ConstExpr::Value(value as u64), ValType::I64),
            Operator::F32Const { value } => (ConstExpr::Value(value.bits() as Slot), ValType::F32),
            Operator::F64Const { value } => (ConstExpr::Value(value.bits()), ValType::F64),
            Operator::RefNull { hty } => (ConstExpr::Value(0), heap_type(hty, offset)?),
            Operator::RefFunc { function_index } => {
                if function_index as usize >= self.inner.funcs.len() {
                    return Err(invalid(format!("unknown function {function_index}"), offset));
                }
                (ConstExpr::RefFunc(function_index), ValType::FuncRef)
            }
            Operator::GlobalGet { global_index } => {
                let global = self
                    .inner
                    .globals
                    .get(global_index as usize)
                    .ok_or_else(|| invalid(format!("unknown global {global_index}"), offset))?;
                if global_index >= self.inner.num_imported_globals {
                    return Err(invalid(
                        "constant expression required: global.get of a non-imported global",
                        offset,
                    ));
                }
                if global.mutable {
                    return Err(invalid(
                        "constant expression required: global.get of a mutable global",
                        offset,
                    ));
                }
                (ConstExpr::Global(global_index), global.content)
            }
            op if is_extended_const(&op) => {
                return Err(unsupported("extended constant expressions", offset));
            }
            Operator::End => {
                return Err(invalid("type mismatch: empty constant expression", offset));
            }
            _ => return Err(invalid("constant expression required", offset)),
        };
        let end_offset = ops.original_position() as usize;
        if matches!(ops.read().map_err(malformed)?, Operator::End) && ops.eof() {
            return Ok(result);
        }
        // More than one instruction: an extended constant expression (Wasm 3.0)
        // if it does arithmetic, otherwise simply not constant.
        loop {
            let at = ops.original_position() as usize;
            match ops.read() {
                Ok(op) if is_extended_const(&op) => {
                    return Err(unsupported("extended constant expressions", at));
                }
                Ok(_) if !ops.eof() => {}
                _ => {
                    return Err(invalid(
                        "constant expression required: more than one instruction",
                        end_offset,
                    ));
                }
            }
        }
    }
}

/// Arithmetic the extended-constant-expressions proposal allows in them.
fn is_extended_const(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::I32Add
            | Operator::I32Sub
            | Operator::I32Mul
            | Operator::I64Add
            | Operator::I64Sub
            | Operator::I64Mul
    )
}

fn val_types(types: &[wasmparser::ValType], offset: usize) -> Result<Vec<ValType>, Error> {
    types.iter().map(|&t| val_type(t, offset)).collect()
}

fn val_type(ty: wasmparser::ValType, offset: usize) -> Result<ValType, Error> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => return Err(unsupported("simd", offset)),
        wasmparser::ValType::Ref(r) => ref_type(r, offset)?,
    })
}

/// `funcref` or `externref`; every other reference type is from a later proposal.
fn ref_type(ty: RefType, offset: usize) -> Result<ValType, Error> {
    if !ty.is_nullable() {
        return Err(unsupported("typed function references", offset));
    }
    heap_type(ty.heap_type(), offset)
}

fn heap_type(ty: HeapType, offset: usize) -> Result<ValType, Error> {
    match ty {
        HeapType::FUNC => Ok(ValType::FuncRef),
        HeapType::EXTERN => Ok(ValType::ExternRef),
        HeapType::Concrete(_) | HeapType::Exact(_) => {
            Err(unsupported("typed function references", offset))
        }
        HeapType::Abstract { shared: true, .. } => {
            Err(unsupported("shared-everything threads", offset))
        }
        HeapType::Abstract { .. } => Err(unsupported("garbage collection", offset)),
    }
}

/// Checks `min <= max` of a table's or memory's limits.
fn check_limits(initial: u64, maximum: Option<u64>, offset: usize) -> Result<(), Error> {
    if maximum.is_some_and(|max| initial > max) {
        return Err(invalid("size minimum must not be greater than maximum", offset));
    }
    Ok(())
}

fn table_type(t: &wasmparser::TableType, offset: usize) -> Result<TableType, Error> {
    if t.table64 {
        return Err(unsupported("memory64", offset));
    }
    if t.shared {
        return Err(unsupported("shared-everything threads", offset));
    }
    let elem = ref_type(t.element_type, offset)?;
    check_limits(t.initial, t.maximum, offset)?;
    let too_big = || invalid("table size must be at most 2^32-1 elements", offset);
    Ok(TableType {
        elem,
        initial: u32::try_from(t.initial).map_err(|_| too_big())?,
        maximum: t.maximum.map(|m| u32::try_from(m).map_err(|_| too_big())).transpose()?,
    })
}

fn memory_type(m: &wasmparser::MemoryType, offset: usize) -> Result<MemoryType, Error> {
    if m.memory64 {
        return Err(unsupported("memory64", offset));
    }
    if m.shared {
        return Err(unsupported("threads", offset));
    }
    if m.page_size_log2.is_some() {
        return Err(unsupported("custom page sizes", offset));
    }
    check_limits(m.initial, m.maximum, offset)?;
    let pages = |p: u64| {
        if p > MAX_PAGES {
            return Err(invalid("memory size must be at most 65536 pages (4GiB)", offset));
        }
        Ok(p as u32)
    };
    Ok(MemoryType { initial: pages(m.initial)?, maximum: m.maximum.map(pages).transpose()? })
}

fn global_type(g: &wasmparser::GlobalType, offset: usize) -> Result<GlobalType, Error> {
    if g.shared {
        // Flag 0x02 is the shared-everything-threads proposal's; in Wasm 1.0 and
        // 2.0 (whose spec tests check this) it is a malformed mutability byte.
        return Err(Error::Malformed { message: "malformed mutability".into(), offset });
    }
    Ok(GlobalType { content: val_type(g.content_type, offset)?, mutable: g.mutable })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse(wat: &str) -> Result<Module, Error> {
        Module::new(&Config::new(), &wat::parse_str(wat).expect("test text parses"))
    }

    fn inner(wat: &str) -> Arc<ModuleInner> {
        parse(wat).expect("module is accepted").inner
    }

    /// A module assembled by hand: one memory (1..2 pages), a data segment at 16,
    /// a function and two exports.
    const HAND_ASSEMBLED: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: [] -> []
        0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
        0x05, 0x04, 0x01, 0x01, 0x01, 0x02, // memory section: min 1, max 2
        0x07, 0x0d, 0x02, // export section, 2 exports
        0x03, b'm', b'e', b'm', 0x02, 0x00, // "mem": memory 0
        0x03, b'r', b'u', b'n', 0x00, 0x00, // "run": function 0
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code section: no locals, `end`
        0x0b, 0x08, 0x01, 0x00, 0x41, 0x10, 0x0b, 0x02, b'h',
        b'i', // data: (i32.const 16) "hi"
    ];

    #[test]
    fn hand_assembled_module_decodes() {
        let module = Module::new(&Config::new(), HAND_ASSEMBLED).unwrap();
        let m = &module.inner;
        assert_eq!(m.types, vec![FuncType::new([], [])]);
        assert_eq!(m.funcs, vec![0]);
        assert_eq!(m.num_imported_funcs, 0);
        assert_eq!(m.memories, vec![MemoryType { initial: 1, maximum: Some(2) }]);
        assert_eq!(m.num_imported_memories, 0);
        assert_eq!(m.datas.len(), 1);
        assert_eq!(m.datas[0].mode, DataMode::Active { memory: 0, offset: ConstExpr::Value(16) });
        assert_eq!(&*m.datas[0].bytes, b"hi");
        assert_eq!(m.data_count, None);
        assert_eq!(m.headers.len(), 1);
        assert!(!m.code.is_empty());
        assert_eq!(m.start, None);
        let exports: Vec<_> = module.exports().collect();
        assert_eq!(exports, vec![("mem", ExternKind::Memory), ("run", ExternKind::Func)]);
        assert_eq!(module.func_type_of_export("run"), Some(&FuncType::new([], [])));
        assert_eq!(module.func_type_of_export("mem"), None);
        assert_eq!(module.func_type_of_export("nope"), None);
    }

    #[test]
    fn every_truncation_of_the_hand_assembled_module_is_an_error_or_valid() {
        for len in 0..HAND_ASSEMBLED.len() {
            // Cuts at section boundaries leave valid modules (or missing code).
            let _ = Module::new(&Config::new(), &HAND_ASSEMBLED[..len]);
        }
        // Cut inside the data section.
        let cut = &HAND_ASSEMBLED[..HAND_ASSEMBLED.len() - 1];
        assert!(matches!(Module::new(&Config::new(), cut), Err(Error::Malformed { .. })));
    }

    #[test]
    fn constant_expressions_are_slots() {
        let m = inner(
            r#"(module
                (import "env" "g" (global $g i64))
                (global i32 (i32.const -1))
                (global i64 (i64.const -2))
                (global f32 (f32.const -1.5))
                (global f64 (f64.const 2.5))
                (global funcref (ref.null func))
                (global externref (ref.null extern))
                (global i64 (global.get $g))
                (global funcref (ref.func $f))
                (func $f))"#,
        );
        assert_eq!(m.num_imported_globals, 1);
        assert_eq!(m.globals.len(), 9);
        assert_eq!(
            m.global_inits,
            vec![
                ConstExpr::Value(0xffff_ffff),
                ConstExpr::Value(-2i64 as u64),
                ConstExpr::Value((-1.5f32).to_bits() as u64),
                ConstExpr::Value(2.5f64.to_bits()),
                ConstExpr::Value(0),
                ConstExpr::Value(0),
                ConstExpr::Global(0),
                ConstExpr::RefFunc(0),
            ]
        );
        assert_eq!(m.globals[8], GlobalType { content: ValType::FuncRef, mutable: false });
    }

    #[test]
    fn imports_fill_the_index_spaces_first() {
        let wat = r#"(module
            (import "a" "f" (func (param i32)))
            (import "a" "t" (table 2 10 externref))
            (import "a" "m" (memory 1))
            (import "a" "g" (global (mut f32)))
            (func)
            (table 1 funcref)
            (global i32 (i32.const 0)))"#;
        let module = parse(wat).unwrap();
        let m = &module.inner;
        assert_eq!(
            (
                m.num_imported_funcs,
                m.num_imported_tables,
                m.num_imported_memories,
                m.num_imported_globals
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(m.funcs, vec![0, 1]);
        assert_eq!(
            m.tables,
            vec![
                TableType { elem: ValType::ExternRef, initial: 2, maximum: Some(10) },
                TableType { elem: ValType::FuncRef, initial: 1, maximum: None },
            ]
        );
        assert_eq!(m.globals.len(), 2);
        assert_eq!(m.global_inits.len(), 1);
        let imports: Vec<_> = module.imports().collect();
        assert_eq!(
            imports,
            vec![
                ("a", "f", ExternKind::Func),
                ("a", "t", ExternKind::Table),
                ("a", "m", ExternKind::Memory),
                ("a", "g", ExternKind::Global),
            ]
        );
    }

    #[test]
    fn element_segments_of_every_form() {
        let m = inner(
            r#"(module
                (table $t0 4 funcref)
                (table $t1 4 externref)
                (func $a) (func $b) (func $c)
                (elem (i32.const 1) $c $a)
                (elem $p funcref (ref.func $b) (ref.null func))
                (elem declare func $b)
                (elem (table $t1) (i32.const 0) externref (ref.null extern))
                (export "c" (func $c)))"#,
        );
        assert_eq!(m.elems.len(), 4);
        assert_eq!(
            m.elems[0],
            ElemSegment {
                mode: ElemMode::Active { table: 0, offset: ConstExpr::Value(1) },
                ty: ValType::FuncRef,
                items: Box::new([ConstExpr::RefFunc(2), ConstExpr::RefFunc(0)]),
            }
        );
        assert_eq!(m.elems[1].mode, ElemMode::Passive);
        assert_eq!(&*m.elems[1].items, &[ConstExpr::RefFunc(1), ConstExpr::Value(0)]);
        assert_eq!(m.elems[2].mode, ElemMode::Declared);
        assert_eq!(m.elems[3].mode, ElemMode::Active { table: 1, offset: ConstExpr::Value(0) });
        assert_eq!(m.elems[3].ty, ValType::ExternRef);
    }

    #[test]
    fn passive_data_and_data_count() {
        let m = inner(
            r#"(module (memory 1)
                (data "abc")
                (data (i32.const 8) "d")
                (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))))"#,
        );
        assert_eq!(m.data_count, Some(2));
        assert_eq!(m.datas[0].mode, DataMode::Passive);
        assert_eq!(&*m.datas[0].bytes, b"abc");
    }

    #[test]
    fn start_function() {
        let m = inner(r#"(module (func) (func $s) (start $s))"#);
        assert_eq!(m.start, Some(1));
        assert!(matches!(
            parse(r#"(module (func $s (result i32) (i32.const 0)) (start $s))"#),
            Err(Error::Invalid { .. })
        ));
        assert!(parse(r#"(module (start 3) (func))"#).is_err());
    }

    /// Each of these must be rejected, with or without the validator.
    #[test]
    fn structural_errors() {
        let cases = [
            r#"(module (memory 1) (memory 1))"#,
            r#"(module (import "a" "m" (memory 1)) (memory 1))"#,
            r#"(module (global i32 (i64.const 0)))"#,
            r#"(module (global i32 (i32.const 0)) (global i32 (global.get 0)))"#,
            r#"(module (import "a" "g" (global (mut i32))) (global i32 (global.get 0)))"#,
            r#"(module (global i32 (global.get 0)))"#,
            r#"(module (global funcref (ref.func 1)) (func))"#,
            r#"(module (table 1 funcref) (elem (i32.const 0) 4))"#,
            r#"(module (elem (i32.const 0)))"#,
            r#"(module (table 1 funcref) (elem (i64.const 0)))"#,
            r#"(module (table 1 funcref) (elem (table 0) (i32.const 0) externref))"#,
            r#"(module (data (i32.const 0) "x"))"#,
            r#"(module (memory 1) (data (f32.const 0) "x"))"#,
            r#"(module (func) (export "f" (func 0)) (export "f" (func 0)))"#,
            r#"(module (export "m" (memory 0)))"#,
            r#"(module (export "g" (global 0)))"#,
            r#"(module (export "t" (table 0)))"#,
            r#"(module (func (type 3)))"#,
            r#"(module (import "a" "f" (func (type 1))))"#,
            r#"(module (memory 2 1))"#,
            r#"(module (memory 65537))"#,
            r#"(module (table 2 1 funcref))"#,
            r#"(module (global i32 (nop) (i32.const 0)))"#,
            r#"(module (global i32 (i32.const 0) (i32.const 0)))"#,
            r#"(module (global i32))"#,
            r#"(module (global i32 (i32.clz (i32.const 0))))"#,
        ];
        for (i, text) in cases.iter().enumerate() {
            match parse(text) {
                Err(Error::Invalid { message, .. }) => assert!(!message.is_empty()),
                other => panic!("case {i} {text}: expected Invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn unsupported_features() {
        let cases = [
            (r#"(module (func (param v128)))"#, "simd"),
            (r#"(module (memory i64 1))"#, "memory64"),
            (r#"(module (memory 1 2 shared))"#, "threads"),
            (
                r#"(module (global i32 (i32.add (i32.const 1) (i32.const 2))))"#,
                "extended constant expressions",
            ),
            (r#"(module (table 1 funcref (ref.null func)))"#, "typed function references"),
            (r#"(module (type (struct)))"#, "garbage collection"),
            (r#"(module (func (param (ref func))))"#, "typed function references"),
            (r#"(module (tag))"#, "exception handling"),
        ];
        for (text, feature) in cases {
            match parse(text) {
                Err(Error::Unsupported { feature: f, .. }) => assert_eq!(f, feature, "{text}"),
                other => panic!("{text}: expected Unsupported({feature}), got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_bytes() {
        for bytes in [
            &b""[..],
            b"\0asm",
            b"\0asm\x02\0\0\0",
            b"\0asm\x01\0\0\0\x01",
            b"\0asm\x0d\0\x01\0",       // a component
            b"\0asm\x01\0\0\0\x0e\x00", // unknown section id
        ] {
            let r = Module::new(&Config::new(), bytes);
            assert!(
                matches!(r, Err(Error::Malformed { .. } | Error::Unsupported { .. })),
                "{bytes:?}: {r:?}"
            );
        }
    }

    #[test]
    fn function_and_code_counts_must_agree() {
        // Two functions declared, one body.
        let bytes: &[u8] = &[
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, //
            0x01, 0x04, 0x01, 0x60, 0x00, 0x00, //
            0x03, 0x03, 0x02, 0x00, 0x00, //
            0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
        ];
        assert!(Module::new(&Config::new(), bytes).is_err());
        // A function without a code section.
        assert!(Module::new(&Config::new(), &bytes[..19]).is_err());
    }

    #[test]
    fn version_1_rejects_2_0_features_when_validating() {
        let bytes = wat::parse_str(
            r#"(module (func (param i32) (result i32) (i32.extend8_s (local.get 0))))"#,
        )
        .unwrap();
        let v1 = Config::new().with_version(crate::config::WasmVersion::V1);
        let r = Module::new(&v1, &bytes);
        if cfg!(feature = "validate") {
            assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
        }
        assert!(Module::new(&Config::new(), &bytes).is_ok());
    }
}
