//! The compact internal code every function is translated into once.
//!
//! Operands are frame-relative slot indices (`Reg`) resolved at translation time:
//! slots `0..locals` hold the function's locals (parameters first), the slots above
//! them hold the operand stack, whose height is static at every instruction. So no
//! instruction pushes or pops at run time, and `local.get` costs nothing: its
//! consumers read the local's slot directly.
//!
//! Every instruction is 12 bytes with no pointer-sized field, so a module's code
//! takes the same room on a 64-bit simulator and on a 32-bit board. Branch targets
//! are byte offsets from the start of the module's code ([`target_at`]).
//!
//! The numeric operations live in one table, [`for_each_numeric`], which defines
//! their variants here, their decoding in the translator and their semantics in the
//! executor, so the three cannot drift apart.

/// A frame-relative slot index.
pub type Reg = u16;

/// The table of numeric operations: `Name: operand types => result type, semantics;`.
/// Variant names equal `wasmparser::Operator` names. `*_trap` entries return
/// `Result<_, TrapKind>`. `compare_branch` lists the fused compare-and-branch
/// instructions: `Name: the comparison it replaces, the branch on its negation, its form
/// with the left operand in the accumulator, the form that tests the same with the operands
/// swapped (for a right operand in the accumulator), operand type, test;`.
macro_rules! for_each_numeric {
    ($m:ident) => {
        $m! {
            binary {
                I32Add: i32, i32 => i32, |a: i32, b: i32| a.wrapping_add(b);
                I32Sub: i32, i32 => i32, |a: i32, b: i32| a.wrapping_sub(b);
                I32Mul: i32, i32 => i32, |a: i32, b: i32| a.wrapping_mul(b);
                I32And: i32, i32 => i32, |a: i32, b: i32| a & b;
                I32Or: i32, i32 => i32, |a: i32, b: i32| a | b;
                I32Xor: i32, i32 => i32, |a: i32, b: i32| a ^ b;
                I32Shl: i32, i32 => i32, |a: i32, b: i32| a.wrapping_shl(b as u32);
                I32ShrS: i32, i32 => i32, |a: i32, b: i32| a.wrapping_shr(b as u32);
                I32ShrU: u32, u32 => u32, |a: u32, b: u32| a.wrapping_shr(b);
                I32Rotl: u32, u32 => u32, |a: u32, b: u32| a.rotate_left(b);
                I32Rotr: u32, u32 => u32, |a: u32, b: u32| a.rotate_right(b);
                I32Eq: i32, i32 => bool, |a: i32, b: i32| a == b;
                I32Ne: i32, i32 => bool, |a: i32, b: i32| a != b;
                I32LtS: i32, i32 => bool, |a: i32, b: i32| a < b;
                I32LtU: u32, u32 => bool, |a: u32, b: u32| a < b;
                I32GtS: i32, i32 => bool, |a: i32, b: i32| a > b;
                I32GtU: u32, u32 => bool, |a: u32, b: u32| a > b;
                I32LeS: i32, i32 => bool, |a: i32, b: i32| a <= b;
                I32LeU: u32, u32 => bool, |a: u32, b: u32| a <= b;
                I32GeS: i32, i32 => bool, |a: i32, b: i32| a >= b;
                I32GeU: u32, u32 => bool, |a: u32, b: u32| a >= b;

                I64Add: i64, i64 => i64, |a: i64, b: i64| a.wrapping_add(b);
                I64Sub: i64, i64 => i64, |a: i64, b: i64| a.wrapping_sub(b);
                I64Mul: i64, i64 => i64, |a: i64, b: i64| a.wrapping_mul(b);
                I64And: i64, i64 => i64, |a: i64, b: i64| a & b;
                I64Or: i64, i64 => i64, |a: i64, b: i64| a | b;
                I64Xor: i64, i64 => i64, |a: i64, b: i64| a ^ b;
                I64Shl: i64, i64 => i64, |a: i64, b: i64| a.wrapping_shl(b as u32);
                I64ShrS: i64, i64 => i64, |a: i64, b: i64| a.wrapping_shr(b as u32);
                I64ShrU: u64, u64 => u64, |a: u64, b: u64| a.wrapping_shr(b as u32);
                I64Rotl: u64, u64 => u64, |a: u64, b: u64| a.rotate_left(b as u32);
                I64Rotr: u64, u64 => u64, |a: u64, b: u64| a.rotate_right(b as u32);
                I64Eq: i64, i64 => bool, |a: i64, b: i64| a == b;
                I64Ne: i64, i64 => bool, |a: i64, b: i64| a != b;
                I64LtS: i64, i64 => bool, |a: i64, b: i64| a < b;
                I64LtU: u64, u64 => bool, |a: u64, b: u64| a < b;
                I64GtS: i64, i64 => bool, |a: i64, b: i64| a > b;
                I64GtU: u64, u64 => bool, |a: u64, b: u64| a > b;
                I64LeS: i64, i64 => bool, |a: i64, b: i64| a <= b;
                I64LeU: u64, u64 => bool, |a: u64, b: u64| a <= b;
                I64GeS: i64, i64 => bool, |a: i64, b: i64| a >= b;
                I64GeU: u64, u64 => bool, |a: u64, b: u64| a >= b;

                F32Add: f32, f32 => f32, |a: f32, b: f32| a + b;
                F32Sub: f32, f32 => f32, |a: f32, b: f32| a - b;
                F32Mul: f32, f32 => f32, |a: f32, b: f32| a * b;
                F32Div: f32, f32 => f32, |a: f32, b: f32| a / b;
                F32Min: f32, f32 => f32, $crate::num::f32_min;
                F32Max: f32, f32 => f32, $crate::num::f32_max;
                F32Copysign: u32, u32 => u32, $crate::num::f32_copysign;
                F32Eq: f32, f32 => bool, |a: f32, b: f32| a == b;
                F32Ne: f32, f32 => bool, |a: f32, b: f32| a != b;
                F32Lt: f32, f32 => bool, |a: f32, b: f32| a < b;
                F32Gt: f32, f32 => bool, |a: f32, b: f32| a > b;
                F32Le: f32, f32 => bool, |a: f32, b: f32| a <= b;
                F32Ge: f32, f32 => bool, |a: f32, b: f32| a >= b;

                F64Add: f64, f64 => f64, |a: f64, b: f64| a + b;
                F64Sub: f64, f64 => f64, |a: f64, b: f64| a - b;
                F64Mul: f64, f64 => f64, |a: f64, b: f64| a * b;
                F64Div: f64, f64 => f64, |a: f64, b: f64| a / b;
                F64Min: f64, f64 => f64, $crate::num::f64_min;
                F64Max: f64, f64 => f64, $crate::num::f64_max;
                F64Copysign: u64, u64 => u64, $crate::num::f64_copysign;
                F64Eq: f64, f64 => bool, |a: f64, b: f64| a == b;
                F64Ne: f64, f64 => bool, |a: f64, b: f64| a != b;
                F64Lt: f64, f64 => bool, |a: f64, b: f64| a < b;
                F64Gt: f64, f64 => bool, |a: f64, b: f64| a > b;
                F64Le: f64, f64 => bool, |a: f64, b: f64| a <= b;
                F64Ge: f64, f64 => bool, |a: f64, b: f64| a >= b;
            }
            binary_trap {
                I32DivS: i32, i32 => i32, $crate::num::i32_div_s;
                I32DivU: u32, u32 => u32, $crate::num::i32_div_u;
                I32RemS: i32, i32 => i32, $crate::num::i32_rem_s;
                I32RemU: u32, u32 => u32, $crate::num::i32_rem_u;
                I64DivS: i64, i64 => i64, $crate::num::i64_div_s;
                I64DivU: u64, u64 => u64, $crate::num::i64_div_u;
                I64RemS: i64, i64 => i64, $crate::num::i64_rem_s;
                I64RemU: u64, u64 => u64, $crate::num::i64_rem_u;
            }
            unary {
                I32Clz: u32 => u32, |a: u32| a.leading_zeros();
                I32Ctz: u32 => u32, |a: u32| a.trailing_zeros();
                I32Popcnt: u32 => u32, |a: u32| a.count_ones();
                I32Eqz: u32 => bool, |a: u32| a == 0;
                I32Extend8S: i32 => i32, |a: i32| a as i8 as i32;
                I32Extend16S: i32 => i32, |a: i32| a as i16 as i32;
                I32WrapI64: u64 => u32, |a: u64| a as u32;

                I64Clz: u64 => u64, |a: u64| a.leading_zeros() as u64;
                I64Ctz: u64 => u64, |a: u64| a.trailing_zeros() as u64;
                I64Popcnt: u64 => u64, |a: u64| a.count_ones() as u64;
                I64Eqz: u64 => bool, |a: u64| a == 0;
                I64Extend8S: i64 => i64, |a: i64| a as i8 as i64;
                I64Extend16S: i64 => i64, |a: i64| a as i16 as i64;
                I64Extend32S: i64 => i64, |a: i64| a as i32 as i64;
                I64ExtendI32S: i32 => i64, |a: i32| a as i64;
                // Not a no-op: an i32 slot's high half is left as it was.
                I64ExtendI32U: u32 => u64, |a: u32| a as u64;

                F32Abs: u32 => u32, |a: u32| a & 0x7fff_ffff;
                F32Neg: u32 => u32, |a: u32| a ^ 0x8000_0000;
                F32Ceil: f32 => f32, $crate::num::f32_ceil;
                F32Floor: f32 => f32, $crate::num::f32_floor;
                F32Trunc: f32 => f32, $crate::num::f32_trunc;
                F32Nearest: f32 => f32, $crate::num::f32_nearest;
                F32Sqrt: f32 => f32, $crate::num::f32_sqrt;

                F64Abs: u64 => u64, |a: u64| a & 0x7fff_ffff_ffff_ffff;
                F64Neg: u64 => u64, |a: u64| a ^ 0x8000_0000_0000_0000;
                F64Ceil: f64 => f64, $crate::num::f64_ceil;
                F64Floor: f64 => f64, $crate::num::f64_floor;
                F64Trunc: f64 => f64, $crate::num::f64_trunc;
                F64Nearest: f64 => f64, $crate::num::f64_nearest;
                F64Sqrt: f64 => f64, $crate::num::f64_sqrt;

                F32ConvertI32S: i32 => f32, |a: i32| a as f32;
                F32ConvertI32U: u32 => f32, |a: u32| a as f32;
                F32ConvertI64S: i64 => f32, |a: i64| a as f32;
                F32ConvertI64U: u64 => f32, |a: u64| a as f32;
                F32DemoteF64: f64 => f32, $crate::num::f32_demote_f64;
                F64ConvertI32S: i32 => f64, |a: i32| a as f64;
                F64ConvertI32U: u32 => f64, |a: u32| a as f64;
                F64ConvertI64S: i64 => f64, |a: i64| a as f64;
                F64ConvertI64U: u64 => f64, |a: u64| a as f64;
                F64PromoteF32: f32 => f64, $crate::num::f64_promote_f32;

                // Rust's saturating `as` is exactly the non-trapping conversion.
                I32TruncSatF32S: f32 => i32, |a: f32| a as i32;
                I32TruncSatF32U: f32 => u32, |a: f32| a as u32;
                I32TruncSatF64S: f64 => i32, |a: f64| a as i32;
                I32TruncSatF64U: f64 => u32, |a: f64| a as u32;
                I64TruncSatF32S: f32 => i64, |a: f32| a as i64;
                I64TruncSatF32U: f32 => u64, |a: f32| a as u64;
                I64TruncSatF64S: f64 => i64, |a: f64| a as i64;
                I64TruncSatF64U: f64 => u64, |a: f64| a as u64;
            }
            unary_trap {
                I32TruncF32S: f32 => i32, $crate::num::i32_trunc_f32_s;
                I32TruncF32U: f32 => u32, $crate::num::i32_trunc_f32_u;
                I32TruncF64S: f64 => i32, $crate::num::i32_trunc_f64_s;
                I32TruncF64U: f64 => u32, $crate::num::i32_trunc_f64_u;
                I64TruncF32S: f32 => i64, $crate::num::i64_trunc_f32_s;
                I64TruncF32U: f32 => u64, $crate::num::i64_trunc_f32_u;
                I64TruncF64S: f64 => i64, $crate::num::i64_trunc_f64_s;
                I64TruncF64U: f64 => u64, $crate::num::i64_trunc_f64_u;
            }
            compare_branch {
                BrIfI32Eq: I32Eq, BrIfI32Ne, BrIfI32EqAcc, BrIfI32EqAcc, i32, |a: i32, b: i32| a == b;
                BrIfI32Ne: I32Ne, BrIfI32Eq, BrIfI32NeAcc, BrIfI32NeAcc, i32, |a: i32, b: i32| a != b;
                BrIfI32LtS: I32LtS, BrIfI32GeS, BrIfI32LtSAcc, BrIfI32GtSAcc, i32, |a: i32, b: i32| a < b;
                BrIfI32LtU: I32LtU, BrIfI32GeU, BrIfI32LtUAcc, BrIfI32GtUAcc, u32, |a: u32, b: u32| a < b;
                BrIfI32GtS: I32GtS, BrIfI32LeS, BrIfI32GtSAcc, BrIfI32LtSAcc, i32, |a: i32, b: i32| a > b;
                BrIfI32GtU: I32GtU, BrIfI32LeU, BrIfI32GtUAcc, BrIfI32LtUAcc, u32, |a: u32, b: u32| a > b;
                BrIfI32LeS: I32LeS, BrIfI32GtS, BrIfI32LeSAcc, BrIfI32GeSAcc, i32, |a: i32, b: i32| a <= b;
                BrIfI32LeU: I32LeU, BrIfI32GtU, BrIfI32LeUAcc, BrIfI32GeUAcc, u32, |a: u32, b: u32| a <= b;
                BrIfI32GeS: I32GeS, BrIfI32LtS, BrIfI32GeSAcc, BrIfI32LeSAcc, i32, |a: i32, b: i32| a >= b;
                BrIfI32GeU: I32GeU, BrIfI32LtU, BrIfI32GeUAcc, BrIfI32LeUAcc, u32, |a: u32, b: u32| a >= b;
            }
            // The `binary` operations with accumulator forms: `Op: OpToAcc, OpAcc,
            // OpAccToAcc, commutes, width, offers;` (see `Instr`'s docs). `commutes`: a right
            // operand in the accumulator may be swapped to the left. `width`: `narrow` for
            // 32-bit values (i32, f32 as its bits), `wide` for 64-bit ones, which the boards'
            // loop keeps apart (on a 32-bit core a wide value would hold a second register
            // through the whole loop). `offers`: the slot forms also leave their result in the accumulator
            // (`Instr::offers_acc`): every narrow row, free in a register; of the wide ones,
            // which the board's loop keeps in an executor field (a store each), the add and
            // sub of the sums that loops rotate through locals (`a, b = b, a + b`).
            accumulated {
                I32Add: I32AddToAcc, I32AddAcc, I32AddAccToAcc, true, narrow, true;
                I32Sub: I32SubToAcc, I32SubAcc, I32SubAccToAcc, false, narrow, true;
                I32Mul: I32MulToAcc, I32MulAcc, I32MulAccToAcc, true, narrow, true;
                I32And: I32AndToAcc, I32AndAcc, I32AndAccToAcc, true, narrow, true;
                I32Or: I32OrToAcc, I32OrAcc, I32OrAccToAcc, true, narrow, true;
                I32Xor: I32XorToAcc, I32XorAcc, I32XorAccToAcc, true, narrow, true;
                I32Shl: I32ShlToAcc, I32ShlAcc, I32ShlAccToAcc, false, narrow, true;
                I32ShrS: I32ShrSToAcc, I32ShrSAcc, I32ShrSAccToAcc, false, narrow, true;
                I32ShrU: I32ShrUToAcc, I32ShrUAcc, I32ShrUAccToAcc, false, narrow, true;
                I32Rotl: I32RotlToAcc, I32RotlAcc, I32RotlAccToAcc, false, narrow, true;
                I64Add: I64AddToAcc, I64AddAcc, I64AddAccToAcc, true, wide, true;
                I64Sub: I64SubToAcc, I64SubAcc, I64SubAccToAcc, false, wide, true;
                I64Mul: I64MulToAcc, I64MulAcc, I64MulAccToAcc, true, wide, false;
                I64And: I64AndToAcc, I64AndAcc, I64AndAccToAcc, true, wide, false;
                I64Or: I64OrToAcc, I64OrAcc, I64OrAccToAcc, true, wide, false;
                I64Xor: I64XorToAcc, I64XorAcc, I64XorAccToAcc, true, wide, false;
                I64Shl: I64ShlToAcc, I64ShlAcc, I64ShlAccToAcc, false, wide, false;
                I64ShrS: I64ShrSToAcc, I64ShrSAcc, I64ShrSAccToAcc, false, wide, false;
                I64ShrU: I64ShrUToAcc, I64ShrUAcc, I64ShrUAccToAcc, false, wide, false;
                I64Rotl: I64RotlToAcc, I64RotlAcc, I64RotlAccToAcc, false, wide, false;
                F32Add: F32AddToAcc, F32AddAcc, F32AddAccToAcc, true, narrow, true;
                F32Sub: F32SubToAcc, F32SubAcc, F32SubAccToAcc, false, narrow, true;
                F32Mul: F32MulToAcc, F32MulAcc, F32MulAccToAcc, true, narrow, true;
                F32Div: F32DivToAcc, F32DivAcc, F32DivAccToAcc, false, narrow, true;
                F64Add: F64AddToAcc, F64AddAcc, F64AddAccToAcc, true, wide, false;
                F64Sub: F64SubToAcc, F64SubAcc, F64SubAccToAcc, false, wide, false;
                F64Mul: F64MulToAcc, F64MulAcc, F64MulAccToAcc, true, wide, false;
                F64Div: F64DivToAcc, F64DivAcc, F64DivAccToAcc, false, wide, false;
            }
        }
    };
}

