//! Tandem against wasmi on the project's own benchmark programs: the kernels of
//! `suites/bench/` and the real programs of `suites/apps/`.
//!
//! Each program is a committed `.wasm` module exporting `run(n: i32) -> i32` (a kernel) or
//! `bench(n: i32) -> i32` (an app: its workload `n` times, without output). An [`Engine`]
//! instantiates it once and then times single calls, so instantiation and translation stay
//! outside the measurement. A kernel's checksum is held to the same kernel run natively
//! (`tandem-bench-programs`), an app's to wasmi's. The apps' WASI imports are linked to
//! stand-ins that trap: `bench` never calls them.

use std::time::{Duration, Instant};

use tandem_interp as tandem;

/// Linear-memory pages every benchmark module fits in (its initial size, checked by a
/// test); also the size of the static buffer Tandem's static-memory runs get.
pub const MAX_MEMORY_PAGES: usize = 4;

/// One benchmark program.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// The program's name, also its native kernel's (`fib`, `sieve`, ...).
    pub name: &'static str,
    /// The committed module's bytes.
    pub wasm: &'static [u8],
    /// `n` for a timed run: about 50-200 ms on a desktop.
    pub bench_n: i32,
    /// Heavy on linear memory: also timed with Tandem's static-buffer memory.
    pub memory_heavy: bool,
    /// A real program of `suites/apps/` (export `bench`, checksum held to wasmi's) rather
    /// than a kernel (export `run`, checksum held to the native kernel's).
    pub app: bool,
}

impl Program {
    /// The export a timed call runs.
    pub fn export(&self) -> &'static str {
        if self.app { "bench" } else { "run" }
    }
}

macro_rules! program {
    ($name:literal, $bench_n:expr, $memory_heavy:expr) => {
        Program {
            name: $name,
            wasm: include_bytes!(concat!("../../suites/bench/programs/wasm/", $name, ".wasm")),
            bench_n: $bench_n,
            memory_heavy: $memory_heavy,
            app: false,
        }
    };
}

macro_rules! app {
    ($name:literal, $bench_n:expr) => {
        Program {
            name: $name,
            wasm: include_bytes!(concat!("../../suites/apps/", $name, ".wasm")),
            bench_n: $bench_n,
            memory_heavy: false,
            app: true,
        }
    };
}

/// The programs in `tandem_bench_programs::PROGRAMS` order.
pub const PROGRAMS: [Program; 9] = [
    program!("fib", 32, false),
    program!("sieve", 120, true),
    program!("matmul", 150, false),
    program!("nbody", 25_000, false),
    program!("sha256", 300, false),
    program!("crc32", 300, false),
    program!("sort", 45, true),
    program!("bulk", 10_000, true),
    program!("mixed", 600, false),
];

/// The real programs of `suites/apps/`, after the kernels in reports.
pub const APPS: [Program; 4] =
    [app!("lz", 60), app!("markdown", 60), app!("json", 60), app!("stackvm", 60)];

/// Every program: the kernels, then the apps.
pub fn all_programs() -> impl Iterator<Item = &'static Program> {
    PROGRAMS.iter().chain(APPS.iter())
}

/// The reference checksum of a kernel: the kernel compiled natively (`None` for an app,
/// which has no native counterpart here: it is held to wasmi's checksum instead).
pub fn native_checksum(program: &Program, n: i32) -> Option<i32> {
    if program.app {
        return None;
    }
    let checksum = tandem_bench_programs::run_native(program.name, n);
    Some(checksum.unwrap_or_else(|| panic!("no native kernel named {}", program.name)))
}

/// Where Tandem keeps the module's linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TandemMemory {
    /// The default: memory on the heap.
    Heap,
    /// A leaked `&'static mut` buffer of [`MAX_MEMORY_PAGES`] pages.
    Static,
}

/// An instantiated program on one engine, ready to be called repeatedly.
pub enum Engine {
    // Both stores boxed: they are hundreds of bytes (wasmi's over a kilobyte) inline.
    /// Tandem's interpreter.
    Tandem {
        /// The store holding the instance.
        store: Box<tandem::Store>,
        /// The module's exported `run`.
        run: tandem::Func,
    },
    /// wasmi, the engine Tandem is measured against.
    Wasmi {
        /// The store holding the instance.
        store: Box<wasmi::Store<()>>,
        /// The module's exported `run`.
        run: wasmi::TypedFunc<i32, i32>,
    },
}

impl Engine {
    /// Tandem with its default config (Wasm 2.0, no fuel metering), calling `export`.
    pub fn tandem(wasm: &[u8], export: &str, memory: TandemMemory) -> Result<Self, String> {
        let config = tandem::Config::new();
        let module = tandem::Module::new(&config, wasm).map_err(|e| format!("tandem: {e}"))?;
        let mut store = tandem::Store::new(config);
        let mut linker = tandem::Linker::new();
        for (module_name, name, _) in module.imports() {
            let Some(ty) = module.func_type_of_import(module_name, name) else {
                return Err(format!("tandem: cannot stand in for the import {module_name}.{name}"));
            };
            let stand_in = store.host_func(ty.clone(), |_, _, _| {
                Err(tandem::Trap::host("a benchmark called an import"))
            });
            linker.define(module_name, name, tandem::Extern::Func(stand_in));
        }
        let options = match memory {
            TandemMemory::Heap => tandem::InstanceOptions::new(),
            TandemMemory::Static => {
                let bytes = MAX_MEMORY_PAGES * tandem::PAGE_SIZE;
                // Leaked once per engine: a static buffer must outlive every instance.
                let buffer: &'static mut [u8] = Box::leak(vec![0; bytes].into_boxed_slice());
                tandem::InstanceOptions::new().with_static_memory(0, buffer)
            }
        };
        let instance = linker
            .instantiate_with(&mut store, &module, options)
            .map_err(|e| format!("tandem: {e}"))?;
        let run = instance.func(&store, export).map_err(|e| format!("tandem: {e}"))?;
        Ok(Engine::Tandem { store: Box::new(store), run })
    }

