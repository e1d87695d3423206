//! Constants: the pre-pass that picks the constants a function gets frame slots for
//! (copied in on entry, so a loop reads them for free), and the constant operands that
//! read those slots or are loaded by an instruction.

use alloc::vec;
use alloc::vec::Vec;

use wasmparser::{FunctionBody, Operator};

use crate::error::Error;
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

    /// Pushes a constant: pending in its constant slot if it has one, else loaded by
    /// an instruction into a temp.
    pub(super) fn constant(&mut self, bits: Slot) -> Result<(), Error> {
        let own = &self.consts[self.consts_start..];
        if let Some(i) = own.iter().position(|&c| c == bits) {
            let slot = self.locals + i as u32;
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

/// Distinct constants the pre-pass ranks at most (bounds its work on huge bodies).
const MAX_CONST_CANDIDATES: usize = 256;

/// A constant earns a slot with this weight: one use in a loop, or three outside.
const MIN_CONST_WEIGHT: u64 = 3;

/// The constants of `body` worth a slot: the most used, a use inside a loop counting 16
/// times one outside (and 256 times in a nested loop ...), at most [`MAX_CONST_SLOTS`],
/// in order of first use. A constant used once or twice outside loops is left to
/// `Const` instructions: it runs about once per call, which is what copying it into the
/// frame would cost, and its slot would deepen every frame of a recursion (the exact
/// value-stack limits of a board profile count on small frames). Used three times or
/// more, its slot costs less heap than the instructions. A body that does not decode
/// yields what was found before the fault; the translation proper reports it.
///
/// A pass of its own where nothing else reads the body first; the validator weighs the
/// constants as it reads the operators ([`ConstWeights`]), which saves this pass.
pub(crate) fn choose_constants<'w>(
    body: &FunctionBody<'_>,
    weights: &'w mut ConstWeights,
) -> &'w [Slot] {
    weights.clear();
    if let Ok(mut reader) = body.get_operators_reader() {
        while !reader.eof() {
            let Ok(op) = reader.read() else { break };
            weights.observe(&op);
        }
    }
    weights.choose()
}

/// A body's constants weighed as its operators go by, in order: what
/// [`choose_constants`] chooses from. Kept from one body to the next ([`Self::clear`]), so
/// its buffers are allocated a few times a module, not per body.
#[derive(Default)]
pub(crate) struct ConstWeights {
    /// The constants found, in order of first use ...
    found: Vec<Slot>,
    /// ... and each one's weight.
    weights: Vec<u64>,
    /// The open blocks, `true` for a loop.
    blocks: Vec<bool>,
    loop_depth: u32,
    /// What [`Self::choose`] chose.
    chosen: Vec<Slot>,
    /// Where each constant is in `found`, by its hash, once a body has more than [`LISTED`]
    /// ([`INDEX_SLOTS`] entries): the position plus one, 0 for none; probed linearly.
    index: Vec<u16>,
}

/// Constants a body may have before they are indexed: most bodies have a few, searched in
/// `found` itself, and need no index (1 KiB, held while a module is read).
const LISTED: usize = 16;

/// Entries of [`ConstWeights::index`]: twice the most candidates, so a probe ends soon.
const INDEX_SLOTS: usize = 2 * MAX_CONST_CANDIDATES;

// A hash's top bits name an entry, and an entry holds a position plus one in 16 bits.
const _: () = assert!(INDEX_SLOTS.is_power_of_two() && MAX_CONST_CANDIDATES < u16::MAX as usize);

impl ConstWeights {
    /// Forgets the last body's constants, for the next body's.
    pub(crate) fn clear(&mut self) {
        // The index, if this body was indexed: 1 KiB, for a body of many constants.
        if self.found.len() > LISTED {
            self.index.fill(0);
        }
        self.found.clear();
        self.weights.clear();
        self.blocks.clear();
        self.loop_depth = 0;
    }

    /// Takes in the body's next operator.
    pub(crate) fn observe(&mut self, op: &Operator<'_>) {
        match op {
            Operator::Block { .. } | Operator::If { .. } => self.open(false),
            Operator::Loop { .. } => self.open(true),
            Operator::End => self.end(),
            _ => {
                if let Some(bits) = constant_bits(op) {
                    self.constant(bits);
                }
            }
        }
    }

    /// A block opens: a loop if `is_loop`.
    pub(crate) fn open(&mut self, is_loop: bool) {
        self.blocks.push(is_loop);
        self.loop_depth += u32::from(is_loop);
    }

    /// The innermost block ends.
    pub(crate) fn end(&mut self) {
        self.loop_depth -= u32::from(self.blocks.pop() == Some(true));
    }

