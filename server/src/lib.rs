//! The request table Tandem's firmware and the linked simulator share.
//!
//! A board answers the host's `tandem-protocol` requests with postcard-rpc's
//! `define_dispatch!`: each endpoint is a one-line call into the shared
//! [`tandem_handler::RequestHandler`], plus what only a board can add (heap, stack, clock and
//! link figures in `stats`, the exit and fault endpoints). That table lives here, once; the
//! [`server!`] macro instantiates it for a board's UART type, because postcard-rpc's dispatch
//! must name its wire type. What differs per board sits behind the small [`Platform`] trait.
//!
//! The firmware (`target-fw`) serves it over the board's UART; the host's linked simulator
//! serves it over a socket pair in a thread, so a fault-injecting link can be tested against
//! the very code the board runs.
#![no_std]

extern crate alloc;

pub mod endpoints;

pub use endpoints::Context;

/// Re-exports for [`server!`]'s expansion, so the calling crate needs no extra dependencies.
#[doc(hidden)]
pub mod __private {
    pub use postcard_rpc::define_dispatch;
    pub use tandem_link::device::dispatch_impl::{WireSpawnImpl, WireTxImpl, spawn_fn};
    pub use tandem_protocol::{
        ENDPOINT_LIST, ExitEndpoint, FaultEndpoint, GetGlobalEndpoint, InfoEndpoint,
        InstantiateEndpoint, InvokeEndpoint, MemoryDigestEndpoint, ModuleBeginEndpoint,
        ModuleChunkEndpoint, ModuleEndEndpoint, PingEndpoint, RegisterEndpoint, ResetEndpoint,
        StatsEndpoint, TOPICS_IN_LIST, TOPICS_OUT_LIST,
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
    /// The host asked for a deliberate fault (to test crash reports). A board does not
    /// return; a simulator may answer with nothing.
    fn fault(&mut self, kind: tandem_protocol::FaultKind);
}

/// Defines `$app`, the postcard-rpc dispatcher of every `tandem-protocol` endpoint, for a
/// board whose device wire is `DeviceWire<$uart, $tx_buf>` and whose board glue is
/// `$platform` (a [`Platform`]). Its context is [`Context<$platform>`](Context).
///
/// ```ignore
/// tandem_server::server!(app: FwApp; uart: board::Uart; tx_buf: 4096; platform: Mps2;);
/// ```
#[macro_export]
macro_rules! server {
    (app: $app:ident; uart: $uart:ty; tx_buf: $tx:expr; platform: $platform:ty;) => {
        mod __tandem_server {
            use super::*;
            use $crate::__private::*;
            use $crate::endpoints::*;

            $crate::__private::define_dispatch! {
                app: $app;
                spawn_fn: spawn_fn;
                tx_impl: WireTxImpl<'static, $uart, { $tx }>;
                spawn_impl: WireSpawnImpl;
                context: $crate::Context<$platform>;

                endpoints: {
                    list: ENDPOINT_LIST;

                    | EndpointTy           | kind     | handler       |
                    | ----------           | ----     | -------       |
                    | InfoEndpoint         | blocking | info          |
                    | ResetEndpoint        | blocking | reset         |
                    | ModuleBeginEndpoint  | blocking | module_begin  |
                    | ModuleChunkEndpoint  | blocking | module_chunk  |
                    | ModuleEndEndpoint    | blocking | module_end    |
                    | InstantiateEndpoint  | blocking | instantiate   |
                    | RegisterEndpoint     | blocking | register      |
                    | InvokeEndpoint       | blocking | invoke        |
                    | GetGlobalEndpoint    | blocking | get_global    |
                    | MemoryDigestEndpoint | blocking | memory_digest |
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
        }
        pub use __tandem_server::$app;
    };
}
