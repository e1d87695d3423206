//! Reading an image: the header checked against this core and config, the body decoded
//! with every count bounded by the bytes left, and the whole module checked as the decoder
//! and the translator would have left it, before anything of it can run.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::config::Config;
use crate::error::{Error, ExternKind};
use crate::heap::{BoardSize, HeapAccount, HeapUse};
use crate::ir::{INSTR_BYTES, Instr};
use crate::module::{
    Code, ConstExpr, ConstOp, DataMode, DataSegment, ElemMode, ElemSegment, Export, FuncHeader,
    GlobalType, Import, ImportType, MemoryType, Module, ModuleInner, TableType,
};
use crate::raw::code::{NotCode, code_in};
use crate::store::{Store, try_reserve};
use crate::value::{FuncType, ValType};
use crate::verify::{Spaces, verify_function};

use super::{FORMAT_VERSION, Fingerprint, HEADER_BYTES, MAGIC, fnv1a32};

impl Module {
    /// The module an image ([`Module::to_image`]) holds, for a store with `config`: the
    /// header must name this core and `config`'s features and fuel setting
    /// ([`Error::ImageMismatch`] says which differs), and the body must decode into a module
    /// whose parts fit each other and whose code passes the translator's own check
    /// ([`Error::BadImage`] says what is wrong, and where). The bytes are copied.
    pub fn from_image(config: &Config, bytes: &[u8]) -> Result<Module, Error> {
        read(config, bytes, &mut HeapAccount::new(None))
    }

    /// The module an image in flash holds, as [`Module::from_image`] reads it, with the
    /// code read in place rather than copied: it costs no RAM (what is copied is the
    /// module's small parts: types, imports, exports, segments' descriptions, constants).
    /// The image must start at a 4-byte boundary (`#[repr(align(4))]` around its
    /// `include_bytes!`), or it is refused.
    pub fn from_static_image(config: &Config, bytes: &'static [u8]) -> Result<Module, Error> {
        read_static(config, bytes, &mut HeapAccount::new(None))
    }
}

impl Store {
    /// Reads an image like [`Module::from_image`] with the store's config, charging the
    /// module to the store's heap account before each part is allocated, as
    /// `Store::load_module` does: an image whose module does not fit `Config::max_heap` is
    /// refused with [`Error::HeapExhausted`], and a refused image leaves the account as it
    /// was. The charge stays for the store's lifetime.
    pub fn load_image(&mut self, bytes: &[u8]) -> Result<Module, Error> {
        let mut heap = self.heap;
        let module = read(&self.config, bytes, &mut heap)?;
        self.heap = heap;
        Ok(module)
    }

    /// [`Module::from_static_image`], charged to the store's heap account as
    /// [`Store::load_image`] charges (the code, left in flash, is not charged).
    pub fn load_static_image(&mut self, bytes: &'static [u8]) -> Result<Module, Error> {
        let mut heap = self.heap;
        let module = read_static(&self.config, bytes, &mut heap)?;
        self.heap = heap;
        Ok(module)
    }
}

/// The module in `bytes`, its code copied, all charged to `heap` as it is read.
fn read(config: &Config, bytes: &[u8], heap: &mut HeapAccount) -> Result<Module, Error> {
    let (mut inner, code) = read_parts(config, bytes, heap)?;
    inner.code = owned_code(code, heap)?;
    finish(inner, heap)
}

/// The module in `bytes`, its code left where it is.
fn read_static(
    config: &Config,
    bytes: &'static [u8],
    heap: &mut HeapAccount,
) -> Result<Module, Error> {
    let (mut inner, code) = read_parts(config, bytes, heap)?;
    inner.code = static_code(code)?;
    finish(inner, heap)
}

/// Where the code lies in an image.
struct CodeBytes<'a> {
    bytes: &'a [u8],
    offset: usize,
}

/// Everything but the code, charged to `heap`, and where the code is.
fn read_parts<'a>(
    config: &Config,
    bytes: &'a [u8],
    heap: &mut HeapAccount,
) -> Result<(ModuleInner, CodeBytes<'a>), Error> {
    check_header(config, bytes)?;
    let mut r = Reader { bytes, at: HEADER_BYTES, heap };
    let inner = r.module(config)?;
    let code = r.code_bytes()?;
    if r.at != bytes.len() {
        return Err(r.bad("bytes after the code"));
    }
    Ok((inner, code))
}

