//! The device side of the link: postcard-rpc 0.12.1's server wire over any byte UART.
//!
//! postcard-rpc's server wants async `WireTx`/`WireRx` traits but no particular executor.
//! The firmware has nothing to do while waiting for the host, so this module drives the
//! futures with a busy-poll [`block_on`] and a UART that is polled byte by byte: no executor,
//! no interrupts, no `static` task storage.
//!
//! Layout: a [`DeviceWire`] owns the UART and the transmit buffer behind `RefCell`s (the
//! server's `WireTx` works through `&self` and must be `Clone`); [`DeviceWire::split`] hands
//! out a [`DeviceTx`] and a [`DeviceRx`] that borrow it. A reply is serialised once into the
//! transmit buffer and streamed COBS-encoded straight to the UART (see [`crate::frame`]).
//! [`serve_one`] receives, decodes and dispatches one frame, so a firmware main loop can act
//! between requests (e.g. exit QEMU after the reply to a shutdown request went out).
//!
//! Lost replies: the host resends a request whose reply does not arrive, with the same
//! sequence number. Running it again would be wrong (an `invoke` has side effects), so the
//! wire keeps the last reply in its transmit buffer and answers an identical request (same
//! sequence number, same CRC) from there without dispatching it: at-most-once execution over
//! a lossy link, for the price of the buffer the reply was built in anyway.

use core::cell::{Cell, RefCell};
use core::fmt::{Arguments, Write as _};
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use postcard_rpc::Topic;
use postcard_rpc::header::{VarHeader, VarKey, VarKeyKind, VarSeq};
use postcard_rpc::server::{
    Dispatch, Sender, WireRx, WireRxErrorKind, WireSpawn, WireTx, WireTxErrorKind,
};
use postcard_rpc::standard_icd::LoggingTopic;
use serde::Serialize;

use crate::frame::{self, CRC_LEN, Deframer, FrameError};

/// The smallest UART interface the link needs: one byte out, one byte in.
///
/// Polled on purpose: it fits every board's UART (and a semihosting or RTT stand-in) and keeps
/// the wire free of interrupt plumbing. `write` may block until the byte is accepted.
pub trait ByteUart {
    /// Sends one byte, waiting while the transmitter is full.
    fn write(&mut self, byte: u8);
    /// Takes one received byte if there is one; never blocks.
    fn read(&mut self) -> Option<u8>;
    /// Waits until every written byte has left the transmitter (before a reset or exit).
    fn flush(&mut self) {}
    /// A whole frame has been written: a buffered UART (e.g. the host's simulated one)
    /// sends it now. A hardware UART has nothing to do.
    fn end_frame(&mut self) {}
}

/// Link health the firmware reports to the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCounts {
    /// Frames received intact.
    pub frames_ok: u32,
    /// Frames dropped as corrupt or too long.
    pub frames_dropped: u32,
    /// Requests received again and answered from the reply cache, not run twice.
    pub replies_replayed: u32,
}

/// A request, as the reply cache tells requests apart: a resent one is byte-identical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RequestId {
    seq: u32,
    crc: u32,
}

/// The request being dispatched and what was sent for it so far.
#[derive(Debug, Clone, Copy)]
struct Serving {
    id: RequestId,
    /// Length in the transmit buffer of the last frame sent, if it carried the request's
    /// sequence number (its reply; topic frames sent while it ran, such as a call's output,
    /// come before it).
    reply_len: Option<usize>,
}

/// The reply still in the transmit buffer, and the request it answers.
#[derive(Debug, Clone, Copy)]
struct Replay {
    id: RequestId,
    len: usize,
}

/// The UART and the transmit buffer shared by [`DeviceTx`] and [`DeviceRx`].
///
/// `TX` bounds the largest reply (header + postcard body + CRC); a larger reply is reported to
/// the host as a serialisation failure instead of being cut.
pub struct DeviceWire<U, const TX: usize> {
    uart: RefCell<U>,
    tx_buf: RefCell<[u8; TX]>,
    counts: Cell<LinkCounts>,
    serving: Cell<Option<Serving>>,
    replay: Cell<Option<Replay>>,
}

