//! A JSON parser, a pretty-printer (2-space indentation) and a compact serializer over one flat
//! tree: nodes in preorder (null, false, true, i64 integers, numbers with a fraction or an
//! exponent kept as their source text, strings, object keys in order, and arrays and objects
//! that link to their parent and know where their subtree ends) beside a pool holding the UTF-8
//! of every string. Parsing and printing are iterative, so nesting costs no call depth;
//! documents nested deeper than 32 are rejected. Strings decode every escape (`\uXXXX` and
//! surrogate pairs to UTF-8) and must be valid UTF-8. The compact form escapes everything
//! outside ASCII as `\uXXXX`, the pretty form keeps raw UTF-8. Trees and texts are sized before
//! they are filled (texts by a measuring pass, trees from a count of separators), so none is
//! copied to grow in the 40 KiB heap.
//!
//! It builds a document of 18 generated records in code (ids, names and notes with quotes,
//! backslashes, control characters and non-ASCII text, fixed-point and exponent numbers, tag
//! arrays, nested objects, `i64::MIN` and `MAX`) and reports sizes, value counts by kind,
//! FNV-1a checksums and the pretty form of its smallest record. Checks (exit 2):
//! parse(compact(tree)) == tree and compact(parse(pretty(tree))) == compact(tree). Checks
//! (exit 3): malformed documents (truncated, bad escape, lone surrogate, bad UTF-8, trailing
//! commas, trailing data, a leading zero, too deep) give the expected error offset, and 32
//! levels of nesting still parse.
#![cfg_attr(target_family = "wasm", no_main)]
tandem_apps::main!(run, bench);

use tandem_apps::{Out, Rng, fnv1a};

// Node kinds; the order matters: `REAL..=KEY` live in the pool, `ARR` and up are containers.
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const REAL: u8 = 4;
const STR: u8 = 5;
const KEY: u8 = 6;
const ARR: u8 = 7;
const OBJ: u8 = 8;

/// The deepest nesting a document may have (the root container is depth 1).
const MAX_DEPTH: usize = 32;
/// Records in the generated document.
const RECORDS: u32 = 18;
/// Room for the generated tree (it has 473 values and 2284 pool bytes).
const TREE_NODES: usize = 480;
const TREE_POOL: usize = 2400;
/// The generator's seed.
const SEED: u32 = 0x4a53_4f4e;

/// One value: for `INT` the low and high halves, for pool kinds the byte span, for containers
/// the index of the enclosing container (`NONE` at the root) and the index just past the
/// subtree.
#[derive(Clone, Copy, PartialEq)]
struct Node {
    kind: u8,
    a: u32,
    b: u32,
}

/// No container.
const NONE: u32 = u32::MAX;

/// A document: nodes in preorder and the string pool; while building, the innermost open
/// container and how many are open.
struct Tree {
    nodes: Vec<Node>,
    pool: Vec<u8>,
    top: u32,
    depth: usize,
}

impl Tree {
    /// An empty tree with room for `nodes` values and `pool` string bytes.
    fn new(nodes: usize, pool: usize) -> Self {
        Tree {
            nodes: Vec::with_capacity(nodes),
            pool: Vec::with_capacity(pool),
            top: NONE,
            depth: 0,
        }
    }

    fn push(&mut self, kind: u8, a: u32, b: u32) {
        self.nodes.push(Node { kind, a, b });
    }

    fn open(&mut self, kind: u8) {
        let at = self.nodes.len() as u32;
        self.push(kind, self.top, 0);
        self.top = at;
        self.depth += 1;
    }

    #[inline(never)]
    fn close(&mut self) {
        let end = self.nodes.len() as u32;
        if let Some(n) = self.nodes.get_mut(self.top as usize) {
            self.top = n.a;
            n.b = end;
            self.depth -= 1;
        }
    }

    fn int(&mut self, v: i64) {
        self.push(INT, v as u32, (v >> 32) as u32);
    }

    /// Ends a pool value whose bytes were appended from `start`.
    fn span(&mut self, kind: u8, start: usize) {
        self.push(kind, start as u32, self.pool.len() as u32);
    }

    fn text(&mut self, kind: u8, s: &[u8]) {
        let start = self.pool.len();
        self.pool.extend_from_slice(s);
        self.span(kind, start);
    }

    fn bytes(&self, n: Node) -> &[u8] {
        self.pool.get(n.a as usize..n.b as usize).unwrap_or_default()
    }

