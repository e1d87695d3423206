//! The harness behind the fuzz targets: run a module on Tandem (and, for the differential
//! target, on wasmi) and describe what happened in engine-neutral terms.
//!
//! Both engines run the same schedule: instantiate (a start function runs with fuel), then
//! call every exported function in the order of their names with zero arguments and fresh fuel, then read
//! every exported global and digest every exported memory. Fuel and stack limits are metered
//! differently by the two engines, so a call where either runs out ends the comparison.

use std::fmt;

use tandem_interp::{
    Config, Dispatch, Error, Extern, Func, Linker, Module, Progress, Store, Task, TrapKind,
    ValType, Value,
};

/// Fuel per call (and for instantiation). Tandem charges per function entry and loop
/// header, wasmi per instruction: enough for small loops either way.
pub const FUEL: u64 = 100_000;
/// Heap-backed linear memory the fuzzed store may hold; more is a clean `MemoryBudget` error.
const HEAP_MEMORY_BUDGET: u64 = 64 << 20;
/// Value-stack slots and call depth: small, so deep recursion exhausts quickly.
const VALUE_STACK: u32 = 64 * 1024;
const CALL_DEPTH: u32 = 256;

/// A value as both engines can report it. References compare by null-ness only: their
/// identities are engine-internal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bits {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    NullRef,
    Ref,
}

/// Trap kinds as both engines distinguish them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapClass {
    Unreachable,
    MemoryOutOfBounds,
    /// A table access, or a `call_indirect` index, past the table's end.
    TableOutOfBounds,
    /// `call_indirect` through a null entry.
    NullElement,
    IndirectCallTypeMismatch,
    IntegerDivideByZero,
    IntegerOverflow,
    InvalidConversionToInteger,
    /// Anything else (a host trap; nothing a module without imports can cause).
    Other,
}

/// What one call (or the instantiation) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Returned(Vec<Bits>),
    Trapped(TrapClass),
    /// Out of fuel or stack: the engines meter differently, so nothing after this compares.
    Exhausted,
}

/// Everything observed of one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The instantiation (its start function), then each exported function's call.
    pub calls: Vec<(String, Outcome)>,
    /// Exported globals after the calls, unless a call was exhausted.
    pub globals: Vec<(String, Bits)>,
    /// Exported memories after the calls: size in bytes and FNV-1a digest.
    pub memories: Vec<(String, u64, u64)>,
    /// Per entry of `calls`, what only Tandem's runs compare among themselves (its
    /// dispatches, slicing, images): the fuel left (granted but unspent) and the exact trap,
    /// which [`Outcome`] folds where wasmi meters or names them differently. Empty for wasmi.
    pub exact: Vec<(u64, Option<TrapKind>)>,
}

impl Observation {
    fn exhausted(&self) -> bool {
        self.calls.iter().any(|(_, o)| *o == Outcome::Exhausted)
    }
}

/// Why a module did not get as far as running.
#[derive(Debug)]
pub enum Refused {
    Tandem(Error),
    Wasmi(String),
}

impl Refused {
    /// A resource limit (not a verdict on the module): memory budget, heap, frame size.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Refused::Tandem(
                Error::Limit { .. }
                    | Error::MemoryBudget { .. }
                    | Error::OutOfMemory { .. }
                    | Error::HeapExhausted { .. }
            )
        )
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Tandem(e) => write!(f, "Tandem: {e}"),
            Refused::Wasmi(e) => write!(f, "wasmi: {e}"),
        }
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn tandem_bits(v: Value) -> Bits {
    match v {
        Value::I32(x) => Bits::I32(x),
        Value::I64(x) => Bits::I64(x),
        Value::F32(x) => Bits::F32(x),
        Value::F64(x) => Bits::F64(x),
        Value::FuncRef(None) | Value::ExternRef(None) => Bits::NullRef,
        Value::FuncRef(Some(_)) | Value::ExternRef(Some(_)) => Bits::Ref,
    }
}

