//! Linear memory as the run loop sees it: loads and stores through a view of the memory in
//! use (memory 0, or another between `UseMemory` instructions) renewed after every step that
//! may move the bytes, `memory.grow` against the store's heap-memory budget, and the bulk
//! memory operations.

use crate::error::{Trap, TrapKind};
use crate::heap::HeapUse;
use crate::ir::Reg;
use crate::raw::memory::{LinearMemory, MemoryKind, MemoryView};
use crate::value::Slot;

use super::{Executor, range, range_mut};

impl Executor<'_> {
    #[inline(always)]
    pub(super) fn memory(&self) -> &LinearMemory {
        &self.memories[self.mem]
    }

    /// `memory.grow` on the memory in use: the old size in pages, or `u32::MAX` (wasm's -1). A heap
    /// memory may not pass the store's heap-memory budget; refusals the memory's own
    /// maximum would have allowed are counted in `grow_refusals`. Out of line: it is
    /// rare, and keeps the interpreter loop small.
    #[cold]
    #[inline(never)]
    pub(super) fn memory_grow(&mut self, delta: u32) -> u32 {
        let memory = &mut self.memories[self.mem];
        let old = memory.size_pages();
        if delta == 0 {
            return old;
        }
        let limit = memory.limit_pages();
        // Past the memory's own maximum is the module's limit, not the board's.
        let allowed = u64::from(old) + u64::from(delta) <= u64::from(limit);
        let is_heap = memory.kind() == MemoryKind::Heap;
        let ty = memory.ty();
        let added = ty.bytes(delta);
        let in_use = *self.heap_memory_bytes;
        // A heap memory's growth must fit the heap-memory budget and the heap account
        // (both its old and new buffers, while the bytes move); checked before growing, as
        // a refused grow must not allocate.
        let charged = allowed
            && is_heap
            && self.max_heap_memory.is_none_or(|budget| in_use.saturating_add(added) <= budget)
            && self.heap.charge_growth(ty.bytes(old), added, HeapUse::Memory).is_ok();
        let grown = if allowed && (charged || !is_heap) { memory.grow(delta) } else { None };
        self.renew_view();
        match grown {
            Some(old) => {
                if is_heap {
                    *self.heap_memory_bytes = in_use.saturating_add(added);
                }
                old
            }
            None => {
                if charged {
                    // The allocation itself failed.
                    self.heap.release(added);
                }
                if allowed {
                    self.stats.grow_refusals = self.stats.grow_refusals.saturating_add(1);
                }
                u32::MAX
            }
        }
    }

    #[inline(always)]
    fn memory_mut(&mut self) -> &mut LinearMemory {
        &mut self.memories[self.mem]
    }

    /// The view of the memory in use as of now (empty if the instance has none).
    fn current_view(&self) -> MemoryView {
        self.memories.get(self.mem).map_or(MemoryView::EMPTY, LinearMemory::view)
    }

    /// Takes a fresh view of the memory in use.
    pub(super) fn renew_view(&mut self) {
        self.mem_view = self.current_view();
    }

    /// Debug builds: `view`, the run loop's copy, is the memory's current view.
    #[inline(always)]
    fn check_view(&self, view: MemoryView) {
        debug_assert_eq!(self.mem_view, self.current_view(), "stale view of the memory in use");
        debug_assert_eq!(view, self.mem_view, "the run loop's view is stale");
    }

    /// A load through `view`, the run loop's copy of [`Executor::mem_view`] (kept in a
    /// register: a field would be read again after every slot write).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn load<const N: usize>(
        &self,
        view: MemoryView,
        addr: Slot,
        offset: u32,
    ) -> Result<[u8; N], Trap> {
        self.check_view(view);
        let ea = effective_address(addr, offset).ok_or(TrapKind::MemoryOutOfBounds)?;
        // SAFETY: the view is renewed after every step that may grow or move the memory in
        // use or switch to another (and the run loop takes its copy again after each), and
        // no reference to its bytes is alive while the run loop executes a load.
        let bytes = unsafe { view.load(ea) };
        Ok(bytes.ok_or(TrapKind::MemoryOutOfBounds)?)
    }

    /// A store through `view`, as [`Executor::load`].
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn store<const N: usize>(
        &self,
        view: MemoryView,
        addr: Slot,
        offset: u32,
        bytes: [u8; N],
    ) -> Result<(), Trap> {
        self.check_view(view);
        let ea = effective_address(addr, offset).ok_or(TrapKind::MemoryOutOfBounds)?;
        // SAFETY: as in `load`.
        let stored = unsafe { view.store(ea, bytes) };
        Ok(stored.ok_or(TrapKind::MemoryOutOfBounds)?)
    }

    pub(super) fn memory_fill(&mut self, base: Reg) -> Result<(), Trap> {
        let (dst, value, len) = self.operands3(base);
        let data = self.memory_mut().data_mut();
        range_mut(dst, len, data).ok_or(TrapKind::MemoryOutOfBounds)?.fill(value as u8);
        Ok(())
    }

    pub(super) fn memory_copy(&mut self, base: Reg) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let data = self.memory_mut().data_mut();
        if range(dst, len, data).is_none() || range(src, len, data).is_none() {
            return Err(TrapKind::MemoryOutOfBounds.into());
        }
        // Both ranges are within `data`, so these fit in usize.
        data.copy_within(src as usize..(src + len) as usize, dst as usize);
        Ok(())
    }

    /// `UseMemory`: the instance's memory `mem` is the one in use from now on.
    #[cold]
    #[inline(never)]
    pub(super) fn use_memory(&mut self, mem: u32) {
        self.mem = self.inst.memories.get(mem as usize).map_or(usize::MAX, |&m| m as usize);
        self.renew_view();
    }

    /// `memory.copy` from the instance's memory `src_mem` to `dst_mem`.
    #[cold]
    #[inline(never)]
    pub(super) fn memory_copy_across(
        &mut self,
        base: Reg,
        dst_mem: u16,
        src_mem: u16,
    ) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let store_index = |m: u16| self.inst.memories.get(m as usize).map(|&m| m as usize);
        let (Some(to), Some(from)) = (store_index(dst_mem), store_index(src_mem)) else {
            return Err(TrapKind::MemoryOutOfBounds.into());
        };
        if to == from {
            let saved = core::mem::replace(&mut self.mem, to);
            let copied = self.memory_copy(base);
            self.mem = saved;
            return copied;
        }
        let [to, from] =
            self.memories.get_disjoint_mut([to, from]).map_err(|_| TrapKind::MemoryOutOfBounds)?;
        let from = range(src, len, from.data()).ok_or(TrapKind::MemoryOutOfBounds)?;
        range_mut(dst, len, to.data_mut())
            .ok_or(TrapKind::MemoryOutOfBounds)?
            .copy_from_slice(from);
        Ok(())
    }

    pub(super) fn memory_init(&mut self, base: Reg, data: u32) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let d = self.inst.datas[data as usize] as usize;
        let segment: &[u8] = self.datas[d].bytes.as_deref().unwrap_or(&[]);
        let from = range(src, len, segment).ok_or(TrapKind::MemoryOutOfBounds)?;
        let mem = &mut self.memories[self.mem];
        range_mut(dst, len, mem.data_mut())
            .ok_or(TrapKind::MemoryOutOfBounds)?
            .copy_from_slice(from);
        Ok(())
    }
}

/// A load or store's address, `addr + offset`, in the native word: on a 32-bit target a sum
/// past `usize::MAX` is out of bounds anyway (no memory reaches it), so `None` means out of
/// bounds; on a 64-bit one it cannot overflow. Cheaper than 64-bit arithmetic on Cortex-M.
#[inline(always)]
fn effective_address(addr: Slot, offset: u32) -> Option<usize> {
    (addr as u32 as usize).checked_add(offset as usize)
}
