//! Constants: which ones a function gets frame slots for (copied in on entry, so a loop
//! reads them for free), decided as the body is read, and the constant operands that read
//! those slots or are loaded by an instruction.

use alloc::vec::Vec;

use crate::error::Error;
use crate::heap::{HeapAccount, HeapUse, board_bytes, board_sizes};
use crate::ir::{Instr, Reg};
use crate::value::Slot;

use super::Translator;
use super::stack::Operand;

impl Translator<'_> {
    /// The value slot `slot` holds for the whole call if it is one of this function's
    /// constant slots (after the locals).
    pub(super) fn constant_in(&self, slot: Reg) -> Option<Slot> {
        let i = u32::from(slot).checked_sub(self.locals)?;
        self.consts[self.consts_start..].get(i as usize).copied()
    }

    /// Pushes a constant: pending in its constant slot if it has one or earns one here,
    /// else loaded by an instruction into a temp.
    pub(super) fn constant(&mut self, bits: Slot) -> Result<(), Error> {
        let (in_loop, what) = (self.loops > 0, self.heap_use());
        // The next slot, while the body has room for one.
        let given = (self.consts.len() - self.consts_start) as u32;
        let next_slot = (given < self.const_room).then_some(given as u16);
        let slot = match self.scratch.uses.weigh(bits, in_loop, next_slot, self.heap, what)? {
            ConstSlot::Held(k) => Some(k),
            ConstSlot::Earned(k) => {
                self.heap.push(self.consts, bits, what)?;
                Some(k)
            }
            ConstSlot::None => None,
        };
        if let Some(k) = slot {
            let slot = self.locals + u32::from(k);
            self.push(Operand::Pending(slot as Reg))?;
            return Ok(());
        }
        let dst = self.push_temp()?;
        match u32::try_from(bits) {
            Ok(value) => self.emit_result(Instr::Const32 { dst, value }),
            Err(_) => {
                self.emit_result(Instr::Const64 { dst, lo: bits as u32, hi: (bits >> 32) as u32 })
            }
        }
    }
}

/// The most constant slots a frame gets: each costs a copy on every call.
pub(super) const MAX_CONST_SLOTS: usize = 48;

/// Distinct constants a body's uses are counted for at most (bounds the search on huge
/// bodies); one found later never earns a slot.
const MAX_CONST_CANDIDATES: usize = 256;

/// Uses outside loops that earn a constant a slot.
const USES_FOR_A_SLOT: u8 = 3;

/// Where a use of a constant reads it from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConstSlot {
    /// The body's `k`-th constant slot, which it had already.
    Held(u16),
    /// The body's `k`-th constant slot, earned by this use: the next one.
    Earned(u16),
    /// No slot: an instruction loads it.
    None,
}

/// What the constants of the body being translated have earned, decided use by use: a
/// constant gets a slot at its first use in a loop or its third outside one, the first
/// [`MAX_CONST_SLOTS`] to earn one. A constant used once or twice outside loops is left to
/// `Const` instructions: it runs about once per call, which is what copying it into the
/// frame would cost, and its slot would deepen every frame of a recursion (the exact
/// value-stack limits of a board profile count on small frames). Used three times or
/// more, its slot costs less heap than the instructions.
///
/// Decided as the operators come, the translator needs no reading of the body before its
/// own. Kept from one body to the next ([`Self::clear`]): its buffers are allocated a few
/// times a module, not per body, charged to the module's account as they grow, until
/// [`Self::release`].
#[derive(Default)]
pub(crate) struct ConstUses {
    /// The constants found, in order of first use ...
    found: Vec<Slot>,
    /// ... and what each one has earned.
    uses: Vec<Earned>,
    /// Where each constant is in `found`, by its hash, once a body has more than [`LISTED`]
    /// ([`INDEX_SLOTS`] entries): the position plus one, 0 for none; probed linearly.
    index: Vec<u16>,
}

/// A found constant's standing: its uses outside loops so far, or its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Earned {
    Uses(u8),
    Slot(u16),
}

board_sizes! {
    Earned = 4;
}

/// Constants a body may have before they are indexed: most bodies have a few, searched in
/// `found` itself, and need no index (1 KiB, held while a module is read).
const LISTED: usize = 16;

/// Entries of [`ConstUses::index`]: twice the most candidates, so a probe ends soon.
const INDEX_SLOTS: usize = 2 * MAX_CONST_CANDIDATES;

// A hash's top bits name an entry, and an entry holds a position plus one in 16 bits.
const _: () = assert!(INDEX_SLOTS.is_power_of_two() && MAX_CONST_CANDIDATES < u16::MAX as usize);