/// Defines [`Instr`] from its variants, in the order that gives their discriminants
/// (`#[repr(u16)]`: 0, 1, 2 ...), and the 12-byte little-endian encoding an image holds code
/// in: the discriminant in bytes 0-1, then each field at its `repr(C)` offset (a field is
/// aligned to its size), zeros elsewhere: the layout of the `Instr` itself, so an image's code
/// can be read in place. Fields are `u16` and `u32`, so a `u8` discriminant would leave byte 1
/// as padding: the wider one costs no room and lifts the 256-kind ceiling.
macro_rules! instr_set {
    ($( $(#[$doc:meta])* $name:ident $({ $($field:ident: $ty:ident),* $(,)? })? ),* $(,)?) => {
        /// One instruction of the internal code. See the module docs for the operand model.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u16)]
        pub enum Instr {
            $( $(#[$doc])* $name $({ $($field: $ty),* })?, )*
        }

        impl Instr {
            /// How many kinds of instruction there are: a discriminant is below it.
            pub(crate) const KINDS: usize = [$(stringify!($name)),*].len();

            /// One instruction of each kind, every field 0, in discriminant order: what
            /// [`kind_set!`] computes its sets of kinds from, at compile time.
            pub(crate) const SAMPLES: [Instr; Self::KINDS] =
                [$( Instr::$name $({ $($field: 0),* })? ),*];

            /// Every kind and its fields, in order: what an image's code depends on.
            pub(crate) const LAYOUT: &'static str =
                concat!($(stringify!($name $({ $($field: $ty),* })?), ";"),*);

            /// The instruction's encoding (see [`instr_set`]).
            pub(crate) fn encode(&self) -> [u8; INSTR_BYTES] {
                let mut out = Encoder::new($crate::raw::code::discriminant(self));
                match *self {
                    $( Instr::$name $({ $($field),* })? => { $($( out.put($field); )*)? } )*
                }
                out.bytes
            }

            /// The instruction `bytes` encode, or `None` if bytes 0-1 are no discriminant.
            pub(crate) fn decode(bytes: &[u8; INSTR_BYTES]) -> Option<Instr> {
                const DECODERS: &[fn(&mut Decoder<'_>) -> Instr] = &[
                    $( |_d| Instr::$name $({ $($field: _d.get()),* })? ),*
                ];
                let kind = u16::from_le_bytes([bytes[0], bytes[1]]);
                DECODERS.get(usize::from(kind)).map(|decode| decode(&mut Decoder::new(bytes)))
            }

            /// Rewrites each slot field (every `Reg`, and only those) with `f`: how the
            /// translator renumbers a body's temps once it knows how many constant slots
            /// lie below them.
            #[cfg(feature = "wasm")]
            pub(crate) fn map_slots(&mut self, f: impl Fn(Reg) -> Reg) {
                match self {
                    $( Instr::$name $({ $($field),* })? => { $($( map_slot!($ty, $field, f); )*)? } )*
                }
            }
        }
    };
}

/// One field of [`Instr::map_slots`]: a `Reg` is rewritten, any other left alone.
#[cfg(feature = "wasm")]
macro_rules! map_slot {
    (Reg, $field:ident, $f:ident) => {
        *$field = $f(*$field)
    };
    ($other:ident, $field:ident, $f:ident) => {
        let _ = $field;
    };
}

/// A set of instruction kinds: a property of kinds, asked of an instruction with a load
/// and a bit test. A pass over code that asks a `match` instead jumps through a table on
/// every instruction, and that jump mispredicts as the kinds vary from one to the next.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KindSet(pub(crate) [u64; Instr::KINDS.div_ceil(64)]);

impl KindSet {
    /// Whether `instr`'s kind is in the set.
    #[inline]
    pub(crate) fn contains(&self, instr: &Instr) -> bool {
        let kind = usize::from(crate::raw::code::discriminant(instr));
        self.0.get(kind / 64).is_some_and(|word| word >> (kind % 64) & 1 != 0)
    }
}

/// `kind_set!(instr => predicate)`: the [`KindSet`] of the kinds whose sample (in
/// `Instr::SAMPLES`, every field 0) satisfies `predicate`, computed at compile time, so
/// the predicate must not depend on the fields (a `const fn` over the kind).
macro_rules! kind_set {
    ($instr:ident => $predicate:expr) => {{
        let mut words = [0u64; $crate::ir::Instr::KINDS.div_ceil(64)];
        let mut kind = 0;
        while kind < $crate::ir::Instr::KINDS {
            let $instr = $crate::ir::Instr::SAMPLES[kind];
            if $predicate {
                words[kind / 64] |= 1 << (kind % 64);
            }
            kind += 1;
        }
        $crate::ir::KindSet(words)
    }};
}
// For the translator's passes; the executor's and the images' code ask `Instr`'s own sets.
#[cfg(feature = "wasm")]
pub(crate) use kind_set;

/// A module's index spaces that instructions name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    Func,
    /// The functions the module defines (after the imported ones in `Func`).
    DefinedFunc,
    /// The functions the module imports (the first ones in `Func`).
    ImportedFunc,
    /// The constants the module's functions copy into their frames.
    Const,
    Type,
    Table,
    Memory,
    Global,
    Data,
    Elem,
}

/// Bytes of one encoded instruction: `size_of::<Instr>()`.
pub(crate) const INSTR_BYTES: usize = 12;

/// The most instructions a module's code may have: the executor saves a position as a
/// `u32` byte offset (a call's return, a stopped task's place), and branches hold one.
pub(crate) const MAX_CODE: usize = u32::MAX as usize / INSTR_BYTES;

/// The branch target of the instruction at `index` of the module's code, as a branch holds
/// it: its byte offset from the code's start, which the executor adds to that start as it
/// is. An index there cost a multiply on every taken branch, on the path that finds the
/// next instruction: a loop turn's latency. `index` is below [`MAX_CODE`].
#[cfg(any(feature = "wasm", test))]
pub(crate) const fn target_at(index: usize) -> u32 {
    (index * INSTR_BYTES) as u32
}

/// The index of the instruction a branch's `target` lands on, if it lands on one (not
/// inside one).
pub(crate) const fn target_index(target: u32) -> Option<usize> {
    let offset = target as usize;
    if offset.is_multiple_of(INSTR_BYTES) { Some(offset / INSTR_BYTES) } else { None }
}

/// The instruction a function's code starts with (after its fuel charge) to set up its
/// frame: zero its declared locals (`params..locals`) and copy in its constants, the
/// module's `consts..consts + num_consts`. `None` when there is neither. What the
/// translator emits and what an image's reader holds each function's code to.
pub(crate) fn frame_set_up(
    params: u16,
    locals: u16,
    consts: u32,
    num_consts: u16,
) -> Option<Instr> {
    let (first, zeros) = (params, locals.saturating_sub(params));
    match (zeros, num_consts) {
        (0, 0) => None,
        (count, 0) => Some(Instr::ZeroLocals { first, count }),
        (zeros, count) => Some(Instr::InitLocals { first, zeros, count, consts }),
    }
}

/// A field of an instruction: an unsigned integer, little-endian in the encoding.
trait Field: Copy {
    const SIZE: usize;
    fn write(self, to: &mut [u8]);
    fn read(from: &[u8]) -> Self;
}

macro_rules! field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn write(self, to: &mut [u8]) {
                to.copy_from_slice(&self.to_le_bytes());
            }
            fn read(from: &[u8]) -> Self {
                let mut bytes = [0; core::mem::size_of::<$t>()];
                bytes.copy_from_slice(from);
                <$t>::from_le_bytes(bytes)
            }
        }
    )*};
}
field!(u16, u32);