impl<U: ByteUart, const TX: usize> DeviceWire<U, TX> {
    /// Wraps `uart`; `const` so firmware can place the wire in a `static`.
    pub const fn new(uart: U) -> Self {
        Self {
            uart: RefCell::new(uart),
            tx_buf: RefCell::new([0; TX]),
            counts: Cell::new(LinkCounts { frames_ok: 0, frames_dropped: 0, replies_replayed: 0 }),
            serving: Cell::new(None),
            replay: Cell::new(None),
        }
    }

    /// The server halves: a `Clone` sender and the receiver.
    pub fn split(&self) -> (DeviceTx<'_, U, TX>, DeviceRx<'_, U, TX>) {
        (DeviceTx { wire: self }, DeviceRx { wire: self })
    }

    /// Link health since boot, for the firmware's statistics.
    pub fn counts(&self) -> LinkCounts {
        self.counts.get()
    }

    fn count(&self, f: impl FnOnce(&mut LinkCounts)) {
        let mut counts = self.counts.get();
        f(&mut counts);
        self.counts.set(counts);
    }

    /// Waits until the UART has sent everything written so far.
    pub fn flush(&self) {
        if let Ok(mut uart) = self.uart.try_borrow_mut() {
            uart.flush();
        }
    }

    /// Runs `f` with the transmit buffer, then streams `buf[..len]` as one frame. `seq` is
    /// the frame's sequence number, if it has one that may answer a request.
    fn send_with(
        &self,
        seq: Option<u32>,
        f: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> Result<(), WireTxErrorKind> {
        let mut buf = self.tx_buf.try_borrow_mut().map_err(|_| WireTxErrorKind::Other)?;
        // Whatever happens next, the buffer no longer holds the cached reply.
        self.replay.set(None);
        let room = TX.checked_sub(CRC_LEN).ok_or(WireTxErrorKind::Other)?;
        let len = f(&mut buf[..room]).ok_or(WireTxErrorKind::Other)?;
        self.write_frame(&buf[..len])?;
        if let Some(mut serving) = self.serving.get() {
            serving.reply_len = (seq == Some(serving.id.seq)).then_some(len);
            self.serving.set(Some(serving));
        }
        Ok(())
    }

    /// Sends `msg` on topic `T` to the host now: between requests, or while one is being
    /// served (a running call's output), ahead of its reply, which stays the one a resent
    /// request is answered with. `seq` is the frame's sequence number (postcard-rpc's topic
    /// frames carry one, which the host does not match against requests).
    pub fn publish<T>(&self, seq: u32, msg: &T::Message) -> Result<(), WireTxErrorKind>
    where
        T: Topic,
        T::Message: Serialize,
    {
        let hdr = VarHeader { key: VarKey::Key8(T::TOPIC_KEY), seq_no: VarSeq::Seq4(seq) };
        self.send_with(None, |buf| {
            let h = put_header(&hdr, buf)?;
            let body = postcard::to_slice(msg, &mut buf[h..]).ok()?;
            Some(h + body.len())
        })
    }

    /// Sends the cached reply to `id` again, if the transmit buffer still holds it.
    fn replay(&self, id: RequestId) -> Result<bool, WireTxErrorKind> {
        let Some(replay) = self.replay.get().filter(|r| r.id == id) else {
            return Ok(false);
        };
        let buf = self.tx_buf.try_borrow().map_err(|_| WireTxErrorKind::Other)?;
        self.write_frame(&buf[..replay.len])?;
        self.count(|c| c.replies_replayed = c.replies_replayed.wrapping_add(1));
        Ok(true)
    }

    /// Streams `payload` to the UART as one frame.
    fn write_frame(&self, payload: &[u8]) -> Result<(), WireTxErrorKind> {
        let mut uart = self.uart.try_borrow_mut().map_err(|_| WireTxErrorKind::Other)?;
        frame::encode_to(payload, |b| uart.write(b));
        uart.end_frame();
        Ok(())
    }

    /// Dispatching `id` ended: its reply can be replayed if it was the last frame sent.
    fn served(&self) {
        if let Some(Serving { id, reply_len: Some(len) }) = self.serving.take() {
            self.replay.set(Some(Replay { id, len }));
        }
    }
}

/// The server's transmit half (postcard-rpc `WireTx`); cheap to copy.
pub struct DeviceTx<'a, U, const TX: usize> {
    wire: &'a DeviceWire<U, TX>,
}

