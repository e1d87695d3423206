//! The accumulator pass, over a function's finished code: where an instruction's result is
//! a temp that the next instruction reads once, the two pass it in the executor's
//! accumulator, a register, instead of a frame slot: the first writes no slot (`ToAcc`), the
//! second reads none (`Acc`), and a middle one of a chain does both (`AccToAcc`). On a host
//! this takes a store, a load and their latency out of every such pair. Where the result is
//! a local's new value (`local.tee`, or a `local.set` read next), its writer still writes
//! the slot, and the next instruction reads the value from the accumulator if the writer
//! leaves it there too ([`Instr::offers_acc`]): the load, and its wait for the store, go.
//!
//! Sound because a temp's value is dead once read: a temp above the locals and constants
//! holds one operand-stack entry, and the instructions rewritten here (the `accumulated` rows
//! of `for_each_numeric!`, `i32.load8_u`, `i32.load`, `i32.store8`, `i32.store`, and as
//! readers the conditional branches, `br_table` and a pair of copies) pop what they read; a
//! local's value is still in its slot. The second instruction must not be a branch target
//! (the accumulator holds the value on the straight path only), and nothing between the two
//! can stop a call: fuel, calls and host functions are checked only at other instructions.

use crate::ir::{Instr, KindSet, Reg, kind_set, target_index};

/// Reads the `accumulated` rows of `for_each_numeric!` into the pass's three rewrites.
macro_rules! define_acc_pass {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cba:ident, $cbm:ident, $cbt:ty, $cbf:expr;)* }
        accumulated { $($acc:ident: $acc_to:ident, $acc_from:ident, $acc_both:ident, $acc_commutes:literal, $acc_width:ident, $acc_offers:literal;)* }
    ) => {
        /// The slot `instr` writes its result to, if it has a form that leaves the result
        /// in the accumulator instead, or offers it there without one (a `Copy`, a scaled
        /// load), for a local's reader.
        const fn result_slot(instr: Instr) -> Option<Reg> {
            match instr {
                $( Instr::$acc { dst, .. } | Instr::$acc_from { dst, .. } )|*
                | Instr::Load8U { dst, .. }
                | Instr::Load8UAcc { dst, .. }
                | Instr::Load32 { dst, .. }
                | Instr::Load32Acc { dst, .. }
                | Instr::Load8UAdd { dst, .. }
                | Instr::Load32Add { dst, .. }
                | Instr::Load32AddScaled { dst, .. }
                | Instr::Copy { dst, .. } => Some(dst),
                _ => None,
            }
        }

        /// `instr` (one [`result_slot`] names) leaving its result in the accumulator.
        fn into_acc(instr: Instr) -> Option<Instr> {
            Some(match instr {
                $( Instr::$acc { lhs, rhs, .. } => Instr::$acc_to { lhs, rhs }, )*
                $( Instr::$acc_from { rhs, .. } => Instr::$acc_both { rhs }, )*
                Instr::Load8U { addr, offset, .. } => Instr::Load8UToAcc { addr, offset },
                Instr::Load8UAcc { offset, .. } => Instr::Load8UAccToAcc { offset },
                Instr::Load32 { addr, offset, .. } => Instr::Load32ToAcc { addr, offset },
                Instr::Load32Acc { offset, .. } => Instr::Load32AccToAcc { offset },
                Instr::Load8UAdd { base, index, offset, .. } => {
                    Instr::Load8UAddToAcc { base, index, offset }
                }
                Instr::Load32Add { base, index, offset, .. } => {
                    Instr::Load32AddToAcc { base, index, offset }
                }
                _ => return None,
            })
        }

        /// `instr` reading `temp` from the accumulator, if it reads it once and has such a
        /// form (a commutative operation's right operand swapped to the left).
        fn from_acc(instr: Instr, temp: Reg) -> Option<Instr> {
            Some(match instr {
                $(
                    Instr::$acc { dst, lhs, rhs } if lhs == temp && rhs != temp => {
                        Instr::$acc_from { dst, rhs }
                    }
                    Instr::$acc { dst, lhs, rhs } if $acc_commutes && rhs == temp && lhs != temp => {
                        Instr::$acc_from { dst, rhs: lhs }
                    }
                )*
                Instr::Load8U { dst, addr, offset } if addr == temp => Instr::Load8UAcc { dst, offset },
                Instr::Load32 { dst, addr, offset } if addr == temp => Instr::Load32Acc { dst, offset },
                Instr::Store8 { addr, value, offset } if value == temp && addr != temp => {
                    Instr::Store8Acc { addr, offset }
                }
                Instr::Store32 { addr, value, offset } if value == temp && addr != temp => {
                    Instr::Store32Acc { addr, offset }
                }
                // The second copy reads its source after the first wrote: not from the
                // accumulator if that write is to `temp`.
                Instr::Copy2 { dst, src, dst2, src2 } if src2 == temp && src != temp && dst != temp => {
                    Instr::Copy2Acc { dst, src, dst2 }
                }
                $(
                    Instr::$cb { lhs, rhs, target } if lhs == temp && rhs != temp => {
                        Instr::$cba { rhs, target }
                    }
                    Instr::$cb { lhs, rhs, target } if rhs == temp && lhs != temp => {
                        Instr::$cbm { rhs: lhs, target }
                    }
                )*
                Instr::BrIfNez { cond, target } if cond == temp => Instr::BrIfNezAcc { target },
                Instr::BrIfEqz { cond, target } if cond == temp => Instr::BrIfEqzAcc { target },
                Instr::BrTable { index, len } if index == temp => Instr::BrTableAcc { len },
                _ => return None,
            })
        }
    };
}
crate::ir::for_each_numeric!(define_acc_pass);