/// Writes an instruction's fields one after another at their `repr(C)` offsets.
struct Encoder {
    bytes: [u8; INSTR_BYTES],
    at: usize,
}

impl Encoder {
    fn new(discriminant: u16) -> Self {
        let mut bytes = [0; INSTR_BYTES];
        bytes[..2].copy_from_slice(&discriminant.to_le_bytes());
        Encoder { bytes, at: 2 }
    }

    fn put<T: Field>(&mut self, value: T) {
        let at = self.at.next_multiple_of(T::SIZE);
        value.write(&mut self.bytes[at..at + T::SIZE]);
        self.at = at + T::SIZE;
    }
}

/// Reads the fields an [`Encoder`] wrote, in the same order.
struct Decoder<'a> {
    bytes: &'a [u8; INSTR_BYTES],
    at: usize,
}

impl<'a> Decoder<'a> {
    fn new(bytes: &'a [u8; INSTR_BYTES]) -> Self {
        Decoder { bytes, at: 2 }
    }

    fn get<T: Field>(&mut self) -> T {
        let at = self.at.next_multiple_of(T::SIZE);
        self.at = at + T::SIZE;
        T::read(&self.bytes[at..at + T::SIZE])
    }
}

/// `$narrow` or `$wide`, by an `accumulated` row's width: what the translator, the
/// verifier and the run loop tell the two widths apart with.
macro_rules! by_width {
    (narrow, $narrow:expr, $wide:expr) => {
        $narrow
    };
    (wide, $narrow:expr, $wide:expr) => {
        $wide
    };
}
pub(crate) use by_width;

