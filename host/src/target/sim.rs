//! The simulator target: the firmware's request handler running in-process.
//!
//! [`SimTarget`] forwards every [`Target`] call to a [`RequestHandler`], the same code a
//! board runs behind its postcard-rpc server, with the same `tandem-protocol` values: nothing
//! is converted on the way, and the handler converts to the core's types once, as on the
//! board. Only transport is skipped: whole modules go to [`RequestHandler::load`] rather
//! than in chunks, under the same budget.
//!
//! A simulator with a timeout ([`SimTarget::with_timeout`]) holds every call to it as a
//! board's link holds every request: a watchdog thread raises the core's interrupt flag
//! when the call's deadline passes, and the call fails with a trap saying so, while the
//! session goes on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_boards::BoardProfile;
use tandem_handler::{Limits, MAX_STATIC_MEMORIES, RequestHandler, desktop_profile};
use tandem_interp::Features;
use tandem_protocol::{
    InstanceId, InvokeRequest, ModuleFormat, ModuleId, Progress, Ran, StatsResponse, TaskId, Trap,
    TrapKind, Val, WasiSetup,
};

use crate::target::{ImageSpec, Reported, Target, TargetError, ran};

/// `tandem-interp` in-process, behind the firmware's request handler.
pub struct SimTarget {
    handler: RequestHandler,
    /// Stops calls that outlive the timeout, with the timeout.
    deadline: Option<(Watchdog, Duration)>,
    /// What the calls reported since the runner last took it.
    reported: Reported,
    /// Whether modules arrive as images compiled on the host, as on an images-only board.
    images: bool,
    /// Whether it reports that it validates modules (see [`SimTarget::judged_on_host`]).
    validates: bool,
    /// The last reset's features, which images are compiled for.
    features: Features,
}

impl Default for SimTarget {
    fn default() -> Self {
        SimTarget::new()
    }
}

impl SimTarget {
    /// A simulator with the desktop profile (the core's default limits).
    pub fn new() -> Self {
        SimTarget::with_profile(desktop_profile())
    }

    /// A desktop simulator with other `limits` (fuel included), e.g. a shallow call stack.
    pub fn with_limits(limits: Limits) -> Self {
        SimTarget::with_profile(BoardProfile { limits, ..desktop_profile() })
    }

    /// A simulator with `board`'s limits and static buffers of the board's sizes, so memory
    /// kinds, grow refusals and exhaustion match the firmware built for that board.
    ///
    /// The buffers are leaked, as the firmware's live in `.bss` for the whole run: one set
    /// per simulator, which a process creates a handful of.
    pub fn for_board(board: &BoardProfile) -> Self {
        let mut sim = SimTarget::with_profile(board.clone());
        for index in 0..MAX_STATIC_MEMORIES {
            let bytes = usize::try_from(board.static_buffer_bytes(index)).unwrap_or(usize::MAX);
            if bytes > 0 {
                let buffer = Box::leak(vec![0u8; bytes].into_boxed_slice());
                sim.handler = sim.handler.with_static_memory_at(index, buffer);
            }
        }
        sim
    }

    fn with_profile(profile: BoardProfile) -> Self {
        let handler = RequestHandler::new(profile, env!("CARGO_PKG_VERSION"));
        SimTarget {
            handler,
            deadline: None,
            reported: Reported::default(),
            images: false,
            validates: true,
            features: Features::empty(),
        }
    }

    /// The simulator taking modules as an images-only board does: compiled on the host into
    /// images, which the handler reads; modules the host rejects never reach it.
    pub fn with_images(mut self) -> Self {
        self.images = true;
        self
    }

    /// The simulator standing in for a board that does not validate modules (a firmware
    /// without on-device validation): `assert_invalid` and `assert_malformed` modules are
    /// judged on the host for it as for the board, so the two report them alike.
    pub fn judged_on_host(mut self) -> Self {
        self.validates = false;
        self
    }

