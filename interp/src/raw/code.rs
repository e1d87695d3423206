//! The running function's code behind a raw instruction pointer.
//!
//! **Why.** Fetching `code[pc]` costs a compare-and-branch against the code's length
//! and a multiply-add to find the 12-byte instruction, on every instruction; a pointer
//! that steps by one instruction costs a single add. On the Cortex-M4 that is about
//! four of the fifteen or so instructions the run loop spends per wasm operation.
//!
//! **How to use it.** Make a [`CodePtr`] at an index of a module's code with
//! [`CodePtr::at`], fetch with [`CodePtr::get`], step with [`CodePtr::next`] and
//! [`CodePtr::skip`], and turn it into a byte offset ([`CodePtr::offset_from`]) to save it
//! across a call and back ([`CodePtr::skip_bytes`]): bytes, not an index, so neither way
//! multiplies or divides by the instruction's 12 bytes.
//!
//! **The caller's promise** (the `unsafe` part): `get` is called only while the
//! pointer is at an instruction of the code slice it was made from (the borrow of that
//! slice keeps it alive). The run loop keeps it there because the translator proves, for every
//! function, that its last instruction does not fall through and that every branch
//! target and branch-table entry lies within the function (`Translator::finish`), and
//! because calls return to the instruction after the call, which exists for the same
//! reason. Debug builds assert the bound on every fetch.

use core::marker::PhantomData;
use core::mem::size_of;

use crate::ir::Instr;

/// The discriminant of `instr`: its kind's index in the order `Instr` declares them, which
/// an image's encoding of it starts with.
#[inline]
pub(crate) fn discriminant(instr: &Instr) -> u16 {
    // SAFETY: `Instr` is `#[repr(u16)]`, so it is laid out as a `repr(C)` union of
    // `repr(C)` structs whose first field is the `u16` discriminant (the Reference's
    // "primitive representation of enums with fields"): its first two bytes are initialised
    // and are the discriminant, and reading them through a `*const u16` of the same address
    // is aligned (the union's alignment is at least the discriminant's) and in bounds of the
    // borrowed value.
    let kind = unsafe { *core::ptr::from_ref(instr).cast::<u16>() };
    if usize::from(kind) >= Instr::KINDS {
        // SAFETY: a valid `Instr` holds one of its kinds' discriminants, each below `KINDS`.
        // Told so, the optimiser drops the bounds check of a table indexed by kind.
        unsafe { core::hint::unreachable_unchecked() }
    }
    kind
}

/// Why bytes are not code ([`code_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotCode {
    /// They do not start at a multiple of the instructions' alignment (4).
    Misaligned,
    /// Their length is not a multiple of 12.
    Length,
    /// The instruction at this index has first two bytes that are no discriminant.
    Kind(usize),
    /// This target is big-endian: the encoding is not the values' layout here.
    ByteOrder,
}

/// `bytes` as the instructions they encode ([`Instr::encode`]), read in place: no copy, so
/// code can stay in flash. Checked first: the start aligned for `Instr`, whole
/// instructions, and every first two bytes a discriminant, which makes any 12 such bytes an
/// `Instr` (every field of every kind is an integer, valid at any value). What the code
/// may do is the business of `verify_function`, the translator's check of finished code.
pub(crate) fn code_in(bytes: &[u8]) -> Result<&[Instr], NotCode> {
    if cfg!(target_endian = "big") {
        return Err(NotCode::ByteOrder);
    }
    if !bytes.as_ptr().addr().is_multiple_of(core::mem::align_of::<Instr>()) {
        return Err(NotCode::Misaligned);
    }
    if !bytes.len().is_multiple_of(size_of::<Instr>()) {
        return Err(NotCode::Length);
    }
    let kinds = bytes
        .chunks_exact(size_of::<Instr>())
        .map(|instr| usize::from(u16::from_le_bytes([instr[0], instr[1]])));
    if let Some(at) = kinds.into_iter().position(|kind| kind >= Instr::KINDS) {
        return Err(NotCode::Kind(at));
    }
    // SAFETY: the pointer is non-null (from a slice), aligned for `Instr` (checked) and
    // `len / 12` instructions of 12 bytes lie within `bytes` (checked), borrowed for the
    // result's lifetime and not written through it. `Instr` is `#[repr(u16)]`: each 12 bytes
    // hold a discriminant below `KINDS` (checked) and then the fields of that kind, all
    // `u16` or `u32`, valid for any bits, at the offsets `Instr::encode` writes
    // (`the_encoding_is_the_values_own_layout`); the bytes are initialised, so padding read
    // as part of the value is too.
    Ok(unsafe {
        core::slice::from_raw_parts(
            bytes.as_ptr().cast::<Instr>(),
            bytes.len() / size_of::<Instr>(),
        )
    })
}

