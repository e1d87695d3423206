//! What a session's program printed: the host data the printing host functions write to
//! and the request handler empties after each call, bounded so that a flood costs a fixed
//! amount of memory and is reported, never silently lost.

use alloc::vec::Vec;

/// Which output a host function writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Bytes printed since the handler last took them: stdout and stderr, at most `limit`
/// bytes together, and a count of the bytes that did not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Printed {
    /// What went to standard output.
    pub stdout: Vec<u8>,
    /// What went to standard error.
    pub stderr: Vec<u8>,
    /// Bytes dropped because the limit was reached (or the heap could not hold them).
    pub dropped: u64,
    limit: usize,
}

impl Printed {
    /// An empty record that keeps at most `limit` bytes until it is taken.
    pub fn with_limit(limit: usize) -> Self {
        Printed { limit, ..Printed::default() }
    }

    /// Appends `bytes` to `stream`: what fits the limit, counting the rest as dropped.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.stdout.len() + self.stderr.len());
        let kept = &bytes[..bytes.len().min(room)];
        let out = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        let stored = if out.try_reserve(kept.len()).is_ok() {
            out.extend_from_slice(kept);
            kept.len()
        } else {
            0
        };
        self.dropped += (bytes.len() - stored) as u64;
    }

    /// Whether nothing was printed (or dropped).
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty() && self.dropped == 0
    }

    /// Everything printed so far, leaving the record empty with the same limit.
    pub fn take(&mut self) -> Printed {
        core::mem::replace(self, Printed::with_limit(self.limit))
    }
}

#[cfg(test)]
mod tests {
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
}