    /// The simulator with every call (an instantiation's start function, an invocation)
    /// stopped after `timeout`: it fails with a trap saying so and the session goes on.
    /// Calls are then metered (see `RequestHandler::set_interrupt_flag`).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        let watchdog = Watchdog::start();
        self.handler.set_interrupt_flag(watchdog.flag);
        self.deadline = Some((watchdog, timeout));
        self
    }

    /// The handler a board's firmware would run, for serving it elsewhere (the linked
    /// simulator's thread).
    pub fn into_handler(self) -> RequestHandler {
        self.handler
    }

    /// Runs `call` on the handler under the deadline, if there is one; a call the deadline
    /// stopped traps with "timed out after ...".
    fn timed<T>(
        &mut self,
        call: impl FnOnce(&mut RequestHandler) -> Ran<T>,
    ) -> Result<Result<T, Trap>, TargetError> {
        let Some((watchdog, timeout)) = &self.deadline else {
            return ran(call(&mut self.handler), &mut self.reported);
        };
        let timeout = *timeout;
        watchdog.arm(timeout);
        let result = call(&mut self.handler);
        watchdog.disarm();
        match ran(result, &mut self.reported)? {
            Err(trap) if trap.kind == TrapKind::Interrupted => Ok(Err(Trap::timed_out(timeout))),
            other => Ok(other),
        }
    }
}

impl Target for SimTarget {
    fn name(&self) -> &str {
        "sim"
    }

    fn board(&self) -> Option<&str> {
        Some(&self.handler.profile().name)
    }

    fn reset(&mut self, features: Features, hosts: &[&str]) -> Result<(), TargetError> {
        self.reported = Reported::default();
        self.features = features;
        Ok(self.handler.reset(crate::target::wire_features(features), hosts)?)
    }

    fn set_wasi(&mut self, setup: &WasiSetup) -> Result<(), TargetError> {
        Ok(self.handler.set_wasi(setup.clone())?)
    }

    fn validates(&self) -> bool {
        self.validates && !self.images
    }

    fn takes_images(&self) -> Option<ImageSpec> {
        let fuel = self.handler.meters_fuel();
        self.images.then_some(ImageSpec { features: self.features, fuel })
    }

    fn upload(&mut self, bytes: &[u8], format: ModuleFormat) -> Result<ModuleId, TargetError> {
        Ok(self.handler.load(bytes, format)?)
    }

    fn instantiate(&mut self, module: ModuleId) -> Result<Result<InstanceId, Trap>, TargetError> {
        self.timed(|handler| handler.instantiate(module))
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        Ok(self.handler.register(instance, as_name)?)
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, Trap>, TargetError> {
        self.timed(|handler| handler.invoke(instance, export, args))
    }

    fn task_new(&mut self, slots: Option<u32>, depth: Option<u32>) -> Result<TaskId, TargetError> {
        Ok(self.handler.task_new(slots, depth)?)
    }

    fn task_start(
        &mut self,
        task: TaskId,
        call: &InvokeRequest,
        fuel: u64,
    ) -> Result<Result<Progress, Trap>, TargetError> {
        self.timed(|handler| handler.task_start(task, call, fuel))
    }

    fn task_resume(
        &mut self,
        task: TaskId,
        fuel: u64,
    ) -> Result<Result<Progress, Trap>, TargetError> {
        self.timed(|handler| handler.task_resume(task, fuel))
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        Ok(self.handler.get_global(instance, export)?)
    }

    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        Ok(self.handler.stats())
    }

    fn take_reported(&mut self) -> Reported {
        std::mem::take(&mut self.reported)
    }
}

