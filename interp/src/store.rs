//! The store: every function, table, memory, global and instance, addressed by `u32`.
//!
//! Handles (`Func`, `Memory`, ...) are plain addresses into one store's vectors, so
//! instances can share imported entities. The store also owns the value stack and
//! the call-frame stack, allocated once when it is created: a call never allocates.
//!
//! Every public method of [`Store`] is here: the embedder's API (making host functions,
//! globals, tables and memories outside any module, reading and writing them, calling a
//! function, fuel and statistics); the typed host functions and calls among them are thin
//! doors into `typed`. Instantiation is in `linker`, an instance's exports in
//! `instance`, the run loop in `exec`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::AtomicBool;

use crate::config::Config;
use crate::error::{Error, ExternKind, Trap};
use crate::heap::{BoardSize, HeapAccount, HeapStats, HeapUse, board_bytes};
#[cfg(feature = "wasm")]
use crate::module::PartialModule;
use crate::module::{Bytes, GlobalType, MemoryType, Module, TableType};
use crate::raw::memory::{LinearMemory, MemStats};
use crate::task::{Progress, Stacks, Task, TaskEntity};
use crate::typed::{IntoHostFunc, TypedFunc, WasmTyList};
use crate::value::{FuncType, Slot, ValType, Value};

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);
    };
}

handle!(
    /// A function in a store (wasm or host).
    Func
);
handle!(
    /// A table in a store.
    Table
);
handle!(
    /// A linear memory in a store.
    Memory
);
handle!(
    /// A global in a store.
    Global
);
handle!(
    /// An instantiated module in a store.
    Instance
);

/// An entity a module can import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
}

impl Extern {
    /// Which kind of entity this is.
    pub fn kind(&self) -> ExternKind {
        match self {
            Extern::Func(_) => ExternKind::Func,
            Extern::Table(_) => ExternKind::Table,
            Extern::Memory(_) => ExternKind::Memory,
            Extern::Global(_) => ExternKind::Global,
        }
    }
}

/// What a host function sees of its caller: the calling instance's memory 0 and the
/// store's host data.
pub struct Caller<'a> {
    pub(crate) memory: Option<&'a mut LinearMemory>,
    pub(crate) data: &'a mut HostData,
    pub(crate) yield_requested: bool,
}

impl Caller<'_> {
    /// Asks the call to stop once this host function has returned its results, so that a
    /// scheduler can run something else: a call on a task ([`Store::start`]) then answers
    /// [`Suspension::Yielded`](crate::Suspension::Yielded) and resumes after the host call;
    /// a plain call, which cannot stop, goes on.
    pub fn request_yield(&mut self) {
        self.yield_requested = true;
    }

    /// The calling instance's memory 0, if it has one.
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        self.memory.as_deref_mut().map(LinearMemory::data_mut)
    }

    /// The store's host data of type `T` (see [`Store::set_host_data`]).
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.data.get()
    }

    /// The store's host data of type `T`, writable.
    pub fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.data.get_mut()
    }

    /// Memory 0 and the host data of type `T` at once, e.g. to copy a guest buffer into a
    /// host-side output.
    pub fn memory_and_data<T: Any>(&mut self) -> (Option<&mut [u8]>, Option<&mut T>) {
        (self.memory.as_deref_mut().map(LinearMemory::data_mut), self.data.get_mut())
    }
}

/// Values of any types, one per type, that the embedder keeps in a store for its host
/// functions: what a set of host functions shares (an output buffer, a device's state)
/// without capturing it in every closure.
#[derive(Default)]
pub(crate) struct HostData(Vec<Box<dyn Any + Send>>);

impl HostData {
    fn get<T: Any>(&self) -> Option<&T> {
        self.0.iter().find_map(|value| value.downcast_ref())
    }

    fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.0.iter_mut().find_map(|value| value.downcast_mut())
    }
}