    /// The index just past the subtree at `i`.
    fn end(&self, i: usize) -> usize {
        match self.nodes.get(i) {
            Some(n) if n.kind >= ARR => n.b as usize,
            _ => i + 1,
        }
    }
}

/// Whether two trees hold the same document. Both build their pool in preorder, so equal
/// documents have equal nodes and pools, byte for byte.
fn same(x: &Tree, y: &Tree) -> bool {
    x.nodes == y.nodes && x.pool == y.pool
}

/// Why a document does not parse, and the byte offset where that was found.
#[derive(Clone, Copy)]
struct Error {
    at: usize,
    msg: &'static str,
}

/// The parser's state. The first error is kept in `err` (a later one, found while unwinding,
/// is dropped); methods returning `Option` give `None` once it is set. At the end of the input
/// `peek` records "unexpected end" and gives a NUL, which no caller accepts.
struct Parser<'s> {
    src: &'s [u8],
    pos: usize,
    tree: Tree,
    err: Error,
}

impl Parser<'_> {
    fn fail<T>(&mut self, at: usize, msg: &'static str) -> Option<T> {
        if self.err.msg.is_empty() {
            self.err = Error { at, msg };
        }
        None
    }

    /// `None` if an error was recorded.
    fn ok(&self) -> Option<()> {
        if self.err.msg.is_empty() { Some(()) } else { None }
    }

    fn peek(&mut self) -> u8 {
        match self.src.get(self.pos) {
            Some(&b) => b,
            None => {
                let _ = self.fail::<()>(self.src.len(), "unexpected end");
                0
            }
        }
    }

    fn bump(&mut self) -> u8 {
        let b = self.peek();
        self.pos += 1;
        b
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Skips whitespace, then peeks.
    fn next(&mut self) -> u8 {
        self.ws();
        self.peek()
    }

    /// Consumes `want` after whitespace, or fails with `msg`.
    fn expect(&mut self, want: u8, msg: &'static str) -> Option<()> {
        if self.next() != want {
            return self.fail(self.pos, msg);
        }
        self.pos += 1;
        Some(())
    }

    /// An object key and its colon.
    fn key(&mut self) -> Option<()> {
        self.expect(b'"', "expected key")?;
        self.string(KEY)?;
        self.expect(b':', "expected ':'")
    }

    /// Four hex digits (on an error, a value over 0xffff).
    fn hex4(&mut self) -> u32 {
        let mut v = 0;
        for _ in 0..4 {
            let Some(d) = char::from(self.bump()).to_digit(16) else {
                let _ = self.fail::<()>(self.pos - 1, "bad hex digit");
                return u32::MAX;
            };
            v = v << 4 | d;
        }
        v
    }

    /// The rest of a string after its opening quote, decoded into the pool.
    fn string(&mut self, kind: u8) -> Option<()> {
        let start = self.tree.pool.len();
        loop {
            let at = self.pos;
            let b = match self.bump() {
                b'"' => break,
                0..=0x1f => return self.fail(at, "control character"),
                b'\\' => match self.bump() {
                    b @ (b'"' | b'\\' | b'/') => b,
                    b'b' => 8,
                    b'f' => 12,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => {
                        let mut cp = self.hex4();
                        if cp & 0xf800 == 0xd800 {
                            // A surrogate: it must be a high one with a low one after it.
                            let mut low = 0;
                            if cp < 0xdc00 && self.bump() == b'\\' && self.bump() == b'u' {
                                low = self.hex4();
                            }
                            if low & 0xfc00 != 0xdc00 {
                                return self.fail(at, "lone surrogate");
                            }
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                        }
                        self.ok()?;
                        utf8(&mut self.tree.pool, cp);
                        continue;
                    }
                    _ => return self.fail(at, "bad escape"),
                },
                b @ 0x80.. => {
                    // Raw UTF-8, kept only if well formed: the shortest form of a scalar value.
                    let n = b.leading_ones() as usize - 1;
                    let mut cp = u32::from(b) & (0x7f >> (n + 1));
                    let mut bad = n == 0 || n > 3;
                    for _ in 0..n.min(3) {
                        let c = self.bump();
                        bad |= c & 0xc0 != 0x80;
                        cp = cp << 6 | u32::from(c & 0x3f);
                    }
                    let len = self.tree.pool.len();
                    utf8(&mut self.tree.pool, cp);
                    if bad
                        || self.tree.pool.len() - len != n + 1
                        || cp & 0x1f_f800 == 0xd800
                        || cp > 0x10_ffff
                    {
                        return self.fail(at, "bad UTF-8");
                    }
                    continue;
                }
                b => b,
            };
            self.tree.pool.push(b);
        }
        self.tree.span(kind, start);
        Some(())
    }

    /// One or more digits: their value, `u64::MAX` when it is over 2^63 (check `ok` after).
    fn digits(&mut self) -> u64 {
        let begin = self.pos;
        let mut v = 0u64;
        while let Some(&b @ b'0'..=b'9') = self.src.get(self.pos) {
            self.pos += 1;
            v = if v >> 60 == 0 { v * 10 + u64::from(b - b'0') } else { u64::MAX };
        }
        if self.pos == begin {
            self.peek();
            let _ = self.fail::<()>(self.pos, "expected digit");
        }
        v
    }

    fn number(&mut self) -> Option<()> {
        let src = self.src;
        let start = self.pos;
        let neg = src.get(start) == Some(&b'-');
        self.pos += usize::from(neg);
        let mag = self.digits();
        if self.pos - start > 1 + usize::from(neg)
            && src.get(start + usize::from(neg)) == Some(&b'0')
        {
            return self.fail(start, "leading zero");
        }
        let mut real = false;
        if src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.digits();
            real = true;
        }
        if let Some(b'e' | b'E') = src.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = src.get(self.pos) {
                self.pos += 1;
            }
            self.digits();
            real = true;
        }
        self.ok()?;
        if real {
            self.tree.text(REAL, src.get(start..self.pos).unwrap_or_default());
        } else if mag > i64::MAX as u64 + u64::from(neg) {
            return self.fail(start, "integer out of range");
        } else {
            self.tree.int(if neg { 0i64.wrapping_sub(mag as i64) } else { mag as i64 });
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8], kind: u8) -> Option<()> {
        let start = self.pos;
        for &w in word {
            if self.bump() != w {
                return self.fail(start, "bad literal");
            }
        }
        self.tree.push(kind, 0, 0);
        Some(())
    }

    /// The whole document.
    fn document(&mut self) -> Option<()> {
        loop {
            // A value is expected here.
            match self.next() {
                open @ (b'[' | b'{') => {
                    if self.tree.depth >= MAX_DEPTH {
                        return self.fail(self.pos, "too deep");
                    }
                    self.pos += 1;
                    let obj = open == b'{';
                    self.tree.open(if obj { OBJ } else { ARR });
                    if self.next() == open + 2 {
                        self.pos += 1;
                        self.tree.close();
                    } else {
                        if obj {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.pos += 1;
                    self.string(STR)?;
                }
                c @ (b't' | b'f' | b'n') => {
                    let (word, kind): (&[u8], u8) = match c {
                        b't' => (b"true", TRUE),
                        b'f' => (b"false", FALSE),
                        _ => (b"null", NULL),
                    };
                    self.literal(word, kind)?;
                }
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return self.fail(self.pos, "expected value"),
            }
            // A value is complete: close containers until one wants another member.
            loop {
                let Some(top) = self.tree.nodes.get(self.tree.top as usize) else {
                    self.ws();
                    if self.pos < self.src.len() {
                        return self.fail(self.pos, "trailing data");
                    }
                    return Some(());
                };
                let obj = top.kind == OBJ;
                match self.next() {
                    b',' => {
                        self.pos += 1;
                        if obj {
                            self.key()?;
                        }
                        break;
                    }
                    b']' if !obj => {}
                    b'}' if obj => {}
                    _ => {
                        return self.fail(
                            self.pos,
                            if obj { "expected ',' or '}'" } else { "expected ',' or ']'" },
                        );
                    }
                }
                self.pos += 1;
                self.tree.close();
            }
        }
    }
}

/// Parses a whole document.
fn parse(src: &[u8]) -> Result<Tree, Error> {
    // Room for the tree, so its vectors never grow (a grown copy would need both at once):
    // values are at most one more than the commas, colons and brackets, and the pool holds
    // at most the bytes that are not quotes (an escaped quote is two bytes for one).
    let (mut nodes, mut pool) = (1, src.len());
    for &b in src {
        nodes += usize::from(matches!(b, b',' | b':' | b'[' | b'{'));
        pool -= usize::from(b == b'"');
    }
    let mut p = Parser { src, pos: 0, tree: Tree::new(nodes, pool), err: Error { at: 0, msg: "" } };
    match p.document() {
        Some(()) => Ok(p.tree),
        None => Err(p.err),
    }
}

/// Appends code point `cp` as UTF-8.
fn utf8(out: &mut Vec<u8>, cp: u32) {
    let n = match cp {
        0..0x80 => 0,
        0x80..0x800 => 1,
        0x800..0x10000 => 2,
        _ => 3,
    };
    let lead = if n == 0 { 0 } else { (0xff_u32 << (7 - n)) as u8 };
    out.push(lead | (cp >> (6 * n)) as u8);
    for k in (0..n).rev() {
        out.push(0x80 | (cp >> (6 * k)) as u8 & 0x3f);
    }
}

fn u_escape(out: &mut Vec<u8>, cp: u32) {
    out.extend_from_slice(b"\\u");
    for k in (0..4).rev() {
        out.push(b"0123456789abcdef"[(cp >> (4 * k) & 15) as usize]);
    }
}

fn decimal(out: &mut Vec<u8>, v: u64) {
    if v >= 10 {
        decimal(out, v / 10);
    }
    out.push(b'0' + (v % 10) as u8);
}

/// Appends `s` as a JSON string; `ascii` escapes everything outside ASCII as `\uXXXX`.
fn write_str(out: &mut Vec<u8>, s: &[u8], ascii: bool) {
    out.push(b'"');
    let mut j = 0;
    while let Some(&b) = s.get(j) {
        j += 1;
        let esc = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            8 => b'b',
            12 => b'f',
            _ => 0,
        };
        if esc != 0 {
            out.push(b'\\');
            out.push(esc);
        } else if b < 0x20 {
            u_escape(out, u32::from(b));
        } else if b < 0x80 || !ascii {
            out.push(b);
        } else {
            let n = if b >= 0xf0 {
                3
            } else if b >= 0xe0 {
                2
            } else {
                1
            };
            let mut cp = u32::from(b) & (0x7f >> (n + 1));
            for _ in 0..n {
                cp = cp << 6 | u32::from(s.get(j).copied().unwrap_or(0x80) & 0x3f);
                j += 1;
            }
            if cp >= 0x10000 {
                cp -= 0x10000;
                u_escape(out, 0xd800 + (cp >> 10));
                cp = 0xdc00 + (cp & 0x3ff);
            }
            u_escape(out, cp);
        }
    }
    out.push(b'"');
}

