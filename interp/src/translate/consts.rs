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
pub(super) fn choose_constants(body: &FunctionBody<'_>) -> Vec<Slot> {
    // (bits, weight), in order of first use.
    let mut found: Vec<(Slot, u64)> = Vec::new();
    let mut blocks: Vec<bool> = Vec::new();
    let mut loop_depth = 0u32;
    let Ok(mut reader) = body.get_operators_reader() else { return Vec::new() };
    while !reader.eof() {
        let Ok(op) = reader.read() else { break };
        match op {
            Operator::Block { .. } | Operator::If { .. } => blocks.push(false),
            Operator::Loop { .. } => {
                blocks.push(true);
                loop_depth += 1;
            }
            Operator::End => loop_depth -= u32::from(blocks.pop() == Some(true)),
            _ => {}
        }
        let Some(bits) = constant_bits(&op) else { continue };
        // A use outside loops counts 1, in a loop 16, in a nested loop 256 ...
        let weight = 1u64 << (4 * loop_depth.min(12));
        if let Some(c) = found.iter_mut().find(|c| c.0 == bits) {
            c.1 = c.1.saturating_add(weight);
        } else if found.len() < MAX_CONST_CANDIDATES {
            found.push((bits, weight));
        }
    }
    // The heaviest, earliest first on ties; picked by repeated search rather than a
    // sort, which would add kilobytes of code for a few dozen entries. A pick's weight
    // drops to 0, out of the search, so each search is one pass over the candidates.
    let mut chosen = vec![false; found.len()];
    for _ in 0..MAX_CONST_SLOTS {
        let best = (0..found.len())
            .filter(|&i| found[i].1 >= MIN_CONST_WEIGHT)
            .max_by_key(|&i| (found[i].1, core::cmp::Reverse(i)));
        let Some(i) = best else { break };
        chosen[i] = true;
        found[i].1 = 0;
    }
    found.iter().zip(chosen).filter(|(_, chosen)| *chosen).map(|(c, _)| c.0).collect()
}

/// A constant operator's value as its slot holds it (`i32`/`f32` zero-extended,
/// a null reference as 0).
pub(super) fn constant_bits(op: &Operator<'_>) -> Option<Slot> {
    Some(match op {
        Operator::I32Const { value } => *value as u32 as Slot,
        Operator::I64Const { value } => *value as Slot,
        Operator::F32Const { value } => value.bits() as Slot,
        Operator::F64Const { value } => value.bits(),
        Operator::RefNull { .. } => 0,
        _ => return None,
    })
}