/// The code decoded into a vector of its own, charged.
fn owned_code(code: CodeBytes<'_>, heap: &mut HeapAccount) -> Result<Code, Error> {
    let mut owned = Vec::new();
    heap.reserve_exact(&mut owned, code.bytes.len() / INSTR_BYTES, HeapUse::Module)?;
    for (i, chunk) in code.bytes.chunks_exact(INSTR_BYTES).enumerate() {
        let at = code.offset + i * INSTR_BYTES;
        let bad = Error::BadImage { reason: "an unknown kind of instruction", offset: at };
        let encoded = chunk.try_into().map_err(|_| bad.clone())?;
        owned.push(Instr::decode(encoded).ok_or(bad)?);
    }
    Ok(Code::Owned(owned))
}

/// The code read in place (from flash): nothing copied, nothing charged.
fn static_code(code: CodeBytes<'static>) -> Result<Code, Error> {
    let bad = |reason, offset| Error::BadImage { reason, offset };
    match code_in(code.bytes) {
        Ok(instrs) => Ok(Code::Static(instrs)),
        Err(NotCode::Misaligned) => {
            Err(bad("an image read in place that does not start at a 4-byte boundary", code.offset))
        }
        Err(NotCode::Length) => Err(bad("ends too soon", code.offset)),
        Err(NotCode::ByteOrder) => {
            Err(bad("code read in place on a big-endian target (use from_image)", code.offset))
        }
        Err(NotCode::Kind(i)) => {
            Err(bad("an unknown kind of instruction", code.offset + i * INSTR_BYTES))
        }
    }
}

/// The module checked as a whole ([`verify`]) and kept, charged.
fn finish(inner: ModuleInner, heap: &mut HeapAccount) -> Result<Module, Error> {
    verify(&inner).map_err(|reason| Error::BadImage { reason, offset: 0 })?;
    // The module itself, behind its `Arc`'s two counts.
    heap.charge(8 + ModuleInner::BYTES, HeapUse::Module)?;
    Ok(Module { inner: Arc::new(inner) })
}

/// Whether the header says `bytes` are an image of this format for this core and config,
/// of the length it gives and with its checksum.
fn check_header(config: &Config, bytes: &[u8]) -> Result<(), Error> {
    let bad = |reason| Err(Error::BadImage { reason, offset: 0 });
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_BYTES>() else {
        return bad("shorter than an image's header");
    };
    if header[0..4] != MAGIC {
        return bad("not an image (no \"TNDM\" at its start)");
    }
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or([0; 4]));
    if u16_at(4) != FORMAT_VERSION {
        return bad("another image format version");
    }
    if header[15] != 0 {
        return bad("a reserved header byte that is not zero");
    }
    let fingerprint = Fingerprint {
        kinds: u16_at(6),
        instruction_set: u32_at(8),
        version: [header[12], header[13], header[14]],
        features: u32_at(16),
        flags: u32_at(20),
    };
    fingerprint.check(&Fingerprint::of(config))?;
    if u32_at(24) as usize != body.len() {
        return bad("its length is not the one its header gives");
    }
    if u32_at(28) != fnv1a32(body) {
        return bad("its checksum does not match: damaged");
    }
    Ok(())
}

/// The body being read, each part charged before it is allocated, with the decoder's
/// figures; errors name the offset in the image.
struct Reader<'a, 'h> {
    bytes: &'a [u8],
    at: usize,
    heap: &'h mut HeapAccount,
}

