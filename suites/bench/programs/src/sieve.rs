//! Sieve of Eratosthenes over a byte array: byte loads and stores in a tight loop.

/// Bytes of flags: one 32 KiB sieve, half a wasm page.
pub const LEN: usize = 32 * 1024;

/// The kernel's working arrays (the 32 KiB of flags), owned by the caller: boxed natively, a
/// `.bss` static in the wasm build.
pub struct Workspace {
    flags: [u8; LEN],
}

impl Workspace {
    /// Zeroed arrays; `const`, so the wasm build can place them in a static.
    pub const fn new() -> Self {
        Workspace { flags: [0; LEN] }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` sieves, each to a slightly different limit so no two rounds are alike;
/// the checksum mixes the prime counts.
pub fn run(ws: &mut Workspace, n: i32) -> i32 {
    let mut checksum = 0u32;
    for round in 0..n.max(0) as usize {
        let limit = LEN - (round % 64) * 128;
        let count = sieve(&mut ws.flags[..limit]);
        checksum = checksum.rotate_left(7) ^ count;
    }
    checksum as i32
}

/// Counts the primes below `flags.len()`.
fn sieve(flags: &mut [u8]) -> u32 {
    let limit = flags.len();
    flags.fill(1);
    flags[0] = 0;
    flags[1] = 0;
    let mut i = 2;
    while i * i < limit {
        if flags[i] != 0 {
            let mut j = i * i;
            while j < limit {
                flags[j] = 0;
                j += i;
            }
        }
        i += 1;
    }
    flags.iter().map(|&f| f as u32).sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_primes() {
        let mut flags = [0u8; 100];
        assert_eq!(super::sieve(&mut flags), 25);
        let mut ws = super::Workspace::new();
        // pi(32768) = 3512
        assert_eq!(super::run(&mut ws, 1), 3512);
    }
}
