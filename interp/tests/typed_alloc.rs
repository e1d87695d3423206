//! Typed calls and typed host calls allocate nothing per call, counted by a global
//! allocator (one per test binary, hence this file of its own; the idea is
//! `src/raw/memory/tests.rs`'s `heap_use`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tandem_interp::{Caller, Config, Linker, Module, Store, Trap};

/// Counts this thread's allocations (tests run on several threads).
struct CountingAlloc;

std::thread_local! {
    // Const-initialised, no destructor: reading it never allocates, so the allocator
    // can use it.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to `System`; the counter only adds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: the caller's guarantees for `alloc` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: the caller's guarantees for `alloc_zeroed` are passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: the caller's guarantees for `realloc` are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees for `dealloc` are passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the allocations it made on this thread.
fn counting<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCS.with(Cell::get);
    let result = f();
    (result, ALLOCS.with(Cell::get) - before)
}

#[test]
fn the_counter_sees_allocations() {
    let (v, allocs) = counting(|| vec![0u8; 10]);
    assert_eq!((v.len(), allocs), (10, 1));
    let (_, allocs) = counting(|| Trap::host(String::from("message")));
    assert!(allocs >= 1);
}

#[test]
fn typed_calls_into_wasm_and_host_allocate_nothing() {
    let config = Config::new();
    let wasm = wat::parse_str(
        r#"(module
             (import "env" "mix" (func $mix (param i32 i64 f32 f64) (result f64 i32)))
             (import "env" "poke" (func $poke (param i32 i32)))
             (memory 1)
             (func (export "run") (param $n i32) (result f64 i32) (local $acc i32)
               (local $r f64)
               (block (loop
                 (br_if 1 (i32.eqz (local.get $n)))
                 (call $poke (local.get $n) (local.get $n))
                 (call $mix (local.get $n) (i64.const 2) (f32.const 0.5) (f64.const 1.5))
                 (local.set $acc (i32.add (local.get $acc)))
                 (local.set $r)
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br 0)))
               (local.get $r) (local.get $acc)))"#,
    )
    .unwrap();
    let module = Module::new(&config, &wasm).unwrap();
    let mut store = Store::new(config);
    let mut linker = Linker::new();
    linker.func_wrap(&mut store, "env", "mix", |a: i32, b: i64, c: f32, d: f64| {
        (f64::from(c) + d, a + b as i32)
    });
    linker.func_wrap(&mut store, "env", "poke", |caller: &mut Caller<'_>, at: i32, v: i32| {
        let memory = caller.memory().ok_or_else(|| Trap::host("no memory"))?;
        let byte = memory.get_mut(at as u32 as usize).ok_or_else(|| Trap::host("bounds"))?;
        *byte = v as u8;
        Ok::<_, Trap>(())
    });
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.typed_func::<i32, (f64, i32)>(&store, "run").unwrap();
    // A direct typed call of a host function, too.
    let double = store.typed_host_func(|x: i64| (x * 2, x as i32));
    let double = store.typed_func::<i64, (i64, i32)>(double).unwrap();

    assert_eq!(run.call(&mut store, 1).unwrap(), (2.0, 3));
    let (results, allocs) =
        counting(|| (0..100).map(|_| run.call(&mut store, 100).unwrap()).fold((0.0, 0), |_, r| r));
    // 100 calls, each 100 typed host calls of either kind.
    assert_eq!(results, (2.0, (1..=100).map(|n| n + 2).sum::<i32>()));
    assert_eq!(allocs, 0, "typed calls into wasm and typed host calls allocated");

    assert_eq!(double.call(&mut store, 4).unwrap(), (8, 4));
    let (results, allocs) =
        counting(|| (0..100).map(|i| double.call(&mut store, i).unwrap()).fold((0, 0), |_, r| r));
    assert_eq!((results, allocs), ((198, 99), 0), "a typed call of a host function allocated");
}
