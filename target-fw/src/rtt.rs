//! The RTT wire: the link's byte stream over SEGGER RTT (rtt-target), for boards driven through
//! a debug probe. The firmware owns a control block (`_SEGGER_RTT`) with one up and one down
//! ring buffer in RAM; the host finds it by its ELF symbol and moves bytes by reading and
//! writing target memory (probe-rs on hardware, QEMU's gdbstub in CI), so no peripheral is
//! involved and the same code runs on every board.
//!
//! The up channel blocks when full rather than dropping bytes: a frame waits for the host to
//! drain the ring, exactly as a UART transmitter waits for its shift register.

use rtt_target::{ChannelMode, DownChannel, UpChannel, rtt_init};
use tandem_link::ByteUart;

/// Ring sizes. A request or reply frame is at most 4 KiB (`tandem_server::RX_BUF`/`TX_BUF`); 2 KiB
/// rings move one in two host polls while costing 4 KiB of RAM on the smallest board.
const UP_BYTES: usize = 2048;
const DOWN_BYTES: usize = 2048;

/// Bytes staged before they go into the up ring: one ring write per 64 bytes, not per byte.
const STAGE: usize = 64;

/// Sets up the control block and the rings. Runs once: only the link's one [`Rtt`] calls it.
fn open_channels() -> (UpChannel, DownChannel) {
    let channels = rtt_init! {
        up: { 0: { size: UP_BYTES, mode: ChannelMode::BlockIfFull, name: "tandem" } }
        down: { 0: { size: DOWN_BYTES, name: "tandem" } }
    };
    (channels.up.0, channels.down.0)
}

/// The link's [`ByteUart`] over RTT channel 0. `const`-constructed for the link's static; the
/// control block is set up on first use, which `main`'s first read makes right after boot.
pub struct Rtt {
    channels: Option<(UpChannel, DownChannel)>,
    out: [u8; STAGE],
    out_len: usize,
    inbox: [u8; STAGE],
    in_pos: usize,
    in_len: usize,
}

impl Rtt {
    /// A handle with no control block yet.
    pub const fn new() -> Self {
        Self {
            channels: None,
            out: [0; STAGE],
            out_len: 0,
            inbox: [0; STAGE],
            in_pos: 0,
            in_len: 0,
        }
    }

    fn channels(&mut self) -> &mut (UpChannel, DownChannel) {
        self.channels.get_or_insert_with(open_channels)
    }

    /// Moves the staged bytes into the up ring, waiting while the host has not drained it.
    fn push(&mut self) {
        let len = self.out_len;
        self.out_len = 0;
        let out = self.out;
        // BlockIfFull: `write` returns once every byte is in the ring.
        self.channels().0.write(&out[..len]);
    }
}

impl ByteUart for Rtt {
    fn write(&mut self, byte: u8) {
        if self.out_len == STAGE {
            self.push();
        }
        self.out[self.out_len] = byte;
        self.out_len += 1;
    }

    fn read(&mut self) -> Option<u8> {
        if self.in_pos == self.in_len {
            let mut inbox = [0; STAGE];
            let n = self.channels().1.read(&mut inbox);
            if n == 0 {
                return None;
            }
            self.inbox = inbox;
            self.in_pos = 0;
            self.in_len = n;
        }
        let byte = self.inbox[self.in_pos];
        self.in_pos += 1;
        Some(byte)
    }

    fn flush(&mut self) {
        self.push();
        // Wait until the host has taken everything, so an exit or reset loses nothing.
        while !self.channels().0.is_empty() {}
    }

    fn end_frame(&mut self) {
        self.push();
    }
}
