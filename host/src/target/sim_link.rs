//! The linked simulator: the simulator behind the real link. `tandem-server` (the firmware's
//! own request table) runs in a thread and answers over one end of a socket pair, through
//! the device wire's CRC-framed COBS frames and reply cache; the host drives the other end
//! with the same client as a board.
//!
//! Slower than the in-process [`SimTarget`] (every request is framed twice), it exists
//! to test the link itself: fault injection between host and simulator, resending, reply
//! replay, and recovery after a crash, with nothing else in the way. A deliberate fault
//! panics the thread, which the host sees as a board that stopped answering.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_boards::BoardProfile;
use tandem_handler::RequestHandler;
use tandem_link::ByteUart;
use tandem_protocol::{FaultKind, TargetStats};
use tandem_server::{Context, Ending, NoSpawn, Platform};
use tokio::runtime::Runtime;
use tracing::warn;

use crate::target::TargetError;
use crate::target::remote::{ByteStream, Peer, RemoteOptions, RemoteTarget};
use crate::target::sim::{SimTarget, Watchdog};

/// The simulator's end of the socket pair as a byte UART: reads wait briefly for data (the
/// serve loop has nothing else to do), writes are buffered and sent a frame at a time.
pub struct SocketUart {
    stream: UnixStream,
    rx: Vec<u8>,
    rx_at: usize,
    tx: Vec<u8>,
    /// Set when the host's end is gone: the serve loop stops.
    closed: Arc<AtomicBool>,
}

impl SocketUart {
    fn send(&mut self) {
        if !self.tx.is_empty() && self.stream.write_all(&self.tx).is_err() {
            self.closed.store(true, Ordering::Release);
        }
        self.tx.clear();
    }
}

impl ByteUart for SocketUart {
    fn write(&mut self, byte: u8) {
        self.tx.push(byte);
    }

    fn read(&mut self) -> Option<u8> {
        if self.rx_at == self.rx.len() {
            self.rx.resize(4096, 0);
            self.rx_at = 0;
            match self.stream.read(&mut self.rx) {
                Ok(0) => {
                    self.closed.store(true, Ordering::Release);
                    self.rx.clear();
                }
                Ok(n) => self.rx.truncate(n),
                Err(e) => {
                    if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                        self.closed.store(true, Ordering::Release);
                    }
                    self.rx.clear();
                }
            }
        }
        let byte = self.rx.get(self.rx_at).copied();
        self.rx_at += usize::from(byte.is_some());
        byte
    }

    fn flush(&mut self) {
        self.send();
    }

    fn end_frame(&mut self) {
        self.send();
    }
}

/// The simulator's end of the link: the board's wire over the socket.
pub type Wire = tandem_server::Wire<SocketUart>;

tandem_server::server!(app: SimApp; uart: SocketUart; platform: HostPlatform;);

/// The simulator's board glue: the host's clock (microseconds) and the link counters. Heap
/// and stack figures are a board's; the simulator leaves them out.
pub struct HostPlatform {
    wire: &'static Wire,
    epoch: Instant,
    /// Raises the handler's interrupt flag when a call's deadline passes.
    watchdog: Watchdog,
}

impl Platform for HostPlatform {
    fn ticks(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn tick_hz(&self) -> u32 {
        1_000_000
    }

    fn measure(&self, t: &mut TargetStats) {
        let link = self.wire.counts();
        t.frames_ok = Some(link.frames_ok);
        t.frames_dropped = Some(link.frames_dropped);
        t.frames_replayed = Some(link.replies_replayed);
    }

    fn restart_measurements(&mut self) {}

    fn arm_deadline(&mut self, ticks: u64) {
        self.watchdog.arm(Duration::from_micros(ticks));
    }

    fn disarm_deadline(&mut self) {
        self.watchdog.disarm();
    }

    /// Dies like a board: the thread panics, the host sees the link go quiet.
    fn fault(&mut self, kind: FaultKind) {
        match kind {
            FaultKind::Panic => panic!("deliberate panic requested by the host"),
            FaultKind::HardFault => panic!("deliberate fault requested by the host (HardFault)"),
        }
    }
}

std::thread_local! {
    /// The wire of the simulator thread this is: what [`send_output`] writes to.
    static WIRE: std::cell::Cell<Option<&'static Wire>> = const { std::cell::Cell::new(None) };
}

/// The handler's output sink: chunks go out on this thread's wire, as on a board.
fn send_output(index: u32, stream: tandem_handler::Stream, bytes: &[u8]) {
    if let Some(wire) = WIRE.get() {
        tandem_server::publish_output(wire, index, stream, bytes);
    }
}

/// Serves requests until the host asks to exit (`Some(success)`) or its end is gone (`None`).
fn serve(stream: UnixStream, handler: RequestHandler, watchdog: Watchdog) -> Option<bool> {
    // The leaked wire below keeps a clone of the socket open; this closes it for the host
    // however the thread ends, a panic included, as a board's link goes quiet when it dies.
    let stream = ShutdownOnDrop(stream);
    let stream = &stream.0;
    let closed = Arc::new(AtomicBool::new(false));
    // Waiting at most this long for a byte keeps an abandoned thread from lingering.
    stream.set_read_timeout(Some(Duration::from_millis(20))).ok()?;
    let uart = SocketUart {
        stream: stream.try_clone().ok()?,
        rx: Vec::new(),
        rx_at: 0,
        tx: Vec::new(),
        closed: closed.clone(),
    };
    // postcard-rpc's dispatch names its wire `'static`, as on the firmware: one small leak
    // (the transmit buffer) per simulator start.
    let wire: &'static Wire = Box::leak(Box::new(Wire::new(uart)));
    WIRE.set(Some(wire));
    let handler = handler.with_output_sink(send_output);
    let platform = HostPlatform { wire, epoch: Instant::now(), watchdog };
    let mut app = SimApp::new(Context::new(handler, platform), NoSpawn);
    match tandem_server::serve(wire, &mut app, || closed.load(Ordering::Acquire)) {
        Ending::Exit { success } => Some(success),
        Ending::LinkFailed(_) | Ending::Stopped => None,
    }
}

/// Shuts a socket down (for every clone of it) when dropped.
struct ShutdownOnDrop(UnixStream);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Both);
    }
}

