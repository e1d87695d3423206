//! The host side of the link: postcard-rpc 0.12.1's host `WireTx`/`WireRx`/`WireSpawn` over
//! any tokio byte stream (QEMU's serial port over TCP, a socket pair to the linked
//! simulator), with the CRC-checked COBS frames of [`crate::frame`].
//!
//! Owning the wire (instead of postcard-rpc's serial one) gives the device's framing, no
//! 1 KiB frame cap, counters, and two things a lossy link needs:
//! - **Resending.** A corrupt frame is dropped by whichever side receives it, so a request or
//!   its reply can vanish. Every request stays outstanding until a frame with its sequence
//!   number comes back. It is resent, identical, at once when a frame was lost (the device
//!   answers a damaged frame with a NACK, and the host sees the ones it drops), and
//!   otherwise after a doubling interval (a frame lost whole). The device answers a repeated
//!   request from its reply cache without running it again ([`crate::device`]), so a lost
//!   reply never runs an `invoke` twice.
//! - **Fault injection** ([`FaultPlan`]): corrupts, drops, duplicates and delays bytes in both
//!   directions at configurable rates, so tests can show that damage is detected and
//!   retried, never taken as a result.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use postcard_rpc::Topic;
use postcard_rpc::header::{VarHeader, VarKey, VarSeqKind};
use postcard_rpc::host_client::{HostClient, WireRx, WireSpawn, WireTx};
use postcard_rpc::standard_icd::{ERROR_PATH, GetAllSchemaDataTopic, LoggingTopic, WireError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use crate::frame::{self, Deframer};

/// Largest frame the host accepts, encoded. Generous: the host has memory, and a reply that
/// is cut by a smaller buffer would only show up as a timeout.
pub const MAX_FRAME: usize = 1 << 20;

/// Why the wire stopped. Any of these closes the `HostClient`.
#[derive(Debug)]
pub enum LinkError {
    /// The peer closed the connection: the firmware exited or QEMU was killed.
    Closed,
    /// A socket error.
    Io(std::io::Error),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the link was closed by the peer"),
            Self::Io(e) => write!(f, "link socket error: {e}"),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Closed => None,
        }
    }
}

impl From<std::io::Error> for LinkError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// When an unanswered request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The first resend, after this long without a reply.
    pub first: Duration,
    /// The interval doubles up to this.
    pub max: Duration,
    /// A request unanswered this long is forgotten (its caller has long timed out).
    pub give_up: Duration,
}

impl Default for Retry {
    /// First resend after 100 ms: a request's round trip to QEMU is ~1.3 ms, but a long
    /// `invoke` makes the host resend while it runs; those copies are answered from the
    /// device's reply cache, and the doubling keeps them few.
    fn default() -> Self {
        Retry {
            first: Duration::from_millis(100),
            max: Duration::from_secs(2),
            give_up: Duration::from_secs(120),
        }
    }
}

/// Damage to inflict on the bytes crossing the link, each rate per byte and per direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultPlan {
    /// A byte is replaced by a different one.
    pub corrupt: f64,
    /// A byte is lost.
    pub drop: f64,
    /// A byte arrives twice.
    pub duplicate: f64,
    /// The stream stalls before a byte, for up to [`FaultPlan::max_delay`].
    pub delay: f64,
    /// The longest stall.
    pub max_delay: Duration,
    /// Seed of the pseudo-random choices, so a failing run can be repeated.
    pub seed: u64,
}

impl FaultPlan {
    /// `rate` corrupted bytes and nothing else.
    pub fn corrupting(rate: f64) -> Self {
        FaultPlan { corrupt: rate, ..FaultPlan::default() }
    }

