//! The benchmark firmware: runs the project's benchmark programs (the kernels of
//! `suites/bench/`, then the real programs of `suites/apps/`) on one engine, Tandem or wasmi (a cargo feature), on the QEMU `mps2-an386` Cortex-M4 board, and
//! prints one line of figures per measurement on semihosting stdout, then exits.
//!
//! Under `-icount shift=0` QEMU executes one guest instruction per virtual nanosecond, and
//! SysTick at the nominal 25 MHz ticks once per 40 instructions, so [`clock`] is a
//! deterministic instruction counter. Per program the firmware reports the heap the engine
//! takes for the module and instance (linear memory excluded), the instructions and
//! allocations of `run(n)` (the second call: the first may translate lazily), and the
//! checksum, which the host compares with the native kernel's. Then the executor's native
//! stack high-water mark at wasm call depth 10 and 1000.
//!
//! The glue (allocator, clock, stack paint, output) is identical for every engine, so the
//! difference between two builds' figures is the engines'. With `none` the firmware is the
//! glue alone: the baseline for the flash figures.
#![no_std]
#![no_main]

extern crate alloc;

mod clock;
mod engine;
mod heap;
/// The QEMU machine's PSRAM address and clock, from target-fw's layer (build.rs).
mod machine {
    include!(concat!(env!("OUT_DIR"), "/machine.rs"));
}
// The very stack meter target-fw reports with, so both firmwares measure alike.
#[path = "../../../target-fw/src/stack.rs"]
mod stack;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

/// A benchmark program and the `n` it runs with on the board (about 10-100 M instructions).
struct Program {
    name: &'static str,
    /// The module: its wasm, or in the `tandem-images` build its image (build.rs).
    module: &'static [u8],
    /// `run` for a kernel, `bench` for an app (its workload `n` times, without output).
    export: &'static str,
    n: i32,
}

/// Bytes placed at an 8-byte boundary: an image's parts are read in place (its code as
/// instructions, its constants as 8-byte slots).
#[cfg(feature = "tandem-images")]
#[repr(C, align(8))]
struct Aligned<Bytes: ?Sized>(Bytes);

/// The module named `$name` in `$dir`, as this build links it: the wasm file, or the image
/// build.rs compiled from it, aligned, in flash.
#[cfg(not(feature = "tandem-images"))]
macro_rules! module {
    ($dir:literal, $name:literal) => {
        include_bytes!(concat!("../../../", $dir, "/", $name, ".wasm"))
    };
}
#[cfg(feature = "tandem-images")]
macro_rules! module {
    ($dir:literal, $name:literal) => {
        &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".tandem"))).0
    };
}

macro_rules! program {
    ($name:literal, $n:expr) => {
        Program {
            name: $name,
            module: module!("suites/bench/programs/wasm", $name),
            export: "run",
            n: $n,
        }
    };
}

macro_rules! app {
    ($name:literal, $n:expr) => {
        Program { name: $name, module: module!("suites/apps", $name), export: "bench", n: $n }
    };
}

const PROGRAMS: [Program; 23] = [
    program!("fib", 22),
    program!("sieve", 4),
    program!("matmul", 5),
    program!("nbody", 800),
    program!("sha256", 10),
    program!("crc32", 10),
    program!("sort", 2),
    program!("bulk", 300),
    program!("mixed", 20),
    program!("count_local", 100),
    program!("count_param", 100),
    program!("count_global", 50),
    program!("fib_iter", 50),
    program!("calls", 30),
    program!("mem_sum", 100),
    program!("mem_bytes", 50),
    program!("switch", 30),
    program!("i64_mix", 30),
    program!("mandel", 10),
    app!("lz", 2),
    app!("markdown", 2),
    app!("json", 2),
    app!("stackvm", 2),
];

#[cfg(not(feature = "tandem-images"))]
const DEPTH_MODULE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/depth.wasm"));
#[cfg(feature = "tandem-images")]
const DEPTH_MODULE: &[u8] = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/depth.tandem"))).0;

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else { exit(false) };
    clock::init(core.SYST);
    hprintln!("engine={}", engine::NAME);
    // What the programs take of flash in this build (wasm, or images), so the engine's own
    // flash can be told from theirs.
    let module_bytes = PROGRAMS.iter().map(|p| p.module.len()).sum::<usize>() + DEPTH_MODULE.len();
    hprintln!("module_bytes={}", module_bytes);
    let mut ok = true;
    for program in &PROGRAMS {
        ok &= measure(program);
    }
    ok &= measure_stack();
    exit(ok)
}

/// One program: instantiate (heap figures), warm up, then one measured call.
fn measure(program: &Program) -> bool {
    let fail = |e: &dyn core::fmt::Display| {
        hprintln!("program={} error={}", program.name, e);
        false
    };
    let before = heap::counters().allocated_bytes;
    let mut instance = match engine::Instance::new(program.module) {
        Ok(instance) => instance,
        Err(e) => return fail(&e) || engine::NAME == "none",
    };
    let instantiated = heap::counters().allocated_bytes;
    let (linear_memory, store_heap) = (instance.memory_bytes(), instance.store_heap());
    // The first call may translate functions lazily (wasmi does) or grow stacks.
    if let Err(e) = instance.call(program.export, program.n) {
        return fail(&e);
    }
    let warmed = heap::counters().allocated_bytes;
    let allocs_before = heap::counters().total_allocation_count;
    let start = clock::instructions();
    let result = instance.call(program.export, program.n);
    let instructions = clock::instructions() - start;
    let allocs = heap::counters().total_allocation_count - allocs_before;
    let checksum = match result {
        Ok(checksum) => checksum,
        Err(e) => return fail(&e),
    };
    hprintln!(
        "program={} n={} checksum={} instructions={} call_allocations={} store_heap={} \
         instance_heap={} running_heap={} linear_memory={} load_instructions={}",
        program.name,
        program.n,
        checksum,
        instructions,
        allocs,
        store_heap,
        instantiated - before - linear_memory - store_heap,
        warmed - before - linear_memory,
        linear_memory,
        instance.load_instructions()
    );
    true
}

/// The native stack at wasm call depth 10 and 1000: an interpreter that does not recurse on
/// the native stack for wasm calls uses the same at both.
fn measure_stack() -> bool {
    let mut instance = match engine::Instance::new(DEPTH_MODULE) {
        Ok(instance) => instance,
        Err(e) => {
            hprintln!("depth error={}", e);
            return engine::NAME == "none";
        }
    };
    let mut ok = true;
    for depth in [10, 1000] {
        stack::repaint();
        let base = stack::high_water();
        match instance.call("rec", depth) {
            Ok(got) if got == depth => {
                let used = stack::high_water();
                hprintln!(
                    "depth={} native_stack={} before_call={} stack_size={}",
                    depth,
                    used,
                    base,
                    stack::size()
                );
            }
            Ok(got) => {
                hprintln!("depth={} error=rec returned {}", depth, got);
                ok = false;
            }
            Err(e) => {
                hprintln!("depth={} error={}", depth, e);
                ok = false;
            }
        }
    }
    ok
}

fn exit(success: bool) -> ! {
    debug::exit(if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    exit(false)
}
