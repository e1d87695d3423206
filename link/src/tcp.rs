//! The host side of the link over TCP: postcard-rpc 0.12.1's host `WireTx`/`WireRx`/
//! `WireSpawn` on a tokio `TcpStream`, with the CRC-checked COBS frames of [`crate::frame`].
//!
//! QEMU exposes the board's UART as a TCP server (`-serial tcp:...,server=on`); this wire is
//! what `HostClient` talks through. Owning the wire (instead of postcard-rpc's serial one)
//! gives the same framing as the device, no 1 KiB frame cap, and counters of dropped frames.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use postcard_rpc::header::VarSeqKind;
use postcard_rpc::host_client::{HostClient, WireRx, WireSpawn, WireTx};
use postcard_rpc::standard_icd::{ERROR_PATH, WireError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::frame::{self, Deframer};

/// Largest frame the host accepts, encoded. Generous: the host has memory, and a reply that
/// is cut by a smaller buffer would only show up as a timeout.
pub const MAX_FRAME: usize = 1 << 20;

/// Why the TCP wire stopped. Any of these closes the `HostClient`.
#[derive(Debug)]
pub enum TcpWireError {
    /// The peer (QEMU) closed the connection: the firmware exited or QEMU was killed.
    Closed,
    /// A socket error.
    Io(std::io::Error),
}

impl std::fmt::Display for TcpWireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => f.write_str("the link's TCP connection was closed by the peer"),
            Self::Io(e) => write!(f, "link socket error: {e}"),
        }
    }
}

impl std::error::Error for TcpWireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Closed => None,
        }
    }
}

impl From<std::io::Error> for TcpWireError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Frame counters of the host's receive side, shared with the caller for reports and tests.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Intact frames received.
    pub frames_ok: AtomicU64,
    /// Frames dropped as corrupt, truncated or too long.
    pub frames_dropped: AtomicU64,
}

/// Encodes `payload` as one wire frame (delimiter included).
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame::max_frame_len(payload.len()));
    frame::encode_to(payload, |b| out.push(b));
    out
}

/// Transmit half: one `write_all` per frame, so a frame leaves in one TCP segment (with the
/// `nodelay` set by [`client`]).
pub struct TcpWireTx {
    w: OwnedWriteHalf,
}

impl WireTx for TcpWireTx {
    type Error = TcpWireError;

    async fn send(&mut self, data: Vec<u8>) -> Result<(), Self::Error> {
        self.w.write_all(&encode_frame(&data)).await?;
        Ok(())
    }
}

/// Receive half: reads what the socket has, deframes it, queues complete frames.
pub struct TcpWireRx {
    r: OwnedReadHalf,
    de: Deframer<Box<[u8]>>,
    pending: VecDeque<Vec<u8>>,
    chunk: Box<[u8]>,
    stats: Arc<LinkStats>,
}

impl WireRx for TcpWireRx {
    type Error = TcpWireError;

    async fn receive(&mut self) -> Result<Vec<u8>, Self::Error> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(f);
            }
            let n = self.r.read(&mut self.chunk).await?;
            if n == 0 {
                return Err(TcpWireError::Closed);
            }
            for &b in &self.chunk[..n] {
                match self.de.push(b) {
                    None => {}
                    Some(Ok(len)) => {
                        self.stats.frames_ok.fetch_add(1, Ordering::Relaxed);
                        self.pending.push_back(self.de.buffer()[..len].to_vec());
                    }
                    Some(Err(_)) => {
                        self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// Spawns postcard-rpc's host workers on the current tokio runtime.
pub struct TokioSpawn;

impl WireSpawn for TokioSpawn {
    fn spawn(&mut self, fut: impl Future<Output = ()> + Send + 'static) {
        // The workers end when the client closes; nobody joins them.
        drop(tokio::spawn(fut));
    }
}

/// Splits `stream` into the framed wire halves, with their shared counters.
pub fn wire(stream: TcpStream) -> (TcpWireTx, TcpWireRx, Arc<LinkStats>) {
    let stats = Arc::new(LinkStats::default());
    let (r, w) = stream.into_split();
    let rx = TcpWireRx {
        r,
        de: Deframer::new(vec![0u8; MAX_FRAME].into_boxed_slice()),
        pending: VecDeque::new(),
        chunk: vec![0u8; 4096].into_boxed_slice(),
        stats: stats.clone(),
    };
    (TcpWireTx { w }, rx, stats)
}

/// A postcard-rpc `HostClient` over `stream`, using postcard-rpc's standard `WireError`
/// for error replies. Must be called inside a tokio runtime (it spawns the I/O workers).
///
/// Sets `TCP_NODELAY`: without it every small reply waits ~40 ms for Nagle's algorithm.
pub fn client(stream: TcpStream) -> Result<(HostClient<WireError>, Arc<LinkStats>), TcpWireError> {
    stream.set_nodelay(true)?;
    let (tx, rx, stats) = wire(stream);
    // Seq4: 32-bit sequence numbers, so long suite runs never reuse one in flight.
    let client = HostClient::new_with_wire(tx, rx, TokioSpawn, VarSeqKind::Seq4, ERROR_PATH, 64);
    Ok((client, stats))
}
