//! The WASI subset, called from wasm as a program calls it: what it writes, reads and
//! answers, and the errno of everything outside the subset or outside memory.

use tandem_hostmods::{HostModule, Printed, Wasi, WasiContext};
use tandem_interp::{Config, Instance, Linker, Module, Store, TrapKind, Value};

/// A store with WASI linked (and `context`), and an instance of `wat`.
fn instance(context: WasiContext, wat: &str) -> (Store, Instance) {
    let config = Config::new();
    let mut store = Store::new(config.clone());
    store.set_host_data(Printed::with_limit(1 << 16)).unwrap();
    store.set_host_data(context).unwrap();
    let mut linker = Linker::new();
    Wasi.define(&mut store, &mut linker).unwrap();
    let module = Module::new(&config, &wat::parse_str(wat).unwrap()).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn call(store: &mut Store, instance: Instance, name: &str, args: &[i32]) -> i32 {
    let f = instance.func(store, name).unwrap();
    let args: Vec<Value> = args.iter().map(|&a| Value::I32(a)).collect();
    let mut results = [Value::I32(0)];
    store.call(f, &args, &mut results).unwrap();
    let Value::I32(r) = results[0] else { panic!("{results:?}") };
    r
}

fn load(store: &Store, instance: Instance, at: usize, len: usize) -> Vec<u8> {
    let memory = instance.memory(store, "memory").unwrap();
    store.memory_data(memory)[at..at + len].to_vec()
}

const IO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fdstat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello, ")
  (data (i32.const 120) "world\n")
  ;; two iovecs at 0: (100, 7) and (120, 6)
  (data (i32.const 0) "\64\00\00\00\07\00\00\00\78\00\00\00\06\00\00\00")
  (func (export "write") (param $fd i32) (result i32)
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 2) (i32.const 200)))
  (func (export "write_outside") (result i32)
    (call $fd_write (i32.const 1) (i32.const 65530) (i32.const 2) (i32.const 200)))
  (func (export "write_count_outside") (result i32)
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 65535)))
  ;; one iovec at 16: (300, 4)
  (func (export "read") (result i32)
    (i32.store (i32.const 16) (i32.const 300)) (i32.store (i32.const 20) (i32.const 4))
    (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 204)))
  (func (export "fdstat") (param i32) (result i32) (call $fdstat (local.get 0) (i32.const 400)))
  (func (export "prestat") (result i32) (call $prestat (i32.const 3) (i32.const 400)))
  (func (export "seek") (param i32) (result i32) (call $seek (local.get 0) (i64.const 0) (i32.const 0) (i32.const 400)))
  (func (export "open") (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 400))))"#;

#[test]
fn fd_write_and_fd_read_on_the_standard_streams() {
    let context = WasiContext { stdin: b"abcdef".to_vec(), ..WasiContext::default() };
    let (mut s, i) = instance(context, IO);
    assert_eq!(call(&mut s, i, "write", &[1]), 0);
    assert_eq!(load(&s, i, 200, 4), 13u32.to_le_bytes());
    assert_eq!(call(&mut s, i, "write", &[2]), 0);
    assert_eq!(call(&mut s, i, "write", &[5]), 8, "EBADF");
    let printed = s.host_data::<Printed>().unwrap();
    assert_eq!(
        (printed.stdout.as_slice(), printed.stderr.as_slice()),
        (&b"hello, world\n"[..], &b"hello, world\n"[..])
    );
    assert_eq!(call(&mut s, i, "write_outside", &[]), 21, "EFAULT: iovecs outside memory");
    assert_eq!(call(&mut s, i, "write_count_outside", &[]), 21, "EFAULT: count outside memory");
    // stdin: 4 bytes, then the last 2, then end of file.
    assert_eq!(call(&mut s, i, "read", &[]), 0);
    assert_eq!(
        (load(&s, i, 300, 4), load(&s, i, 204, 4)),
        (b"abcd".to_vec(), 4u32.to_le_bytes().to_vec())
    );
    assert_eq!(call(&mut s, i, "read", &[]), 0);
    assert_eq!(
        (load(&s, i, 300, 2), load(&s, i, 204, 4)),
        (b"ef".to_vec(), 2u32.to_le_bytes().to_vec())
    );
    assert_eq!(call(&mut s, i, "read", &[]), 0);
    assert_eq!(load(&s, i, 204, 4), 0u32.to_le_bytes());
}