impl ConstUses {
    /// Forgets the last body's constants, for the next body's.
    pub(crate) fn clear(&mut self) {
        // The index, if this body was indexed: 1 KiB, for a body of many constants.
        if self.found.len() > LISTED {
            self.index.fill(0);
        }
        self.found.clear();
        self.uses.clear();
    }

    /// Frees the buffers once the module's last body is translated, their charge given back.
    pub(crate) fn release(&mut self, heap: &mut HeapAccount) {
        let ConstUses { found, uses, index, .. } = core::mem::take(self);
        heap.release(
            board_bytes::<Slot>(found.capacity())
                + board_bytes::<Earned>(uses.capacity())
                + board_bytes::<u16>(index.capacity()),
        );
    }

    /// A use of the constant `bits` (as its slot holds it), `in_loop` or not: the slot it
    /// is read from, if it has one or earns `next_slot`, the body's next slot (`None` once
    /// the body has no room for another). Its bookkeeping is charged to `heap` as `what`.
    pub(super) fn weigh(
        &mut self,
        bits: Slot,
        in_loop: bool,
        next_slot: Option<u16>,
        heap: &mut HeapAccount,
        what: HeapUse,
    ) -> Result<ConstSlot, Error> {
        let (at, free) = if self.found.len() <= LISTED {
            (self.found.iter().position(|&c| c == bits), None)
        } else {
            self.probe(bits)
        };
        let uses = match at.and_then(|i| self.uses.get_mut(i)) {
            Some(Earned::Slot(k)) => return Ok(ConstSlot::Held(*k)),
            Some(Earned::Uses(n)) => {
                *n = n.saturating_add(1);
                *n
            }
            None if self.found.len() == MAX_CONST_CANDIDATES => return Ok(ConstSlot::None),
            None => {
                heap.push(&mut self.found, bits, what)?;
                heap.push(&mut self.uses, Earned::Uses(1), what)?;
                match free {
                    Some(entry) => {
                        if let Some(entry) = self.index.get_mut(entry) {
                            *entry = self.found.len() as u16;
                        }
                    }
                    None if self.found.len() == LISTED + 1 => self.build_index(heap, what)?,
                    None => {}
                }
                1
            }
        };
        let Some(k) = next_slot.filter(|_| in_loop || uses >= USES_FOR_A_SLOT) else {
            return Ok(ConstSlot::None);
        };
        let i = at.unwrap_or(self.found.len() - 1);
        if let Some(earned) = self.uses.get_mut(i) {
            *earned = Earned::Slot(k);
        }
        Ok(ConstSlot::Earned(k))
    }

    /// Where `bits` is in `found` (by the index), or else the empty index entry where it
    /// goes: at most half the entries are used, so a probe ends at one or the other.
    fn probe(&self, bits: Slot) -> (Option<usize>, Option<usize>) {
        let mut at = index_home(bits);
        for _ in 0..INDEX_SLOTS {
            match self.index.get(at) {
                Some(&0) => return (None, Some(at)),
                Some(&entry) if self.found.get(usize::from(entry) - 1) == Some(&bits) => {
                    return (Some(usize::from(entry) - 1), None);
                }
                _ => at = (at + 1) % INDEX_SLOTS,
            }
        }
        (None, None)
    }

    /// Indexes every constant found: the body has just outgrown the list's search.
    fn build_index(&mut self, heap: &mut HeapAccount, what: HeapUse) -> Result<(), Error> {
        if self.index.is_empty() {
            heap.reserve_exact(&mut self.index, INDEX_SLOTS, what)?;
            self.index.resize(INDEX_SLOTS, 0);
        }
        for (i, &bits) in self.found.iter().enumerate() {
            let mut at = index_home(bits);
            while let Some(entry) = self.index.get_mut(at) {
                if *entry == 0 {
                    *entry = i as u16 + 1;
                    break;
                }
                at = (at + 1) % INDEX_SLOTS;
            }
        }
        Ok(())
    }
}

/// Where the search for `bits` in [`ConstUses::index`] starts: the top bits of a
/// multiplicative hash (constants differ most in their low bits).
fn index_home(bits: Slot) -> usize {
    (bits.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - INDEX_SLOTS.trailing_zeros())) as usize
}

/// Each kind of constant as its slot holds it.
pub(super) mod slot_bits {
    use crate::value::Slot;

    pub(crate) fn i32(value: i32) -> Slot {
        value as u32 as Slot
    }

    pub(crate) fn i64(value: i64) -> Slot {
        value as Slot
    }

    pub(crate) fn f32(value: wasmparser::Ieee32) -> Slot {
        value.bits() as Slot
    }

    pub(crate) fn f64(value: wasmparser::Ieee64) -> Slot {
        value.bits()
    }

