//! The validator shim: with the `validate` feature, every payload (and every function
//! body, in full) goes through `wasmparser`'s validator, its allocations reused from one
//! body to the next; without it, a no-op, the host having validated the module and the
//! decoder and translator still checking every invariant they rely on.
//!
//! A body's constants are weighed for the translator on the validator's reading of it
//! ([`Weighing`]): the translator's pre-pass over the body is then not needed.

// Named by the visitor methods `for_each_visit_operator!` writes (operators' arguments).
#[cfg(feature = "validate")]
use alloc::vec::Vec;

use wasmparser::Payload;

use crate::config::Config;
use crate::error::Error;
use crate::value::Slot;

#[cfg(feature = "validate")]
use crate::translate::{ConstWeights, slot_bits};

/// Feeds the validator, when on-device validation is compiled in; otherwise a no-op.
pub(super) struct Checker {
    #[cfg(feature = "validate")]
    validator: wasmparser::Validator,
    /// Reused from one function body to the next.
    #[cfg(feature = "validate")]
    allocs: wasmparser::FuncValidatorAllocations,
    /// The last body's constants, weighed; reused as `allocs` is.
    #[cfg(feature = "validate")]
    weights: ConstWeights,
}

impl Checker {
    #[cfg_attr(not(feature = "validate"), allow(unused_variables))]
    pub(super) fn new(config: &Config) -> Self {
        Checker {
            #[cfg(feature = "validate")]
            validator: wasmparser::Validator::new_with_features(config.features.to_wasmparser()),
            #[cfg(feature = "validate")]
            allocs: Default::default(),
            #[cfg(feature = "validate")]
            weights: ConstWeights::default(),
        }
    }

    /// Validates `payload`, and a function body in full: then returns the body's constants
    /// that earn a slot (see `translate::consts`).
    #[cfg(feature = "validate")]
    pub(super) fn check(&mut self, payload: &Payload<'_>) -> Result<Option<&[Slot]>, Error> {
        // A proposal the core does not implement is worded as the decoder words it.
        let invalid = |e: wasmparser::BinaryReaderError| {
            let (message, offset) = (e.message(), e.offset() as usize);
            super::left_out(message, offset)
                .unwrap_or_else(|| Error::Invalid { message: message.into(), offset })
        };
        let wasmparser::ValidPayload::Func(func, body) =
            self.validator.payload(payload).map_err(invalid)?
        else {
            return Ok(None);
        };
        let mut v = func.into_validator(core::mem::take(&mut self.allocs));
        validate_body(&mut v, &body, &mut self.weights).map_err(invalid)?;
        self.allocs = v.into_allocations();
        Ok(Some(self.weights.choose()))
    }

    #[cfg(not(feature = "validate"))]
    pub(super) fn check(&mut self, _payload: &Payload<'_>) -> Result<Option<&[Slot]>, Error> {
        Ok(None)
    }
}

/// What `FuncValidator::validate` does, the constants weighed on the way into `weights`.
#[cfg(feature = "validate")]
fn validate_body<R: wasmparser::WasmModuleResources>(
    v: &mut wasmparser::FuncValidator<R>,
    body: &wasmparser::FunctionBody<'_>,
    weights: &mut ConstWeights,
) -> wasmparser::Result<()> {
    let mut reader = body.get_binary_reader();
    v.read_locals(&mut reader)?;
    reader.set_features(*v.features());
    weights.clear();
    while !reader.eof() {
        let offset = reader.original_position();
        let mut visitor = Weighing { validator: v.visitor(offset), weights };
        reader.visit_operator(&mut visitor)??;
    }
    reader.finish_expression(&v.visitor(reader.original_position()))
}

/// The validator's visitor, with the constants weighed as the operators go by: one
/// decoding of each operator serves both.
#[cfg(feature = "validate")]
struct Weighing<'w, V> {
    validator: V,
    weights: &'w mut ConstWeights,
}

