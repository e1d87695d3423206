//! Tandem against wasmi (and, on the desktop, Silverfir-nano's interpreter) on the project's
//! own benchmark programs: the kernels of `suites/bench/` and the real programs of
//! `suites/apps/`.
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
    /// Which set it belongs to, averaged apart in reports.
    pub group: Group,
}

/// The sets of programs, each averaged on its own (and all together) so that a set's means
/// stay comparable with reports from before the others existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A Rust kernel of `suites/bench/programs/src` (export `run`, checksum held to the native
    /// kernel's).
    Kernel,
    /// A tight-loop kernel of `suites/bench/programs/wat` (export `run`, checksum held to its
    /// native twin's).
    Loop,
    /// A real program of `suites/apps/` (export `bench`, checksum held to wasmi's).
    App,
}

impl Group {
    /// Every group, in report order.
    pub const ALL: [Group; 3] = [Group::Kernel, Group::Loop, Group::App];

    /// The group's name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Group::Kernel => "kernels",
            Group::Loop => "tight loops",
            Group::App => "apps",
        }
    }
}

impl Program {
    /// The export a timed call runs.
    pub fn export(&self) -> &'static str {
        if self.group == Group::App { "bench" } else { "run" }
    }
}

macro_rules! program {
    ($name:literal, $bench_n:expr, $memory_heavy:expr) => {
        program!($name, $bench_n, $memory_heavy, Group::Kernel)
    };
    ($name:literal, $bench_n:expr, $memory_heavy:expr, $group:expr) => {
        Program {
            name: $name,
            wasm: include_bytes!(concat!("../../suites/bench/programs/wasm/", $name, ".wasm")),
            bench_n: $bench_n,
            memory_heavy: $memory_heavy,
            group: $group,
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
            group: Group::App,
        }
    };
}

/// The programs in `tandem_bench_programs::PROGRAMS` order: the Rust kernels, then the tight
/// loops.
pub const PROGRAMS: [Program; 19] = [
    program!("fib", 32, false),
    program!("sieve", 120, true),
    program!("matmul", 150, false),
    program!("nbody", 25_000, false),
    program!("sha256", 300, false),
    program!("crc32", 300, false),
    program!("sort", 45, true),
    program!("bulk", 10_000, true),
    program!("mixed", 600, false),
    program!("count_local", 5_000, false, Group::Loop),
    program!("count_param", 5_000, false, Group::Loop),
    program!("count_global", 2_500, false, Group::Loop),
    program!("fib_iter", 3_000, false, Group::Loop),
    program!("calls", 1_000, false, Group::Loop),
    program!("mem_sum", 5_000, true, Group::Loop),
    program!("mem_bytes", 2_500, true, Group::Loop),
    program!("switch", 1_000, false, Group::Loop),
    program!("i64_mix", 2_000, false, Group::Loop),
    program!("mandel", 400, false, Group::Loop),
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
    if program.group == Group::App {
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
    /// Silverfir-nano's interpreter, the second peer (desktop only).
    Silverfir {
        /// The instance.
        instance: Box<sf_nano_core::Instance>,
        /// The module's exported `run`.
        run: sf_nano_core::Func,
    },
}

impl Engine {
    /// Tandem with its default config (Wasm 2.0, no fuel metering), calling `export`.
    pub fn tandem(wasm: &[u8], export: &str, memory: TandemMemory) -> Result<Self, String> {
        Self::tandem_with(tandem::Config::new(), wasm, export, memory)
    }

    /// Tandem under `config` (e.g. another dispatch), as [`Engine::tandem`].
    pub fn tandem_with(
        config: tandem::Config,
        wasm: &[u8],
        export: &str,
        memory: TandemMemory,
    ) -> Result<Self, String> {
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

    /// Silverfir-nano with its interpreter (the only engine built in), calling `export`.
    pub fn silverfir(wasm: &[u8], export: &str) -> Result<Self, String> {
        let engine = sf_nano_core::Engine::new(sf_nano_core::Config::new())
            .map_err(|e| format!("silverfir: {e}"))?;
        // The import names, read with Tandem's decoder (validated there too).
        let module = tandem::Module::new(&tandem::Config::new(), wasm)
            .map_err(|e| format!("silverfir: {e}"))?;
        let instance = sf_nano_core::Instance::new(&engine, wasm, &silverfir_stand_ins(&module))
            .map_err(|e| format!("silverfir: {e}"))?;
        let run = instance.get_func(export).ok_or(format!("silverfir: no export {export}"))?;
        Ok(Engine::Silverfir { instance: Box::new(instance), run })
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
            Engine::Silverfir { instance, run } => {
                let mut results = [sf_nano_core::Value::I32(0)];
                let start = Instant::now();
                instance
                    .call(run, &[sf_nano_core::Value::I32(n)], &mut results)
                    .map_err(|e| format!("silverfir: {e}"))?;
                let elapsed = start.elapsed();
                match results[0] {
                    sf_nano_core::Value::I32(checksum) => Ok((checksum, elapsed)),
                    other => Err(format!("silverfir: run returned {other:?}")),
                }
            }
        }
    }
}

/// Silverfir-nano imports for every import of `module` (functions: the apps' WASI), each a
/// stand-in that traps: `bench` never calls them.
pub(crate) fn silverfir_stand_ins(module: &tandem::Module) -> Vec<sf_nano_core::Import> {
    module
        .imports()
        .map(|(module_name, name, _)| {
            sf_nano_core::Import::func(module_name, name, |_, _, _| {
                Err(sf_nano_core::WasmError::trap("a benchmark called an import"))
            })
        })
        .collect()
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
    /// Silverfir-nano's interpreter's median call time.
    pub silverfir: Duration,
    /// Tandem with a static-buffer memory, for the memory-heavy programs.
    pub tandem_static: Option<Duration>,
    /// The program's set.
    pub group: Group,
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
        ("silverfir", Engine::silverfir(program.wasm, export)?),
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
        silverfir: median(&samples[2]),
        tandem_static: samples.get(3).map(|times| median(times)),
        group: program.group,
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

/// For each group (`ratios(group)`), then for all of them together, the set's name, how many
/// ratios it has and their geometric mean; a group without any is left out.
pub fn group_means(ratios: impl Fn(Group) -> Vec<f64>) -> Vec<(&'static str, usize, f64)> {
    let mut all = Vec::new();
    let mut means: Vec<_> = Group::ALL
        .into_iter()
        .filter_map(|group| {
            let r = ratios(group);
            all.extend_from_slice(&r);
            (!r.is_empty()).then(|| (group.label(), r.len(), geometric_mean(&r)))
        })
        .collect();
    if means.len() > 1 {
        means.push(("all programs", all.len(), geometric_mean(&all)));
    }
    means
}

/// The geometric mean: the fair average of ratios.
pub fn geometric_mean(ratios: &[f64]) -> f64 {
    assert!(!ratios.is_empty(), "geometric mean of nothing");
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

pub mod board;
pub mod report;
pub mod translate;

#[cfg(test)]
mod tests;