/// A host function: reads its arguments, writes its results (the slice has exactly
/// the signature's length), or traps.
pub type HostFn = dyn FnMut(&mut Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap> + Send;

pub(crate) enum FuncKind {
    /// Function `index` (in the module's index space) of instance `instance`.
    Wasm {
        instance: u32,
        index: u32,
    },
    Host(Box<HostFn>),
}

pub(crate) struct FuncEntity {
    /// Index into `Store::types`: equal signatures share one id, so
    /// `call_indirect` compares two integers.
    pub ty: u32,
    pub kind: FuncKind,
}

pub(crate) struct TableEntity {
    pub elem_ty: ValType,
    /// Reference slots: `0` null, otherwise `address + 1`.
    pub elems: Vec<Slot>,
    pub max: Option<u32>,
    /// What `table.grow` may reach: the declared maximum, lowered to the config's limit.
    pub limit: u32,
}

pub(crate) struct GlobalEntity {
    pub ty: ValType,
    pub mutable: bool,
    pub value: Slot,
}

/// An element segment's references; empty once dropped.
pub(crate) struct ElemEntity {
    pub items: Box<[Slot]>,
}

/// A data segment's bytes; `None` once dropped.
pub(crate) struct DataEntity {
    pub bytes: Option<Bytes>,
}

/// An instantiated module: its index spaces mapped to store addresses.
pub(crate) struct InstanceEntity {
    pub module: Module,
    /// Module type index -> store type id.
    pub types: Box<[u32]>,
    pub funcs: Box<[u32]>,
    pub tables: Box<[u32]>,
    pub memories: Box<[u32]>,
    pub globals: Box<[u32]>,
    pub elems: Box<[u32]>,
    pub datas: Box<[u32]>,
}

/// A suspended caller on the frame stack: what to restore when the callee returns.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallFrame {
    /// The caller's instance (whose code `return_offset` is in).
    pub instance: u32,
    /// Where to continue in the caller's code: a byte offset (`CodePtr::offset_from`).
    pub return_offset: u32,
    /// The caller's base slot in the value stack.
    pub base: u32,
}

/// How much fuel the run loop charges between two looks at the interrupt flag: small enough
/// for a prompt stop (milliseconds on a desktop, tens of them on a Cortex-M4), large enough
/// that the look costs nothing measurable.
pub const FUEL_SLICE: u64 = 1 << 16;

/// Figures a run can be judged by; none depends on the pointer width.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Most value-stack slots in use at once.
    pub peak_stack_slots: u32,
    /// Deepest wasm call nesting reached.
    pub peak_call_depth: u32,
    /// Fuel charged so far.
    pub fuel_consumed: u64,
    /// `memory.grow`s that returned -1 although the memory's own maximum allowed them:
    /// refused by the heap-memory budget, a full static buffer or a failed allocation.
    pub grow_refusals: u32,
}

/// Everything instances live in: the functions, tables, memories, globals and instances
/// the handles address, and the value and frame stacks, allocated once so that a call
/// never allocates. Handles of one store mean nothing in another.
pub struct Store {
    pub(crate) config: Config,
    pub(crate) types: Vec<FuncType>,
    pub(crate) funcs: Vec<FuncEntity>,
    pub(crate) tables: Vec<TableEntity>,
    pub(crate) memories: Vec<LinearMemory>,
    pub(crate) globals: Vec<GlobalEntity>,
    pub(crate) elems: Vec<ElemEntity>,
    pub(crate) datas: Vec<DataEntity>,
    pub(crate) instances: Vec<InstanceEntity>,
    /// The stacks plain calls run on.
    pub(crate) stacks: Stacks,
    /// Tasks: stacks of their own, for calls that may stop and go on later.
    pub(crate) tasks: Vec<TaskEntity>,
    /// The slice of the fuel left that the run loop may charge before it next looks at
    /// the interrupt flag; only charged when the config meters fuel.
    pub(crate) fuel: u64,
    /// The rest of the fuel left, handed out a slice at a time.
    pub(crate) fuel_reserve: u64,
    /// Raised by the embedder to stop a running call (see [`Store::set_interrupt_flag`]).
    pub(crate) interrupt: Option<&'static AtomicBool>,
    pub(crate) stats: ExecStats,
    /// Bytes of heap-backed linear memory held, checked against `config.max_heap_memory`.
    pub(crate) heap_memory_bytes: u64,
    /// Everything the store holds on the heap, in board bytes, against `config.max_heap`.
    pub(crate) heap: HeapAccount,
    /// Argument and result buffers for host calls, sized when a host function is
    /// defined so that calling one does not allocate.
    pub(crate) host_args: Vec<Value>,
    pub(crate) host_results: Vec<Value>,
    /// Static buffers handed over but holding no memory (a failed instantiation's, or
    /// replaced ones), kept for [`Store::into_static_buffers`].
    pub(crate) idle_static_buffers: Vec<&'static mut [u8]>,
    /// The embedder's state for its host functions.
    pub(crate) host_data: HostData,
}

