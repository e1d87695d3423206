//! Tandem's Cortex-M4 firmware: boots the board, then answers postcard-rpc requests from the
//! host over the board's UART until the host asks it to exit.
//!
//! Layout: `board/` (one board-support layer per board), [`dispatch`] (endpoint -> handler
//! table, the swap point for the shared handler), [`icd`] (this firmware's own endpoints),
//! and the board-agnostic runtime pieces [`clock`], [`heap`], [`stack`], [`fault`]. The
//! framing and postcard-rpc wire live in the `tandem-link` crate, shared with the host.
#![no_std]
#![no_main]

extern crate alloc;

mod board;
mod clock;
mod dispatch;
mod fault;
mod heap;
mod icd;
mod stack;

use cortex_m_rt::entry;
use postcard_rpc::server::{Dispatch, Sender};
use tandem_link::device::{NoSpawn, block_on, serve_one};

use crate::dispatch::{Context, FwApp, RX_BUF, Wire};

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

/// The one UART link.
pub static LINK: Link = Link(Wire::new(board::Uart::new()));

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        fault::fatal(format_args!("core peripherals already taken"));
    };
    board::init();
    clock::init(core.SYST);

    let wire = LINK.wire();
    let (tx, mut rx) = wire.split();
    let mut app = FwApp::new(Context { wire, exit: None }, NoSpawn);
    let sender = Sender::new(tx, app.min_key_len());
    let mut buf = [0u8; RX_BUF];
    loop {
        if let Err(e) = block_on(serve_one(&mut rx, &sender, &mut app, &mut buf)) {
            fault::fatal(format_args!("link: {e}"));
        }
        if let Some(success) = app.context.exit.take() {
            wire.flush();
            board::exit(success);
        }
    }
}
