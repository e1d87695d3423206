//! CMSDK APB UART0 at the layer's `UART0_BASE` (0x4000_4000 on the MPS2 images, the secure
//! 0x5020_0000 on the AN505), polled: the board side of the host link.
//!
//! Registers (word offsets from the base): DATA +0x00, STATE +0x04 (bit 0 TX full, bit 1 RX
//! full), CTRL +0x08 (bit 0 TX enable, bit 1 RX enable), BAUDDIV +0x10 (>= 16, ignored by
//! QEMU but checked). The receiver holds a single byte; polling with backpressure through
//! QEMU's chardev was measured lossless for 64 KiB transfers.

use tandem_link::ByteUart;

const BASE: usize = super::super::UART0_BASE;
const DATA: *mut u32 = BASE as *mut u32;
const STATE: *mut u32 = (BASE + 0x04) as *mut u32;
const CTRL: *mut u32 = (BASE + 0x08) as *mut u32;
const BAUDDIV: *mut u32 = (BASE + 0x10) as *mut u32;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

fn read_reg(reg: *mut u32) -> u32 {
    // SAFETY: `reg` is one of the UART0 register addresses above, which are always mapped on
    // this board; a volatile word read has no side effect except on DATA (pops the RX byte),
    // which is only read when STATE says a byte is there, or once at init to clear it.
    unsafe { reg.read_volatile() }
}

fn write_reg(reg: *mut u32, value: u32) {
    // SAFETY: as in `read_reg`; the writes are the documented register protocol.
    unsafe { reg.write_volatile(value) }
}

/// Enables the transmitter and receiver.
pub(super) fn init() {
    write_reg(BAUDDIV, 16);
    write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
    // Drain a stale RX byte: without this read the first request can stall ~1 s in QEMU.
    let _ = read_reg(DATA);
}

/// Handle to UART0. Zero-sized: the state is in the peripheral. The firmware makes exactly
/// one, inside the link's `DeviceWire`.
pub struct Uart {
    _private: (),
}

impl Uart {
    /// A handle; call [`super::init`] before the first byte goes through it.
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl ByteUart for Uart {
    fn write(&mut self, byte: u8) {
        while read_reg(STATE) & STATE_TX_FULL != 0 {}
        write_reg(DATA, u32::from(byte));
    }

    fn read(&mut self) -> Option<u8> {
        if read_reg(STATE) & STATE_RX_FULL != 0 { Some(read_reg(DATA) as u8) } else { None }
    }

    fn flush(&mut self) {
        while read_reg(STATE) & STATE_TX_FULL != 0 {}
    }
}