/// The embedder's side of the store: entities made outside any module, access to them,
/// calls, fuel and statistics. Accessors that return no `Result` panic when given a
/// handle of another store, like indexing out of bounds.
impl Store {
    /// A store whose value stack and frame stack are allocated now, at the
    /// config's limits. They are charged to the heap account even past `Config::max_heap`
    /// (nothing else will fit then); [`Store::try_new`] refuses instead.
    pub fn new(config: Config) -> Self {
        let mut store = Store::empty(config);
        let (slots, depth) = (store.config.max_value_stack, store.config.max_call_depth);
        store.stacks = Stacks::new(slots, depth);
        store.heap.charge_unchecked(Stacks::bytes(slots, depth));
        store
    }

    /// A store whose stacks are allocated now, if they fit `Config::max_heap` and the heap:
    /// otherwise [`Error::HeapExhausted`] or [`Error::OutOfMemory`], never an abort.
    pub fn try_new(config: Config) -> Result<Self, Error> {
        let mut store = Store::empty(config);
        let (slots, depth) = (store.config.max_value_stack, store.config.max_call_depth);
        store.heap.charge(Stacks::bytes(slots, depth), HeapUse::Stacks)?;
        store.stacks = Stacks::try_new(slots, depth)?;
        Ok(store)
    }

    fn empty(config: Config) -> Self {
        Store {
            stacks: Stacks::default(),
            tasks: Vec::new(),
            heap: HeapAccount::new(config.max_heap),
            config,
            types: Vec::new(),
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            elems: Vec::new(),
            datas: Vec::new(),
            instances: Vec::new(),
            fuel: 0,
            fuel_reserve: 0,
            interrupt: None,
            stats: ExecStats::default(),
            heap_memory_bytes: 0,
            host_args: Vec::new(),
            host_results: Vec::new(),
            idle_static_buffers: Vec::new(),
            host_data: HostData::default(),
        }
    }

    /// Decodes, validates and translates `bytes` like [`Module::new`] with the store's
    /// config, charging the module to the store's heap account as it is built: a module
    /// that does not fit `Config::max_heap` is refused with [`Error::HeapExhausted`] naming
    /// the function being translated (or the section being decoded), and a refused load
    /// leaves the account as it was. The charge stays for the store's lifetime.
    #[cfg(feature = "wasm")]
    pub fn load_module(&mut self, bytes: &[u8]) -> Result<Module, Error> {
        let mut heap = self.heap;
        let module = Module::decode(&self.config, bytes, &mut heap)?;
        self.heap = heap;
        Ok(module)
    }

    /// Begins a module of `len` bytes that arrives in parts (an upload over a link), so
    /// the whole binary is never held: [`Store::feed_module`] decodes each section and
    /// function body as soon as it is complete, charging what it builds like
    /// [`Store::load_module`], and the one incomplete payload's bytes as well.
    #[cfg(feature = "wasm")]
    pub fn begin_module(&self, len: usize) -> PartialModule {
        PartialModule::new(&self.config, len)
    }

    /// Feeds the next `bytes` of `module`. An error refuses the module: what it held is
    /// given back, and it takes no more bytes.
    #[cfg(feature = "wasm")]
    pub fn feed_module(&mut self, module: &mut PartialModule, bytes: &[u8]) -> Result<(), Error> {
        let before = self.heap.stats().in_use;
        let fed = module.feed(&self.config, &mut self.heap, bytes);
        self.settle(module, before, fed)
    }

    /// Ends `module`, which must have received its announced length, and builds it. On
    /// an error what it held is given back.
    #[cfg(feature = "wasm")]
    pub fn end_module(&mut self, module: PartialModule) -> Result<Module, Error> {
        let before = self.heap.stats().in_use;
        // `end` consumes the module: what it charged is known before it starts.
        let charged = module.charged;
        match module.end(&self.config, &mut self.heap) {
            Ok(built) => Ok(built),
            Err(e) => {
                let now = self.heap.stats().in_use;
                self.heap.release((charged + now).saturating_sub(before));
                Err(e)
            }
        }
    }

    /// Gives back what an unfinished `module` holds in the heap account.
    #[cfg(feature = "wasm")]
    pub fn discard_module(&mut self, module: PartialModule) {
        self.heap.release(module.charged);
    }

    /// Adds what one feed charged to `module`'s account; a failed feed refuses it.
    #[cfg(feature = "wasm")]
    fn settle(
        &mut self,
        module: &mut PartialModule,
        before: u64,
        fed: Result<(), Error>,
    ) -> Result<(), Error> {
        module.charged = (module.charged + self.heap.stats().in_use).saturating_sub(before);
        if fed.is_err() {
            self.heap.release(module.charged);
            module.refuse();
        }
        fed
    }

