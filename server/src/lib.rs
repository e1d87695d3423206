//! The device side of Tandem's rig, shared by the firmware and the linked simulator: the
//! request table and the serve loop.
//!
//! A board answers the host's `tandem-protocol` requests with postcard-rpc's
//! `define_dispatch!`: each endpoint is a one-line call into the shared
//! [`tandem_handler::RequestHandler`], plus what only a board can add (heap, stack, clock and
//! link figures in `stats`, the exit and fault endpoints). That table lives here, once; the
//! [`server!`] macro instantiates it for a board's UART type, because postcard-rpc's dispatch
//! must name its wire type. [`serve`] is the loop around it, with the buffer sizes every
//! board uses ([`TX_BUF`], [`RX_BUF`]). What differs per board sits behind the small
//! [`Platform`] trait and the link's `ByteUart`.
//!
//! The firmware (`target-fw`) serves over the board's UART or RTT; the host's linked
//! simulator serves over a socket pair in a thread, so a fault-injecting link is tested
//! against the very code the board runs.
#![no_std]
#![forbid(unsafe_code)]

pub mod endpoints;

use core::future::Future;
use core::pin::pin;
use core::task::{Context as TaskContext, Poll, Waker};

use postcard_rpc::server::{Dispatch, Sender};
use tandem_link::ByteUart;
use tandem_link::device::{DeviceTx, DeviceWire, ServeError, serve_one};

pub use endpoints::Context;
pub use tandem_link::device::NoSpawn;

/// Largest reply, serialised (header + body + CRC): a board's transmit buffer.
pub const TX_BUF: usize = 4096;
/// Largest request frame, encoded: a 512-byte module chunk plus header fits easily.
pub const RX_BUF: usize = 4096;

/// The device end of the link, as every board instantiates it.
pub type Wire<U> = DeviceWire<U, TX_BUF>;

/// Re-exports for [`server!`]'s expansion, so the calling crate needs no extra dependencies.
#[doc(hidden)]
pub mod __private {
    pub use postcard_rpc::define_dispatch;
    pub use tandem_link::device::dispatch_impl::{WireSpawnImpl, WireTxImpl, spawn_fn};
    pub use tandem_protocol::{
        ENDPOINT_LIST, ExitEndpoint, FaultEndpoint, GetGlobalEndpoint, InfoEndpoint,
        InstantiateEndpoint, InvokeEndpoint, MemoryDigestEndpoint, ModuleBeginEndpoint,
        ModuleChunkEndpoint, ModuleEndEndpoint, OutputChunkEndpoint, PingEndpoint,
        RegisterEndpoint, ResetEndpoint, StatsEndpoint, TOPICS_IN_LIST, TOPICS_OUT_LIST,
        TaskNewEndpoint, TaskResumeEndpoint, TaskStartEndpoint, WasiEndpoint,
    };
}

/// What a board adds to the shared handler: its clock, its memory figures, its fault paths.
pub trait Platform {
    /// A free-running tick counter (SysTick on the QEMU board, the host's clock in the
    /// simulator), used to time the handler's work.
    fn ticks(&self) -> u64;
    /// Ticks per second of [`Platform::ticks`].
    fn tick_hz(&self) -> u32;
    /// Fills what the board measures itself: heap, native stack, link frame counters.
    /// The handler's own figures and the tick count are already set.
    fn measure(&self, stats: &mut tandem_protocol::TargetStats);
    /// A fresh store began: restart the per-session measurements (heap peak, stack paint).
    fn restart_measurements(&mut self);
    /// A call begins: raise the handler's interrupt flag (lowering it now) once `ticks`
    /// more [`Platform::ticks`] have passed, unless [`Platform::disarm_deadline`] comes
    /// first. The firmware checks on its SysTick interrupt, the linked simulator on a thread.
    fn arm_deadline(&mut self, ticks: u64);
    /// The call ended in time: nothing is to be raised.
    fn disarm_deadline(&mut self);
    /// The host asked for a deliberate fault (to test crash reports). A board does not
    /// return; a simulator may answer with nothing.
    fn fault(&mut self, kind: tandem_protocol::FaultKind);
}

/// Sends one chunk of a running call's output to the host over `wire`: the body of a
/// board's [`tandem_handler::RequestHandler::with_output_sink`] function, which names its
/// own link (a `static` on a board). A chunk the link loses, or that finds no heap for its
/// copy, is missing from the host's count and asked for again after the reply.
pub fn publish_output<U: ByteUart>(
    wire: &Wire<U>,
    index: u32,
    stream: tandem_handler::Stream,
    bytes: &[u8],
) {
    if let Some(chunk) = tandem_handler::convert::output_chunk(index, stream, bytes) {
        let _ = wire.publish::<tandem_protocol::OutputTopic>(index, &chunk);
    }
}

