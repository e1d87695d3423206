//! Linking and instantiation through the public API: import resolution and
//! matching, static memories, segment initialisation (and its traps), the start
//! function, and the embedder's store API.

use tandem_interp::{
    Config, Error, Extern, ExternKind, FuncType, GlobalType, InstanceOptions, Linker, MemoryKind,
    MemoryType, Module, PAGE_SIZE, Store, TableType, TrapKind, ValType, Value,
};

fn module(wat: &str) -> Module {
    let bytes = wat::parse_str(wat).expect("test text parses");
    Module::new(&Config::new(), &bytes).expect("test module is valid")
}

fn store() -> Store {
    Store::new(Config::new().with_limits(4096, 64))
}

fn leak(bytes: usize) -> &'static mut [u8] {
    Box::leak(vec![0xaa; bytes].into_boxed_slice())
}

fn call(store: &mut Store, f: tandem_interp::Func, args: &[Value]) -> Result<Vec<Value>, Error> {
    let mut results: Vec<Value> =
        store.func_type(f).results().iter().map(|t| Value::default_for(*t)).collect();
    store.call(f, args, &mut results)?;
    Ok(results)
}

fn trap_kind(r: Result<impl std::fmt::Debug, Error>) -> TrapKind {
    match r {
        Err(Error::Trap(t)) => t.kind(),
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// A linker with one entity of each kind under "env".
fn env(store: &mut Store) -> Linker {
    let mut linker = Linker::new();
    let f = store.host_func(FuncType::new([ValType::I32], [ValType::I32]), |_, a, r| {
        r[0] = a[0];
        Ok(())
    });
    linker.define("env", "id", Extern::Func(f));
    let t = store
        .new_table(
            TableType { elem: ValType::FuncRef, initial: 4, maximum: Some(8) },
            Value::FuncRef(None),
        )
        .unwrap();
    linker.define("env", "table", Extern::Table(t));
    let m = store.new_memory(MemoryType::new(1, Some(2))).unwrap();
    linker.define("env", "memory", Extern::Memory(m));
    let g = store
        .new_global(GlobalType { content: ValType::I32, mutable: false }, Value::I32(8))
        .unwrap();
    linker.define("env", "g", Extern::Global(g));
    let gm = store
        .new_global(GlobalType { content: ValType::I64, mutable: true }, Value::I64(1))
        .unwrap();
    linker.define("env", "gm", Extern::Global(gm));
    linker
}

#[test]
fn unknown_import() {
    let mut s = store();
    let linker = env(&mut s);
    let m = module(r#"(module (import "env" "nope" (func)))"#);
    match linker.instantiate(&mut s, &m) {
        Err(Error::UnknownImport { module, name, kind }) => {
            assert_eq!((module.as_str(), name.as_str(), kind), ("env", "nope", ExternKind::Func));
        }
        other => panic!("expected an unknown import, got {other:?}"),
    }
    let m = module(r#"(module (import "other" "id" (func)))"#);
    assert!(matches!(linker.instantiate(&mut s, &m), Err(Error::UnknownImport { .. })));
}

#[test]
fn compatible_imports_link() {
    let mut s = store();
    let linker = env(&mut s);
    let m = module(
        r#"(module
            (import "env" "id" (func (param i32) (result i32)))
            (import "env" "table" (table 2 funcref))
            (import "env" "memory" (memory 1 4))
            (import "env" "g" (global i32))
            (import "env" "gm" (global (mut i64))))"#,
    );
    linker.instantiate(&mut s, &m).expect("links");
    // The table's maximum (8) is within the import's (10); its size (4) over 3.
    let m = module(r#"(module (import "env" "table" (table 3 10 funcref)))"#);
    linker.instantiate(&mut s, &m).expect("links");
}

#[test]
fn an_imported_function_s_signature_is_known_before_linking() {
    let m = module(
        r#"(module
            (import "env" "g" (global i32))
            (import "env" "id" (func (param i32 i64) (result f32))))"#,
    );
    let ty = m.func_type_of_import("env", "id").expect("imported");
    assert_eq!(
        (ty.params(), ty.results()),
        (&[ValType::I32, ValType::I64][..], &[ValType::F32][..])
    );
    assert_eq!(m.func_type_of_import("env", "g"), None, "a global");
    assert_eq!(m.func_type_of_import("other", "id"), None);
}

#[test]
fn incompatible_imports() {
    let mut s = store();
    let linker = env(&mut s);
    let cases = [
        // Wrong kind.
        r#"(module (import "env" "id" (global i32)))"#,
        r#"(module (import "env" "g" (func)))"#,
        r#"(module (import "env" "memory" (table 1 funcref)))"#,
        r#"(module (import "env" "table" (memory 1)))"#,
        // Function signatures.
        r#"(module (import "env" "id" (func (param i32))))"#,
        r#"(module (import "env" "id" (func (param i64) (result i32))))"#,
        // Table limits and element type.
        r#"(module (import "env" "table" (table 5 funcref)))"#,
        r#"(module (import "env" "table" (table 1 7 funcref)))"#,
        r#"(module (import "env" "table" (table 1 externref)))"#,
        // Memory limits.
        r#"(module (import "env" "memory" (memory 2)))"#,
        r#"(module (import "env" "memory" (memory 1 1)))"#,
        // Global type and mutability.
        r#"(module (import "env" "g" (global i64)))"#,
        r#"(module (import "env" "g" (global (mut i32))))"#,
        r#"(module (import "env" "gm" (global i64)))"#,
    ];
    for text in cases {
        match linker.instantiate(&mut s, &module(text)) {
            Err(Error::IncompatibleImport { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("{text}: expected an incompatible import, got {other:?}"),
        }
    }
}

#[test]
fn memory_without_maximum_does_not_match_an_import_with_one() {
    let mut s = store();
    let mem = s.new_memory(MemoryType::new(1, None)).unwrap();
    let mut linker = Linker::new();
    linker.define("env", "memory", Extern::Memory(mem));
    let m = module(r#"(module (import "env" "memory" (memory 1 100)))"#);
    assert!(matches!(linker.instantiate(&mut s, &m), Err(Error::IncompatibleImport { .. })));
    let m = module(r#"(module (import "env" "memory" (memory 0)))"#);
    linker.instantiate(&mut s, &m).expect("no maximum asked, any memory will do");
}

#[test]
fn imports_match_current_sizes() {
    // A memory grown past an import's minimum now satisfies it.
    let mut s = store();
    let exporter = module(
        r#"(module (memory (export "m") 1 3)
            (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#,
    );
    let inst = Linker::new().instantiate(&mut s, &exporter).unwrap();
    let mut linker = Linker::new();
    linker.define_instance(&s, "ex", inst);
    let importer = module(r#"(module (import "ex" "m" (memory 2)))"#);
    assert!(matches!(linker.instantiate(&mut s, &importer), Err(Error::IncompatibleImport { .. })));
    let grow = inst.func(&s, "grow").unwrap();
    assert_eq!(call(&mut s, grow, &[]).unwrap(), vec![Value::I32(1)]);
    linker.instantiate(&mut s, &importer).expect("the memory has 2 pages now");
}

#[test]
fn data_segments_land_in_a_static_memory() {
    let mut s = store();
    let m = module(
        r#"(module (memory (export "mem") 1 4)
            (data (i32.const 16) "hello")
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    let options = InstanceOptions::new().with_static_memory(0, leak(2 * PAGE_SIZE + 100));
    let inst = Linker::new().instantiate_with(&mut s, &m, options).unwrap();
    let mem = inst.memory(&s, "mem").unwrap();
    assert_eq!(&s.memory_data(mem)[16..21], b"hello");
    // The rest of the initial page was zeroed over the buffer's old contents.
    assert!(s.memory_data(mem)[21..].iter().all(|&b| b == 0));
    let stats = inst.memory_stats(&s);
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].kind, MemoryKind::Static);
    assert_eq!(stats[0].pages, 1);
    assert_eq!(stats[0].capacity_bytes, 2 * PAGE_SIZE as u64 + 100);
    assert_eq!(s.memory_stats(mem), stats[0]);
    // Grows within the buffer's whole pages, not past them.
    let grow = inst.func(&s, "grow").unwrap();
    assert_eq!(call(&mut s, grow, &[Value::I32(1)]).unwrap(), vec![Value::I32(1)]);
    assert_eq!(call(&mut s, grow, &[Value::I32(1)]).unwrap(), vec![Value::I32(-1)]);
    s.memory_data_mut(mem)[0] = 7;
    assert_eq!(s.memory_data(mem)[0], 7);
}

#[test]
fn heap_memory_by_default() {
    let mut s = store();
    let m = module(r#"(module (memory 2))"#);
    let inst = Linker::new().instantiate(&mut s, &m).unwrap();
    let stats = inst.memory_stats(&s);
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].kind, stats[0].pages), (MemoryKind::Heap, 2));
}

#[test]
fn too_small_static_buffer() {
    let mut s = store();
    let m = module(r#"(module (memory 2))"#);
    let options = InstanceOptions::new().with_static_memory(0, leak(PAGE_SIZE));
    match Linker::new().instantiate_with(&mut s, &m, options) {
        Err(Error::StaticBufferTooSmall { memory: 0, buffer_bytes, required_bytes }) => {
            assert_eq!((buffer_bytes, required_bytes), (PAGE_SIZE as u64, 2 * PAGE_SIZE as u64));
        }
        other => panic!("expected a too-small buffer, got {other:?}"),
    }
    // The store is still usable: the same module instantiates on the heap.
    Linker::new().instantiate(&mut s, &m).unwrap();
}

#[test]
fn static_buffer_for_no_defined_memory() {
    let mut s = store();
    let mut linker = Linker::new();
    let mem = s.new_memory(MemoryType::new(1, None)).unwrap();
    linker.define("env", "memory", Extern::Memory(mem));
    let imported = module(r#"(module (import "env" "memory" (memory 1)))"#);
    let options = InstanceOptions::new().with_static_memory(0, leak(PAGE_SIZE));
    assert!(matches!(
        linker.instantiate_with(&mut s, &imported, options),
        Err(Error::NoSuchMemory { memory: 0 })
    ));
    let defined = module(r#"(module (memory 1))"#);
    let options = InstanceOptions::new().with_static_memory(1, leak(PAGE_SIZE));
    assert!(matches!(
        linker.instantiate_with(&mut s, &defined, options),
        Err(Error::NoSuchMemory { memory: 1 })
    ));
}

#[test]
fn a_static_memory_can_be_imported() {
    let mut s = store();
    let mem = s.new_static_memory(MemoryType::new(1, Some(1)), leak(PAGE_SIZE)).unwrap();
    let mut linker = Linker::new();
    linker.define("env", "memory", Extern::Memory(mem));
    let m =
        module(r#"(module (import "env" "memory" (memory 1 1)) (data (i32.const 0) "\01\02"))"#);
    let inst = linker.instantiate(&mut s, &m).unwrap();
    assert_eq!(&s.memory_data(mem)[..3], &[1, 2, 0]);
    assert_eq!(inst.memory_stats(&s)[0].kind, MemoryKind::Static);
    assert!(matches!(
        s.new_static_memory(MemoryType::new(2, None), leak(PAGE_SIZE)),
        Err(Error::StaticBufferTooSmall { .. })
    ));
}

#[test]
fn element_segments_fill_tables_and_are_dropped() {
    let mut s = store();
    let m = module(
        r#"(module
            (table $t (export "t") 4 funcref)
            (func $a (result i32) (i32.const 10))
            (func $b (result i32) (i32.const 20))
            (elem (i32.const 1) $a $b)
            (elem $p func $b)
            (func (export "call") (param i32) (result i32)
              (call_indirect (result i32) (local.get 0)))
            (func (export "init_active") (table.init $t 0 (i32.const 0) (i32.const 0) (i32.const 1)))
            (func (export "init_passive") (table.init $t $p (i32.const 0) (i32.const 0) (i32.const 1))))"#,
    );
    let inst = Linker::new().instantiate(&mut s, &m).unwrap();
    let t = inst.table(&s, "t").unwrap();
    assert_eq!(s.table_size(t), 4);
    assert_eq!(s.table_get(t, 0), Some(Value::FuncRef(None)));
    assert!(matches!(s.table_get(t, 1), Some(Value::FuncRef(Some(_)))));
    assert_eq!(s.table_get(t, 4), None);
    let f = inst.func(&s, "call").unwrap();
    assert_eq!(call(&mut s, f, &[Value::I32(1)]).unwrap(), vec![Value::I32(10)]);
    assert_eq!(call(&mut s, f, &[Value::I32(2)]).unwrap(), vec![Value::I32(20)]);
    // The active segment was dropped after use; the passive one stays.
    let init_active = inst.func(&s, "init_active").unwrap();
    assert_eq!(trap_kind(call(&mut s, init_active, &[])), TrapKind::TableOutOfBounds);
    let init_passive = inst.func(&s, "init_passive").unwrap();
    call(&mut s, init_passive, &[]).unwrap();
    assert_eq!(call(&mut s, f, &[Value::I32(0)]).unwrap(), vec![Value::I32(20)]);
}

#[test]
fn data_segments_are_dropped_after_use() {
    let mut s = store();
    let m = module(
        r#"(module (memory (export "m") 1)
            (data (i32.const 0) "ab")
            (data $p "cd")
            (func (export "init_active") (memory.init 0 (i32.const 8) (i32.const 0) (i32.const 1)))
            (func (export "init_passive") (memory.init $p (i32.const 8) (i32.const 0) (i32.const 2))))"#,
    );
    let inst = Linker::new().instantiate(&mut s, &m).unwrap();
    let mem = inst.memory(&s, "m").unwrap();
    let init_active = inst.func(&s, "init_active").unwrap();
    assert_eq!(trap_kind(call(&mut s, init_active, &[])), TrapKind::MemoryOutOfBounds);
    let init_passive = inst.func(&s, "init_passive").unwrap();
    call(&mut s, init_passive, &[]).unwrap();
    assert_eq!(&s.memory_data(mem)[..10], b"ab\0\0\0\0\0\0cd");
}

#[test]
fn out_of_bounds_segments_trap_and_earlier_effects_stay() {
    let mut s = store();
    let mut linker = env(&mut s);
    let table = match linker.get("env", "table") {
        Some(Extern::Table(t)) => t,
        other => panic!("{other:?}"),
    };
    let memory = match linker.get("env", "memory") {
        Some(Extern::Memory(m)) => m,
        other => panic!("{other:?}"),
    };
    // The first element segment writes the imported table, the second is out
    // of bounds: instantiation traps, the first write stays, and the function
    // it stored stays callable.
    let m = module(
        r#"(module
            (import "env" "table" (table 4 funcref))
            (func $f (result i32) (i32.const 42))
            (elem (i32.const 0) $f)
            (elem (i32.const 4) $f))"#,
    );
    assert_eq!(trap_kind(linker.instantiate(&mut s, &m)), TrapKind::TableOutOfBounds);
    assert!(matches!(s.table_get(table, 0), Some(Value::FuncRef(Some(_)))));
    let caller = module(
        r#"(module
            (import "env" "table" (table 4 funcref))
            (func (export "call0") (result i32) (call_indirect (result i32) (i32.const 0))))"#,
    );
    let inst = linker.instantiate(&mut s, &caller).unwrap();
    let call0 = inst.func(&s, "call0").unwrap();
    assert_eq!(call(&mut s, call0, &[]).unwrap(), vec![Value::I32(42)]);

    // Data: the first segment lands, the second (ending one byte past the page) traps.
    let m = module(
        r#"(module
            (import "env" "memory" (memory 1))
            (data (i32.const 100) "xy")
            (data (i32.const 65535) "zz"))"#,
    );
    assert_eq!(trap_kind(linker.instantiate(&mut s, &m)), TrapKind::MemoryOutOfBounds);
    assert_eq!(&s.memory_data(memory)[100..102], b"xy");
    assert_eq!(s.memory_data(memory)[65535], 0);

    // An empty segment just past the end still traps (Wasm 2.0), exactly at the
    // end does not.
    let m = module(r#"(module (import "env" "table" (table 4 funcref)) (elem (i32.const 5)))"#);
    assert_eq!(trap_kind(linker.instantiate(&mut s, &m)), TrapKind::TableOutOfBounds);
    let m = module(r#"(module (import "env" "table" (table 4 funcref)) (elem (i32.const 4)))"#);
    linker.instantiate(&mut s, &m).unwrap();
    let m = module(r#"(module (import "env" "memory" (memory 1)) (data (i32.const 65537) ""))"#);
    assert_eq!(trap_kind(linker.instantiate(&mut s, &m)), TrapKind::MemoryOutOfBounds);
    // Offsets are unsigned: -1 is 4 GiB - 1, out of bounds, not an overflow.
    let m = module(r#"(module (import "env" "memory" (memory 1)) (data (i32.const -1) "a"))"#);
    assert_eq!(trap_kind(linker.instantiate(&mut s, &m)), TrapKind::MemoryOutOfBounds);
    linker.define("env", "unused", Extern::Memory(memory));
}

#[test]
fn offsets_and_values_from_constant_expressions() {
    let mut s = store();
    let linker = env(&mut s);
    let m = module(
        r#"(module
            (import "env" "g" (global $g i32))
            (import "env" "memory" (memory 1))
            (import "env" "table" (table 4 funcref))
            (table $own 1 funcref)
            (global (export "copy") i32 (global.get $g))
            (global $fr (export "fr") funcref (ref.func $f))
            (func $f (result i32) (i32.const 77))
            (func (export "via_global") (result i32)
              (table.set $own (i32.const 0) (global.get $fr))
              (call_indirect $own (result i32) (i32.const 0)))
            (data (global.get $g) "!")
            (elem (global.get $g) $f))"#,
    );
    // g is 8, past the imported table's 4 elements.
    assert_eq!(trap_kind(linker.instantiate(&mut s, &m)), TrapKind::TableOutOfBounds);
    let mut linker2 = linker.clone();
    let g2 =
        s.new_global(GlobalType { content: ValType::I32, mutable: false }, Value::I32(2)).unwrap();
    linker2.define("env", "g", Extern::Global(g2));
    let inst = linker2.instantiate(&mut s, &m).unwrap();
    let copy = inst.global(&s, "copy").unwrap();
    assert_eq!(s.global_get(copy), Value::I32(2));
    let fr = inst.global(&s, "fr").unwrap();
    assert!(matches!(s.global_get(fr), Value::FuncRef(Some(_))));
    let via = inst.func(&s, "via_global").unwrap();
    assert_eq!(call(&mut s, via, &[]).unwrap(), vec![Value::I32(77)]);
    let memory = match linker2.get("env", "memory") {
        Some(Extern::Memory(m)) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.memory_data(memory)[2], b'!');
}

#[test]
fn start_function_runs_and_may_trap() {
    let mut s = store();
    let m = module(
        r#"(module (global $g (export "g") (mut i32) (i32.const 0))
            (func $s (global.set $g (i32.const 5)))
            (start $s))"#,
    );
    let inst = Linker::new().instantiate(&mut s, &m).unwrap();
    let g = inst.global(&s, "g").unwrap();
    assert_eq!(s.global_get(g), Value::I32(5));
    let m = module(r#"(module (func $s unreachable) (start $s))"#);
    assert_eq!(trap_kind(Linker::new().instantiate(&mut s, &m)), TrapKind::Unreachable);
}

#[test]
fn register_and_import_across_instances() {
    let mut s = store();
    let a = module(
        r#"(module
            (func (export "five") (result i32) (i32.const 5))
            (global (export "g") (mut i32) (i32.const 1))
            (memory (export "m") 1)
            (table (export "t") 1 funcref))"#,
    );
    let ia = Linker::new().instantiate(&mut s, &a).unwrap();
    let names: Vec<_> = ia.exports(&s).map(|(n, e)| (n.to_owned(), e.kind())).collect();
    assert_eq!(
        names,
        [
            ("five".to_owned(), ExternKind::Func),
            ("g".to_owned(), ExternKind::Global),
            ("m".to_owned(), ExternKind::Memory),
            ("t".to_owned(), ExternKind::Table),
        ]
    );
    let mut linker = Linker::new();
    linker.define_instance(&s, "a", ia);
    assert_eq!(linker.get("a", "five"), ia.export(&s, "five"));
    let b = module(
        r#"(module
            (import "a" "five" (func $five (result i32)))
            (import "a" "g" (global $g (mut i32)))
            (import "a" "m" (memory 1))
            (import "a" "t" (table 1 funcref))
            (func (export "run") (result i32)
              (global.set $g (i32.add (global.get $g) (call $five)))
              (i32.store (i32.const 0) (global.get $g))
              (global.get $g)))"#,
    );
    let ib = linker.instantiate(&mut s, &b).unwrap();
    let run = ib.func(&s, "run").unwrap();
    assert_eq!(call(&mut s, run, &[]).unwrap(), vec![Value::I32(6)]);
    let g = ia.global(&s, "g").unwrap();
    assert_eq!(s.global_get(g), Value::I32(6));
    let m = ia.memory(&s, "m").unwrap();
    assert_eq!(&s.memory_data(m)[..4], &6i32.to_le_bytes());
}

#[test]
fn export_lookup_errors() {
    let mut s = store();
    let m = module(r#"(module (func (export "f")) (global (export "g") i32 (i32.const 0)))"#);
    let inst = Linker::new().instantiate(&mut s, &m).unwrap();
    assert!(inst.export(&s, "nope").is_none());
    assert!(matches!(inst.func(&s, "nope"), Err(Error::ExportNotFound { .. })));
    assert!(matches!(
        inst.func(&s, "g"),
        Err(Error::ExportKind { expected: ExternKind::Func, found: ExternKind::Global, .. })
    ));
    assert!(matches!(
        inst.memory(&s, "f"),
        Err(Error::ExportKind { expected: ExternKind::Memory, found: ExternKind::Func, .. })
    ));
    assert!(matches!(inst.global(&s, "f"), Err(Error::ExportKind { .. })));
    assert!(inst.memory_stats(&s).is_empty());
    // An instance handle of another store finds nothing there.
    let other = store();
    assert!(inst.export(&other, "f").is_none());
    assert_eq!(inst.exports(&other).count(), 0);
    assert!(matches!(inst.func(&other, "f"), Err(Error::ExportNotFound { .. })));
}

#[test]
fn store_globals() {
    let mut s = store();
    assert!(matches!(
        s.new_global(GlobalType { content: ValType::I32, mutable: true }, Value::I64(0)),
        Err(Error::GlobalType { expected: ValType::I32, got: ValType::I64 })
    ));
    let c =
        s.new_global(GlobalType { content: ValType::F64, mutable: false }, Value::F64(1)).unwrap();
    assert_eq!(s.global_set(c, Value::F64(2)), Err(Error::GlobalNotMutable));
    let v = s
        .new_global(
            GlobalType { content: ValType::ExternRef, mutable: true },
            Value::ExternRef(None),
        )
        .unwrap();
    assert!(matches!(s.global_set(v, Value::I32(0)), Err(Error::GlobalType { .. })));
    s.global_set(v, Value::ExternRef(Some(7))).unwrap();
    assert_eq!(s.global_get(v), Value::ExternRef(Some(7)));
    assert_eq!(s.global_get(c), Value::F64(1));
}

#[test]
fn store_tables() {
    let mut s = store();
    let ty = TableType { elem: ValType::ExternRef, initial: 3, maximum: None };
    assert!(s.new_table(ty, Value::FuncRef(None)).is_err());
    assert!(s.new_table(TableType { elem: ValType::I32, ..ty }, Value::I32(0)).is_err());
    assert!(s.new_table(TableType { maximum: Some(2), ..ty }, Value::ExternRef(None)).is_err());
    let t = s.new_table(ty, Value::ExternRef(Some(9))).unwrap();
    assert_eq!(s.table_size(t), 3);
    assert_eq!(s.table_get(t, 2), Some(Value::ExternRef(Some(9))));
    assert_eq!(s.table_get(t, 3), None);
}

#[test]
fn function_references_from_another_store_are_rejected() {
    // A funcref obtained from a big store is out of range in a small one.
    let mut big = store();
    let m = module(
        r#"(module (func $f) (func $g) (func $h)
            (elem declare func $h)
            (func (export "ref") (result funcref) (ref.func $h)))"#,
    );
    let inst = Linker::new().instantiate(&mut big, &m).unwrap();
    let get = inst.func(&big, "ref").unwrap();
    let r = call(&mut big, get, &[]).unwrap()[0];
    assert!(matches!(r, Value::FuncRef(Some(_))));
    let mut small = store();
    let ty = GlobalType { content: ValType::FuncRef, mutable: true };
    assert!(small.new_global(ty, r).is_err());
    let g = small.new_global(ty, Value::FuncRef(None)).unwrap();
    assert!(small.global_set(g, r).is_err());
    let tt = TableType { elem: ValType::FuncRef, initial: 1, maximum: None };
    assert!(small.new_table(tt, r).is_err());
    // In its own store it is fine.
    big.new_global(ty, r).unwrap();
}

#[test]
fn linking_a_handle_of_another_store_is_an_incompatible_import() {
    let mut big = store();
    let mut linker = Linker::new();
    for _ in 0..3 {
        let g = big
            .new_global(GlobalType { content: ValType::I32, mutable: false }, Value::I32(0))
            .unwrap();
        linker.define("env", "g", Extern::Global(g));
    }
    let mut small = store();
    let m = module(r#"(module (import "env" "g" (global i32)))"#);
    assert!(matches!(linker.instantiate(&mut small, &m), Err(Error::IncompatibleImport { .. })));
}

#[test]
fn host_functions_see_the_callers_memory() {
    let mut s = store();
    let poke = s.host_func(FuncType::new([ValType::I32, ValType::I32], []), |caller, args, _| {
        let (Value::I32(addr), Value::I32(v)) = (args[0], args[1]) else { unreachable!() };
        let Some(mem) = caller.memory() else {
            return Err(tandem_interp::Trap::host("no memory"));
        };
        mem[addr as usize] = v as u8;
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "poke", Extern::Func(poke));
    let m = module(
        r#"(module (import "host" "poke" (func $poke (param i32 i32)))
            (memory (export "m") 1)
            (func (export "run") (call $poke (i32.const 3) (i32.const 99))))"#,
    );
    let inst = linker.instantiate(&mut s, &m).unwrap();
    let run = inst.func(&s, "run").unwrap();
    call(&mut s, run, &[]).unwrap();
    let mem = inst.memory(&s, "m").unwrap();
    assert_eq!(s.memory_data(mem)[3], 99);
    // Called directly from the embedder, it has no caller and so no memory.
    match call(&mut s, poke, &[Value::I32(0), Value::I32(1)]) {
        Err(Error::Trap(t)) => assert_eq!(t.message(), "no memory"),
        other => panic!("expected a host trap, got {other:?}"),
    }
}

#[test]
fn the_same_module_instantiates_twice_independently() {
    let mut s = store();
    let m = module(
        r#"(module (global $g (export "g") (mut i32) (i32.const 0))
            (func (export "inc") (global.set $g (i32.add (global.get $g) (i32.const 1)))))"#,
    );
    let a = Linker::new().instantiate(&mut s, &m).unwrap();
    let b = Linker::new().instantiate(&mut s, &m).unwrap();
    let inc = a.func(&s, "inc").unwrap();
    call(&mut s, inc, &[]).unwrap();
    call(&mut s, inc, &[]).unwrap();
    let ga = a.global(&s, "g").unwrap();
    let gb = b.global(&s, "g").unwrap();
    assert_eq!((s.global_get(ga), s.global_get(gb)), (Value::I32(2), Value::I32(0)));
}

/// Buffers by identity (start address and length), sorted.
fn identities<'a>(buffers: impl IntoIterator<Item = &'a [u8]>) -> Vec<(usize, usize)> {
    let mut v: Vec<_> = buffers.into_iter().map(|b| (b.as_ptr() as usize, b.len())).collect();
    v.sort_unstable();
    v
}

#[test]
fn every_static_buffer_comes_back_when_the_store_ends() {
    let mut s = store();
    let linker = env(&mut s);
    let given: Vec<&'static mut [u8]> = (0..6).map(|_| leak(2 * PAGE_SIZE)).collect();
    let expected = identities(given.iter().map(|b| &**b));
    let mut given = given.into_iter();
    let mut next = || given.next().expect("six buffers");
    let static_memory = |buffer| InstanceOptions::new().with_static_memory(0, buffer);

    // Holds a memory, with the data segment's bytes.
    let ok = module(r#"(module (memory 1) (data (i32.const 0) "hi"))"#);
    linker.instantiate_with(&mut s, &ok, static_memory(next())).unwrap();
    // Refused before anything is made: no memory 1, 3 pages needed, an unknown import.
    let options = InstanceOptions::new().with_static_memory(1, next());
    let refused = linker.instantiate_with(&mut s, &ok, options);
    assert!(matches!(refused, Err(Error::NoSuchMemory { .. })), "{refused:?}");
    let big = module("(module (memory 3))");
    let refused = linker.instantiate_with(&mut s, &big, static_memory(next()));
    assert!(matches!(refused, Err(Error::StaticBufferTooSmall { .. })), "{refused:?}");
    let unlinked = module(r#"(module (import "nope" "f" (func)) (memory 1))"#);
    let refused = linker.instantiate_with(&mut s, &unlinked, static_memory(next()));
    assert!(matches!(refused, Err(Error::UnknownImport { .. })), "{refused:?}");
    // Replaced by a second buffer for the same index, whose memory is made before the
    // start function traps.
    let traps = module(r#"(module (memory 1) (func $s unreachable) (start $s))"#);
    let options = static_memory(next()).with_static_memory(0, next());
    assert_eq!(trap_kind(linker.instantiate_with(&mut s, &traps, options)), TrapKind::Unreachable);

    let back: Vec<&'static mut [u8]> = s.into_static_buffers().collect();
    assert_eq!(identities(back.iter().map(|b| &**b)), expected);
    assert!(back.iter().any(|b| b.starts_with(b"hi")), "contents as the module left them");
}

#[test]
fn a_refused_store_static_memory_comes_back_too() {
    let mut s = store();
    let small = leak(PAGE_SIZE);
    let expected = identities([&*small]);
    let refused = s.new_static_memory(MemoryType::new(2, None), small);
    assert!(matches!(refused, Err(Error::StaticBufferTooSmall { .. })), "{refused:?}");
    let back: Vec<_> = s.into_static_buffers().collect();
    assert_eq!(identities(back.iter().map(|b| &**b)), expected);
}

#[test]
fn defined_memory_tells_defined_from_imported() {
    let defined = module("(module (memory 1 3))");
    assert_eq!(defined.defined_memory(0), Some(MemoryType::new(1, Some(3))));
    assert_eq!(defined.defined_memory(1), None);
    let imported = module(r#"(module (import "env" "memory" (memory 1)))"#);
    assert_eq!(imported.defined_memory(0), None);
}

/// Shared state of two host functions: what one writes, the other and the embedder read.
#[derive(Default)]
struct Console {
    text: Vec<u8>,
    writes: u32,
}

#[test]
fn host_functions_share_the_store_s_host_data() {
    let mut s = store();
    assert!(s.set_host_data(Console::default()).unwrap().is_none());
    let mut linker = Linker::new();
    // `write(ptr, len)`: copies guest bytes into the console.
    linker.func_wrap(
        &mut s,
        "env",
        "write",
        |c: &mut tandem_interp::Caller<'_>, ptr: i32, len: i32| {
            let (memory, console) = c.memory_and_data::<Console>();
            let (Some(memory), Some(console)) = (memory, console) else {
                return Err(tandem_interp::Trap::host("no memory or no console"));
            };
            let bytes = memory
                .get(ptr as usize..ptr as usize + len as usize)
                .ok_or_else(|| tandem_interp::Trap::host("out of bounds"))?;
            console.text.extend_from_slice(bytes);
            console.writes += 1;
            Ok(())
        },
    );
    linker.func_wrap(&mut s, "env", "writes", |c: &mut tandem_interp::Caller<'_>| {
        c.data::<Console>().map_or(-1, |console| console.writes as i32)
    });
    let m = module(
        r#"(module
            (import "env" "write" (func $write (param i32 i32)))
            (import "env" "writes" (func $writes (result i32)))
            (memory 1) (data (i32.const 8) "hello")
            (func (export "run") (result i32)
              (call $write (i32.const 8) (i32.const 5))
              (call $write (i32.const 8) (i32.const 2))
              (call $writes)))"#,
    );
    let inst = linker.instantiate(&mut s, &m).unwrap();
    let run = inst.func(&s, "run").unwrap();
    assert_eq!(call(&mut s, run, &[]).unwrap(), vec![Value::I32(2)]);
    let console = s.host_data::<Console>().expect("kept");
    assert_eq!((console.text.as_slice(), console.writes), (&b"hellohe"[..], 2));
    // One value per type: a second replaces the first and gives it back.
    let old = s.set_host_data(Console { text: Vec::new(), writes: 9 }).unwrap().expect("replaced");
    assert_eq!(old.writes, 2);
    assert_eq!(s.host_data_mut::<Console>().map(|c| c.writes), Some(9));
    assert!(s.host_data::<u64>().is_none());
}

/// Extended constant expressions (the extended-const proposal): a position-independent
/// module's `global.get $base` + offset in a global, a data and an element offset, read at
/// instantiation; arithmetic on numbers alone is folded when decoded.
#[test]
fn extended_constant_expressions_read_imported_globals_at_instantiation() {
    let wat = r#"(module
        (import "env" "base" (global $base i32))
        (import "env" "big" (global $big i64))
        (memory 1) (table 4 funcref)
        (global (export "at") i32 (i32.add (global.get $base) (i32.mul (i32.const 4) (i32.const 3))))
        (global (export "wide") i64 (i64.sub (i64.mul (global.get $big) (global.get $big)) (i64.const 1)))
        (global (export "folded") i32 (i32.sub (i32.const 0) (i32.const 1)))
        (data (i32.add (global.get $base) (i32.const 2)) "hi")
        (elem (i32.sub (global.get $base) (i32.const 97)) func $f)
        (func $f (result i32) i32.const 7)
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
        (func (export "call") (param i32) (result i32) (call_indirect (result i32) (local.get 0))))"#;
    let m = module(wat);
    for base in [100, 98] {
        let mut store = store();
        let mut linker = Linker::new();
        let ty = |content| GlobalType { content, mutable: false };
        let g = store.new_global(ty(ValType::I32), Value::I32(base)).unwrap();
        linker.define("env", "base", Extern::Global(g));
        let big = store.new_global(ty(ValType::I64), Value::I64(1 << 32)).unwrap();
        linker.define("env", "big", Extern::Global(big));
        let instance = linker.instantiate(&mut store, &m).unwrap_or_else(|e| panic!("{base}: {e}"));
        let global = |name| match instance.export(&store, name) {
            Some(Extern::Global(g)) => store.global_get(g),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(global("at"), Value::I32(base + 12));
        assert_eq!(global("wide"), Value::I64(-1), "2^64 - 1 wraps");
        assert_eq!(global("folded"), Value::I32(-1));
        let func = |store: &Store, name| match instance.export(store, name) {
            Some(Extern::Func(f)) => f,
            other => panic!("{name}: {other:?}"),
        };
        let (load, call_slot) = (func(&store, "load"), func(&store, "call"));
        assert_eq!(call(&mut store, load, &[Value::I32(base + 2)]).unwrap(), [Value::I32(104)]);
        assert_eq!(call(&mut store, call_slot, &[Value::I32(base - 97)]).unwrap(), [Value::I32(7)]);
    }
}

#[test]
fn extended_constant_expressions_are_checked_and_bounded() {
    let load = |config: &Config, wat: &str| Module::new(config, &wat::parse_str(wat).unwrap());
    let sum = "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))";
    let v2 = Config::new().with_features(tandem_interp::Features::WASM2);
    match load(&v2, sum) {
        Err(Error::Unsupported { feature, .. }) => assert_eq!(feature, "extended-const"),
        other => panic!("not in 2.0: {other:?}"),
    }
    load(&Config::new(), sum).expect("supported by default");
    // 16 operands deep is the most a stack holds; 17 is refused as a limit, not a crash.
    let deep = |n: usize| {
        let pushes = "(i32.const 1)".repeat(n);
        let adds = "(i32.add)".repeat(n - 1);
        format!("(module (global i32 {pushes} {adds}))")
    };
    assert!(load(&Config::new(), &deep(16)).is_ok());
    match load(&Config::new(), &deep(17)) {
        Err(Error::Limit { what, value: 17, limit: 16 }) => {
            assert_eq!(what, "constant expression depth")
        }
        other => panic!("17 deep: {other:?}"),
    }
}

/// Custom page sizes: a module that asks for 12 KiB in 1-byte pages gets exactly that,
/// from a 12 KiB static buffer; `memory.size` and `memory.grow` count bytes; imports must
/// agree on the page size; a config without the proposal refuses the module.
#[test]
fn one_byte_pages_give_a_module_exactly_the_memory_it_asks_for() {
    let wat = r#"(module
        (memory (export "mem") 12288 (pagesize 1))
        (func (export "size") (result i32) memory.size)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
        (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#;
    let m = module(wat);
    assert_eq!(m.defined_memory(0), Some(MemoryType::new(12288, None).with_page_size_log2(0)));
    let mut s = store();
    let options = InstanceOptions::new().with_static_memory(0, leak(12 * 1024 + 10));
    let instance = Linker::new().instantiate_with(&mut s, &m, options).expect("fits 12 KiB");
    let func = |s: &Store, name| instance.func(s, name).unwrap();
    let (size, grow, load, store_) =
        (func(&s, "size"), func(&s, "grow"), func(&s, "load"), func(&s, "store"));
    assert_eq!(call(&mut s, size, &[]).unwrap(), [Value::I32(12288)]);
    call(&mut s, store_, &[Value::I32(12287), Value::I32(7)]).unwrap();
    assert_eq!(call(&mut s, load, &[Value::I32(12287)]).unwrap(), [Value::I32(7)]);
    assert_eq!(trap_kind(call(&mut s, load, &[Value::I32(12288)])), TrapKind::MemoryOutOfBounds);
    // The buffer's 10 spare bytes, then no more.
    assert_eq!(call(&mut s, grow, &[Value::I32(10)]).unwrap(), [Value::I32(12288)]);
    assert_eq!(call(&mut s, grow, &[Value::I32(1)]).unwrap(), [Value::I32(-1)]);
    let stats = instance.memory_stats(&s);
    assert_eq!((stats[0].page_size, stats[0].pages, stats[0].size_bytes), (1, 12298, 12298));

    // An import must have the page size of the memory it is given.
    let mut linker = Linker::new();
    linker.define_instance(&s, "m", instance);
    let same = module(r#"(module (import "m" "mem" (memory 100 (pagesize 1))))"#);
    linker.instantiate(&mut s, &same).expect("same page size");
    let other = module(r#"(module (import "m" "mem" (memory 0)))"#);
    assert!(matches!(linker.instantiate(&mut s, &other), Err(Error::IncompatibleImport { .. })));

    let v2 = Config::new().with_features(tandem_interp::Features::WASM2);
    match Module::new(&v2, &wat::parse_str(wat).unwrap()) {
        Err(Error::Unsupported { feature, .. }) => assert_eq!(feature, "custom-page-sizes"),
        other => panic!("not in 2.0: {other:?}"),
    }
}

/// Multi-memory: a message buffer in its own static buffer beside a heap memory; loads,
/// stores, `memory.size`/`grow`/`fill`/`init` and data segments on memory 1, copies across,
/// each memory's figures apart; memory 1 cannot be overrun from memory 0.
#[test]
fn a_module_may_have_several_memories_each_in_its_own_buffer() {
    let wat = r#"(module
        (memory $heap 1)
        (memory $msg 1 2)
        (data (memory $msg) (i32.const 8) "tandem")
        (data $more "xy")
        (func (export "load1") (param i32) (result i32) (i32.load8_u $msg (local.get 0)))
        (func (export "store1") (param i32 i32) (i32.store8 $msg (local.get 0) (local.get 1)))
        (func (export "load0") (param i32) (result i32) (i32.load8_u $heap (local.get 0)))
        (func (export "size1") (result i32) (memory.size $msg))
        (func (export "grow1") (param i32) (result i32) (memory.grow $msg (local.get 0)))
        (func (export "fill1") (memory.fill $msg (i32.const 0) (i32.const 33) (i32.const 4)))
        (func (export "init1") (memory.init $msg $more (i32.const 100) (i32.const 0) (i32.const 2)))
        (func (export "copy") (memory.copy $heap $msg (i32.const 16) (i32.const 8) (i32.const 6))))"#;
    let m = module(wat);
    let mut s = store();
    let options = InstanceOptions::new().with_static_memory(1, leak(PAGE_SIZE));
    let instance = Linker::new().instantiate_with(&mut s, &m, options).expect("instantiates");
    let i32s = |v: &[i32]| v.iter().map(|&v| Value::I32(v)).collect::<Vec<_>>();
    let mut run = |name: &str, args: &[i32]| {
        let f = instance.func(&s, name).unwrap();
        call(&mut s, f, &i32s(args))
    };
    assert_eq!(run("load1", &[8]).unwrap(), i32s(&[b't' as i32]));
    assert_eq!(run("load0", &[8]).unwrap(), i32s(&[0]), "the segment went to memory 1");
    run("store1", &[3, 7]).unwrap();
    assert_eq!(run("load1", &[3]).unwrap(), i32s(&[7]));
    assert_eq!(run("load0", &[3]).unwrap(), i32s(&[0]));
    run("fill1", &[]).unwrap();
    assert_eq!(run("load1", &[3]).unwrap(), i32s(&[33]));
    run("init1", &[]).unwrap();
    assert_eq!(run("load1", &[101]).unwrap(), i32s(&[b'y' as i32]));
    run("copy", &[]).unwrap();
    assert_eq!(run("load0", &[21]).unwrap(), i32s(&[b'm' as i32]), "copied across");
    // Memory 1 is one static page: it cannot grow, and past it is out of bounds.
    assert_eq!(run("size1", &[]).unwrap(), i32s(&[1]));
    assert_eq!(run("grow1", &[1]).unwrap(), i32s(&[-1]));
    assert_eq!(trap_kind(run("load1", &[PAGE_SIZE as i32])), TrapKind::MemoryOutOfBounds);
    let stats = instance.memory_stats(&s);
    let kinds: Vec<_> = stats.iter().map(|m| (m.kind, m.pages)).collect();
    assert_eq!(kinds, [(MemoryKind::Heap, 1), (MemoryKind::Static, 1)]);

    // A config without multi-memory holds the module to 2.0's rules.
    let v2 = Config::new().with_features(tandem_interp::Features::WASM2);
    let r = Module::new(&v2, &wat::parse_str(wat).unwrap());
    assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
}