    /// Parses `corrupt=1e-3,drop=1e-4,dup=1e-4,delay=1e-4,max-delay-ms=20,seed=7`; any
    /// subset, in any order; a bare number is a corruption rate.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut plan = FaultPlan::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or(("corrupt", part));
            let rate = || -> Result<f64, String> {
                let r: f64 = value.parse().map_err(|_| format!("`{part}`: not a number"))?;
                if (0.0..=1.0).contains(&r) {
                    Ok(r)
                } else {
                    Err(format!("`{part}`: a rate is between 0 and 1"))
                }
            };
            let int = || -> Result<u64, String> {
                value.parse().map_err(|_| format!("`{part}`: not a whole number"))
            };
            match key {
                "corrupt" => plan.corrupt = rate()?,
                "drop" => plan.drop = rate()?,
                "dup" | "duplicate" => plan.duplicate = rate()?,
                "delay" => plan.delay = rate()?,
                "max-delay-ms" => plan.max_delay = Duration::from_millis(int()?),
                "seed" => plan.seed = int()?,
                _ => {
                    return Err(format!(
                        "unknown fault `{key}` (known: corrupt, drop, dup, delay, \
                         max-delay-ms, seed)"
                    ));
                }
            }
        }
        Ok(plan)
    }
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            corrupt: 0.0,
            drop: 0.0,
            duplicate: 0.0,
            delay: 0.0,
            max_delay: Duration::from_millis(20),
            seed: 1,
        }
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "corrupt={},drop={},dup={},delay={},max-delay-ms={},seed={}",
            self.corrupt,
            self.drop,
            self.duplicate,
            self.delay,
            self.max_delay.as_millis(),
            self.seed
        )
    }
}

/// How [`client`] sets up the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkOptions {
    /// Resending of unanswered requests.
    pub retry: Retry,
    /// Faults to inject, for tests of the link itself.
    pub faults: Option<FaultPlan>,
}

/// Counters of the host's side of the link, shared with the caller for reports and tests.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Intact frames received.
    pub frames_ok: AtomicU64,
    /// Frames dropped as corrupt, truncated or too long.
    pub frames_dropped: AtomicU64,
    /// Requests sent (first copies).
    pub requests: AtomicU64,
    /// Requests sent again because no reply had come.
    pub resent: AtomicU64,
    /// Injected: bytes replaced by another.
    pub bytes_corrupted: AtomicU64,
    /// Injected: bytes lost.
    pub bytes_dropped: AtomicU64,
    /// Injected: bytes delivered twice.
    pub bytes_duplicated: AtomicU64,
    /// Injected: stalls of the stream.
    pub stalls: AtomicU64,
    /// NACKs received: the device dropped a damaged frame of ours.
    pub nacks: AtomicU64,
}

impl LinkStats {
    /// Adds `other`'s counts to these (totals over several sessions).
    pub fn add(&self, other: &LinkStats) {
        let pairs = [
            (&self.frames_ok, &other.frames_ok),
            (&self.frames_dropped, &other.frames_dropped),
            (&self.requests, &other.requests),
            (&self.resent, &other.resent),
            (&self.bytes_corrupted, &other.bytes_corrupted),
            (&self.bytes_dropped, &other.bytes_dropped),
            (&self.bytes_duplicated, &other.bytes_duplicated),
            (&self.stalls, &other.stalls),
            (&self.nacks, &other.nacks),
        ];
        for (to, from) in pairs {
            to.fetch_add(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// A one-line account, for logs and test output.
    pub fn summary(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} requests, {} resent; frames received {} ok, {} dropped, {} NACKs; injected: {} \
             bytes corrupted, {} dropped, {} duplicated, {} stalls",
            g(&self.requests),
            g(&self.resent),
            g(&self.frames_ok),
            g(&self.frames_dropped),
            g(&self.nacks),
            g(&self.bytes_corrupted),
            g(&self.bytes_dropped),
            g(&self.bytes_duplicated),
            g(&self.stalls),
        )
    }
}

/// Encodes `payload` as one wire frame (delimiter included).
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame::max_frame_len(payload.len()));
    frame::encode_to(payload, |b| out.push(b));
    out
}

/// Applies a [`FaultPlan`] to one direction of the stream.
struct Injector {
    plan: FaultPlan,
    rng: fastrand::Rng,
    stats: Arc<LinkStats>,
}

/// Bytes to pass on, possibly after a stall.
struct Piece {
    stall: Duration,
    bytes: Vec<u8>,
}

impl Injector {
    fn new(plan: FaultPlan, direction: u64, stats: Arc<LinkStats>) -> Self {
        Injector { plan, rng: fastrand::Rng::with_seed(plan.seed ^ direction), stats }
    }

