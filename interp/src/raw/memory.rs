//! Linear memory with two backends behind one raw representation: the heap, or a
//! caller's static buffer.
//!
//! A [`LinearMemory`] is `(ptr, len, cap)` plus its kind for both backends, so
//! [`LinearMemory::data`] and [`LinearMemory::data_mut`] (and with them every wasm
//! load and store) take no branch and no dynamic dispatch. Only
//! [`LinearMemory::grow`] and `Drop` look at the [`MemoryKind`].
//!
//! # The static backend
//!
//! **Why.** On a microcontroller the memory of a wasm instance can be a buffer
//! fixed when the firmware links, instead of heap space: its size shows in the
//! linker's map, the heap only has to hold code and tables, and `memory.grow`
//! never allocates. Growing within the buffer's whole 64 KiB pages zeroes the new
//! pages and succeeds; growing past the buffer (or past the memory's declared
//! maximum) returns `None`, which the interpreter hands to wasm as `-1`.
//!
//! **Where the buffer comes from.** [`LinearMemory::new_static`] takes a
//! `&'static mut [u8]`, which the embedder hands over through the public API
//! (`InstanceOptions::with_static_memory`, `Store::new_static_memory`). The crate docs
//! show three ways to obtain one without `unsafe`: `static_cell`, `cortex_m::singleton!`,
//! or, on a host, a leaked heap buffer (what its unit tests do).
//!
//! **Exclusivity.** The `&'static mut` is moved into the memory, which from then on
//! is the only way to reach those bytes; nobody else may read or write them (do not
//! keep a second path to the buffer, e.g. through a `static mut` and a raw pointer).
//! The borrow checker enforces this for the three ways the crate docs show.
//!
//! **Alignment.** None needed: wasm accesses are byte-wise and little-endian, so a
//! `[u8; N]` anywhere will do.
//!
//! **Sizes.** A memory counts in its own pages: 64 KiB, or 1 byte (custom page sizes).
//! [`LinearMemory::new_static`] zeroes the initial pages' bytes (the buffer may hold
//! anything before), and fails with [`Error::StaticBufferTooSmall`] if the buffer is
//! shorter. Bytes past the last whole page of the buffer are never used.
//!
//! **Drop.** Dropping a static memory frees nothing and leaves the buffer's bytes as
//! the wasm code left them. [`LinearMemory::into_static_buffer`] hands the buffer
//! back, e.g. to run another instance in it.

use alloc::vec::Vec;
use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use core::slice;

use crate::error::Error;
use crate::module::MemoryType;

/// The size of a (default) wasm page in bytes.
pub const PAGE_SIZE: usize = 65536;

/// Backend of a linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryKind {
    /// Heap space that `memory.grow` reallocates.
    Heap,
    /// A caller's `&'static mut [u8]`; `memory.grow` never allocates.
    Static,
}

/// Per-memory figures the rig snapshots; independent of pointer width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemStats {
    /// The backend.
    pub kind: MemoryKind,
    /// Current size in the memory's pages.
    pub pages: u32,
    /// Its page size in bytes: 65536, or 1 (custom page sizes).
    pub page_size: u32,
    /// Current size in bytes (`pages * page_size`).
    pub size_bytes: u64,
    /// Bytes the backend holds: static buffer length, or heap capacity.
    pub capacity_bytes: u64,
}

/// A wasm linear memory.
///
/// Invariants:
/// - `Heap`: `(ptr, len, cap)` are the parts of one `Vec<u8>` that this value owns
///   and that nothing else refers to; its first `len` bytes are initialised.
/// - `Static`: `ptr` and `cap` are the start and length of a `&'static mut [u8]`
///   that was moved in, so this value has exclusive access to those bytes for good;
///   `len <= cap`.
/// - Both: `len` is `size_pages() << page_log2`, at most 4 GiB and at most the declared
///   maximum; the first `len` bytes are initialised.
pub(crate) struct LinearMemory {
    ptr: NonNull<u8>,
    len: usize,
    cap: usize,
    kind: MemoryKind,
    /// log2 of the page size: 16 or 0.
    page_log2: u8,
    maximum_pages: Option<u32>,
}

/// Where a memory's bytes are between two events that may move them, so a wasm load
/// or store costs one bounds check instead of finding the memory first.
///
/// **Contract** (the `unsafe` part of [`MemoryView::load`] and [`MemoryView::store`]):
/// the view is used only while the [`LinearMemory`] it came from is alive and not
/// grown since (`grow` may reallocate a heap memory), and while no reference to its
/// bytes (`data`, `data_mut`) is alive. The executor takes a fresh view after every
/// `memory.grow`, host call (a host function may grow the memory) and instance switch,
/// and debug builds compare the view with the memory on every access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemoryView {
    ptr: NonNull<u8>,
    len: usize,
}

