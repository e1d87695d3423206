//! The handler's requests, answered as a board answers them.

extern crate std;

use super::*;
use alloc::vec;
use tandem_protocol::{MemoryKind, Trap, TrapKind};

/// A preset as a reset carries it.
fn features(features: Features) -> WireFeatures {
    WireFeatures(features.bits())
}

/// The host modules the spec tests import.
const SPECTEST: &[&str] = &["spectest"];

/// A board with `memory` and stacks that fit its heap (the nrf52840-dk's).
fn board(memory: tandem_boards::BoardMemory) -> BoardProfile {
    let limits =
        Limits { value_stack_slots: 2048, max_call_depth: 256, ..desktop_profile().limits };
    BoardProfile { memory: Some(memory), limits, ..desktop_profile() }
}

fn handler(profile: BoardProfile) -> RequestHandler {
    let mut h = RequestHandler::new(profile, "test");
    h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    h
}

/// A handler with the nrf52840-dk's memory (160 KiB heap, one static page, one heap page:
/// spectest's) and a static buffer, reset with spectest.
fn nrf_handler() -> RequestHandler {
    let memory = tandem_boards::BoardMemory {
        ram_bytes: 262_144,
        flash_bytes: 1 << 20,
        heap_bytes: 163_840,
        static_memory_bytes: [65_536, 0, 0, 0],
        heap_memory_bytes: 65_536,
    };
    let buffer: &'static mut [u8] = alloc::boxed::Box::leak(vec![0u8; 65536].into());
    let mut h = RequestHandler::new(board(memory), "test").with_static_memory(buffer);
    h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    h
}

/// Uploads `wat` in chunks of `chunk` bytes, as a board receives it.
fn upload(h: &mut RequestHandler, wat: &str, chunk: usize) -> Result<ModuleId, Refusal> {
    let wasm = wat::parse_str(wat).expect("wat");
    h.module_begin(wasm.len() as u32, ModuleFormat::Wasm)?;
    for (i, part) in wasm.chunks(chunk).enumerate() {
        h.module_chunk((i * chunk) as u32, part)?;
    }
    h.module_end()
}

const ADD: &str = r#"(module
    (import "spectest" "global_i32" (global i32))
    (memory (export "mem") 1)
    (data (i32.const 0) "hello")
    (global (export "g") i64 (i64.const 7))
    (func (export "add") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add global.get 0 i32.add)
    (func (export "boom") unreachable)
    (func (export "loop") (loop br 0)))"#;

fn instance(h: &mut RequestHandler, module: ModuleId) -> InstanceId {
    match h.instantiate(module).outcome {
        Outcome::Ok(id) => id,
        other => panic!("instantiate: {other:?}"),
    }
}

#[test]
fn chunked_upload_invoke_global_digest() {
    let mut h = handler(desktop_profile());
    let m = upload(&mut h, ADD, 7).expect("upload");
    let i = instance(&mut h, m);
    let out = h.invoke(i, "add", &[Val::I32(1), Val::I32(2)]).outcome;
    assert_eq!(out, Outcome::Ok(vec![Val::I32(669)]));
    let out = h.invoke(i, "boom", &[]).outcome;
    assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::Unreachable, .. })));
    let g = h.get_global(i, "g");
    assert_eq!(g, Ok(Val::I64(7)));
    let d = h.memory_digest(i, None, 0, 5);
    assert_eq!(d, Ok(MemoryDigest { fnv1a64: fnv1a64(b"hello"), len: 5 }));
    let bad = h.memory_digest(i, Some("mem"), 65535, 2);
    assert!(matches!(bad, Err(Refusal::Request(_))));
    let stats = h.stats();
    assert_eq!(stats.memories.len(), 1);
    assert_eq!(stats.memories[0].pages, 1);
    assert!(stats.peak_call_depth >= 1);
}

#[test]
fn module_over_budget_names_both_sizes() {
    let mut profile = desktop_profile();
    profile.limits.max_module_bytes = 10;
    let mut h = handler(profile);
    let err = h.module_begin(11, ModuleFormat::Wasm).expect_err("too big");
    let Refusal::Resource(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("11") && msg.contains("10"), "{msg}");
    assert!(matches!(h.load(&[0; 11], ModuleFormat::Wasm), Err(Refusal::Resource(_))));
}