    /// `bytes` as they arrive after the damage, cut where the stream stalls.
    fn damage(&mut self, bytes: &[u8]) -> Vec<Piece> {
        let p = self.plan;
        let mut pieces =
            vec![Piece { stall: Duration::ZERO, bytes: Vec::with_capacity(bytes.len()) }];
        for &b in bytes {
            if self.rng.f64() < p.delay {
                let stall = p.max_delay.mul_f64(self.rng.f64());
                pieces.push(Piece { stall, bytes: Vec::new() });
                self.stats.stalls.fetch_add(1, Ordering::Relaxed);
            }
            let out = &mut pieces.last_mut().expect("never empty").bytes;
            let r = self.rng.f64();
            if r < p.corrupt {
                out.push(b ^ self.rng.u8(1..=255));
                self.stats.bytes_corrupted.fetch_add(1, Ordering::Relaxed);
            } else if r < p.corrupt + p.drop {
                self.stats.bytes_dropped.fetch_add(1, Ordering::Relaxed);
            } else if r < p.corrupt + p.drop + p.duplicate {
                out.extend([b, b]);
                self.stats.bytes_duplicated.fetch_add(1, Ordering::Relaxed);
            } else {
                out.push(b);
            }
        }
        pieces
    }
}

/// A request still waiting for its reply.
struct Outstanding {
    frame: Vec<u8>,
    first_sent: Instant,
    due: Instant,
    interval: Duration,
}

/// The transmit side, shared by the client's sends, the resend task and (to retire
/// answered requests) the receive side. One lock orders every write: a resend can never
/// overtake the next request.
struct TxState {
    w: Box<dyn AsyncWrite + Send + Unpin>,
    faults: Option<Injector>,
    outstanding: HashMap<u32, Outstanding>,
}

impl TxState {
    async fn write(&mut self, frame: &[u8]) -> std::io::Result<()> {
        match &mut self.faults {
            None => self.w.write_all(frame).await,
            Some(injector) => {
                for piece in injector.damage(frame) {
                    if !piece.stall.is_zero() {
                        self.w.flush().await?;
                        tokio::time::sleep(piece.stall).await;
                    }
                    self.w.write_all(&piece.bytes).await?;
                }
                Ok(())
            }
        }
    }
}

struct Shared {
    tx: Mutex<TxState>,
    stats: Arc<LinkStats>,
    retry: Retry,
    /// Wakes the resend task early: a frame was lost (ours, said a NACK, or theirs, dropped
    /// here), so whatever is unanswered goes out again now.
    lost: Notify,
}

/// Transmit half: one `write_all` per frame, so a frame leaves in one TCP segment.
pub struct HostWireTx {
    shared: Arc<Shared>,
}

impl WireTx for HostWireTx {
    type Error = LinkError;

    async fn send(&mut self, data: Vec<u8>) -> Result<(), Self::Error> {
        let frame = encode_frame(&data);
        let mut tx = self.shared.tx.lock().await;
        tx.write(&frame).await?;
        self.shared.stats.requests.fetch_add(1, Ordering::Relaxed);
        if let Some((hdr, _)) = VarHeader::take_from_slice(&data) {
            let now = Instant::now();
            let interval = self.shared.retry.first;
            let entry = Outstanding { frame, first_sent: now, due: now + interval, interval };
            tx.outstanding.insert(hdr.seq_no.into(), entry);
        }
        Ok(())
    }
}

/// Receive half: reads what the stream has, deframes it, queues complete frames, and
/// retires the requests they answer.
pub struct HostWireRx {
    r: Box<dyn AsyncRead + Send + Unpin>,
    de: Deframer<Box<[u8]>>,
    pending: VecDeque<Vec<u8>>,
    chunk: Box<[u8]>,
    faults: Option<Injector>,
    shared: Arc<Shared>,
}

