//! Where WebAssembly runs: the [`Target`] trait the runner drives, and its implementations.
//!
//! A target is the in-process simulator ([`sim`]), or the firmware's request table behind
//! the CRC-framed postcard-rpc link ([`remote`]): in a thread ([`sim_link`]), on QEMU
//! ([`qemu`]) or on a real board through a debug probe ([`probe`]). Every target speaks
//! `tandem-protocol`'s types (values, traps, refusals, handles, versions, statistics), the
//! same ones on the wire, so nothing is converted on the way. Text-format handling (WAT to
//! binary, `module quote`) stays on the host: a target only ever sees binary modules.
//!
//! Two kinds of "failure" are kept apart:
//! - a **trap** is a legitimate result of running wasm code (an invocation or a start
//!   function), so it comes back as the inner `Err` of `Result<Result<_, Trap>, TargetError>`;
//! - a [`TargetError`] is either the target's [refusal](Refusal) (the module is malformed or
//!   invalid, an import is missing, an export does not exist, the board ran out of memory)
//!   or a transport failure: the link to the target broke, after which the runner restarts
//!   it or gives up on the file.

pub mod probe;
pub mod qemu;
pub mod remote;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "sim")]
pub mod sim_link;

use std::fmt;

use tandem_interp::Features;
use tandem_protocol::{
    InstanceId, InvokeRequest, ModuleFormat, ModuleId, Outcome, Printed, Progress, Ran, Refusal,
    StatsResponse, TaskId, Trap, Val, WasiSetup,
};

/// Why a request to a target did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetError {
    /// The other side refused the request.
    Refused(Refusal),
    /// The link to the target failed; nothing more can run on it until it is restarted.
    Transport(String),
}

impl TargetError {
    /// Whether the target can no longer be used (the runner restarts it or stops the file).
    pub fn is_fatal(&self) -> bool {
        matches!(self, TargetError::Transport(_))
    }

    /// A transport failure that follows this one (`then`, e.g. the restart after it also
    /// failed): one failure saying both, the connection named once.
    pub fn followed_by(&self, joint: &str, then: &TargetError) -> TargetError {
        let detail = |e: &TargetError| match e {
            TargetError::Transport(m) => m.clone(),
            refused => refused.to_string(),
        };
        TargetError::Transport(format!("{}; {joint}: {}", detail(self), detail(then)))
    }

    /// The target's refusal, if this is one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            TargetError::Refused(refusal) => Some(refusal),
            TargetError::Transport(_) => None,
        }
    }
}

impl From<Refusal> for TargetError {
    fn from(refusal: Refusal) -> Self {
        TargetError::Refused(refusal)
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Refused(refusal) => refusal.fmt(f),
            TargetError::Transport(m) => write!(f, "target connection failed: {m}"),
        }
    }
}

impl std::error::Error for TargetError {}

/// A protocol outcome as the runner's nested result: the refusal outside, the trap inside.
pub fn outcome<T>(outcome: Outcome<T>) -> Result<Result<T, Trap>, TargetError> {
    Ok(outcome.into_result()?)
}

/// What calls reported beside their results, kept by a target until the runner takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reported {
    /// What they printed.
    pub printed: Printed,
    /// The code a program passed to WASI's `proc_exit`, if one did.
    pub exit: Option<u32>,
}

/// A call's outcome as the runner's nested result; its output and exit code go to
/// `reported` (where the target keeps them for [`Target::take_reported`]).
pub fn ran<T>(ran: Ran<T>, reported: &mut Reported) -> Result<Result<T, Trap>, TargetError> {
    // A remote target has put the output chunks sent ahead of the reply back in `printed`.
    let Ran { outcome: result, printed, chunks: _, exit } = ran;
    reported.printed.stdout.extend_from_slice(&printed.stdout);
    reported.printed.stderr.extend_from_slice(&printed.stderr);
    reported.printed.dropped += printed.dropped;
    reported.exit = exit.or(reported.exit);
    outcome(result)
}

/// `features` as a reset sends them: the core's bits (the target's handler checks them).
pub(crate) fn wire_features(features: Features) -> tandem_protocol::Features {
    tandem_protocol::Features(features.bits())
}

/// What an image is compiled for: it must match the session that reads it (the image's
/// header says which features and fuel setting it was made for, and a target refuses
/// another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec {
    /// The session's features (the last reset's).
    pub features: Features,
    /// Whether the target meters fuel.
    pub fuel: bool,
}

/// The host modules every session links: what the spec tests import.
pub const SPECTEST: &[&str] = &["spectest"];

/// The host modules a session links: [`SPECTEST`], then those `asked` for, each once, in
/// the order asked.
pub fn session_hosts<'a>(asked: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut hosts = SPECTEST.to_vec();
    for name in asked {
        if !name.is_empty() && !hosts.contains(&name) {
            hosts.push(name);
        }
    }
    hosts
}

/// Something that loads, instantiates and runs binary WebAssembly modules.
///
/// A session starts with [`Target::reset`], which empties the store and defines
/// the `spectest` host module; the runner calls it once per `.wast` file. Every
/// handle is valid until the next reset.
pub trait Target {
    /// A short name for reports, e.g. `sim`.
    fn name(&self) -> &str;

