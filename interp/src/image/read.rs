//! Reading an image: the header checked against this core and config, the body decoded
//! with every count bounded by the bytes left, and the whole module checked as the decoder
//! and the translator would have left it, before anything of it can run.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::config::Config;
use crate::error::{Error, ExternKind};
use crate::heap::{BoardSize, HeapAccount, HeapUse};
use crate::ir::{INSTR_BYTES, Instr, MAX_CODE, frame_set_up};
use crate::module::{
    Bytes, ConstExpr, ConstOp, DataMode, DataSegment, ElemMode, ElemSegment, Export, FuncHeader,
    GlobalType, Import, ImportType, MemoryType, Module, ModuleInner, Part, Shared, TableType,
};
use crate::raw::code::{NotCode, code_in};
use crate::store::{Store, try_reserve};
use crate::value::{FuncType, Slot, ValType};
use crate::verify::{Spaces, verify_function};

use super::{FORMAT_VERSION, Fingerprint, HEADER_BYTES, HEADER_ENTRY_BYTES, MAGIC, image_checksum};

impl Module {
    /// The module an image ([`Module::to_image`]) holds, for a store with `config`: the
    /// header must name this core and `config`'s features and fuel setting
    /// ([`Error::ImageMismatch`] says which differs), and the body must decode into a module
    /// whose parts fit each other and whose code passes the translator's own check
    /// ([`Error::BadImage`] says what is wrong, and where). The bytes are copied.
    pub fn from_image(config: &Config, bytes: &[u8]) -> Result<Module, Error> {
        read(config, bytes, &mut HeapAccount::new(None), Copied)
    }

    /// The module an image in flash holds, as [`Module::from_image`] reads it, with its
    /// large parts read in place rather than copied: the code, the function headers, the
    /// constants and the data segments' bytes cost no RAM; the small parts (types, imports,
    /// exports, the segments' descriptions) are copied. The image must start at an 8-byte
    /// boundary (`#[repr(align(8))]` around its `include_bytes!`), or it is refused.
    pub fn from_static_image(config: &Config, bytes: &'static [u8]) -> Result<Module, Error> {
        read(config, InPlace::start(bytes)?, &mut HeapAccount::new(None), InPlace)
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
        let module = read(&self.config, bytes, &mut heap, Copied)?;
        self.heap = heap;
        Ok(module)
    }

    /// [`Module::from_static_image`], charged to the store's heap account as
    /// [`Store::load_image`] charges (what stays in flash is not charged).
    pub fn load_static_image(&mut self, bytes: &'static [u8]) -> Result<Module, Error> {
        let mut heap = self.heap;
        let module = read(&self.config, InPlace::start(bytes)?, &mut heap, InPlace)?;
        self.heap = heap;
        Ok(module)
    }
}

/// The module in `bytes`, charged to `heap` as it is read, its large parts held by `holder`;
/// checked as a whole ([`verify`]) before it is kept.
fn read<'a, H: Holder<'a>>(
    config: &Config,
    bytes: &'a [u8],
    heap: &mut HeapAccount,
    holder: H,
) -> Result<Module, Error> {
    check_header(config, bytes)?;
    let mut r = Reader { bytes, at: HEADER_BYTES, heap, holder };
    let inner = r.module(config)?;
    if r.at != bytes.len() {
        return Err(r.bad("bytes after the code"));
    }
    verify(&inner).map_err(|reason| Error::BadImage { reason, offset: 0 })?;
    // The module itself, behind its `Shared`'s two counts.
    r.heap.charge(8 + ModuleInner::BYTES, HeapUse::Module)?;
    Ok(Module { inner: Shared::new(inner) })
}

/// How an image's large parts are held: copied into RAM and charged ([`Copied`]), or lent
/// in place by an image in flash ([`InPlace`]). Each is given its bytes, exactly as long as
/// its items, at `offset` in the image (for errors), aligned there for its items.
trait Holder<'a> {
    fn data(&self, heap: &mut HeapAccount, bytes: &'a [u8]) -> Result<Bytes, Error>;
    fn headers(
        &self,
        heap: &mut HeapAccount,
        bytes: &'a [u8],
        offset: usize,
    ) -> Result<Part<FuncHeader>, Error>;
    fn consts(
        &self,
        heap: &mut HeapAccount,
        bytes: &'a [u8],
        offset: usize,
    ) -> Result<Part<Slot>, Error>;
    fn code(
        &self,
        heap: &mut HeapAccount,
        bytes: &'a [u8],
        offset: usize,
    ) -> Result<Part<Instr>, Error>;
}

/// Parts copied into RAM, charged before each is allocated.
struct Copied;

/// Parts lent in place by an image that lives for ever (flash): nothing copied or charged.
struct InPlace;

