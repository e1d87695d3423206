//! `wasmparser`'s value, reference, table, memory and global types as the core's, with
//! their limits checked; any type from a proposal past Wasm 2.0 is reported as
//! unsupported.

use alloc::vec::Vec;

use wasmparser::{HeapType, RefType};

use crate::config::Features;
use crate::error::Error;
use crate::value::ValType;

use super::{GlobalType, MemoryType, TableType, invalid, unsupported};

pub(super) fn val_types(
    types: &[wasmparser::ValType],
    offset: usize,
) -> Result<Vec<ValType>, Error> {
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
pub(super) fn ref_type(ty: RefType, offset: usize) -> Result<ValType, Error> {
    if !ty.is_nullable() {
        return Err(unsupported("function-references", offset));
    }
    heap_type(ty.heap_type(), offset)
}

pub(super) fn heap_type(ty: HeapType, offset: usize) -> Result<ValType, Error> {
    match ty {
        HeapType::FUNC => Ok(ValType::FuncRef),
        HeapType::EXTERN => Ok(ValType::ExternRef),
        HeapType::Concrete(_) | HeapType::Exact(_) => {
            Err(unsupported("function-references", offset))
        }
        HeapType::Abstract { shared: true, .. } => {
            Err(unsupported("shared-everything-threads", offset))
        }
        HeapType::Abstract { .. } => Err(unsupported("gc", offset)),
    }
}

/// Checks `min <= max` of a table's or memory's limits.
fn check_limits(initial: u64, maximum: Option<u64>, offset: usize) -> Result<(), Error> {
    if maximum.is_some_and(|max| initial > max) {
        return Err(invalid("size minimum must not be greater than maximum", offset));
    }
    Ok(())
}

pub(super) fn table_type(t: &wasmparser::TableType, offset: usize) -> Result<TableType, Error> {
    if t.table64 {
        return Err(unsupported("memory64", offset));
    }
    if t.shared {
        return Err(unsupported("shared-everything-threads", offset));
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

pub(super) fn memory_type(
    m: &wasmparser::MemoryType,
    features: Features,
    offset: usize,
) -> Result<MemoryType, Error> {
    if m.memory64 {
        return Err(unsupported("memory64", offset));
    }
    if m.shared {
        return Err(unsupported("threads", offset));
    }
    let log2 = match m.page_size_log2 {
        None => 16,
        Some(_) if !features.contains(Features::CUSTOM_PAGE_SIZES) => {
            return Err(unsupported("custom-page-sizes", offset));
        }
        Some(log2 @ (0 | 16)) => log2 as u8,
        Some(_) => return Err(invalid("invalid custom page size", offset)),
    };
    check_limits(m.initial, m.maximum, offset)?;
    let ty = MemoryType::new(0, None).with_page_size_log2(log2);
    let pages = |p: u64| match u32::try_from(p) {
        Ok(p) if p <= ty.max_pages() => Ok(p),
        _ => Err(invalid("memory size must be at most 4GiB", offset)),
    };
    Ok(MemoryType { initial: pages(m.initial)?, maximum: m.maximum.map(pages).transpose()?, ..ty })
}

pub(super) fn global_type(g: &wasmparser::GlobalType, offset: usize) -> Result<GlobalType, Error> {
    if g.shared {
        // Flag 0x02 is the shared-everything-threads proposal's; in Wasm 1.0 and
        // 2.0 (whose spec tests check this) it is a malformed mutability byte.
        return Err(Error::Malformed { message: "malformed mutability".into(), offset });
    }
    Ok(GlobalType { content: val_type(g.content_type, offset)?, mutable: g.mutable })
}
