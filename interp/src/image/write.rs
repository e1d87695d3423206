//! Writing an image: the header, then the module's parts in the order `read.rs` reads them.

use alloc::vec::Vec;

use crate::config::Config;
use crate::error::{Error, ExternKind};
use crate::ir::INSTR_BYTES;
use crate::module::{
    ConstExpr, ConstOp, DataMode, ElemMode, GlobalType, ImportType, MemoryType, Module, TableType,
};
use crate::value::ValType;

use super::{FORMAT_VERSION, Fingerprint, HEADER_BYTES, MAGIC, image_checksum};

impl Module {
    /// The module as an image for a core like this one with `config`'s features and fuel
    /// setting: everything [`Module::from_image`] needs to run it without decoding or
    /// translating. `config` must be the one the module was made with
    /// ([`Error::ConfigMismatch`] for another fuel setting).
    pub fn to_image(&self, config: &Config) -> Result<Vec<u8>, Error> {
        let m = &*self.inner;
        if m.fuel != config.fuel {
            return Err(Error::ConfigMismatch { what: "fuel metering" });
        }
        let mut out = Out(Vec::new());
        out.0.resize(HEADER_BYTES, 0);
        out.u32(m.types.len());
        for ty in &m.types {
            out.u32(ty.params().len());
            out.u32(ty.results().len());
            ty.params().iter().chain(ty.results()).for_each(|&t| out.val_type(t));
        }
        out.u32(m.imports.len());
        for import in &m.imports {
            out.str(&import.module);
            out.str(&import.name);
            match import.ty {
                ImportType::Func(ty) => {
                    out.u8(0);
                    out.u32(ty as usize);
                }
                ImportType::Table(t) => {
                    out.u8(1);
                    out.table_type(t);
                }
                ImportType::Memory(t) => {
                    out.u8(2);
                    out.memory_type(t);
                }
                ImportType::Global(t) => {
                    out.u8(3);
                    out.global_type(t);
                }
            }
        }
        out.list(&m.funcs, |out, &ty| out.u32(ty as usize));
        out.u32(m.num_imported_funcs as usize);
        out.list(&m.tables, |out, &t| out.table_type(t));
        out.u32(m.num_imported_tables as usize);
        out.list(&m.memories, |out, &t| out.memory_type(t));
        out.u32(m.num_imported_memories as usize);
        out.list(&m.globals, |out, &t| out.global_type(t));
        out.u32(m.num_imported_globals as usize);
        out.list(&m.global_inits, |out, &e| out.const_expr(e));
        out.list(&m.const_ops, |out, &op| out.const_op(op));
        out.list(&m.exports, |out, e| {
            out.str(&e.name);
            out.extern_kind(e.kind);
            out.u32(e.index as usize);
        });
        out.option(m.start);
        out.list(&m.elems, |out, e| {
            match &e.mode {
                ElemMode::Passive => out.u8(0),
                ElemMode::Active { table, offset } => {
                    out.u8(1);
                    out.u32(*table as usize);
                    out.const_expr(*offset);
                }
                ElemMode::Declared => out.u8(2),
            }
            out.val_type(e.ty);
            out.list(&e.items, |out, &item| out.const_expr(item));
        });
        out.list(&m.datas, |out, d| {
            match &d.mode {
                DataMode::Passive => out.u8(0),
                DataMode::Active { memory, offset } => {
                    out.u8(1);
                    out.u32(*memory as usize);
                    out.const_expr(*offset);
                }
            }
            out.u32(d.bytes.len());
            out.0.extend_from_slice(&d.bytes);
        });
        out.option(m.data_count);
        // The large parts, each aligned for its items from the image's start, in their
        // in-memory layout (little-endian), so an image in flash lends them in place.
        out.aligned(m.headers.len(), 4);
        for h in m.headers.iter() {
            out.u32(h.entry as usize);
            out.u32(h.consts as usize);
            for half in [h.params, h.results, h.locals, h.num_consts, h.frame_size, h.reserved] {
                out.u16(half);
            }
        }
        out.aligned(m.consts.len(), 8);
        m.consts.iter().for_each(|&slot| out.u64(slot));
        out.aligned(m.code.len(), 4);
        out.0.reserve(m.code.len() * INSTR_BYTES);
        m.code.iter().for_each(|instr| out.0.extend_from_slice(&instr.encode()));

        let body_len = out.0.len() - HEADER_BYTES;
        let header =
            header(&Fingerprint::of(config), body_len, image_checksum(&out.0[HEADER_BYTES..]));
        out.0[..HEADER_BYTES].copy_from_slice(&header);
        Ok(out.0)
    }
}