impl<U, const TX: usize> Clone for DeviceTx<'_, U, TX> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<U, const TX: usize> Copy for DeviceTx<'_, U, TX> {}

/// Writes the header, returning the number of bytes it used.
fn put_header(hdr: &VarHeader, buf: &mut [u8]) -> Option<usize> {
    hdr.write_to_slice(buf).map(|(used, _)| used.len())
}

impl<U: ByteUart, const TX: usize> WireTx for DeviceTx<'_, U, TX> {
    type Error = WireTxErrorKind;

    async fn send<T: Serialize + ?Sized>(
        &self,
        hdr: VarHeader,
        msg: &T,
    ) -> Result<(), Self::Error> {
        self.wire.send_with(Some(hdr.seq_no.into()), |buf| {
            let h = put_header(&hdr, buf)?;
            let body = postcard::to_slice(msg, &mut buf[h..]).ok()?;
            Some(h + body.len())
        })
    }

    async fn send_raw(&self, frame: &[u8]) -> Result<(), Self::Error> {
        let seq = VarHeader::take_from_slice(frame).map(|(hdr, _)| hdr.seq_no.into());
        self.wire.send_with(seq, |buf| {
            buf.get_mut(..frame.len())?.copy_from_slice(frame);
            Some(frame.len())
        })
    }

    async fn send_log_str(&self, kkind: VarKeyKind, s: &str) -> Result<(), Self::Error> {
        let hdr = log_header(kkind);
        self.wire.send_with(None, |buf| {
            let h = put_header(&hdr, buf)?;
            let body = postcard::to_slice(s, &mut buf[h..]).ok()?;
            Some(h + body.len())
        })
    }

    /// Formats into the transmit buffer (no heap); a message that does not fit is cut.
    async fn send_log_fmt<'a>(
        &self,
        kkind: VarKeyKind,
        args: Arguments<'a>,
    ) -> Result<(), Self::Error> {
        let hdr = log_header(kkind);
        self.wire.send_with(None, |buf| {
            let h = put_header(&hdr, buf)?;
            // A postcard `str` is a varint length then the bytes. Format after room for the
            // longest varint, then close the gap once the length is known.
            const VARINT_MAX: usize = 5;
            let text_at = h + VARINT_MAX;
            let mut w = SliceWriter { buf: buf.get_mut(text_at..)?, len: 0 };
            let _ = w.write_fmt(args); // cut at the buffer's end, keeping a valid prefix
            let n = w.len;
            let mut varint = [0u8; VARINT_MAX];
            let vlen = postcard::to_slice(&(n as u32), &mut varint).ok()?.len();
            // postcard encodes a `u32` as a varint, the same as a `str` length.
            buf[h..h + vlen].copy_from_slice(&varint[..vlen]);
            buf.copy_within(text_at..text_at + n, h + vlen);
            Some(h + vlen + n)
        })
    }
}

fn log_header(kkind: VarKeyKind) -> VarHeader {
    let mut key = VarKey::Key8(LoggingTopic::TOPIC_KEY);
    key.shrink_to(kkind);
    VarHeader { key, seq_no: VarSeq::Seq4(0) }
}

/// `fmt::Write` into a fixed slice that keeps whole UTF-8 characters and stops when full.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() { Err(core::fmt::Error) } else { Ok(()) }
    }
}

/// The server's receive half (postcard-rpc `WireRx`).
pub struct DeviceRx<'a, U, const TX: usize> {
    wire: &'a DeviceWire<U, TX>,
}

