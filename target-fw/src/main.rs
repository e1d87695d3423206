//! Tandem's Cortex-M4 firmware: boots the board, then answers the `tandem-protocol`
//! postcard-rpc requests from the host over the board's UART or RTT with the shared request handler
//! (`tandem-handler`, the code the host's simulator runs) until the host asks it to exit.
//!
//! Layout: `board/` (one board-support layer per board), [`profile`] (the board profile,
//! generated at build time), [`dispatch`] (the shared `tandem-server` request table for this
//! board's UART, and the board's figures behind its `Platform`), and the board-agnostic
//! runtime pieces [`clock`], [`deadline`], [`heap`], [`stack`], [`fault`]. The framing and postcard-rpc wire
//! live in the `tandem-link` crate, shared with the host.
#![no_std]
#![no_main]

extern crate alloc;

mod board;
mod clock;
mod deadline;
mod dispatch;
mod fault;
mod heap;
mod profile;
#[cfg(feature = "rtt")]
mod rtt;
mod stack;

use cortex_m_rt::entry;
use tandem_handler::{MAX_STATIC_MEMORIES, RequestHandler};
use tandem_server::{Context, Ending, NoSpawn};

use crate::dispatch::{Board, FwApp, Wire};

/// The link, in a static so the fault handlers can report over it too.
pub struct Link(Wire);

// SAFETY: the firmware is single-core and the wire is used from thread mode only (`main`),
// except by the fatal handlers, which interrupt it once and never return; the wire's
// `RefCell`s turn a use that overlaps an unfinished one into an error, not a data race.
unsafe impl Sync for Link {}

impl Link {
    /// The wire.
    pub fn wire(&'static self) -> &'static Wire {
        &self.0
    }
}

/// The one host link (the board's UART, or RTT).
pub static LINK: Link = Link(Wire::new(board::HostUart::new()));

/// The static linear-memory buffers, one after another, sized by the board profile. In
/// `.bss`, so the linker refuses a firmware whose profile does not fit the board's RAM.
static mut STATIC_MEMORIES: [u8; profile::STATIC_MEMORIES_BYTES] =
    [0; profile::STATIC_MEMORIES_BYTES];

/// The handler with the static buffers, handed out once at boot: buffer `i` for memory `i`.
fn with_static_memories(mut handler: RequestHandler) -> RequestHandler {
    // SAFETY: called once, from `main`, before anything else runs; `STATIC_MEMORIES` is
    // private to this module and never named again, so this is the only reference to it.
    let mut rest: &'static mut [u8] = unsafe {
        core::slice::from_raw_parts_mut(
            (&raw mut STATIC_MEMORIES).cast::<u8>(),
            profile::STATIC_MEMORIES_BYTES,
        )
    };
    for index in 0..MAX_STATIC_MEMORIES {
        let bytes = profile::PROFILE.static_buffer_bytes(index) as usize;
        if bytes > 0 {
            let (buffer, after) = rest.split_at_mut(bytes);
            handler = handler.with_static_memory_at(index, buffer);
            rest = after;
        }
    }
    handler
}

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        fault::fatal(format_args!("core peripherals already taken"));
    };
    board::init();
    clock::init(core.SYST, core.DCB, core.DWT);

    let handler = RequestHandler::new(profile::PROFILE, env!("CARGO_PKG_VERSION"));
    let mut handler = with_static_memories(handler).with_output_sink(dispatch::send_output);
    handler.set_interrupt_flag(&deadline::PASSED);
    let mut app = FwApp::new(Context::new(handler, Board), NoSpawn);
    match tandem_server::serve(LINK.wire(), &mut app, || false) {
        Ending::Exit { success } => board::exit(success),
        Ending::LinkFailed(e) => fault::fatal(format_args!("link: {e}")),
        Ending::Stopped => fault::fatal(format_args!("the serve loop stopped")),
    }
}
