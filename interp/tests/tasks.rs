//! Tasks: calls that stop for fuel, for the interrupt flag or at a host function's request,
//! and resume exactly where they stopped; several stopped at once, each on its own stacks.

use std::sync::atomic::{AtomicBool, Ordering};

use tandem_interp::{
    Caller, Config, Error, Func, Instance, Linker, Module, Progress, Store, Suspension, Task,
    TrapKind, Value,
};

/// Recursion (frames on the task's stack), a loop, memory written and read back: `work(at,
/// n)` folds its region of memory into a checksum, so an interleaving that lost or repeated
/// a step would show. `yields(n)` reaches the `yield` host function by a call, an indirect
/// call and a tail call each turn.
const WAT: &str = r#"(module
    (import "host" "yield" (func $yield))
    (type $v (func))
    (memory (export "memory") 1)
    (table 1 funcref)
    (elem (i32.const 0) $yield)
    (func $fib (param i32) (result i32)
      (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
        (then (local.get 0))
        (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                       (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
    (func (export "work") (param $at i32) (param $n i32) (result i64)
      (local $i i32) (local $acc i64) (local $p i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $at)
          (i32.shl (i32.and (local.get $i) (i32.const 63)) (i32.const 2))))
        (i32.store (local.get $p) (i32.add (i32.load (local.get $p))
          (i32.mul (call $fib (i32.rem_u (local.get $i) (i32.const 12))) (local.get $i))))
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31))
          (i64.extend_i32_u (i32.load (local.get $p)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $acc))
    (func $via_table (call_indirect (type $v) (i32.const 0)))
    (func $tail (return_call $yield))
    (func (export "yields") (param $n i32) (result i32) (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $yield)
        (call $via_table)
        (call $tail)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $i))
    (func (export "yield_last") (return_call $yield))
    (func (export "trap_at") (param i32) (result i32)
      (loop $l (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
      (unreachable))
    (func (export "deep") (param i32) (result i32)
      (if (result i32) (local.get 0)
        (then (i32.add (call 8 (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
        (else (i32.const 0)))))"#;

/// Yields counted in the store's host data.
struct Yields(u32);

fn setup(config: Config) -> (Store, Instance) {
    let wasm = wat::parse_str(WAT).expect("wat");
    let module = Module::new(&config, &wasm).expect("module");
    let mut store = Store::new(config);
    store.set_host_data(Yields(0)).expect("host data");
    let mut linker = Linker::new();
    linker.func_wrap(&mut store, "host", "yield", |caller: &mut Caller<'_>| {
        caller.data_mut::<Yields>().expect("host data").0 += 1;
        caller.request_yield();
    });
    let instance = linker.instantiate(&mut store, &module).expect("instantiate");
    (store, instance)
}

fn fuel_config() -> Config {
    Config::new().with_fuel(true)
}

fn func(store: &Store, instance: Instance, name: &str) -> Func {
    instance.func(store, name).expect("export")
}

fn work_args(at: i32, n: i32) -> [Value; 2] {
    [Value::I32(at), Value::I32(n)]
}

/// A task's call run to its end in slices of `slice` fuel: its results and its stops.
fn run_sliced(store: &mut Store, task: Task, f: Func, args: &[Value], slice: u64) -> (i64, u32) {
    let mut out = [Value::I64(0)];
    store.set_fuel(slice);
    let mut progress = store.start(task, f, args, &mut out).expect("start");
    let mut stops = 0;
    while let Progress::Suspended(why) = progress {
        assert_eq!(why, Suspension::OutOfFuel);
        stops += 1;
        store.set_fuel(slice);
        progress = store.resume(task, &mut out).expect("resume");
    }
    let Value::I64(v) = out[0] else { panic!("an i64 result: {out:?}") };
    (v, stops)
}

/// The uninterrupted calls' results and memory: the reference.
fn uninterrupted(calls: &[[Value; 2]]) -> (Vec<i64>, Vec<u8>, u64) {
    let (mut store, instance) = setup(fuel_config());
    store.set_fuel(u64::MAX);
    let work = func(&store, instance, "work");
    let mut results = Vec::new();
    for args in calls {
        let mut out = [Value::I64(0)];
        store.call(work, args, &mut out).expect("call");
        let Value::I64(v) = out[0] else { panic!() };
        results.push(v);
    }
    let memory = instance.memory(&store, "memory").map(|m| store.memory_data(m).to_vec());
    (results, memory.unwrap_or_default(), store.stats().fuel_consumed)
}

#[test]
fn a_call_in_slices_of_fuel_ends_as_the_uninterrupted_call() {
    let (expected, _, fuel) = uninterrupted(&[work_args(0, 500)]);
    for slice in [1, 2, 7, 64, 1000] {
        let (mut store, instance) = setup(fuel_config());
        let task = store.new_task(1024, 32).expect("task");
        let work = func(&store, instance, "work");
        let (result, stops) = run_sliced(&mut store, task, work, &work_args(0, 500), slice);
        assert_eq!(result, expected[0], "slice {slice}");
        assert_eq!(store.stats().fuel_consumed, fuel, "no fuel charged twice, slice {slice}");
        assert_eq!(stops as u64, fuel.div_ceil(slice) - 1, "slice {slice}");
        assert!(!store.is_suspended(task));
    }
}

#[test]
fn two_tasks_interleaved_thousands_of_times_agree_with_uninterrupted_calls() {
    let calls = [work_args(0, 1500), work_args(1024, 2000)];
    let (expected, expected_memory, _) = uninterrupted(&calls);

    let (mut store, instance) = setup(fuel_config());
    let work = func(&store, instance, "work");
    let tasks = [store.new_task(512, 24).expect("task"), store.new_task(512, 24).expect("task")];
    let mut outs = [[Value::I64(0)]; 2];
    let mut running = [true; 2];
    // Different slices, so the tasks stop at different points of each other's work.
    let slices = [5, 11];
    for (i, &task) in tasks.iter().enumerate() {
        store.set_fuel(slices[i]);
        let started = store.start(task, work, &calls[i], &mut outs[i]).expect("start");
        running[i] = started != Progress::Finished;
    }
    let mut switches = 0u32;
    while running.iter().any(|&r| r) {
        for (i, &task) in tasks.iter().enumerate() {
            if running[i] {
                assert!(store.is_suspended(task));
                store.set_fuel(slices[i]);
                running[i] =
                    store.resume(task, &mut outs[i]).expect("resume") != Progress::Finished;
                switches += 1;
            }
        }
    }
    assert!(switches > 5_000, "{switches} switches");
    for i in 0..2 {
        assert_eq!(outs[i], [Value::I64(expected[i])], "task {i}");
    }
    let memory = instance.memory(&store, "memory").expect("memory");
    assert!(store.memory_data(memory) == &expected_memory[..], "memory as after the plain calls");
}

#[test]
fn a_host_function_that_yields_stops_a_task_after_it_and_not_a_plain_call() {
    let (mut store, instance) = setup(Config::new());
    let task = store.new_task(256, 16).expect("task");
    let yields = func(&store, instance, "yields");
    let mut out = [Value::I32(0)];
    let mut progress = store.start(task, yields, &[Value::I32(100)], &mut out).expect("start");
    let mut stops = 0;
    while let Progress::Suspended(why) = progress {
        assert_eq!(why, Suspension::Yielded);
        stops += 1;
        assert_eq!(store.host_data::<Yields>().expect("data").0, stops, "the host ran once a stop");
        progress = store.resume(task, &mut out).expect("resume");
    }
    // Each turn yields from a call, an indirect call and a tail call.
    assert_eq!((stops, out[0]), (300, Value::I32(100)));

    // A plain call cannot stop: the request is a hint it passes by.
    store.call(yields, &[Value::I32(100)], &mut out).expect("call");
    assert_eq!((store.host_data::<Yields>().expect("data").0, out[0]), (600, Value::I32(100)));

    // A yield as the outermost function's last step: the call is over.
    let last = func(&store, instance, "yield_last");
    assert_eq!(store.start(task, last, &[], &mut []).expect("start"), Progress::Finished);
}

#[test]
fn a_raised_interrupt_flag_stops_a_task_and_lowered_it_resumes() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let (mut store, instance) = setup(fuel_config());
    store.set_interrupt_flag(&STOP);
    store.set_fuel(u64::MAX);
    let task = store.new_task(1024, 32).expect("task");
    let work = func(&store, instance, "work");
    let (expected, _, _) = uninterrupted(&[work_args(0, 3000)]);
    STOP.store(true, Ordering::Relaxed);
    let mut out = [Value::I64(0)];
    let progress = store.start(task, work, &work_args(0, 3000), &mut out).expect("start");
    assert_eq!(progress, Progress::Suspended(Suspension::Interrupted));
    // Still raised: it stops again at once, having done nothing.
    let progress = store.resume(task, &mut out).expect("resume");
    assert_eq!(progress, Progress::Suspended(Suspension::Interrupted));
    STOP.store(false, Ordering::Relaxed);
    assert_eq!(store.resume(task, &mut out).expect("resume"), Progress::Finished);
    assert_eq!(out, [Value::I64(expected[0])]);
}

#[test]
fn plain_calls_run_beside_a_stopped_task_without_disturbing_it() {
    let (expected, _, _) = uninterrupted(&[work_args(0, 400)]);
    let (mut store, instance) = setup(fuel_config());
    let task = store.new_task(1024, 32).expect("task");
    let work = func(&store, instance, "work");
    let deep = func(&store, instance, "deep");
    let mut out = [Value::I64(0)];
    store.set_fuel(3_000);
    let progress = store.start(task, work, &work_args(0, 400), &mut out).expect("start");
    assert_eq!(progress, Progress::Suspended(Suspension::OutOfFuel));
    // Deep recursion on the store's own stacks, and a trap there.
    store.set_fuel(u64::MAX);
    let mut depth = [Value::I32(0)];
    store.call(deep, &[Value::I32(500)], &mut depth).expect("deep");
    assert_eq!(depth, [Value::I32(500)]);
    let trap_at = func(&store, instance, "trap_at");
    match store.call(trap_at, &[Value::I32(3)], &mut depth) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::Unreachable),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(store.resume(task, &mut out).expect("resume"), Progress::Finished);
    assert_eq!(out, [Value::I64(expected[0])]);
}

#[test]
fn a_task_refuses_what_its_state_does_not_allow() {
    let (mut store, instance) = setup(fuel_config());
    let task = store.new_task(1024, 32).expect("task");
    let work = func(&store, instance, "work");
    let mut out = [Value::I64(0)];
    assert!(matches!(
        store.resume(task, &mut out),
        Err(Error::TaskState { task: 0, suspended: false })
    ));
    store.set_fuel(100);
    store.start(task, work, &work_args(0, 50), &mut out).expect("start");
    assert!(matches!(
        store.start(task, work, &work_args(0, 50), &mut out),
        Err(Error::TaskState { task: 0, suspended: true })
    ));
    assert!(matches!(
        store.resume(task, &mut []),
        Err(Error::ArgumentCount { expected: 1, got: 0 })
    ));
    // Cancelled, it starts afresh.
    store.cancel(task).expect("cancel");
    assert!(!store.is_suspended(task));
    store.set_fuel(u64::MAX);
    assert_eq!(
        store.start(task, work, &work_args(0, 50), &mut out).expect("start"),
        Progress::Finished
    );
    // A trap ends the task's call: nothing to resume.
    let trap_at = func(&store, instance, "trap_at");
    let mut one = [Value::I32(0)];
    assert!(matches!(store.start(task, trap_at, &[Value::I32(9)], &mut one), Err(Error::Trap(_))));
    assert!(!store.is_suspended(task));
}

#[test]
fn a_task_has_the_stacks_it_was_given_and_the_heap_account_counts_them() {
    let config = fuel_config().with_limits(4096, 64);
    let (mut store, instance) = setup(config);
    let before = store.heap_stats().in_use;
    let task = store.new_task(64, 8).expect("task");
    // 64 slots of 8 bytes, 8 frames of 12, and the task's entry in a vector of 4.
    assert_eq!(store.heap_stats().in_use - before, 64 * 8 + 8 * 12 + 4 * 52);
    let deep = func(&store, instance, "deep");
    store.set_fuel(u64::MAX);
    let mut out = [Value::I32(0)];
    match store.start(task, deep, &[Value::I32(20)], &mut out) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::StackExhausted),
        other => panic!("expected stack exhaustion on the task's 8 frames, got {other:?}"),
    }
    assert_eq!(
        store.start(task, deep, &[Value::I32(5)], &mut out).expect("start"),
        Progress::Finished
    );
    assert_eq!(out, [Value::I32(5)]);
    // The store's own stacks are as large as the config says.
    store.call(deep, &[Value::I32(50)], &mut out).expect("call");
    // Past the config's limits, refused.
    assert!(matches!(store.new_task(4097, 8), Err(Error::Limit { .. })));
    assert!(matches!(store.new_task(64, 65), Err(Error::Limit { .. })));
    // Past the heap account, refused and nothing charged.
    let mut small = Store::new(fuel_config().with_limits(4096, 64).with_heap_limit(Some(40_000)));
    let in_use = small.heap_stats().in_use;
    assert!(matches!(small.new_task(4096, 64), Err(Error::HeapExhausted { .. })));
    assert!(small.heap_stats().in_use <= in_use + 4 * 52, "only the tasks' vector at most");
}
