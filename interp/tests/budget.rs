//! The heap-memory budget (`Config::max_heap_memory`): heap-backed linear memory of the
//! whole store stays within it, at instantiation and at `memory.grow`, and every grow the
//! board refused although the module allowed it is counted in `grow_refusals`; and the
//! elements per table (`Config::max_table_elements`); and the instances per store
//! (`Config::max_instances`).

use tandem_interp::{Config, Error, Instance, InstanceOptions, Linker, Module, Store, Value};

const PAGE: u64 = 65536;

const GROWER: &str = r#"(module (memory (export "mem") 1 8)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "size") (result i32) (memory.size))
    (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"#;

fn config(budget_pages: Option<u64>) -> Config {
    Config::new().with_limits(4096, 64).with_heap_memory_budget(budget_pages.map(|p| p * PAGE))
}

fn module(config: &Config, wat: &str) -> Module {
    Module::new(config, &wat::parse_str(wat).expect("wat")).expect("module")
}

fn call(store: &mut Store, inst: Instance, name: &str, args: &[Value]) -> i32 {
    let f = inst.func(store, name).expect("export");
    let mut results = vec![Value::I32(0)];
    if store.func_type(f).results().is_empty() {
        results.clear();
    }
    store.call(f, args, &mut results).expect("call");
    match results.first() {
        Some(Value::I32(v)) => *v,
        _ => 0,
    }
}

#[test]
fn grow_stops_at_the_budget_across_instances() {
    let config = config(Some(5));
    let mut store = Store::new(config.clone());
    let m = module(&config, GROWER);
    let a = Linker::new().instantiate(&mut store, &m).expect("a");
    let b = Linker::new().instantiate(&mut store, &m).expect("b");
    // 2 of 5 pages in use; a may take 3 more, then nobody gets any.
    call(&mut store, a, "poke", &[Value::I32(8), Value::I32(0x1234)]);
    assert_eq!(call(&mut store, a, "grow", &[Value::I32(3)]), 1);
    assert_eq!(call(&mut store, b, "grow", &[Value::I32(1)]), -1);
    assert_eq!(call(&mut store, a, "grow", &[Value::I32(1)]), -1);
    assert_eq!(call(&mut store, b, "grow", &[Value::I32(0)]), 1, "grow 0 always succeeds");
    assert_eq!(call(&mut store, b, "size", &[]), 1, "a refused grow changes nothing");
    assert_eq!(call(&mut store, a, "size", &[]), 4);
    assert_eq!(call(&mut store, a, "peek", &[Value::I32(8)]), 0x1234, "data kept");
    assert_eq!(store.stats().grow_refusals, 2);
}

#[test]
fn only_board_refusals_are_counted() {
    let config = config(None);
    let mut store = Store::new(config.clone());
    let m = module(&config, GROWER);
    let inst = Linker::new().instantiate(&mut store, &m).expect("instance");
    // The module's own maximum (8 pages) refuses: spec behaviour, not a board limit.
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(8)]), -1);
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(7)]), 1, "unlimited budget");
    assert_eq!(store.stats().grow_refusals, 0);

    // A static buffer of 2 pages refuses the third although the module allows 8.
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; 2 * PAGE as usize].into_boxed_slice());
    let options = InstanceOptions::new().with_static_memory(0, buffer);
    let inst = Linker::new().instantiate_with(&mut store, &m, options).expect("static");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(1)]), 1);
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(1)]), -1);
    assert_eq!(store.stats().grow_refusals, 1);
}

#[test]
fn static_memories_do_not_count_against_the_budget() {
    let config = config(Some(1));
    let mut store = Store::new(config.clone());
    let m = module(&config, "(module (memory 3))");
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; 3 * PAGE as usize].into_boxed_slice());
    let options = InstanceOptions::new().with_static_memory(0, buffer);
    Linker::new().instantiate_with(&mut store, &m, options).expect("static memory fits");
    // The heap still has its whole page.
    let one = module(&config, "(module (memory 1))");
    Linker::new().instantiate(&mut store, &one).expect("one heap page");
}

