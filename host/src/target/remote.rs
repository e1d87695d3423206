//! A target behind the postcard-rpc link: every runner request crosses the CRC-framed wire
//! to a `tandem-server` (the firmware on a board, or the linked simulator in a thread) and
//! its reply comes back the same way.
//!
//! [`RemoteTarget`] owns the client side: connect, check that the other end speaks this
//! host's protocol (every endpoint's schema key, the protocol version, the board name), one
//! timeout per request, and recovery when the other end stops answering. What is at the
//! other end, and how it is started, killed and heard from, is a [`Peer`]: QEMU
//! ([`super::qemu`]), a board behind a debug probe ([`super::probe`]) or a thread
//! ([`super::sim_link`]).
//!
//! The runner is synchronous; the target owns a small tokio runtime and blocks on it per
//! request, so the same runner code drives the simulator and the board.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use postcard_rpc::Endpoint;
use postcard_rpc::host_client::{HostClient, HostErr, MultiSubscription};
use postcard_rpc::standard_icd::{LoggingTopic, WireError as RpcError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_interp::Features;
use tandem_link::host::{self, LinkOptions, LinkStats};
use tandem_link::postcard_rpc;
use tandem_protocol::{
    ENDPOINT_LIST, ExitEndpoint, GetGlobalEndpoint, GetGlobalRequest, InfoEndpoint, InfoResponse,
    InstanceId, InstantiateEndpoint, InstantiateRequest, InvokeEndpoint, InvokeRequest, MAX_CHUNK,
    MAX_OUTPUT_CHUNKS, ModuleBegin, ModuleBeginEndpoint, ModuleChunk, ModuleChunkEndpoint,
    ModuleEndEndpoint, ModuleFormat, ModuleId, OutputChunk, OutputChunkEndpoint, OutputStream,
    OutputTopic, PROTOCOL_VERSION, Printed, Progress, Ran, Refusal, RegisterEndpoint,
    RegisterRequest, ResetEndpoint, ResetRequest, StatsEndpoint, StatsResponse, TaskId, TaskNew,
    TaskNewEndpoint, TaskResume, TaskResumeEndpoint, TaskStart, TaskStartEndpoint, Trap, Val,
    WasiEndpoint, WasiSetup, schema_fingerprint,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::runtime::Runtime;
use tracing::info;

use crate::target::{ImageSpec, Reported, Target, TargetError, ran};

/// A byte stream to a peer.
pub trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> ByteStream for T {}

/// The other end of the link: how it is started, stopped and heard from.
pub trait Peer {
    /// A short name for reports, e.g. `qemu`.
    fn name(&self) -> &'static str;
    /// Starts the other end (again, after [`Peer::kill`]) and returns the stream to it,
    /// registered with `rt`.
    fn start(&mut self, rt: &Runtime) -> Result<Box<dyn ByteStream>, TargetError>;
    /// Stops it by force: it hung or crashed.
    fn kill(&mut self);
    /// After the exit request was answered: waits for a clean end.
    fn wait_exit(&mut self, rt: &Runtime) -> Result<(), TargetError>;
    /// What the other end printed or how it ended, for a message saying why it stopped
    /// answering; empty if nothing is known.
    fn last_words(&mut self) -> String;
}

/// How to talk to a peer.
#[derive(Debug, Clone, Copy)]
pub struct RemoteOptions {
    /// The longest wait for any one reply.
    pub request_timeout: Duration,
    /// The deadline the peer holds each instantiation and invocation to by its own clock,
    /// stopping it with a trap (sent with every reset); `None` leaves calls to the board's
    /// fuel and to [`RemoteOptions::request_timeout`].
    pub call_deadline: Option<Duration>,
    /// Resending and fault injection on the link.
    pub link: LinkOptions,
    /// Send modules as images compiled on the host even if the peer reads WebAssembly (a
    /// peer that reads images only always gets them).
    pub images: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            request_timeout: Duration::from_secs(30),
            call_deadline: None,
            link: LinkOptions::default(),
            images: false,
        }
    }
}

