//! An LZSS compressor and decompressor: a 4 KiB sliding window, greedy matching through hash
//! chains over 3-byte prefixes (a head table per hash and a ring of previous positions, both
//! 16-bit), and a byte-aligned stream: a 4-byte little-endian length, then groups of eight
//! items each led by a flag byte (bit set: a 2-byte match, 12-bit offset and 4-bit length
//! 3..=18; bit clear: one literal byte).
//!
//! It compresses three generated inputs (prose from a small word list, a mix of prose, runs
//! and random bytes, and pure noise), reporting sizes, the ratio in per-mille, the match count
//! and FNV-1a checksums of input and stream. Checks: every stream decompresses to its input
//! byte for byte (exit 2 otherwise), and damaged streams (truncated, a forged match before the
//! start, a wrong length header) are rejected with a clean error (exit 3 otherwise); random
//! single-bit flips must decode without panicking, either rejected or to some output.
#![cfg_attr(target_family = "wasm", no_main)]
tandem_apps::main!(run, bench);

use tandem_apps::{Out, Rng, fnv1a};

/// Bytes a match may reach back.
const WINDOW: usize = 4096;
/// The shortest match worth a 2-byte token.
const MIN_MATCH: usize = 3;
/// The longest match a 4-bit length encodes.
const MAX_MATCH: usize = MIN_MATCH + 15;
/// Bits of the 3-byte hash (the head table has `1 << HASH_BITS` entries).
const HASH_BITS: u32 = 10;
/// Chain candidates tried per position.
const MAX_CHAIN: u32 = 8;
/// Bytes of the length header.
const HEADER: usize = 4;
/// The largest input: positions are kept as `u16` (plus one, zero meaning none).
const MAX_INPUT: usize = 0xfffe;

/// Why a stream does not decode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Error {
    /// It ends before the declared length is produced.
    Truncated,
    /// A match reaches back before the start of the output.
    BadOffset,
    /// A match runs past the declared length.
    Overrun,
    /// Bytes remain after the declared length is produced.
    Trailing,
    /// The declared length is over `MAX_INPUT`.
    TooLong,
}

impl Error {
    fn name(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadOffset => "bad offset",
            Error::Overrun => "overrun",
            Error::Trailing => "trailing bytes",
            Error::TooLong => "too long",
        }
    }
}

/// The hash of the three bytes at `input[p..]`.
#[inline(always)]
fn hash3(input: &[u8], p: usize) -> usize {
    let v = u32::from(input[p]) | u32::from(input[p + 1]) << 8 | u32::from(input[p + 2]) << 16;
    (v.wrapping_mul(0x9e37_79b1) >> (32 - HASH_BITS)) as usize
}

/// Compresses `input` (at most `MAX_INPUT` bytes); returns the stream and its match count.
fn compress(input: &[u8]) -> (Vec<u8>, u32) {
    let n = input.len();
    // The worst case: every byte a literal, plus a flag byte per eight.
    let mut stream = vec![0u8; HEADER + n + n / 8 + 1];
    // Plain slices from here on: indexing a `Vec` is a call at opt-level "z".
    let out: &mut [u8] = &mut stream;
    out[..HEADER].copy_from_slice(&(n as u32).to_le_bytes());
    let mut w = HEADER;
    // Position + 1 of the latest occurrence of each hash, and of the one before each position.
    let head: &mut [u16] = &mut vec![0u16; 1 << HASH_BITS];
    let prev: &mut [u16] = &mut vec![0u16; WINDOW];
    let (mut flag_at, mut flag_bit) = (0, 8);
    let (mut pos, mut matches) = (0, 0);
    while pos < n {
        if flag_bit == 8 {
            flag_at = w;
            w += 1;
            flag_bit = 0;
        }
        let (mut best_len, mut best_off) = (0, 0);
        if pos + MIN_MATCH <= n {
            let limit = (n - pos).min(MAX_MATCH);
            let here = &input[pos..pos + limit];
            let mut cand = usize::from(head[hash3(input, pos)]);
            let mut steps = 0;
            while cand != 0 && steps < MAX_CHAIN {
                let c = cand - 1;
                let dist = pos - c;
                if dist > WINDOW {
                    break;
                }
                // Only a candidate that also matches one byte further can beat the best.
                if input[c + best_len] == here[best_len] {
                    let there = &input[c..c + limit];
                    let mut len = 0;
                    while len < limit && there[len] == here[len] {
                        len += 1;
                    }
                    if len > best_len {
                        best_len = len;
                        best_off = dist;
                        if len == limit {
                            break;
                        }
                    }
                }
                let next = usize::from(prev[c % WINDOW]);
                if next >= cand {
                    break;
                }
                cand = next;
                steps += 1;
            }
        }
        let advance = if best_len >= MIN_MATCH {
            out[flag_at] |= 1 << flag_bit;
            let code = best_off - 1;
            out[w] = code as u8;
            out[w + 1] = ((code >> 8) << 4) as u8 | (best_len - MIN_MATCH) as u8;
            w += 2;
            matches += 1;
            best_len
        } else {
            out[w] = input[pos];
            w += 1;
            1
        };
        flag_bit += 1;
        for p in pos..(pos + advance).min(n.saturating_sub(MIN_MATCH - 1)) {
            let h = hash3(input, p);
            prev[p % WINDOW] = head[h];
            head[h] = (p + 1) as u16;
        }
        pos += advance;
    }
    stream.truncate(w);
    (stream, matches)
}

