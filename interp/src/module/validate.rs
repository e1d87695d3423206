//! The validator shim: with the `validate` feature, every payload goes through
//! `wasmparser`'s validator, and every function body through a validator of its own
//! ([`BodyValidator`], its allocations reused from one body to the next), which the
//! translator feeds from its own reading of the body; without it, a no-op, the host having
//! validated the module and the decoder and translator still checking every invariant they
//! rely on.

use wasmparser::Payload;

use crate::config::Config;
use crate::error::Error;

/// One function body's validator: it checks each operator as the translator reads it,
/// before the translator sees it.
#[cfg(feature = "validate")]
pub(crate) type BodyValidator = wasmparser::FuncValidator<wasmparser::ValidatorResources>;

/// Without on-device validation there is no body validator.
#[cfg(not(feature = "validate"))]
pub(crate) enum BodyValidator {}

/// Feeds the validator, when on-device validation is compiled in; otherwise a no-op.
pub(super) struct Checker {
    #[cfg(feature = "validate")]
    validator: wasmparser::Validator,
    /// Reused from one function body to the next.
    #[cfg(feature = "validate")]
    allocs: wasmparser::FuncValidatorAllocations,
}

impl Checker {
    #[cfg_attr(not(feature = "validate"), allow(unused_variables))]
    pub(super) fn new(config: &Config) -> Self {
        Checker {
            #[cfg(feature = "validate")]
            validator: wasmparser::Validator::new_with_features(config.features.to_wasmparser()),
            #[cfg(feature = "validate")]
            allocs: Default::default(),
        }
    }

    /// Validates `payload`; for a function body, what it can without reading the body, and
    /// hands back the body's validator (given back by [`Self::recycle`] once fed).
    #[cfg(feature = "validate")]
    pub(super) fn check(&mut self, payload: &Payload<'_>) -> Result<Option<BodyValidator>, Error> {
        match self.validator.payload(payload).map_err(|e| rejected(&e))? {
            wasmparser::ValidPayload::Func(func, _) => {
                Ok(Some(func.into_validator(core::mem::take(&mut self.allocs))))
            }
            _ => Ok(None),
        }
    }

    #[cfg(not(feature = "validate"))]
    pub(super) fn check(&mut self, _: &Payload<'_>) -> Result<Option<BodyValidator>, Error> {
        Ok(None)
    }

    /// Keeps a body validator's allocations for the next body.
    pub(super) fn recycle(&mut self, validator: BodyValidator) {
        #[cfg(feature = "validate")]
        {
            self.allocs = validator.into_allocations();
        }
        #[cfg(not(feature = "validate"))]
        match validator {}
    }
}

/// A validator's error as the core reports it: a proposal the core does not implement is
/// worded as the decoder words it; anything else is invalid.
#[cfg(feature = "validate")]
pub(crate) fn rejected(e: &wasmparser::BinaryReaderError) -> Error {
    let (message, offset) = (e.message(), e.offset() as usize);
    super::left_out(message, offset)
        .unwrap_or_else(|| Error::Invalid { message: message.into(), offset })
}