impl HostWireRx {
    fn push(&mut self, bytes: &[u8]) {
        let stats = &self.shared.stats;
        for &b in bytes {
            match self.de.push(b) {
                None => {}
                Some(Ok(0)) => {
                    stats.nacks.fetch_add(1, Ordering::Relaxed);
                    self.shared.lost.notify_one();
                }
                Some(Ok(len)) => {
                    stats.frames_ok.fetch_add(1, Ordering::Relaxed);
                    self.pending.push_back(self.de.buffer()[..len].to_vec());
                }
                Some(Err(_)) => {
                    // Maybe a reply: ask again rather than wait for the timer.
                    stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
                    self.shared.lost.notify_one();
                }
            }
        }
    }
}

/// Whether a device frame is a topic message rather than a reply: topics carry sequence
/// numbers of their own, which must not retire a request.
fn is_topic(key: &VarKey) -> bool {
    [LoggingTopic::TOPIC_KEY, GetAllSchemaDataTopic::TOPIC_KEY]
        .into_iter()
        .any(|topic| VarKey::Key8(topic) == *key)
}

impl WireRx for HostWireRx {
    type Error = LinkError;

    async fn receive(&mut self) -> Result<Vec<u8>, Self::Error> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                if let Some((hdr, _)) = VarHeader::take_from_slice(&f)
                    && !is_topic(&hdr.key)
                {
                    let seq: u32 = hdr.seq_no.into();
                    self.shared.tx.lock().await.outstanding.remove(&seq);
                }
                return Ok(f);
            }
            let n = self.r.read(&mut self.chunk).await?;
            if n == 0 {
                return Err(LinkError::Closed);
            }
            let read = self.chunk[..n].to_vec();
            match self.faults.as_mut().map(|f| f.damage(&read)) {
                None => self.push(&read),
                Some(pieces) => {
                    for piece in pieces {
                        // Not `sleep(ZERO)`: that still waits for the timer's next tick.
                        if !piece.stall.is_zero() {
                            tokio::time::sleep(piece.stall).await;
                        }
                        self.push(&piece.bytes);
                    }
                }
            }
        }
    }
}