#[test]
fn upload_order_is_checked() {
    let mut h = handler(desktop_profile());
    assert!(matches!(h.module_end(), Err(Refusal::Request(_))));
    h.module_begin(4, ModuleFormat::Wasm).expect("begin");
    let gap = h.module_chunk(1, &[0]);
    assert!(matches!(gap, Err(Refusal::Request(_))));
    let over = h.module_chunk(0, &[0; 5]);
    assert!(matches!(over, Err(Refusal::Request(_))));
    let big = h.module_chunk(0, &[0; MAX_CHUNK + 1]);
    assert!(matches!(big, Err(Refusal::Request(_))));
    h.module_chunk(0, &[0, 0x61, 0x73, 0x6d]).expect("ok");
    assert!(matches!(h.module_end(), Err(Refusal::Malformed(_))));
}

#[test]
fn fuel_and_depth_limits_trap_alike() {
    let mut profile = desktop_profile();
    profile.limits.fuel = Some(1000);
    let mut h = handler(profile);
    let m = upload(&mut h, ADD, 512).expect("upload");
    let i = instance(&mut h, m);
    let out = h.invoke(i, "loop", &[]).outcome;
    assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::OutOfFuel, .. })));
    assert!(h.stats().fuel_consumed >= 1000);

    let mut profile = desktop_profile();
    profile.limits.max_call_depth = 50;
    let mut h = handler(profile);
    let m = upload(&mut h, "(module (func (export \"r\") call 0))", 512).expect("upload");
    let i = instance(&mut h, m);
    let out = h.invoke(i, "r", &[]).outcome;
    assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::StackExhausted, .. })));
}

#[test]
fn requests_before_reset_and_bad_handles_are_refused() {
    let mut h = RequestHandler::new(desktop_profile(), "test");
    assert!(matches!(h.module_begin(1, ModuleFormat::Wasm), Err(Refusal::Request(_))));
    h.reset(features(Features::WASM1), SPECTEST).expect("reset");
    let out = h.instantiate(ModuleId(9)).outcome;
    assert!(matches!(out, Outcome::Refused(Refusal::Request(_))));
    let reg = h.register(InstanceId(0), "x");
    assert!(matches!(reg, Err(Refusal::Request(_))));
    assert_eq!(h.info().protocol_version, PROTOCOL_VERSION);
}

#[test]
fn static_buffer_backs_first_defined_memory_after_each_reset() {
    let buffer: &'static mut [u8] = alloc::boxed::Box::leak(vec![0u8; 2 * 65536].into());
    let mut h = RequestHandler::new(desktop_profile(), "test").with_static_memory(buffer);
    h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    assert_eq!(h.info().limits.static_memory_bytes, Some(2 * 65536));
    let no_mem = upload(&mut h, "(module)", 512).expect("upload");
    instance(&mut h, no_mem);
    for round in 0..2 {
        let m = upload(&mut h, ADD, 512).expect("upload");
        let a = instance(&mut h, m);
        let b = instance(&mut h, m);
        let kinds: Vec<_> = h.stats().memories.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [MemoryKind::Static, MemoryKind::Heap], "round {round}");
        for i in [a, b] {
            let d = h.memory_digest(i, None, 0, 5);
            assert_eq!(d.map(|d| d.fnv1a64), Ok(fnv1a64(b"hello")));
        }
        h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    }
}

