//! The validator shim: with the `validate` feature, every payload (and every function
//! body, in full) goes through `wasmparser`'s validator, its allocations reused from one
//! body to the next; without it, a no-op, the host having validated the module and the
//! decoder and translator still checking every invariant they rely on.

use wasmparser::Payload;

use crate::config::Config;
use crate::error::Error;

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

    /// Validates `payload`, and a function body in full.
    #[cfg(feature = "validate")]
    pub(super) fn check(&mut self, payload: &Payload<'_>) -> Result<(), Error> {
        // A proposal the core does not implement is worded as the decoder words it.
        let invalid = |e: wasmparser::BinaryReaderError| {
            let (message, offset) = (e.message(), e.offset() as usize);
            super::left_out(message, offset)
                .unwrap_or_else(|| Error::Invalid { message: message.into(), offset })
        };
        let wasmparser::ValidPayload::Func(func, body) =
            self.validator.payload(payload).map_err(invalid)?
        else {
            return Ok(());
        };
        let mut v = func.into_validator(core::mem::take(&mut self.allocs));
        v.validate(&body).map_err(invalid)?;
        self.allocs = v.into_allocations();
        Ok(())
    }

    #[cfg(not(feature = "validate"))]
    pub(super) fn check(&mut self, _payload: &Payload<'_>) -> Result<(), Error> {
        Ok(())
    }
}