/// The start of a [`MemoryView`]: what threaded handlers keep in a register, the length
/// staying in the executor's view.
#[cfg(tandem_threaded)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemoryBase(NonNull<u8>);

impl MemoryView {
    /// A view of no bytes: every access is out of bounds.
    pub(crate) const EMPTY: MemoryView = MemoryView { ptr: NonNull::dangling(), len: 0 };

    /// Where this view's bytes start.
    #[cfg(tandem_threaded)]
    #[inline(always)]
    pub(crate) fn base(self) -> MemoryBase {
        MemoryBase(self.ptr)
    }

    /// This view's length, with which a threaded handler rebuilds the view from its base.
    #[cfg(tandem_threaded)]
    #[inline(always)]
    pub(crate) fn len(self) -> usize {
        self.len
    }
}

#[cfg(tandem_threaded)]
impl MemoryBase {
    /// The view this base was taken from, given its length.
    ///
    /// # Safety
    /// `len` is the length of the view this base came from ([`MemoryView::base`],
    /// [`MemoryView::len`]), which is still valid by the type's contract.
    #[inline(always)]
    pub(crate) unsafe fn with_len(self, len: usize) -> MemoryView {
        MemoryView { ptr: self.0, len }
    }
}

impl MemoryView {
    /// The `N` bytes at `ea`, or `None` if any lies outside the memory.
    ///
    /// # Safety
    /// See the type's contract.
    #[inline(always)]
    pub(crate) unsafe fn load<const N: usize>(self, ea: usize) -> Option<[u8; N]> {
        // `ea + N` rather than `len - N`: where `ea` is a 32-bit address plus a 32-bit
        // offset in a 64-bit word, the sum cannot overflow and the check is one add and
        // one compare.
        if ea.checked_add(N)? > self.len {
            return None;
        }
        // SAFETY: `ea + N <= len`, so the bytes lie in the memory's initialised part,
        // which is alive and unborrowed by the caller's promise; `[u8; N]` needs no
        // alignment.
        Some(unsafe { self.ptr.as_ptr().add(ea).cast::<[u8; N]>().read() })
    }

    /// Writes `bytes` at `ea`; `None` (nothing written) if any lies outside the memory.
    ///
    /// # Safety
    /// See the type's contract.
    #[inline(always)]
    pub(crate) unsafe fn store<const N: usize>(self, ea: usize, bytes: [u8; N]) -> Option<()> {
        // As in `load`.
        if ea.checked_add(N)? > self.len {
            return None;
        }
        // SAFETY: as in `load`; the memory owns its bytes exclusively, so writing
        // through its pointer is the memory's own write.
        unsafe { self.ptr.as_ptr().add(ea).cast::<[u8; N]>().write(bytes) };
        Some(())
    }
}

// SAFETY: a `LinearMemory` owns its bytes exclusively (a `Vec<u8>` it took apart, or
// a `&'static mut [u8]` moved in), like a `Vec<u8>` does; the raw pointer is not
// shared with anything, so moving the value to another thread moves that ownership.
unsafe impl Send for LinearMemory {}

/// `ty`'s `pages` in bytes, if `usize` can hold it (not 4 GiB on 32 bits).
fn pages_to_bytes(ty: &MemoryType, pages: u32) -> Option<usize> {
    usize::try_from(ty.bytes(pages)).ok()
}

/// The most pages `ty` allows: its maximum, at most 4 GiB of them.
fn limit(ty: &MemoryType) -> u32 {
    ty.maximum.map_or(ty.max_pages(), |max| max.min(ty.max_pages()))
}

/// Rejects an initial size over 4 GiB or over the declared maximum.
fn check_initial(ty: &MemoryType) -> Result<(), Error> {
    let (initial_pages, limit) = (ty.initial, limit(ty));
    if initial_pages > limit {
        return Err(Error::Limit {
            what: "initial memory pages",
            value: u64::from(initial_pages),
            limit: u64::from(limit),
        });
    }
    Ok(())
}

impl LinearMemory {
    /// A zeroed heap memory of type `ty`.
    ///
    /// Fails with [`Error::OutOfMemory`] if the allocation fails or the size does not
    /// fit in `usize`, and with [`Error::Limit`] if the initial size is over 4 GiB or
    /// over the maximum.
    pub(crate) fn new_heap(ty: MemoryType) -> Result<Self, Error> {
        check_initial(&ty)?;
        let mut memory = LinearMemory {
            ptr: NonNull::dangling(),
            len: 0,
            cap: 0,
            kind: MemoryKind::Heap,
            page_log2: ty.page_size_log2,
            maximum_pages: ty.maximum,
        };
        // Start from an empty Vec (nothing allocated) and grow it like `memory.grow`.
        memory.store_vec(ManuallyDrop::new(Vec::new()));
        pages_to_bytes(&ty, ty.initial)
            .and_then(|bytes| memory.grow_heap(bytes))
            .ok_or(Error::OutOfMemory { bytes: ty.bytes(ty.initial) })?;
        Ok(memory)
    }

