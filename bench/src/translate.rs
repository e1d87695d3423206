//! Translation speed: the time each engine takes from a module's bytes to a module ready to
//! instantiate (decode, validate, translate), on the apps and on one large generated module.
//!
//! Tandem translates every function up front; wasmi's default only validates up front and
//! translates a function on its first call, so it is timed both ways: eager (the like-for-like
//! figure) and its default. Silverfir-nano's interpreter predecodes when it instantiates, so it
//! is timed instantiating (imports linked to stand-ins that trap).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use tandem_interp as tandem;

use crate::{APPS, median};

/// Functions in the large module: thousands, like a big program's.
pub const LARGE_FUNCTIONS: usize = 4000;

/// A module of `functions` functions with the shapes compiled code has (locals, nested blocks,
/// loops with counters, `br_table`, loads and stores, calls to earlier functions, i64 and f64
/// arithmetic), each a few dozen operators; deterministic, so every run times the same bytes.
pub fn large_module(functions: usize) -> Vec<u8> {
    let mut wat = String::from("(module\n  (memory 1)\n  (global $g (mut i32) (i32.const 0))\n");
    for k in 0..functions {
        let callee = if k == 0 {
            String::from("(i32.const 7)")
        } else {
            format!("(call $f{} (local.get $a) (local.get $i))", k - 1)
        };
        let c = (k * 2_654_435_761) % 1000;
        let body = match k % 4 {
            0 => format!(
                "(local $i i32) (local $s i32)
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $i) (local.get $b)))
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const {c}))))
      (i32.store offset=16 (i32.and (local.get $i) (i32.const 1020)) (local.get $s))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $loop)))
    (i32.xor (local.get $s) {callee})"
            ),
            1 => format!(
                "(local $i i32) (local $x i64)
    (local.set $x (i64.extend_i32_u (local.get $a)))
    (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 (i32.and (local.get $b) (i32.const 3))))
      (local.set $x (i64.mul (local.get $x) (i64.const {c}))) (br $b2))
      (local.set $x (i64.rotl (local.get $x) (i64.const 13))))
    (global.set $g (i32.wrap_i64 (local.get $x)))
    (i32.add (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 7))) {callee})"
            ),
            2 => format!(
                "(local $i i32) (local $f f64)
    (local.set $f (f64.convert_i32_s (local.get $a)))
    (if (f64.gt (local.get $f) (f64.const {c}.5))
      (then (local.set $f (f64.div (local.get $f) (f64.const 3))))
      (else (local.set $f (f64.add (f64.mul (local.get $f) (local.get $f)) (f64.const 1)))))
    (i32.add (i32.trunc_sat_f64_s (local.get $f))
      (i32.add (i32.load8_u offset={c} (local.get $b)) {callee}))"
            ),
            _ => format!(
                "(local $i i32)
    (local.set $i (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))
    (if (result i32) (i32.eqz (local.get $i))
      (then (i32.const {c}))
      (else (i32.sub (i32.shl (local.get $i) (i32.const 2)) {callee})))"
            ),
        };
        let _ = writeln!(
            wat,
            "  (func $f{k} (export \"f{k}\") (param $a i32) (param $b i32) (result i32)\n    {body})"
        );
    }
    wat.push(')');
    wat::parse_str(&wat).expect("the generated module parses")
}

/// One module's translation times, medians over the runs.
pub struct TranslationRow {
    /// The module's name (an app's, or `large`).
    pub name: String,
    /// Its size in bytes.
    pub bytes: usize,
    /// Tandem's `Module::new` (validating).
    pub tandem: Duration,
    /// wasmi's `Module::new` translating every function up front.
    pub wasmi_eager: Duration,
    /// wasmi's `Module::new` as it comes: validation up front, translation on first call.
    pub wasmi_lazy: Duration,
    /// Silverfir-nano's `Instance::new` (its interpreter predecodes then).
    pub silverfir: Duration,
}

/// Times every engine on `wasm`, `runs` rounds after one untimed round, engines alternating.
pub fn measure_translation(name: &str, wasm: &[u8], runs: usize) -> Result<TranslationRow, String> {
    let tandem_config = tandem::Config::new();
    let wasmi_engine = |mode| {
        let mut config = wasmi::Config::default();
        config.compilation_mode(mode);
        wasmi::Engine::new(&config)
    };
    let eager = wasmi_engine(wasmi::CompilationMode::Eager);
    let lazy = wasmi_engine(wasmi::CompilationMode::LazyTranslation);
    let sf_engine = sf_nano_core::Engine::new(sf_nano_core::Config::new())
        .map_err(|e| format!("silverfir: {e}"))?;
    let module = tandem::Module::new(&tandem_config, wasm).map_err(|e| format!("tandem: {e}"))?;
    let time = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<Duration, String> {
        let start = Instant::now();
        f()?;
        Ok(start.elapsed())
    };
    let mut samples: [Vec<Duration>; 4] = Default::default();
    for round in 0..=runs {
        let figures = [
            time(&mut || {
                tandem::Module::new(&tandem_config, wasm)
                    .map(drop)
                    .map_err(|e| format!("tandem: {e}"))
            })?,
            time(&mut || {
                wasmi::Module::new(&eager, wasm).map(drop).map_err(|e| format!("wasmi: {e}"))
            })?,
            time(&mut || {
                wasmi::Module::new(&lazy, wasm).map(drop).map_err(|e| format!("wasmi: {e}"))
            })?,
            time(&mut || {
                sf_nano_core::Instance::new(&sf_engine, wasm, &crate::silverfir_stand_ins(&module))
                    .map(drop)
                    .map_err(|e| format!("silverfir: {e}"))
            })?,
        ];
        if round > 0 {
            for (times, t) in samples.iter_mut().zip(figures) {
                times.push(t);
            }
        }
    }
    Ok(TranslationRow {
        name: name.to_owned(),
        bytes: wasm.len(),
        tandem: median(&samples[0]),
        wasmi_eager: median(&samples[1]),
        wasmi_lazy: median(&samples[2]),
        silverfir: median(&samples[3]),
    })
}

/// Timed rounds of translation for `runs` asked of the harness: at least 31. A round takes
/// milliseconds, and the medians of 7 moved by a tenth between runs of the harness.
pub fn translation_runs(runs: usize) -> usize {
    runs.max(31)
}

/// The apps, then the large module, [`translation_runs`] rounds each.
pub fn measure_all(runs: usize) -> Result<Vec<TranslationRow>, String> {
    let runs = translation_runs(runs);
    let mut rows = Vec::new();
    for app in &APPS {
        rows.push(measure_translation(app.name, app.wasm, runs)?);
    }
    let large = large_module(LARGE_FUNCTIONS);
    rows.push(measure_translation("large", &large, runs)?);
    Ok(rows)
}