fn newline(out: &mut Vec<u8>, pretty: bool, depth: usize) {
    if pretty {
        out.push(b'\n');
        for _ in 0..2 * depth {
            out.push(b' ');
        }
    }
}

/// Appends the subtree at `start`: compact (ASCII only) or pretty (indented, raw UTF-8).
/// Returns the length of the text; `dry` only measures it, clearing `out` at every value.
fn write(t: &Tree, start: usize, pretty: bool, out: &mut Vec<u8>, dry: bool) -> usize {
    // The innermost open container, and how many are open.
    let (mut open, mut depth) = (NONE, 0);
    let mut i = start;
    let mut len = 0;
    'values: loop {
        if dry {
            len += out.len();
            out.clear();
        }
        let Some(&n) = t.nodes.get(i) else { break };
        i += 1;
        match n.kind {
            NULL => out.extend_from_slice(b"null"),
            FALSE => out.extend_from_slice(b"false"),
            TRUE => out.extend_from_slice(b"true"),
            INT => {
                let v = (i64::from(n.b) << 32) | i64::from(n.a);
                if v < 0 {
                    out.push(b'-');
                }
                decimal(out, v.unsigned_abs());
            }
            REAL => out.extend_from_slice(t.bytes(n)),
            STR => write_str(out, t.bytes(n), !pretty),
            KEY => {
                write_str(out, t.bytes(n), !pretty);
                out.push(b':');
                if pretty {
                    out.push(b' ');
                }
                continue;
            }
            _ => {
                let bracket = if n.kind == OBJ { b'{' } else { b'[' };
                out.push(bracket);
                if i < n.b as usize {
                    open = i as u32 - 1;
                    depth += 1;
                    newline(out, pretty, depth);
                    continue;
                }
                out.push(bracket + 2);
            }
        }
        // A value is complete: a comma, or close the containers it ends.
        loop {
            let Some(&n) = t.nodes.get(open as usize) else { break 'values };
            if i < n.b as usize {
                out.push(b',');
                newline(out, pretty, depth);
                break;
            }
            depth -= 1;
            newline(out, pretty, depth);
            out.push(if n.kind == OBJ { b'}' } else { b']' });
            open = if open as usize == start { NONE } else { n.a };
        }
    }
    len + out.len()
}