/// The header for a body of `len` bytes with `checksum`.
pub(super) fn header(fp: &Fingerprint, len: usize, checksum: u32) -> [u8; HEADER_BYTES] {
    let mut h = [0; HEADER_BYTES];
    h[0..4].copy_from_slice(&MAGIC);
    h[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[6..8].copy_from_slice(&fp.kinds.to_le_bytes());
    h[8..12].copy_from_slice(&fp.instruction_set.to_le_bytes());
    h[12..15].copy_from_slice(&fp.version);
    h[16..20].copy_from_slice(&fp.features.to_le_bytes());
    h[20..24].copy_from_slice(&fp.flags.to_le_bytes());
    h[24..28].copy_from_slice(&(len as u32).to_le_bytes());
    h[28..32].copy_from_slice(&checksum.to_le_bytes());
    h
}

/// The body as it is written.
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A count or an index: every one a module holds fits 32 bits.
    fn u32(&mut self, v: usize) {
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn option(&mut self, v: Option<u32>) {
        self.u8(v.is_some().into());
        self.u32(v.unwrap_or(0) as usize);
    }

    fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.u32(items.len());
        items.iter().for_each(|i| item(self, i));
    }

    /// The count of a list whose items follow aligned to `align` from the image's start:
    /// the count, then zeros up to the boundary.
    fn aligned(&mut self, count: usize, align: usize) {
        self.u32(count);
        while !self.0.len().is_multiple_of(align) {
            self.u8(0);
        }
    }

    fn val_type(&mut self, t: ValType) {
        self.u8(match t {
            ValType::I32 => 0,
            ValType::I64 => 1,
            ValType::F32 => 2,
            ValType::F64 => 3,
            ValType::FuncRef => 4,
            ValType::ExternRef => 5,
        });
    }

    fn extern_kind(&mut self, k: ExternKind) {
        self.u8(match k {
            ExternKind::Func => 0,
            ExternKind::Table => 1,
            ExternKind::Memory => 2,
            ExternKind::Global => 3,
        });
    }

    fn table_type(&mut self, t: TableType) {
        self.val_type(t.elem);
        self.u32(t.initial as usize);
        self.option(t.maximum);
    }

    fn memory_type(&mut self, t: MemoryType) {
        self.u32(t.initial as usize);
        self.option(t.maximum);
        self.u8(t.page_size_log2);
    }

    fn global_type(&mut self, t: GlobalType) {
        self.val_type(t.content);
        self.u8(t.mutable.into());
    }

    fn const_expr(&mut self, e: ConstExpr) {
        match e {
            ConstExpr::Value(v) => {
                self.u8(0);
                self.u64(v);
            }
            ConstExpr::Global(g) => {
                self.u8(1);
                self.u32(g as usize);
            }
            ConstExpr::RefFunc(f) => {
                self.u8(2);
                self.u32(f as usize);
            }
            ConstExpr::Extended { start, len } => {
                self.u8(3);
                self.u32(start as usize);
                self.u32(len as usize);
            }
        }
    }

    fn const_op(&mut self, op: ConstOp) {
        match op {
            ConstOp::Value(v) => {
                self.u8(0);
                self.u64(v);
            }
            ConstOp::Global(g) => {
                self.u8(1);
                self.u32(g as usize);
            }
            ConstOp::I32Add => self.u8(2),
            ConstOp::I32Sub => self.u8(3),
            ConstOp::I32Mul => self.u8(4),
            ConstOp::I64Add => self.u8(5),
            ConstOp::I64Sub => self.u8(6),
            ConstOp::I64Mul => self.u8(7),
        }
    }
}