    /// A null reference.
    pub(crate) const NULL: Slot = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A use of `bits` in a body with room for `room` slots, `given` of them given so far,
    /// as the translator asks.
    fn weigh(
        consts: &mut ConstUses,
        given: &mut u16,
        room: u16,
        bits: Slot,
        in_loop: bool,
        heap: &mut HeapAccount,
    ) -> ConstSlot {
        let next_slot = (*given < room).then_some(*given);
        let got = consts.weigh(bits, in_loop, next_slot, heap, HeapUse::Module).unwrap();
        *given += u16::from(matches!(got, ConstSlot::Earned(_)));
        got
    }

    /// What `ConstUses` decides, the plain way: a list searched from the start.
    fn weighed_plainly(uses: &[(Slot, bool)], room: u16) -> Vec<ConstSlot> {
        let mut found: Vec<(Slot, Earned)> = Vec::new();
        let mut slots = 0;
        let mut out = Vec::new();
        for &(bits, in_loop) in uses {
            let i = match found.iter().position(|c| c.0 == bits) {
                Some(i) => i,
                None if found.len() < MAX_CONST_CANDIDATES => {
                    found.push((bits, Earned::Uses(0)));
                    found.len() - 1
                }
                None => {
                    out.push(ConstSlot::None);
                    continue;
                }
            };
            out.push(match &mut found[i].1 {
                Earned::Slot(k) => ConstSlot::Held(*k),
                Earned::Uses(n) => {
                    *n = n.saturating_add(1);
                    if (in_loop || *n >= USES_FOR_A_SLOT) && slots < room {
                        found[i].1 = Earned::Slot(slots);
                        slots += 1;
                        ConstSlot::Earned(slots - 1)
                    } else {
                        ConstSlot::None
                    }
                }
            });
        }
        out
    }

    /// The hashed index finds every constant again, whatever its hash collides with, across
    /// bodies that reuse the buffers (an entry left from the last body would misplace a
    /// use) and past the most candidates: the same slots, use by use, as a list searched
    /// from the start.
    #[test]
    fn the_constants_index_finds_what_a_plain_search_finds() {
        let (mut consts, mut heap) = (ConstUses::default(), HeapAccount::new(None));
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Constants of one home entry: their probes run into each other.
        let colliding: Vec<Slot> = (0..u64::MAX).filter(|&b| index_home(b) == 7).take(40).collect();
        let mut earned = 0;
        for body in 0..60u64 {
            let distinct = [3, 17, 40, 300, 700][body as usize % 5];
            let uses: Vec<(Slot, bool)> = (0..900)
                .map(|k| {
                    let r = next();
                    let bits = match body % 3 {
                        0 => colliding[(r % 40) as usize],
                        1 => r % distinct,
                        _ => ((r % distinct) << 32) | (k % 5),
                    };
                    (bits, r >> 58 == 0)
                })
                .collect();
            let room = [48, 0, 5][body as usize % 3];
            consts.clear();
            let mut given = 0;
            let got: Vec<ConstSlot> = uses
                .iter()
                .map(|&(bits, in_loop)| {
                    weigh(&mut consts, &mut given, room, bits, in_loop, &mut heap)
                })
                .collect();
            assert_eq!(got, weighed_plainly(&uses, room), "body {body}");
            earned += got.iter().filter(|c| matches!(c, ConstSlot::Earned(_))).count();
        }
        assert!(earned > 100, "{earned} slots earned");
    }

    /// A constant earns a slot at its first use in a loop or its third outside one, the
    /// slots numbered in order of earning, until the body's room is used up.
    #[test]
    fn constants_earn_slots_in_loops_or_by_their_third_use() {
        let (mut consts, mut heap) = (ConstUses::default(), HeapAccount::new(None));
        let mut given = 0;
        let mut use_in = |consts: &mut ConstUses, given: &mut u16, bits, in_loop| {
            weigh(consts, given, 2, bits, in_loop, &mut heap)
        };
        consts.clear();
        let (none, held, earned) = (ConstSlot::None, ConstSlot::Held, ConstSlot::Earned);
        assert_eq!(use_in(&mut consts, &mut given, 7, false), none);
        assert_eq!(use_in(&mut consts, &mut given, 9, true), earned(0));
        assert_eq!(use_in(&mut consts, &mut given, 7, false), none);
        assert_eq!(use_in(&mut consts, &mut given, 9, false), held(0));
        assert_eq!(use_in(&mut consts, &mut given, 7, false), earned(1));
        assert_eq!(use_in(&mut consts, &mut given, 7, true), held(1));
        // No room left: a loop's constant is loaded.
        assert_eq!(use_in(&mut consts, &mut given, 11, true), none);
        consts.clear();
        given = 0;
        assert_eq!(use_in(&mut consts, &mut given, 7, false), none);
        assert_eq!(use_in(&mut consts, &mut given, 11, true), earned(0));
    }
}