#[test]
fn descriptors_answer_with_proper_errnos_and_the_rest_is_enosys() {
    let (mut s, i) = instance(WasiContext::default(), IO);
    assert_eq!(call(&mut s, i, "fdstat", &[1]), 0);
    assert_eq!(load(&s, i, 400, 1), [2], "a character device");
    assert_eq!(call(&mut s, i, "fdstat", &[7]), 8, "EBADF");
    assert_eq!(call(&mut s, i, "prestat", &[]), 8, "no preopened directories");
    assert_eq!(call(&mut s, i, "seek", &[1]), 70, "ESPIPE on a stream");
    assert_eq!(call(&mut s, i, "seek", &[9]), 8, "EBADF");
    assert_eq!(call(&mut s, i, "open", &[]), 52, "ENOSYS outside the subset");
}

const WORLD: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "args") (result i32)
    (drop (call $args_sizes (i32.const 0) (i32.const 4)))
    (call $args (i32.const 100) (i32.const 200)))
  (func (export "env_sizes") (result i32) (call $env_sizes (i32.const 8) (i32.const 12)))
  (func (export "clock") (result i32) (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))
  (func (export "random") (result i32) (call $random (i32.const 24) (i32.const 12)))
  (func (export "exit") (param i32) (result i32) (call $exit (local.get 0)) (i32.const 0)))"#;

#[test]
fn arguments_environment_clock_and_random_are_the_context_s() {
    let context = WasiContext {
        args: vec!["app".into(), "-v".into()],
        env: vec!["A=1".into()],
        seed: 7,
        ..WasiContext::default()
    };
    let (mut s, i) = instance(context.clone(), WORLD);
    assert_eq!(call(&mut s, i, "args", &[]), 0);
    assert_eq!(load(&s, i, 0, 8), [2, 0, 0, 0, 7, 0, 0, 0], "argc 2, 7 bytes");
    assert_eq!(load(&s, i, 100, 8), [200, 0, 0, 0, 204, 0, 0, 0], "argv pointers");
    assert_eq!(load(&s, i, 200, 7), b"app\0-v\0");
    assert_eq!(call(&mut s, i, "env_sizes", &[]), 0);
    assert_eq!(load(&s, i, 8, 8), [1, 0, 0, 0, 4, 0, 0, 0]);
    // The clock moves 1 ms per reading, whatever time it is.
    assert_eq!(call(&mut s, i, "clock", &[]), 0);
    assert_eq!(load(&s, i, 16, 8), 1_000_000u64.to_le_bytes());
    assert_eq!(call(&mut s, i, "clock", &[]), 0);
    assert_eq!(load(&s, i, 16, 8), 2_000_000u64.to_le_bytes());
    // The same seed gives the same bytes in another store.
    assert_eq!(call(&mut s, i, "random", &[]), 0);
    let bytes = load(&s, i, 24, 12);
    let (mut t, j) = instance(context, WORLD);
    assert_eq!(call(&mut t, j, "random", &[]), 0);
    assert_eq!(load(&t, j, 24, 12), bytes);
    assert_ne!(bytes, [0; 12]);
}

#[test]
fn proc_exit_records_the_code_and_stops_the_call() {
    let (mut s, i) = instance(WasiContext::default(), WORLD);
    let f = i.func(&s, "exit").unwrap();
    let err = s.call(f, &[Value::I32(3)], &mut [Value::I32(0)]).unwrap_err();
    let tandem_interp::Error::Trap(trap) = err else { panic!("{err:?}") };
    assert_eq!((trap.kind(), trap.message()), (TrapKind::Host, "proc_exit(3)"));
    assert_eq!(s.host_data::<WasiContext>().unwrap().exit, Some(3));
}
