//! The reading of a body: each operator decoded once, checked by the body's validator
//! where the module is validated here (so an invalid operator is reported as the validator
//! words it, before the translator sees it), then translated. One decoding and one
//! dispatch on the operator's byte serve both: the validator's checks are called from the
//! visitor the decoder dispatches to, and the translator matches on the operator it is
//! handed.

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
    /// its errors come before the translator's limits.
    pub(in crate::translate) fn validated<'a>(
        body: &FunctionBody<'_>,
        validator: &mut BodyValidator,
        start: impl FnOnce() -> Result<Translator<'a>, Error>,
    ) -> Result<FuncHeader, Error> {
        let mut reader = body.get_binary_reader();
        validator.read_locals(&mut reader).map_err(rejected)?;
        reader.set_features(*validator.features());
        let mut t = start()?;
        while !reader.eof() {
            let offset = reader.original_position();
            t.offset = offset as usize;
            let mut visitor = Validating { validator: validator.visitor(offset), t: &mut t };
            reader.visit_operator(&mut visitor).map_err(rejected)??;
        }
        let here = reader.original_position();
        reader.finish_expression(&validator.visitor(here)).map_err(rejected)?;
        if !t.done {
            return Err(t.err("function body ends before its final `end`"));
        }
        t.finish()
    }

    /// The visitor the decoder dispatches each operator to: the validator's checks of it,
    /// then its translation.
    struct Validating<'t, 'm, V> {
        validator: V,
        t: &'t mut Translator<'m>,
    }

    /// The visitor's methods: each hands its arguments to the validator's, then the
    /// operator they make to the translator.
    macro_rules! validate_then_translate {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            $(
                fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                    self.validator.$visit($($($arg.clone()),*)?).map_err(rejected)?;
                    self.t.op(&Operator::$op $({ $($arg),* })?)
                }
            )*
        };
    }

    #[allow(clippy::clone_on_copy)]
    impl<'a, V> VisitOperator<'a> for Validating<'_, '_, V>
    where
        V: VisitOperator<'a, Output = wasmparser::Result<()>>,
    {
        type Output = Result<(), Error>;

        wasmparser::for_each_visit_operator!(validate_then_translate);
    }

    impl<V: FrameStack> FrameStack for Validating<'_, '_, V> {
        fn current_frame(&self) -> Option<FrameKind> {
            self.validator.current_frame()
        }
    }
}
