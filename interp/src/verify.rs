//! What the executor relies on without checking, checked once per function: by the
//! translator on the code it has just made, and by the image reader on code that comes from
//! anywhere. One function, so an image is held to exactly the translator's rules; it needs
//! no decoder and no translator, so a board that reads images only keeps it.

use crate::ir::{Instr, Space, target_index};

/// The sizes of a module's index spaces, which its code's indices must lie below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spaces {
    pub funcs: u32,
    /// How many of `funcs` are imported (the first ones).
    pub imported_funcs: u32,
    /// The module's constants (`ModuleInner::consts`).
    pub consts: u32,
    pub types: u32,
    pub tables: u32,
    pub memories: u32,
    pub globals: u32,
    pub datas: u32,
    pub elems: u32,
}

impl Spaces {
    fn holds(&self, space: Space, index: u32) -> bool {
        let size = match space {
            Space::Func => self.funcs,
            Space::DefinedFunc => return (self.imported_funcs..self.funcs).contains(&index),
            Space::ImportedFunc => self.imported_funcs.min(self.funcs),
            Space::Const => self.consts,
            Space::Type => self.types,
            Space::Table => self.tables,
            Space::Memory => self.memories,
            Space::Global => self.globals,
            Space::Data => self.datas,
            Space::Elem => self.elems,
        };
        index < size
    }
}

