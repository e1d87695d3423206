//! The store: every function, table, memory, global and instance, addressed by `u32`.
//!
//! Handles (`Func`, `Memory`, ...) are plain addresses into one store's vectors, so
//! instances can share imported entities. The store also owns the value stack and
//! the call-frame stack, allocated once when it is created: a call never allocates.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::config::Config;
use crate::error::Trap;
use crate::memory::LinearMemory;
use crate::module::Module;
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
    Func(Func),
    Table(Table),
    Memory(Memory),
    Global(Global),
}

/// What a host function sees of its caller.
pub struct Caller<'a> {
    pub(crate) memory: Option<&'a mut LinearMemory>,
}

impl Caller<'_> {
    /// The calling instance's memory 0, if it has one.
    pub fn memory(&mut self) -> Option<&mut [u8]> {
        self.memory.as_deref_mut().map(LinearMemory::data_mut)
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
    pub bytes: Option<Arc<[u8]>>,
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
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallFrame {
    /// The caller's instance (whose code `return_pc` indexes).
    pub instance: u32,
    /// Where to continue in the caller's code.
    pub return_pc: u32,
    /// The caller's base slot in the value stack.
    pub base: u32,
}

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

/// Everything instances live in.
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
    pub(crate) stack: Vec<Slot>,
    pub(crate) frames: Vec<CallFrame>,
    /// Fuel left; only charged when the config meters fuel.
    pub(crate) fuel: u64,
    pub(crate) stats: ExecStats,
    /// Bytes of heap-backed linear memory held, checked against `config.max_heap_memory`.
    pub(crate) heap_memory_bytes: u64,
    /// Argument and result buffers for host calls, sized when a host function is
    /// defined so that calling one does not allocate.
    pub(crate) host_args: Vec<Value>,
    pub(crate) host_results: Vec<Value>,
    /// Static buffers handed over but holding no memory (a failed instantiation's, or
    /// replaced ones), kept for [`Store::into_static_buffers`].
    pub(crate) idle_static_buffers: Vec<&'static mut [u8]>,
}

impl Store {
    /// A store whose value stack and frame stack are allocated now, at the
    /// config's limits.
    pub fn new(config: Config) -> Self {
        Store {
            stack: alloc::vec![0; config.max_value_stack as usize],
            frames: Vec::with_capacity(config.max_call_depth as usize),
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
            stats: ExecStats::default(),
            heap_memory_bytes: 0,
            host_args: Vec::new(),
            host_results: Vec::new(),
            idle_static_buffers: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Interns a signature, returning its store type id.
    pub(crate) fn intern_type(&mut self, ty: &FuncType) -> u32 {
        if let Some(i) = self.types.iter().position(|t| t == ty) {
            return i as u32;
        }
        self.types.push(ty.clone());
        (self.types.len() - 1) as u32
    }

    /// Sets the fuel left (meaningful when the config meters fuel).
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel;
    }

    /// Fuel left.
    pub fn fuel(&self) -> u64 {
        self.fuel
    }

    /// Execution figures since the store was created (or `reset_stats`).
    pub fn stats(&self) -> ExecStats {
        self.stats
    }

    pub fn reset_stats(&mut self) {
        self.stats = ExecStats::default();
    }

    /// A function's signature.
    pub fn func_type(&self, func: Func) -> &FuncType {
        &self.types[self.funcs[func.0 as usize].ty as usize]
    }
}
