//! A module decoded as its bytes arrive, so a board never holds the whole binary: only the
//! payload not yet complete (a section, or one function body) waits in a buffer, and every
//! complete one is decoded, validated and translated at once.
//!
//! The same path decodes a module given whole ([`Module::new`], `Store::load_module`),
//! without the buffer.

use alloc::vec::Vec;

use wasmparser::{Chunk, Parser, Payload};

use crate::config::{Config, Features};
use crate::error::Error;
use crate::heap::{HeapAccount, HeapUse, board_bytes};

use super::decode::{Decoded, Decoder};
use super::validate::Checker;
use super::{Module, malformed};

/// A module whose bytes have partly arrived: made by `Store::begin_module`, fed with
/// `Store::feed_module` and finished with `Store::end_module`, or given back with
/// `Store::discard_module` (its heap stays charged until then).
pub struct PartialModule {
    parser: Parser,
    decoded: Decoded,
    checker: Checker,
    /// The module's announced length: no more bytes are taken, and no payload is
    /// buffered for more than can still arrive.
    len: usize,
    /// Bytes fed so far.
    received: usize,
    /// The start of a payload not yet complete, and its capacity for the rest.
    pending: Vec<u8>,
    /// How many more bytes the parser last said the pending payload needs, at least.
    wanted: usize,
    /// The module's `End` payload has been decoded.
    at_end: bool,
    /// What this module holds in the heap account: given back if it is refused.
    pub(crate) charged: u64,
    /// A feed failed: the module is refused and holds nothing.
    refused: bool,
}

impl PartialModule {
    pub(crate) fn new(config: &Config, len: usize) -> Self {
        let mut parser = Parser::new(0);
        let mut features = config.features.to_wasmparser();
        if !Features::WASM2.contains(config.features) {
            // Past 2.0, 64-bit limits decode, so that a memory64 module is refused naming
            // the proposal (2.0 holds them malformed).
            features |= wasmparser::WasmFeatures::MEMORY64;
        }
        parser.set_features(features);
        PartialModule {
            parser,
            decoded: Decoded::default(),
            checker: Checker::new(config),
            len,
            received: 0,
            pending: Vec::new(),
            wanted: 0,
            at_end: false,
            charged: 0,
            refused: false,
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// The length announced when the module began.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte has arrived yet.
    pub fn is_empty(&self) -> bool {
        self.received == 0
    }

    /// The whole module at once: nothing is buffered.
    pub(crate) fn decode_whole(
        mut self,
        config: &Config,
        heap: &mut HeapAccount,
        bytes: &[u8],
    ) -> Result<Module, Error> {
        self.received = bytes.len();
        self.advance(config, heap, bytes, true)?;
        self.finish(config, heap)
    }

    /// Decodes what `chunk` completes and keeps the rest for the next one.
    pub(crate) fn feed(
        &mut self,
        config: &Config,
        heap: &mut HeapAccount,
        chunk: &[u8],
    ) -> Result<(), Error> {
        self.not_refused()?;
        if chunk.len() > self.len - self.received {
            return Err(Error::Malformed {
                message: alloc::format!("more bytes than the announced {}", self.len),
                offset: self.received,
            });
        }
        self.received += chunk.len();
        let to_come = self.len - self.received;
        if self.pending.is_empty() {
            let used = self.advance(config, heap, chunk, false)?;
            let rest = &chunk[used..];
            // The rest of the payload and as much more as the parser asked for.
            self.hold(heap, rest, rest.len() + self.wanted.min(to_come))
        } else {
            let room = chunk.len().max(self.wanted.min(chunk.len() + to_come));
            self.hold(heap, chunk, room)?;
            let pending = core::mem::take(&mut self.pending);
            let used = self.advance(config, heap, &pending, false);
            self.pending = pending;
            self.pending.drain(..used?);
            Ok(())
        }
    }

    /// A refused module takes no more bytes and builds nothing.
    fn not_refused(&self) -> Result<(), Error> {
        match self.refused {
            true => Err(Error::Malformed {
                message: "the module was refused already".into(),
                offset: self.received,
            }),
            false => Ok(()),
        }
    }

    /// Gives back what the module holds: it was refused.
    pub(crate) fn refuse(&mut self) {
        self.refused = true;
        self.charged = 0;
        self.decoded = Decoded::default();
        self.pending = Vec::new();
    }

    /// Decodes what is left, which must complete the module, and builds it.
    pub(crate) fn end(mut self, config: &Config, heap: &mut HeapAccount) -> Result<Module, Error> {
        self.not_refused()?;
        if self.received < self.len {
            return Err(Error::Malformed {
                message: alloc::format!(
                    "the module ended after {} of its announced {} bytes",
                    self.received,
                    self.len
                ),
                offset: self.received,
            });
        }
        let pending = core::mem::take(&mut self.pending);
        self.advance(config, heap, &pending, true)?;
        heap.release(board_bytes::<u8>(pending.capacity()));
        drop(pending);
        self.finish(config, heap)
    }

    /// The module, once the parser has seen the last byte (it only reports the module's
    /// end then: bytes after a module are a malformed section to it).
    fn finish(mut self, config: &Config, heap: &mut HeapAccount) -> Result<Module, Error> {
        if !self.at_end {
            return Err(Error::Malformed {
                message: "unexpected end of module".into(),
                offset: self.received,
            });
        }
        Decoder::new(config, heap, &mut self.decoded).finish()
    }

    /// Decodes every complete payload at the start of `data` (the bytes that follow the
    /// last one decoded), returning how many bytes they took. With `eof`, an incomplete
    /// payload is an error.
    fn advance(
        &mut self,
        config: &Config,
        heap: &mut HeapAccount,
        data: &[u8],
        eof: bool,
    ) -> Result<usize, Error> {
        let mut used = 0;
        while !self.at_end {
            let (consumed, payload) = match self.parser.parse(&data[used..], eof) {
                Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
                Ok(Chunk::NeedMoreData(more)) => {
                    self.wanted = more;
                    break;
                }
                Err(e) => return Err(malformed(e)),
            };
            used += consumed;
            let mut decoder = Decoder::new(config, heap, &mut self.decoded);
            if let Payload::CodeSectionEntry(body) = &payload {
                // Validated as the translator reads it: the validator checks each operator
                // before the translator sees it.
                let mut validator = self.checker.check(&payload)?;
                decoder.code_entry(body, validator.as_mut())?;
                if let Some(validator) = validator {
                    self.checker.recycle(validator);
                }
            } else {
                self.at_end = decoder.payload(&payload)?;
                self.checker.check(&payload)?;
            }
        }
        Ok(used)
    }

    /// Keeps `rest`, the start of an incomplete payload, with `room` for it and what the
    /// parser asked for that can still arrive (charged): a large section or body is
    /// buffered in one allocation.
    fn hold(&mut self, heap: &mut HeapAccount, rest: &[u8], room: usize) -> Result<(), Error> {
        if rest.is_empty() {
            return Ok(());
        }
        heap.reserve_exact(&mut self.pending, room, HeapUse::Arriving)?;
        self.pending.extend_from_slice(rest);
        Ok(())
    }
}