    /// The heap account's figures: what the store holds, in board bytes.
    pub fn heap_stats(&self) -> HeapStats {
        self.heap.stats()
    }

    /// Charges `bytes` the embedder holds on the heap alongside the store (a module's
    /// upload buffer, a host module's state) to the store's heap account, so they count
    /// against `Config::max_heap` like the store's own; past it, [`Error::HeapExhausted`]
    /// names `what`.
    pub fn charge_heap(&mut self, bytes: u64, what: &'static str) -> Result<(), Error> {
        self.heap.charge(bytes, HeapUse::Embedder(what))
    }

    /// Gives back `bytes` charged with [`Store::charge_heap`].
    pub fn release_heap(&mut self, bytes: u64) {
        self.heap.release(bytes);
    }

    /// The config the store was made with: its limits, and the fuel setting its
    /// modules must share.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Calls `func` with `args`, writing its results into `results` (whose length
    /// must match the signature). Traps come back as `Error::Trap`.
    pub fn call(&mut self, func: Func, args: &[Value], results: &mut [Value]) -> Result<(), Error> {
        crate::exec::invoke(self, func.0, args, results)
    }

    /// A task: a value stack of `slots` and a frame stack of `depth` of its own (at most the
    /// config's limits), charged to the heap account and kept for the store's lifetime, on
    /// which calls can stop and resume ([`Store::start`]). Several tasks may hold stopped
    /// calls at once; making one is the only step of theirs that allocates.
    pub fn new_task(&mut self, slots: u32, depth: u32) -> Result<Task, Error> {
        let within = |what, value: u32, limit: u32| match value > limit {
            true => Err(Error::Limit { what, value: value as u64, limit: limit as u64 }),
            false => Ok(()),
        };
        within("task value-stack slots", slots, self.config.max_value_stack)?;
        within("task call depth", depth, self.config.max_call_depth)?;
        let task = Task(store_addr(self.tasks.len(), "tasks")?);
        self.heap.reserve(&mut self.tasks, 1, HeapUse::Task)?;
        let bytes = Stacks::bytes(slots, depth);
        self.heap.charge(bytes, HeapUse::Task)?;
        match Stacks::try_new(slots, depth) {
            Ok(stacks) => {
                self.tasks.push(TaskEntity { stacks, suspended: None });
                Ok(task)
            }
            Err(e) => {
                self.heap.release(bytes);
                Err(e)
            }
        }
    }

    /// Starts a call of `func` on `task`, like [`Store::call`], except that where it would
    /// trap for lack of fuel or for the interrupt flag, or where a host function asks to
    /// yield, it stops and answers [`Progress::Suspended`]; [`Store::resume`] goes on.
    /// `results` is written when it answers [`Progress::Finished`]. A trap ends the call.
    pub fn start(
        &mut self,
        task: Task,
        func: Func,
        args: &[Value],
        results: &mut [Value],
    ) -> Result<Progress, Error> {
        crate::exec::start(self, task.0, func.0, args, results)
    }

    /// Goes on with `task`'s stopped call from where it stopped, with the fuel and the
    /// interrupt flag as they are now: after [`Suspension::OutOfFuel`], set more fuel
    /// first, after [`Suspension::Interrupted`], lower the flag.
    ///
    /// [`Suspension::OutOfFuel`]: crate::Suspension::OutOfFuel
    /// [`Suspension::Interrupted`]: crate::Suspension::Interrupted
    pub fn resume(&mut self, task: Task, results: &mut [Value]) -> Result<Progress, Error> {
        crate::exec::resume(self, task.0, results)
    }

    /// Drops `task`'s stopped call, if it holds one, so it can start another; its stacks
    /// stay. Whatever the call had done to memories, tables and globals stays too.
    pub fn cancel(&mut self, task: Task) -> Result<(), Error> {
        let entity = self.tasks.get_mut(task.0 as usize).ok_or_else(|| foreign("task"))?;
        entity.suspended = None;
        Ok(())
    }

    /// Whether `task` holds a stopped call.
    pub fn is_suspended(&self, task: Task) -> bool {
        self.suspended_type(task).is_some()
    }