#[test]
fn static_buffers_back_each_memory_index_and_come_back_after_each_reset() {
    let leak =
        |bytes: usize| -> &'static mut [u8] { alloc::boxed::Box::leak(vec![0u8; bytes].into()) };
    let mut h = RequestHandler::new(desktop_profile(), "test")
        .with_static_memory_at(0, leak(100))
        .with_static_memory_at(2, leak(3000));
    // Memory 0 imported, 1 and 2 defined with 1-byte pages; then a module defining only 0.
    let three = r#"(module
        (import "spectest" "memory" (memory 1 2))
        (memory 10 (pagesize 1))
        (memory 2000 (pagesize 1))
        (func (export "grow2") (param i32) (result i32) (memory.grow 2 (local.get 0))))"#;
    let one = "(module (memory 50 (pagesize 1)))";
    for round in 0..2 {
        h.reset(features(Features::SUPPORTED), SPECTEST).expect("reset");
        let m = upload(&mut h, three, 512).expect("upload");
        let i = instance(&mut h, m);
        let memories: Vec<_> = h.stats().memories.iter().map(|s| (s.kind, s.size_bytes)).collect();
        assert_eq!(
            memories,
            [(MemoryKind::Heap, 65_536), (MemoryKind::Heap, 10), (MemoryKind::Static, 2000)],
            "spectest's page, memory 1 on the heap (no buffer 1), memory 2 in buffer 2; round {round}"
        );
        // The buffer bounds memory 2: 1000 bytes more fit, one more does not.
        let grow = |h: &mut RequestHandler, n| h.invoke(i, "grow2", &[Val::I32(n)]).outcome;
        assert_eq!(grow(&mut h, 1001), Outcome::Ok(vec![Val::I32(-1)]));
        assert_eq!(grow(&mut h, 1000), Outcome::Ok(vec![Val::I32(2000)]));
        // Buffer 0 is still there for the first module that defines memory 0.
        let m = upload(&mut h, one, 512).expect("upload");
        instance(&mut h, m);
        let last = h.stats().memories.last().map(|s| (s.kind, s.size_bytes));
        assert_eq!(last, Some((MemoryKind::Static, 50)), "round {round}");
    }
}

#[test]
fn heap_memory_budget_refuses_grow_and_instantiation_alike() {
    // 2 pages: spectest's memory holds one of them.
    let memory = tandem_boards::BoardMemory {
        ram_bytes: 1 << 20,
        flash_bytes: 1 << 20,
        heap_bytes: 1 << 20,
        static_memory_bytes: [0; 4],
        heap_memory_bytes: 2 * 65_536,
    };
    let profile = board(memory);
    let mut h = handler(profile);
    let grower = r#"(module (memory 0)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    let m = upload(&mut h, grower, 512).expect("upload");
    let i = instance(&mut h, m);
    let grow = |h: &mut RequestHandler, n: i32| h.invoke(i, "grow", &[Val::I32(n)]).outcome;
    assert_eq!(grow(&mut h, 2), Outcome::Ok(vec![Val::I32(-1)]));
    assert_eq!(h.stats().grow_refusals, 1);
    assert_eq!(grow(&mut h, 1), Outcome::Ok(vec![Val::I32(0)]));
    assert_eq!(grow(&mut h, 1), Outcome::Ok(vec![Val::I32(-1)]));
    assert_eq!(h.stats().grow_refusals, 2);

    let big = upload(&mut h, "(module (memory 3))", 512).expect("upload");
    let out = h.instantiate(big).outcome;
    let Outcome::Refused(Refusal::Resource(msg)) = out else { panic!("{out:?}") };
    assert!(msg.contains("196608") && msg.contains("131072"), "{msg}");
}

#[test]
fn register_links_exports() {
    let mut h = handler(desktop_profile());
    let m = upload(&mut h, ADD, 64).expect("upload");
    let i = instance(&mut h, m);
    h.register(i, "lib").expect("register");
    let user = r#"(module (import "lib" "add" (func $a (param i32 i32) (result i32)))
        (func (export "f") (result i32) i32.const 1 i32.const 1 call $a))"#;
    let m2 = upload(&mut h, user, 512).expect("upload");
    let j = instance(&mut h, m2);
    let out = h.invoke(j, "f", &[]).outcome;
    assert_eq!(out, Outcome::Ok(vec![Val::I32(668)]));
    let missing = upload(&mut h, r#"(module (import "nope" "f" (func)))"#, 512).expect("up");
    let out = h.instantiate(missing).outcome;
    assert!(matches!(out, Outcome::Refused(Refusal::Link(_))));
}