fn tandem_outcome(result: Result<Vec<Value>, Error>) -> Result<Outcome, Error> {
    Ok(match result {
        Ok(values) => Outcome::Returned(values.into_iter().map(tandem_bits).collect()),
        Err(Error::Trap(trap)) => match trap.kind() {
            TrapKind::StackExhausted | TrapKind::OutOfFuel | TrapKind::Interrupted => {
                Outcome::Exhausted
            }
            TrapKind::Unreachable => Outcome::Trapped(TrapClass::Unreachable),
            TrapKind::MemoryOutOfBounds => Outcome::Trapped(TrapClass::MemoryOutOfBounds),
            TrapKind::TableOutOfBounds | TrapKind::UndefinedElement => {
                Outcome::Trapped(TrapClass::TableOutOfBounds)
            }
            TrapKind::UninitializedElement => Outcome::Trapped(TrapClass::NullElement),
            TrapKind::IndirectCallTypeMismatch => {
                Outcome::Trapped(TrapClass::IndirectCallTypeMismatch)
            }
            TrapKind::IntegerDivideByZero => Outcome::Trapped(TrapClass::IntegerDivideByZero),
            TrapKind::IntegerOverflow => Outcome::Trapped(TrapClass::IntegerOverflow),
            TrapKind::InvalidConversionToInteger => {
                Outcome::Trapped(TrapClass::InvalidConversionToInteger)
            }
            TrapKind::Host => Outcome::Trapped(TrapClass::Other),
        },
        Err(e) => return Err(e),
    })
}

/// The bits of the call arguments, in turn: `args` (the fuzz input's) over and over, zeros
/// when there are none. Both engines draw the same, converted to each parameter's type.
fn arg_bits(args: &[u64]) -> impl Iterator<Item = u64> + '_ {
    args.iter().copied().cycle().chain(core::iter::repeat(0))
}

fn tandem_arg(ty: ValType, bits: u64) -> Value {
    match ty {
        ValType::I32 => Value::I32(bits as u32 as i32),
        ValType::I64 => Value::I64(bits as i64),
        ValType::F32 => Value::F32(bits as u32),
        ValType::F64 => Value::F64(bits),
        // References cannot come from outside but as null.
        other => Value::default_for(other),
    }
}

/// Runs `bytes` on Tandem: decode, validate, translate, instantiate, call every export with
/// arguments drawn from `args` ([`arg_bits`]). Never panics for any input; that is what the
/// fuzz targets check.
pub fn run_tandem(bytes: &[u8], args: &[u64]) -> Result<Observation, Refused> {
    run_tandem_on(Dispatch::best(), bytes, args, None)
}

/// [`run_tandem`] with every call run as a task in slices of `slice` fuel (the same fuel in
/// all, on stacks of the same size), or plainly without `slice`: resuming must go on exactly
/// where a call stopped, so both observe the same.
pub fn run_tandem_in_slices(
    bytes: &[u8],
    args: &[u64],
    slice: Option<u64>,
) -> Result<Observation, Refused> {
    run_tandem_on(Dispatch::best(), bytes, args, slice)
}

/// [`run_tandem_in_slices`] on `dispatch`: the boards' `match` loop ([`Dispatch::Loop`])
/// and the hosts' threaded handlers must observe exactly the same, fuel and traps included.
pub fn run_tandem_on(
    dispatch: Dispatch,
    bytes: &[u8],
    args: &[u64],
    slice: Option<u64>,
) -> Result<Observation, Refused> {
    let config = tandem_config().with_dispatch(dispatch);
    let module = Module::new(&config, bytes).map_err(Refused::Tandem)?;
    run_tandem_module(&module, config, args, slice)
}

/// The config every Tandem run here uses: fuel on, small stacks, a heap-memory budget.
pub fn tandem_config() -> Config {
    Config::new()
        .with_fuel(true)
        .with_limits(VALUE_STACK, CALL_DEPTH)
        .with_heap_memory_budget(Some(HEAP_MEMORY_BUDGET))
}