/// A thread that raises an interrupt flag when an armed deadline passes, so a call running
/// on another thread stops there (the simulator's, and the linked simulator's platform's).
pub(crate) struct Watchdog {
    /// The core's interrupt flag: leaked, as the core takes a `'static` one (a firmware's is
    /// a `static`); one per simulator with a timeout, which a process creates a handful of.
    flag: &'static AtomicBool,
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// What the watchdog thread waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Armed {
    /// Nothing: the thread waits until it is armed (and must be woken).
    Idle,
    /// A call's deadline: the thread waits until then, unless woken to stop.
    Until(Instant),
    Closed,
}

/// The watchdog's state, shared with its thread. Arming and disarming take the lock and
/// wake the thread only when it waits without a deadline (once per idle spell, not per
/// call); it raises the flag under the lock, so a call that was disarmed in time is never
/// stopped.
struct State {
    armed: Armed,
    /// Whether the thread waits without a deadline.
    idle_wait: bool,
}

impl Watchdog {
    fn start() -> Self {
        Watchdog::raising(Box::leak(Box::new(AtomicBool::new(false))))
    }

    /// A watchdog raising `flag`.
    pub(crate) fn raising(flag: &'static AtomicBool) -> Self {
        let state = State { armed: Armed::Idle, idle_wait: false };
        let shared = Arc::new((Mutex::new(state), Condvar::new()));
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-sim-watchdog".into())
            .spawn(move || Watchdog::watch(flag, &theirs))
            .inspect_err(|e| tracing::warn!("no deadline for the simulator's calls: {e}"))
            .ok();
        Watchdog { flag, shared, thread }
    }

    /// The thread: raises the flag whenever an armed deadline passes.
    fn watch(flag: &AtomicBool, shared: &(Mutex<State>, Condvar)) {
        let (lock, wake) = shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            state = match state.armed {
                Armed::Closed => return,
                Armed::Idle => {
                    state.idle_wait = true;
                    let mut woken = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
                    woken.idle_wait = false;
                    woken
                }
                Armed::Until(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        wake.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0
                    }
                    _ => {
                        flag.store(true, Ordering::Relaxed);
                        state.armed = Armed::Idle;
                        state
                    }
                },
            };
        }
    }

    /// Sets what the thread waits for, waking it if it must see it now.
    fn set(&self, armed: Armed) {
        let (lock, wake) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        state.armed = armed;
        if state.idle_wait || armed == Armed::Closed {
            wake.notify_one();
        }
    }

    /// Lowers the flag and raises it again `timeout` from now, unless disarmed before (a
    /// timeout too long to reach is no deadline).
    pub(crate) fn arm(&self, timeout: Duration) {
        self.flag.store(false, Ordering::Relaxed);
        self.set(Instant::now().checked_add(timeout).map_or(Armed::Idle, Armed::Until));
    }

    /// The call ended: the thread, waiting for its deadline, finds nothing to do then.
    pub(crate) fn disarm(&self) {
        self.set(Armed::Idle);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.set(Armed::Closed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_stops_only_the_call_that_outlives_it() {
        let wat = r#"(module (func (export "loop") (loop br 0))
            (func (export "one") (result i32) i32.const 1))"#;
        let mut sim = SimTarget::new().with_timeout(Duration::from_millis(200));
        sim.reset(Features::WASM2, crate::target::SPECTEST).expect("reset");
        let module = sim.load(&wat::parse_str(wat).expect("wat")).expect("loads");
        let instance = sim.instantiate(module).expect("no refusal").expect("no trap");
        // Many calls arm and disarm the watchdog in turn: none is stopped.
        for _ in 0..2000 {
            assert_eq!(sim.invoke(instance, "one", &[]), Ok(Ok(vec![Val::I32(1)])));
        }
        let started = Instant::now();
        let stopped = sim.invoke(instance, "loop", &[]).expect("no refusal").expect_err("a trap");
        assert_eq!(stopped.kind, TrapKind::Interrupted);
        assert_eq!(stopped.message, "timed out after 200ms");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(sim.invoke(instance, "one", &[]), Ok(Ok(vec![Val::I32(1)])));
    }
}