#[test]
fn instantiation_over_the_budget_is_an_error_naming_the_sizes() {
    let config = config(Some(2));
    let mut store = Store::new(config.clone());
    let one = module(&config, "(module (memory 1))");
    Linker::new().instantiate(&mut store, &one).expect("first page");
    let two = module(&config, "(module (memory 2))");
    let err = Linker::new().instantiate(&mut store, &two).expect_err("over budget");
    assert!(
        matches!(err, Error::MemoryBudget { needed, in_use, budget }
            if needed == 2 * PAGE && in_use == PAGE && budget == 2 * PAGE),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("131072") && text.contains("65536"), "{text}");
    // Nothing was half-created: the budget still has its second page.
    Linker::new().instantiate(&mut store, &one).expect("second page");
    let err = store.new_memory(tandem_interp::MemoryType::new(1, None));
    assert!(matches!(err, Err(Error::MemoryBudget { .. })), "{err:?}");
}

#[test]
fn no_budget_is_unlimited() {
    let config = config(None);
    assert_eq!(Config::new().max_heap_memory, None, "unlimited by default");
    let mut store = Store::new(config.clone());
    let big = module(&config, "(module (memory 20))");
    Linker::new().instantiate(&mut store, &big).expect("20 pages");
    let m = module(&config, GROWER);
    let inst = Linker::new().instantiate(&mut store, &m).expect("grower");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(7)]), 1);
    store.new_memory(tandem_interp::MemoryType::new(10, None)).expect("10 more");
    assert_eq!(store.stats().grow_refusals, 0);
}

#[test]
fn store_memories_share_the_budget_with_instances() {
    let config = config(Some(3));
    let mut store = Store::new(config.clone());
    store.new_memory(tandem_interp::MemoryType::new(2, None)).expect("2 pages");
    let m = module(&config, GROWER);
    let inst = Linker::new().instantiate(&mut store, &m).expect("third page");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(1)]), -1);
    assert_eq!(call(&mut store, inst, "size", &[]), 1);
    assert_eq!(store.stats().grow_refusals, 1);
    // Past the module's maximum as well as the budget: the module's limit, not counted.
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(8)]), -1);
    assert_eq!(store.stats().grow_refusals, 1);
}

/// A table that starts at 2 elements and allows 100.
const TABLE: &str = r#"(module (table $t (export "t") 2 100 funcref)
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
    (func (export "size") (result i32) (table.size $t)))"#;

#[test]
fn the_table_limit_caps_grow_and_refuses_larger_tables() {
    let config = Config::new().with_table_elements_limit(Some(10));
    let mut store = Store::new(config.clone());
    let inst = Linker::new().instantiate(&mut store, &module(&config, TABLE)).expect("fits");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(8)]), 2, "up to the limit");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(1)]), -1, "one past it");
    assert_eq!(call(&mut store, inst, "size", &[]), 10);

    let big = module(&config, "(module (table 11 funcref))");
    let refused = Linker::new().instantiate(&mut store, &big).expect_err("over the limit");
    assert!(matches!(refused, Error::TableLimit { initial: 11, limit: 10 }), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "a table of 11 elements exceeds the limit of 10 elements per table"
    );
    // The declared maximum still applies below the limit.
    let config = Config::new().with_table_elements_limit(Some(1000));
    let mut store = Store::new(config.clone());
    let inst = Linker::new().instantiate(&mut store, &module(&config, TABLE)).expect("fits");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(99)]), -1, "past the maximum");
    assert_eq!(call(&mut store, inst, "grow", &[Value::I32(98)]), 2);
}

#[test]
fn the_instance_limit_refuses_one_more() {
    let config = Config::new().with_instances_limit(Some(2));
    let mut store = Store::new(config.clone());
    let m = module(&config, "(module (memory 1) (table 1 funcref))");
    for _ in 0..2 {
        Linker::new().instantiate(&mut store, &m).expect("within the limit");
    }
    let refused = Linker::new().instantiate(&mut store, &m).expect_err("one too many");
    assert!(matches!(refused, Error::InstanceLimit { limit: 2 }), "{refused:?}");
    assert_eq!(refused.to_string(), "the store already holds 2 instances, its limit");
}
