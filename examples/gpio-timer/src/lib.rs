//! Example host modules, written as a user writes their own: a fake GPIO port (`gpio`) and a
//! virtual timer (`timer`), for testing firmware logic that drives pins and waits.
//!
//! | import | does |
//! |---|---|
//! | `gpio.configure (pin i32, mode i32)` | mode 0: input, 1: output (pins start as inputs, low) |
//! | `gpio.write (pin i32, level i32)` | drives an output pin (level 0 or not), counting edges |
//! | `gpio.read (pin i32) -> i32` | an output's level; an input's is the simulated button: high during the first half of every `BUTTON_PERIOD_US` of timer time on even pins, the second half on odd ones |
//! | `gpio.toggle (pin i32)` | flips an output pin |
//! | `gpio.edges (pin i32) -> i32` | how many times an output pin changed level |
//! | `timer.now_us () -> i64` | microseconds since the session began: virtual time, moved only by `delay_us` |
//! | `timer.delay_us (us i32)` | waits: advances virtual time by `us` (negative traps) |
//!
//! A pin outside 0..`PINS`, or writing a pin that is an input, traps with a message naming
//! the pin. The state lives in the store's host data ([`Board`]), one per session, so every
//! target starts from the same state and, the time being virtual, ends in the same one.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;

use tandem_hostmods::HostModule;
use tandem_interp::{Caller, Error, Linker, Store, Trap};

/// Pins on the fake port.
pub const PINS: u32 = 32;

/// The simulated button's period on input pins, in timer microseconds.
pub const BUTTON_PERIOD_US: u64 = 10_000;

/// The fake board's state: pin directions and levels, edge counts and virtual time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    /// Bit `n` set: pin `n` is an output.
    pub outputs: u32,
    /// Bit `n` set: output pin `n` is high.
    pub levels: u32,
    /// Level changes per output pin.
    pub edges: [u32; PINS as usize],
    /// Virtual time, in microseconds.
    pub now_us: u64,
}

impl Board {
    /// Pin `pin`'s bit, or a trap naming it.
    fn bit(pin: i32) -> Result<u32, Trap> {
        match u32::try_from(pin) {
            Ok(n) if n < PINS => Ok(1 << n),
            _ => Err(Trap::host(format!("gpio: pin {pin} does not exist (0..{PINS})"))),
        }
    }

    fn read(&self, pin: i32) -> Result<i32, Trap> {
        let bit = Board::bit(pin)?;
        if self.outputs & bit != 0 {
            return Ok(i32::from(self.levels & bit != 0));
        }
        let first_half = self.now_us % BUTTON_PERIOD_US < BUTTON_PERIOD_US / 2;
        Ok(i32::from(first_half == (pin % 2 == 0)))
    }

    fn write(&mut self, pin: i32, high: bool) -> Result<(), Trap> {
        let bit = Board::bit(pin)?;
        if self.outputs & bit == 0 {
            return Err(Trap::host(format!("gpio: pin {pin} is an input")));
        }
        if (self.levels & bit != 0) != high {
            self.levels ^= bit;
            self.edges[pin as usize] += 1;
        }
        Ok(())
    }
}

/// The `gpio` module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gpio;

/// The `timer` module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer;

/// The board's state in `store`, created on first use.
fn ensure_board(store: &mut Store) -> Result<(), Error> {
    if store.host_data::<Board>().is_none() {
        store.set_host_data(Board::default())?;
    }
    Ok(())
}

/// The caller's board; `define` put one in every store that links these modules.
fn board<'c>(caller: &'c mut Caller<'_>) -> Result<&'c mut Board, Trap> {
    caller.data_mut::<Board>().ok_or_else(|| Trap::host("gpio: no board state in this store"))
}

impl HostModule for Gpio {
    fn name(&self) -> &'static str {
        "gpio"
    }

    fn define(&self, store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
        ensure_board(store)?;
        linker.func_wrap(store, "gpio", "configure", |c: &mut Caller<'_>, pin: i32, mode: i32| {
            let bit = Board::bit(pin)?;
            let board = board(c)?;
            match mode {
                0 => board.outputs &= !bit,
                1 => board.outputs |= bit,
                _ => return Err(Trap::host(format!("gpio: mode {mode} is not 0 or 1"))),
            }
            Ok(())
        });
        linker.func_wrap(store, "gpio", "write", |c: &mut Caller<'_>, pin: i32, level: i32| {
            board(c)?.write(pin, level != 0)
        });
        linker.func_wrap(store, "gpio", "read", |c: &mut Caller<'_>, pin: i32| board(c)?.read(pin));
        linker.func_wrap(store, "gpio", "toggle", |c: &mut Caller<'_>, pin: i32| {
            let board = board(c)?;
            let high = board.read(pin)? == 0;
            board.write(pin, high)
        });
        linker.func_wrap(store, "gpio", "edges", |c: &mut Caller<'_>, pin: i32| {
            let bit = Board::bit(pin)?;
            Ok::<i32, Trap>(board(c)?.edges[bit.trailing_zeros() as usize] as i32)
        });
        Ok(())
    }
}

impl HostModule for Timer {
    fn name(&self) -> &'static str {
        "timer"
    }

    fn define(&self, store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
        ensure_board(store)?;
        linker.func_wrap(store, "timer", "now_us", |c: &mut Caller<'_>| {
            Ok::<i64, Trap>(board(c)?.now_us as i64)
        });
        linker.func_wrap(store, "timer", "delay_us", |c: &mut Caller<'_>, us: i32| {
            let us =
                u64::try_from(us).map_err(|_| Trap::host(format!("timer: cannot wait {us} us")))?;
            let board = board(c)?;
            board.now_us = board.now_us.saturating_add(us);
            Ok(())
        });
        Ok(())
    }
}