    /// The type of the function `task`'s stopped call called, if it holds one: what
    /// [`Store::resume`] writes results of.
    pub fn suspended_type(&self, task: Task) -> Option<&FuncType> {
        let call = self.tasks.get(task.0 as usize)?.suspended?;
        Some(&self.types[call.ty as usize])
    }

    /// Defines a host function of signature `ty`. The host-call buffers are grown
    /// to its signature now, so calling it never allocates.
    pub fn host_func(
        &mut self,
        ty: FuncType,
        f: impl FnMut(&mut Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap> + Send + 'static,
    ) -> Func {
        let args = ty.params().len().saturating_sub(self.host_args.len());
        self.host_args.reserve_exact(args);
        let results = ty.results().len().saturating_sub(self.host_results.len());
        self.host_results.reserve_exact(results);
        // Host functions are defined before any module, infallibly: charged, not checked.
        self.heap.charge_unchecked(board_bytes::<Value>(args + results) + FuncEntity::BYTES);
        let ty = self.intern_type(&ty);
        let addr = self.funcs.len() as u32;
        self.funcs.push(FuncEntity { ty, kind: FuncKind::Host(Box::new(f)) });
        Func(addr)
    }

    /// Defines a typed host function: a closure or `fn` taking a [`&mut Caller<'_>`](Caller)
    /// (optional) and then up to 16 [`WasmTy`](crate::WasmTy) parameters, returning `()`, a `WasmTy`, a
    /// tuple of them, or `Result<_, Trap>` of any of those (see [`IntoHostFunc`]). Its
    /// signature is derived from those types; it becomes an untyped host function
    /// ([`Store::host_func`]) that converts the arguments and results, and a call
    /// allocates nothing.
    ///
    /// ```
    /// use tandem_interp::{Config, Error, Store, Trap};
    ///
    /// let mut store = Store::new(Config::new());
    /// // Without the caller: i32 -> (i32, i32), trapping on a zero divisor.
    /// let divmod = store.typed_host_func(|a: i32, b: i32| match b {
    ///     0 => Err(Trap::host("division by zero")),
    ///     _ => Ok((a.wrapping_div(b), a.wrapping_rem(b))),
    /// });
    /// assert_eq!(store.func_type(divmod).to_string(), "(i32, i32) -> (i32, i32)");
    /// let divmod = store.typed_func::<(i32, i32), (i32, i32)>(divmod)?;
    /// assert_eq!(divmod.call(&mut store, (7, 2))?, (3, 1));
    /// let trap = divmod.call(&mut store, (7, 0)).unwrap_err();
    /// assert!(matches!(trap, Error::Trap(t) if t.message() == "division by zero"));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn typed_host_func<Signature, F: IntoHostFunc<Signature>>(&mut self, f: F) -> Func {
        crate::typed::host_func(self, f)
    }

    /// `func` as a [`TypedFunc`], whose calls take `Params` and return `Results` (each `()`,
    /// one [`WasmTy`](crate::WasmTy) or a tuple of them), if its signature is `Params -> Results`;
    /// otherwise [`Error::SignatureMismatch`] names both signatures. The check is made
    /// once, here.
    pub fn typed_func<Params: WasmTyList, Results: WasmTyList>(
        &self,
        func: Func,
    ) -> Result<TypedFunc<Params, Results>, Error> {
        TypedFunc::new(self, func)
    }

    /// A new global of type `ty` holding `value`.
    pub fn new_global(&mut self, ty: GlobalType, value: Value) -> Result<Global, Error> {
        if value.ty() != ty.content {
            return Err(Error::GlobalType { expected: ty.content, got: value.ty() });
        }
        self.check_ref(value)?;
        let addr = store_addr(self.globals.len(), "store globals")?;
        self.heap.reserve(&mut self.globals, 1, HeapUse::Instance)?;
        self.globals.push(GlobalEntity {
            ty: ty.content,
            mutable: ty.mutable,
            value: value.to_slot(),
        });
        Ok(Global(addr))
    }