#[test]
fn a_raised_interrupt_flag_stops_a_desktop_call_which_is_then_metered() {
    static STOP: AtomicBool = AtomicBool::new(true);
    let mut h = RequestHandler::new(desktop_profile(), "test");
    h.set_interrupt_flag(&STOP);
    h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    let m = upload(&mut h, ADD, 512).expect("upload");
    let i = instance(&mut h, m);
    let out = h.invoke(i, "loop", &[]).outcome;
    assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::Interrupted, .. })), "{out:?}");
    STOP.store(false, core::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        h.invoke(i, "add", &[Val::I32(1), Val::I32(2)]).outcome,
        Outcome::Ok(vec![Val::I32(669)])
    );
    assert!(h.stats().fuel_consumed > 0, "the desktop's calls are metered once stoppable");
}

#[test]
fn what_a_call_prints_comes_back_with_its_outcome() {
    let mut h = RequestHandler::new(desktop_profile(), "test");
    h.reset(features(Features::WASM2), &["spectest", "tandem"]).expect("reset");
    let wat = r#"(module
        (import "tandem" "print_i32" (func $pi (param i32)))
        (import "tandem" "print" (func $p (param i32 i32)))
        (import "tandem" "fail" (func $fail (param i32 i32)))
        (memory 1) (data (i32.const 0) "hi\n")
        (func $start (call $pi (i32.const 7))) (start $start)
        (func (export "hi") (call $p (i32.const 0) (i32.const 3)))
        (func (export "flood") (local i32)
          (loop (call $p (i32.const 0) (i32.const 3))
            (local.set 0 (i32.add (local.get 0) (i32.const 1)))
            (br_if 0 (i32.lt_u (local.get 0) (i32.const 30000)))))
        (func (export "fail") (call $p (i32.const 0) (i32.const 3)) (call $fail (i32.const 0) (i32.const 2))))"#;
    let m = upload(&mut h, wat, 512).expect("upload");
    let ran = h.instantiate(m);
    assert_eq!(ran.printed.stdout, b"7\n", "the start function's output");
    let Outcome::Ok(i) = ran.outcome else { panic!("{:?}", ran.outcome) };
    let ran = h.invoke(i, "hi", &[]);
    assert_eq!((ran.outcome, ran.printed.stdout), (Outcome::Ok(vec![]), b"hi\n".to_vec()));
    // Bounded: the rest is counted, not lost silently.
    let ran = h.invoke(i, "flood", &[]);
    assert_eq!(ran.printed.stdout.len(), MAX_OUTPUT_PER_CALL as usize);
    assert_eq!(ran.printed.dropped, 90_000 - MAX_OUTPUT_PER_CALL as u64);
    // A trap keeps what was printed before it, and carries the guest's message.
    let ran = h.invoke(i, "fail", &[]);
    assert_eq!(ran.printed.stdout, b"hi\n");
    let Outcome::Trap(trap) = ran.outcome else { panic!("{:?}", ran.outcome) };
    assert_eq!((trap.kind, trap.message.as_str()), (TrapKind::Host, "hi"));
    assert!(h.invoke(i, "hi", &[]).printed.stdout == b"hi\n", "each call's own output");
}

std::thread_local! {
    static SENT: core::cell::RefCell<Vec<(u32, crate::Stream, Vec<u8>)>> =
        const { core::cell::RefCell::new(Vec::new()) };
}

fn record(index: u32, stream: crate::Stream, bytes: &[u8]) {
    SENT.with(|s| s.borrow_mut().push((index, stream, bytes.to_vec())));
}