/// [`run_tandem`] of the module `bytes` written as an image and read back: an image must
/// run exactly as the module it was made from.
pub fn run_tandem_image(bytes: &[u8], args: &[u64]) -> Result<Observation, Refused> {
    let config = tandem_config();
    let module = Module::new(&config, bytes).map_err(Refused::Tandem)?;
    let image = module.to_image(&config).map_err(Refused::Tandem)?;
    let back = Module::from_image(&config, &image).map_err(Refused::Tandem)?;
    run_tandem_module(&back, config, args, None)
}

/// Whether [`run_tandem`] and [`run_tandem_image`] observe the same.
pub fn image_agrees(bytes: &[u8], args: &[u64]) -> Result<(), Mismatch> {
    let (module, image) = (run_tandem(bytes, args), run_tandem_image(bytes, args));
    if same(&module, &image) {
        return Ok(());
    }
    Err(Mismatch(format!(
        "the module and its image differ:\n  module: {module:?}\n  image:  {image:?}"
    )))
}

/// An image of `bytes` with the changes `edits` describes (each an offset into the body and
/// a byte to xor there), its checksum made right again so the changes reach the verifier:
/// it is refused, or it runs (with fuel) without a panic.
pub fn run_edited_image(bytes: &[u8], edits: &[Edit]) -> Result<(), Refused> {
    const HEADER: usize = 32;
    // An edit can declare a table or memory of gigabytes: a board-like heap refuses it
    // (the fuzzer's allocator would abort the process on the attempt rather than fail it).
    let config =
        tandem_config().with_heap_limit(Some(64 << 20)).with_table_elements_limit(Some(1 << 20));
    let module = Module::new(&config, bytes).map_err(Refused::Tandem)?;
    let mut image = module.to_image(&config).map_err(Refused::Tandem)?;
    let body = image.len() - HEADER;
    for &(at, xor) in edits {
        if body > 0 {
            image[HEADER + at as usize % body] ^= xor;
        }
    }
    let checksum = tandem_interp::image_checksum(&image[HEADER..]);
    image[28..32].copy_from_slice(&checksum.to_le_bytes());
    let edited = Module::from_image(&config, &image).map_err(Refused::Tandem)?;
    run_tandem_module(&edited, config, &[], None).map(drop)
}

/// Instantiates `module` and calls every export (see [`run_tandem`]).
fn run_tandem_module(
    module: &Module,
    config: Config,
    args: &[u64],
    slice: Option<u64>,
) -> Result<Observation, Refused> {
    let mut store = Store::new(config);
    store.set_fuel(FUEL);
    let mut observed = Observation::default();
    let instance = match Linker::new().instantiate(&mut store, module) {
        Ok(instance) => instance,
        Err(Error::Trap(trap)) => {
            observed.exact.push((store.fuel(), Some(trap.kind())));
            let outcome = tandem_outcome(Err(Error::Trap(trap))).map_err(Refused::Tandem)?;
            observed.calls.push(("(start)".into(), outcome));
            return Ok(observed);
        }
        Err(e) => return Err(Refused::Tandem(e)),
    };
    observed.calls.push(("(start)".into(), Outcome::Returned(Vec::new())));
    observed.exact.push((store.fuel(), None));
    let task = match slice {
        Some(_) => Some(store.new_task(VALUE_STACK, CALL_DEPTH).map_err(Refused::Tandem)?),
        None => None,
    };
    let mut exports: Vec<(String, Extern)> =
        instance.exports(&store).map(|(name, ext)| (name.to_owned(), ext)).collect();
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    let mut bits = arg_bits(args);
    for (name, ext) in &exports {
        let Extern::Func(func) = *ext else { continue };
        let ty = store.func_type(func).clone();
        let call_args: Vec<Value> =
            ty.params().iter().map(|&t| tandem_arg(t, bits.next().unwrap_or(0))).collect();
        let mut results = vec![Value::I32(0); ty.results().len()];
        let result = match (task, slice) {
            (Some(task), Some(slice)) => call_in_slices(&mut store, task, func, &call_args, slice),
            _ => {
                store.set_fuel(FUEL);
                store.call(func, &call_args, &mut results).map(|()| results)
            }
        };
        let trap = match &result {
            Err(Error::Trap(trap)) => Some(trap.kind()),
            _ => None,
        };
        observed.exact.push((store.fuel(), trap));
        let outcome = tandem_outcome(result).map_err(Refused::Tandem)?;
        let exhausted = outcome == Outcome::Exhausted;
        observed.calls.push((name.clone(), outcome));
        if exhausted {
            return Ok(observed);
        }
    }
    for (name, ext) in &exports {
        match *ext {
            Extern::Global(g) => {
                observed.globals.push((name.clone(), tandem_bits(store.global_get(g))))
            }
            Extern::Memory(m) => {
                let data = store.memory_data(m);
                observed.memories.push((name.clone(), data.len() as u64, fnv1a64(data)));
            }
            _ => {}
        }
    }
    Ok(observed)
}