    /// A new table of type `ty` with every element set to `init`.
    pub fn new_table(&mut self, ty: TableType, init: Value) -> Result<Table, Error> {
        if !matches!(ty.elem, ValType::FuncRef | ValType::ExternRef) {
            return Err(Error::ArgumentType { index: 0, expected: ValType::FuncRef, got: ty.elem });
        }
        if init.ty() != ty.elem {
            return Err(Error::ArgumentType { index: 1, expected: ty.elem, got: init.ty() });
        }
        if let Some(max) = ty.maximum.filter(|max| ty.initial > *max) {
            return Err(Error::Limit {
                what: "table initial size",
                value: ty.initial.into(),
                limit: max.into(),
            });
        }
        self.check_ref(init)?;
        let addr = store_addr(self.tables.len(), "store tables")?;
        let held = self.heap;
        let table =
            alloc_table(&ty, init.to_slot(), self.config.max_table_elements, &mut self.heap)
                .and_then(|table| {
                    self.heap.reserve(&mut self.tables, 1, HeapUse::Table).map(|()| table)
                })
                .inspect_err(|_| self.heap = held)?;
        self.tables.push(table);
        Ok(Table(addr))
    }

    /// A new zeroed heap memory of type `ty`.
    pub fn new_memory(&mut self, ty: MemoryType) -> Result<Memory, Error> {
        let addr = store_addr(self.memories.len(), "store memories")?;
        let bytes = ty.bytes(ty.initial);
        self.check_heap_memory(bytes)?;
        let held = self.heap;
        self.heap.reserve(&mut self.memories, 1, HeapUse::Memory)?;
        let memory = self
            .heap
            .charge(bytes, HeapUse::Memory)
            .and_then(|()| LinearMemory::new_heap(ty))
            .inspect_err(|_| self.heap = held)?;
        self.memories.push(memory);
        self.heap_memory_bytes = self.heap_memory_bytes.saturating_add(bytes);
        Ok(Memory(addr))
    }

    /// A new memory of type `ty` in `buffer` (see [the crate docs] for how to obtain
    /// one); errors name it memory 0.
    ///
    /// A refused buffer stays idle in the store, which gives it back with the others
    /// ([`Store::into_static_buffers`]).
    ///
    /// ```
    /// use tandem_interp::{Config, Extern, Linker, MemoryKind, MemoryType, Module, Store, Value};
    /// use tandem_interp::PAGE_SIZE;
    ///
    /// let config = Config::new();
    /// let mut store = Store::new(config.clone());
    /// // 1 page now; the buffer holds 2.
    /// let buffer: &'static mut [u8] = Box::leak(vec![0u8; 2 * PAGE_SIZE].into_boxed_slice());
    /// let memory = store.new_static_memory(MemoryType::new(1, None), buffer)?;
    /// assert_eq!(store.memory_stats(memory).kind, MemoryKind::Static);
    /// store.memory_data_mut(memory)[0] = 42;
    ///
    /// // A module that imports the memory and grows it by a page.
    /// let wasm = wat::parse_str(
    ///     r#"(module (import "env" "memory" (memory 1))
    ///          (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    /// )?;
    /// let module = Module::new(&config, &wasm)?;
    /// let mut linker = Linker::new();
    /// linker.define("env", "memory", Extern::Memory(memory));
    /// let grow = linker.instantiate(&mut store, &module)?.func(&store, "grow")?;
    /// let mut old = [Value::I32(0)];
    /// store.call(grow, &[], &mut old)?;
    /// assert_eq!(old, [Value::I32(1)]); // within the buffer: no allocation
    /// store.call(grow, &[], &mut old)?;
    /// assert_eq!(old, [Value::I32(-1)]); // past the buffer: wasm sees -1
    /// assert_eq!(store.stats().grow_refusals, 1);
    /// assert_eq!((store.memory_stats(memory).pages, store.memory_data(memory)[0]), (2, 42));
    ///
    /// let buffers: Vec<&'static mut [u8]> = store.into_static_buffers().collect();
    /// assert_eq!((buffers[0].len(), buffers[0][0]), (2 * PAGE_SIZE, 42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [the crate docs]: crate#linear-memory-in-a-static-buffer
    pub fn new_static_memory(
        &mut self,
        ty: MemoryType,
        buffer: &'static mut [u8],
    ) -> Result<Memory, Error> {
        let created = store_addr(self.memories.len(), "store memories")
            .and_then(|addr| {
                self.heap.reserve(&mut self.memories, 1, HeapUse::Memory).map(|()| addr)
            })
            .and_then(|addr| LinearMemory::check_static(buffer.len(), &ty, 0).map(|_| addr));
        match created {
            Ok(addr) => {
                let memory = LinearMemory::new_static(buffer, ty, 0)?;
                self.memories.push(memory);
                Ok(Memory(addr))
            }
            Err(e) => {
                self.park_static_buffers([buffer].into_iter());
                Err(e)
            }
        }
    }

