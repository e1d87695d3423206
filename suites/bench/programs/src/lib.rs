//! Tandem's benchmark kernels, written for this project in plain `no_std` Rust.
//!
//! Every kernel is `run(workspace, n) -> i32`: deterministic work that grows with `n` and a
//! checksum of the result. The same source builds two ways:
//! - for `wasm32-unknown-unknown` (`../build.sh`), one module per feature, exporting
//!   `run(n: i32) -> i32` over working arrays kept in `.bss` (no allocator);
//! - natively as an rlib, where the checksums in the `.wast` files and the ones
//!   `tandem-bench` checks against come from.
//!
//! The tight-loop kernels ([`LOOPS`]) are written in WAT instead (`wat/<name>.wat`, turned
//! into `wasm/<name>.wasm` by `bench-wast`), with their native twins in [`loops`].
#![no_std]

// Native builds only: `run_native` boxes the workspaces, and the tests use std.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

pub mod bulk;
pub mod crc32;
pub mod fib;
pub mod lcg;
pub mod loops;
pub mod matmul;
pub mod mixed;
pub mod nbody;
pub mod sha256;
pub mod sieve;
pub mod sort;

/// The programs by name, in the order the suite and the harness list them: the Rust
/// kernels, then the tight loops.
pub const PROGRAMS: [&str; 19] = [
    "fib",
    "sieve",
    "matmul",
    "nbody",
    "sha256",
    "crc32",
    "sort",
    "bulk",
    "mixed",
    "count_local",
    "count_param",
    "count_global",
    "fib_iter",
    "calls",
    "mem_sum",
    "mem_bytes",
    "switch",
    "i64_mix",
    "mandel",
];

/// How many of [`PROGRAMS`] are Rust kernels; the rest are the tight loops.
const RUST_KERNELS: usize = 9;

/// The tight-loop kernels: WAT modules (`wat/<name>.wat`) rather than Rust.
pub const LOOPS: &[&str] = PROGRAMS.split_at(RUST_KERNELS).1;

/// The small `n`s the `.wast` suite asserts for each program: cheap enough for a board
/// (well under 500,000 calls plus loop iterations per invocation, the CI board grants
/// 5,000,000 fuel).
pub const SUITE_N: [(&str, [i32; 2]); 19] = [
    ("fib", [10, 20]),
    ("sieve", [1, 2]),
    ("matmul", [1, 2]),
    ("nbody", [100, 1000]),
    ("sha256", [1, 8]),
    ("crc32", [1, 3]),
    ("sort", [1, 2]),
    ("bulk", [1, 16]),
    ("mixed", [1, 10]),
    ("count_local", [1, 20]),
    ("count_param", [1, 20]),
    ("count_global", [1, 20]),
    ("fib_iter", [1, 20]),
    ("calls", [1, 20]),
    ("mem_sum", [1, 20]),
    ("mem_bytes", [1, 10]),
    ("switch", [1, 20]),
    ("i64_mix", [1, 20]),
    ("mandel", [1, 2]),
];

/// Runs program `name` natively on fresh working arrays: the reference checksum.
#[cfg(not(target_arch = "wasm32"))]
pub fn run_native(name: &str, n: i32) -> Option<i32> {
    use std::boxed::Box;
    Some(match name {
        "fib" => fib::run(n),
        "sieve" => sieve::run(&mut Box::new(sieve::Workspace::new()), n),
        "matmul" => matmul::run(&mut Box::new(matmul::Workspace::new()), n),
        "nbody" => nbody::run(n),
        "sha256" => sha256::run(&mut Box::new(sha256::Workspace::new()), n),
        "crc32" => crc32::run(&mut Box::new(crc32::Workspace::new()), n),
        "sort" => sort::run(&mut Box::new(sort::Workspace::new()), n),
        "bulk" => bulk::run(&mut Box::new(bulk::Workspace::new()), n),
        "mixed" => mixed::run(&mut Box::new(mixed::Workspace::new()), n),
        "count_local" => loops::count_local(n),
        "count_param" => loops::count_param(n),
        "count_global" => loops::count_global(n),
        "fib_iter" => loops::fib_iter(n),
        "calls" => loops::calls(n),
        "mem_sum" => loops::mem_sum(n),
        "mem_bytes" => loops::mem_bytes(n),
        "switch" => loops::switch(n),
        "i64_mix" => loops::i64_mix(n),
        "mandel" => loops::mandel(n),
        _ => return None,
    })
}

/// Folds a 64-bit value (float bits, a wide sum) into an `i32` checksum.
pub fn fold64(bits: u64) -> i32 {
    (bits ^ (bits >> 32)) as i32
}

/// A square root from `+ * /` alone: `f64::sqrt` is std-only and the wasm32 `f64_sqrt`
/// intrinsic is unstable, so both builds run this same code and agree bit for bit.
/// Inputs here are positive and normal; four Newton steps from a bit-level first
/// guess reach full double precision.
#[inline]
pub(crate) fn sqrt(x: f64) -> f64 {
    let mut y = f64::from_bits(0x1ff7_a3be_a91d_9b1b + (x.to_bits() >> 1));
    for _ in 0..4 {
        y = 0.5 * (y + x / y);
    }
    y
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    //! The wasm side: one `run` export per feature, working arrays in linear memory.
    use core::cell::UnsafeCell;

    /// A kernel's working arrays in `.bss`: zero-initialised linear memory, no allocator.
    struct Scratch<T>(UnsafeCell<T>);

    // Sound: a wasm32-unknown-unknown module has one thread and `run` does not re-enter.
    unsafe impl<T> Sync for Scratch<T> {}

    impl<T> Scratch<T> {
        const fn new(value: T) -> Self {
            Scratch(UnsafeCell::new(value))
        }

        /// # Safety
        /// At most one reference at a time: only the `run` export calls this, once.
        #[allow(clippy::mut_from_ref)]
        unsafe fn get(&self) -> &mut T {
            unsafe { &mut *self.0.get() }
        }
    }

    /// Exports `run` for `$feature`: the kernel over a static workspace, or without one.
    macro_rules! export_run {
        ($feature:literal, $kernel:ident) => {
            #[cfg(feature = $feature)]
            #[unsafe(no_mangle)]
            pub extern "C" fn run(n: i32) -> i32 {
                super::$kernel::run(n)
            }
        };
        ($feature:literal, $kernel:ident, workspace) => {
            #[cfg(feature = $feature)]
            #[unsafe(no_mangle)]
            pub extern "C" fn run(n: i32) -> i32 {
                static WORKSPACE: Scratch<super::$kernel::Workspace> =
                    Scratch::new(super::$kernel::Workspace::new());
                // SAFETY: the only use of WORKSPACE, and `run` is never re-entered.
                super::$kernel::run(unsafe { WORKSPACE.get() }, n)
            }
        };
    }

    export_run!("fib", fib);
    export_run!("sieve", sieve, workspace);
    export_run!("matmul", matmul, workspace);
    export_run!("nbody", nbody);
    export_run!("sha256", sha256, workspace);
    export_run!("crc32", crc32, workspace);
    export_run!("sort", sort, workspace);
    export_run!("bulk", bulk, workspace);
    export_run!("mixed", mixed, workspace);

    /// A bounds-check failure or an assertion ends the call with a trap, nothing else.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }
}
