//! What a call prints: the host data the printing host functions write to, bounded so that
//! a flood costs a fixed amount of memory and is reported, never silently lost.
//!
//! Without a sink (the in-process simulator) a call's output gathers here until the request
//! handler takes it with the call's reply. With an [`OutputSink`] (a board, the linked
//! simulator) it leaves while the call runs: every [`CHUNK`] bytes, or when the program
//! switches between stdout and stderr, the gathered bytes go to the sink as a numbered chunk,
//! so the target holds at most one chunk in flight plus the last [`RETAINED_CHUNKS`] sent,
//! which the host may ask for again if the link lost one. The sink's writes wait for the
//! link (a UART's backpressure), pausing the program while its output drains.

use alloc::vec::Vec;

/// Which output a host function writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Where chunks go while a call runs: the chunk's number in the call (from 0), its stream
/// and bytes. A plain function, as host data must be `Send` and the link is a board's
/// `static` (or the linked simulator's thread-local); a chunk the link loses is the host's
/// to ask for again.
pub type OutputSink = fn(index: u32, stream: Stream, bytes: &[u8]);

/// Bytes of output sent as one chunk: a small fraction of the smallest board's transmit
/// buffer, and few enough frames for a chatty program.
pub const CHUNK: usize = 512;

/// Chunks the target keeps after sending them, for the host to ask for again.
pub const RETAINED_CHUNKS: usize = 4;

/// A call's output so far: what has not gone to the sink yet (everything, without one), how
/// many chunks have, and how many bytes were cut.
#[derive(Debug, Clone, Default)]
pub struct Printed {
    /// Standard output not yet sent as a chunk.
    pub stdout: Vec<u8>,
    /// Standard error not yet sent as a chunk.
    pub stderr: Vec<u8>,
    /// Bytes dropped because the call's limit was reached (or the heap could not hold them).
    pub dropped: u64,
    /// Chunks sent to the sink during the call, ahead of what `stdout` and `stderr` hold.
    pub chunks: u32,
    /// The most bytes a call may print; the rest is counted in `dropped`.
    limit: usize,
    /// Bytes the call printed within the limit.
    written: usize,
    sink: Option<OutputSink>,
    /// The most chunks a call may send (the host's receive queue); output beyond is dropped.
    max_chunks: u32,
    /// The last chunks sent, oldest first, by number.
    retained: Vec<(u32, Stream, Vec<u8>)>,
}

impl Printed {
    /// An empty record that keeps at most `limit` bytes per call, gathering them all.
    pub fn with_limit(limit: usize) -> Self {
        Printed { limit, ..Printed::default() }
    }

    /// The record sending its output to `sink` in chunks while a call runs, at most
    /// `max_chunks` per call (the output beyond is counted as dropped).
    pub fn streaming_to(mut self, sink: OutputSink, max_chunks: u32) -> Self {
        self.sink = Some(sink);
        self.max_chunks = max_chunks;
        self
    }