/// The text of the subtree at `start`, in a buffer of exactly its size (measured first).
fn written(t: &Tree, start: usize, pretty: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let len = write(t, start, pretty, &mut out, true);
    out = Vec::with_capacity(len);
    write(t, start, pretty, &mut out, false);
    out
}

const RATIOS: [&str; 8] = ["6.02e23", "1.5E-7", "-2.5e+3", "0.125", "1e0", "-0.0", "9.81", "3E8"];
const SYLLABLES: [&str; 10] = ["ka", "ro", "mi", "ne", "zu", "ta", "shi", "lo", "ve", "an"];
const ODD: [&str; 10] =
    ["\"q\"", "a\\b", "\n", "\t", "\u{1}", "\u{e9}", "\u{4e2d}\u{6587}", "\u{1f600}", "/", " "];
const TAGS: [&str; 8] =
    ["sensor", "gateway", "battery", "firmware", "low-power", "outdoor", "legacy", "snow\u{2603}"];

/// A value below `n` (by multiplying, not dividing), out of line: inlined, the generator is
/// a third larger.
#[inline(never)]
fn below(rng: &mut Rng, n: u32) -> u32 {
    ((u64::from(rng.next_u32()) * u64::from(n)) >> 32) as u32
}

/// A name: syllables, often with an odd piece that needs escaping.
fn name(t: &mut Tree, rng: &mut Rng, parts: u32) {
    let start = t.pool.len();
    for _ in 0..parts + below(rng, 5) {
        t.pool.extend_from_slice(SYLLABLES[below(rng, 10) as usize % 10].as_bytes());
        if below(rng, 3) == 0 {
            t.pool.extend_from_slice(ODD[below(rng, 10) as usize % 10].as_bytes());
        }
    }
    t.span(STR, start);
}