#[test]
fn with_an_output_sink_a_call_s_output_leaves_while_it_runs_and_the_last_chunks_stay() {
    let mut h = RequestHandler::new(desktop_profile(), "test").with_output_sink(record);
    h.reset(features(Features::WASM2), &["tandem"]).expect("reset");
    let wat = r#"(module
        (import "tandem" "print" (func $p (param i32 i32)))
        (memory 1) (data (i32.const 0) "0123456789")
        (func (export "print") (param i32) (local i32)
          (loop (call $p (i32.const 0) (i32.const 10))
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))))"#;
    let m = upload(&mut h, wat, 512).expect("upload");
    let Outcome::Ok(i) = h.instantiate(m).outcome else { panic!("instantiates") };
    let ran = h.invoke(i, "print", &[Val::I32(300)]);
    let sent = SENT.with(|s| s.take());
    // 3,000 bytes: five full chunks went out during the call, the rest rides the reply.
    assert_eq!((ran.chunks, sent.len(), ran.printed.stdout.len()), (5, 5, 3000 - 5 * 512));
    let indices: Vec<u32> = sent.iter().map(|c| c.0).collect();
    assert_eq!(indices, [0, 1, 2, 3, 4]);
    let whole: Vec<u8> = sent.iter().flat_map(|c| c.2.clone()).chain(ran.printed.stdout).collect();
    assert_eq!(whole, b"0123456789".repeat(300));
    // The last chunks can be had again until the next call; older ones are refused.
    let again = h.output_chunk(4).expect("retained");
    assert_eq!((again.index, again.bytes), (4, sent[4].2.clone()));
    assert!(matches!(h.output_chunk(0), Err(Refusal::Request(_))));
    let _ = h.invoke(i, "print", &[Val::I32(1)]);
    assert!(h.output_chunk(4).is_err(), "a new call forgets the last one's chunks");
}

#[test]
fn an_unknown_host_module_is_refused_naming_the_known_ones() {
    let mut h = RequestHandler::new(desktop_profile(), "test");
    let err = h.reset(features(Features::WASM2), &["spectest", "gpio"]).expect_err("no gpio");
    let Refusal::Link(message) = err else { panic!("{err:?}") };
    assert!(message.contains("`gpio`") && message.contains("spectest, tandem"), "{message}");
}

#[test]
fn features_decide_what_a_session_accepts_and_unknown_ones_are_refused() {
    let mut h = RequestHandler::new(desktop_profile(), "test");
    let two_results = "(module (func (export \"f\") (result i32 i32) i32.const 1 i32.const 2))";
    h.reset(features(Features::WASM1), SPECTEST).expect("reset");
    assert!(upload(&mut h, two_results, 512).is_err(), "multi-value is not 1.0");
    h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    upload(&mut h, two_results, 512).expect("multi-value is 2.0");
    let unknown = WireFeatures(1 << 31);
    let Err(Refusal::Unsupported(message)) = h.reset(unknown, SPECTEST) else {
        panic!("an unknown feature bit is refused")
    };
    assert_eq!(message, "unsupported feature bits 0x80000000: unknown to this target");
    assert!(matches!(upload(&mut h, two_results, 512), Err(Refusal::Request(_))), "no session");
}

#[test]
fn a_host_module_asked_for_by_name_and_alias_is_linked_once() {
    let mut h = RequestHandler::new(desktop_profile(), "test");
    h.reset(features(Features::WASM2), &["wasi", "wasi_snapshot_preview1"]).expect("linked once");
    let wasi_exit = r#"(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (func (export "_start") i32.const 3 call $exit))"#;
    let m = upload(&mut h, wasi_exit, 64).expect("upload");
    let i = instance(&mut h, m);
    assert_eq!(h.invoke(i, "_start", &[]).exit, Some(3));
}

#[test]
fn a_reset_naming_an_unknown_host_module_is_refused_and_leaves_no_session() {
    let mut h = RequestHandler::new(desktop_profile(), "test");
    h.reset(features(Features::WASM2), SPECTEST).expect("reset");
    upload(&mut h, ADD, 512).expect("a module in the first session");
    let Err(Refusal::Link(message)) = h.reset(features(Features::WASM2), &["spectest", "gpio"])
    else {
        panic!("an unknown host module is refused")
    };
    assert!(
        message.starts_with("no host module `gpio` on this target (it has: spectest"),
        "{message}"
    );
    assert!(matches!(upload(&mut h, ADD, 512), Err(Refusal::Request(_))), "no session is left");
    // Planned apart from starting (as the server does, freeing the request in between).
    let plan = h.plan_session(features(Features::WASM2), SPECTEST).expect("known");
    h.start_session(plan).expect("started");
    upload(&mut h, ADD, 512).expect("a new session");
}