macro_rules! define_instr {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cba:ident, $cbm:ident, $cbt:ty, $cbf:expr;)* }
        accumulated { $($acc:ident: $acc_to:ident, $acc_from:ident, $acc_both:ident, $acc_commutes:literal, $acc_width:ident, $acc_offers:literal;)* }
    ) => {
        instr_set! {

            /// Traps with `unreachable`.
            Unreachable,
            /// Charges `amount` fuel; traps when fuel runs out. Emitted only when the
            /// engine meters fuel: at function entry and at every loop header.
            ConsumeFuel { amount: u32 },
            /// Branches to `target`: here and in every branch, a byte offset from the
            /// start of the module's code ([`target_at`]).
            Br { target: u32 },
            BrIfNez { cond: Reg, target: u32 },
            BrIfEqz { cond: Reg, target: u32 },
            /// Followed by `len + 1` instructions (the last is the default), each a `Br`
            /// or a `Return*`; executes the one selected by `index` (clamped).
            BrTable { index: Reg, len: u32 },
            /// Loop closers, an `i32.add` that updates a slot in place fused with the
            /// compare-and-branch that tests it: `slot = slot + step` (wrapping, i32), then
            /// branches to `target` if `slot != end` (`slot < end` unsigned, signed), or
            /// if `slot != 0`. The translator's pair `I32Add { dst: slot, lhs: slot, rhs: step }`
            /// (or with `lhs` and `rhs` swapped) and `BrIf*`, nothing between.
            AddBrIfI32Ne { slot: Reg, step: Reg, end: Reg, target: u32 },
            AddBrIfI32LtU { slot: Reg, step: Reg, end: Reg, target: u32 },
            AddBrIfI32LtS { slot: Reg, step: Reg, end: Reg, target: u32 },
            AddBrIfNez { slot: Reg, step: Reg, target: u32 },
            /// The count-down closer: `slot = slot - step` (wrapping, i32), then branches
            /// to `target` if `slot != 0`. From `I32Sub { dst: slot, lhs: slot, rhs: step }`
            /// and `BrIfNez { cond: slot }`, nothing between.
            SubBrIfNez { slot: Reg, step: Reg, target: u32 },
            /// `dst = lhs + rhs` (i32), then an unconditional branch to `target`: the pair
            /// ending a loop body that tests its condition at the top.
            I32AddBr { dst: Reg, lhs: Reg, rhs: Reg, target: u32 },
            /// Two `i32.add`s, the second adding to the first's result: `dst = lhs + rhs`,
            /// then `dst2 = dst + rhs2` (sums, addresses). Both results are written.
            I32AddAdd { dst: Reg, lhs: Reg, rhs: Reg, dst2: Reg, rhs2: Reg },
            /// Returns with no results.
            Return0,
            /// Returns one result, read from `src`.
            Return1 { src: Reg },
            /// Returns `count` results read from `src..src + count`.
            ReturnN { src: Reg, count: u16 },
            /// A function's frame set up: zeroes the `zeros` slots from `first` (its declared
            /// locals, after the parameters), then copies the module's constants
            /// `consts..consts + count` into the slots after them. The first instruction of a
            /// function that has either (after its fuel charge): the call itself then does
            /// no more than push a frame and jump.
            InitLocals { first: Reg, zeros: u16, count: u16, consts: u32 },
            /// [`Instr::InitLocals`] for a function with no constants in slots: zeroes the
            /// `count` slots from `first`. A kind of its own: its one short loop needs fewer
            /// registers than the two of `InitLocals`.
            ZeroLocals { first: Reg, count: u16 },
            /// Calls function `func` of the module (imports count first), one the module
            /// defines; its frame starts at `base`, where the arguments are and the results
            /// will be.
            Call { func: u32, base: Reg },
            /// Calls imported function `func` (a host function or another instance's), as
            /// [`Instr::Call`] calls a defined one: a kind of its own, so that the frequent
            /// call within the module takes no branch and no native call on the way.
            CallImported { func: u32, base: Reg },
            /// Calls through `table`'s element `index`, checking the module type `ty`.
            CallIndirect { base: Reg, index: Reg, table: u16, ty: u32 },
            /// `return_call`: moves the arguments at `base` to the frame's start and
            /// replaces the running function with `func` there (no new call frame).
            ReturnCall { func: u32, base: Reg },
            /// `return_call_indirect`: [`Instr::CallIndirect`]'s callee, entered as
            /// [`Instr::ReturnCall`] enters its function.
            ReturnCallIndirect { base: Reg, index: Reg, table: u16, ty: u32 },

            Copy { dst: Reg, src: Reg },
            /// Two copies, `dst = src` then `dst2 = src2`: the translator's pair of
            /// consecutive copies (call arguments, values moved to a branch's target).
            Copy2 { dst: Reg, src: Reg, dst2: Reg, src2: Reg },
            /// Copies `count` slots from `src..` to `dst..` (`dst < src`; lowest first).
            CopyN { dst: Reg, src: Reg, count: u16 },
            Const32 { dst: Reg, value: u32 },
            Const64 { dst: Reg, lo: u32, hi: u32 },
            /// `dst = if cond != 0 { a } else { b }` (cond read as i32).
            Select { dst: Reg, cond: Reg, a: Reg, b: Reg },
            /// `dst = if lhs < rhs { a } else { b }`, unsigned: a 32-bit comparison fused into
            /// the `select` it feeds (a `min`, a `max`, a clamp; `>`, `<=` and `>=` by
            /// swapping the operands or the choices). Both compare and choose at the
            /// select's place, where the comparison's operands still hold their values.
            SelectI32LtU { dst: Reg, lhs: Reg, rhs: Reg, a: Reg, b: Reg },
            /// [`Instr::SelectI32LtU`], signed.
            SelectI32LtS { dst: Reg, lhs: Reg, rhs: Reg, a: Reg, b: Reg },
            /// `dst = if lhs == rhs { a } else { b }` (`!=` by swapping the choices).
            SelectI32Eq { dst: Reg, lhs: Reg, rhs: Reg, a: Reg, b: Reg },

            GlobalGet { dst: Reg, global: u32 },
            GlobalSet { src: Reg, global: u32 },
            /// A global read into an `i32.add` (`i32.sub`, the global the minuend):
            /// `dst = global + rhs` (`global - rhs`, wrapping). The translator's pair
            /// `GlobalGet { dst }` and the add (sub) of `dst` into `dst`, nothing between.
            I32AddGlobal { dst: Reg, rhs: Reg, global: u32 },
            I32SubGlobal { dst: Reg, rhs: Reg, global: u32 },
            /// A global updated in place, `global = global + rhs` (`- rhs`, wrapping), the
            /// new value written to `dst` too: `I32AddGlobal` (`I32SubGlobal`) and the
            /// `GlobalSet` of its result to the same global. LLVM's stack-pointer prologue
            /// (`global.get $sp; i32.const N; i32.sub; local.tee; global.set $sp`), a
            /// counter kept in a global.
            GlobalI32Add { dst: Reg, rhs: Reg, global: u32 },
            GlobalI32Sub { dst: Reg, rhs: Reg, global: u32 },
            /// `dst = lhs + rhs` (i32), then `global = dst`: LLVM's stack-pointer epilogue.
            I32AddGlobalSet { dst: Reg, lhs: Reg, rhs: Reg, global: u32 },

            // Loads: the effective address is `addr as u32 + offset`. Loads whose
            // zero-extended slot is the same for several wasm ops share one variant
            // (f32.load is Load32, i64.load32_u is Load32, i32.load8_u is Load8U ...).
            Load8U { dst: Reg, addr: Reg, offset: u32 },
            Load16U { dst: Reg, addr: Reg, offset: u32 },
            Load32 { dst: Reg, addr: Reg, offset: u32 },
            Load64 { dst: Reg, addr: Reg, offset: u32 },
            I32Load8S { dst: Reg, addr: Reg, offset: u32 },
            I32Load16S { dst: Reg, addr: Reg, offset: u32 },
            I64Load8S { dst: Reg, addr: Reg, offset: u32 },
            I64Load16S { dst: Reg, addr: Reg, offset: u32 },
            I64Load32S { dst: Reg, addr: Reg, offset: u32 },
            // Stores write the low bytes of `value`'s slot.
            Store8 { addr: Reg, value: Reg, offset: u32 },
            Store16 { addr: Reg, value: Reg, offset: u32 },
            Store32 { addr: Reg, value: Reg, offset: u32 },
            Store64 { addr: Reg, value: Reg, offset: u32 },
            // Loads and stores whose address is an `i32.add` fused in: the effective
            // address is `(base + index) as u32 + offset`, the sum wrapping like `i32.add`.
            Load8UAdd { dst: Reg, base: Reg, index: Reg, offset: u32 },
            Load16UAdd { dst: Reg, base: Reg, index: Reg, offset: u32 },
            Load32Add { dst: Reg, base: Reg, index: Reg, offset: u32 },
            /// [`Instr::Load32Add`] of an array element: the index an `i32.shl` by 2 scaled
            /// (fused in too), so the address is `(base + (index << 2)) as u32 + offset`.
            Load32AddScaled { dst: Reg, base: Reg, index: Reg, offset: u32 },
            Load64Add { dst: Reg, base: Reg, index: Reg, offset: u32 },
            I32Load8SAdd { dst: Reg, base: Reg, index: Reg, offset: u32 },
            I32Load16SAdd { dst: Reg, base: Reg, index: Reg, offset: u32 },
            Store8Add { base: Reg, index: Reg, value: Reg, offset: u32 },
            Store16Add { base: Reg, index: Reg, value: Reg, offset: u32 },
            Store32Add { base: Reg, index: Reg, value: Reg, offset: u32 },
            Store64Add { base: Reg, index: Reg, value: Reg, offset: u32 },
            MemorySize { dst: Reg },
            MemoryGrow { dst: Reg, delta: Reg },
            /// Makes the instance's memory `mem` the one the following memory instructions
            /// use; the translator brackets each access to a memory other than 0 with it
            /// and `UseMemory { mem: 0 }`, so code on memory 0 pays nothing for the others.
            UseMemory { mem: u32 },
            /// `memory.copy` between two memories (operands as `MemoryCopy`'s).
            MemoryCopyAcross { base: Reg, dst_mem: u16, src_mem: u16 },
            /// Operands `dst, value, len` in slots `base..base + 3`.
            MemoryFill { base: Reg },
            /// Operands `dst, src, len` in slots `base..base + 3`.
            MemoryCopy { base: Reg },
            /// Operands `dst, src, len` in slots `base..base + 3`.
            MemoryInit { base: Reg, data: u32 },
            DataDrop { data: u32 },

            TableGet { dst: Reg, index: Reg, table: u32 },
            TableSet { index: Reg, value: Reg, table: u32 },
            TableSize { dst: Reg, table: u32 },
            TableGrow { dst: Reg, init: Reg, delta: Reg, table: u32 },
            /// Operands `index, value, len` in slots `base..base + 3`.
            TableFill { base: Reg, table: u32 },
            /// Operands `dst, src, len` in slots `base..base + 3`.
            TableCopy { base: Reg, dst_table: u16, src_table: u16 },
            /// Operands `dst, src, len` in slots `base..base + 3`.
            TableInit { base: Reg, elem: u32, table: u16 },
            ElemDrop { elem: u32 },
            /// `dst = ref.func func` (module function index).
            RefFunc { dst: Reg, func: u32 },

            $( $bin { dst: Reg, lhs: Reg, rhs: Reg }, )*
            $( $bint { dst: Reg, lhs: Reg, rhs: Reg }, )*
            $( $un { dst: Reg, src: Reg }, )*
            $( $unt { dst: Reg, src: Reg }, )*
            // Branches to `target` if the comparison of `lhs` and `rhs` holds.
            $( $cb { lhs: Reg, rhs: Reg, target: u32 }, )*

            // The accumulator forms: a result read by the next instruction alone stays in
            // the executor's accumulator (a register) instead of a slot (`ToAcc`), and the
            // next instruction reads it there (`Acc`: the left operand, a load's address, a
            // store's value). Written by `translate::acc` only.
            $( $acc_to { lhs: Reg, rhs: Reg }, )*
            $( $acc_from { dst: Reg, rhs: Reg }, )*
            $( $acc_both { rhs: Reg }, )*
            Load8UToAcc { addr: Reg, offset: u32 },
            Load8UAcc { dst: Reg, offset: u32 },
            Load8UAccToAcc { offset: u32 },
            Load32ToAcc { addr: Reg, offset: u32 },
            Load32Acc { dst: Reg, offset: u32 },
            Load32AccToAcc { offset: u32 },
            Load8UAddToAcc { base: Reg, index: Reg, offset: u32 },
            Load32AddToAcc { base: Reg, index: Reg, offset: u32 },
            Store8Acc { addr: Reg, offset: u32 },
            Store32Acc { addr: Reg, offset: u32 },
            /// `Copy2` whose second value is the 64-bit accumulator: `dst = src`, then
            /// `dst2 = acc` (a rotation of locals, `a = b; b = t` after `t = a + b`).
            Copy2Acc { dst: Reg, src: Reg, dst2: Reg },
            // Branches to `target` if the comparison of the accumulator and `rhs` holds.
            $( $cba { rhs: Reg, target: u32 }, )*
            BrIfNezAcc { target: u32 },
            BrIfEqzAcc { target: u32 },
            /// `BrTable` on the accumulator.
            BrTableAcc { len: u32 },
        }

        impl Instr {
            /// The kinds that branch: to a target of their own, or into a table's entries
            /// after them.
            pub(crate) const BRANCHES: KindSet = kind_set!(instr => {
                let mut instr = instr;
                matches!(instr, Instr::BrTable { .. } | Instr::BrTableAcc { .. })
                    || instr.branch_target_mut().is_some()
            });

            /// The branch target of a branch instruction (`BrTable` has its own in the
            /// instructions after it).
            pub(crate) const fn branch_target_mut(&mut self) -> Option<&mut u32> {
                match self {
                    Instr::Br { target }
                    | Instr::BrIfNez { target, .. }
                    | Instr::BrIfEqz { target, .. }
                    | Instr::AddBrIfI32Ne { target, .. }
                    | Instr::AddBrIfI32LtU { target, .. }
                    | Instr::AddBrIfI32LtS { target, .. }
                    | Instr::AddBrIfNez { target, .. }
                    | Instr::SubBrIfNez { target, .. }
                    | Instr::I32AddBr { target, .. }
                    | Instr::BrIfNezAcc { target }
                    | Instr::BrIfEqzAcc { target }
                    $( | Instr::$cb { target, .. } | Instr::$cba { target, .. } )* => Some(target),
                    _ => None,
                }
            }

            /// Whether execution may continue with the next instruction: false for
            /// unconditional branches, returns and `unreachable`. A `BrTable` jumps into the
            /// entries after it, so it counts as falling through.
            pub(crate) fn falls_through(&self) -> bool {
                !matches!(
                    self,
                    Instr::Br { .. }
                        | Instr::I32AddBr { .. }
                        | Instr::Return0
                        | Instr::Return1 { .. }
                        | Instr::ReturnN { .. }
                        | Instr::ReturnCall { .. }
                        | Instr::ReturnCallIndirect { .. }
                        | Instr::Unreachable
                )
            }

            /// Calls `f` with every frame slot this instruction reads or writes, the
            /// last of a run of consecutive ones for bulk operands; not a call's `base`,
            /// where the callee's frame starts (checked when it is entered). The
            /// translator checks them all against the frame's size, which the executor's
            /// unchecked slot access relies on.
            #[inline(always)]
            pub(crate) fn for_each_slot(&self, mut f: impl FnMut(Reg)) {
                match *self {
                    Instr::Unreachable
                    | Instr::ConsumeFuel { .. }
                    | Instr::Br { .. }
                    | Instr::Return0
                    | Instr::Call { .. }
                    | Instr::CallImported { .. }
                    | Instr::ReturnCall { .. }
                    | Instr::UseMemory { .. }
                    | Instr::DataDrop { .. }
                    | Instr::ElemDrop { .. } => {}
                    Instr::BrIfNez { cond, .. } | Instr::BrIfEqz { cond, .. } => f(cond),
                    Instr::BrTable { index, .. }
                    | Instr::CallIndirect { index, .. }
                    | Instr::ReturnCallIndirect { index, .. } => f(index),
                    Instr::Return1 { src } => {
                        f(0);
                        f(src);
                    }
                    Instr::ReturnN { src, count } => {
                        f(count.saturating_sub(1));
                        f(src.saturating_add(count.saturating_sub(1)));
                    }
                    Instr::Copy { dst, src } => {
                        f(dst);
                        f(src);
                    }
                    Instr::Copy2 { dst, src, dst2, src2 } => {
                        f(dst);
                        f(src);
                        f(dst2);
                        f(src2);
                    }
                    Instr::AddBrIfI32Ne { slot, step, end, .. }
                    | Instr::AddBrIfI32LtU { slot, step, end, .. }
                    | Instr::AddBrIfI32LtS { slot, step, end, .. } => {
                        f(slot);
                        f(step);
                        f(end);
                    }
                    Instr::AddBrIfNez { slot, step, .. } | Instr::SubBrIfNez { slot, step, .. } => {
                        f(slot);
                        f(step);
                    }
                    Instr::I32AddBr { dst, lhs, rhs, .. } => {
                        f(dst);
                        f(lhs);
                        f(rhs);
                    }
                    Instr::I32AddAdd { dst, lhs, rhs, dst2, rhs2 } => {
                        f(dst);
                        f(lhs);
                        f(rhs);
                        f(dst2);
                        f(rhs2);
                    }
                    Instr::CopyN { dst, src, count } => {
                        f(dst.saturating_add(count.saturating_sub(1)));
                        f(src.saturating_add(count.saturating_sub(1)));
                    }
                    Instr::InitLocals { first, zeros, count, .. } => {
                        f(first);
                        let last = u32::from(first) + u32::from(zeros) + u32::from(count);
                        f(u16::try_from(last.saturating_sub(1)).unwrap_or(u16::MAX));
                    }
                    Instr::ZeroLocals { first, count } => {
                        f(first);
                        f(first.saturating_add(count.saturating_sub(1)));
                    }
                    Instr::Const32 { dst, .. }
                    | Instr::Const64 { dst, .. }
                    | Instr::GlobalGet { dst, .. }
                    | Instr::MemorySize { dst }
                    | Instr::TableSize { dst, .. }
                    | Instr::RefFunc { dst, .. } => f(dst),
                    Instr::GlobalSet { src, .. } => f(src),
                    Instr::I32AddGlobal { dst, rhs, .. }
                    | Instr::I32SubGlobal { dst, rhs, .. }
                    | Instr::GlobalI32Add { dst, rhs, .. }
                    | Instr::GlobalI32Sub { dst, rhs, .. } => {
                        f(dst);
                        f(rhs);
                    }
                    Instr::I32AddGlobalSet { dst, lhs, rhs, .. } => {
                        f(dst);
                        f(lhs);
                        f(rhs);
                    }
                    Instr::Select { dst, cond, a, b } => {
                        f(dst);
                        f(cond);
                        f(a);
                        f(b);
                    }
                    Instr::SelectI32LtU { dst, lhs, rhs, a, b }
                    | Instr::SelectI32LtS { dst, lhs, rhs, a, b }
                    | Instr::SelectI32Eq { dst, lhs, rhs, a, b } => {
                        f(dst);
                        f(lhs);
                        f(rhs);
                        f(a);
                        f(b);
                    }
                    Instr::Load8U { dst, addr, .. }
                    | Instr::Load16U { dst, addr, .. }
                    | Instr::Load32 { dst, addr, .. }
                    | Instr::Load64 { dst, addr, .. }
                    | Instr::I32Load8S { dst, addr, .. }
                    | Instr::I32Load16S { dst, addr, .. }
                    | Instr::I64Load8S { dst, addr, .. }
                    | Instr::I64Load16S { dst, addr, .. }
                    | Instr::I64Load32S { dst, addr, .. } => {
                        f(dst);
                        f(addr);
                    }
                    Instr::Store8 { addr, value, .. }
                    | Instr::Store16 { addr, value, .. }
                    | Instr::Store32 { addr, value, .. }
                    | Instr::Store64 { addr, value, .. } => {
                        f(addr);
                        f(value);
                    }
                    Instr::Load8UAdd { dst, base, index, .. }
                    | Instr::Load16UAdd { dst, base, index, .. }
                    | Instr::Load32Add { dst, base, index, .. }
                    | Instr::Load32AddScaled { dst, base, index, .. }
                    | Instr::Load64Add { dst, base, index, .. }
                    | Instr::I32Load8SAdd { dst, base, index, .. }
                    | Instr::I32Load16SAdd { dst, base, index, .. }
                    | Instr::Store8Add { base, index, value: dst, .. }
                    | Instr::Store16Add { base, index, value: dst, .. }
                    | Instr::Store32Add { base, index, value: dst, .. }
                    | Instr::Store64Add { base, index, value: dst, .. } => {
                        f(dst);
                        f(base);
                        f(index);
                    }
                    Instr::MemoryGrow { dst, delta } => {
                        f(dst);
                        f(delta);
                    }
                    Instr::MemoryFill { base }
                    | Instr::MemoryCopy { base }
                    | Instr::MemoryCopyAcross { base, .. }
                    | Instr::MemoryInit { base, .. }
                    | Instr::TableFill { base, .. }
                    | Instr::TableCopy { base, .. }
                    | Instr::TableInit { base, .. } => f(base.saturating_add(2)),
                    Instr::TableGet { dst, index, .. } => {
                        f(dst);
                        f(index);
                    }
                    Instr::TableSet { index, value, .. } => {
                        f(index);
                        f(value);
                    }
                    Instr::TableGrow { dst, init, delta, .. } => {
                        f(dst);
                        f(init);
                        f(delta);
                    }
                    $( Instr::$bin { dst, lhs, rhs } )|*
                    | $( Instr::$bint { dst, lhs, rhs } )|* => {
                        f(dst);
                        f(lhs);
                        f(rhs);
                    }
                    $( Instr::$un { dst, src } )|*
                    | $( Instr::$unt { dst, src } )|* => {
                        f(dst);
                        f(src);
                    }
                    $( Instr::$cb { lhs, rhs, .. } )|* => {
                        f(lhs);
                        f(rhs);
                    }
                    $( Instr::$acc_to { lhs, rhs } )|*
                    | Instr::Load8UAddToAcc { base: lhs, index: rhs, .. }
                    | Instr::Load32AddToAcc { base: lhs, index: rhs, .. } => {
                        f(lhs);
                        f(rhs);
                    }
                    $( Instr::$acc_from { dst, rhs } )|* => {
                        f(dst);
                        f(rhs);
                    }
                    $( Instr::$acc_both { rhs: slot } )|*
                    | Instr::Load8UToAcc { addr: slot, .. }
                    | Instr::Load8UAcc { dst: slot, .. }
                    | Instr::Load32ToAcc { addr: slot, .. }
                    | Instr::Load32Acc { dst: slot, .. }
                    | Instr::Store8Acc { addr: slot, .. }
                    | Instr::Store32Acc { addr: slot, .. } => f(slot),
                    Instr::Copy2Acc { dst, src, dst2 } => {
                        f(dst);
                        f(src);
                        f(dst2);
                    }
                    $( Instr::$cba { rhs, .. } )|* => f(rhs),
                    Instr::Load8UAccToAcc { .. }
                    | Instr::Load32AccToAcc { .. }
                    | Instr::BrIfNezAcc { .. }
                    | Instr::BrIfEqzAcc { .. }
                    | Instr::BrTableAcc { .. } => {}
                }
            }

            /// Calls `f` with every index this instruction names into one of the module's
            /// index spaces (functions and types count imports first). The executor indexes
            /// them unchecked or would panic, so code is verified against them.
            #[inline(always)]
            pub(crate) fn for_each_index(&self, mut f: impl FnMut(Space, u32)) {
                match *self {
                    Instr::Call { func, .. } => f(Space::DefinedFunc, func),
                    // Its last constant (none read when there are none).
                    Instr::InitLocals { count, consts, .. } if count > 0 => {
                        f(Space::Const, consts.checked_add(u32::from(count) - 1).unwrap_or(u32::MAX));
                    }
                    Instr::CallImported { func, .. } => f(Space::ImportedFunc, func),
                    Instr::ReturnCall { func, .. } | Instr::RefFunc { func, .. } => {
                        f(Space::Func, func)
                    }
                    Instr::CallIndirect { ty, table, .. }
                    | Instr::ReturnCallIndirect { ty, table, .. } => {
                        f(Space::Type, ty);
                        f(Space::Table, table.into());
                    }
                    Instr::GlobalGet { global, .. }
                    | Instr::GlobalSet { global, .. }
                    | Instr::I32AddGlobal { global, .. }
                    | Instr::I32SubGlobal { global, .. }
                    | Instr::GlobalI32Add { global, .. }
                    | Instr::GlobalI32Sub { global, .. }
                    | Instr::I32AddGlobalSet { global, .. } => f(Space::Global, global),
                    Instr::UseMemory { mem } => f(Space::Memory, mem),
                    Instr::MemoryCopyAcross { dst_mem, src_mem, .. } => {
                        f(Space::Memory, dst_mem.into());
                        f(Space::Memory, src_mem.into());
                    }
                    Instr::MemoryInit { data, .. } => {
                        f(Space::Memory, 0);
                        f(Space::Data, data);
                    }
                    Instr::DataDrop { data } => f(Space::Data, data),
                    // The memory `UseMemory` chose, which exists if memory 0 does.
                    Instr::Load8U { .. }
                    | Instr::Load16U { .. }
                    | Instr::Load32 { .. }
                    | Instr::Load64 { .. }
                    | Instr::I32Load8S { .. }
                    | Instr::I32Load16S { .. }
                    | Instr::I64Load8S { .. }
                    | Instr::I64Load16S { .. }
                    | Instr::I64Load32S { .. }
                    | Instr::Store8 { .. }
                    | Instr::Store16 { .. }
                    | Instr::Store32 { .. }
                    | Instr::Store64 { .. }
                    | Instr::Load8UAdd { .. }
                    | Instr::Load16UAdd { .. }
                    | Instr::Load32Add { .. }
                    | Instr::Load32AddScaled { .. }
                    | Instr::Load64Add { .. }
                    | Instr::I32Load8SAdd { .. }
                    | Instr::I32Load16SAdd { .. }
                    | Instr::Store8Add { .. }
                    | Instr::Store16Add { .. }
                    | Instr::Store32Add { .. }
                    | Instr::Store64Add { .. }
                    | Instr::MemorySize { .. }
                    | Instr::MemoryGrow { .. }
                    | Instr::MemoryFill { .. }
                    | Instr::MemoryCopy { .. }
                    | Instr::Load8UToAcc { .. }
                    | Instr::Load8UAcc { .. }
                    | Instr::Load8UAccToAcc { .. }
                    | Instr::Load32ToAcc { .. }
                    | Instr::Load32Acc { .. }
                    | Instr::Load32AccToAcc { .. }
                    | Instr::Load8UAddToAcc { .. }
                    | Instr::Load32AddToAcc { .. }
                    | Instr::Store8Acc { .. }
                    | Instr::Store32Acc { .. } => f(Space::Memory, 0),
                    Instr::TableGet { table, .. }
                    | Instr::TableSet { table, .. }
                    | Instr::TableSize { table, .. }
                    | Instr::TableGrow { table, .. }
                    | Instr::TableFill { table, .. } => f(Space::Table, table),
                    Instr::TableCopy { dst_table, src_table, .. } => {
                        f(Space::Table, dst_table.into());
                        f(Space::Table, src_table.into());
                    }
                    Instr::TableInit { elem, table, .. } => {
                        f(Space::Elem, elem);
                        f(Space::Table, table.into());
                    }
                    Instr::ElemDrop { elem } => f(Space::Elem, elem),
                    _ => {}
                }
            }

            // The threaded handler folds the four predicates below to constants of its
            // kind; called out of line, each handler saved six registers and made a call
            // (twice the desktop time), hence `inline(always)`.

            /// Whether this instruction reads the accumulator (an `Acc` form).
            #[inline(always)]
            pub(crate) fn reads_acc(&self) -> bool {
                matches!(
                    self,
                    $( Instr::$acc_from { .. } | Instr::$acc_both { .. } )|*
                        | Instr::Load8UAcc { .. }
                        | Instr::Load8UAccToAcc { .. }
                        | Instr::Load32Acc { .. }
                        | Instr::Load32AccToAcc { .. }
                        | Instr::Store8Acc { .. }
                        | Instr::Store32Acc { .. }
                        | Instr::Copy2Acc { .. }
                        $( | Instr::$cba { .. } )*
                        | Instr::BrIfNezAcc { .. }
                        | Instr::BrIfEqzAcc { .. }
                        | Instr::BrTableAcc { .. }
                )
            }

            /// Whether this instruction leaves its result only in the accumulator (a `ToAcc`
            /// form, no slot written): the next instruction must read it there
            /// (`verify_function`).
            #[inline(always)]
            pub(crate) fn writes_acc(&self) -> bool {
                matches!(
                    self,
                    $( Instr::$acc_to { .. } | Instr::$acc_both { .. } )|*
                        | Instr::Load8UToAcc { .. }
                        | Instr::Load8UAccToAcc { .. }
                        | Instr::Load32ToAcc { .. }
                        | Instr::Load32AccToAcc { .. }
                        | Instr::Load8UAddToAcc { .. }
                        | Instr::Load32AddToAcc { .. }
                )
            }

            /// Whether this instruction, besides writing its result to a slot, leaves it in
            /// the accumulator of its width (the slot forms of the `accumulated` rows that
            /// say `offers`, the byte and word loads, and `Copy`, whose value a 32-bit
            /// reader takes: only an `i32` or `f32` is read by one): the next instruction may
            /// then read it there, which the acc pass has it do for a local's new value (a
            /// temp's writer leaves the slot out instead, the `ToAcc` form).
            #[inline(always)]
            pub(crate) fn offers_acc(&self) -> bool {
                match self {
                    $( Instr::$acc { .. } | Instr::$acc_from { .. } => $acc_offers, )*
                    Instr::Copy { .. }
                    | Instr::Load8U { .. }
                    | Instr::Load8UAcc { .. }
                    | Instr::Load32 { .. }
                    | Instr::Load32Acc { .. }
                    | Instr::Load8UAdd { .. }
                    | Instr::Load32Add { .. }
                    | Instr::Load32AddScaled { .. } => true,
                    _ => false,
                }
            }

            /// Whether the accumulator holds this instruction's result after it (written
            /// there alone, or offered beside its slot): the next instruction may read it.
            #[inline(always)]
            pub(crate) fn leaves_acc(&self) -> bool {
                self.writes_acc() || self.offers_acc()
            }

            /// Whether the accumulator this instruction reads, writes or offers
            /// ([`Instr::offers_acc`]) holds a 64-bit value (a `wide` row's form, `Copy2Acc`):
            /// the loop keeps those apart from 32-bit ones, so a reader must be of its
            /// writer's width (`verify_function`). The other forms written out by hand (loads,
            /// stores, branches) are 32-bit; a 64-bit one belongs here.
            pub(crate) fn wide_acc(&self) -> bool {
                match self {
                    $(
                        Instr::$acc { .. }
                        | Instr::$acc_to { .. }
                        | Instr::$acc_from { .. }
                        | Instr::$acc_both { .. } => by_width!($acc_width, false, true),
                    )*
                    Instr::Copy2Acc { .. } => true,
                    _ => false,
                }
            }

            /// The slot this instruction writes its single result to, if it has
            /// exactly one and reads all its operands before writing it (for a fused pair,
            /// the second's result, written after every read). The translator retargets
            /// such a result straight into a local.
            #[cfg(feature = "wasm")]
            pub(crate) fn result_slot_mut(&mut self) -> Option<&mut Reg> {
                match self {
                    Instr::Copy2 { dst2, .. } | Instr::I32AddAdd { dst2, .. } => Some(dst2),
                    $( Instr::$bin { dst, .. } )|*
                    | $( Instr::$bint { dst, .. } )|*
                    | $( Instr::$un { dst, .. } )|*
                    | $( Instr::$unt { dst, .. } )|*
                    | Instr::Copy { dst, .. }
                    | Instr::Const32 { dst, .. }
                    | Instr::Const64 { dst, .. }
                    | Instr::Select { dst, .. }
                    | Instr::SelectI32LtU { dst, .. }
                    | Instr::SelectI32LtS { dst, .. }
                    | Instr::SelectI32Eq { dst, .. }
                    | Instr::GlobalGet { dst, .. }
                    | Instr::I32AddGlobal { dst, .. }
                    | Instr::I32SubGlobal { dst, .. }
                    | Instr::GlobalI32Add { dst, .. }
                    | Instr::GlobalI32Sub { dst, .. }
                    | Instr::Load8U { dst, .. }
                    | Instr::Load16U { dst, .. }
                    | Instr::Load32 { dst, .. }
                    | Instr::Load64 { dst, .. }
                    | Instr::I32Load8S { dst, .. }
                    | Instr::I32Load16S { dst, .. }
                    | Instr::I64Load8S { dst, .. }
                    | Instr::I64Load16S { dst, .. }
                    | Instr::I64Load32S { dst, .. }
                    | Instr::Load8UAdd { dst, .. }
                    | Instr::Load16UAdd { dst, .. }
                    | Instr::Load32Add { dst, .. }
                    | Instr::Load32AddScaled { dst, .. }
                    | Instr::Load64Add { dst, .. }
                    | Instr::I32Load8SAdd { dst, .. }
                    | Instr::I32Load16SAdd { dst, .. }
                    | Instr::MemorySize { dst }
                    | Instr::MemoryGrow { dst, .. }
                    | Instr::TableGet { dst, .. }
                    | Instr::TableSize { dst, .. }
                    | Instr::TableGrow { dst, .. }
                    | Instr::RefFunc { dst, .. }
                    $( | Instr::$acc_from { dst, .. } )*
                    | Instr::Load8UAcc { dst, .. }
                    | Instr::Load32Acc { dst, .. } => Some(dst),
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use for_each_numeric;

for_each_numeric!(define_instr);

// Keep the code compact and independent of the pointer width.
const _: () = assert!(core::mem::size_of::<Instr>() == INSTR_BYTES);
// Every discriminant fits the two bytes the encoding gives it.
const _: () = assert!(Instr::KINDS <= 1 << 16);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A few bytes of a fixed pseudo-random sequence (SplitMix64), for field values.
    fn bytes(seed: u64) -> [u8; INSTR_BYTES] {
        let mut state = seed;
        let mut out = [0; INSTR_BYTES];
        for chunk in out.chunks_mut(8) {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes()[..chunk.len()]);
        }
        out
    }

    /// Any bytes that start with a discriminant decode, and encode back to themselves
    /// with the padding (the bytes no field covers) zeroed: no field is lost or moved.
    #[test]
    fn every_kind_decodes_and_encodes_back_field_for_field() {
        for kind in 0..Instr::KINDS {
            for seed in 0..64 {
                let input = encoded_with_fields(kind, seed);
                let instr = Instr::decode(&input).expect("a discriminant");
                let encoded = instr.encode();
                assert_eq!(Instr::decode(&encoded), Some(instr));
                for (i, (&e, &x)) in encoded.iter().zip(&input).enumerate() {
                    assert!(e == x || e == 0, "kind {kind}, byte {i}: {e} from {x}");
                }
            }
        }
    }

    /// The bytes of an instruction of kind `kind`, its fields (and padding) from `seed`.
    fn encoded_with_fields(kind: usize, seed: u64) -> [u8; INSTR_BYTES] {
        let mut input = bytes(seed * 1000 + kind as u64);
        input[..2].copy_from_slice(&(kind as u16).to_le_bytes());
        input
    }

    /// An instruction of kind `kind`, its fields from `seed`.
    pub(crate) fn with_fields(kind: usize, seed: u64) -> Instr {
        Instr::decode(&encoded_with_fields(kind, seed)).expect("a discriminant")
    }

    /// A [`KindSet`] is computed from the zero-field samples: it holds for instructions of
    /// any fields only if its predicate ignores them.
    #[test]
    fn the_branching_kinds_branch_whatever_their_fields() {
        for kind in 0..Instr::KINDS {
            for seed in 0..16 {
                let mut instr = with_fields(kind, seed);
                let branches = matches!(instr, Instr::BrTable { .. } | Instr::BrTableAcc { .. })
                    || instr.branch_target_mut().is_some();
                assert_eq!(Instr::BRANCHES.contains(&instr), branches, "{instr:?}");
            }
        }
    }

    #[test]
    fn bytes_past_the_kinds_are_no_instruction() {
        for kind in (Instr::KINDS..1 << 16).step_by(7).chain([(1 << 16) - 1]) {
            let mut input = [0; INSTR_BYTES];
            input[..2].copy_from_slice(&(kind as u16).to_le_bytes());
            assert_eq!(Instr::decode(&input), None, "{kind}");
        }
    }

    /// `map_slots` rewrites the `Reg` fields, as `LAYOUT` names them, and no other field:
    /// the translator's renumbering of temps leaves counts, indices and targets alone.
    #[cfg(feature = "wasm")]
    #[test]
    fn map_slots_rewrites_exactly_the_reg_fields() {
        let kinds: alloc::vec::Vec<&str> = Instr::LAYOUT.split_terminator(';').collect();
        assert_eq!(kinds.len(), Instr::KINDS);
        let mut regs = 0;
        for (kind, layout) in kinds.iter().enumerate() {
            let types = layout.split([',', '{', '}']).filter_map(|f| f.split(':').nth(1));
            for seed in 0..8 {
                let instr = with_fields(kind, seed);
                let mut mapped = instr;
                mapped.map_slots(|s| s ^ 0x5a5a);
                let (before, after) = (instr.encode(), mapped.encode());
                let mut at = 2;
                for ty in types.clone() {
                    let size = if ty.trim() == "u32" { 4 } else { 2 };
                    at = usize::next_multiple_of(at, size);
                    let field = |bytes: &[u8; INSTR_BYTES]| bytes[at..at + size].to_vec();
                    if ty.trim() == "Reg" {
                        let old = u16::from_le_bytes([before[at], before[at + 1]]);
                        assert_eq!(field(&after), (old ^ 0x5a5a).to_le_bytes(), "{layout}");
                        regs += 1;
                    } else {
                        assert_eq!(field(&after), field(&before), "{layout}: {ty}");
                    }
                    at += size;
                }
            }
        }
        assert!(regs > 1000, "{regs} slot fields");
    }

    /// Fields sit at their `repr(C)` offsets: a 32-bit field after a 16-bit one is aligned
    /// to 4, and the widest kinds fill all 12 bytes.
    #[test]
    fn fields_sit_at_their_offsets() {
        let load =
            Instr::Load32Add { dst: 0x0102, base: 0x0304, index: 0x0506, offset: 0x0708_090a };
        let mut expected = [0, 0, 0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x0a, 0x09, 0x08, 0x07];
        expected[..2].copy_from_slice(&crate::raw::code::discriminant(&load).to_le_bytes());
        assert_eq!(load.encode(), expected);
        let constant = Instr::Const64 { dst: 1, lo: 2, hi: 3 };
        assert_eq!(constant.encode()[2..], [1, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    }
}