impl<U: ByteUart, const TX: usize> DeviceRx<'_, U, TX> {
    /// Polls the UART until a byte arrives, yielding to the executor in between.
    async fn next_byte(&mut self) -> Result<u8, WireRxErrorKind> {
        loop {
            let byte = self.wire.uart.try_borrow_mut().map_err(|_| WireRxErrorKind::Other)?.read();
            match byte {
                Some(b) => return Ok(b),
                None => YieldNow(false).await,
            }
        }
    }
}

impl<U: ByteUart, const TX: usize> WireRx for DeviceRx<'_, U, TX> {
    type Error = WireRxErrorKind;

    /// Returns the next intact frame in `buf`. A corrupt frame ends this call with `Other`
    /// and an overlong one with `ReceivedMessageTooLarge`: postcard-rpc's server (and
    /// [`serve_one`]) drop those and keep going.
    async fn receive<'a>(&mut self, buf: &'a mut [u8]) -> Result<&'a mut [u8], Self::Error> {
        let mut de = Deframer::new(buf);
        loop {
            let byte = self.next_byte().await?;
            match de.push(byte) {
                None => {}
                Some(Ok(len)) => {
                    self.wire.count(|c| c.frames_ok = c.frames_ok.wrapping_add(1));
                    return Ok(&mut de.into_inner()[..len]);
                }
                Some(Err(e)) => {
                    self.wire.count(|c| c.frames_dropped = c.frames_dropped.wrapping_add(1));
                    return Err(match e {
                        FrameError::TooLong => WireRxErrorKind::ReceivedMessageTooLarge,
                        _ => WireRxErrorKind::Other,
                    });
                }
            }
        }
    }
}

/// A future that is pending once: lets [`block_on`] (or a real executor) run other work
/// while the UART is idle.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Runs a future to completion by polling it in a loop.
///
/// Enough for a firmware whose only job is to answer the host: the wire's futures never wait
/// on anything but the UART, which they poll themselves.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// What [`serve_one`] did with the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// A request was dispatched (its handler ran and its reply, or an error reply, was sent).
    Dispatched,
    /// A request seen just before was received again (its reply was lost on the way to the
    /// host) and answered from the reply cache, without running it again.
    Replayed,
    /// A frame was dropped: corrupt (the host was sent a NACK), too long, or without a valid
    /// postcard-rpc header.
    Dropped,
}

/// A transmit failure while replying; the link is unusable until the host reconnects.
#[derive(Debug, Clone, Copy)]
pub struct ServeError(pub WireTxErrorKind);

impl core::fmt::Display for ServeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "sending a reply failed: {}", self.0)
    }
}

impl core::error::Error for ServeError {}

/// Receives one frame into `buf` and dispatches it: postcard-rpc's `Server::run` loop body,
/// one iteration at a time, so the firmware's own loop decides what happens between requests.
///
/// `buf` bounds the largest request (encoded size, see [`frame::max_frame_len`]).
pub async fn serve_one<U, const TX: usize, D>(
    rx: &mut DeviceRx<'_, U, TX>,
    sender: &Sender<D::Tx>,
    dispatch: &mut D,
    buf: &mut [u8],
) -> Result<Served, ServeError>
where
    U: ByteUart,
    D: Dispatch,
    D::Tx: WireTx<Error = WireTxErrorKind>,
{
    let wire = rx.wire;
    let frame = match rx.receive(buf).await {
        Ok(frame) => frame,
        // Damaged on the way: ask for it again. (An overlong request would only come back
        // overlong; the host's timeout reports that one.)
        Err(WireRxErrorKind::Other) => {
            wire.write_frame(frame::NACK).map_err(ServeError)?;
            return Ok(Served::Dropped);
        }
        Err(_) => return Ok(Served::Dropped),
    };
    let crc = frame::crc32(frame);
    let Some((hdr, body)) = VarHeader::take_from_slice(frame) else {
        return Ok(Served::Dropped);
    };
    let id = RequestId { seq: hdr.seq_no.into(), crc };
    if wire.replay(id).map_err(ServeError)? {
        return Ok(Served::Replayed);
    }
    wire.serving.set(Some(Serving { id, reply_len: None }));
    let handled = dispatch.handle(sender, &hdr, body).await;
    wire.served();
    match handled {
        Ok(()) => Ok(Served::Dispatched),
        // A reply too large for the transmit buffer: the handler already answered with an
        // error frame where it could; the link itself is fine.
        Err(WireTxErrorKind::Other) => Ok(Served::Dispatched),
        Err(e) => Err(ServeError(e)),
    }
}