/// A call on `task`, given [`FUEL`] in slices of `slice` (a slice's unspent fuel carries
/// over), resumed until it ends; out of fuel when the last slice is spent. Afterwards the
/// store holds the fuel not spent, granted or not, as after a plain call.
fn call_in_slices(
    store: &mut Store,
    task: Task,
    func: Func,
    args: &[Value],
    slice: u64,
) -> Result<Vec<Value>, Error> {
    // Fuel not yet granted.
    let mut left = FUEL;
    store.set_fuel(0);
    let result = drive_in_slices(store, task, func, args, slice, &mut left);
    store.set_fuel(store.fuel() + left);
    result
}

/// [`call_in_slices`]'s run, `left` the fuel not yet granted.
fn drive_in_slices(
    store: &mut Store,
    task: Task,
    func: Func,
    args: &[Value],
    slice: u64,
    left: &mut u64,
) -> Result<Vec<Value>, Error> {
    let mut results = vec![Value::I32(0); store.func_type(func).results().len()];
    let grant = |store: &mut Store, left: &mut u64| {
        let more = slice.min(*left);
        *left -= more;
        store.set_fuel(store.fuel() + more);
    };
    grant(store, left);
    let mut progress = store.start(task, func, args, &mut results)?;
    while let Progress::Suspended(_) = progress {
        if *left == 0 {
            store.cancel(task)?;
            return Err(TrapKind::OutOfFuel.into());
        }
        grant(store, left);
        progress = store.resume(task, &mut results)?;
    }
    Ok(results)
}

/// Whether [`run_tandem`] and [`run_tandem_in_slices`] with `slice` observe the same, on
/// every dispatch this build has.
pub fn slices_agree(bytes: &[u8], args: &[u64], slice: u64) -> Result<(), Mismatch> {
    let plain = run_tandem(bytes, args);
    for &dispatch in dispatches() {
        let sliced = run_tandem_on(dispatch, bytes, args, Some(slice));
        if !same(&plain, &sliced) {
            return Err(Mismatch(format!(
                "a call in slices of {slice} fuel on {} differs from the plain call:\n  plain:  {plain:?}\n  sliced: {sliced:?}",
                dispatch.name()
            )));
        }
    }
    Ok(())
}

/// The dispatches this build runs: [`Dispatch::best`], and the boards' loop if that differs.
fn dispatches() -> &'static [Dispatch] {
    match Dispatch::best() {
        Dispatch::Threaded => &[Dispatch::Threaded, Dispatch::Loop],
        Dispatch::Loop => &[Dispatch::Loop],
    }
}

/// Whether two of Tandem's runs of one module observe the same: equal observations, or
/// refusals with the same message.
fn same(a: &Result<Observation, Refused>, b: &Result<Observation, Refused>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.to_string() == b.to_string(),
        _ => false,
    }
}

