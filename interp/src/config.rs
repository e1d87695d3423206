//! Engine configuration: the Wasm feature set and the resource limits a board profile sets.

/// Which version of the WebAssembly spec modules are validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmVersion {
    /// WebAssembly 1.0 (MVP plus mutable-global import/export).
    V1,
    /// WebAssembly 2.0 without SIMD: multi-value, sign-extension, non-trapping
    /// float-to-int, bulk memory, reference types.
    V2,
}

/// Limits and features of an engine. Every limit is counted in units that do not
/// depend on the pointer width, so a simulator and a board configured alike fail alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The spec version modules are validated against (and the feature set wasmparser
    /// decodes).
    pub version: WasmVersion,
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
    /// stacks, the modules loaded through it ([`Store::load_module`](crate::Store::load_module)),
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
}

impl Config {
    /// The default value-stack size in slots: 256 Ki (2 MiB), room for deep recursion on
    /// a host. A board sets its own with [`Config::with_limits`].
    pub const DEFAULT_VALUE_STACK: u32 = 256 * 1024;
    /// The default call-depth limit, deep enough for the spec tests' recursion.
    pub const DEFAULT_CALL_DEPTH: u32 = 4096;

    /// The default: Wasm 2.0, 256 Ki slots (2 MiB) of value stack, depth 4096, no fuel.
    pub fn new() -> Self {
        Config {
            version: WasmVersion::V2,
            max_value_stack: Self::DEFAULT_VALUE_STACK,
            max_call_depth: Self::DEFAULT_CALL_DEPTH,
            fuel: false,
            max_heap_memory: None,
            max_heap: None,
            max_table_elements: None,
            max_instances: None,
        }
    }

    /// Validates modules against `version` instead.
    pub fn with_version(mut self, version: WasmVersion) -> Self {
        self.version = version;
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

    pub(crate) fn features(&self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as F;
        match self.version {
            WasmVersion::V1 => F::WASM1,
            WasmVersion::V2 => F::WASM2.difference(F::SIMD),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}