/// Resends overdue requests, and every unanswered one when a frame was lost, until the wire
/// is gone.
async fn resend_overdue(shared: Weak<Shared>, tick: Duration) {
    loop {
        let Some(shared) = shared.upgrade() else { return };
        let lost = tokio::time::timeout(tick, shared.lost.notified()).await.is_ok();
        let mut guard = shared.tx.lock().await;
        let tx = &mut *guard;
        let now = Instant::now();
        let retry = shared.retry;
        tx.outstanding.retain(|_, o| now.duration_since(o.first_sent) < retry.give_up);
        let due: Vec<u32> = tx
            .outstanding
            .iter()
            .filter(|(_, o)| lost || o.due <= now)
            .map(|(&seq, _)| seq)
            .collect();
        for seq in due {
            let Some(o) = tx.outstanding.get_mut(&seq) else { continue };
            o.interval = (o.interval * 2).min(retry.max);
            o.due = now + o.interval;
            let frame = o.frame.clone();
            if tx.write(&frame).await.is_err() {
                return; // the receive side reports the broken stream
            }
            shared.stats.resent.fetch_add(1, Ordering::Relaxed);
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

/// Splits `stream` into the framed wire halves, with their shared counters, and starts the
/// resend task. Must be called inside a tokio runtime.
pub fn wire<S>(stream: S, options: LinkOptions) -> (HostWireTx, HostWireRx, Arc<LinkStats>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let stats = Arc::new(LinkStats::default());
    let (r, w): (ReadHalf<S>, WriteHalf<S>) = tokio::io::split(stream);
    let injector = |direction| options.faults.map(|p| Injector::new(p, direction, stats.clone()));
    let shared = Arc::new(Shared {
        tx: Mutex::new(TxState {
            w: Box::new(w),
            faults: injector(0x7478),
            outstanding: HashMap::new(),
        }),
        stats: stats.clone(),
        retry: options.retry,
        lost: Notify::new(),
    });
    let tick = (options.retry.first / 4).max(Duration::from_millis(5));
    drop(tokio::spawn(resend_overdue(Arc::downgrade(&shared), tick)));
    let rx = HostWireRx {
        r: Box::new(r),
        de: Deframer::new(vec![0u8; MAX_FRAME].into_boxed_slice()),
        pending: VecDeque::new(),
        chunk: vec![0u8; 4096].into_boxed_slice(),
        faults: injector(0x7278),
        shared: shared.clone(),
    };
    (HostWireTx { shared }, rx, stats)
}

/// A postcard-rpc `HostClient` over `stream`, using postcard-rpc's standard `WireError` for
/// error replies. Must be called inside a tokio runtime (it spawns the I/O workers).
pub fn client<S>(stream: S, options: LinkOptions) -> (HostClient<WireError>, Arc<LinkStats>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, rx, stats) = wire(stream, options);
    // Seq4: 32-bit sequence numbers, so long suite runs never reuse one in flight, and the
    // device's reply cache never mistakes a new request for a resent one.
    let client = HostClient::new_with_wire(tx, rx, TokioSpawn, VarSeqKind::Seq4, ERROR_PATH, 64);
    (client, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_plans_parse_and_print_back() {
        let plan =
            FaultPlan::parse("corrupt=1e-3, drop=1e-4,dup=2e-4,delay=0.5,max-delay-ms=7,seed=9")
                .expect("valid");
        assert_eq!(plan.corrupt, 1e-3);
        assert_eq!(plan.drop, 1e-4);
        assert_eq!(plan.duplicate, 2e-4);
        assert_eq!(plan.delay, 0.5);
        assert_eq!(plan.max_delay, Duration::from_millis(7));
        assert_eq!(plan.seed, 9);
        assert_eq!(FaultPlan::parse(&plan.to_string()), Ok(plan));
        assert_eq!(FaultPlan::parse("0.01"), Ok(FaultPlan::corrupting(0.01)));
        assert_eq!(FaultPlan::parse(""), Ok(FaultPlan::default()));
    }

    #[test]
    fn bad_fault_plans_say_what_is_wrong() {
        let err = |spec| FaultPlan::parse(spec).expect_err(spec);
        assert!(err("flip=0.1").contains("unknown fault `flip`"), "{}", err("flip=0.1"));
        assert!(err("corrupt=2").contains("between 0 and 1"));
        assert!(err("drop=lots").contains("`drop=lots`: not a number"));
        assert!(err("seed=-1").contains("not a whole number"));
    }

    fn damage(plan: FaultPlan, bytes: &[u8]) -> (Vec<u8>, Arc<LinkStats>, usize) {
        let stats = Arc::new(LinkStats::default());
        let mut injector = Injector::new(plan, 0, stats.clone());
        let pieces = injector.damage(bytes);
        let stalls = pieces.iter().filter(|p| !p.stall.is_zero()).count();
        (pieces.into_iter().flat_map(|p| p.bytes).collect(), stats, stalls)
    }

    #[test]
    fn the_injector_does_what_the_plan_says_and_counts_it() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let (out, stats, _) = damage(FaultPlan::default(), &bytes);
        assert_eq!(out, bytes, "no faults, no damage");

        let (out, stats_c, _) = damage(FaultPlan::corrupting(1.0), &bytes);
        assert_eq!(out.len(), bytes.len());
        assert!(out.iter().zip(&bytes).all(|(a, b)| a != b), "every byte corrupted");
        assert_eq!(stats_c.bytes_corrupted.load(Ordering::Relaxed), 100_000);
        assert_eq!(stats.bytes_corrupted.load(Ordering::Relaxed), 0);

        let plan = FaultPlan { drop: 0.01, duplicate: 0.01, delay: 0.001, ..FaultPlan::default() };
        let (out, stats, stalls) = damage(plan, &bytes);
        let dropped = stats.bytes_dropped.load(Ordering::Relaxed) as usize;
        let duplicated = stats.bytes_duplicated.load(Ordering::Relaxed) as usize;
        assert_eq!(out.len(), bytes.len() - dropped + duplicated);
        // 1,000 expected each; the seed fixes the draw, the bounds allow any sane one.
        assert!((800..1200).contains(&dropped), "{dropped} dropped");
        assert!((800..1200).contains(&duplicated), "{duplicated} duplicated");
        assert!((50..150).contains(&stalls), "{stalls} stalls");
        assert_eq!(stats.stalls.load(Ordering::Relaxed) as usize, stalls);
    }
}