/// A `WireSpawn` for firmware without an executor: `spawn` handlers are not supported
/// (use `blocking` or `async` handlers in `define_dispatch!`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSpawn;

/// The refusal [`no_spawn`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpawnUnsupported;

impl core::fmt::Display for SpawnUnsupported {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("this firmware has no executor: `spawn` handlers are not supported")
    }
}

impl core::error::Error for SpawnUnsupported {}

impl WireSpawn for NoSpawn {
    type Error = SpawnUnsupported;
    type Info = ();
    fn info(&self) -> &() {
        &()
    }
}

/// The `spawn_fn` for `define_dispatch!` with [`NoSpawn`]: always refuses, so a `spawn`
/// handler answers the host with postcard-rpc's `FailedToSpawn` instead of hanging.
pub fn no_spawn<F>(_spawner: &NoSpawn, _task: F) -> Result<(), SpawnUnsupported> {
    Err(SpawnUnsupported)
}

/// The names `define_dispatch!` asks for, in postcard-rpc's usual `dispatch_impl` layout:
/// `use tandem_link::device::dispatch_impl::*;` then `spawn_fn: spawn_fn`,
/// `tx_impl: WireTxImpl<'static, Uart, N>`, `spawn_impl: WireSpawnImpl`.
pub mod dispatch_impl {
    pub use super::no_spawn as spawn_fn;
    /// The transmit half used as `tx_impl`.
    pub type WireTxImpl<'a, U, const TX: usize> = super::DeviceTx<'a, U, TX>;
    /// The receive half.
    pub type WireRxImpl<'a, U, const TX: usize> = super::DeviceRx<'a, U, TX>;
    /// The spawner used as `spawn_impl`.
    pub type WireSpawnImpl = super::NoSpawn;
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::VecDeque;
    use std::vec::Vec;

    /// A loopback UART: `input` is what the host sent, `output` what the device wrote.
    #[derive(Default)]
    struct MockUart {
        input: VecDeque<u8>,
        output: Vec<u8>,
    }

    impl ByteUart for MockUart {
        fn write(&mut self, byte: u8) {
            self.output.push(byte);
        }
        fn read(&mut self) -> Option<u8> {
            self.input.pop_front()
        }
    }

    fn decode_all(wire: &[u8]) -> Vec<Vec<u8>> {
        let mut de = Deframer::new(std::vec![0u8; 4096]);
        let mut out = Vec::new();
        for &b in wire {
            if let Some(Ok(n)) = de.push(b) {
                out.push(de.buffer()[..n].to_vec());
            }
        }
        out
    }

    #[test]
    fn send_frames_header_and_body() {
        let wire: DeviceWire<MockUart, 256> = DeviceWire::new(MockUart::default());
        let (tx, _rx) = wire.split();
        let hdr = VarHeader { key: VarKey::Key8(LoggingTopic::TOPIC_KEY), seq_no: VarSeq::Seq1(7) };
        block_on(tx.send(hdr, &0xdead_beef_u32)).expect("fits");
        block_on(tx.send_log_fmt(VarKeyKind::Key8, format_args!("n={}", 42))).expect("fits");
        let out = wire.uart.borrow().output.clone();
        let frames = decode_all(&out);
        assert_eq!(frames.len(), 2);
        let (h, body) = VarHeader::take_from_slice(&frames[0]).expect("header");
        assert_eq!(h, hdr);
        assert_eq!(postcard::from_bytes::<u32>(body), Ok(0xdead_beef));
        let (_, body) = VarHeader::take_from_slice(&frames[1]).expect("header");
        assert_eq!(postcard::from_bytes::<&str>(body), Ok("n=42"));
    }

