//! A Markdown-to-HTML renderer for a useful subset of CommonMark, with its output shaped like
//! the reference renderer's: ATX headings, paragraphs, `*em*` and `**strong**`, code spans,
//! links `[text](url)`, backslash escapes, unordered and ordered lists (tight, nested by
//! indentation; a blank line ends them), fenced code blocks with a language class, block
//! quotes (nested), horizontal rules, and HTML escaping of `<`, `>`, `&` and `"` (raw HTML is
//! escaped, not passed through).
//!
//! It renders an embedded document of about 1.5 KiB that uses every feature and prints one
//! section of the HTML verbatim, the length and FNV-1a checksum of the whole HTML and the
//! counts of headings, list items and links. Checks: small renders against expected HTML
//! strings (exit 2 naming the first that differs); the document rendered section by section
//! concatenates to the whole (exit 3); the document quoted line by line renders to the same
//! HTML inside one `<blockquote>` (exit 4).
#![cfg_attr(target_family = "wasm", no_main)]
tandem_apps::main!(run, bench);

use tandem_apps::{Out, fnv1a};

/// Nesting deeper than this (emphasis in links in emphasis..., quotes in quotes) is text.
const MAX_DEPTH: u32 = 8;
/// Lists nested deeper than this continue the innermost list.
const MAX_LISTS: usize = 4;

/// What a render counted.
#[derive(Default)]
struct Counts {
    headings: u32,
    items: u32,
    links: u32,
}

/// The byte at `i`, or 0 past the end (the text holds no NULs). Reading through this instead
/// of indexing keeps the many bounds checks, and their panic sites, out of the module.
#[inline(never)]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// `s[a..b]`, with `b` clamped to the end; empty if `a` is past it.
#[inline(never)]
fn sub(s: &[u8], a: usize, b: usize) -> &[u8] {
    s.get(a..b.min(s.len())).unwrap_or(&[])
}

/// The number of `b` bytes in `s` from `i` on.
fn run_of(s: &[u8], i: usize, b: u8) -> usize {
    let mut n = 0;
    while s.get(i + n) == Some(&b) {
        n += 1;
    }
    n
}

/// `s` without trailing spaces, tabs and carriage returns.
fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// Appends `s` with `&`, `<`, `>` and `"` escaped.
fn escape(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
}

/// Appends `n` in decimal.
fn number(out: &mut Vec<u8>, n: u32) {
    if n >= 10 {
        number(out, n / 10);
    }
    out.push(b'0' + (n % 10) as u8);
}

/// Where the code span whose run of `n` backticks ends at `i` closes: the start of the next
/// run of exactly `n` backticks.
fn code_end(s: &[u8], mut i: usize, n: usize) -> Option<usize> {
    while i < s.len() {
        let run = run_of(s, i, b'`');
        if run == n {
            return Some(i);
        }
        i += run.max(1);
    }
    None
}