/// Decompresses a stream from `compress`, rejecting any that is not well formed.
fn decompress(stream: &[u8]) -> Result<Vec<u8>, Error> {
    let Some(&[a, b, c, d]) = stream.get(..HEADER) else { return Err(Error::Truncated) };
    let n = u32::from_le_bytes([a, b, c, d]) as usize;
    if n > MAX_INPUT {
        return Err(Error::TooLong);
    }
    let mut decoded = vec![0u8; n];
    let out: &mut [u8] = &mut decoded;
    let (mut at, mut w) = (HEADER, 0);
    let (mut flags, mut left) = (0u32, 0);
    while w < n {
        if left == 0 {
            flags = u32::from(*stream.get(at).ok_or(Error::Truncated)?);
            at += 1;
            left = 8;
        }
        if flags & 1 != 0 {
            let Some(&[lo, hi]) = stream.get(at..at + 2) else { return Err(Error::Truncated) };
            at += 2;
            let off = (usize::from(lo) | usize::from(hi >> 4) << 8) + 1;
            let len = usize::from(hi & 15) + MIN_MATCH;
            if off > w {
                return Err(Error::BadOffset);
            }
            if w + len > n {
                return Err(Error::Overrun);
            }
            // Byte by byte: a match may overlap the bytes it produces.
            for i in w..w + len {
                out[i] = out[i - off];
            }
            w += len;
        } else {
            out[w] = *stream.get(at).ok_or(Error::Truncated)?;
            at += 1;
            w += 1;
        }
        flags >>= 1;
        left -= 1;
    }
    if at != stream.len() {
        return Err(Error::Trailing);
    }
    Ok(decoded)
}

const WORDS: [&str; 32] = [
    "the", "quick", "small", "board", "reads", "a", "word", "from", "flash", "and", "every",
    "packet", "is", "sent", "to", "host", "when", "timer", "ticks", "over", "radio", "with", "low",
    "power", "sensor", "data", "stays", "in", "memory", "but", "never", "clock",
];

/// Appends sentences of random words until `buf` holds `len` bytes.
fn prose(rng: &mut Rng, buf: &mut Vec<u8>, len: usize) {
    let end = buf.len() + len;
    while buf.len() < end {
        let words = 3 + rng.below(9);
        for i in 0..words {
            let word = WORDS[rng.below(WORDS.len() as u32) as usize].as_bytes();
            let first = buf.len();
            buf.extend_from_slice(word);
            if i == 0 {
                buf[first] = buf[first].to_ascii_uppercase();
            }
            buf.push(if i + 1 == words { b'.' } else { b' ' });
        }
        buf.push(if rng.below(5) == 0 { b'\n' } else { b' ' });
    }
    buf.truncate(end);
}

/// Appends `len` random bytes.
fn noise(rng: &mut Rng, buf: &mut Vec<u8>, len: usize) {
    buf.extend((0..len).map(|_| rng.next_u32() as u8));
}

/// Input `which` of `NAMES`: prose, a mix of prose, runs and noise, or noise.
fn input(which: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x1234_5678 + which as u32);
    // Room for the last sentence `prose` writes past its length before truncating.
    let mut buf = Vec::with_capacity(4096 + 128);
    match which {
        0 => prose(&mut rng, &mut buf, 4096),
        1 => {
            prose(&mut rng, &mut buf, 1024);
            buf.resize(1536, b'=');
            buf.extend((0..1024).map(|i| b"tick-tock "[i % 10]));
            noise(&mut rng, &mut buf, 1024);
        }
        _ => noise(&mut rng, &mut buf, 1024),
    }
    buf
}

const NAMES: [&str; 3] = ["prose", "mixed", "noise"];
/// Bytes of the prose the damaged streams are made from.
const SAMPLE: usize = 1024;
/// Random single-bit flips tried.
const FLIPS: u32 = 6;

/// Decodes a damaged `stream`: `None` if it was accepted, or its error. Prints the outcome.
fn damaged(out: &mut Option<&mut Out>, what: &str, stream: &[u8]) -> Option<Error> {
    let err = decompress(stream).err();
    if let Some(o) = out.as_deref_mut() {
        o.str("  ").str(what).str(": ");
        match err {
            Some(e) => o.str("rejected (").str(e.name()).str(")").nl(),
            None => o.str("ACCEPTED").nl(),
        };
    }
    err
}