    /// Keeps `buffers`, which hold no memory, for [`Store::into_static_buffers`]. Only a
    /// failure parks one, so a successful instantiation allocates nothing for this; if even
    /// this allocation fails, the heap is exhausted and the buffers are dropped unused.
    pub(crate) fn park_static_buffers(
        &mut self,
        buffers: impl ExactSizeIterator<Item = &'static mut [u8]>,
    ) {
        if buffers.len() > 0 && self.idle_static_buffers.try_reserve(buffers.len()).is_ok() {
            self.idle_static_buffers.extend(buffers);
        }
    }

    /// A static buffer the store was handed but holds no memory in (a failed instantiation
    /// left it unused), so the embedder can offer it to the next module. Buffers holding
    /// memories stay until [`Store::into_static_buffers`].
    pub fn take_idle_static_buffer(&mut self) -> Option<&'static mut [u8]> {
        self.idle_static_buffers.pop()
    }

    /// Ends the store and gives back every static buffer it was handed: those holding
    /// memories (contents as the wasm code left them) and those left unused by a failed
    /// instantiation, so a firmware can run the next store in the same `.bss` buffer.
    pub fn into_static_buffers(self) -> impl Iterator<Item = &'static mut [u8]> {
        let Store { memories, idle_static_buffers, .. } = self;
        memories.into_iter().filter_map(LinearMemory::into_static_buffer).chain(idle_static_buffers)
    }

    /// The global's value.
    pub fn global_get(&self, g: Global) -> Value {
        let global = self.globals.get(g.0 as usize).expect(FOREIGN_HANDLE);
        Value::from_slot(global.ty, global.value)
    }

    /// Sets a mutable global.
    pub fn global_set(&mut self, g: Global, v: Value) -> Result<(), Error> {
        self.check_ref(v)?;
        let global = self.globals.get_mut(g.0 as usize).ok_or_else(|| foreign("global"))?;
        if !global.mutable {
            return Err(Error::GlobalNotMutable);
        }
        if v.ty() != global.ty {
            return Err(Error::GlobalType { expected: global.ty, got: v.ty() });
        }
        global.value = v.to_slot();
        Ok(())
    }

    /// The memory's bytes.
    pub fn memory_data(&self, m: Memory) -> &[u8] {
        self.memories.get(m.0 as usize).expect(FOREIGN_HANDLE).data()
    }

    /// The memory's bytes, writable.
    pub fn memory_data_mut(&mut self, m: Memory) -> &mut [u8] {
        self.memories.get_mut(m.0 as usize).expect(FOREIGN_HANDLE).data_mut()
    }

    /// The memory's figures.
    pub fn memory_stats(&self, m: Memory) -> MemStats {
        self.memories.get(m.0 as usize).expect(FOREIGN_HANDLE).stats()
    }

    /// The table's size in elements.
    pub fn table_size(&self, t: Table) -> u32 {
        // A table never holds more than `u32::MAX` elements.
        self.tables.get(t.0 as usize).expect(FOREIGN_HANDLE).elems.len() as u32
    }

    /// The table's element `index`, or `None` past its end.
    pub fn table_get(&self, t: Table, index: u32) -> Option<Value> {
        let table = self.tables.get(t.0 as usize)?;
        let slot = *table.elems.get(index as usize)?;
        Some(Value::from_slot(table.elem_ty, slot))
    }

    /// A function's signature.
    pub fn func_type(&self, func: Func) -> &FuncType {
        &self.types[self.funcs[func.0 as usize].ty as usize]
    }

    /// Fuel left.
    pub fn fuel(&self) -> u64 {
        self.fuel + self.fuel_reserve
    }

    /// Sets the fuel left (meaningful when the config meters fuel). `u64::MAX` meters
    /// without a practical limit, e.g. to make calls interruptible.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel.min(FUEL_SLICE);
        self.fuel_reserve = fuel - self.fuel;
    }

    /// Makes running calls stoppable: once `flag` is raised (by another thread, a timer or
    /// an interrupt handler, e.g. for a deadline or a watchdog), the running call traps with
    /// [`TrapKind::Interrupted`](crate::TrapKind::Interrupted) within [`FUEL_SLICE`] fuel,
    /// at a function entry or loop header. The run loop looks at the flag where it charges
    /// fuel, once per slice, so this needs a config that meters fuel and costs the run loop
    /// nothing more. The flag stays raised until the embedder lowers it.
    pub fn set_interrupt_flag(&mut self, flag: &'static AtomicBool) {
        self.interrupt = Some(flag);
    }

    /// Keeps `value` for the store's host functions, which reach it through
    /// [`Caller::data_mut`]; one value per type, so a second of the same type replaces the
    /// first (which is returned).
    pub fn set_host_data<T: Any + Send>(&mut self, value: T) -> Result<Option<T>, Error> {
        if let Some(old) = self.host_data.get_mut::<T>() {
            return Ok(Some(core::mem::replace(old, value)));
        }
        try_reserve(&mut self.host_data.0, 1)?;
        self.host_data.0.push(Box::new(value));
        Ok(None)
    }

    /// The host data of type `T`, e.g. to read what the host functions recorded.
    pub fn host_data<T: Any>(&self) -> Option<&T> {
        self.host_data.get()
    }

    /// The host data of type `T`, writable.
    pub fn host_data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.host_data.get_mut()
    }

    /// Execution figures since the store was created (or `reset_stats`).
    pub fn stats(&self) -> ExecStats {
        self.stats
    }

    /// Starts the figures of [`Store::stats`] afresh, e.g. before each measured call.
    pub fn reset_stats(&mut self) {
        self.stats = ExecStats::default();
    }
}

