//! What threaded dispatch (`exec/run.rs`, built as `tandem_threaded`) tells the optimiser.
//!
//! **Why.** Each threaded handler inlines the whole instruction `match` and needs LLVM to
//! keep only its own kind's arm: without [`assume_kind`] every handler would dispatch a
//! second time. And a taken branch must stay a branch: merged with the fall-through path,
//! LLVM picks the next position with a conditional move, so every loop turn waits for its
//! compare before it can fetch ([`keep_branch`]).
//!
//! **The caller's promise** (the `unsafe` part of [`assume_kind`]): `kind` is `K`. The
//! handler table sends each instruction only to its kind's handler. Debug builds assert it.

/// Lets the optimiser take `kind == K` as known.
///
/// # Safety
/// `kind` is `K`.
#[inline(always)]
pub(crate) unsafe fn assume_kind<const K: u16>(kind: u16) {
    debug_assert_eq!(kind, K, "an instruction reached another kind's handler");
    if kind != K {
        // SAFETY: unreachable by the caller's promise.
        unsafe { core::hint::unreachable_unchecked() }
    }
}

/// Keeps the path it is on a separate branch: an empty `asm!` block, which LLVM does not
/// merge into a conditional move with the path beside it. Emits no instruction.
#[inline(always)]
pub(crate) fn keep_branch() {
    #[cfg(not(miri))]
    // SAFETY: an empty asm block: no instructions, no memory, stack or flags touched.
    unsafe {
        core::arch::asm!("", options(nomem, nostack, preserves_flags))
    };
}

/// Keeps the loop it is in one slot a turn: an empty `asm!` block in its body, which LLVM
/// neither vectorises, nor unrolls for large counts, nor turns into a `memset` or `memcpy`
/// call. A frame's set-up writes a few slots; the wide version's set-up and the call each
/// cost more than that, and both made the handler save registers it otherwise need not.
/// Emits no instruction.
#[inline(always)]
pub(crate) fn keep_scalar() {
    #[cfg(not(miri))]
    // SAFETY: an empty asm block: no instructions, no memory, stack or flags touched.
    unsafe {
        core::arch::asm!("", options(nomem, nostack, preserves_flags))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assume_kind_keep_branch_and_keep_scalar_are_no_ops() {
        let mut seen = 0;
        for kind in [0u16, 7, 300] {
            match kind {
                // SAFETY: each call's kind is the one matched.
                0 => unsafe { assume_kind::<0>(kind) },
                7 => unsafe { assume_kind::<7>(kind) },
                _ => unsafe { assume_kind::<300>(kind) },
            }
            keep_branch();
            keep_scalar();
            seen += 1;
        }
        assert_eq!(seen, 3);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "another kind's handler")]
    fn a_wrong_kind_is_caught_in_debug_builds() {
        // SAFETY: not upheld on purpose: debug builds assert before assuming.
        unsafe { assume_kind::<1>(2) }
    }
}
