//! Tables as the run loop sees them: the bulk table operations and `table.grow`.

use crate::error::{Trap, TrapKind};
use crate::heap::{HeapAccount, HeapUse};
use crate::ir::Reg;
use crate::store::TableEntity;
use crate::value::Slot;

use super::{Executor, range, range_mut};

impl Executor<'_> {
    pub(super) fn table_fill(&mut self, base: Reg, table: u32) -> Result<(), Trap> {
        let (dst, len) = (self.reg(base) as u32 as u64, self.reg(base + 2) as u32 as u64);
        let value = self.reg(base + 1);
        let t = &mut self.tables[self.inst.tables[table as usize] as usize];
        range_mut(dst, len, &mut t.elems).ok_or(TrapKind::TableOutOfBounds)?.fill(value);
        Ok(())
    }

    pub(super) fn table_copy(
        &mut self,
        base: Reg,
        dst_table: u16,
        src_table: u16,
    ) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let d = self.inst.tables[dst_table as usize] as usize;
        let s = self.inst.tables[src_table as usize] as usize;
        let oob = TrapKind::TableOutOfBounds;
        if d == s {
            let elems = &mut self.tables[d].elems;
            if range(dst, len, elems).is_none() || range(src, len, elems).is_none() {
                return Err(oob.into());
            }
            elems.copy_within(src as usize..(src + len) as usize, dst as usize);
            return Ok(());
        }
        let (dt, st) = if d < s {
            let (lo, hi) = self.tables.split_at_mut(s);
            (&mut lo[d], &hi[0])
        } else {
            let (lo, hi) = self.tables.split_at_mut(d);
            (&mut hi[0], &lo[s])
        };
        let from = range(src, len, &st.elems).ok_or(oob)?;
        range_mut(dst, len, &mut dt.elems).ok_or(oob)?.copy_from_slice(from);
        Ok(())
    }

    pub(super) fn table_init(&mut self, base: Reg, elem: u32, table: u16) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let e = self.inst.elems[elem as usize] as usize;
        let t = self.inst.tables[table as usize] as usize;
        let from = range(src, len, &self.elems[e].items).ok_or(TrapKind::TableOutOfBounds)?;
        range_mut(dst, len, &mut self.tables[t].elems)
            .ok_or(TrapKind::TableOutOfBounds)?
            .copy_from_slice(from);
        Ok(())
    }
}

/// `table.grow`: the old size, or `None` (wasm's -1) past the maximum or the config's
/// limit, or when the heap account or the heap cannot provide the room.
pub(super) fn table_grow(
    t: &mut TableEntity,
    delta: u32,
    init: Slot,
    heap: &mut HeapAccount,
) -> Option<u32> {
    let old = t.elems.len() as u32;
    let new = old.checked_add(delta)?;
    if new > t.limit {
        return None;
    }
    heap.reserve_exact(&mut t.elems, delta as usize, HeapUse::Table).ok()?;
    t.elems.resize(new as usize, init);
    Some(old)
}
