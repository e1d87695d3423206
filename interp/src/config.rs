//! Engine configuration: the Wasm feature set and the resource limits a board profile sets.

bitflags::bitflags! {
    /// The WebAssembly proposals a [`Config`] accepts, in the spirit of wasmparser's
    /// `WasmFeatures`: a module that uses one outside the set is refused with
    /// [`Error::Unsupported`](crate::Error::Unsupported), naming it. The default is
    /// [`Features::SUPPORTED`], everything the core implements; the spec presets
    /// ([`Features::WASM1`], [`Features::WASM2`]) exist so that a spec version's tests see
    /// its rules (e.g. `(result i32 i32)` is invalid in 1.0).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Features: u32 {
        /// Importable and exportable mutable globals (part of 1.0).
        const MUTABLE_GLOBAL = 1 << 0;
        /// `i32.extend8_s` and friends.
        const SIGN_EXTENSION = 1 << 1;
        /// `i32.trunc_sat_f32_s` and friends.
        const SATURATING_FLOAT_TO_INT = 1 << 2;
        /// Blocks and functions with several results.
        const MULTI_VALUE = 1 << 3;
        /// `memory.copy`, `memory.fill`, passive segments and friends.
        const BULK_MEMORY = 1 << 4;
        /// `funcref`/`externref` values, several tables, `table.*`.
        const REFERENCE_TYPES = 1 << 5;
        /// `return_call` and `return_call_indirect`.
        const TAIL_CALL = 1 << 6;
        /// `i32/i64.add/sub/mul` in constant expressions.
        const EXTENDED_CONST = 1 << 7;
        /// Memories with 1-byte pages (`(memory 12288 (pagesize 1))`).
        const CUSTOM_PAGE_SIZES = 1 << 8;
        /// Several memories per module, each in its own buffer.
        const MULTI_MEMORY = 1 << 9;
    }
}

impl Features {
    /// WebAssembly 1.0: the MVP plus importable and exportable mutable globals.
    pub const WASM1: Features = Features::MUTABLE_GLOBAL;
    /// WebAssembly 2.0 without SIMD.
    pub const WASM2: Features = Features::WASM1
        .union(Features::SIGN_EXTENSION)
        .union(Features::SATURATING_FLOAT_TO_INT)
        .union(Features::MULTI_VALUE)
        .union(Features::BULK_MEMORY)
        .union(Features::REFERENCE_TYPES);
    /// Everything the core implements: the default.
    pub const SUPPORTED: Features = Features::WASM2
        .union(Features::TAIL_CALL)
        .union(Features::EXTENDED_CONST)
        .union(Features::CUSTOM_PAGE_SIZES)
        .union(Features::MULTI_MEMORY);

    /// Each feature with its proposal's name, as the spec's proposal repositories and test
    /// folders spell it.
    pub const NAMED: [(Features, &'static str); 10] = [
        (Features::MUTABLE_GLOBAL, "mutable-global"),
        (Features::SIGN_EXTENSION, "sign-extension-ops"),
        (Features::SATURATING_FLOAT_TO_INT, "nontrapping-float-to-int-conversions"),
        (Features::MULTI_VALUE, "multi-value"),
        (Features::BULK_MEMORY, "bulk-memory"),
        (Features::REFERENCE_TYPES, "reference-types"),
        (Features::TAIL_CALL, "tail-call"),
        (Features::EXTENDED_CONST, "extended-const"),
        (Features::CUSTOM_PAGE_SIZES, "custom-page-sizes"),
        (Features::MULTI_MEMORY, "multi-memory"),
    ];

    /// The feature a proposal's name stands for.
    pub fn from_proposal(name: &str) -> Option<Features> {
        Features::NAMED.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// The proposal's name of a single feature (`None` for a set of several, or none).
    pub fn proposal(self) -> Option<&'static str> {
        Features::NAMED.iter().find(|(f, _)| *f == self).map(|(_, n)| *n)
    }

    /// What wasmparser decodes and validates for this set (never SIMD, never anything the
    /// core does not implement): the host validates with it for a board that does not.
    #[cfg(feature = "wasm")]
    pub fn to_wasmparser(self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as W;
        let mut w = W::MVP;
        for (ours, theirs) in [
            (Features::MUTABLE_GLOBAL, W::MUTABLE_GLOBAL),
            (Features::SIGN_EXTENSION, W::SIGN_EXTENSION),
            (Features::SATURATING_FLOAT_TO_INT, W::SATURATING_FLOAT_TO_INT),
            (Features::MULTI_VALUE, W::MULTI_VALUE),
            (Features::BULK_MEMORY, W::BULK_MEMORY),
            (Features::REFERENCE_TYPES, W::REFERENCE_TYPES),
            (Features::TAIL_CALL, W::TAIL_CALL),
            (Features::EXTENDED_CONST, W::EXTENDED_CONST),
            (Features::CUSTOM_PAGE_SIZES, W::CUSTOM_PAGE_SIZES),
            (Features::MULTI_MEMORY, W::MULTI_MEMORY),
        ] {
            w.set(theirs, self.contains(ours));
        }
        w
    }
}

/// Limits and features of an engine. Every limit is counted in units that do not
/// depend on the pointer width, so a simulator and a board configured alike fail alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The proposals modules may use; others are refused as unsupported.
    pub features: Features,
    /// Value-stack size in 64-bit slots, shared by all frames of a call. Allocated
    /// once, when the store is created.
    pub max_value_stack: u32,
    /// Maximum depth of nested wasm calls.
    pub max_call_depth: u32,
    /// Meter fuel: translated code charges fuel at function entry and loop headers,
    /// and traps when the store's fuel runs out.
    pub fuel: bool,
    /// Bytes of heap-backed linear memory the whole store may hold (static-buffer
    /// memories do not count); `None` is unlimited. A board sets it below its heap so that
    /// memory runs out at the same `memory.grow` on the board and in the simulator.
    pub max_heap_memory: Option<u64>,
    /// Bytes of heap the store may hold, counted as a 32-bit board allocates them: its
    /// stacks, the modules loaded through it (`Store::load_module`, `Store::load_image`),
    /// instances, tables, heap-backed memories and what the embedder charges. `None` is
    /// unlimited (still counted, see [`Store::heap_stats`](crate::Store::heap_stats)). What
    /// would pass it is refused before it is allocated, the same way on every target.
    pub max_heap: Option<u64>,
    /// Elements any one table may have; `None` is unlimited. A table declared larger is
    /// refused at instantiation, and `table.grow` past it returns -1, as the spec allows
    /// any grow to fail: a board sets it so that a table cannot take its whole heap.
    pub max_table_elements: Option<u32>,
    /// Instances the store may hold; `None` is unlimited. One more is refused before
    /// anything of it is built: a board sets it so that a runaway suite cannot fill its heap
    /// with instances.
    pub max_instances: Option<u32>,
    /// How the run loop goes from one instruction to the next: threaded where this build
    /// has it ([`Dispatch::AVAILABLE`]), else the `match` loop. Outcomes never depend on it.
    pub dispatch: Dispatch,
}