    /// Appends `bytes` to `stream`: what fits the call's limit, counting the rest as dropped.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.written);
        let (kept, cut) = bytes.split_at(bytes.len().min(room));
        self.written += kept.len();
        self.dropped += cut.len() as u64;
        let Some(sink) = self.sink else {
            self.gather(stream, kept);
            return;
        };
        let other = match stream {
            Stream::Stdout => Stream::Stderr,
            Stream::Stderr => Stream::Stdout,
        };
        self.send(sink, other);
        let mut rest = kept;
        while !rest.is_empty() {
            let room = CHUNK - self.buffer(stream).len();
            let (now, later) = rest.split_at(rest.len().min(room));
            if !self.gather(stream, now) {
                self.dropped += later.len() as u64;
                return;
            }
            rest = later;
            if self.buffer(stream).len() == CHUNK {
                self.send(sink, stream);
            }
        }
    }

    /// Appends to the gathered bytes, or counts them dropped if the heap cannot hold them.
    fn gather(&mut self, stream: Stream, bytes: &[u8]) -> bool {
        let buffer = self.buffer(stream);
        let held = buffer.try_reserve(bytes.len()).is_ok();
        if held {
            buffer.extend_from_slice(bytes);
        } else {
            self.dropped += bytes.len() as u64;
        }
        held
    }

    fn buffer(&mut self, stream: Stream) -> &mut Vec<u8> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    /// Sends what `stream` gathered as the next chunk, and keeps it for a resend.
    fn send(&mut self, sink: OutputSink, stream: Stream) {
        if self.buffer(stream).is_empty() {
            return;
        }
        let bytes = core::mem::take(self.buffer(stream));
        if self.chunks == self.max_chunks {
            self.dropped += bytes.len() as u64;
            return;
        }
        sink(self.chunks, stream, &bytes);
        if self.retained.len() == RETAINED_CHUNKS {
            self.retained.remove(0);
        }
        // Not kept if the heap cannot hold the entry: the host then reports a lost chunk.
        if self.retained.try_reserve(1).is_ok() {
            self.retained.push((self.chunks, stream, bytes));
        }
        self.chunks += 1;
    }

    /// Whether nothing was printed (or dropped).
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty() && self.dropped == 0 && self.chunks == 0
    }

    /// The call's output that was not sent (all of it, without a sink), with the count of
    /// chunks that were and of bytes cut, leaving the record ready for the next call. The
    /// chunks sent stay retained until [`Printed::begin_call`].
    pub fn take(&mut self) -> Printed {
        let fresh = Printed {
            limit: self.limit,
            sink: self.sink,
            max_chunks: self.max_chunks,
            retained: core::mem::take(&mut self.retained),
            ..Printed::default()
        };
        core::mem::replace(self, fresh)
    }

    /// A new call begins: the last call's retained chunks are no longer asked for.
    pub fn begin_call(&mut self) {
        self.retained.clear();
    }

    /// Chunk `index` of the last call, if it is still retained.
    pub fn retained(&self, index: u32) -> Option<(Stream, &[u8])> {
        self.retained.iter().find(|(i, ..)| *i == index).map(|(_, s, b)| (*s, b.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::cell::RefCell;
    use std::vec::Vec;

    use super::*;

    #[test]
    fn a_flood_keeps_the_limit_and_counts_the_rest() {
        let mut p = Printed::with_limit(8);
        p.write(Stream::Stdout, b"hello");
        p.write(Stream::Stderr, b"oops!");
        p.write(Stream::Stdout, b"more");
        assert_eq!(
            (p.stdout.as_slice(), p.stderr.as_slice(), p.dropped),
            (&b"hello"[..], &b"oop"[..], 6)
        );
        let taken = p.take();
        assert_eq!(taken.dropped, 6);
        assert!(p.is_empty());
        p.write(Stream::Stdout, b"again");
        assert_eq!(p.stdout, b"again");
    }

    std::thread_local! {
        static SENT: RefCell<Vec<(u32, Stream, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
    }

    fn record(index: u32, stream: Stream, bytes: &[u8]) {
        SENT.with(|s| s.borrow_mut().push((index, stream, bytes.to_vec())));
    }

    #[test]
    fn with_a_sink_output_leaves_in_numbered_chunks_and_the_last_ones_stay_retained() {
        let mut p = Printed::with_limit(10 * CHUNK).streaming_to(record, 100);
        p.write(Stream::Stdout, &[b'a'; CHUNK + 100]);
        p.write(Stream::Stderr, b"warn");
        p.write(Stream::Stdout, &[b'b'; 2 * CHUNK]);
        p.write(Stream::Stdout, &[b'c'; 10 * CHUNK]);
        let sent = SENT.with(|s| s.take());
        let shape: Vec<(u32, Stream, usize)> =
            sent.iter().map(|(i, s, b)| (*i, *s, b.len())).collect();
        // The stream switch sends what was gathered; full chunks leave at once.
        assert_eq!(
            shape[..4],
            [
                (0, Stream::Stdout, CHUNK),
                (1, Stream::Stdout, 100),
                (2, Stream::Stderr, 4),
                (3, Stream::Stdout, CHUNK),
            ]
        );
        let sent_bytes: usize = shape.iter().map(|&(.., n)| n).sum();
        let taken = p.take();
        assert_eq!(taken.chunks as usize, sent.len());
        assert_eq!(sent_bytes + taken.stdout.len(), 10 * CHUNK, "the limit counts both streams");
        assert_eq!(taken.dropped, (3 * CHUNK + 100 + 4) as u64, "what went over the limit");
        // The last chunks sent can be had again until the next call begins.
        let last = sent.len() as u32 - 1;
        assert_eq!(p.retained(last), Some((Stream::Stdout, &sent[last as usize].2[..])));
        assert_eq!(p.retained(last - RETAINED_CHUNKS as u32), None, "older ones are gone");
        p.begin_call();
        assert_eq!(p.retained(last), None);
    }

    #[test]
    fn chunks_past_the_most_a_call_may_send_are_dropped_and_counted() {
        let mut p = Printed::with_limit(100 * CHUNK).streaming_to(record, 3);
        for _ in 0..5 {
            p.write(Stream::Stdout, b"out");
            p.write(Stream::Stderr, b"err");
        }
        assert_eq!(SENT.with(|s| s.take()).len(), 3);
        let taken = p.take();
        assert_eq!((taken.chunks, taken.dropped, taken.stderr.len()), (3, 18, 3));
    }
}
