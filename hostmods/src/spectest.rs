//! The `spectest` host module the WebAssembly spec tests import: print functions that do
//! nothing, four constant globals, a table and a memory.

use tandem_interp::{
    Error, Extern, FuncType, GlobalType, Linker, MemoryType, Store, TableType, ValType, Value,
};

use crate::HostModule;

/// The `spectest` module: silent prints (the spec tests' records stay free of output),
/// `global_i32` = 666, `global_i64` = 666, `global_f32` = 666.6, `global_f64` = 666.6, a
/// funcref `table` of 10..20 and a `memory` of 1..2 pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spectest;

impl HostModule for Spectest {
    fn name(&self) -> &'static str {
        "spectest"
    }

    fn define(&self, store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
        define(store, linker)
    }
}

fn define(store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[ValType::I32]),
        ("print_i64", &[ValType::I64]),
        ("print_f32", &[ValType::F32]),
        ("print_f64", &[ValType::F64]),
        ("print_i32_f32", &[ValType::I32, ValType::F32]),
        ("print_f64_f64", &[ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let func = store.host_func(FuncType::new(params.iter().copied(), []), |_, _, _| Ok(()));
        linker.define("spectest", name, Extern::Func(func));
    }
    let globals = [
        ("global_i32", Value::I32(666)),
        ("global_i64", Value::I64(666)),
        ("global_f32", Value::F32(666.6f32.to_bits())),
        ("global_f64", Value::F64(666.6f64.to_bits())),
    ];
    for (name, value) in globals {
        let global = store.new_global(GlobalType { content: value.ty(), mutable: false }, value)?;
        linker.define("spectest", name, Extern::Global(global));
    }
    let table = store.new_table(
        TableType { elem: ValType::FuncRef, initial: 10, maximum: Some(20) },
        Value::FuncRef(None),
    )?;
    linker.define("spectest", "table", Extern::Table(table));
    let memory = store.new_memory(MemoryType::new(1, Some(2)))?;
    linker.define("spectest", "memory", Extern::Memory(memory));
    Ok(())
}
