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
//!
//! - this file: the public [`Module`] and its types, and the decoded form instantiation
//!   reads ([`ModuleInner`]);
//! - [`partial`]: a module's bytes as they arrive, split into payloads (one path for a
//!   module given whole or in parts);
//! - [`decode`]: the sections, payload by payload, and the function bodies handed to
//!   the translator;
//! - [`validate`]: the shim that feeds `wasmparser`'s validator (a no-op without the
//!   `validate` feature);
//! - [`const_expr`]: constant expressions (global initialisers, segment offsets and
//!   items);
//! - [`types`]: `wasmparser`'s value, table, memory and global types as the core's,
//!   rejecting what lies outside Wasm 2.0.

use alloc::boxed::Box;
#[cfg(feature = "wasm")]
use alloc::string::String;
use alloc::vec::Vec;

#[cfg(feature = "wasm")]
use crate::config::{Config, Features};
#[cfg(feature = "wasm")]
use crate::error::Error;
use crate::error::ExternKind;
#[cfg(feature = "wasm")]
use crate::heap::HeapAccount;
use crate::ir::Instr;
use crate::value::{FuncType, Slot, ValType};

#[cfg(feature = "wasm")]
pub use partial::PartialModule;

pub(crate) use const_expr::{ConstExpr, ConstOp, eval_ops};
#[cfg(feature = "wasm")]
pub(crate) use validate::BodyValidator;
#[cfg(feature = "validate")]
pub(crate) use validate::rejected;

#[cfg(feature = "wasm")]
mod const_decode;
mod const_expr;
#[cfg(feature = "wasm")]
mod decode;
#[cfg(feature = "wasm")]
mod partial;
#[cfg(feature = "wasm")]
mod types;
#[cfg(feature = "wasm")]
mod validate;

#[cfg(test)]
pub(crate) mod tests;

/// What a module and its data segments are shared through: an atomic count where the core
/// has atomic read-modify-write (threads may share a module), a plain one on ARMv6-M
/// (Cortex-M0/M0+), which has no compare-and-swap, no `Arc` and no threads to share with.
/// So a [`Module`] is `Send` and `Sync` everywhere but there.
#[cfg(target_has_atomic = "ptr")]
pub(crate) type Shared<T> = alloc::sync::Arc<T>;
#[cfg(not(target_has_atomic = "ptr"))]
pub(crate) type Shared<T> = alloc::rc::Rc<T>;

/// A decoded, validated and translated module. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Shared<ModuleInner>,
}

/// Limits of a memory, in its pages: 64 KiB by default, or 1 byte (the custom-page-sizes
/// proposal), so a module can ask for exactly the memory it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryType {
    /// Pages the memory starts with.
    pub initial: u32,
    /// Pages it may grow to, if the module caps it.
    pub maximum: Option<u32>,
    /// log2 of the page size in bytes: 16 (64 KiB) or 0 (1 byte).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// 64 KiB pages: `initial`, growing to `maximum` if given.
    pub const fn new(initial: u32, maximum: Option<u32>) -> Self {
        MemoryType { initial, maximum, page_size_log2: 16 }
    }

    /// The same limits in pages of `2^log2` bytes (16 or 0).
    pub const fn with_page_size_log2(mut self, log2: u8) -> Self {
        self.page_size_log2 = log2;
        self
    }

    /// The page size in bytes.
    pub const fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// `pages` of this type in bytes.
    pub const fn bytes(&self, pages: u32) -> u64 {
        (pages as u64) << self.page_size_log2
    }

    /// The most pages a 32-bit memory of this page size may have: 4 GiB of them, at most
    /// `u32::MAX` (1-byte pages).
    pub const fn max_pages(&self) -> u32 {
        let pages = (1u64 << 32) >> self.page_size_log2;
        if pages > u32::MAX as u64 { u32::MAX } else { pages as u32 }
    }
}

/// Limits and element type of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableType {
    /// The reference type of its elements (`FuncRef` or `ExternRef`).
    pub elem: ValType,
    /// Elements the table starts with.
    pub initial: u32,
    /// Elements it may grow to, if capped.
    pub maximum: Option<u32>,
}

/// Value type and mutability of a global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalType {
    /// The type of the value it holds.
    pub content: ValType,
    /// Whether `global.set` (and [`Store::global_set`](crate::Store::global_set)) may
    /// change it.
    pub mutable: bool,
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
    pub bytes: Bytes,
}

/// A data segment's bytes: shared by the module and the instances that may still copy them
/// (`memory.init`), or left in the flash an image lies in.
#[derive(Debug, Clone)]
pub(crate) enum Bytes {
    Shared(Shared<[u8]>),
    Static(&'static [u8]),
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::Static(&[])
    }
}

impl core::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Shared(bytes) => bytes,
            Bytes::Static(bytes) => bytes,
        }
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        **self == **other
    }
}

impl Eq for Bytes {}

/// Where a defined function's code starts and how big its frame is. Laid out as an image
/// holds it (`repr(C)`, no padding), so an image in flash lends its headers in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub(crate) struct FuncHeader {
    /// Index of the first instruction in `ModuleInner::code`.
    pub entry: u32,
    /// The function's constants, `ModuleInner::consts[consts..consts + num_consts]`,
    /// copied to the slots after the locals on entry (by its `Instr::InitLocals`).
    pub consts: u32,
    pub params: u16,
    pub results: u16,
    /// Locals including parameters.
    pub locals: u16,
    pub num_consts: u16,
    /// Slots the frame needs: locals, constants and the operand stack's maximum height.
    pub frame_size: u16,
    /// Zero: the layout's padding made explicit.
    pub reserved: u16,
}