fn wasmi_bits(v: &wasmi::Val) -> Bits {
    match v {
        wasmi::Val::I32(x) => Bits::I32(*x),
        wasmi::Val::I64(x) => Bits::I64(*x),
        wasmi::Val::F32(x) => Bits::F32(x.to_bits()),
        wasmi::Val::F64(x) => Bits::F64(x.to_bits()),
        wasmi::Val::FuncRef(r) if r.is_null() => Bits::NullRef,
        wasmi::Val::ExternRef(r) if r.is_null() => Bits::NullRef,
        _ => Bits::Ref,
    }
}

fn wasmi_outcome(result: Result<Vec<wasmi::Val>, wasmi::Error>) -> Result<Outcome, wasmi::Error> {
    use wasmi::TrapCode as T;
    Ok(match result {
        Ok(values) => Outcome::Returned(values.iter().map(wasmi_bits).collect()),
        Err(e) => match e.as_trap_code() {
            Some(T::OutOfFuel | T::StackOverflow) => Outcome::Exhausted,
            Some(T::UnreachableCodeReached) => Outcome::Trapped(TrapClass::Unreachable),
            Some(T::MemoryOutOfBounds) => Outcome::Trapped(TrapClass::MemoryOutOfBounds),
            Some(T::TableOutOfBounds) => Outcome::Trapped(TrapClass::TableOutOfBounds),
            Some(T::IndirectCallToNull) => Outcome::Trapped(TrapClass::NullElement),
            Some(T::BadSignature) => Outcome::Trapped(TrapClass::IndirectCallTypeMismatch),
            Some(T::IntegerDivisionByZero) => Outcome::Trapped(TrapClass::IntegerDivideByZero),
            Some(T::IntegerOverflow) => Outcome::Trapped(TrapClass::IntegerOverflow),
            Some(T::BadConversionToInteger) => {
                Outcome::Trapped(TrapClass::InvalidConversionToInteger)
            }
            Some(_) => Outcome::Trapped(TrapClass::Other),
            None => return Err(e),
        },
    })
}

/// Native stack for the wasmi oracle's thread: wasmi chains its instruction handlers as tail
/// calls, and where the compiler does not turn them into jumps (the sanitizer builds the fuzz
/// targets use), every executed instruction takes native stack. Only touched pages count.
const WASMI_STACK: usize = 1 << 30;

/// Runs `bytes` on wasmi with the same schedule as [`run_tandem`], on a thread with room for
/// its executor.
pub fn run_wasmi(bytes: &[u8], args: &[u64]) -> Result<Observation, Refused> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("wasmi-oracle".into())
            .stack_size(WASMI_STACK)
            .spawn_scoped(scope, || run_wasmi_here(bytes, args))
            .expect("a thread for wasmi")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn wasmi_arg(ty: wasmi::ValType, bits: u64) -> wasmi::Val {
    match ty {
        wasmi::ValType::I32 => wasmi::Val::I32(bits as u32 as i32),
        wasmi::ValType::I64 => wasmi::Val::I64(bits as i64),
        wasmi::ValType::F32 => wasmi::Val::F32(wasmi::F32::from_bits(bits as u32)),
        wasmi::ValType::F64 => wasmi::Val::F64(wasmi::F64::from_bits(bits)),
        other => wasmi::Val::default_for_ty(other),
    }
}