    /// The board profile whose limits the target applies (`desktop` for the simulator's
    /// own defaults); `None` if the target cannot say.
    fn board(&self) -> Option<&str> {
        None
    }

    /// Whether the target decodes and validates modules itself. A target that does not
    /// gets no module the host knows to be invalid: the runner checks those on the host.
    fn validates(&self) -> bool {
        true
    }

    /// Drops every module and instance and starts a fresh store accepting the proposals in
    /// `features`, with the host modules named in `hosts` available for import (e.g.
    /// [`SPECTEST`]: print functions, `global_i32` = 666, `global_i64` = 666,
    /// `global_f32` = 666.6, `global_f64` = 666.6, a funcref `table` of 10..20 and a
    /// `memory` of 1..2 pages). A target without one of them refuses, naming the ones it has.
    fn reset(&mut self, features: Features, hosts: &[&str]) -> Result<(), TargetError>;

    /// Sets the arguments, environment and stdin the session's WASI programs see (after
    /// [`Target::reset`], before they are instantiated).
    fn set_wasi(&mut self, setup: &WasiSetup) -> Result<(), TargetError>;

    /// Sends a module in `format` (a WebAssembly binary, or an image compiled for this
    /// target) and prepares it without instantiating it.
    fn upload(&mut self, bytes: &[u8], format: ModuleFormat) -> Result<ModuleId, TargetError>;

    /// What images for this target are compiled for, if it takes images rather than
    /// WebAssembly binaries (an images-only firmware, or any target under `--images`):
    /// the session's features and the target's fuel setting.
    fn takes_images(&self) -> Option<ImageSpec> {
        None
    }

    /// Loads a WebAssembly module the way the target takes modules: as it is, or compiled
    /// here into an image ([`Target::takes_images`]); a module this host's core would not
    /// compile is refused with the reason, as the target would refuse it. An image is sent
    /// as it is.
    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        // Already an image (`tandem compile`): sent as it is; a session it was not made for
        // refuses it, naming the difference.
        if crate::program::is_image(wasm) {
            return self.upload(wasm, ModuleFormat::Image);
        }
        match self.takes_images() {
            None => self.upload(wasm, ModuleFormat::Wasm),
            Some(spec) => {
                let image =
                    tandem_handler::compile_image(wire_features(spec.features), spec.fuel, wasm)?;
                self.upload(&image, ModuleFormat::Image)
            }
        }
    }

    /// Instantiates a loaded module, resolving imports against `spectest` and every
    /// registered instance, and runs its start function. A trap while initialising
    /// or in the start function is `Ok(Err(trap))`.
    fn instantiate(&mut self, module: ModuleId) -> Result<Result<InstanceId, Trap>, TargetError>;

    /// Makes all exports of `instance` importable under the module name `as_name`.
    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError>;

    /// Calls the exported function `export` of `instance`.
    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, Trap>, TargetError>;

    /// A task: a value stack of `slots` and a frame stack of `depth` of its own (`None`: the
    /// board's limits), on which calls stop (fuel, deadline, a host function's yield) and
    /// resume.
    fn task_new(&mut self, slots: Option<u32>, depth: Option<u32>) -> Result<TaskId, TargetError>;

    /// Starts `call` on `task`, its first slice `fuel` long.
    fn task_start(
        &mut self,
        task: TaskId,
        call: &InvokeRequest,
        fuel: u64,
    ) -> Result<Result<Progress, Trap>, TargetError>;

    /// Goes on with `task`'s stopped call for a slice of `fuel`.
    fn task_resume(
        &mut self,
        task: TaskId,
        fuel: u64,
    ) -> Result<Result<Progress, Trap>, TargetError>;

    /// Reads the exported global `export` of `instance`.
    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError>;

    /// The current session's statistics (memories, peaks, fuel; target figures if any).
    fn stats(&mut self) -> Result<StatsResponse, TargetError>;

    /// What the calls since the last take printed, and a WASI exit code if a program
    /// exited (each call's reply carries them), leaving nothing behind.
    fn take_reported(&mut self) -> Reported {
        Reported::default()
    }

    /// Brings a target that stopped answering back (a QEMU is restarted, a board reset)
    /// with an empty store; the runner resets it next. A target that cannot says why.
    fn recover(&mut self) -> Result<(), TargetError> {
        Err(TargetError::Transport(format!("the {} target cannot be restarted", self.name())))
    }

    /// The host's account of the link to the target (requests, resends, damaged frames),
    /// for targets behind one.
    fn link_summary(&self) -> Option<String> {
        None
    }

    /// Ends the target cleanly once the runner is done (a board is asked to exit and its
    /// exit status checked); nothing may be requested afterwards.
    fn finish(&mut self) -> Result<(), TargetError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_followed_by_another_names_the_connection_once() {
        let first = TargetError::Transport("the board stopped answering".into());
        let again = TargetError::Transport("QEMU exited".into());
        let both = first.followed_by("restarting it failed too", &again);
        assert!(both.is_fatal());
        assert_eq!(
            both.to_string(),
            "target connection failed: the board stopped answering; restarting it failed too: \
             QEMU exited"
        );
    }
}