fn key(t: &mut Tree, k: &str) {
    t.text(KEY, k.as_bytes());
}

/// The document: an array of records, nested at most five deep (the array, a record, its
/// `meta`, `hist` and the entries in it).
fn generate() -> Tree {
    let mut rng = Rng::new(SEED);
    let mut t = Tree::new(TREE_NODES, TREE_POOL);
    t.open(ARR);
    for id in 0..RECORDS {
        t.open(OBJ);
        key(&mut t, "id");
        t.int(i64::from(id));
        key(&mut t, "name");
        name(&mut t, &mut rng, 3);
        key(&mut t, "active");
        t.push(FALSE + (below(&mut rng, 2) as u8), 0, 0);
        // Fixed point with two decimals, as text.
        key(&mut t, "score");
        let start = t.pool.len();
        let v = below(&mut rng, 100_000);
        decimal(&mut t.pool, u64::from(v / 100));
        t.pool.extend_from_slice(&[b'.', b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
        t.span(REAL, start);
        key(&mut t, "tags");
        t.open(ARR);
        for _ in 0..below(&mut rng, 4) {
            t.text(STR, TAGS[below(&mut rng, 8) as usize % 8].as_bytes());
        }
        t.close();
        key(&mut t, "note");
        name(&mut t, &mut rng, 12);
        key(&mut t, "owner");
        if below(&mut rng, 3) == 0 {
            t.push(NULL, 0, 0);
        } else {
            name(&mut t, &mut rng, 3);
        }
        if below(&mut rng, 4) == 0 {
            t.close();
            continue;
        }
        key(&mut t, "meta");
        t.open(OBJ);
        key(&mut t, "created");
        t.int(match id {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => (i64::from(below(&mut rng, u32::MAX)) << 20) - (1 << 50),
        });
        key(&mut t, "ratio");
        t.text(REAL, RATIOS[below(&mut rng, 8) as usize % 8].as_bytes());
        key(&mut t, "hist");
        t.open(ARR);
        for k in 0..below(&mut rng, 3) {
            t.open(OBJ);
            key(&mut t, "t");
            t.int(i64::from(k));
            key(&mut t, "v");
            t.int(-i64::from(below(&mut rng, 1000)));
            t.close();
        }
        t.close();
        t.close();
        t.close();
    }
    t.close();
    t
}

fn compact(t: &Tree) -> Vec<u8> {
    written(t, 0, false)
}

/// `[` 33 deep then `]` 33 deep: one level too many (without the outer pair, just right).
const DEEP: [u8; 2 * MAX_DEPTH + 2] = {
    let mut d = [b']'; 2 * MAX_DEPTH + 2];
    let mut i = 0;
    while i <= MAX_DEPTH {
        d[i] = b'[';
        i += 1;
    }
    d
};

/// Malformed documents and the offsets their errors must name (at most 16 bytes of each are
/// shown, so the bad UTF-8 comes after those).
const BAD: [(&[u8], usize); 10] = [
    (b"{\"a\":[1,\"\\u00", 13),
    (b"[true,-1.5e", 11),
    (b"{\"a\":\"x\\q\"}", 7),
    (b"[\"\\udc00\"]", 2),
    (b"[\"invalid UTF-8: \xe2\x98(\"]", 17),
    (b"[1,2,]", 5),
    (b"{\"a\":1,}", 7),
    (b"[0] 1", 4),
    (b"[-01]", 1),
    (&DEEP, MAX_DEPTH),
];

/// Appends `label` and `n`.
#[inline(never)]
fn field<'o>(out: &'o mut Out, label: &str, n: usize) -> &'o mut Out {
    out.str(label).u64(n as u64)
}

