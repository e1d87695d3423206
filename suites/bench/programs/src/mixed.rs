//! A mixed workload in the spirit of CoreMark: a linked list kept in a static array,
//! a small integer matrix, and a number-recognising state machine, combined by CRC-16.

/// Nodes in the list.
const NODES: usize = 256;
/// Matrix order.
const M: usize = 12;
/// Bytes of text the state machine scans.
const TEXT_LEN: usize = 256;

/// A list node: the index of the next node (`NIL` ends the list) and a payload.
#[derive(Clone, Copy)]
struct Node {
    next: u16,
    value: i16,
}

const NIL: u16 = u16::MAX;

/// The kernel's working arrays (the list, the matrices and the text), owned by the caller: boxed natively, a
/// `.bss` static in the wasm build.
pub struct Workspace {
    nodes: [Node; NODES],
    a: [i16; M * M],
    b: [i16; M * M],
    c: [i32; M * M],
    text: [u8; TEXT_LEN],
}

impl Workspace {
    /// Zeroed arrays; `const`, so the wasm build can place them in a static.
    pub const fn new() -> Self {
        Workspace {
            nodes: [Node { next: 0, value: 0 }; NODES],
            a: [0; M * M],
            b: [0; M * M],
            c: [0; M * M],
            text: [0; TEXT_LEN],
        }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` rounds of the three parts on inputs regenerated from one seed per round; their
/// results chain through a CRC-16 that is the checksum.
pub fn run(ws: &mut Workspace, n: i32) -> i32 {
    let mut crc = 0u16;
    for round in 0..n.max(0) as u32 {
        let mut rng = crate::lcg::Lcg::new(0xc04e ^ round.wrapping_mul(0x0001_0001));
        crc = crc16_u32(crc, list_part(ws, &mut rng));
        crc = crc16_u32(crc, matrix_part(ws, &mut rng));
        crc = crc16_u32(crc, state_part(ws, &mut rng));
    }
    crc as i32
}

/// Links the nodes in a shuffled order, then walks, searches, reverses and walks again.
fn list_part(ws: &mut Workspace, rng: &mut crate::lcg::Lcg) -> u32 {
    // A random permutation (Fisher-Yates) gives the link order.
    let mut order = [0u16; NODES];
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i as u16;
    }
    for i in (1..NODES).rev() {
        order.swap(i, rng.below(i as u32 + 1) as usize);
    }
    for (pos, &index) in order.iter().enumerate() {
        let next = order.get(pos + 1).copied().unwrap_or(NIL);
        ws.nodes[index as usize] = Node { next, value: rng.next_u32() as i16 };
    }
    let mut head = order[0];
    let mut acc = walk(&ws.nodes, head);
    // Count the nodes whose value is a multiple of 5.
    let mut cursor = head;
    while cursor != NIL {
        let node = ws.nodes[cursor as usize];
        if node.value % 5 == 0 {
            acc = acc.wrapping_add(1);
        }
        cursor = node.next;
    }
    // Reverse in place.
    let mut previous = NIL;
    while head != NIL {
        let next = ws.nodes[head as usize].next;
        ws.nodes[head as usize].next = previous;
        previous = head;
        head = next;
    }
    acc.rotate_left(11) ^ walk(&ws.nodes, previous)
}

/// An order-dependent hash of the list's values.
fn walk(nodes: &[Node; NODES], mut cursor: u16) -> u32 {
    let mut acc = 0u32;
    while cursor != NIL {
        let node = nodes[cursor as usize];
        acc = acc.wrapping_mul(33) ^ (node.value as u16 as u32);
        cursor = node.next;
    }
    acc
}

/// Fills two small matrices, multiplies them into 32-bit products, then folds in a
/// masked and thresholded pass over the result.
fn matrix_part(ws: &mut Workspace, rng: &mut crate::lcg::Lcg) -> u32 {
    for x in ws.a.iter_mut().chain(ws.b.iter_mut()) {
        *x = (rng.next_u32() >> 20) as i16 - 2048;
    }
    for i in 0..M {
        for j in 0..M {
            let mut sum = 0i32;
            for k in 0..M {
                sum = sum.wrapping_add(ws.a[i * M + k] as i32 * ws.b[k * M + j] as i32);
            }
            ws.c[i * M + j] = sum;
        }
    }
    let mut acc = 0u32;
    for &v in ws.c.iter() {
        let bits = ((v >> 2) & 0x0f0f) as u32;
        acc = if v > 0 { acc.wrapping_add(bits) } else { acc.wrapping_sub(bits) ^ 1 };
    }
    acc
}

/// What the state machine has seen so far in one comma-separated token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Sign,
    Integer,
    Point,
    Fraction,
    Exponent,
    ExponentSign,
    Scientific,
    Invalid,
}

/// Generates text of numbers-or-not separated by commas and classifies each token,
/// counting final states and transitions.
fn state_part(ws: &mut Workspace, rng: &mut crate::lcg::Lcg) -> u32 {
    const ALPHABET: &[u8; 16] = b"0123456789.,e-+x";
    for byte in ws.text.iter_mut() {
        *byte = ALPHABET[rng.below(16) as usize];
    }
    let mut finals = [0u32; 9];
    let mut transitions = 0u32;
    let mut state = State::Start;
    for &byte in ws.text.iter() {
        if byte == b',' {
            finals[state as usize] += 1;
            state = State::Start;
            continue;
        }
        let next = step(state, byte);
        if next != state {
            transitions += 1;
        }
        state = next;
    }
    finals[state as usize] += 1;
    finals.iter().enumerate().fold(transitions, |acc, (i, &count)| acc ^ (count << (i * 3)))
}

fn step(state: State, byte: u8) -> State {
    use State::*;
    let digit = byte.is_ascii_digit();
    match state {
        Start if digit => Integer,
        Start if byte == b'-' || byte == b'+' => Sign,
        Start if byte == b'.' => Point,
        Sign if digit => Integer,
        Sign if byte == b'.' => Point,
        Integer if digit => Integer,
        Integer if byte == b'.' => Fraction,
        Integer if byte == b'e' => Exponent,
        Point if digit => Fraction,
        Fraction if digit => Fraction,
        Fraction if byte == b'e' => Exponent,
        Exponent if digit => Scientific,
        Exponent if byte == b'-' || byte == b'+' => ExponentSign,
        ExponentSign if digit => Scientific,
        Scientific if digit => Scientific,
        _ => Invalid,
    }
}

/// CRC-16/CCITT (reflected 0x8408) of a word's four bytes, little-endian.
fn crc16_u32(mut crc: u16, word: u32) -> u16 {
    for byte in word.to_le_bytes() {
        crc ^= byte as u16;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::State::*;

    fn classify(token: &[u8]) -> super::State {
        token.iter().fold(Start, |s, &b| super::step(s, b))
    }

    #[test]
    fn recognises_numbers() {
        assert!(classify(b"-12") == Integer);
        assert!(classify(b"3.25") == Fraction);
        assert!(classify(b"1e-7") == Scientific);
        assert!(classify(b"1.5e3") == Scientific);
        assert!(classify(b"1x") == Invalid);
        assert!(classify(b"e5") == Invalid);
    }
}
