//! What every app shares: the allocator, the entry point and output without `core::fmt`.
//!
//! The apps are ordinary `std` programs for `wasm32-wasip1`, kept small enough for a
//! microcontroller profile (the `nrf52840-dk` board's 32 KiB module cap and one 64 KiB page):
//! no `main` runtime (`main!` defines wasi-libc's `__main_void` instead), a fixed arena for the
//! heap instead of `memory.grow`, and numbers written by hand rather than through `format!`.
//! Built natively, the same code is the reference that produces each app's expected output.

use std::io::Write;

#[cfg(target_family = "wasm")]
mod arena;

/// Defines the program's entry points from `run() -> exit code` and `bench(n) -> checksum`
/// (the workload repeated `n` times without output, for `tandem-bench`): `__main_void` (which
/// wasi-libc's `_start` calls, exiting with its result when non-zero) and an exported `bench`
/// on wasm, `main` natively.
#[macro_export]
macro_rules! main {
    ($run:path, $bench:path) => {
        #[cfg(target_family = "wasm")]
        #[unsafe(no_mangle)]
        extern "C" fn __main_void() -> i32 {
            $run()
        }

        /// The benchmark entry (`--export-if-defined=bench` in build.sh).
        #[cfg(target_family = "wasm")]
        #[unsafe(export_name = "bench")]
        extern "C" fn __tandem_apps_bench(n: i32) -> i32 {
            $bench(n as u32) as i32
        }

        #[cfg(not(target_family = "wasm"))]
        fn main() {
            // Natively `bench` is only checked to agree with itself: same input, same sum.
            assert_eq!($bench(1), $bench(1));
            std::process::exit($run())
        }
    };
}

/// Buffered standard output with the few formatting helpers the apps need. Written out in
/// one `fd_write` per flush (and at drop), so output interleaves with nothing.
pub struct Out {
    buf: Vec<u8>,
}

impl Out {
    /// An empty buffer.
    pub fn new() -> Self {
        Out { buf: Vec::with_capacity(256) }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Appends a string.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// Appends an unsigned number in decimal.
    pub fn u64(&mut self, mut n: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.bytes(&digits[at..])
    }

    /// Appends a signed number in decimal.
    pub fn i64(&mut self, n: i64) -> &mut Self {
        if n < 0 {
            self.str("-");
        }
        self.u64(n.unsigned_abs())
    }

    /// Appends a 32-bit value as eight lowercase hex digits.
    pub fn hex32(&mut self, n: u32) -> &mut Self {
        let mut digits = [0u8; 8];
        for (i, d) in digits.iter_mut().enumerate() {
            let nibble = (n >> (28 - 4 * i)) & 0xf;
            *d = b"0123456789abcdef"[nibble as usize];
        }
        self.bytes(&digits)
    }

    /// Appends a newline.
    pub fn nl(&mut self) -> &mut Self {
        self.str("\n")
    }

    /// Writes what is buffered to stdout.
    pub fn flush(&mut self) {
        // Nothing to do if stdout is gone; the exit code still tells.
        let _ = std::io::stdout().write_all(&self.buf);
        self.buf.clear();
    }
}

impl Default for Out {
    fn default() -> Self {
        Out::new()
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        self.flush();
    }
}

/// FNV-1a over `bytes`: the checksum the apps print for output too long to show.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A small deterministic generator (xorshift32), so inputs are the same on every target.
pub struct Rng(u32);

impl Rng {
    /// A generator started from `seed` (zero is replaced: xorshift would stay at zero).
    pub fn new(seed: u32) -> Self {
        Rng(if seed == 0 { 0x9e37_79b9 } else { seed })
    }

    /// The next value.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A value below `n` (`n` > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}