impl<'a> Reader<'a, '_> {
    fn bad(&self, reason: &'static str) -> Error {
        Error::BadImage { reason, offset: self.at }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| self.bad("ends too soon"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        let b = self.take(8)?;
        let mut v = [0; 8];
        v.copy_from_slice(b);
        Ok(u64::from_le_bytes(v))
    }

    fn bool(&mut self) -> Result<bool, Error> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.bad("a flag other than 0 or 1")),
        }
    }

    fn option(&mut self) -> Result<Option<u32>, Error> {
        let present = self.bool()?;
        let v = self.u32()?;
        Ok(present.then_some(v))
    }

    fn str(&mut self) -> Result<Box<str>, Error> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        self.heap.charge(len as u64, HeapUse::Module)?;
        let text = core::str::from_utf8(bytes).map_err(|_| self.bad("a name that is not UTF-8"))?;
        Ok(Box::from(text))
    }

    /// A list of `item`s, each at least `min_bytes` long: its count cannot promise more
    /// items than the bytes left hold, so a damaged count never allocates much.
    fn list<T: BoardSize>(
        &mut self,
        min_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let count = self.u32()? as usize;
        if count.saturating_mul(min_bytes) > self.bytes.len() - self.at {
            return Err(self.bad("a count past the image's end"));
        }
        let mut items = Vec::new();
        self.heap.reserve_exact(&mut items, count, HeapUse::Module)?;
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn val_type(&mut self) -> Result<ValType, Error> {
        Ok(match self.u8()? {
            0 => ValType::I32,
            1 => ValType::I64,
            2 => ValType::F32,
            3 => ValType::F64,
            4 => ValType::FuncRef,
            5 => ValType::ExternRef,
            _ => return Err(self.bad("an unknown value type")),
        })
    }

    fn ref_type(&mut self) -> Result<ValType, Error> {
        match self.val_type()? {
            t @ (ValType::FuncRef | ValType::ExternRef) => Ok(t),
            _ => Err(self.bad("a table or segment of numbers")),
        }
    }

    fn extern_kind(&mut self) -> Result<ExternKind, Error> {
        Ok(match self.u8()? {
            0 => ExternKind::Func,
            1 => ExternKind::Table,
            2 => ExternKind::Memory,
            3 => ExternKind::Global,
            _ => return Err(self.bad("an unknown kind of export")),
        })
    }

    fn table_type(&mut self) -> Result<TableType, Error> {
        Ok(TableType { elem: self.ref_type()?, initial: self.u32()?, maximum: self.option()? })
    }

    fn memory_type(&mut self) -> Result<MemoryType, Error> {
        let (initial, maximum) = (self.u32()?, self.option()?);
        let log2 = self.u8()?;
        if log2 != 0 && log2 != 16 {
            return Err(self.bad("a page size other than 1 byte or 64 KiB"));
        }
        let ty = MemoryType::new(initial, maximum).with_page_size_log2(log2);
        if initial > ty.max_pages() || maximum.is_some_and(|max| max > ty.max_pages()) {
            return Err(self.bad("a memory larger than 4 GiB"));
        }
        Ok(ty)
    }

    fn global_type(&mut self) -> Result<GlobalType, Error> {
        Ok(GlobalType { content: self.val_type()?, mutable: self.bool()? })
    }

    fn const_expr(&mut self) -> Result<ConstExpr, Error> {
        Ok(match self.u8()? {
            0 => ConstExpr::Value(self.u64()?),
            1 => ConstExpr::Global(self.u32()?),
            2 => ConstExpr::RefFunc(self.u32()?),
            3 => ConstExpr::Extended { start: self.u32()?, len: self.u32()? },
            _ => return Err(self.bad("an unknown constant expression")),
        })
    }

    fn const_op(&mut self) -> Result<ConstOp, Error> {
        Ok(match self.u8()? {
            0 => ConstOp::Value(self.u64()?),
            1 => ConstOp::Global(self.u32()?),
            2 => ConstOp::I32Add,
            3 => ConstOp::I32Sub,
            4 => ConstOp::I32Mul,
            5 => ConstOp::I64Add,
            6 => ConstOp::I64Sub,
            7 => ConstOp::I64Mul,
            _ => return Err(self.bad("an unknown constant step")),
        })
    }

    /// The body, in the order `write.rs` writes it.
    fn module(&mut self, config: &Config) -> Result<ModuleInner, Error> {
        let mut m = ModuleInner { fuel: config.fuel, ..ModuleInner::default() };
        m.types = self.list(8, |r| {
            let (params, results) = (r.u32()? as usize, r.u32()? as usize);
            let types = r.list_of(params.saturating_add(results))?;
            r.heap.charge(types.len() as u64, HeapUse::Module)?;
            Ok(FuncType::new(types[..params].iter().copied(), types[params..].iter().copied()))
        })?;
        m.imports = self.list(9, |r| {
            let (module, name) = (r.str()?, r.str()?);
            let ty = match r.u8()? {
                0 => ImportType::Func(r.u32()?),
                1 => ImportType::Table(r.table_type()?),
                2 => ImportType::Memory(r.memory_type()?),
                3 => ImportType::Global(r.global_type()?),
                _ => return Err(r.bad("an unknown kind of import")),
            };
            Ok(Import { module, name, ty })
        })?;
        m.funcs = self.list(4, Self::u32)?;
        m.num_imported_funcs = self.u32()?;
        m.tables = self.list(6, Self::table_type)?;
        m.num_imported_tables = self.u32()?;
        m.memories = self.list(10, Self::memory_type)?;
        m.num_imported_memories = self.u32()?;
        m.globals = self.list(2, Self::global_type)?;
        m.num_imported_globals = self.u32()?;
        m.global_inits = self.list(5, Self::const_expr)?;
        m.const_ops = self.list(1, Self::const_op)?;
        m.exports = self
            .list(9, |r| Ok(Export { name: r.str()?, kind: r.extern_kind()?, index: r.u32()? }))?;
        m.start = self.option()?;
        m.elems = self.list(6, |r| {
            let mode = match r.u8()? {
                0 => ElemMode::Passive,
                1 => ElemMode::Active { table: r.u32()?, offset: r.const_expr()? },
                2 => ElemMode::Declared,
                _ => return Err(r.bad("an unknown element segment mode")),
            };
            let ty = r.ref_type()?;
            let items = r.list(5, Self::const_expr)?.into_boxed_slice();
            Ok(ElemSegment { mode, ty, items })
        })?;
        m.datas = self.list(5, |r| {
            let mode = match r.u8()? {
                0 => DataMode::Passive,
                1 => DataMode::Active { memory: r.u32()?, offset: r.const_expr()? },
                _ => return Err(r.bad("an unknown data segment mode")),
            };
            let len = r.u32()? as usize;
            let bytes = r.take(len)?;
            r.heap.charge(8 + len as u64, HeapUse::Module)?;
            Ok(DataSegment { mode, bytes: Arc::from(bytes) })
        })?;
        m.data_count = self.option()?;
        m.headers = self.list(18, |r| {
            Ok(FuncHeader {
                entry: r.u32()?,
                params: r.u16()?,
                results: r.u16()?,
                locals: r.u16()?,
                consts: r.u32()?,
                num_consts: r.u16()?,
                frame_size: r.u16()?,
            })
        })?;
        m.consts = self.list(8, Self::u64)?;
        Ok(m)
    }

    /// The code's bytes: its count, zero padding to a multiple of 4 from the image's start,
    /// then 12 bytes per instruction.
    fn code_bytes(&mut self) -> Result<CodeBytes<'a>, Error> {
        let count = self.u32()? as usize;
        while !self.at.is_multiple_of(4) {
            if self.u8()? != 0 {
                return Err(self.bad("padding before the code that is not zero"));
            }
        }
        let offset = self.at;
        let len = count.checked_mul(INSTR_BYTES).ok_or_else(|| self.bad("too much code"))?;
        Ok(CodeBytes { bytes: self.take(len)?, offset })
    }

    /// `n` value types.
    fn list_of(&mut self, n: usize) -> Result<Vec<ValType>, Error> {
        if n > self.bytes.len() - self.at {
            return Err(self.bad("a count past the image's end"));
        }
        let mut types = Vec::new();
        try_reserve(&mut types, n)?;
        for _ in 0..n {
            types.push(self.val_type()?);
        }
        Ok(types)
    }
}