/// Reports a failed check; returns its exit code.
#[inline(never)]
fn failed(out: &mut Out, what: &str, code: i32) -> i32 {
    out.str("FAIL ").str(what).nl();
    code
}

fn run() -> i32 {
    let mut out = Out::new();
    let mut status = 0;
    let tree = generate();
    let text = compact(&tree);
    field(&mut out, "json: records ", RECORDS as usize);
    field(&mut out, ", values ", tree.nodes.len());
    field(&mut out, ", pool ", tree.pool.len()).nl();
    field(&mut out, "compact ", text.len()).str(" B fnv ").hex32(fnv1a(&text)).nl();
    let mut counts = [0; 9];
    for n in &tree.nodes {
        counts[n.kind as usize % 9] += 1;
    }
    out.str("null false true int real str key arr obj:");
    for count in counts {
        field(&mut out, " ", count);
    }
    out.nl();
    if !parse(&text).is_ok_and(|back| same(&back, &tree)) {
        status = failed(&mut out, "compact round trip", 2);
    }

    // The smallest record, pretty.
    let (mut small, mut least, mut i) = (1, usize::MAX, 1);
    while i + 1 < tree.nodes.len() {
        let next = tree.end(i);
        if next - i < least {
            (small, least) = (i, next - i);
        }
        i = next;
    }
    out.bytes(&written(&tree, small, true)).nl();
    for &(src, at) in &BAD {
        match parse(src) {
            Ok(_) => status = failed(&mut out, "accepted", 3),
            Err(e) => {
                out.bytes(src.get(..16).unwrap_or(src));
                field(&mut out, " -> error at ", e.at).str(": ").str(e.msg).nl();
                if e.at != at {
                    status = failed(&mut out, "offset", 3);
                }
            }
        }
    }
    if parse(&DEEP[1..2 * MAX_DEPTH + 1]).is_err() {
        status = failed(&mut out, "depth 32", 3);
    }

    // Pretty, then back: the tree is dropped first, as only the compact text is needed then.
    let pretty = written(&tree, 0, true);
    field(&mut out, "pretty ", pretty.len()).str(" B fnv ").hex32(fnv1a(&pretty)).nl();
    drop(tree);
    let again = parse(&pretty);
    drop(pretty);
    if !again.is_ok_and(|again| compact(&again) == text) {
        status = failed(&mut out, "pretty round trip", 2);
    }
    if status == 0 {
        out.str("all checks passed").nl();
    }
    status
}

/// `n` rounds of serializing (compact), parsing it back and pretty-printing.
fn bench(n: u32) -> u32 {
    let tree = generate();
    let mut sum = 0u32;
    for _ in 0..n {
        let text = compact(&tree);
        sum = sum.rotate_left(5) ^ fnv1a(&text);
        if let Ok(back) = parse(&text) {
            sum = sum.wrapping_add(back.nodes.len() as u32);
        }
        drop(text);
        sum ^= fnv1a(&written(&tree, 0, true));
    }
    sum
}
