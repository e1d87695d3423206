//! The reading of a body: each operator decoded once, checked by the body's validator
//! where the module is validated here (so an invalid operator is reported as the validator
//! words it, before the translator sees it), then translated. One decoding and one
//! dispatch on the operator's byte serve both: the validator's check is called from the
//! visitor the decoder dispatches to, which gives the operator back, and the translator
//! matches on it.

use wasmparser::FunctionBody;

use crate::error::Error;
use crate::module::{FuncHeader, malformed};

use super::Translator;

/// Translates a body whose module was validated elsewhere (the translator still checks
/// everything it relies on).
pub(super) fn trusted<'a>(
    body: &FunctionBody<'_>,
    start: impl FnOnce() -> Result<Translator<'a>, Error>,
) -> Result<FuncHeader, Error> {
    let mut t = start()?;
    let mut reader = body.get_operators_reader().map_err(malformed)?;
    while !t.done {
        if reader.eof() {
            return Err(t.err("function body ends before its final `end`"));
        }
        t.offset = reader.original_position() as usize;
        // Read in place: a copy of the operator (48 bytes, in wide loads) would wait for
        // the reader's narrower stores of it.
        let read = reader.read();
        t.op(read.as_ref().map_err(|e| malformed(e.clone()))?)?;
    }
    if !reader.eof() {
        return Err(t.err("operators after the function's final `end`"));
    }
    t.finish()
}

#[cfg(feature = "validate")]
pub(super) use validated::validated;

#[cfg(feature = "validate")]
mod validated {
    // Named by the visitor methods `for_each_visit_operator!` writes (operators' arguments).
    use alloc::vec::Vec;

    use wasmparser::{FrameKind, FrameStack, FunctionBody, Operator, VisitOperator};

    use crate::error::Error;
    use crate::module::{BodyValidator, FuncHeader, rejected};

    use super::Translator;

    /// Translates a body as `validator` checks it. The validator reads the locals first, so
    /// its limit on them comes before the translator's; after that each operator is checked
    /// before it is translated, so an invalid one is the validator's to report, unless the
    /// valid operators before it already ran into a limit (the heap, the frame's slots),
    /// which is then the error.
    pub(in crate::translate) fn validated<'a>(
        body: &FunctionBody<'_>,
        validator: &mut BodyValidator,
        start: impl FnOnce() -> Result<Translator<'a>, Error>,
    ) -> Result<FuncHeader, Error> {
        let mut reader = body.get_binary_reader();
        validator.read_locals(&mut reader).map_err(|e| rejected(&e))?;
        reader.set_features(*validator.features());
        let mut t = start()?;
        while !reader.eof() {
            let offset = reader.original_position();
            t.offset = offset as usize;
            let mut checked = Checked(validator.visitor(offset));
            // Read in place, as `trusted` reads: a move of the operator out of the result
            // would copy it (48 bytes, in wide loads that wait on the visitor's stores).
            let read = reader.visit_operator(&mut checked);
            match &read {
                Ok(Ok(op)) => t.op(op)?,
                Ok(Err(e)) | Err(e) => return Err(rejected(e)),
            }
        }
        let here = reader.original_position();
        reader.finish_expression(&validator.visitor(here)).map_err(|e| rejected(&e))?;
        if !t.done {
            return Err(t.err("function body ends before its final `end`"));
        }
        t.finish()
    }

    /// The validator's visitor, giving back each operator it accepts: what the decoder
    /// dispatches to, so the validator's check is a direct call and the translator is
    /// handed the operator without a decoding of its own.
    struct Checked<V>(V);

    /// The visitor's methods: each hands its arguments to the validator's, then makes the
    /// operator of them.
    macro_rules! check_and_give_back {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            $(
                fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                    self.0.$visit($($($arg.clone()),*)?)?;
                    Ok(Operator::$op $({ $($arg),* })?)
                }
            )*
        };
    }

    #[allow(clippy::clone_on_copy)]
    impl<'a, V> VisitOperator<'a> for Checked<V>
    where
        V: VisitOperator<'a, Output = wasmparser::Result<()>>,
    {
        type Output = wasmparser::Result<Operator<'a>>;

        wasmparser::for_each_visit_operator!(check_and_give_back);
    }

    impl<V: FrameStack> FrameStack for Checked<V> {
        fn current_frame(&self) -> Option<FrameKind> {
            self.0.current_frame()
        }
    }
}