fn run_wasmi_here(bytes: &[u8], args: &[u64]) -> Result<Observation, Refused> {
    let wasmi_err = |e: wasmi::Error| Refused::Wasmi(e.to_string());
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    // Tandem's feature set: wasmi has the rest of it on by default.
    config.wasm_custom_page_sizes(true);
    config.set_max_recursion_depth(CALL_DEPTH as usize);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, bytes).map_err(wasmi_err)?;
    let mut store = wasmi::Store::new(&engine, ());
    store.set_fuel(FUEL).map_err(wasmi_err)?;
    let mut observed = Observation::default();
    let instance = match wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
    {
        Ok(instance) => instance,
        // An active element segment past its table's end: wasmi reports the spec's
        // instantiation trap as an instantiation error of its own.
        Err(e)
            if matches!(
                e.kind(),
                wasmi::errors::ErrorKind::Instantiation(
                    wasmi::errors::InstantiationError::ElementSegmentDoesNotFit { .. }
                )
            ) =>
        {
            observed.calls.push(("(start)".into(), Outcome::Trapped(TrapClass::TableOutOfBounds)));
            return Ok(observed);
        }
        Err(e) if e.as_trap_code().is_some() => {
            let outcome = wasmi_outcome(Err(e)).map_err(wasmi_err)?;
            observed.calls.push(("(start)".into(), outcome));
            return Ok(observed);
        }
        Err(e) => return Err(wasmi_err(e)),
    };
    observed.calls.push(("(start)".into(), Outcome::Returned(Vec::new())));
    let mut exports: Vec<(String, wasmi::Extern)> =
        instance.exports(&store).map(|e| (e.name().to_owned(), e.into_extern())).collect();
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    let mut bits = arg_bits(args);
    for (name, ext) in &exports {
        let Some(func) = (*ext).into_func() else { continue };
        let ty = func.ty(&store);
        let call_args: Vec<wasmi::Val> =
            ty.params().iter().map(|&t| wasmi_arg(t, bits.next().unwrap_or(0))).collect();
        let mut results: Vec<wasmi::Val> =
            ty.results().iter().map(|&t| wasmi::Val::default_for_ty(t)).collect();
        store.set_fuel(FUEL).map_err(wasmi_err)?;
        let result = func.call(&mut store, &call_args, &mut results).map(|()| results);
        let outcome = wasmi_outcome(result).map_err(wasmi_err)?;
        let exhausted = outcome == Outcome::Exhausted;
        observed.calls.push((name.clone(), outcome));
        if exhausted {
            return Ok(observed);
        }
    }
    for (name, ext) in &exports {
        if let Some(g) = (*ext).into_global() {
            observed.globals.push((name.clone(), wasmi_bits(&g.get(&store))));
        } else if let Some(m) = (*ext).into_memory() {
            let data = m.data(&store);
            observed.memories.push((name.clone(), data.len() as u64, fnv1a64(data)));
        }
    }
    Ok(observed)
}

/// Runs `wasm` (valid, from wasm-smith) in a store whose heap account holds `heap_limit`
/// bytes, as on a tiny board: loaded in `chunk`-byte parts, instantiated and every export
/// called, each step as far as the account lets it. Any refusal must be an error naming the
/// heap (or another limit) or a -1 from a grow, never a panic; a refused load or
/// instantiation must give back all it charged; the account never exceeds its limit.
/// `Err` says which of these broke.
pub fn run_tiny(wasm: &[u8], heap_limit: u64, chunk: usize) -> Result<(), String> {
    let config = Config::new()
        .with_fuel(true)
        .with_limits(256, 32)
        .with_heap_memory_budget(Some(HEAP_MEMORY_BUDGET))
        .with_heap_limit(Some(heap_limit));
    let Ok(mut store) = Store::try_new(config) else { return Ok(()) };
    let over = |store: &Store, at: &str| -> Result<(), String> {
        let stats = store.heap_stats();
        match stats.in_use > heap_limit || stats.peak > heap_limit {
            true => Err(format!("{at}: the account holds {stats:?} over its limit {heap_limit}")),
            false => Ok(()),
        }
    };
    let limit_error = |e: &Error| Refused::Tandem(e.clone()).is_limit();
    let before = store.heap_stats().in_use;
    let mut partial = store.begin_module(wasm.len());
    let mut fed = Ok(());
    for part in wasm.chunks(chunk.max(1)) {
        fed = store.feed_module(&mut partial, part);
        if fed.is_err() {
            break;
        }
    }
    let loaded = fed.and_then(|()| store.end_module(partial));
    over(&store, "loading")?;
    let module = match loaded {
        Ok(module) => module,
        Err(e) if limit_error(&e) => {
            return match store.heap_stats().in_use == before {
                true => Ok(()),
                false => Err(format!(
                    "a refused load left {} bytes charged ({e})",
                    store.heap_stats().in_use - before
                )),
            };
        }
        Err(e) => return Err(format!("a valid module was refused: {e}")),
    };
    let loaded_in_use = store.heap_stats().in_use;
    store.set_fuel(FUEL);
    let instance = match Linker::new().instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => {
            over(&store, "instantiating")?;
            if !limit_error(&e) && !matches!(e, Error::Trap(_)) {
                return Err(format!("instantiation failed otherwise than by a limit: {e}"));
            }
            if limit_error(&e) && store.heap_stats().in_use != loaded_in_use {
                return Err(format!("a refused instantiation left charges ({e})"));
            }
            return Ok(());
        }
    };
    let exports: Vec<Extern> = instance.exports(&store).map(|(_, ext)| ext).collect();
    for ext in exports {
        let Extern::Func(func) = ext else { continue };
        let ty = store.func_type(func).clone();
        let args: Vec<Value> = ty.params().iter().map(|&t| Value::default_for(t)).collect();
        let mut results = vec![Value::I32(0); ty.results().len()];
        store.set_fuel(FUEL);
        let _ = store.call(func, &args, &mut results);
        over(&store, "calling")?;
    }
    Ok(())
}

