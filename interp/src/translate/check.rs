//! What the translator checks rather than trusts. The operators' indices (locals,
//! globals, memories, tables, segments) are checked against the module as they are
//! translated; the finished function is checked once more as a whole ([`verify_function`]):
//! it does not fall off its end, its frame fits `u16` slot indices, every branch target
//! lies within it, every slot operand within its frame and every index within the module's
//! index spaces ([`crate::verify`], the function images are held to as well).

use wasmparser::MemArg;

use crate::error::Error;
use crate::ir::Reg;
use crate::module::FuncHeader;
use crate::verify::{Spaces, verify_function};

use super::{MAX_FRAME, Translator};

impl Translator<'_> {
    /// A load's or store's offset and memory.
    pub(super) fn memarg(&self, m: &MemArg) -> Result<(u32, u32), Error> {
        let wasmparser::MemArgTarget::Memory(mem) = m.target else {
            return Err(self.err("unknown memory"));
        };
        self.check_memory(mem)?;
        let offset =
            u32::try_from(m.offset).map_err(|_| self.err("memory offset exceeds 32 bits"))?;
        Ok((offset, mem))
    }

    /// Checks a memory index: one the module has, and 0 unless multi-memory is on.
    pub(super) fn check_memory(&self, index: u32) -> Result<(), Error> {
        if index as usize >= self.module.memories.len() {
            return Err(self.err("unknown memory"));
        }
        if index != 0 && !self.multi_memory {
            return Err(Error::Unsupported { feature: "multi-memory", offset: self.offset });
        }
        Ok(())
    }

    pub(super) fn table(&self, index: u32) -> Result<u32, Error> {
        if index as usize >= self.module.tables.len() {
            return Err(self.err("unknown table"));
        }
        Ok(index)
    }

    pub(super) fn table16(&self, index: u32) -> Result<u16, Error> {
        self.table(index)?;
        index16("table index", index)
    }

    /// A memory index checked as [`Self::check_memory`] does, in the 16 bits an instruction
    /// naming two memories holds.
    pub(super) fn memory16(&self, index: u32) -> Result<u16, Error> {
        self.check_memory(index)?;
        index16("memory index", index)
    }

    pub(super) fn local(&self, index: u32) -> Result<Reg, Error> {
        if index >= self.locals {
            return Err(self.err("unknown local"));
        }
        Ok(index as Reg)
    }

    pub(super) fn elem(&self, index: u32) -> Result<u32, Error> {
        if index as usize >= self.module.elems.len() {
            return Err(self.err("unknown element segment"));
        }
        Ok(index)
    }

    pub(super) fn data(&self, index: u32) -> Result<u32, Error> {
        match self.module.data_count {
            Some(n) if index < n => Ok(index),
            _ => Err(self.err("unknown data segment")),
        }
    }

    /// The sizes of the index spaces the module's code may name.
    fn spaces(&self) -> Spaces {
        let m = self.module;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Spaces {
            funcs: count(m.funcs.len()),
            imported_funcs: m.num_imported_funcs,
            consts: count(self.consts.len()),
            types: count(m.types.len()),
            tables: count(m.tables.len()),
            memories: count(m.memories.len()),
            globals: count(m.globals.len()),
            datas: m.data_count.unwrap_or(0),
            elems: count(m.elems.len()),
        }
    }

    /// Ends the function: its frame fits `u16` slot indices and its code passes
    /// [`verify_function`], so the executor can run it without checks failing.
    pub(super) fn finish(mut self) -> Result<FuncHeader, Error> {
        self.return_scratch();
        self.settle_frame()?;
        let frame_size = self.stack_base + self.max_height;
        if frame_size > MAX_FRAME {
            return Err(Error::Limit {
                what: "function frame slots",
                value: frame_size as u64,
                limit: MAX_FRAME as u64,
            });
        }
        self.chain_through_acc()?;
        verify_function(self.code, self.entry, frame_size, &self.spaces(), self.fuel)
            .map_err(|reason| self.err(reason))?;
        Ok(FuncHeader {
            entry: self.entry as u32,
            params: self.params as u16,
            results: self.results as u16,
            locals: self.locals as u16,
            consts: self.consts_start as u32,
            num_consts: (self.stack_base - self.locals) as u16,
            frame_size: frame_size as u16,
            reserved: 0,
        })
    }
}

/// `index` in the 16 bits an instruction holds it in; past them, an implementation limit.
fn index16(what: &'static str, index: u32) -> Result<u16, Error> {
    u16::try_from(index).map_err(|_| Error::Limit {
        what,
        value: u64::from(index),
        limit: u64::from(u16::MAX),
    })
}
