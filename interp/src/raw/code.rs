//! The running function's code behind a raw instruction pointer.
//!
//! **Why.** Fetching `code[pc]` costs a compare-and-branch against the code's length
//! and a multiply-add to find the 12-byte instruction, on every instruction; a pointer
//! that steps by one instruction costs a single add. On the Cortex-M4 that is about
//! four of the fifteen or so instructions the run loop spends per wasm operation.
//!
//! **How to use it.** Make a [`CodePtr`] at an index of a module's code with
//! [`CodePtr::at`], fetch with [`CodePtr::get`], step with [`CodePtr::next`] and
//! [`CodePtr::skip`], and turn it back into an index ([`CodePtr::index_in`]) to save
//! it across a call.
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

    /// This position as an index into `code`, the slice it was made from.
    #[inline(always)]
    pub(crate) fn index_in(self, code: &[Instr]) -> usize {
        self.ptr.addr().wrapping_sub(code.as_ptr().addr()) / size_of::<Instr>()
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    #[test]
    fn steps_fetches_and_converts_back_to_an_index() {
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
        assert_eq!(ip.skip(3).index_in(&code), 3);
        // One past the end may be made (never fetched) and still converts.
        assert_eq!(ip.skip(4).index_in(&code), 4);
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
