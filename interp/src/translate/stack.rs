//! The translator's compile-time model of the operand stack: where each entry's value
//! is (its own slot, or still pending in a local's or a constant's slot), pushing and
//! popping entries, and materialising pending ones where values must sit in their own
//! consecutive slots.

use crate::error::Error;
use crate::ir::{Instr, Reg};

use super::{MAX_FRAME, Translator};

/// Where an operand-stack entry's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operand {
    /// In the entry's own slot, `stack_base + height`.
    Temp,
    /// Still in another slot: a local's (a pending `local.get`) or a constant's
    /// (never written while the function runs).
    Pending(Reg),
}

impl Translator<'_> {
    /// The slot of stack height `h`.
    pub(super) fn slot(&self, h: u32) -> Result<Reg, Error> {
        let s = self.stack_base as u64 + h as u64;
        if s >= MAX_FRAME as u64 {
            return Err(Error::Limit {
                what: "function frame slots",
                value: s + 1,
                limit: MAX_FRAME as u64,
            });
        }
        Ok(s as Reg)
    }

    pub(super) fn height(&self) -> u32 {
        self.stack.len() as u32
    }

    /// Where the entry at height `h` is read from.
    pub(super) fn operand_slot(&self, h: u32) -> Result<Reg, Error> {
        match self.stack.get(h as usize) {
            Some(Operand::Pending(l)) => Ok(*l),
            Some(Operand::Temp) => self.slot(h),
            None => Err(self.err("operand stack underflow")),
        }
    }

    /// Checks that `n` values are on the stack above the innermost block's base.
    pub(super) fn need(&self, n: u32) -> Result<(), Error> {
        let base = self.ctrl()?.height;
        if self.height() < base + n {
            return Err(self.err("operand stack underflow"));
        }
        Ok(())
    }

    pub(super) fn pop(&mut self) -> Result<Reg, Error> {
        self.need(1)?;
        let s = self.operand_slot(self.height() - 1)?;
        self.stack.pop();
        Ok(s)
    }

    pub(super) fn push(&mut self, operand: Operand) -> Result<Reg, Error> {
        let h = self.height();
        if self.stack_base + h >= MAX_FRAME {
            // Past the frame's last slot while room for constants is held below the temps:
            // the room goes first.
            self.close_const_room();
        }
        let s = self.slot(h)?;
        let what = self.heap_use();
        self.heap.push(&mut self.stack, operand, what)?;
        self.max_height = self.max_height.max(h + 1);
        Ok(s)
    }

    pub(super) fn push_temp(&mut self) -> Result<Reg, Error> {
        self.push(Operand::Temp)
    }

    /// Copies every pending local at heights `from..` into its own slot.
    pub(super) fn materialize_from(&mut self, from: u32) -> Result<(), Error> {
        self.materialize_where(from, |_| true)
    }

    /// Copies the pending reads of the locals `pick` selects, at heights `from..`,
    /// into their own slots.
    pub(super) fn materialize_where(
        &mut self,
        from: u32,
        pick: impl Fn(Reg) -> bool,
    ) -> Result<(), Error> {
        for h in from..self.height() {
            if let Operand::Pending(l) = self.stack[h as usize]
                && pick(l)
            {
                let dst = self.slot(h)?;
                self.emit(Instr::Copy { dst, src: l })?;
                self.stack[h as usize] = Operand::Temp;
            }
        }
        Ok(())
    }

    /// Materialises the top `n` entries, so they sit in consecutive slots;
    /// returns the first slot.
    fn consecutive(&mut self, n: u32) -> Result<Reg, Error> {
        self.need(n)?;
        let first = self.height() - n;
        self.materialize_from(first)?;
        self.slot(first)
    }

    /// Pops `n` materialised entries, returning the first one's slot.
    pub(super) fn pop_consecutive(&mut self, n: u32) -> Result<Reg, Error> {
        let base = self.consecutive(n)?;
        self.stack.truncate(self.stack.len() - n as usize);
        Ok(base)
    }

    /// Pushes `n` materialised values (block parameters or results, call results).
    pub(super) fn push_results(&mut self, n: u32) -> Result<(), Error> {
        for _ in 0..n {
            self.push_temp()?;
        }
        Ok(())
    }
}