/// The whole workload, printing to `out` if given: a checksum of everything it computed, or
/// the exit code of the first failed check.
fn work(mut out: Option<&mut Out>) -> Result<u32, i32> {
    let mut sum = 0u32;
    let mut sample = Vec::new();
    for (which, name) in NAMES.iter().enumerate() {
        let data = input(which);
        let (stream, matches) = compress(&data);
        let (in_fnv, out_fnv) = (fnv1a(&data), fnv1a(&stream));
        let round_trip = decompress(&stream);
        let ok = round_trip.as_deref() == Ok(&data[..]);
        drop(round_trip);
        if let Some(o) = out.as_deref_mut() {
            o.str(name).str(": ").u64(data.len() as u64).str(" -> ").u64(stream.len() as u64);
            o.str(" bytes, ratio ").u64((stream.len() * 1000 / data.len()) as u64);
            o.str("/1000, matches ").u64(matches.into()).nl();
            o.str("  fnv in ").hex32(in_fnv).str(" out ").hex32(out_fnv);
            o.str(if ok { ", round trip ok" } else { ", ROUND TRIP FAILED" }).nl();
        }
        if !ok {
            return Err(2);
        }
        sum = sum.rotate_left(7) ^ out_fnv ^ matches;
        if which == 0 {
            sample.extend_from_slice(&data[..SAMPLE]);
        }
    }

    // The damaged streams: the start of the prose, compressed on its own.
    let sample_fnv = fnv1a(&sample);
    let (mut stream, _) = compress(&sample);
    drop(sample);
    if let Some(o) = out.as_deref_mut() {
        o.str("damaged streams (first ").u64(SAMPLE as u64).str(" bytes of prose, ");
        o.u64(stream.len() as u64).str(" compressed):").nl();
    }
    let s = &mut stream;
    let len = s.len();
    let mut rejected = 0u32;
    let mut expect = |got: Option<Error>, want: &[Error]| {
        if got.is_some_and(|e| want.contains(&e)) {
            rejected += 1;
        }
    };
    expect(damaged(&mut out, "cut to 2/3", &s[..len * 2 / 3]), &[Error::Truncated]);
    expect(damaged(&mut out, "cut to 3 bytes", &s[..3]), &[Error::Truncated]);
    expect(damaged(&mut out, "extra byte", &[&s[..], &[0]].concat()), &[Error::Trailing]);
    // The first item is a literal; flagged as a match it reaches before the start.
    s[HEADER] |= 1;
    expect(damaged(&mut out, "first item as match", s), &[Error::BadOffset]);
    s[HEADER] &= !1;
    let n = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    s[..HEADER].copy_from_slice(&(n - 1).to_le_bytes());
    expect(damaged(&mut out, "length - 1", s), &[Error::Trailing, Error::Overrun]);
    s[..HEADER].copy_from_slice(&(n + 1).to_le_bytes());
    expect(damaged(&mut out, "length + 1", s), &[Error::Truncated]);
    s[..HEADER].copy_from_slice(&(n | 1 << 31).to_le_bytes());
    expect(damaged(&mut out, "length + 2^31", s), &[Error::TooLong]);
    s[..HEADER].copy_from_slice(&n.to_le_bytes());
    if rejected != 7 {
        return Err(3);
    }

    // Random single-byte flips: each must decode without a panic, to an error or some bytes.
    let mut rng = Rng::new(0xdead_beef);
    let (mut errors, mut wrong, mut same) = (0u32, 0u32, 0u32);
    for _ in 0..FLIPS {
        let at = HEADER + rng.below((len - HEADER) as u32) as usize;
        let flip = 1 << rng.below(8);
        s[at] ^= flip;
        match decompress(s) {
            Err(e) => {
                errors += 1;
                sum = sum.wrapping_add(e as u32);
            }
            Ok(d) if fnv1a(&d) == sample_fnv => same += 1,
            Ok(d) => {
                wrong += 1;
                sum ^= fnv1a(&d);
            }
        }
        s[at] ^= flip;
    }
    if let Some(o) = out {
        o.u64(FLIPS.into()).str(" random bit flips: ").u64(errors.into()).str(" rejected, ");
        o.u64(wrong.into()).str(" decoded to other data, ").u64(same.into()).str(" unchanged").nl();
    }
    Ok(sum.rotate_left(5) ^ errors << 16 ^ wrong << 8 ^ same)
}

fn run() -> i32 {
    let mut out = Out::new();
    match work(Some(&mut out)) {
        Ok(sum) => {
            out.str("checksum ").hex32(sum).nl();
            0
        }
        Err(code) => {
            out.str("FAILED").nl();
            code
        }
    }
}

fn bench(n: u32) -> u32 {
    (0..n).fold(0, |acc, i| acc.rotate_left(3) ^ work(None).unwrap_or(i))
}