/// The checks the decoder and the translator make as they build a module, made on one an
/// image brings: every part fits the others, and every function's code passes
/// [`verify_function`].
fn verify(m: &ModuleInner) -> Result<(), &'static str> {
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let imported =
        |kind: ExternKind| len(m.imports.iter().filter(|i| import_kind(&i.ty) == kind).count());
    if (
        m.num_imported_funcs,
        m.num_imported_tables,
        m.num_imported_memories,
        m.num_imported_globals,
    ) != (
        imported(ExternKind::Func),
        imported(ExternKind::Table),
        imported(ExternKind::Memory),
        imported(ExternKind::Global),
    ) {
        return Err("import counts that disagree with the imports");
    }
    let types = len(m.types.len());
    let funcs = len(m.funcs.len());
    let globals = len(m.globals.len());
    if m.funcs.iter().any(|&t| t >= types) {
        return Err("a function of an unknown type");
    }
    let mut func_imports = m.imports.iter().filter_map(|i| match i.ty {
        ImportType::Func(t) => Some(t),
        _ => None,
    });
    if !m.funcs.iter().take(m.num_imported_funcs as usize).all(|&t| func_imports.next() == Some(t))
    {
        return Err("imported functions whose types disagree with the imports");
    }
    if m.num_imported_funcs > funcs
        || m.num_imported_tables as usize > m.tables.len()
        || m.num_imported_memories as usize > m.memories.len()
        || m.num_imported_globals > globals
    {
        return Err("more imports of a kind than the kind has");
    }
    if m.global_inits.len() != (globals - m.num_imported_globals) as usize {
        return Err("defined globals without an initialiser, or initialisers without a global");
    }
    let const_ok = |e: &ConstExpr| match *e {
        ConstExpr::Value(_) => true,
        ConstExpr::Global(g) => g < globals,
        ConstExpr::RefFunc(f) => f < funcs,
        ConstExpr::Extended { start, len } => {
            (start as usize).checked_add(len as usize).is_some_and(|end| end <= m.const_ops.len())
        }
    };
    if !m.global_inits.iter().all(const_ok) {
        return Err("a constant expression naming something that does not exist");
    }
    if m.const_ops.iter().any(|op| matches!(*op, ConstOp::Global(g) if g >= globals)) {
        return Err("a constant step reading an unknown global");
    }
    for e in &m.exports {
        let space = match e.kind {
            ExternKind::Func => funcs,
            ExternKind::Table => len(m.tables.len()),
            ExternKind::Memory => len(m.memories.len()),
            ExternKind::Global => globals,
        };
        if e.index >= space {
            return Err("an export of something that does not exist");
        }
    }
    if m.start.is_some_and(|s| s >= funcs) {
        return Err("a start function that does not exist");
    }
    for e in &m.elems {
        if let ElemMode::Active { table, offset } = &e.mode
            && (*table as usize >= m.tables.len() || !const_ok(offset))
        {
            return Err("an element segment for an unknown table");
        }
        if !e.items.iter().all(const_ok) {
            return Err("an element naming something that does not exist");
        }
    }
    for d in &m.datas {
        if let DataMode::Active { memory, offset } = &d.mode
            && (*memory as usize >= m.memories.len() || !const_ok(offset))
        {
            return Err("a data segment for an unknown memory");
        }
    }
    if m.data_count.is_some_and(|n| n as usize != m.datas.len()) {
        return Err("a data count that disagrees with the data segments");
    }
    if m.headers.len() != (funcs - m.num_imported_funcs) as usize {
        return Err("defined functions without code, or code without a function");
    }
    let spaces = Spaces {
        funcs,
        types,
        tables: len(m.tables.len()),
        memories: len(m.memories.len()),
        globals,
        datas: len(m.datas.len()),
        elems: len(m.elems.len()),
    };
    let mut expected_entry = 0usize;
    for (i, h) in m.headers.iter().enumerate() {
        let end = m.headers.get(i + 1).map_or(m.code.len(), |next| next.entry as usize);
        if h.entry as usize != expected_entry || end > m.code.len() || end <= expected_entry {
            return Err("function code out of order or out of the code");
        }
        expected_entry = end;
        let ty = &m.types[m.funcs[m.num_imported_funcs as usize + i] as usize];
        if (h.params as usize, h.results as usize) != (ty.params().len(), ty.results().len()) {
            return Err("a function whose frame disagrees with its type");
        }
        let consts_end = (h.consts as usize).checked_add(h.num_consts as usize);
        if h.params > h.locals
            || u32::from(h.locals) + u32::from(h.num_consts) > u32::from(h.frame_size)
            || consts_end.is_none_or(|end| end > m.consts.len())
        {
            return Err("a function whose frame does not hold its locals and constants");
        }
        verify_function(&m.code[..end], h.entry as usize, h.frame_size.into(), &spaces, m.fuel)?;
    }
    if expected_entry != m.code.len() {
        return Err("code that belongs to no function");
    }
    Ok(())
}

fn import_kind(ty: &ImportType) -> ExternKind {
    match ty {
        ImportType::Func(_) => ExternKind::Func,
        ImportType::Table(_) => ExternKind::Table,
        ImportType::Memory(_) => ExternKind::Memory,
        ImportType::Global(_) => ExternKind::Global,
    }
}
