//! Host modules: named sets of host functions that a module may import, linked the same way
//! by the simulator and the firmware, so the same Rust code answers on both sides and
//! parity holds.
//!
//! A host module implements [`HostModule`]: its import name and a `define` that adds its
//! functions to a store and a linker (typed host functions, usually). State a module keeps
//! between calls lives in the store's host data (`Store::set_host_data`), which its
//! functions reach through their `Caller`; what a program prints goes to the store's
//! [`Printed`], which the request handler hands back with each call's outcome.
//!
//! Built in: [`Spectest`] (what the WebAssembly spec tests import),
//! [`TandemTest`] (`tandem`: print a value or a string, fail with a message) and [`Wasi`]
//! (`wasi_snapshot_preview1`, the subset an embedded program uses). A user's own module is a
//! crate implementing the trait (`examples/gpio-timer` is one); the request handler's
//! `HOST_MODULES` lists what a build links.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod printed;
mod spectest;
mod tandem;
mod wasi;

pub use printed::{OutputSink, Printed, Stream};
pub use spectest::Spectest;
pub use tandem::TandemTest;
pub use wasi::{Wasi, WasiContext};

use tandem_interp::{Error, Linker, Store};

/// A named set of host functions (and any globals, tables or memories) that a module may
/// import. `Sync`, so a firmware can list its modules in a `static`.
pub trait HostModule: Sync {
    /// The module name imports use, e.g. `spectest`.
    fn name(&self) -> &'static str;

    /// Shorter names a user may ask for the module by (`--host wasi`, `;; host: wasi`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// Defines the module's entities in `store` and makes them importable through
    /// `linker` under [`HostModule::name`]. Called once per session, on a fresh store
    /// whose host data already holds a [`Printed`].
    fn define(&self, store: &mut Store, linker: &mut Linker) -> Result<(), Error>;
}

/// Where among `modules` the host module named `name` (or aliased so) is.
pub fn position(modules: &[&dyn HostModule], name: &str) -> Option<usize> {
    modules.iter().position(|m| m.name() == name || m.aliases().contains(&name))
}