/// How the run loop goes from one instruction to the next. Both run the same instruction
/// bodies, expanded from one source (`exec/run.rs`), so they differ in speed only; the
/// parity gate holds a simulator on one to a board on the other, and the differential
/// fuzzer runs both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// One `match` over the instruction kinds in a loop: portable, what the boards run.
    Loop,
    /// A handler per instruction kind, each ending in a jump to the next instruction's:
    /// faster on 64-bit desktops. Built only where those jumps are known to be compiled as
    /// jumps, not calls (the `threaded` feature on Unix x86-64 or AArch64, at opt-level 2
    /// or 3 without debug assertions); elsewhere it runs as [`Dispatch::Loop`].
    Threaded,
}

impl Dispatch {
    /// Whether this build has threaded dispatch.
    pub const AVAILABLE: bool = cfg!(tandem_threaded);

    /// The fastest dispatch this build has.
    pub const fn best() -> Dispatch {
        if Self::AVAILABLE { Dispatch::Threaded } else { Dispatch::Loop }
    }

    /// Its name, as reports print it.
    pub const fn name(self) -> &'static str {
        match self {
            Dispatch::Loop => "loop",
            Dispatch::Threaded => "threaded",
        }
    }
}

impl Config {
    /// The default value-stack size in slots: 256 Ki (2 MiB), room for deep recursion on
    /// a host. A board sets its own with [`Config::with_limits`].
    pub const DEFAULT_VALUE_STACK: u32 = 256 * 1024;
    /// The default call-depth limit, deep enough for the spec tests' recursion.
    pub const DEFAULT_CALL_DEPTH: u32 = 4096;

    /// The default: every supported feature, 256 Ki slots (2 MiB) of value stack, depth 4096, no fuel.
    pub fn new() -> Self {
        Config {
            features: Features::SUPPORTED,
            max_value_stack: Self::DEFAULT_VALUE_STACK,
            max_call_depth: Self::DEFAULT_CALL_DEPTH,
            fuel: false,
            max_heap_memory: None,
            max_heap: None,
            max_table_elements: None,
            max_instances: None,
            dispatch: Dispatch::best(),
        }
    }

    /// Runs calls with `dispatch`: threaded where this build has it ([`Dispatch::AVAILABLE`]),
    /// else the `match` loop.
    pub fn with_dispatch(mut self, dispatch: Dispatch) -> Self {
        self.dispatch = dispatch;
        self
    }

    /// Accepts the proposals in `features` only (e.g. [`Features::WASM1`] to hold modules
    /// to the 1.0 spec).
    pub fn with_features(mut self, features: Features) -> Self {
        self.features = features;
        self
    }

    /// Sets the value-stack size (in slots) and the call-depth limit: a board sizes them
    /// to its RAM, and the simulator copies them to fail where the board does.
    pub fn with_limits(mut self, max_value_stack: u32, max_call_depth: u32) -> Self {
        self.max_value_stack = max_value_stack;
        self.max_call_depth = max_call_depth;
        self
    }

    /// Meters fuel (or not); the module and the store must agree, so use one config for
    /// both.
    pub fn with_fuel(mut self, fuel: bool) -> Self {
        self.fuel = fuel;
        self
    }

    /// Caps the heap-backed linear memory of the whole store at `bytes` (`None`:
    /// unlimited); see [`Config::max_heap_memory`].
    pub fn with_heap_memory_budget(mut self, bytes: Option<u64>) -> Self {
        self.max_heap_memory = bytes;
        self
    }

    /// Caps everything the store holds on the heap at `bytes`, in board units (`None`:
    /// unlimited); see [`Config::max_heap`].
    pub fn with_heap_limit(mut self, bytes: Option<u64>) -> Self {
        self.max_heap = bytes;
        self
    }

    /// Caps every table at `elements` (`None`: unlimited); see
    /// [`Config::max_table_elements`].
    pub fn with_table_elements_limit(mut self, elements: Option<u32>) -> Self {
        self.max_table_elements = elements;
        self
    }

    /// Caps the instances the store may hold at `instances` (`None`: unlimited); see
    /// [`Config::max_instances`].
    pub fn with_instances_limit(mut self, instances: Option<u32>) -> Self {
        self.max_instances = instances;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}