    #[test]
    fn oversized_reply_is_an_error_not_a_cut_frame() {
        let wire: DeviceWire<MockUart, 32> = DeviceWire::new(MockUart::default());
        let (tx, _rx) = wire.split();
        let hdr = VarHeader { key: VarKey::Key8(LoggingTopic::TOPIC_KEY), seq_no: VarSeq::Seq1(0) };
        let big = [7u8; 64];
        assert!(block_on(tx.send(hdr, &big[..])).is_err());
        assert!(wire.uart.borrow().output.is_empty());
    }

    #[test]
    fn receive_skips_corrupt_frames() {
        let mut input = Vec::new();
        frame::encode_to(b"first", |b| input.push(b));
        let mut bad = Vec::new();
        frame::encode_to(b"corrupt me", |b| bad.push(b));
        bad[3] ^= 0x10;
        input.extend(bad);
        frame::encode_to(b"second", |b| input.push(b));
        let wire: DeviceWire<MockUart, 64> =
            DeviceWire::new(MockUart { input: input.into(), output: Vec::new() });
        let (_tx, mut rx) = wire.split();
        let mut buf = [0u8; 64];
        assert_eq!(
            block_on(rx.receive(&mut buf)).ok().map(|f| f.to_vec()),
            Some(b"first".to_vec())
        );
        assert!(block_on(rx.receive(&mut buf)).is_err());
        assert_eq!(
            block_on(rx.receive(&mut buf)).ok().map(|f| f.to_vec()),
            Some(b"second".to_vec())
        );
        assert_eq!(
            wire.counts(),
            LinkCounts { frames_ok: 2, frames_dropped: 1, replies_replayed: 0 }
        );
    }
    /// Counts the requests it runs and answers each with that count, so a request run
    /// twice would get a different reply.
    struct Counter {
        runs: u32,
        log: Log,
    }

    /// Where the counter sends a log frame while serving a request.
    #[derive(Clone, Copy, PartialEq)]
    enum Log {
        Never,
        BeforeReply,
        AfterReply,
    }

    impl Dispatch for Counter {
        type Tx = DeviceTx<'static, MockUart, 64>;
        fn min_key_len(&self) -> VarKeyKind {
            VarKeyKind::Key8
        }
        async fn handle(
            &mut self,
            tx: &Sender<Self::Tx>,
            hdr: &VarHeader,
            _body: &[u8],
        ) -> Result<(), WireTxErrorKind> {
            self.runs += 1;
            if self.log == Log::BeforeReply {
                tx.log_str("a log frame before the reply")
                    .await
                    .map_err(|_| WireTxErrorKind::Other)?;
            }
            let key = match hdr.key {
                VarKey::Key8(key) => key,
                _ => return Err(WireTxErrorKind::Other),
            };
            tx.reply_keyed(hdr.seq_no, key, &self.runs).await?;
            if self.log == Log::AfterReply {
                tx.log_str("a log frame after the reply")
                    .await
                    .map_err(|_| WireTxErrorKind::Other)?;
            }
            Ok(())
        }
    }

    fn request(seq: u32, body: u8) -> Vec<u8> {
        let key = VarKey::Key8(postcard_rpc::Key::for_path::<u8>("test/count"));
        let hdr = VarHeader { key, seq_no: VarSeq::Seq4(seq) };
        let mut buf = [0u8; 32];
        let (used, rest) = hdr.write_to_slice(&mut buf).expect("fits");
        let h = used.len();
        rest[0] = body;
        let mut framed = Vec::new();
        frame::encode_to(&buf[..h + 1], |b| framed.push(b));
        framed
    }

