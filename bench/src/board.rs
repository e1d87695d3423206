//! The Cortex-M half of the benchmark: builds the benchmark firmware (`bench/fw`) once per
//! engine with identical glue, runs each under QEMU (`mps2-an386`, the Cortex-M4F, for the
//! report; every MPS2 core for `--cores`) with `-icount shift=0` (guest instructions,
//! deterministic), parses the figures it prints, and measures how much flash each engine
//! adds to the glue-only baseline.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};
use tandem::firmware::FirmwareBuild;
use tandem::qemu::{INSTALL_HINT, LaunchOptions};

/// A build of the benchmark firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The glue alone (allocator, clock, output, the programs' bytes): the flash baseline.
    Baseline,
    /// Tandem's interpreter.
    Tandem {
        /// Built with on-device module validation (the `validate` feature).
        validate: bool,
    },
    /// Tandem reading images only (no decoder, no translator), the programs linked as
    /// images and their code run in place from flash.
    TandemImages,
    /// wasmi, the engine Tandem is measured against.
    Wasmi {
        /// Built with on-device module validation (the `validate` feature).
        validate: bool,
    },
}

impl Variant {
    /// Every variant the report needs.
    pub const ALL: [Variant; 6] = [
        Variant::Baseline,
        Variant::TandemImages,
        Variant::Tandem { validate: false },
        Variant::Tandem { validate: true },
        Variant::Wasmi { validate: false },
        Variant::Wasmi { validate: true },
    ];

    /// A short label, also the variant's target directory.
    pub fn label(self) -> &'static str {
        match self {
            Variant::Baseline => "none",
            Variant::Tandem { validate: false } => "tandem",
            Variant::Tandem { validate: true } => "tandem+validate",
            Variant::TandemImages => "tandem-images",
            Variant::Wasmi { validate: false } => "wasmi",
            Variant::Wasmi { validate: true } => "wasmi+validate",
        }
    }

    /// The firmware's cargo features: the label's parts (`tandem+validate` builds with
    /// `tandem` and `validate`).
    fn features(self) -> Vec<String> {
        self.label().split('+').map(str::to_owned).collect()
    }
}

/// A Cortex-M core under QEMU: the MPS2 machine that has it and the Rust target for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Core {
    /// Its name in tables, e.g. `Cortex-M7`.
    pub name: &'static str,
    /// The QEMU machine (one of target-fw's MPS2 layers).
    pub machine: &'static str,
    /// The Rust target.
    pub target: &'static str,
}

impl Core {
    /// The CI board's core, where every other figure of the report comes from.
    pub const M4F: Core =
        Core { name: "Cortex-M4F", machine: "mps2-an386", target: "thumbv7em-none-eabihf" };

    /// Every core QEMU runs the firmware on.
    pub const ALL: [Core; 4] = [
        Core { name: "Cortex-M3", machine: "mps2-an385", target: "thumbv7m-none-eabi" },
        Core::M4F,
        Core { name: "Cortex-M7", machine: "mps2-an500", target: "thumbv7em-none-eabihf" },
        Core { name: "Cortex-M33", machine: "mps2-an505", target: "thumbv8m.main-none-eabihf" },
    ];
}

/// The benchmark firmware's build for `variant` on `core`: its own target directory per
/// variant and core.
pub fn firmware(variant: Variant, core: Core) -> FirmwareBuild {
    let target_dir = if core == Core::M4F {
        format!("target/{}", variant.label())
    } else {
        format!("target/{}/{}", core.machine, variant.label())
    };
    FirmwareBuild {
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("fw"),
        target: core.target.to_owned(),
        target_dir,
        features: variant.features(),
        env: vec![("TANDEM_BENCH_MACHINE".to_owned(), core.machine.to_owned())],
        chip: None,
        bin: "tandem-bench-fw".to_owned(),
    }
}

/// Builds the firmware for `variant` on `core` (release: opt-level "s", LTO) and returns the
/// ELF.
pub fn build(variant: Variant, core: Core) -> Result<PathBuf, String> {
    firmware(variant, core).build().map_err(|e| {
        format!(
            "building the {} benchmark firmware for the {} failed: {e}",
            variant.label(),
            core.name
        )
    })
}