impl RemoteOptions {
    /// What the host waits beyond a call's deadline for its reply: the board's deadline
    /// check runs once per SysTick period (under 0.7 s), and the reply must still travel.
    pub const REPLY_GRACE: Duration = Duration::from_secs(5);

    /// Calls stopped by the peer after `deadline`, and the host waiting
    /// [`RemoteOptions::REPLY_GRACE`] longer for any reply before it deems the peer dead.
    pub fn with_call_deadline(mut self, deadline: Duration) -> Self {
        self.call_deadline = Some(deadline);
        self.request_timeout = deadline.saturating_add(Self::REPLY_GRACE);
        self
    }
}

/// A connected client and what it subscribed to.
struct Session {
    client: HostClient<RpcError>,
    logs: Option<MultiSubscription<String>>,
    /// The running calls' output chunks, as they arrive ahead of each call's reply.
    output: Option<MultiSubscription<OutputChunk>>,
    stats: Arc<LinkStats>,
}

/// A [`Target`] at the other end of the link.
pub struct RemoteTarget<P: Peer> {
    // Field order is drop order: the client closes before the peer is stopped, and both
    // before the runtime their tasks run on.
    session: Session,
    peer: P,
    info: InfoResponse,
    options: RemoteOptions,
    /// The board the peer must say it is.
    board: String,
    restarts: u32,
    /// Link counters of sessions that ended (restarts), so totals survive them.
    earlier_link: Vec<Arc<LinkStats>>,
    /// What the calls reported since the runner last took it.
    reported: Reported,
    /// The last reset's features, which images are compiled for.
    features: Features,
    rt: Runtime,
}

