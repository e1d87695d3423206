//! Table-driven CRC-32 (IEEE, reflected): byte loads and table lookups.

/// Bytes checksummed per round: 16 KiB.
pub const DATA_LEN: usize = 16 * 1024;

/// The kernel's working arrays (the CRC table and 16 KiB of data), owned by the caller: boxed natively, a
/// `.bss` static in the wasm build.
pub struct Workspace {
    table: [u32; 256],
    data: [u8; DATA_LEN],
}

impl Workspace {
    /// Zeroed arrays; `const`, so the wasm build can place them in a static.
    pub const fn new() -> Self {
        Workspace { table: [0; 256], data: [0; DATA_LEN] }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds the table, fills the data, then runs the CRC over it `n` times, each round
/// continuing from the last; the checksum is the final CRC.
pub fn run(ws: &mut Workspace, n: i32) -> i32 {
    build_table(&mut ws.table);
    let mut rng = crate::lcg::Lcg::new(0xc3c3_2001);
    for byte in ws.data.iter_mut() {
        *byte = (rng.next_u32() >> 24) as u8;
    }
    let mut crc = !0u32;
    for _ in 0..n.max(0) {
        crc = update(&ws.table, crc, &ws.data);
    }
    !crc as i32
}

/// The table for the reflected polynomial 0xEDB88320.
fn build_table(table: &mut [u32; 256]) {
    for (i, entry) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *entry = c;
    }
}

/// Continues a (pre-inverted) CRC over `data`.
fn update(table: &[u32; 256], mut crc: u32, data: &[u8]) -> u32 {
    for &byte in data {
        crc = table[((crc ^ byte as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value() {
        let mut table = [0; 256];
        super::build_table(&mut table);
        assert_eq!(!super::update(&table, !0, b"123456789"), 0xcbf4_3926);
    }
}