/// Flash the firmware occupies as code and read-only data: `.text` + `.rodata` (plus the
/// vector table), in bytes.
pub fn flash_bytes(elf: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    Ok(file
        .sections()
        .filter(|s| matches!(s.name(), Ok(".vector_table" | ".text" | ".rodata")))
        .map(|s| s.size())
        .sum())
}

/// Boots `elf` on `core`'s machine in QEMU with `-icount shift=0` and returns what it
/// printed (it exits by itself through semihosting; a non-zero exit is an error carrying the
/// output).
pub fn run(elf: &Path, core: Core) -> Result<String, String> {
    // The target's own launch command (board, semihosting, -icount), UART0 unused.
    let mut qemu = LaunchOptions::new(elf);
    qemu.machine = core.machine.to_owned();
    let output = qemu
        .command()
        .args(["-serial", "null"])
        .output()
        .map_err(|e| format!("cannot run {}: {e} ({INSTALL_HINT})", qemu.binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "the benchmark firmware {} failed ({}):\n{text}{}",
            elf.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(text)
}

/// One program's figures on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardProgram {
    /// The benchmark program's name (`fib`, `sieve`, ...).
    pub name: String,
    /// The argument of the measured `run(n)` call.
    pub n: i32,
    /// What `run(n)` returned, held to the native kernel's.
    pub checksum: i32,
    /// Guest instructions of one `run(n)` call (the second one), to 40 instructions.
    pub instructions: u64,
    /// Allocations during that call.
    pub call_allocations: u64,
    /// Heap the store took before any module (Tandem: its value stack, reserved up front).
    pub store_heap: u64,
    /// Heap of the module and instance right after instantiation.
    pub instance_heap: u64,
    /// Everything the engine held after the first call, store included.
    pub running_heap: u64,
    /// The instance's linear memory (excluded from the heap figures above).
    pub linear_memory: u64,
    /// Guest instructions to load the module: decode and translate (and validate, in a
    /// validating build), or read an image.
    pub load_instructions: u64,
}

/// Everything one firmware run printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardRun {
    /// The firmware's engine label (`tandem`, `wasmi+validate`, ...).
    pub engine: String,
    /// Flash the programs take in this build: wasm, or images.
    pub module_bytes: u64,
    /// Each program's figures, in the firmware's order.
    pub programs: Vec<BoardProgram>,
    /// (wasm call depth, native stack high-water mark in bytes).
    pub stack: Vec<(u32, u64)>,
}

/// Parses the firmware's `key=value` lines; any `error=` line is an error.
pub fn parse(output: &str) -> Result<BoardRun, String> {
    let mut run = BoardRun::default();
    for line in output.lines() {
        let fields: Vec<(&str, &str)> =
            line.split_whitespace().filter_map(|f| f.split_once('=')).collect();
        let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        if let Some(error) = line.split_once("error=").map(|(_, e)| e) {
            return Err(format!("the firmware reported an error: {line} ({error})"));
        }
        let number = |key: &str| -> Result<u64, String> {
            get(key)
                .ok_or_else(|| format!("`{key}` missing in: {line}"))?
                .parse()
                .map_err(|e| format!("`{key}` in `{line}`: {e}"))
        };
        let signed = |key: &str| -> Result<i32, String> {
            get(key)
                .ok_or_else(|| format!("`{key}` missing in: {line}"))?
                .parse()
                .map_err(|e| format!("`{key}` in `{line}`: {e}"))
        };
        if let Some(engine) = get("engine") {
            run.engine = engine.to_owned();
        } else if let Some(name) = get("program") {
            run.programs.push(BoardProgram {
                name: name.to_owned(),
                n: signed("n")?,
                checksum: signed("checksum")?,
                instructions: number("instructions")?,
                call_allocations: number("call_allocations")?,
                store_heap: number("store_heap")?,
                instance_heap: number("instance_heap")?,
                running_heap: number("running_heap")?,
                linear_memory: number("linear_memory")?,
                load_instructions: number("load_instructions")?,
            });
        } else if get("module_bytes").is_some() {
            run.module_bytes = number("module_bytes")?;
        } else if get("depth").is_some() {
            run.stack.push((number("depth")? as u32, number("native_stack")?));
        }
    }
    if run.engine.is_empty() || run.programs.is_empty() {
        return Err(format!("no figures in the firmware's output:\n{output}"));
    }
    Ok(run)
}
