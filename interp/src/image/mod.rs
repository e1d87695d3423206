//! Images: a module decoded, validated and translated on the host, written as bytes a board
//! loads without a decoder or a translator ([`Module::to_image`], [`Module::from_image`]).
//!
//! The format is little-endian and independent of the pointer width:
//!
//! ```text
//! header, 32 bytes:
//!   0  magic "TNDM"            4  format version (u16)     6  instruction kinds (u16)
//!   8  instruction set (u32: a hash of every kind and its fields, in order)
//!  12  core version (u8 major, minor, patch, 0)
//!  16  features (u32, the core's `Features` bits)
//!  20  flags (u32: bit 0, the code charges fuel)
//!  24  body length (u32)      28  body checksum (u32, FNV-1a's step over LE words)
//! body: the module's parts in a fixed order (`write.rs`), each list a u32 count and its
//!   items; then the large parts, each a u32 count, zeros up to its alignment from the
//!   image's start and its items in their own layout, so an image in flash lends them in
//!   place: the function headers (20 bytes, aligned to 4), the constants (8 bytes, aligned
//!   to 8) and the code (12 bytes an instruction in the layout of `Instr` itself, aligned
//!   to 4).
//! ```
//!
//! The header names what translation depended on, and an image made under anything else is
//! refused naming which ([`Error::ImageMismatch`]). A body that does not decode, or whose
//! parts do not fit each other, is [`Error::BadImage`] naming what is wrong; its code is held
//! to the translator's own check of finished functions (`verify_function`), so an image
//! runs only code the executor's unchecked paths can run.
//!
//! [`Module::to_image`]: crate::Module::to_image
//! [`Module::from_image`]: crate::Module::from_image

mod read;
mod write;

use alloc::format;
use alloc::string::String;

use crate::config::{Config, Features};
use crate::error::Error;
use crate::ir::Instr;

/// The first bytes of every image.
pub(crate) const MAGIC: [u8; 4] = *b"TNDM";
/// The format this core writes and reads (3: branch targets are byte offsets, `ir::target_at`).
pub(crate) const FORMAT_VERSION: u16 = 3;
/// Bytes of a function header in an image: its `repr(C)` layout.
pub(crate) const HEADER_ENTRY_BYTES: usize = core::mem::size_of::<crate::module::FuncHeader>();
/// Bytes of the header.
pub(crate) const HEADER_BYTES: usize = 32;
/// Header flag: the code charges fuel.
pub(crate) const FLAG_FUEL: u32 = 1;

/// What translation depended on, as the header states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    kinds: u16,
    instruction_set: u32,
    version: [u8; 3],
    features: u32,
    flags: u32,
}

/// The hash of every instruction kind and its fields, in order: made when the core is
/// compiled, so the layout's text (8 KiB) never reaches a board's flash.
const INSTRUCTION_SET: u32 = fnv1a32(Instr::LAYOUT.as_bytes());

impl Fingerprint {
    /// This core's, for code translated under `config`.
    pub(crate) fn of(config: &Config) -> Fingerprint {
        Fingerprint {
            kinds: Instr::KINDS as u16,
            instruction_set: INSTRUCTION_SET,
            version: core_version(),
            features: config.features.bits(),
            flags: if config.fuel { FLAG_FUEL } else { 0 },
        }
    }

    /// The first difference from `here`, as [`Error::ImageMismatch`].
    pub(crate) fn check(&self, here: &Fingerprint) -> Result<(), Error> {
        let version = |v: [u8; 3]| format!("{}.{}.{}", v[0], v[1], v[2]);
        let mismatch =
            |what, image: String, here: String| Err(Error::ImageMismatch { what, image, here });
        if (self.version, self.kinds, self.instruction_set)
            != (here.version, here.kinds, here.instruction_set)
        {
            return mismatch(
                "core",
                format!("{} (instruction set {:08x})", version(self.version), self.instruction_set),
                format!("{} (instruction set {:08x})", version(here.version), here.instruction_set),
            );
        }
        if self.features != here.features {
            return mismatch(
                "features",
                feature_names(self.features),
                feature_names(here.features),
            );
        }
        if self.flags != here.flags {
            let fuel = |flags: u32| String::from(if flags & FLAG_FUEL != 0 { "on" } else { "off" });
            return mismatch("fuel metering", fuel(self.flags), fuel(here.flags));
        }
        Ok(())
    }
}

/// The proposals in `bits`, by name.
fn feature_names(bits: u32) -> String {
    let features = Features::from_bits_retain(bits);
    let mut names = String::new();
    for (feature, name) in Features::NAMED {
        if features.contains(feature) {
            if !names.is_empty() {
                names.push_str(", ");
            }
            names.push_str(name);
        }
    }
    if names.is_empty() { String::from("none") } else { names }
}

/// This crate's version, from its manifest.
fn core_version() -> [u8; 3] {
    let mut parts = env!("CARGO_PKG_VERSION").split(['.', '-']).map(|p| p.parse().unwrap_or(0));
    [parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0)]
}

/// The checksum an image's header holds for its body (the bytes after the 32-byte header),
/// for tools that write or patch images: FNV-1a's step over little-endian 32-bit words (then the last bytes
/// one by one), a quarter of the byte-wise hash's work on a board that loads an image.
/// Each step is a bijection of the state, so any one word changed changes the sum.
pub fn image_checksum(body: &[u8]) -> u32 {
    let words = body.chunks_exact(4);
    let tail = words.remainder();
    let step = |hash: u32, value: u32| (hash ^ value).wrapping_mul(0x0100_0193);
    let hash =
        words.fold(0x811c_9dc5, |h, w| step(h, u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
    tail.iter().fold(hash, |h, &b| step(h, u32::from(b)))
}

/// FNV-1a, 32 bits: the instruction set's hash.
pub(crate) const fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests;