/// The visitor's methods: each forwards to the validator's, after weighing what a
/// block, a loop, an `end` or a constant tells.
#[cfg(feature = "validate")]
macro_rules! weigh_and_validate {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                weigh_and_validate!(@weigh self.weights, $op $($(, $arg)*)?);
                self.validator.$visit($($($arg),*)?)
            }
        )*
    };
    (@weigh $w:expr, Block, $blockty:ident) => { $w.open(false) };
    (@weigh $w:expr, If, $blockty:ident) => { $w.open(false) };
    (@weigh $w:expr, Loop, $blockty:ident) => { $w.open(true) };
    (@weigh $w:expr, End) => { $w.end() };
    (@weigh $w:expr, I32Const, $value:ident) => { $w.constant(slot_bits::i32($value)) };
    (@weigh $w:expr, I64Const, $value:ident) => { $w.constant(slot_bits::i64($value)) };
    (@weigh $w:expr, F32Const, $value:ident) => { $w.constant(slot_bits::f32($value)) };
    (@weigh $w:expr, F64Const, $value:ident) => { $w.constant(slot_bits::f64($value)) };
    (@weigh $w:expr, RefNull, $hty:ident) => { $w.constant(slot_bits::NULL) };
    (@weigh $w:expr, $($other:tt)*) => {};
}

#[cfg(feature = "validate")]
impl<'a, V: wasmparser::VisitOperator<'a>> wasmparser::VisitOperator<'a> for Weighing<'_, V> {
    type Output = V::Output;

    wasmparser::for_each_visit_operator!(weigh_and_validate);
}

#[cfg(feature = "validate")]
impl<V: wasmparser::FrameStack> wasmparser::FrameStack for Weighing<'_, V> {
    fn current_frame(&self) -> Option<wasmparser::FrameKind> {
        self.validator.current_frame()
    }
}

#[cfg(all(test, feature = "validate"))]
mod tests {
    use super::*;
    use crate::translate::pre_pass_constants;

    /// Every function's constants as the validator weighs them and as the translator's
    /// pre-pass chooses them (`Module::new` without validation): the same, in the same
    /// order, on the apps and the benchmark kernels (nested loops, blocks, every kind of
    /// constant) and a module with more candidates than slots.
    #[test]
    fn the_validators_weighing_chooses_the_pre_passs_constants() {
        let many: alloc::string::String =
            (0..300).map(|k| alloc::format!("(drop (i64.const {k}))")).collect();
        let many = wat::parse_str(alloc::format!(
            "(module (func (loop (drop (f32.const 1.5)) (drop (f64.const -0.0)) {many}
               (drop (ref.null func)) (drop (ref.null extern)) (drop (i32.const 7)))))"
        ))
        .unwrap();
        let modules: [&[u8]; 5] = [
            include_bytes!("../../../suites/apps/json.wasm"),
            include_bytes!("../../../suites/apps/lz.wasm"),
            include_bytes!("../../../suites/bench/programs/wasm/nbody.wasm"),
            include_bytes!("../../../suites/bench/programs/wasm/switch.wasm"),
            &many,
        ];
        let (mut bodies, mut with_constants) = (0, 0);
        for bytes in modules {
            let mut validator = wasmparser::Validator::new();
            for payload in wasmparser::Parser::new(0).parse_all(bytes) {
                let payload = payload.unwrap();
                let wasmparser::ValidPayload::Func(func, body) =
                    validator.payload(&payload).unwrap()
                else {
                    continue;
                };
                let mut v = func.into_validator(Default::default());
                let (mut weights, mut pre_pass) = Default::default();
                validate_body(&mut v, &body, &mut weights).unwrap();
                let weighed = weights.choose();
                assert_eq!(
                    weighed,
                    pre_pass_constants(&body, &mut pre_pass),
                    "body at {:?}",
                    body.range()
                );
                bodies += 1;
                with_constants += usize::from(!weighed.is_empty());
            }
        }
        assert!(bodies > 100 && with_constants > 20, "{bodies} bodies, {with_constants}");
    }
}