/// The kinds [`result_slot`] names: the only ones a pair can start with.
const PRODUCERS: KindSet = kind_set!(instr => result_slot(instr).is_some());

/// Bits of `targets` per word.
const BITS: usize = u64::BITS as usize;

/// How many words of scratch [`chain_through_acc`] needs for `code`.
pub(super) fn scratch_words(code: &[Instr]) -> usize {
    code.len().div_ceil(BITS)
}

/// Rewrites one function's `code` so that results read by the next instruction alone go
/// through the accumulator. `entry`: the index of its first instruction in the module's
/// code (branch targets, byte offsets from that code's start, are turned into indices and
/// counted from it); `first_temp`: the slot of operand-stack height 0,
/// where the temps start; `targets`: zeroed scratch of [`scratch_words`] words.
pub(super) fn chain_through_acc(
    code: &mut [Instr],
    entry: usize,
    first_temp: Reg,
    targets: &mut [u64],
) {
    let mut mark = |at: usize| {
        if let Some(word) = targets.get_mut(at / BITS) {
            *word |= 1 << (at % BITS);
        }
    };
    // Every position a branch may land on (one outside the function is left to
    // `verify_function` to refuse).
    for (i, instr) in code.iter().enumerate() {
        if !Instr::BRANCHES.contains(instr) {
            continue;
        }
        match *instr {
            // A branch table lands on one of the entries after it.
            Instr::BrTable { len, .. } | Instr::BrTableAcc { len } => {
                (i + 1..=i + 1 + len as usize).for_each(&mut mark)
            }
            mut other => {
                if let Some(&mut target) = other.branch_target_mut()
                    && let Some(at) = target_index(target)
                {
                    mark(at.wrapping_sub(entry));
                }
            }
        }
    }
    let is_target = |at: usize| targets[at / BITS] >> (at % BITS) & 1 != 0;
    for at in 1..code.len() {
        // The bit test first: most instructions start no pair, and `result_slot`'s
        // `match` would jump through a table for each.
        if !PRODUCERS.contains(&code[at - 1]) {
            continue;
        }
        let Some(slot) = result_slot(code[at - 1]) else { continue };
        if is_target(at) {
            continue;
        }
        let Some(consumer) = from_acc(code[at], slot) else { continue };
        if slot < first_temp {
            // A local's new value, which stays in its slot for later readers: read here
            // from the accumulator if its writer offers it there, at the reader's width.
            if code[at - 1].offers_acc() && consumer.wide_acc() == code[at - 1].wide_acc() {
                code[at] = consumer;
            }
        } else if let Some(producer) = into_acc(code[at - 1])
            // Of one width: the loop keeps 64-bit values apart, and a load shared by both
            // widths (`i64.load32_u` is a `Load32`) must not pass its value to an i64
            // reader.
            && consumer.wide_acc() == producer.wide_acc()
        {
            code[at - 1] = producer;
            code[at] = consumer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::tests::with_fields;

    /// [`PRODUCERS`], computed from zero-field samples, names exactly the instructions
    /// [`result_slot`] does, whatever their fields: a pair the pass skips has no result to
    /// pass on.
    #[test]
    fn the_producers_are_the_kinds_with_a_result_slot() {
        for kind in 0..Instr::KINDS {
            for seed in 0..16 {
                let instr = with_fields(kind, seed);
                let has_slot = result_slot(instr).is_some();
                assert_eq!(PRODUCERS.contains(&instr), has_slot, "{instr:?}");
            }
        }
    }
}