    /// A memory of type `ty` in `buffer`, whose initial pages' bytes are zeroed; it can
    /// grow to the buffer's whole pages.
    ///
    /// Fails with [`Error::StaticBufferTooSmall`] (naming `memory_index`) if the buffer
    /// is shorter than the initial size, and with [`Error::Limit`] if the initial size is
    /// over 4 GiB or over the maximum.
    pub(crate) fn new_static(
        buffer: &'static mut [u8],
        ty: MemoryType,
        memory_index: u32,
    ) -> Result<Self, Error> {
        let len = Self::check_static(buffer.len(), &ty, memory_index)?;
        buffer[..len].fill(0);
        let cap = buffer.len();
        // The reference is consumed here; from now on `ptr` (which covers the whole
        // buffer) is the only way to the bytes.
        let ptr = NonNull::from(buffer).cast::<u8>();
        Ok(LinearMemory {
            ptr,
            len,
            cap,
            kind: MemoryKind::Static,
            page_log2: ty.page_size_log2,
            maximum_pages: ty.maximum,
        })
    }

    /// Whether [`LinearMemory::new_static`] would accept a buffer of `buffer_len` bytes,
    /// checked before the buffer is handed over (a refused buffer is not lost); `Ok` holds
    /// the initial size in bytes.
    pub(crate) fn check_static(
        buffer_len: usize,
        ty: &MemoryType,
        memory_index: u32,
    ) -> Result<usize, Error> {
        check_initial(ty)?;
        match pages_to_bytes(ty, ty.initial) {
            Some(len) if len <= buffer_len => Ok(len),
            _ => Err(Error::StaticBufferTooSmall {
                memory: memory_index,
                buffer_bytes: buffer_len as u64,
                required_bytes: ty.bytes(ty.initial),
            }),
        }
    }

    /// Its type as it stands: the current size as the minimum, and its page size.
    #[inline]
    pub(crate) fn ty(&self) -> MemoryType {
        MemoryType::new(self.size_pages(), self.maximum_pages).with_page_size_log2(self.page_log2)
    }

    /// The memory's bytes.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: by the type's invariants `ptr` points to `len` initialised bytes
        // (`len <= isize::MAX`, as they are part of a `Vec` or a slice) that this
        // value owns exclusively; the shared borrow of `self` keeps them from being
        // written, reallocated or freed while the slice lives.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The memory's bytes, writable.
    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the exclusive borrow of `self` makes this the only
        // reference to the bytes while it lives.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes' location as of now, for the run loop's loads and stores (see
    /// [`MemoryView`]).
    #[inline]
    pub(crate) fn view(&self) -> MemoryView {
        MemoryView { ptr: self.ptr, len: self.len }
    }

    /// The current size in the memory's pages.
    #[inline]
    pub(crate) fn size_pages(&self) -> u32 {
        // At most 4 GiB (checked when created and grown), so this fits.
        (self.len >> self.page_log2) as u32
    }

    /// Wasm `memory.grow`: adds `delta_pages` zeroed pages and returns the old size
    /// in pages, or `None` (wasm's -1) if the new size would pass the declared
    /// maximum, 4 GiB, what `usize` can address, the static buffer's whole
    /// pages, or if the heap cannot provide it. On `None` no byte changes and nothing
    /// is allocated. `grow(0)` returns the current size.
    pub(crate) fn grow(&mut self, delta_pages: u32) -> Option<u32> {
        let old_pages = self.size_pages();
        if delta_pages == 0 {
            return Some(old_pages);
        }
        let new_pages = old_pages.checked_add(delta_pages)?;
        let ty = self.ty();
        let mut limit = limit(&ty);
        if self.kind == MemoryKind::Static {
            // The buffer's whole pages.
            limit = limit.min(u32::try_from(self.cap >> self.page_log2).unwrap_or(u32::MAX));
        }
        if new_pages > limit {
            return None;
        }
        let new_len = pages_to_bytes(&ty, new_pages)?;
        match self.kind {
            MemoryKind::Heap => self.grow_heap(new_len)?,
            MemoryKind::Static => self.grow_static(new_len),
        }
        Some(old_pages)
    }