    /// A use of the constant `bits` (as its slot holds it).
    pub(crate) fn constant(&mut self, bits: Slot) {
        // A use outside loops counts 1, in a loop 16, in a nested loop 256 ...
        let weight = 1u64 << (4 * self.loop_depth.min(12));
        let (at, free) = if self.found.len() <= LISTED {
            (self.found.iter().position(|&c| c == bits), None)
        } else {
            self.probe(bits)
        };
        if let Some(w) = at.and_then(|i| self.weights.get_mut(i)) {
            *w = w.saturating_add(weight);
            return;
        }
        if self.found.len() == MAX_CONST_CANDIDATES {
            return;
        }
        self.found.push(bits);
        self.weights.push(weight);
        match free {
            Some(entry) => {
                if let Some(entry) = self.index.get_mut(entry) {
                    *entry = self.found.len() as u16;
                }
            }
            None if self.found.len() == LISTED + 1 => self.build_index(),
            None => {}
        }
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
    fn build_index(&mut self) {
        if self.index.is_empty() {
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
    }

    /// The constants that earn a slot, in order of first use (see [`choose_constants`]).
    /// The weights stay as they are: asked twice, the same answer.
    pub(crate) fn choose(&mut self) -> &[Slot] {
        let Self { found, weights, chosen, .. } = self;
        chosen.clear();
        let worth = |&(_, &w): &(&Slot, &u64)| w >= MIN_CONST_WEIGHT;
        let pairs = || found.iter().zip(weights.iter());
        if pairs().filter(worth).count() <= MAX_CONST_SLOTS {
            // Room for every one worth a slot (most bodies): no ranking needed.
            chosen.extend(pairs().filter(worth).map(|(&c, _)| c));
            return chosen;
        }
        // The heaviest, earliest first on ties; picked by repeated search rather than a
        // sort, which would add kilobytes of code for a few dozen entries. A pick leaves the
        // search, so each search is one pass over the candidates; the picks are then taken
        // in order of first use.
        let mut picked = vec![false; found.len()];
        for _ in 0..MAX_CONST_SLOTS {
            let best = (0..weights.len())
                .filter(|&i| weights[i] >= MIN_CONST_WEIGHT && !picked[i])
                .max_by_key(|&i| (weights[i], core::cmp::Reverse(i)));
            let Some(i) = best else { break };
            picked[i] = true;
        }
        chosen.extend(found.iter().zip(picked).filter(|(_, picked)| *picked).map(|(&c, _)| c));
        chosen
    }
}

/// Where the search for `bits` in [`ConstWeights::index`] starts: the top bits of a
/// multiplicative hash (constants differ most in their low bits).
fn index_home(bits: Slot) -> usize {
    (bits.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - INDEX_SLOTS.trailing_zeros())) as usize
}

/// A constant operator's value as its slot holds it (`i32`/`f32` zero-extended,
/// a null reference as 0).
pub(super) fn constant_bits(op: &Operator<'_>) -> Option<Slot> {
    Some(match *op {
        Operator::I32Const { value } => slot_bits::i32(value),
        Operator::I64Const { value } => slot_bits::i64(value),
        Operator::F32Const { value } => slot_bits::f32(value),
        Operator::F64Const { value } => slot_bits::f64(value),
        Operator::RefNull { .. } => slot_bits::NULL,
        _ => return None,
    })
}

/// Each kind of constant as its slot holds it.
pub(crate) mod slot_bits {
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

    /// What `ConstWeights` computes, the plain way: a list searched from the start.
    fn weighed_plainly(uses: &[(Slot, u32)]) -> Vec<(Slot, u64)> {
        let mut found: Vec<(Slot, u64)> = Vec::new();
        for &(bits, depth) in uses {
            let weight = 1u64 << (4 * depth.min(12));
            if let Some(c) = found.iter_mut().find(|c| c.0 == bits) {
                c.1 = c.1.saturating_add(weight);
            } else if found.len() < MAX_CONST_CANDIDATES {
                found.push((bits, weight));
            }
        }
        found
    }

    /// The hashed index finds every constant again, whatever its hash collides with, across
    /// bodies that reuse the weights (an entry left from the last body would misplace a
    /// weight) and past the most candidates: the same weights, in the same order, as a list
    /// searched from the start.
    #[test]
    fn the_weights_index_finds_what_a_plain_search_finds() {
        let mut weights = ConstWeights::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Constants of one home entry: their probes run into each other.
        let colliding: Vec<Slot> = (0..u64::MAX).filter(|&b| index_home(b) == 7).take(40).collect();
        for body in 0..60u64 {
            let distinct = [3, 17, 40, 300, 700][body as usize % 5];
            let uses: Vec<(Slot, u32)> = (0..900)
                .map(|k| {
                    let r = next();
                    let bits = match body % 3 {
                        0 => colliding[(r % 40) as usize],
                        1 => r % distinct,
                        _ => ((r % distinct) << 32) | (k % 5),
                    };
                    (bits, (r >> 60) as u32 % 3)
                })
                .collect();
            weights.clear();
            for &(bits, depth) in &uses {
                weights.loop_depth = depth;
                weights.constant(bits);
            }
            let got: Vec<(Slot, u64)> =
                weights.found.iter().copied().zip(weights.weights.iter().copied()).collect();
            assert_eq!(got, weighed_plainly(&uses), "body {body}");
        }
    }

    /// Ranked (more constants worth a slot than slots), the heaviest are chosen, in order of
    /// first use, and asking again gives the same answer.
    #[test]
    fn the_heaviest_constants_are_chosen_in_order_of_first_use_every_time() {
        let mut weights = ConstWeights::default();
        weights.clear();
        for c in 0..60u64 {
            // Constant `c` used 3 + c % 7 times: the ones of 9 uses, then 8, ... win.
            for _ in 0..3 + c % 7 {
                weights.constant(c);
            }
        }
        let by_uses = |c: &u64| core::cmp::Reverse(3 + c % 7);
        let mut expected: Vec<u64> = (0..60).collect();
        expected.sort_by_key(by_uses);
        expected.truncate(MAX_CONST_SLOTS);
        expected.sort();
        assert_eq!(weights.choose(), &expected[..]);
        assert_eq!(weights.choose(), &expected[..]);
    }
}