/// Where Tandem and wasmi disagree.
#[derive(Debug)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs `bytes` on both engines and compares what they did. A disagreement in a module
/// where the oracle's known miscompilation can occur ([`wasmi_select_eqz_bug`]) is not
/// reported.
pub fn differential(bytes: &[u8], args: &[u64]) -> Result<(), Mismatch> {
    let tandem = run_tandem(bytes, args);
    // Tandem against itself first: wasmi's bug below excuses nothing between dispatches.
    dispatches_agree(&tandem, bytes, args)?;
    compare(tandem, bytes, args)
        .or_else(|m| if wasmi_select_eqz_bug(bytes) { Ok(()) } else { Err(m) })
}

/// Whether every other dispatch this build has observes `tandem`, [`run_tandem`]'s
/// observation of `bytes`.
fn dispatches_agree(
    tandem: &Result<Observation, Refused>,
    bytes: &[u8],
    args: &[u64],
) -> Result<(), Mismatch> {
    for &dispatch in &dispatches()[1..] {
        let other = run_tandem_on(dispatch, bytes, args, None);
        if !same(tandem, &other) {
            return Err(Mismatch(format!(
                "the dispatches differ:\n  {}: {tandem:?}\n  {}: {other:?}",
                Dispatch::best().name(),
                dispatch.name()
            )));
        }
    }
    Ok(())
}

/// Whether a function of `bytes` has `i32.eqz` or `ref.is_null` right before a `select`:
/// wasmi 2.0.0 fuses the two into a select on the negated operand, and when that operand
/// is in a stack slot (a local) it reads its result register instead, so
/// `(select (i32.add (local.get 0) (i32.const 9)) (i32.const 5) (i32.eqz (local.get 0)))`
/// gives 5 for 0 (the spec, and Tandem, give 9). `tests/harness.rs` asserts the bug is
/// still there, so an upgrade that fixes it fails there and this check can go.
pub fn wasmi_select_eqz_bug(bytes: &[u8]) -> bool {
    use wasmparser::{Operator, Parser, Payload};
    Parser::new(0).parse_all(bytes).flatten().any(|payload| {
        let Payload::CodeSectionEntry(body) = payload else { return false };
        let Ok(reader) = body.get_operators_reader() else { return false };
        let mut negated = false;
        for op in reader.into_iter().flatten() {
            let select = matches!(op, Operator::Select | Operator::TypedSelect { .. });
            if negated && select {
                return true;
            }
            negated = matches!(op, Operator::I32Eqz | Operator::RefIsNull);
        }
        false
    })
}