impl<P: Peer> RemoteTarget<P> {
    /// Starts `peer`, connects and checks the protocol and that it is `board`.
    pub fn connect(mut peer: P, board: &str, options: RemoteOptions) -> Result<Self, TargetError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| TargetError::Transport(format!("cannot start the tokio runtime: {e}")))?;
        let session = open(&rt, &mut peer, options.link)?;
        let mut target = RemoteTarget {
            session,
            peer,
            info: InfoResponse::default(),
            options,
            board: board.to_owned(),
            restarts: 0,
            earlier_link: Vec::new(),
            reported: Reported::default(),
            features: Features::empty(),
            rt,
        };
        if let Err(e) = target.handshake() {
            target.peer.kill();
            return Err(e);
        }
        Ok(target)
    }

    /// How often the peer was restarted after it stopped answering.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// What the peer said about itself at connect.
    pub fn info(&self) -> &InfoResponse {
        &self.info
    }

    /// The peer.
    pub fn peer(&self) -> &P {
        &self.peer
    }

    /// The host's link counters, summed over every session (restarts included).
    pub fn link_totals(&self) -> LinkStats {
        let total = LinkStats::default();
        for s in self.earlier_link.iter().chain([&self.session.stats]) {
            total.add(s);
        }
        total
    }

    /// Asks the peer to fault on purpose (for testing crash reports and recovery): the
    /// request never gets a reply, so this reports how the peer went down.
    pub fn fault(&mut self, kind: tandem_protocol::FaultKind) -> TargetError {
        match self.request::<tandem_protocol::FaultEndpoint>(&kind) {
            Ok(()) => TargetError::Transport("the board answered a fault request".into()),
            Err(e) => e,
        }
    }

    /// Asks the peer to exit and checks that it ends cleanly.
    pub fn shutdown(mut self) -> Result<(), TargetError> {
        self.finish()
    }

    /// Refuses a peer built from another protocol version, or for another board.
    ///
    /// One `tandem/info` request carries the check (the protocol version and a fingerprint of
    /// every endpoint's schema), so a lossy link resends it like any request. Only when they
    /// differ is postcard-rpc's schema report fetched, to name the endpoint that changed.
    fn handshake(&mut self) -> Result<(), TargetError> {
        const REBUILD: &str = "rebuild it: cd target-fw && cargo build --release";
        let reply = self.exchange::<InfoEndpoint>(&());
        if let Some(Err(HostErr::Wire(_))) = reply {
            return Err(TargetError::Transport(format!(
                "the firmware was built from another protocol version: it does not know \
                 this host's `{}` ({REBUILD})",
                InfoEndpoint::PATH
            )));
        }
        self.info = self.answer::<InfoEndpoint>(reply)?;
        if self.info.protocol_version != PROTOCOL_VERSION
            || self.info.schema_fingerprint != schema_fingerprint()
        {
            let difference = self
                .schema_difference()
                .unwrap_or_else(|| "the endpoints' message types differ".to_owned());
            return Err(TargetError::Transport(format!(
                "the firmware speaks protocol version {} and this host {PROTOCOL_VERSION}: \
                 {difference} ({REBUILD})",
                self.info.protocol_version
            )));
        }
        if self.info.board != self.board {
            return Err(TargetError::Transport(format!(
                "the firmware was built for board `{}`, not `{}`",
                self.info.board, self.board
            )));
        }
        info!(
            firmware = %self.info.firmware_version,
            board = %self.info.board,
            validates = self.info.validates,
            "handshake done"
        );
        Ok(())
    }

    /// The first endpoint whose schema differs from this host's, from the peer's schema
    /// report; `None` if the report cannot be had.
    fn schema_difference(&mut self) -> Option<String> {
        let report = self
            .rt
            .block_on(async {
                tokio::time::timeout(
                    self.options.request_timeout,
                    self.session.client.get_schema_report(),
                )
                .await
            })
            .ok()?
            .ok()?;
        ENDPOINT_LIST.endpoints.iter().find_map(|&(path, req, resp)| {
            match report.endpoints.iter().find(|e| e.path == path) {
                Some(e) if e.req_key == req && e.resp_key == resp => None,
                Some(_) => Some(format!("endpoint `{path}` has other message types")),
                None => Some(format!("endpoint `{path}` is missing")),
            }
        })
    }

    /// One request, answered within the timeout or reported as a dead peer.
    fn request<E>(&mut self, req: &E::Request) -> Result<E::Response, TargetError>
    where
        E: Endpoint,
        E::Request: Serialize + postcard_schema::Schema,
        E::Response: DeserializeOwned + postcard_schema::Schema,
    {
        let reply = self.exchange::<E>(req);
        self.answer::<E>(reply)
    }

    /// Sends one request and waits for its reply: `None` when none came within the timeout.
    fn exchange<E>(&mut self, req: &E::Request) -> Option<Result<E::Response, HostErr<RpcError>>>
    where
        E: Endpoint,
        E::Request: Serialize + postcard_schema::Schema,
        E::Response: DeserializeOwned + postcard_schema::Schema,
    {
        let timeout = self.options.request_timeout;
        // The timeout is made inside the runtime: tokio's timers need its context.
        self.rt
            .block_on(async {
                tokio::time::timeout(timeout, self.session.client.send_resp::<E>(req)).await
            })
            .ok()
    }

    /// A call's whole output: the chunks that arrived ahead of its reply, in order, then what
    /// the reply carries. A chunk the link lost is asked for again; one the target no longer
    /// holds is marked where it was missing, on stderr (its stream is not known), so a loss
    /// is never silent and `parity` sees it.
    fn gather_output<T>(&mut self, mut reply: Ran<T>) -> Ran<T> {
        let mut arrived = BTreeMap::new();
        if let Some(output) = &mut self.session.output {
            // Everything sent before the reply has been queued by now: take it without waiting.
            while let Ok(Ok(chunk)) = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::ZERO, output.recv()).await })
            {
                arrived.insert(chunk.index, chunk);
            }
        }
        if reply.chunks == 0 {
            return reply;
        }
        let mut printed = Printed::default();
        for index in 0..reply.chunks {
            let chunk = match arrived.remove(&index) {
                Some(chunk) => Some(chunk),
                None => self.request::<OutputChunkEndpoint>(&index).ok().and_then(Result::ok),
            };
            match chunk {
                Some(OutputChunk { stream: OutputStream::Stdout, bytes, .. }) => {
                    printed.stdout.extend(bytes);
                }
                Some(OutputChunk { stream: OutputStream::Stderr, bytes, .. }) => {
                    printed.stderr.extend(bytes);
                }
                None => printed.stderr.extend(
                    format!("[output chunk {index} of this call was lost on the link]\n").bytes(),
                ),
            }
        }
        printed.stdout.append(&mut reply.printed.stdout);
        printed.stderr.append(&mut reply.printed.stderr);
        printed.dropped = reply.printed.dropped;
        reply.printed = printed;
        reply.chunks = 0;
        reply
    }

    /// The response of an [`Self::exchange`], or why there is none.
    fn answer<E: Endpoint>(
        &mut self,
        reply: Option<Result<E::Response, HostErr<RpcError>>>,
    ) -> Result<E::Response, TargetError> {
        match reply {
            Some(Ok(resp)) => Ok(resp),
            Some(Err(HostErr::Wire(e))) => Err(TargetError::Transport(format!(
                "the firmware refused `{}`: {e:?} (protocol mismatch?)",
                E::PATH
            ))),
            Some(Err(e)) => Err(self.dead_with(E::PATH, &format!("{e}"))),
            None => Err(self.dead(E::PATH)),
        }
    }

    fn dead(&mut self, what: &str) -> TargetError {
        let why = format!("no reply within {:?}", self.options.request_timeout);
        self.dead_with(what, &why)
    }

    /// A transport error naming the request and whatever the peer said before it died.
    fn dead_with(&mut self, what: &str, why: &str) -> TargetError {
        let mut message = format!("the board stopped answering ({what}: {why})");
        if let Some(logs) = &mut self.session.logs {
            // Log frames already received (the firmware's fatal report), without waiting.
            while let Ok(Ok(log)) = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(20), logs.recv()).await
            }) {
                message.push_str(&format!("; it said: {}", log.trim()));
            }
        }
        let last_words = self.peer.last_words();
        if !last_words.is_empty() {
            message.push_str(&format!("; {last_words}"));
        }
        TargetError::Transport(message)
    }
}