/// How the simulator thread ended: `Ok(Some(success))` on the host's exit request,
/// `Ok(None)` when the host's end closed, `Err` with the panic message.
type ThreadEnd = Result<Option<bool>, String>;

/// The simulator in a thread, at the other end of a socket pair.
pub struct SimPeer {
    board: BoardProfile,
    thread: Option<JoinHandle<Option<bool>>>,
    ending: Option<ThreadEnd>,
    /// The running thread's interrupt flag: raised to stop a call it is stuck in.
    stop: Option<&'static AtomicBool>,
}

impl SimPeer {
    /// A peer applying `board`'s profile, with a static buffer of the board's size.
    pub fn new(board: BoardProfile) -> Self {
        SimPeer { board, thread: None, ending: None, stop: None }
    }

    /// How the thread ended, waiting at most `wait` for it; `None` while it runs. Kept once
    /// known, so a look for last words does not hide the exit from `wait_exit`.
    fn ending(&mut self, wait: Duration) -> Option<&ThreadEnd> {
        if self.ending.is_none() {
            let deadline = Instant::now() + wait;
            let thread = self.thread.take_if(|t| {
                while !t.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                t.is_finished()
            })?;
            self.ending = Some(thread.join().map_err(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_owned());
                format!("the simulator thread panicked: {message}")
            }));
        }
        self.ending.as_ref()
    }
}

impl Peer for SimPeer {
    fn name(&self) -> &'static str {
        "sim-link"
    }

    fn start(&mut self, rt: &Runtime) -> Result<Box<dyn ByteStream>, TargetError> {
        let fail = |e: std::io::Error| TargetError::Transport(format!("socket pair: {e}"));
        let (ours, theirs) = UnixStream::pair().map_err(fail)?;
        let board = self.board.clone();
        // A flag per thread (leaked: the core takes a `'static` one, and restarts are few),
        // so stopping an old thread never touches a new one.
        let stop: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        self.stop = Some(stop);
        let thread = std::thread::Builder::new()
            .name("tandem-sim-link".into())
            // The stack the in-process simulator gets from the CLI, so limits behave alike.
            .stack_size(64 << 20)
            .spawn(move || {
                let mut handler = SimTarget::for_board(&board).into_handler();
                handler.set_interrupt_flag(stop);
                serve(theirs, handler, Watchdog::raising(stop))
            })
            .map_err(fail)?;
        self.thread = Some(thread);
        self.ending = None;
        ours.set_nonblocking(true).map_err(fail)?;
        let _context = rt.enter();
        let stream = tokio::net::UnixStream::from_std(ours).map_err(fail)?;
        Ok(Box::new(stream))
    }

    /// A thread cannot be killed: its interrupt flag stops the call it may be stuck in, the
    /// host's end closes with the old session, and the thread ends within 20 ms of its next
    /// read.
    fn kill(&mut self) {
        if let Some(stop) = self.stop {
            stop.store(true, Ordering::Relaxed);
        }
        if self.ending(Duration::from_millis(100)).is_none()
            && let Some(thread) = self.thread.take()
        {
            warn!("the simulator thread {:?} does not end; left running", thread.thread().id());
        }
    }

    fn wait_exit(&mut self, _rt: &Runtime) -> Result<(), TargetError> {
        let failed = |why: &str| Err(TargetError::Transport(why.to_owned()));
        match self.ending(Duration::from_secs(5)) {
            Some(Ok(Some(true))) => Ok(()),
            Some(Ok(Some(false))) => failed("the simulator exited with failure"),
            Some(Ok(None)) => failed("the simulator stopped without an exit request"),
            Some(Err(why)) => failed(&why.clone()),
            None => failed("the simulator did not exit within 5 s"),
        }
    }

    /// Waits briefly for the thread: a panic closes the socket while it is still unwinding.
    fn last_words(&mut self) -> String {
        match self.ending(Duration::from_millis(500)) {
            Some(Err(why)) => why.clone(),
            _ => String::new(),
        }
    }
}

/// The linked simulator, as a [`crate::target::Target`].
pub type LinkedSimTarget = RemoteTarget<SimPeer>;

impl RemoteTarget<SimPeer> {
    /// Starts the simulator thread for `board` and connects to it with `options`.
    pub fn start(board: &BoardProfile, options: RemoteOptions) -> Result<Self, TargetError> {
        RemoteTarget::connect(SimPeer::new(board.clone()), &board.name, options)
    }
}