    /// Serves every frame in `input`; returns what each call did, the replies' counts and
    /// the number of NACKs sent.
    fn serve_all(input: Vec<u8>, log: Log) -> (Vec<Served>, Vec<u32>, usize, u32) {
        let uart = MockUart { input: input.into(), output: Vec::new() };
        let wire: &'static DeviceWire<MockUart, 64> =
            std::boxed::Box::leak(std::boxed::Box::new(DeviceWire::new(uart)));
        let (tx, mut rx) = wire.split();
        let sender = Sender::new(tx, VarKeyKind::Key8);
        let mut counter = Counter { runs: 0, log };
        let mut buf = [0u8; 64];
        let mut served = Vec::new();
        while !wire.uart.borrow().input.is_empty() {
            served
                .push(block_on(serve_one(&mut rx, &sender, &mut counter, &mut buf)).expect("sent"));
        }
        let frames = decode_all(&wire.uart.borrow().output);
        let nacks = frames.iter().filter(|f| f.is_empty()).count();
        let replies = frames
            .iter()
            .filter_map(|f| VarHeader::take_from_slice(f))
            .filter(|(hdr, _)| hdr.key != VarKey::Key8(LoggingTopic::TOPIC_KEY))
            .map(|(_, body)| postcard::from_bytes::<u32>(body).expect("a count"))
            .collect();
        assert_eq!(wire.counts().frames_dropped as usize, nacks, "a NACK per damaged frame");
        (served, replies, nacks, wire.counts().replies_replayed)
    }

    #[test]
    fn a_repeated_request_is_answered_from_the_cache_not_run_again() {
        let mut input = request(1, 0);
        input.extend(request(1, 0)); // the host resent it: its reply was lost
        input.extend(request(2, 0));
        input.extend(request(2, 0));
        input.extend(request(2, 0));
        let (served, replies, nacks, replayed) = serve_all(input, Log::Never);
        use Served::{Dispatched, Replayed};
        assert_eq!(served, [Dispatched, Replayed, Dispatched, Replayed, Replayed]);
        assert_eq!(replies, [1, 1, 2, 2, 2], "each request ran once; its copies got its reply");
        assert_eq!((nacks, replayed), (0, 3));
    }

    #[test]
    fn only_an_identical_request_is_replayed() {
        let mut input = request(1, 0);
        input.extend(request(1, 9)); // same sequence number, another body: a new request
        input.extend(request(2, 0));
        input.extend(request(1, 0)); // an older request: its reply is no longer cached
        let (served, replies, _, replayed) = serve_all(input, Log::Never);
        assert!(served.iter().all(|s| *s == Served::Dispatched), "{served:?}");
        assert_eq!(replies, [1, 2, 3, 4]);
        assert_eq!(replayed, 0);
    }

    #[test]
    fn a_request_that_logged_before_its_reply_is_still_replayed() {
        // Topic frames (a call's output) go out ahead of the reply; the reply is still the
        // last frame in the buffer, so a copy of the request gets it without running again.
        let mut input = request(1, 0);
        input.extend(request(1, 0));
        let (served, replies, _, replayed) = serve_all(input, Log::BeforeReply);
        assert_eq!(served, [Served::Dispatched, Served::Replayed]);
        assert_eq!(replies, [1, 1]);
        assert_eq!(replayed, 1);
    }

    #[test]
    fn a_request_that_sent_a_frame_after_its_reply_is_run_again() {
        // The buffer no longer holds the reply, so a copy is served by running it again.
        let mut input = request(1, 0);
        input.extend(request(1, 0));
        let (served, replies, _, replayed) = serve_all(input, Log::AfterReply);
        assert_eq!(served, [Served::Dispatched, Served::Dispatched]);
        assert_eq!(replies, [1, 2]);
        assert_eq!(replayed, 0);
    }

    #[test]
    fn a_damaged_request_is_not_run_and_gets_a_nack() {
        let mut damaged = request(1, 0);
        damaged[2] ^= 0x40;
        let mut input = damaged;
        input.extend(request(1, 0)); // the host resends it after the NACK
        let (served, replies, nacks, _) = serve_all(input, Log::Never);
        assert_eq!(served, [Served::Dropped, Served::Dispatched]);
        assert_eq!(replies, [1], "the damaged copy never ran");
        assert_eq!(nacks, 1);
    }
}