/// A position in a module's code, which lives for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct CodePtr<'a> {
    ptr: *const Instr,
    _code: PhantomData<&'a [Instr]>,
    /// The code slice's bounds, for the debug-build check.
    #[cfg(debug_assertions)]
    bounds: (*const Instr, *const Instr),
}

impl<'a> CodePtr<'a> {
    /// The instruction at `index` of `code`. Making it is safe; reading it is bound by
    /// the module's contract (see [`CodePtr::get`]).
    #[inline(always)]
    pub(crate) fn at(code: &'a [Instr], index: usize) -> Self {
        CodePtr {
            ptr: code.as_ptr().wrapping_add(index),
            _code: PhantomData,
            #[cfg(debug_assertions)]
            bounds: (code.as_ptr(), code.as_ptr().wrapping_add(code.len())),
        }
    }

    /// The instruction here, by reference: the run loop reads only the fields the
    /// instruction has, not all 12 bytes before dispatching.
    ///
    /// # Safety
    /// The pointer is at an instruction of the code slice it was made from (not past
    /// its end).
    #[inline(always)]
    pub(crate) unsafe fn get(self) -> &'a Instr {
        #[cfg(debug_assertions)]
        assert!(self.bounds.0 <= self.ptr && self.ptr < self.bounds.1, "fetch outside the code");
        // SAFETY: by the caller's promise `ptr` points at an `Instr` of the slice, which
        // lives for `'a` and is not written while shared.
        unsafe { &*self.ptr }
    }

    /// The next instruction's position.
    #[inline(always)]
    pub(crate) fn next(self) -> Self {
        self.skip(1)
    }

    /// The position `n` instructions on.
    #[inline(always)]
    pub(crate) fn skip(self, n: usize) -> Self {
        CodePtr { ptr: self.ptr.wrapping_add(n), ..self }
    }

    /// The position `offset` bytes on: an offset [`CodePtr::offset_from`] made, or a
    /// multiple of the instruction's size, so that the position stays at an instruction.
    #[inline(always)]
    pub(crate) fn skip_bytes(self, offset: usize) -> Self {
        debug_assert!(
            offset.is_multiple_of(size_of::<Instr>()),
            "a position inside an instruction"
        );
        CodePtr { ptr: self.ptr.wrapping_byte_add(offset), ..self }
    }

    /// This position as a byte offset from `start`, the start of the code it was made in.
    #[inline(always)]
    pub(crate) fn offset_from(self, start: CodePtr<'_>) -> usize {
        self.ptr.addr().wrapping_sub(start.ptr.addr())
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;

    /// Every kind's discriminant is its position in the declaration, which is where the
    /// encoding's decoder table finds it again.
    #[test]
    fn discriminants_count_the_kinds_in_order() {
        let first = Instr::Unreachable;
        let second = Instr::ConsumeFuel { amount: 7 };
        assert_eq!((discriminant(&first), discriminant(&second)), (0, 1));
        for kind in 0..Instr::KINDS {
            let mut bytes = [0u8; crate::ir::INSTR_BYTES];
            bytes[..2].copy_from_slice(&(kind as u16).to_le_bytes());
            let instr = Instr::decode(&bytes).expect("a kind");
            assert_eq!(usize::from(discriminant(&instr)), kind);
        }
    }

    /// The encoding is the layout of the value itself, byte for byte where a field is, so
    /// an image's code can be read in place: every kind, decoded from bytes whose every field
    /// byte is non-zero, has those bytes at the same offsets in memory. (Only field bytes are
    /// read: under Miri a read of padding would be an error.)
    #[test]
    fn the_encoding_is_the_values_own_layout() {
        for kind in 0..Instr::KINDS {
            let mut bytes = [0xab_u8; crate::ir::INSTR_BYTES];
            bytes[..2].copy_from_slice(&(kind as u16).to_le_bytes());
            let instr = Instr::decode(&bytes).expect("a kind");
            let encoded = instr.encode();
            let base = core::ptr::from_ref(&instr).cast::<u8>();
            for (i, &byte) in encoded.iter().enumerate().filter(|&(_, &b)| b != 0) {
                // SAFETY: `i < size_of::<Instr>()`, and a non-zero byte of the encoding is the
                // discriminant or a field byte (the encoding zeroes padding), which is
                // initialised in the value.
                let in_memory = unsafe { *base.add(i) };
                assert_eq!(in_memory, byte, "kind {kind}, byte {i}");
            }
        }
    }

    /// Encoded code read in place is the code it encodes; anything else is refused.
    #[test]
    fn encoded_code_is_read_in_place_and_bad_bytes_are_refused() {
        let code = [
            Instr::Const64 { dst: 3, lo: 0xdead_beef, hi: 7 },
            Instr::CallIndirect { base: 1, index: 2, table: 0, ty: 9 },
            Instr::Store32Add { base: 1, index: 2, value: 3, offset: 64 },
            Instr::Return1 { src: 3 },
        ];
        // A u32 buffer: aligned for `Instr`.
        let mut words = [0u32; 12];
        let bytes: Vec<u8> = code.iter().flat_map(Instr::encode).collect();
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *word = u32::from_ne_bytes(chunk.try_into().unwrap());
        }
        // SAFETY: viewing an initialised `[u32; 12]` as its 48 bytes.
        let view = unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), 48) };
        assert_eq!(code_in(view), Ok(&code[..]));
        assert_eq!(code_in(&view[..36]).map(<[Instr]>::len), Ok(3));
        assert_eq!(code_in(&view[..40]), Err(NotCode::Length));
        assert_eq!(code_in(&view[1..13]), Err(NotCode::Misaligned));
        let mut bad = bytes.clone();
        bad[24..26].copy_from_slice(&(Instr::KINDS as u16).to_le_bytes());
        for (word, chunk) in words.iter_mut().zip(bad.chunks_exact(4)) {
            *word = u32::from_ne_bytes(chunk.try_into().unwrap());
        }
        // SAFETY: as above.
        let view = unsafe { core::slice::from_raw_parts(words.as_ptr().cast::<u8>(), 48) };
        assert_eq!(code_in(view), Err(NotCode::Kind(2)));
    }

    /// A module read in place from an image runs: the executor fetches code, headers and
    /// constants from the image's own bytes, which Miri holds to their bounds and
    /// provenance on every access, through a loop, a call and a return.
    #[test]
    #[cfg(feature = "wasm")]
    fn a_module_runs_with_its_code_read_in_place_from_an_image() {
        use crate::{Config, Linker, Module, Store, Value};
        let wasm = wat::parse_str(
            r#"(module
              (func $sum (param i32) (result i32) (local i32)
                (loop $l
                  (local.set 1 (i32.add (local.get 1) (local.get 0)))
                  (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                (local.get 1))
              (func (export "f") (param i32) (result i32)
                (i32.mul (call $sum (local.get 0)) (i32.const 2))))"#,
        )
        .expect("wat");
        let config = Config::new().with_fuel(true);
        let image = Module::new(&config, &wasm).expect("module").to_image(&config).expect("image");
        // The image in a buffer at an 8-byte boundary, as `#[repr(align(8))]` places it in
        // flash.
        let words: Vec<u64> = image
            .chunks(8)
            .map(|c| {
                let mut word = [0u8; 8];
                word[..c.len()].copy_from_slice(c);
                u64::from_ne_bytes(word)
            })
            .collect();
        let words: *mut [u64] = alloc::boxed::Box::into_raw(words.into_boxed_slice());
        // SAFETY: the boxed `u64`s are initialised and stay allocated (and unwritten) until
        // they are freed below, after the store and module that borrow them are gone; their
        // first `image.len()` bytes are the image.
        let bytes: &'static [u8] =
            unsafe { core::slice::from_raw_parts(words.cast::<u8>(), image.len()) };
        {
            let mut store = Store::new(config.clone());
            store.set_fuel(10_000);
            let module = store.load_static_image(bytes).expect("reads in place");
            let instance = Linker::new().instantiate(&mut store, &module).expect("instance");
            let f = instance.func(&store, "f").expect("export");
            let mut results = [Value::I32(0)];
            store.call(f, &[Value::I32(10)], &mut results).expect("runs");
            assert_eq!(results, [Value::I32(110)]);
        }
        // SAFETY: made by `Box::into_raw` above; nothing borrows it any more.
        drop(unsafe { alloc::boxed::Box::from_raw(words) });
    }

    #[test]
    fn steps_fetches_and_converts_to_a_byte_offset_and_back() {
        let code = vec![
            Instr::Br { target: 2 },
            Instr::Unreachable,
            Instr::Return0,
            Instr::Const32 { dst: 1, value: 9 },
        ];
        let ip = CodePtr::at(&code, 0);
        // SAFETY: every position fetched lies within `code`, which is alive.
        unsafe {
            assert_eq!(*ip.get(), Instr::Br { target: 2 });
            assert_eq!(*ip.next().get(), Instr::Unreachable);
            assert_eq!(*ip.skip(3).get(), Instr::Const32 { dst: 1, value: 9 });
            assert_eq!(*CodePtr::at(&code, 2).get(), Instr::Return0);
        }
        let third = ip.skip(3).offset_from(ip);
        assert_eq!(third, 3 * size_of::<Instr>());
        // SAFETY: as above.
        unsafe { assert_eq!(*ip.skip_bytes(third).get(), Instr::Const32 { dst: 1, value: 9 }) };
        // One past the end may be made (never fetched) and still converts.
        assert_eq!(ip.skip(4).offset_from(ip), 4 * size_of::<Instr>());
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "fetch outside the code")]
    fn debug_builds_catch_a_fetch_past_the_end() {
        let code = vec![Instr::Return0];
        // SAFETY: not upheld on purpose; the debug check stops it before the read.
        unsafe { CodePtr::at(&code, 1).get() };
    }
}