impl<'a> Holder<'a> for Copied {
    fn data(&self, heap: &mut HeapAccount, bytes: &'a [u8]) -> Result<Bytes, Error> {
        heap.charge(8 + bytes.len() as u64, HeapUse::Module)?;
        Ok(Bytes::Shared(Shared::from(bytes)))
    }

    fn headers(
        &self,
        heap: &mut HeapAccount,
        bytes: &'a [u8],
        offset: usize,
    ) -> Result<Part<FuncHeader>, Error> {
        let header = |h: &[u8], _| {
            let u16_at = |at: usize| u16::from_le_bytes([h[at], h[at + 1]]);
            let u32_at = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
            Ok(FuncHeader {
                entry: u32_at(0),
                consts: u32_at(4),
                params: u16_at(8),
                results: u16_at(10),
                locals: u16_at(12),
                num_consts: u16_at(14),
                frame_size: u16_at(16),
                reserved: u16_at(18),
            })
        };
        copied(heap, bytes, offset, HEADER_ENTRY_BYTES, header)
    }

    fn consts(
        &self,
        heap: &mut HeapAccount,
        bytes: &'a [u8],
        offset: usize,
    ) -> Result<Part<Slot>, Error> {
        let slot =
            |c: &[u8], _| Ok(Slot::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        copied(heap, bytes, offset, 8, slot)
    }

    fn code(
        &self,
        heap: &mut HeapAccount,
        bytes: &'a [u8],
        offset: usize,
    ) -> Result<Part<Instr>, Error> {
        let instr = |chunk: &[u8], at| {
            let bad = Error::BadImage { reason: "an unknown kind of instruction", offset: at };
            let encoded = chunk.try_into().map_err(|_| bad.clone())?;
            Instr::decode(encoded).ok_or(bad)
        };
        copied(heap, bytes, offset, INSTR_BYTES, instr)
    }
}

/// The items of `size` bytes each in `bytes` (at `offset` in the image), decoded by `item`
/// (given an item's bytes and offset) into a vector of their own, charged before it is
/// allocated.
fn copied<T: BoardSize>(
    heap: &mut HeapAccount,
    bytes: &[u8],
    offset: usize,
    size: usize,
    mut item: impl FnMut(&[u8], usize) -> Result<T, Error>,
) -> Result<Part<T>, Error> {
    let mut items = Vec::new();
    heap.reserve_exact(&mut items, bytes.len() / size, HeapUse::Module)?;
    for (i, chunk) in bytes.chunks_exact(size).enumerate() {
        items.push(item(chunk, offset + i * size)?);
    }
    Ok(Part::Owned(items))
}

/// Why a part cannot be read in place where it lies.
const MISALIGNED: &str = "an image read in place that does not start at an 8-byte boundary";

impl InPlace {
    /// `bytes` if an image there can be read in place: at an 8-byte boundary (each part is
    /// aligned from the image's start), on a little-endian target.
    fn start(bytes: &'static [u8]) -> Result<&'static [u8], Error> {
        if cfg!(target_endian = "big") {
            return Err(Error::BadImage { reason: BIG_ENDIAN, offset: 0 });
        }
        if !bytes.as_ptr().addr().is_multiple_of(8) {
            return Err(Error::BadImage { reason: MISALIGNED, offset: 0 });
        }
        Ok(bytes)
    }

    /// `bytes` viewed as `T`s, which the image lays out as `T` is laid out here (little-endian:
    /// [`InPlace::start`] refused a big-endian target); refused where they are misaligned.
    fn view<T: bytemuck::Pod>(bytes: &'static [u8], offset: usize) -> Result<&'static [T], Error> {
        bytemuck::try_cast_slice(bytes).map_err(|_| Error::BadImage { reason: MISALIGNED, offset })
    }
}

/// Why nothing can be read in place on this target.
const BIG_ENDIAN: &str = "an image read in place on a big-endian target (read it with from_image)";

impl Holder<'static> for InPlace {
    fn data(&self, _: &mut HeapAccount, bytes: &'static [u8]) -> Result<Bytes, Error> {
        Ok(Bytes::Static(bytes))
    }

    fn headers(
        &self,
        _: &mut HeapAccount,
        bytes: &'static [u8],
        offset: usize,
    ) -> Result<Part<FuncHeader>, Error> {
        Ok(Part::Static(Self::view(bytes, offset)?))
    }

    fn consts(
        &self,
        _: &mut HeapAccount,
        bytes: &'static [u8],
        offset: usize,
    ) -> Result<Part<Slot>, Error> {
        Ok(Part::Static(Self::view(bytes, offset)?))
    }

    fn code(
        &self,
        _: &mut HeapAccount,
        bytes: &'static [u8],
        offset: usize,
    ) -> Result<Part<Instr>, Error> {
        let bad = |reason, offset| Error::BadImage { reason, offset };
        match code_in(bytes) {
            Ok(instrs) => Ok(Part::Static(instrs)),
            Err(NotCode::Misaligned) => Err(bad(MISALIGNED, offset)),
            Err(NotCode::Length) => Err(bad("ends too soon", offset)),
            Err(NotCode::ByteOrder) => Err(bad(BIG_ENDIAN, offset)),
            Err(NotCode::Kind(i)) => {
                Err(bad("an unknown kind of instruction", offset + i * INSTR_BYTES))
            }
        }
    }
}

/// Whether the header says `bytes` are an image of this format for this core and config,
/// of the length it gives and with its checksum.
fn check_header(config: &Config, bytes: &[u8]) -> Result<(), Error> {
    read_header(bytes)?.check(&Fingerprint::of(config))
}

impl Module {
    /// The config an image was made for, as its header states it: a config with the
    /// image's features and fuel setting (and the default limits), with which
    /// [`Module::from_image`] reads it. The header must name this core and the body be
    /// whole ([`Error::ImageMismatch`], [`Error::BadImage`]); the body is not decoded.
    pub fn image_config(bytes: &[u8]) -> Result<Config, Error> {
        let made = read_header(bytes)?;
        let here = Fingerprint::of(&Config::new());
        made.check(&Fingerprint { features: made.features, flags: made.flags, ..here })?;
        let features = crate::config::Features::from_bits(made.features)
            .ok_or(Error::BadImage { reason: "features this core does not know", offset: 16 })?;
        Ok(Config::new().with_features(features).with_fuel(made.flags & super::FLAG_FUEL != 0))
    }
}

/// The header's fingerprint, once the header says `bytes` are a whole, undamaged image of
/// this format.
fn read_header(bytes: &[u8]) -> Result<Fingerprint, Error> {
    let bad = |reason, offset| Err(Error::BadImage { reason, offset });
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_BYTES>() else {
        return bad("shorter than an image's header", bytes.len());
    };
    if header[0..4] != MAGIC {
        return bad("not an image (no \"TNDM\" at its start)", 0);
    }
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or([0; 4]));
    if u16_at(4) != FORMAT_VERSION {
        return bad("another image format version", 4);
    }
    if header[15] != 0 {
        return bad("a reserved header byte that is not zero", 15);
    }
    let fingerprint = Fingerprint {
        kinds: u16_at(6),
        instruction_set: u32_at(8),
        version: [header[12], header[13], header[14]],
        features: u32_at(16),
        flags: u32_at(20),
    };
    if u32_at(24) as usize != body.len() {
        return bad("its length is not the one its header gives", 24);
    }
    if u32_at(28) != image_checksum(body) {
        return bad("its checksum does not match: damaged", 28);
    }
    Ok(fingerprint)
}

/// The body being read, each part charged before it is allocated, with the decoder's
/// figures; errors name the offset in the image.
struct Reader<'a, 'h, H> {
    bytes: &'a [u8],
    at: usize,
    heap: &'h mut HeapAccount,
    holder: H,
}

impl<'a, H: Holder<'a>> Reader<'a, '_, H> {
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
            Ok(DataSegment { mode, bytes: r.holder.data(r.heap, bytes)? })
        })?;
        m.data_count = self.option()?;
        let (headers, at) = self.aligned_items(HEADER_ENTRY_BYTES, 4)?;
        m.headers = self.holder.headers(self.heap, headers, at)?;
        let (consts, at) = self.aligned_items(8, 8)?;
        m.consts = self.holder.consts(self.heap, consts, at)?;
        let (code, at) = self.aligned_items(INSTR_BYTES, 4)?;
        m.code = self.holder.code(self.heap, code, at)?;
        Ok(m)
    }

    /// A list of items of `size` bytes each that may be read in place: its count, zero
    /// padding to a multiple of `align` from the image's start, then the items; their bytes
    /// and where they start.
    fn aligned_items(&mut self, size: usize, align: usize) -> Result<(&'a [u8], usize), Error> {
        let count = self.u32()? as usize;
        while !self.at.is_multiple_of(align) {
            if self.u8()? != 0 {
                return Err(self.bad("padding that is not zero"));
            }
        }
        let at = self.at;
        let len =
            count.checked_mul(size).ok_or_else(|| self.bad("a count past the image's end"))?;
        Ok((self.take(len)?, at))
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
    if m.code.len() > MAX_CODE {
        return Err("more code than positions the executor can save");
    }
    let spaces = Spaces {
        funcs,
        imported_funcs: m.num_imported_funcs,
        consts: len(m.consts.len()),
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
        if h.reserved != 0 {
            return Err("a function header whose reserved field is not zero");
        }
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
        // Every way into a function runs its set-up (`Instr::InitLocals`): code without
        // it would read the slots' stale values as its locals and constants.
        if let Some(set_up) = frame_set_up(h.params, h.locals, h.consts, h.num_consts) {
            let at = h.entry as usize + usize::from(m.fuel);
            if at >= end || m.code[at] != set_up {
                return Err("a function whose code does not set its frame up first");
            }
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
