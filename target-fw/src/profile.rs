//! The board profile this firmware was built for (`boards/profiles/*.toml`, chosen by
//! `$TANDEM_BOARD` at build time) as one `const`, written by `build.rs`: the sizes of the heap
//! arena and static buffer, and the limits the request handler applies, the same ones the
//! host's simulator applies for that board.

include!(concat!(env!("OUT_DIR"), "/profile.rs"));

/// Bytes of the heap arena.
pub const HEAP_BYTES: usize = PROFILE.heap_bytes() as usize;

/// Bytes of the static linear-memory buffers together.
pub const STATIC_MEMORIES_BYTES: usize = PROFILE.static_buffers_total() as usize;