/// What the executor relies on without checking, over the function whose code is
/// `code[entry..]` and whose frame has `frame_size` slots: it has code, its last instruction
/// does not fall through, every branch target and branch-table entry lies within it, every
/// slot operand within its frame, and every index within `spaces`; a value passes in the
/// accumulator only from an instruction to the next, where no branch lands. With `fuel` on, the
/// function charges fuel on entry and at every backward branch's target, the only places
/// the executor looks at fuel and the interrupt flag: without that, code could loop where
/// neither can stop it. The translator's
/// construction makes all of it true; checking it here turns a slip into an error rather than
/// a jump, an access out of bounds or a panic. Code that did not come from the translator
/// (an image's) is held to the same function.
pub(crate) fn verify_function(
    code: &[Instr],
    entry: usize,
    frame_size: u32,
    spaces: &Spaces,
    fuel: bool,
) -> Result<(), &'static str> {
    let end = code.len();
    // The executor fetches without a bounds check: it must never run off the end.
    match code.get(entry..).and_then(|c| c.last()) {
        None => return Err("empty function body"),
        Some(last) if last.falls_through() => return Err("function code falls off its end"),
        Some(_) => {}
    }
    let charges_fuel =
        |at: usize| matches!(code.get(at), Some(Instr::ConsumeFuel { amount }) if *amount > 0);
    if fuel && !charges_fuel(entry) {
        return Err("function entry charges no fuel");
    }
    for (i, instr) in code.iter().enumerate().skip(entry) {
        let target = match *instr {
            _ if !Instr::BRANCHES.contains(instr) => None,
            Instr::BrTable { len, .. } | Instr::BrTableAcc { len } => {
                // Its `len + 1` entries follow it, counted so that nothing overflows where
                // `usize` is 32 bits (an image's `len` may be any `u32`).
                let Some(entries) = (len as usize).checked_add(1).filter(|&n| n < end - i) else {
                    return Err("branch table runs past the code");
                };
                // Its entries are where it lands.
                if code[i + 1..i + 1 + entries].iter().any(Instr::reads_acc) {
                    return Err("branch into an accumulator read");
                }
                None
            }
            mut other => match other.branch_target_mut() {
                Some(&mut t) => Some(target_index(t).ok_or("branch target inside an instruction")?),
                None => None,
            },
        };
        if let Some(t) = target
            && (t < entry || t >= end)
        {
            return Err("branch target outside the function");
        }
        if let Some(t) = target
            && fuel
            && t <= i
            && !charges_fuel(t)
        {
            return Err("loop that charges no fuel");
        }
        // The accumulator passes a value from one instruction to the next on the straight
        // path only. A result left only there must be taken by the very next instruction
        // (no slot holds it); and a read must come right after a write (or an offer,
        // `Instr::offers_acc`), never at the entry, after a call or where a branch lands,
        // or it would see a value left by other code (another instance's, on the loop);
        // and of the width written, as the loop keeps 64-bit values in another place.
        if instr.writes_acc() && !code.get(i + 1).is_some_and(Instr::reads_acc) {
            return Err("accumulator result not read by the next instruction");
        }
        if instr.reads_acc() && (i == entry || !code[i - 1].leaves_acc()) {
            return Err("accumulator read with no write before it");
        }
        if instr.reads_acc() && code[i - 1].wide_acc() != instr.wide_acc() {
            return Err("accumulator read of another width than written");
        }
        if let Some(t) = target
            && code[t].reads_acc()
        {
            return Err("branch into an accumulator read");
        }
        let mut outside = false;
        instr.for_each_slot(|r| outside |= u32::from(r) >= frame_size);
        if outside {
            return Err("slot operand outside the frame");
        }
        let mut unknown = None;
        instr.for_each_index(|space, index| {
            if !spaces.holds(space, index) {
                unknown = Some(space);
            }
        });
        if let Some(space) = unknown {
            return Err(match space {
                Space::Func => "unknown function",
                Space::DefinedFunc => "unknown defined function",
                Space::ImportedFunc => "unknown imported function",
                Space::Const => "constants outside the module's",
                Space::Type => "unknown type",
                Space::Table => "unknown table",
                Space::Memory => "unknown memory",
                Space::Global => "unknown global",
                Space::Data => "unknown data segment",
                Space::Elem => "unknown element segment",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::target_at;

    /// The check shared by the translator and images: every index an instruction names
    /// must lie in its space, memory instructions need a memory, and the code must end.
    #[test]
    fn verify_function_holds_code_to_the_modules_index_spaces() {
        let spaces = Spaces {
            funcs: 3,
            imported_funcs: 1,
            consts: 2,
            types: 1,
            tables: 1,
            memories: 0,
            globals: 3,
            datas: 1,
            elems: 0,
        };
        let ret = Instr::Return0;
        let check = |body: &[Instr]| {
            let mut code = alloc::vec![Instr::Unreachable]; // another function's code before it
            code.extend_from_slice(body);
            verify_function(&code, 1, 4, &spaces, false)
        };
        let with_memory = Spaces { memories: 1, ..spaces };
        let check_with_memory = |body: &[Instr]| verify_function(body, 0, 4, &with_memory, false);
        assert_eq!(check(&[Instr::Call { func: 1, base: 0 }, ret]), Ok(()));
        assert_eq!(
            check(&[Instr::Call { func: 3, base: 0 }, ret]),
            Err("unknown defined function")
        );
        // A call names its callee's kind: the executor enters a defined function without
        // asking.
        assert_eq!(
            check(&[Instr::Call { func: 0, base: 0 }, ret]),
            Err("unknown defined function")
        );
        assert_eq!(check(&[Instr::CallImported { func: 0, base: 0 }, ret]), Ok(()));
        let import = Instr::CallImported { func: 1, base: 0 };
        assert_eq!(check(&[import, ret]), Err("unknown imported function"));
        assert_eq!(check(&[Instr::RefFunc { dst: 0, func: 3 }, ret]), Err("unknown function"));
        // A frame's set-up writes within the frame (4 slots) and reads the module's constants
        // (2 of them).
        let init = |first, zeros, count, consts| Instr::InitLocals { first, zeros, count, consts };
        assert_eq!(check(&[init(1, 1, 2, 0), ret]), Ok(()));
        assert_eq!(check(&[init(1, 3, 0, 2), ret]), Ok(()), "no constants, none read");
        assert_eq!(check(&[init(1, 2, 2, 0), ret]), Err("slot operand outside the frame"));
        assert_eq!(check(&[init(3, u16::MAX, 0, 0), ret]), Err("slot operand outside the frame"));
        assert_eq!(check(&[init(0, 0, 2, 1), ret]), Err("constants outside the module's"));
        assert_eq!(check(&[init(0, 0, 1, u32::MAX), ret]), Err("constants outside the module's"));
        assert_eq!(check(&[Instr::ZeroLocals { first: 1, count: 3 }, ret]), Ok(()));
        let zero = Instr::ZeroLocals { first: 2, count: u16::MAX };
        assert_eq!(check(&[zero, ret]), Err("slot operand outside the frame"));
        assert_eq!(check(&[Instr::GlobalGet { dst: 0, global: 3 }, ret]), Err("unknown global"));
        let indirect = Instr::CallIndirect { base: 0, index: 1, table: 0, ty: 1 };
        assert_eq!(check(&[indirect, ret]), Err("unknown type"));
        let load = Instr::Load32 { dst: 0, addr: 1, offset: 0 };
        assert_eq!(check(&[load, ret]), Err("unknown memory"), "no memory 0");
        assert_eq!(check(&[Instr::DataDrop { data: 0 }, ret]), Ok(()));
        assert_eq!(check(&[Instr::ElemDrop { elem: 0 }, ret]), Err("unknown element segment"));
        assert_eq!(
            check(&[Instr::Copy { dst: 4, src: 0 }, ret]),
            Err("slot operand outside the frame")
        );
        assert_eq!(check(&[Instr::Br { target: 0 }]), Err("branch target outside the function"));
        let inside = Instr::Br { target: target_at(1) + 4 };
        assert_eq!(check(&[inside, ret]), Err("branch target inside an instruction"));
        assert_eq!(
            check(&[Instr::Copy { dst: 0, src: 1 }]),
            Err("function code falls off its end")
        );
        assert_eq!(check(&[]), Err("empty function body"));
        let into_acc = Instr::I32AddToAcc { lhs: 0, rhs: 1 };
        let from_acc = Instr::I32XorAcc { dst: 2, rhs: 3 };
        assert_eq!(check(&[into_acc, from_acc, ret]), Ok(()));
        assert_eq!(
            check(&[into_acc, Instr::I32Xor { dst: 2, lhs: 0, rhs: 3 }, ret]),
            Err("accumulator result not read by the next instruction")
        );
        assert_eq!(check(&[from_acc, ret]), Err("accumulator read with no write before it"));
        assert_eq!(
            check(&[Instr::Call { func: 1, base: 0 }, from_acc, ret]),
            Err("accumulator read with no write before it")
        );
        let branch_in = Instr::BrIfNez { cond: 0, target: target_at(3) };
        assert_eq!(
            check(&[branch_in, into_acc, from_acc, ret]),
            Err("branch into an accumulator read")
        );
        let table = Instr::BrTable { index: 0, len: 1 };
        let to_ret = Instr::Br { target: target_at(4) };
        assert_eq!(
            check(&[table, to_ret, from_acc, into_acc, ret]),
            Err("branch into an accumulator read")
        );
        // A slot writer also leaves its result there, at its width; a comparison does not.
        let offers = Instr::I32Add { dst: 1, lhs: 0, rhs: 1 };
        assert_eq!(check(&[offers, from_acc, ret]), Ok(()));
        assert_eq!(check(&[Instr::Copy { dst: 1, src: 0 }, from_acc, ret]), Ok(()));
        let load_offers = Instr::Load32 { dst: 1, addr: 0, offset: 0 };
        assert_eq!(check_with_memory(&[load_offers, from_acc, ret]), Ok(()));
        let wide_offers = Instr::I64Add { dst: 1, lhs: 0, rhs: 1 };
        assert_eq!(
            check(&[wide_offers, from_acc, ret]),
            Err("accumulator read of another width than written")
        );
        let rotate = Instr::Copy2Acc { dst: 0, src: 1, dst2: 2 };
        assert_eq!(check(&[wide_offers, rotate, ret]), Ok(()));
        assert_eq!(
            check(&[Instr::I64Mul { dst: 1, lhs: 0, rhs: 1 }, rotate, ret]),
            Err("accumulator read with no write before it")
        );
        assert_eq!(
            check(&[offers, rotate, ret]),
            Err("accumulator read of another width than written")
        );
        assert_eq!(
            check(&[Instr::I32Eq { dst: 1, lhs: 0, rhs: 1 }, from_acc, ret]),
            Err("accumulator read with no write before it")
        );
        // The loop keeps 64-bit values apart: a reader takes its writer's width.
        let wide_into_acc = Instr::I64AddToAcc { lhs: 0, rhs: 1 };
        let wide_from_acc = Instr::I64XorAcc { dst: 2, rhs: 3 };
        assert_eq!(check(&[wide_into_acc, wide_from_acc, ret]), Ok(()));
        assert_eq!(
            check(&[wide_into_acc, from_acc, ret]),
            Err("accumulator read of another width than written")
        );
        assert_eq!(
            check(&[into_acc, wide_from_acc, ret]),
            Err("accumulator read of another width than written")
        );
        // A branch table on the accumulator is held to its entries as the other is.
        // However long it claims to be (the sum would wrap where `usize` is 32 bits).
        let huge = Instr::BrTable { index: 0, len: u32::MAX };
        assert_eq!(check(&[huge, ret, ret]), Err("branch table runs past the code"));
        let table_acc = Instr::BrTableAcc { len: 1 };
        assert_eq!(check(&[into_acc, table_acc, ret, ret]), Ok(()));
        assert_eq!(check(&[into_acc, table_acc, ret]), Err("branch table runs past the code"));
        assert_eq!(
            check(&[into_acc, table_acc, to_ret, from_acc, ret]),
            Err("branch into an accumulator read")
        );
    }

    /// With fuel on, the executor looks at fuel and the interrupt flag only where fuel is
    /// charged: a function must charge it on entry and at every backward branch's target, or
    /// an image could loop where nothing stops it.
    #[test]
    fn verify_function_holds_metered_code_to_charging_fuel_where_it_loops() {
        let spaces = Spaces {
            funcs: 1,
            imported_funcs: 0,
            consts: 0,
            types: 1,
            tables: 0,
            memories: 0,
            globals: 0,
            datas: 0,
            elems: 0,
        };
        let check = |body: &[Instr]| {
            let mut code = alloc::vec![Instr::Unreachable];
            code.extend_from_slice(body);
            verify_function(&code, 1, 4, &spaces, true)
        };
        let fuel = |amount| Instr::ConsumeFuel { amount };
        let ret = Instr::Return0;
        let nez = |at| Instr::BrIfNez { cond: 0, target: target_at(at) };
        let br = |at| Instr::Br { target: target_at(at) };
        // entry, a loop whose head charges, and a forward branch out of it
        assert_eq!(check(&[fuel(1), fuel(1), nez(4), br(2), ret]), Ok(()));
        assert_eq!(check(&[ret]), Err("function entry charges no fuel"));
        assert_eq!(check(&[fuel(0), ret]), Err("function entry charges no fuel"));
        assert_eq!(check(&[fuel(1), fuel(0), nez(2), ret]), Err("loop that charges no fuel"));
        assert_eq!(check(&[fuel(1), br(2), ret]), Err("loop that charges no fuel"));
        assert_eq!(
            check(&[fuel(1), nez(1), ret]),
            Ok(()),
            "a loop may close on the entry's charge"
        );
        // without fuel, nothing is charged and nothing required
        let code = [Instr::Unreachable, br(1)];
        assert_eq!(verify_function(&code, 1, 4, &spaces, false), Ok(()));
    }
}