/// One of a module's large parts: its own, or read in place from an image in flash
/// ([`Module::from_static_image`]), which then costs no RAM.
#[derive(Debug, Clone)]
pub(crate) enum Part<T: 'static> {
    Owned(Vec<T>),
    Static(&'static [T]),
}

impl<T> Default for Part<T> {
    fn default() -> Self {
        Part::Owned(Vec::new())
    }
}

impl<T> core::ops::Deref for Part<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Part::Owned(items) => items,
            Part::Static(items) => items,
        }
    }
}

impl<T: PartialEq> PartialEq for Part<T> {
    fn eq(&self, other: &Part<T>) -> bool {
        **self == **other
    }
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
    /// The steps of every extended constant expression that reads a global.
    pub const_ops: Vec<ConstOp>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    /// From the data count section, if present.
    pub data_count: Option<u32>,
    /// The internal code of all defined functions.
    pub code: Part<Instr>,
    /// One per defined function, in order.
    pub headers: Part<FuncHeader>,
    /// Every function's constant slots' values, one run per function.
    pub consts: Part<Slot>,
    /// Whether the code charges fuel: a store must meter fuel exactly when its
    /// modules were translated to.
    pub fuel: bool,
}

impl Module {
    /// Decodes `bytes` into a module: validates it (with the `validate` feature),
    /// checks its structure (always) and translates every function body once.
    ///
    /// Errors: [`Error::Malformed`] for bytes that do not decode,
    /// [`Error::Invalid`] for a module the validator or the structural checks reject,
    /// [`Error::Unsupported`] for constructs outside Wasm 2.0 without SIMD, and
    /// the translator's [`Error::Translate`] and [`Error::Limit`].
    ///
    /// Nothing is charged to a heap account: [`Store::load_module`](crate::Store::load_module)
    /// builds a module charged to its store.
    #[cfg(feature = "wasm")]
    pub fn new(config: &Config, bytes: &[u8]) -> Result<Module, Error> {
        Module::decode(config, bytes, &mut HeapAccount::new(None))
    }

    /// [`Module::new`], charging what it builds to `heap` as it goes.
    #[cfg(feature = "wasm")]
    pub(crate) fn decode(
        config: &Config,
        bytes: &[u8],
        heap: &mut HeapAccount,
    ) -> Result<Module, Error> {
        PartialModule::new(config, bytes.len()).decode_whole(config, heap, bytes)
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

    /// The signature of the imported function `module`.`name`, if the module imports one
    /// (e.g. to define a stand-in for it).
    pub fn func_type_of_import(&self, module: &str, name: &str) -> Option<&FuncType> {
        let m = &self.inner;
        m.imports.iter().find_map(|i| match i.ty {
            ImportType::Func(ty) if &*i.module == module && &*i.name == name => {
                m.types.get(ty as usize)
            }
            _ => None,
        })
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

/// A reader's error: malformed bytes, or a proposal the core does not implement.
#[cfg(feature = "wasm")]
pub(crate) fn malformed(e: wasmparser::BinaryReaderError) -> Error {
    let (message, offset) = (e.message(), e.offset() as usize);
    left_out(message, offset)
        .unwrap_or_else(|| Error::Malformed { message: message.into(), offset })
}

/// wasmparser's words when its feature set (or its build) leaves out a proposal the core does
/// not implement, and the proposal's name. (One the core implements but a config leaves out
/// stays the validator's refusal: `left_out` checks.)
#[cfg(feature = "wasm")]
const LEFT_OUT: &[(&str, &str)] = &[
    ("SIMD support is not enabled", "simd"),
    ("unexpected SIMD opcode", "simd"),
    ("relaxed SIMD support is not enabled", "relaxed-simd"),
    ("shared-everything-threads support is not enabled", "shared-everything-threads"),
    ("threads support is not enabled", "threads"),
    ("legacy exceptions support is not enabled", "legacy-exceptions"),
    ("exceptions support is not enabled", "exceptions"),
    ("exceptions proposal not enabled", "exceptions"),
    ("function references support is not enabled", "function-references"),
    ("gc support is not enabled", "gc"),
    ("stack switching support is not enabled", "stack-switching"),
    ("wide arithmetic support is not enabled", "wide-arithmetic"),
    ("memory control support is not enabled", "memory-control"),
    ("memory64 must be enabled", "memory64"),
];

/// A reader's or the validator's refusal of a proposal the core does not implement, as
/// [`Error::Unsupported`] naming it, the way the decoder words its own. A proposal the core
/// implements but the config leaves out stays the validator's (a module with two results
/// is invalid under 1.0's rules).
#[cfg(feature = "wasm")]
fn left_out(message: &str, offset: usize) -> Option<Error> {
    let &(_, feature) = LEFT_OUT.iter().find(|(words, _)| message.contains(words))?;
    Features::from_proposal(feature).is_none().then_some(Error::Unsupported { feature, offset })
}

#[cfg(feature = "wasm")]
fn invalid(message: impl Into<String>, offset: usize) -> Error {
    Error::Invalid { message: message.into(), offset }
}

#[cfg(feature = "wasm")]
fn unsupported(feature: &'static str, offset: usize) -> Error {
    Error::Unsupported { feature, offset }
}

/// `len` as a `u32` index-space size.
#[cfg(feature = "wasm")]
fn len_u32(len: usize, what: &'static str) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::Limit { what, value: len as u64, limit: u32::MAX as u64 })
}
