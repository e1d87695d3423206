//! RTT as a byte stream for the host link: a tokio task moves bytes between one end of an
//! in-process duplex pipe and the target's rings, so the CRC-framed postcard-rpc wire runs
//! over RTT exactly as it runs over a UART socket.
//!
//! Target memory is blocking (probe-rs, the gdbstub client), so each exchange runs on tokio's
//! blocking pool. The task waits for host bytes for a while when the last exchange moved
//! nothing, backing off from `min_idle` to `max_idle`, and polls again at once while bytes
//! flow. It ends when the host drops its end (dropping the target memory, which detaches) or
//! when the target goes away (closing the pipe, which the host link sees as end of stream),
//! or when its owner stops it to get the target memory back (to reset a board, say).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::debug;

use crate::memory::TargetMemory;
use crate::rtt::{RttChannels, RttError};

/// Polling of an idle link.
#[derive(Debug, Clone, Copy)]
pub struct PollOptions {
    /// The first wait after an exchange that moved nothing.
    pub min_idle: Duration,
    /// The longest wait: the worst added latency of a reply.
    pub max_idle: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self { min_idle: Duration::from_micros(200), max_idle: Duration::from_millis(5) }
    }
}

/// Host bytes held back while the down ring is full, at most.
const PENDING_LIMIT: usize = 16 * 1024;

/// A running RTT stream: the task moving bytes, and the way to stop it.
pub struct RttStream<M> {
    task: JoinHandle<(M, Result<(), RttError>)>,
    stop: oneshot::Sender<()>,
}

impl<M: TargetMemory + 'static> RttStream<M> {
    /// Starts moving bytes between RTT channel 0 and a new pipe on `rt`; returns the host's
    /// end of the pipe and the running stream.
    pub fn spawn(
        rt: &Handle,
        mem: M,
        channels: RttChannels,
        poll: PollOptions,
    ) -> (DuplexStream, Self) {
        let (host, ours) = tokio::io::duplex(64 * 1024);
        let (stop, stopped) = oneshot::channel();
        let task = rt.spawn(pump(mem, channels, ours, poll, stopped));
        (host, Self { task, stop })
    }

    /// Stops the stream (within one poll) and hands back the target memory, with the
    /// reason the stream had stopped by itself if it had (the target went away).
    pub async fn stop(self) -> Result<(M, Result<(), RttError>), RttError> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| RttError::Corrupt(format!("the RTT task failed: {e}")))
    }
}

async fn pump<M: TargetMemory + 'static>(
    mut mem: M,
    channels: RttChannels,
    mut io: DuplexStream,
    poll: PollOptions,
    mut stopped: oneshot::Receiver<()>,
) -> (M, Result<(), RttError>) {
    let mut down = VecDeque::new();
    let mut buf = vec![0u8; 4096];
    let mut idle = Duration::ZERO;
    loop {
        // Stop when asked (or when the stream's owner is gone).
        if !matches!(stopped.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
            return (mem, Ok(()));
        }
        if down.len() < PENDING_LIMIT {
            match tokio::time::timeout(idle, io.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    debug!("RTT: the host closed the link");
                    return (mem, Ok(()));
                }
                Ok(Ok(n)) => down.extend(&buf[..n]),
                Err(_) => {}
            }
        }
        let exchanged = tokio::task::spawn_blocking(move || {
            let mut up = Vec::new();
            let moved = channels.exchange(&mut mem, &mut down, &mut up);
            (mem, down, up, moved)
        })
        .await;
        let (m, d, up, moved) = match exchanged {
            Ok(done) => done,
            // The memory went down with the panicking exchange: nothing to hand back.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        (mem, down) = (m, d);
        let moved = match moved {
            Ok(moved) => moved,
            Err(e) => {
                debug!("RTT: {e}");
                return (mem, Err(e));
            }
        };
        if !up.is_empty() && io.write_all(&up).await.is_err() {
            return (mem, Ok(()));
        }
        idle =
            if moved > 0 { Duration::ZERO } else { (idle * 2).clamp(poll.min_idle, poll.max_idle) };
    }
}