    /// Grows the heap buffer to `new_len` bytes, the new ones zero; `None`, with
    /// nothing changed, if the allocation fails (`try_reserve_exact`: never aborts).
    fn grow_heap(&mut self, new_len: usize) -> Option<()> {
        // SAFETY: for a heap memory `(ptr, len, cap)` are the parts of a `Vec<u8>`
        // this value owns (type invariant), so rebuilding it is sound. It is wrapped
        // in `ManuallyDrop` at once, so the bytes are never freed here (not even on
        // a panic): `self` keeps owning them, and `store_vec` takes the new parts.
        let mut vec = ManuallyDrop::new(unsafe {
            Vec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap)
        });
        let additional = new_len - self.len;
        let reserved = vec.try_reserve_exact(additional);
        if reserved.is_ok() {
            // (Like `vec.resize(new_len, 0)`, but one `memset`: `resize` writes byte
            // by byte unless optimised, which costs Miri ~10 s per page.)
            // SAFETY: `try_reserve_exact` succeeded, so the capacity is at least
            // `len + additional = new_len` and the `additional` bytes after `len` lie
            // in the allocation; they are written with zeros (`u8` needs no
            // alignment, any byte is valid) before `set_len` makes them part of the
            // Vec, so every byte up to `new_len` is initialised.
            unsafe {
                vec.as_mut_ptr().add(self.len).write_bytes(0, additional);
                vec.set_len(new_len);
            }
        }
        // On failure the Vec is unchanged; store its parts either way so that
        // (ptr, len, cap) always come from one Vec.
        self.store_vec(vec);
        reserved.ok()
    }

    /// Zeroes the static buffer's bytes `len..new_len` and makes them part of the
    /// memory (the buffer may hold anything there).
    fn grow_static(&mut self, new_len: usize) {
        debug_assert!(self.len <= new_len && new_len <= self.cap);
        // SAFETY: `grow` only calls this with `new_len` at most the buffer's whole
        // pages, so `len..new_len` lies within the `cap` bytes of the `&'static mut`
        // buffer this value owns exclusively (`ptr.add(len)` stays in it, at most one
        // past its end when the count is 0); `u8` has no alignment or validity needs.
        unsafe { self.ptr.as_ptr().add(self.len).write_bytes(0, new_len - self.len) };
        self.len = new_len;
    }

    /// Takes a heap memory's `Vec` apart into `(ptr, len, cap)`; ownership of its
    /// buffer passes to `self`.
    fn store_vec(&mut self, mut vec: ManuallyDrop<Vec<u8>>) {
        debug_assert_eq!(self.kind, MemoryKind::Heap);
        // `as_mut_ptr` keeps the provenance of the whole allocation, unlike a pointer
        // taken from `&mut [u8]` of `len` bytes.
        let ptr = vec.as_mut_ptr();
        // SAFETY: a Vec's pointer is never null: it is dangling (but non-null) when
        // nothing is allocated.
        self.ptr = unsafe { NonNull::new_unchecked(ptr) };
        self.len = vec.len();
        self.cap = vec.capacity();
    }

    /// The memory's backend.
    #[inline]
    pub(crate) fn kind(&self) -> MemoryKind {
        self.kind
    }

    /// The most pages wasm allows this memory: its declared maximum, at most 4 GiB.
    #[inline]
    pub(crate) fn limit_pages(&self) -> u32 {
        limit(&self.ty())
    }

    /// The maximum size in pages the module declared, if any.
    #[inline]
    pub(crate) fn maximum_pages(&self) -> Option<u32> {
        self.maximum_pages
    }

    /// Size and backend figures.
    pub(crate) fn stats(&self) -> MemStats {
        MemStats {
            kind: self.kind,
            pages: self.size_pages(),
            page_size: 1 << self.page_log2,
            size_bytes: self.len as u64,
            capacity_bytes: self.cap as u64,
        }
    }

    /// Ends a static memory and hands its whole buffer back (contents as the wasm
    /// code left them), e.g. to run another instance in it. A heap memory is freed
    /// and gives `None`.
    pub(crate) fn into_static_buffer(self) -> Option<&'static mut [u8]> {
        if self.kind != MemoryKind::Static {
            return None;
        }
        let this = ManuallyDrop::new(self);
        // SAFETY: for a static memory `ptr` and `cap` are the start and length of the
        // `&'static mut [u8]` that was moved in, and this value had exclusive access to
        // it; consuming `self` (whose `Drop` does nothing for a static memory) ends
        // that access, so the rebuilt reference is again the only one.
        Some(unsafe { slice::from_raw_parts_mut(this.ptr.as_ptr(), this.cap) })
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        match self.kind {
            MemoryKind::Heap => {
                // SAFETY: `(ptr, len, cap)` are the parts of the `Vec<u8>` this heap
                // memory owns (type invariant); it is rebuilt once, here, and dropped,
                // which frees it; `self` is never used again.
                drop(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
            }
            // The buffer is the caller's `'static` one: leave it as it is.
            MemoryKind::Static => {}
        }
    }
}

impl fmt::Debug for LinearMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinearMemory")
            .field("kind", &self.kind)
            .field("pages", &self.size_pages())
            .field("capacity_bytes", &self.cap)
            .field("maximum_pages", &self.maximum_pages)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