    /// wasmi with its default config, calling `export`.
    pub fn wasmi(wasm: &[u8], export: &str) -> Result<Self, String> {
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, wasm).map_err(|e| format!("wasmi: {e}"))?;
        let mut store = wasmi::Store::new(&engine, ());
        let mut linker = wasmi::Linker::<()>::new(&engine);
        for import in module.imports() {
            let wasmi::ExternType::Func(ty) = import.ty() else {
                return Err(format!("wasmi: cannot stand in for the import {}", import.name()));
            };
            linker
                .func_new(import.module(), import.name(), ty.clone(), |_, _, _| {
                    Err(wasmi::Error::new("a benchmark called an import"))
                })
                .map_err(|e| format!("wasmi: {e}"))?;
        }
        let instance =
            linker.instantiate_and_start(&mut store, &module).map_err(|e| format!("wasmi: {e}"))?;
        let run = instance
            .get_typed_func::<i32, i32>(&store, export)
            .map_err(|e| format!("wasmi: {e}"))?;
        Ok(Engine::Wasmi { store: Box::new(store), run })
    }

    /// Calls `run(n)`, timing the call alone.
    pub fn call(&mut self, n: i32) -> Result<(i32, Duration), String> {
        match self {
            Engine::Tandem { store, run } => {
                let mut results = [tandem::Value::I32(0)];
                let start = Instant::now();
                store
                    .call(*run, &[tandem::Value::I32(n)], &mut results)
                    .map_err(|e| format!("tandem: {e}"))?;
                let elapsed = start.elapsed();
                match results[0] {
                    tandem::Value::I32(checksum) => Ok((checksum, elapsed)),
                    other => Err(format!("tandem: run returned {other:?}")),
                }
            }
            Engine::Wasmi { store, run } => {
                let start = Instant::now();
                let checksum = run.call(&mut **store, n).map_err(|e| format!("wasmi: {e}"))?;
                Ok((checksum, start.elapsed()))
            }
        }
    }
}

/// What one program measured.
pub struct Row {
    /// The program's name.
    pub name: &'static str,
    /// The argument of each timed `run(n)` call.
    pub n: i32,
    /// Tandem's median call time.
    pub tandem: Duration,
    /// wasmi's median call time.
    pub wasmi: Duration,
    /// Tandem with a static-buffer memory, for the memory-heavy programs.
    pub tandem_static: Option<Duration>,
    /// A real program (`suites/apps/`) rather than a kernel.
    pub app: bool,
}

/// Instantiates the program on each engine, warms each up, then times `runs` rounds in
/// which every engine runs once.
pub fn measure(program: &Program, runs: usize) -> Result<Row, String> {
    let n = program.bench_n;
    let mut expected = native_checksum(program, n);
    let export = program.export();
    let mut engines: Vec<(&str, Engine)> = vec![
        ("tandem", Engine::tandem(program.wasm, export, TandemMemory::Heap)?),
        ("wasmi", Engine::wasmi(program.wasm, export)?),
    ];
    if program.memory_heavy {
        let engine = Engine::tandem(program.wasm, export, TandemMemory::Static)?;
        engines.push(("tandem-static", engine));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); engines.len()];
    // Round 0 is the untimed warm-up.
    for round in 0..=runs {
        for ((label, engine), times) in engines.iter_mut().zip(samples.iter_mut()) {
            let (checksum, elapsed) = engine.call(n)?;
            // Without a native kernel, the engines are held to each other: the first
            // checksum is the reference.
            let reference = *expected.get_or_insert(checksum);
            if checksum != reference {
                return Err(format!(
                    "{label} returned {checksum} for {export}({n}), the reference {reference}"
                ));
            }
            if round > 0 {
                times.push(elapsed);
            }
        }
    }
    Ok(Row {
        name: program.name,
        n,
        tandem: median(&samples[0]),
        wasmi: median(&samples[1]),
        tandem_static: samples.get(2).map(|times| median(times)),
        app: program.app,
    })
}

/// The median of `samples` (the mean of the middle two for an even count).
pub fn median(samples: &[Duration]) -> Duration {
    assert!(!samples.is_empty(), "median of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2 }
}

/// For the kernels, then the apps (`ratios(false)`, `ratios(true)`), the group's name, how
/// many ratios it has and their geometric mean; a group without any is left out. The groups
/// are averaged apart so the kernels' mean stays comparable with reports before the apps.
pub fn group_means(ratios: impl Fn(bool) -> Vec<f64>) -> Vec<(&'static str, usize, f64)> {
    [("kernels", false), ("apps", true)]
        .into_iter()
        .filter_map(|(group, app)| {
            let r = ratios(app);
            (!r.is_empty()).then(|| (group, r.len(), geometric_mean(&r)))
        })
        .collect()
}

/// The geometric mean: the fair average of ratios.
pub fn geometric_mean(ratios: &[f64]) -> f64 {
    assert!(!ratios.is_empty(), "geometric mean of nothing");
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

pub mod board;
pub mod report;

#[cfg(test)]
mod tests;
