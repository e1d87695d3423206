//! The store's globals behind one raw pointer, and the running instance's view of them.
//!
//! **Why.** An instance names its globals by module index; the store holds them by store
//! index (an imported global is another instance's). Checked, `global.get` is two bounds
//! checks, each a load of a pointer and a length, a compare and a branch: a loop that
//! keeps its counter in a global (as C code does with a file-scope variable) ran 87
//! instructions a turn on x86-64 against wasmi's 36. Both checks are already proven: the
//! verifier checks every global index against the module's globals (the length of the
//! instance's map), and instantiation checks every map entry against the store's globals.
//!
//! **How to use it.** Wrap the store's globals in a [`StoreGlobals`] for the duration of
//! a call; on every instance switch take the instance's [`GlobalsView`] with
//! [`StoreGlobals::view`], and read and write through [`GlobalsView::get`] and
//! [`GlobalsView::set`].
//!
//! **The caller's promise** (the `unsafe` part): `view` is given a map whose every entry
//! is below the number of store globals (instantiation resolves an import through a
//! checked lookup and numbers defined globals from the store's length, and the store
//! never drops a global); `get` and `set` are given an index below the map's length (the
//! verifier), and are used only while the `StoreGlobals` and the map live. Debug builds
//! assert both bounds.
//!
//! **Aliasing.** All access to the globals goes through the one pointer taken from the
//! `&mut [GlobalEntity]`; the map is only read, through a pointer taken from a shared
//! borrow that outlives the call.

use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::store::GlobalEntity;
use crate::value::Slot;

/// The store's globals for the duration of one call: exclusive, like the
/// `&'s mut [GlobalEntity]` it was made from.
pub(crate) struct StoreGlobals<'s> {
    ptr: NonNull<GlobalEntity>,
    len: usize,
    _globals: PhantomData<&'s mut [GlobalEntity]>,
}

impl<'s> StoreGlobals<'s> {
    pub(crate) fn new(globals: &'s mut [GlobalEntity]) -> Self {
        let len = globals.len();
        StoreGlobals { ptr: NonNull::from(globals).cast(), len, _globals: PhantomData }
    }

    /// The globals an instance's `map` (module index -> store index) names.
    ///
    /// # Safety
    /// Every entry of `map` is below the number of store globals.
    #[inline]
    pub(crate) unsafe fn view(&self, map: &'s [u32]) -> GlobalsView {
        debug_assert!(map.iter().all(|&g| (g as usize) < self.len), "global outside the store");
        GlobalsView {
            map: NonNull::from(map).cast(),
            #[cfg(debug_assertions)]
            map_len: map.len(),
            globals: self.ptr,
        }
    }
}

/// One instance's globals, by module index, without a bounds check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GlobalsView {
    map: NonNull<u32>,
    #[cfg(debug_assertions)]
    map_len: usize,
    globals: NonNull<GlobalEntity>,
}

impl GlobalsView {
    /// The store global that module global `index` is.
    ///
    /// # Safety
    /// `index` is below the map's length, and the map and the globals are alive.
    #[inline(always)]
    unsafe fn entity(self, index: u32) -> *mut GlobalEntity {
        #[cfg(debug_assertions)]
        debug_assert!((index as usize) < self.map_len, "global {index} outside the instance");
        // SAFETY: `index` is within the map (the caller), which is alive; its entry is
        // within the store's globals (`StoreGlobals::view`'s caller).
        unsafe {
            let g = self.map.as_ptr().add(index as usize).read();
            self.globals.as_ptr().add(g as usize)
        }
    }

    /// Module global `index`'s value.
    ///
    /// # Safety
    /// As [`GlobalsView::set`].
    #[inline(always)]
    pub(crate) unsafe fn get(self, index: u32) -> Slot {
        // SAFETY: the caller's promise; nothing else borrows the globals while they run.
        unsafe { (*self.entity(index)).value }
    }

    /// Writes module global `index`'s value.
    ///
    /// # Safety
    /// `index` is below the length of the map this view was made from, and that map and
    /// the [`StoreGlobals`] are alive.
    #[inline(always)]
    pub(crate) unsafe fn set(self, index: u32, value: Slot) {
        // SAFETY: as in `get`.
        unsafe { (*self.entity(index)).value = value }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;
    use crate::value::ValType;

    fn global(value: Slot) -> GlobalEntity {
        GlobalEntity { ty: ValType::I64, mutable: true, value }
    }

    #[test]
    fn views_reach_the_globals_their_maps_name() {
        let mut globals = vec![global(10), global(11), global(12)];
        let (importer, exporter) = (vec![2, 0], vec![0]);
        {
            let store = StoreGlobals::new(&mut globals);
            // SAFETY: every map entry is below 3, every index below its map's length, and
            // the store and the maps live to the end of the block.
            let (a, b) = unsafe { (store.view(&importer), store.view(&exporter)) };
            // SAFETY: as above.
            unsafe {
                assert_eq!((a.get(0), a.get(1), b.get(0)), (12, 10, 10));
                // Global 0 of `b` is global 1 of `a`: one global, two names.
                b.set(0, 20);
                a.set(0, 22);
                assert_eq!((a.get(0), a.get(1), b.get(0)), (22, 20, 20));
            }
        }
        let values: alloc::vec::Vec<Slot> = globals.iter().map(|g| g.value).collect();
        assert_eq!(values, [20, 11, 22]);
    }
}