/// Starts `peer` and connects a client, subscribed to its log frames (where a panic or
/// HardFault report arrives).
fn open<P: Peer>(rt: &Runtime, peer: &mut P, link: LinkOptions) -> Result<Session, TargetError> {
    let stream = peer.start(rt)?;
    let (client, stats) = {
        let _guard = rt.enter();
        host::client(stream, link)
    };
    let logs = rt.block_on(client.subscribe_multi::<LoggingTopic>(16)).ok();
    let depth = MAX_OUTPUT_CHUNKS as usize;
    let output = rt.block_on(client.subscribe_multi::<OutputTopic>(depth)).ok();
    Ok(Session { client, logs, output, stats })
}

impl<P: Peer> Target for RemoteTarget<P> {
    fn name(&self) -> &str {
        self.peer.name()
    }

    fn board(&self) -> Option<&str> {
        Some(&self.info.board)
    }

    fn validates(&self) -> bool {
        self.info.validates && !self.options.images
    }

    fn takes_images(&self) -> Option<ImageSpec> {
        (self.options.images || !self.info.reads_wasm)
            .then_some(ImageSpec { features: self.features, fuel: self.info.meters_fuel })
    }

    fn reset(&mut self, features: Features, hosts: &[&str]) -> Result<(), TargetError> {
        self.reported = Reported::default();
        self.features = features;
        let hosts = hosts.iter().map(|&h| h.to_owned()).collect();
        let deadline_ms =
            self.options.call_deadline.map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX));
        Ok(self.request::<ResetEndpoint>(&ResetRequest {
            features: crate::target::wire_features(features),
            hosts,
            deadline_ms,
        })??)
    }

    fn set_wasi(&mut self, setup: &WasiSetup) -> Result<(), TargetError> {
        Ok(self.request::<WasiEndpoint>(setup)??)
    }

    fn upload(&mut self, bytes: &[u8], format: ModuleFormat) -> Result<ModuleId, TargetError> {
        let len = u32::try_from(bytes.len()).map_err(|_| {
            Refusal::Resource(format!("a module of {} bytes is over 4 GiB", bytes.len()))
        })?;
        self.request::<ModuleBeginEndpoint>(&ModuleBegin { len, format })??;
        for (i, chunk) in bytes.chunks(MAX_CHUNK).enumerate() {
            let offset = (i * MAX_CHUNK) as u32;
            self.request::<ModuleChunkEndpoint>(&ModuleChunk { offset, bytes: chunk.to_vec() })??;
        }
        Ok(self.request::<ModuleEndEndpoint>(&())??)
    }

    fn instantiate(&mut self, module: ModuleId) -> Result<Result<InstanceId, Trap>, TargetError> {
        let reply = self.request::<InstantiateEndpoint>(&InstantiateRequest { module })?;
        let reply = self.gather_output(reply);
        ran(reply, &mut self.reported)
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        let req = RegisterRequest { instance, name: as_name.to_owned() };
        Ok(self.request::<RegisterEndpoint>(&req)??)
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, Trap>, TargetError> {
        let req = InvokeRequest { instance, export: export.to_owned(), args: args.to_vec() };
        let reply = self.request::<InvokeEndpoint>(&req)?;
        let reply = self.gather_output(reply);
        ran(reply, &mut self.reported)
    }

    fn task_new(&mut self, slots: Option<u32>, depth: Option<u32>) -> Result<TaskId, TargetError> {
        Ok(self.request::<TaskNewEndpoint>(&TaskNew { slots, depth })??)
    }

    fn task_start(
        &mut self,
        task: TaskId,
        call: &InvokeRequest,
        fuel: u64,
    ) -> Result<Result<Progress, Trap>, TargetError> {
        let req = TaskStart { task, call: call.clone(), fuel };
        let reply = self.request::<TaskStartEndpoint>(&req)?;
        let reply = self.gather_output(reply);
        ran(reply, &mut self.reported)
    }

    fn task_resume(
        &mut self,
        task: TaskId,
        fuel: u64,
    ) -> Result<Result<Progress, Trap>, TargetError> {
        let reply = self.request::<TaskResumeEndpoint>(&TaskResume { task, fuel })?;
        let reply = self.gather_output(reply);
        ran(reply, &mut self.reported)
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        let req = GetGlobalRequest { instance, export: export.to_owned() };
        Ok(self.request::<GetGlobalEndpoint>(&req)??)
    }

    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        self.request::<StatsEndpoint>(&())
    }

    fn take_reported(&mut self) -> Reported {
        std::mem::take(&mut self.reported)
    }

    fn link_summary(&self) -> Option<String> {
        Some(self.link_totals().summary())
    }

    /// Stops the peer that stopped answering and starts it again.
    fn recover(&mut self) -> Result<(), TargetError> {
        self.session.client.close();
        self.peer.kill();
        let session = open(&self.rt, &mut self.peer, self.options.link)?;
        let old = std::mem::replace(&mut self.session, session);
        self.earlier_link.push(old.stats);
        self.restarts += 1;
        self.handshake()?;
        info!(restarts = self.restarts, "board restarted");
        Ok(())
    }

    /// Asks the peer to exit and waits for it. On a lossy link the exit reply can be lost
    /// after the peer has gone; a peer that ended cleanly is what counts.
    fn finish(&mut self) -> Result<(), TargetError> {
        let asked = self.request::<ExitEndpoint>(&true);
        if asked.is_err() {
            self.session.client.close();
        }
        match (self.peer.wait_exit(&self.rt), asked) {
            (Ok(()), _) => Ok(()),
            (Err(ended), Err(asked)) => Err(asked.followed_by("and then", &ended)),
            (Err(e), Ok(())) => Err(e),
        }
    }
}