/// Tandem's observation of `bytes` (`tandem`, from [`run_tandem`]) against wasmi's.
fn compare(
    tandem: Result<Observation, Refused>,
    bytes: &[u8],
    args: &[u64],
) -> Result<(), Mismatch> {
    let (tandem, wasmi) = match (tandem, run_wasmi(bytes, args)) {
        (Ok(t), Ok(w)) => (t, w),
        // A module over Tandem's resource limits says nothing about its semantics.
        (Err(t), _) if t.is_limit() => return Ok(()),
        (Err(_), Err(_)) => return Ok(()),
        (Err(t), Ok(_)) => return Err(Mismatch(format!("only Tandem refused the module: {t}"))),
        (Ok(_), Err(w)) => return Err(Mismatch(format!("only wasmi refused the module: {w}"))),
    };
    for ((name, t), (_, w)) in tandem.calls.iter().zip(&wasmi.calls) {
        if *t == Outcome::Exhausted || *w == Outcome::Exhausted {
            return Ok(());
        }
        if t != w {
            return Err(Mismatch(format!("`{name}`: Tandem {t:?}, wasmi {w:?}")));
        }
    }
    if tandem.calls.len() != wasmi.calls.len() || tandem.exhausted() || wasmi.exhausted() {
        return Err(Mismatch(format!(
            "the call sequences differ: Tandem {:?}, wasmi {:?}",
            tandem.calls, wasmi.calls
        )));
    }
    if tandem.globals != wasmi.globals {
        return Err(Mismatch(format!(
            "globals: Tandem {:?}, wasmi {:?}",
            tandem.globals, wasmi.globals
        )));
    }
    if tandem.memories != wasmi.memories {
        return Err(Mismatch(format!(
            "memories (name, bytes, digest): Tandem {:?}, wasmi {:?}",
            tandem.memories, wasmi.memories
        )));
    }
    Ok(())
}

/// A differential fuzz input read as the target reads it: a wasm-smith module from its start,
/// the call arguments from the rest; `None` when no module can be made of it.
pub fn differential_input(data: &[u8]) -> Option<(Vec<u8>, Vec<u64>)> {
    let mut u = arbitrary::Unstructured::new(data);
    let wasm = smith_module(&mut u).ok()?;
    let args = u.arbitrary_iter::<u64>().map(|it| it.flatten().collect()).unwrap_or_default();
    Some((wasm, args))
}

/// A change to an image: the offset into its body (taken modulo the body's length) and a
/// non-zero xor for the byte there.
pub type Edit = (u32, u8);

/// An image fuzz input read as the target reads it: up to eight edits (an offset into the
/// image's body and a non-zero xor each), then a wasm-smith module; `None` when the input
/// runs out first.
pub fn image_input(data: &[u8]) -> Option<(Vec<u8>, Vec<Edit>)> {
    let mut u = arbitrary::Unstructured::new(data);
    let count = u.int_in_range(0usize..=8).ok()?;
    let mut edits = Vec::with_capacity(count);
    for _ in 0..count {
        edits.push((u.arbitrary::<u32>().ok()?, u.int_in_range(1u8..=255).ok()?));
    }
    Some((smith_module(&mut u).ok()?, edits))
}

/// A wasm-smith module within Tandem's feature set (Wasm 2.0 without SIMD, tail calls,
/// extended constants, up to 3 memories, 1-byte pages; no imports), with every export, NaNs
/// canonicalised (so float results compare bit for bit) and small declared maxima for
/// memories and tables (so growth stays cheap on both engines).
pub fn smith_module(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let config = wasm_smith::Config {
        max_imports: 0,
        export_everything: true,
        canonicalize_nans: true,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        tail_call_enabled: true,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: true,
        custom_page_sizes_enabled: true,
        max_memories: 3,
        max_tables: 1,
        max_memory32_bytes: 16 << 16,
        memory_max_size_required: true,
        max_table_elements: 10_000,
        table_max_size_required: true,
        ..wasm_smith::Config::default()
    };
    Ok(wasm_smith::Module::new(config, u)?.to_bytes())
}