#[test]
fn a_module_refused_before_its_memory_was_made_leaves_the_static_buffer_to_the_next() {
    let mut h = nrf_handler();
    let huge = upload(&mut h, "(module (memory 3000))", 512).expect("upload");
    let out = h.instantiate(huge).outcome;
    let Outcome::Refused(Refusal::Resource(msg)) = out else { panic!("{out:?}") };
    assert!(msg.contains("static buffer for memory 0 has 65536 bytes"), "{msg}");
    let m = upload(&mut h, ADD, 512).expect("upload");
    let i = instance(&mut h, m);
    assert_eq!(
        h.invoke(i, "add", &[Val::I32(1), Val::I32(2)]).outcome,
        Outcome::Ok(vec![Val::I32(669)])
    );
    let kinds: Vec<_> = h.stats().memories.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [MemoryKind::Static], "the module's memory is in the static buffer");
    // The heap page is spectest's: a second module's memory is refused, saying so.
    let out = h.instantiate(m).outcome;
    let Outcome::Refused(Refusal::Resource(msg)) = out else { panic!("{out:?}") };
    assert!(msg.contains("already held by the store's other memories"), "{msg}");
}

#[test]
fn a_session_holds_at_most_the_board_s_modules_and_instances() {
    let mut profile = desktop_profile();
    profile.limits.max_modules = Some(2);
    profile.limits.max_instances = Some(1);
    let mut h = RequestHandler::new(profile, "test");
    h.reset(features(Features::WASM2), &["spectest"]).expect("reset");
    let a = upload(&mut h, "(module)", 512).expect("first");
    upload(&mut h, "(module)", 512).expect("second");
    let Err(Refusal::Resource(message)) = upload(&mut h, "(module)", 512) else {
        panic!("a third module is refused")
    };
    assert_eq!(message, "the session already holds 2 modules, the board's limit (max_modules)");
    assert!(
        h.load(&wat::parse_str("(module)").unwrap(), ModuleFormat::Wasm).is_err(),
        "by every path"
    );
    assert!(matches!(h.instantiate(a).outcome, Outcome::Ok(_)));
    let Outcome::Refused(Refusal::Resource(message)) = h.instantiate(a).outcome else {
        panic!("a second instance is refused")
    };
    assert_eq!(message, "the store already holds 1 instances, its limit");
    // A reset starts the count again.
    h.reset(features(Features::WASM2), &["spectest"]).expect("reset");
    let a = upload(&mut h, "(module)", 512).expect("after the reset");
    assert!(matches!(h.instantiate(a).outcome, Outcome::Ok(_)));
}

/// A module of `funcs` exported functions, each adding 1 twenty times: code grows with it.
fn many_functions(funcs: usize) -> String {
    let adds = "(i32.const 1) (i32.add)".repeat(20);
    let funcs: String = (0..funcs)
        .map(|i| format!("(func (export \"f{i}\") (param i32) (result i32) (local.get 0) {adds})"))
        .collect();
    format!("(module {funcs})")
}

#[test]
fn an_upload_is_decoded_as_it_arrives_and_loading_at_once_charges_the_same() {
    let wat = many_functions(100);
    let wasm = wat::parse_str(&wat).unwrap();
    let mut uploaded = handler(desktop_profile());
    let before = uploaded.stats().heap;
    uploaded.module_begin(wasm.len() as u32, ModuleFormat::Wasm).unwrap();
    assert_eq!(uploaded.stats().heap.in_use, before.in_use, "nothing is held for the binary");
    let chunks: Vec<&[u8]> = wasm.chunks(MAX_CHUNK).collect();
    let mut fed = 0;
    for (i, part) in chunks.iter().enumerate() {
        uploaded.module_chunk((i * MAX_CHUNK) as u32, part).unwrap();
        fed += part.len();
        if i == chunks.len() / 2 {
            let half = uploaded.stats().heap.in_use - before.in_use;
            assert!(half > fed as u64, "the first half is translated already ({half} bytes)");
        }
    }
    uploaded.module_end().unwrap();
    let after_upload = uploaded.stats().heap;
    assert!(after_upload.in_use > before.in_use, "the module stays charged");

    let mut loaded = handler(desktop_profile());
    loaded.load(&wasm, ModuleFormat::Wasm).unwrap();
    assert_eq!(loaded.stats().heap, after_upload, "the simulator's path charges the same");

    // An upload begun again gives back what the first one held.
    uploaded.module_begin(wasm.len() as u32, ModuleFormat::Wasm).unwrap();
    for (i, part) in chunks.iter().take(chunks.len() / 2).enumerate() {
        uploaded.module_chunk((i * MAX_CHUNK) as u32, part).unwrap();
    }
    assert!(uploaded.stats().heap.in_use > after_upload.in_use);
    uploaded.module_begin(10, ModuleFormat::Wasm).unwrap();
    assert_eq!(uploaded.stats().heap.in_use, after_upload.in_use);
    // So does one refused half-way: a malformed chunk ends it.
    uploaded.module_begin(wasm.len() as u32, ModuleFormat::Wasm).unwrap();
    uploaded.module_chunk(0, chunks[0]).unwrap();
    let mut bad = chunks[1].to_vec();
    bad.iter_mut().for_each(|b| *b = 0xff);
    assert!(matches!(uploaded.module_chunk(MAX_CHUNK as u32, &bad), Err(Refusal::Malformed(_))));
    assert_eq!(uploaded.stats().heap.in_use, after_upload.in_use);
    assert!(matches!(uploaded.module_end(), Err(Refusal::Request(_))), "the upload is over");
}