/// Where the emphasis opened by `w` stars just before `i` closes: the next run of exactly `w`
/// stars after a non-space, stepping over escapes, code spans and (for `*`) `**` spans.
fn closer(s: &[u8], mut i: usize, w: usize) -> Option<usize> {
    if matches!(at(s, i), 0 | b' ' | b'\n') {
        return None;
    }
    while i < s.len() {
        match at(s, i) {
            b'\\' => i += 2,
            b'`' => {
                let n = run_of(s, i, b'`');
                i = code_end(s, i + n, n).unwrap_or(i) + n;
            }
            b'*' => {
                let run = run_of(s, i, b'*');
                if run == w && !matches!(at(s, i - 1), b' ' | b'\n') {
                    return Some(i);
                }
                i += run;
                if run == 2 && w == 1 {
                    i = closer(s, i, 2).map_or(i, |e| e + 2);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Where the link text opened just before `i` closes: its matching `]`.
fn bracket_end(s: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0;
    while i < s.len() {
        match at(s, i) {
            b'\\' => i += 1,
            b'[' => depth += 1,
            b']' if depth == 0 => return Some(i),
            b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Renders the inline text `s` (code spans, emphasis, links, escapes) into `out`.
fn inline(out: &mut Vec<u8>, s: &[u8], c: &mut Counts, depth: u32) {
    let mut i = 0;
    while i < s.len() {
        let b = at(s, i);
        // Where the bytes written literally end, if nothing below matches.
        let mut next = i + 1;
        if b == b'\\' && at(s, next).is_ascii_punctuation() {
            i = next;
            next += 1;
        } else if b == b'`' {
            next = i + run_of(s, i, b'`');
            if let Some(e) = code_end(s, next, next - i) {
                let mut code = sub(s, next, e);
                if let [b' ', inner @ .., b' '] = code
                    && inner.iter().any(|&b| b != b' ')
                {
                    code = inner;
                }
                out.extend_from_slice(b"<code>");
                escape(out, code);
                out.extend_from_slice(b"</code>");
                i = e + next - i;
                continue;
            }
        } else if depth < MAX_DEPTH && b == b'*' {
            let w = run_of(s, i, b'*').min(2);
            if let Some(e) = closer(s, i + w, w) {
                let tag: &[u8] = if w == 2 { b"strong>" } else { b"em>" };
                out.push(b'<');
                out.extend_from_slice(tag);
                inline(out, sub(s, i + w, e), c, depth + 1);
                out.extend_from_slice(b"</");
                out.extend_from_slice(tag);
                i = e + w;
                continue;
            }
        } else if depth < MAX_DEPTH
            && b == b'['
            && let Some(t) = bracket_end(s, next)
            && at(s, t + 1) == b'('
        {
            let mut u = t + 2;
            while !matches!(at(s, u), b')' | b' ' | 0) {
                u += 1;
            }
            if at(s, u) == b')' {
                c.links += 1;
                out.extend_from_slice(b"<a href=\"");
                escape(out, sub(s, t + 2, u));
                out.extend_from_slice(b"\">");
                inline(out, sub(s, next, t), c, depth + 1);
                out.extend_from_slice(b"</a>");
                i = u + 1;
                continue;
            }
        }
        escape(out, sub(s, i, next));
        i = next;
    }
}

/// A list item's marker: (ordered, start number, offset of its text).
fn list_marker(line: &[u8]) -> Option<(bool, u32, usize)> {
    let mut i = run_of(line, 0, b' ');
    let (mut ordered, mut start) = (false, 0u32);
    if !matches!(at(line, i), b'-' | b'*' | b'+') {
        let digits = i;
        while at(line, i).is_ascii_digit() && i < digits + 9 {
            start = start * 10 + u32::from(at(line, i) - b'0');
            i += 1;
        }
        if i == digits || !matches!(at(line, i), b'.' | b')') {
            return None;
        }
        ordered = true;
    }
    i += 1;
    if !matches!(at(line, i), 0 | b' ') {
        return None;
    }
    Some((ordered, start, i + run_of(line, i, b' ')))
}

/// Whether `body` is a horizontal rule: three or more of one of `-*_`, spaces between.
fn is_rule(body: &[u8]) -> bool {
    let m = at(body, 0);
    let mut marks = 0;
    for &b in body {
        if b == m {
            marks += 1;
        } else if b != b' ' {
            return false;
        }
    }
    matches!(m, b'-' | b'*' | b'_') && marks >= 3
}

/// The line starting at `*pos` in `src` (without its newline); moves `pos` past it.
fn next_line<'s>(src: &'s [u8], pos: &mut usize) -> &'s [u8] {
    let rest = sub(src, *pos, usize::MAX);
    let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    *pos += len + 1;
    sub(rest, 0, len)
}

/// One render's block-level state: pending inline text and the open lists.
struct Blocks<'o> {
    out: &'o mut Vec<u8>,
    c: &'o mut Counts,
    /// Block quote nesting.
    depth: u32,
    /// Text waiting for its block to end: a paragraph's lines, or a list item's.
    text: Vec<u8>,
    para: bool,
    /// The open lists, outermost first: (ordered, indent of the marker, column of its text).
    lists: Vec<(bool, usize, usize)>,
}

impl Blocks<'_> {
    /// Ends the pending paragraph or list item text.
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        if self.para {
            self.out.extend_from_slice(b"<p>");
        }
        inline(self.out, &self.text, self.c, self.depth);
        if self.para {
            self.out.extend_from_slice(b"</p>\n");
        }
        self.text.clear();
    }

    /// Closes the innermost open list.
    fn close_list(&mut self) {
        if let Some((ordered, ..)) = self.lists.pop() {
            self.out.extend_from_slice(if ordered { b"</li>\n</ol>\n" } else { b"</li>\n</ul>\n" });
        }
    }

    /// Ends whatever block is open.
    fn end_all(&mut self) {
        self.flush();
        while !self.lists.is_empty() {
            self.close_list();
        }
    }

    /// Opens a list at `indent` whose first item's text starts at `col`.
    fn open_list(&mut self, (ordered, start, col): (bool, u32, usize), indent: usize) {
        self.out.extend_from_slice(if ordered { b"<ol" } else { b"<ul" });
        if ordered && start != 1 {
            self.out.extend_from_slice(b" start=\"");
            number(self.out, start);
            self.out.push(b'"');
        }
        self.out.extend_from_slice(b">\n<li>");
        self.lists.push((ordered, indent, col));
    }

    /// A list item line: closes, continues or nests lists around it.
    fn item(&mut self, line: &[u8], marker: (bool, u32, usize)) {
        self.flush();
        let indent = run_of(line, 0, b' ');
        while self.lists.last().is_some_and(|l| indent < l.1) {
            self.close_list();
        }
        match self.lists.last() {
            Some(&(_, _, col)) if indent >= col && self.lists.len() < MAX_LISTS => {
                self.out.push(b'\n');
                self.open_list(marker, indent);
            }
            Some(&(ordered, ..)) if ordered == marker.0 => {
                self.out.extend_from_slice(b"</li>\n<li>");
            }
            Some(_) => {
                self.close_list();
                self.open_list(marker, indent);
            }
            None => self.open_list(marker, indent),
        }
        self.c.items += 1;
        self.text.extend_from_slice(sub(line, marker.2, usize::MAX));
        self.para = false;
    }

    /// Renders the Markdown `src`.
    fn render(&mut self, src: &[u8]) {
        let mut pos = 0;
        while pos < src.len() {
            let raw = next_line(src, &mut pos);
            let line = trim_end(raw);
            let indent = run_of(line, 0, b' ');
            let body = sub(line, indent, usize::MAX);
            let first = at(body, 0);
            let hashes = run_of(body, 0, b'#');
            let fence = run_of(body, 0, first);
            if body.is_empty() {
                self.end_all();
            } else if is_rule(body) {
                self.end_all();
                self.out.extend_from_slice(b"<hr />\n");
            } else if let Some(marker) = list_marker(line) {
                self.item(line, marker);
            } else if (1..=6).contains(&hashes) && matches!(at(body, hashes), 0 | b' ') {
                self.end_all();
                let mut text = sub(body, hashes, usize::MAX);
                // A closing run of `#` goes if a space precedes it (`at` reads 0 before the start).
                let mut closing = text.len();
                while at(text, closing.wrapping_sub(1)) == b'#' {
                    closing -= 1;
                }
                if matches!(at(text, closing.wrapping_sub(1)), 0 | b' ') {
                    text = trim_end(sub(text, 0, closing));
                }
                let digit = b'0' + hashes as u8;
                self.out.extend_from_slice(&[b'<', b'h', digit, b'>']);
                inline(self.out, sub(text, run_of(text, 0, b' '), usize::MAX), self.c, self.depth);
                self.out.extend_from_slice(&[b'<', b'/', b'h', digit, b'>', b'\n']);
                self.c.headings += 1;
            } else if matches!(first, b'`' | b'~') && fence >= 3 {
                self.end_all();
                let info = sub(body, fence + run_of(body, fence, b' '), usize::MAX);
                let lang = sub(info, 0, info.iter().position(|&b| b == b' ').unwrap_or(usize::MAX));
                self.out.extend_from_slice(b"<pre><code");
                if !lang.is_empty() {
                    self.out.extend_from_slice(b" class=\"language-");
                    escape(self.out, lang);
                    self.out.push(b'"');
                }
                self.out.push(b'>');
                while pos < src.len() {
                    let raw = next_line(src, &mut pos);
                    let code = trim_end(raw);
                    let lead = run_of(code, 0, b' ');
                    let close = run_of(code, lead, first);
                    if close >= fence && lead + close == code.len() {
                        break;
                    }
                    escape(self.out, sub(raw, run_of(raw, 0, b' ').min(indent), usize::MAX));
                    self.out.push(b'\n');
                }
                self.out.extend_from_slice(b"</code></pre>\n");
            } else if first == b'>' && self.depth < MAX_DEPTH {
                self.end_all();
                // The quoted lines, each without its `>` and one space after it.
                let mut inner = Vec::new();
                let mut quoted = body;
                loop {
                    let skip = 1 + usize::from(at(quoted, 1) == b' ');
                    inner.extend_from_slice(sub(quoted, skip, usize::MAX));
                    inner.push(b'\n');
                    let before = pos;
                    let next = next_line(src, &mut pos);
                    quoted = sub(next, run_of(next, 0, b' '), usize::MAX);
                    if before >= src.len() || at(quoted, 0) != b'>' {
                        pos = before;
                        break;
                    }
                }
                self.out.extend_from_slice(b"<blockquote>\n");
                render(&inner, self.out, self.c, self.depth + 1);
                self.out.extend_from_slice(b"</blockquote>\n");
            } else {
                // Plain text: continues the paragraph or item, or starts a paragraph.
                if self.text.is_empty() {
                    self.end_all();
                    self.para = true;
                } else {
                    self.text.push(b'\n');
                }
                self.text.extend_from_slice(body);
            }
        }
        self.end_all();
    }
}

/// Renders the Markdown `src` into `out`; `depth` is the block quote nesting.
fn render(src: &[u8], out: &mut Vec<u8>, c: &mut Counts, depth: u32) {
    Blocks { out, c, depth, text: Vec::new(), para: false, lists: Vec::new() }.render(src);
}

/// Renders `src` from scratch: the HTML and what it counted.
fn to_html(src: &[u8]) -> (Vec<u8>, Counts) {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut c = Counts::default();
    render(src, &mut out, &mut c, 0);
    (out, c)
}

/// Small renders and the HTML each must give.
const CASES: [(&str, &str); 4] = [
    (
        "# Hi *there* #\na **b *c* d** `x<y` & \\*e\\* 2 * 3\n#tag ``a ` b``",
        "<h1>Hi <em>there</em></h1>\n<p>a <strong>b <em>c</em> d</strong> <code>x&lt;y</code> \
         &amp; *e* 2 * 3\n#tag <code>a ` b</code></p>\n",
    ),
    (
        "- one\n- two\n  - sub\n- three\n3. c\n4. d",
        "<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>sub</li>\n</ul>\n</li>\n<li>three</li>\n</ul>\n\
         <ol start=\"3\">\n<li>c</li>\n<li>d</li>\n</ol>\n",
    ),
    (
        "> quote\n> > deeper\n\n* * *\n```c\nif (a < b && c) \"x\";\n```",
        "<blockquote>\n<p>quote</p>\n<blockquote>\n<p>deeper</p>\n</blockquote>\n</blockquote>\n\
         <hr />\n<pre><code class=\"language-c\">if (a &lt; b &amp;&amp; c) &quot;x&quot;;\n\
         </code></pre>\n",
    ),
    (
        "[a *b*](http://x.y/?p=1&q=2) [no] *open",
        "<p><a href=\"http://x.y/?p=1&amp;q=2\">a <em>b</em></a> [no] *open</p>\n",
    ),
];

/// The document rendered by `run` and `bench`.
const DOC: &str = r#"# Tandem field notes

Tandem runs *WebAssembly* on **small boards**. The `markdown` app
renders this page to HTML & checks it.

## Getting started

1. Flash the firmware with `probe-rs`.
2. Copy a module to **flash**.
3. Call `_start`; read the *output*.

See the [board guide](https://example.com/b?name=nrf52840&rev=3) first,
and the [FAQ](faq.html) when something fails.

## Limits

- Module size: at most *32 KiB*
- Memory: one page
  - 8 KiB shadow stack
  - 40 KiB **heap** arena
- Fuel: `10_000_000` per call

## Example

```rust
fn main() {
    let x = 1 << 4;
    if x > 8 && x < 32 {
        println!("<{}>", x);
    }
}
```

## Wiring

+ `SWDIO` to *P0.18*, `SWCLK` to *P0.17*
+ **GND** to GND; the [pinout](https://example.com/pins#swd) has the rest
+ 3.3 V only: 5 V *will* damage the radio

~~~
$ tandem run app.wasm --board nrf52840-dk
1 passed
~~~

---

## Quotes

> The **interpreter** must never *allocate* after start-up.
> Its limits are known up front.
>
> > Quotes nest, and hold `code` & [links](#limits).

> - a list inside
> - a quote

## Edge cases

Unpaired stars stay text: 2 * 3 * 4, and \*escaped\* ones too.
A lone [bracket] is no link; neither is [this] (url).
Escaped: "quotes", <tags> & ampersands.

### Ordered from seven

7. seven
8. eight
   1. eight point one
   2. eight point two
9. nine

***

##### Changelog

- *0.2*: lists **nest**, as [the spec](https://spec.commonmark.org/0.31.2/#lists) says
- *0.1*: first release

#### The end ####

Written for the **Tandem** apps suite.
"#;

/// The section of the document's HTML that `run` prints.
const SHOWN: &[u8] = b"<h2>Limits";

/// The offset of `pat` in `s` at or after `from`, or the end of `s`.
fn find(s: &[u8], mut from: usize, pat: &[u8]) -> usize {
    while from < s.len() && !sub(s, from, usize::MAX).starts_with(pat) {
        from += 1;
    }
    from
}

/// Bytes of `<blockquote>\n` and `</blockquote>\n` around a quoted copy.
const QUOTE_OPEN: usize = 13;
const QUOTE_TAGS: usize = QUOTE_OPEN + 14;

/// The whole workload, printing to `out` if given: a checksum of all the HTML it rendered, or
/// the exit code of the first failed check.
#[inline(never)]
fn work(mut out: Option<&mut Out>) -> Result<u32, i32> {
    for (i, (md, want)) in CASES.iter().enumerate() {
        let (got, _) = to_html(md.as_bytes());
        if got != want.as_bytes() {
            if let Some(o) = out {
                o.str("case ").u64(i as u64).str(" differs, got:").nl().bytes(&got);
            }
            return Err(2);
        }
    }

    let doc = DOC.as_bytes();
    let (html, c) = to_html(doc);
    let sum = fnv1a(&html);
    if let Some(o) = out.as_deref_mut() {
        let start = find(&html, 0, SHOWN);
        o.bytes(sub(&html, start, find(&html, start + 1, b"<h2>")));
        o.str("markdown ").u64(doc.len() as u64).str(" bytes -> html ").u64(html.len() as u64);
        o.str(" bytes, fnv ").hex32(sum).nl().str("headings ").u64(c.headings.into());
        o.str(", list items ").u64(c.items.into()).str(", links ").u64(c.links.into()).nl();
    }

    // Section by section (each starting at a heading line), the renders must concatenate to
    // the whole: no block state leaks across a heading.
    let mut pieces = Vec::with_capacity(html.len());
    let (mut from, mut sections) = (0, 0);
    while from < doc.len() {
        let to = (find(doc, from + 1, b"\n#") + 1).min(doc.len());
        pieces.extend_from_slice(&to_html(sub(doc, from, to)).0);
        from = to;
        sections += 1;
    }
    let split_ok = pieces == html;
    drop(pieces);

    // Quoted line by line, the document must render to the same HTML in one block quote.
    let mut quoted = Vec::with_capacity(doc.len() * 9 / 8);
    from = 0;
    while from < doc.len() {
        quoted.extend_from_slice(b"> ");
        quoted.extend_from_slice(next_line(doc, &mut from));
        quoted.push(b'\n');
    }
    let (q, _) = to_html(&quoted);
    drop(quoted);
    let quote_ok =
        q.len() == html.len() + QUOTE_TAGS && sub(&q, QUOTE_OPEN, usize::MAX).starts_with(&html);

    if let Some(o) = out {
        o.u64(CASES.len() as u64).str(" cases ok; ").u64(sections).str(" sections ");
        o.str(if split_ok { "concatenate" } else { "DIFFER" }).str(", quoted copy ");
        o.str(if quote_ok { "matches" } else { "DIFFERS" }).nl();
    }
    match (split_ok, quote_ok) {
        (false, _) => Err(3),
        (_, false) => Err(4),
        _ => Ok(sum ^ fnv1a(&q).rotate_left(11) ^ c.items << 16 ^ c.links << 8 ^ c.headings),
    }
}

fn run() -> i32 {
    let mut out = Out::new();
    match work(Some(&mut out)) {
        Ok(_) => 0,
        Err(code) => {
            out.str("FAILED").nl();
            code
        }
    }
}

fn bench(n: u32) -> u32 {
    (0..n).fold(0, |acc, i| acc.rotate_left(3) ^ work(None).unwrap_or(i))
}