impl Store {
    /// Interns a signature, returning its store type id.
    pub(crate) fn intern_type(&mut self, ty: &FuncType) -> u32 {
        if let Some(i) = self.types.iter().position(|t| t == ty) {
            return i as u32;
        }
        self.types.push(ty.clone());
        (self.types.len() - 1) as u32
    }

    /// Refuses `bytes` more of heap-backed linear memory past the config's budget.
    pub(crate) fn check_heap_memory(&self, bytes: u64) -> Result<(), Error> {
        match self.config.max_heap_memory {
            Some(budget) if self.heap_memory_bytes.saturating_add(bytes) > budget => {
                Err(Error::MemoryBudget { needed: bytes, in_use: self.heap_memory_bytes, budget })
            }
            _ => Ok(()),
        }
    }

    /// Rejects a function reference that does not point into this store: the
    /// executor calls through references without checking them.
    fn check_ref(&self, v: Value) -> Result<(), Error> {
        match v {
            Value::FuncRef(Some(r)) if r.addr() as usize >= self.funcs.len() => {
                Err(foreign("function reference"))
            }
            _ => Ok(()),
        }
    }
}

const FOREIGN_HANDLE: &str = "a handle of another store";

/// A handle or reference from another store.
fn foreign(what: &'static str) -> Error {
    Error::ForeignHandle { what }
}

/// `index` as a `u32` store address.
pub(crate) fn store_addr(index: usize, what: &'static str) -> Result<u32, Error> {
    u32::try_from(index).map_err(|_| Error::Limit {
        what,
        value: index as u64,
        limit: u32::MAX as u64,
    })
}

/// Reserves room for `additional` more items; an exhausted heap is an error, not an abort.
pub(crate) fn try_reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<(), Error> {
    v.try_reserve(additional).map_err(|_| Error::OutOfMemory {
        bytes: (additional as u64).saturating_mul(core::mem::size_of::<T>() as u64),
    })
}

/// A table of `ty.initial` elements set to `init`, which may grow to `limit` elements (or
/// its maximum, if lower), charged to `heap`; a table larger than `limit` or an exhausted
/// heap is an error.
pub(crate) fn alloc_table(
    ty: &TableType,
    init: Slot,
    limit: Option<u32>,
    heap: &mut HeapAccount,
) -> Result<TableEntity, Error> {
    let limit = limit.unwrap_or(u32::MAX);
    if ty.initial > limit {
        return Err(Error::TableLimit { initial: ty.initial, limit });
    }
    let bytes = board_bytes::<Slot>(ty.initial as usize);
    let len = usize::try_from(ty.initial).map_err(|_| Error::OutOfMemory { bytes })?;
    let mut elems = Vec::new();
    heap.reserve_exact(&mut elems, len, HeapUse::Table)?;
    elems.resize(len, init);
    let limit = ty.maximum.map_or(limit, |max| max.min(limit));
    Ok(TableEntity { elem_ty: ty.elem, elems, max: ty.maximum, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_func_reserves_the_call_buffers() {
        let mut s = Store::new(Config::new().with_limits(64, 8));
        let ty = FuncType::new([ValType::I32; 5], [ValType::I64; 3]);
        s.host_func(ty, |_, _, _| Ok(()));
        assert!(s.host_args.capacity() >= 5);
        assert!(s.host_results.capacity() >= 3);
    }
}