#[test]
fn a_module_too_big_for_the_heap_is_refused_by_function_and_the_session_goes_on() {
    let mut h = nrf_handler();
    let held = h.stats().heap;
    assert_eq!(held.limit, Some(163_840 - 163_840 / 8));
    let wasm = wat::parse_str(many_functions(400)).unwrap();
    let Err(Refusal::Resource(msg)) = h.load(&wasm, ModuleFormat::Wasm) else { panic!("loaded") };
    assert!(msg.starts_with("out of memory: translating function "), "{msg}");
    assert!(msg.ends_with("of the 143360-byte heap free"), "{msg}");
    assert_eq!(h.stats().heap.in_use, held.in_use, "the refused module's charges are back");
    let m = upload(&mut h, ADD, 512).expect("a small module still loads");
    let i = instance(&mut h, m);
    let out = h.invoke(i, "add", &[Val::I32(1), Val::I32(2)]).outcome;
    assert_eq!(out, Outcome::Ok(vec![Val::I32(669)]));
}

/// An image upload is charged to the store whole before any byte arrives, its buffer given
/// back once it is read (the module's parts staying charged), and one that cannot fit the
/// heap is refused at its start, naming the cause; the session goes on.
#[test]
fn an_image_upload_is_charged_before_it_arrives_and_given_back_once_read() {
    let mut h = nrf_handler();
    let fuel = h.info().meters_fuel;
    let wasm = wat::parse_str(ADD).unwrap();
    let image = compile_image(features(Features::WASM2), fuel, &wasm).expect("image");
    let before = h.stats().heap.in_use;
    h.module_begin(image.len() as u32, ModuleFormat::Image).expect("begin");
    assert_eq!(h.stats().heap.in_use, before + image.len() as u64, "the buffer, charged at once");
    for (i, chunk) in image.chunks(100).enumerate() {
        h.module_chunk((i * 100) as u32, chunk).expect("chunk");
    }
    let module = h.module_end().expect("reads");
    // What the module itself is charged, read by a store of its own.
    let mut store = Store::new(Config::new().with_features(Features::WASM2).with_fuel(fuel));
    let empty = store.heap_stats().in_use;
    store.load_image(&image).expect("reads");
    let module_bytes = store.heap_stats().in_use - empty;
    assert_eq!(h.stats().heap.in_use - before, module_bytes, "the buffer given back");
    let i = instance(&mut h, module);
    let out = h.invoke(i, "add", &[Val::I32(1), Val::I32(2)]).outcome;
    assert_eq!(out, Outcome::Ok(vec![Val::I32(669)]));

    let in_use = h.stats().heap.in_use;
    let err = h.module_begin(150_000, ModuleFormat::Image).expect_err("over the heap");
    let Refusal::Resource(msg) = err else { panic!("{err:?}") };
    assert!(msg.contains("holding an image as it arrives"), "{msg}");
    assert_eq!(h.stats().heap.in_use, in_use, "nothing kept");
    assert!(upload(&mut h, ADD, 512).is_ok(), "the session goes on");
}