/// A request table made by [`server!`]: postcard-rpc's dispatcher, with the endpoints'
/// shared [`Context`] reachable by the serve loop.
pub trait App<P>: Dispatch {
    /// The endpoints' state.
    fn context(&mut self) -> &mut Context<P>;
}

/// Why [`serve`] returned.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    /// The host asked the board to exit, with this status; the reply has gone out.
    Exit {
        /// The status the host asked for.
        success: bool,
    },
    /// A reply could not be sent: the link is unusable.
    LinkFailed(ServeError),
    /// `stop` said so while waiting for a request (the linked simulator's host end is gone).
    Stopped,
}

/// Answers the requests arriving on `wire` with `app` until the host asks to exit, a reply
/// cannot be sent, or `stop` returns true (it is asked between polls of the link; a board
/// that serves for ever passes `|| false`).
pub fn serve<U, P, A>(wire: &'static Wire<U>, app: &mut A, stop: impl Fn() -> bool) -> Ending
where
    U: ByteUart,
    A: App<P, Tx = DeviceTx<'static, U, TX_BUF>>,
{
    let (tx, mut rx) = wire.split();
    let sender = Sender::new(tx, app.min_key_len());
    let mut buf = [0u8; RX_BUF];
    loop {
        match poll_until(serve_one(&mut rx, &sender, app, &mut buf), &stop) {
            None => return Ending::Stopped,
            Some(Err(e)) => return Ending::LinkFailed(e),
            Some(Ok(_)) => {}
        }
        if let Some(success) = app.context().exit.take() {
            wire.flush();
            return Ending::Exit { success };
        }
    }
}

/// Polls `future` to completion (the link's futures wait on nothing but the UART, which they
/// poll themselves), or gives up with `None` once `stop` says so.
fn poll_until<F: Future>(future: F, stop: &impl Fn() -> bool) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        if stop() {
            return None;
        }
    }
}

/// Defines `$app`, the postcard-rpc dispatcher of every `tandem-protocol` endpoint, for a
/// board whose link is [`Wire<$uart>`](Wire) and whose board glue is `$platform` (a
/// [`Platform`]). Its context is [`Context<$platform>`](Context); [`serve`] runs it.
///
/// ```ignore
/// tandem_server::server!(app: FwApp; uart: board::HostUart; platform: Board;);
/// let mut app = FwApp::new(Context::new(handler, Board), NoSpawn);
/// let ending = tandem_server::serve(&LINK, &mut app, || false);
/// ```
#[macro_export]
macro_rules! server {
    (app: $app:ident; uart: $uart:ty; platform: $platform:ty;) => {
        mod __tandem_server {
            use super::*;
            use $crate::__private::*;
            use $crate::endpoints::*;

            $crate::__private::define_dispatch! {
                app: $app;
                spawn_fn: spawn_fn;
                tx_impl: WireTxImpl<'static, $uart, { $crate::TX_BUF }>;
                spawn_impl: WireSpawnImpl;
                context: $crate::Context<$platform>;

                endpoints: {
                    list: ENDPOINT_LIST;

                    | EndpointTy           | kind     | handler       |
                    | ----------           | ----     | -------       |
                    | InfoEndpoint         | blocking | info          |
                    | ResetEndpoint        | blocking | reset         |
                    | WasiEndpoint         | blocking | set_wasi      |
                    | ModuleBeginEndpoint  | blocking | module_begin  |
                    | ModuleChunkEndpoint  | blocking | module_chunk  |
                    | ModuleEndEndpoint    | blocking | module_end    |
                    | InstantiateEndpoint  | blocking | instantiate   |
                    | RegisterEndpoint     | blocking | register      |
                    | InvokeEndpoint       | blocking | invoke        |
                    | TaskNewEndpoint      | blocking | task_new      |
                    | TaskStartEndpoint    | blocking | task_start    |
                    | TaskResumeEndpoint   | blocking | task_resume   |
                    | GetGlobalEndpoint    | blocking | get_global    |
                    | MemoryDigestEndpoint | blocking | memory_digest |
                    | OutputChunkEndpoint  | blocking | output_chunk  |
                    | StatsEndpoint        | blocking | stats         |
                    | PingEndpoint         | blocking | ping          |
                    | ExitEndpoint         | blocking | exit          |
                    | FaultEndpoint        | blocking | fault         |
                };
                topics_in: {
                    list: TOPICS_IN_LIST;

                    | TopicTy | kind | handler |
                    | ------- | ---- | ------- |
                };
                topics_out: {
                    list: TOPICS_OUT_LIST;
                };
            }

            impl $crate::App<$platform> for $app {
                fn context(&mut self) -> &mut $crate::Context<$platform> {
                    &mut self.context
                }
            }
        }
        pub use __tandem_server::$app;
    };
}
