//! The decoder's unit tests: every section's decoded form, the structural checks that
//! hold with or without the validator, and the constructs reported as unsupported.

use super::*;
use crate::translate::LATER_OPERATOR;
use alloc::format;
use alloc::vec;

fn parse(wat: &str) -> Result<Module, Error> {
    Module::new(&Config::new(), &wat::parse_str(wat).expect("test text parses"))
}

fn inner(wat: &str) -> Shared<ModuleInner> {
    parse(wat).expect("module is accepted").inner
}

/// A module assembled by hand: one memory (1..2 pages), a data segment at 16,
/// a function and two exports.
const HAND_ASSEMBLED: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: [] -> []
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x05, 0x04, 0x01, 0x01, 0x01, 0x02, // memory section: min 1, max 2
    0x07, 0x0d, 0x02, // export section, 2 exports
    0x03, b'm', b'e', b'm', 0x02, 0x00, // "mem": memory 0
    0x03, b'r', b'u', b'n', 0x00, 0x00, // "run": function 0
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code section: no locals, `end`
    0x0b, 0x08, 0x01, 0x00, 0x41, 0x10, 0x0b, 0x02, b'h', b'i', // data: (i32.const 16) "hi"
];

#[test]
fn hand_assembled_module_decodes() {
    let module = Module::new(&Config::new(), HAND_ASSEMBLED).unwrap();
    let m = &module.inner;
    assert_eq!(m.types, vec![FuncType::new([], [])]);
    assert_eq!(m.funcs, vec![0]);
    assert_eq!(m.num_imported_funcs, 0);
    assert_eq!(m.memories, vec![MemoryType::new(1, Some(2))]);
    assert_eq!(m.num_imported_memories, 0);
    assert_eq!(m.datas.len(), 1);
    assert_eq!(m.datas[0].mode, DataMode::Active { memory: 0, offset: ConstExpr::Value(16) });
    assert_eq!(&*m.datas[0].bytes, b"hi");
    assert_eq!(m.data_count, None);
    assert_eq!(m.headers.len(), 1);
    assert!(!m.code.is_empty());
    assert_eq!(m.start, None);
    let exports: Vec<_> = module.exports().collect();
    assert_eq!(exports, vec![("mem", ExternKind::Memory), ("run", ExternKind::Func)]);
    assert_eq!(module.func_type_of_export("run"), Some(&FuncType::new([], [])));
    assert_eq!(module.func_type_of_export("mem"), None);
    assert_eq!(module.func_type_of_export("nope"), None);
}

#[test]
fn every_truncation_of_the_hand_assembled_module_is_an_error_or_valid() {
    for len in 0..HAND_ASSEMBLED.len() {
        // Cuts at section boundaries leave valid modules (or missing code).
        let _ = Module::new(&Config::new(), &HAND_ASSEMBLED[..len]);
    }
    // Cut inside the data section.
    let cut = &HAND_ASSEMBLED[..HAND_ASSEMBLED.len() - 1];
    assert!(matches!(Module::new(&Config::new(), cut), Err(Error::Malformed { .. })));
}

#[test]
fn constant_expressions_are_slots() {
    let m = inner(
        r#"(module
            (import "env" "g" (global $g i64))
            (global i32 (i32.const -1))
            (global i64 (i64.const -2))
            (global f32 (f32.const -1.5))
            (global f64 (f64.const 2.5))
            (global funcref (ref.null func))
            (global externref (ref.null extern))
            (global i64 (global.get $g))
            (global funcref (ref.func $f))
            (func $f))"#,
    );
    assert_eq!(m.num_imported_globals, 1);
    assert_eq!(m.globals.len(), 9);
    assert_eq!(
        m.global_inits,
        vec![
            ConstExpr::Value(0xffff_ffff),
            ConstExpr::Value(-2i64 as u64),
            ConstExpr::Value((-1.5f32).to_bits() as u64),
            ConstExpr::Value(2.5f64.to_bits()),
            ConstExpr::Value(0),
            ConstExpr::Value(0),
            ConstExpr::Global(0),
            ConstExpr::RefFunc(0),
        ]
    );
    assert_eq!(m.globals[8], GlobalType { content: ValType::FuncRef, mutable: false });
}

#[test]
fn imports_fill_the_index_spaces_first() {
    let wat = r#"(module
        (import "a" "f" (func (param i32)))
        (import "a" "t" (table 2 10 externref))
        (import "a" "m" (memory 1))
        (import "a" "g" (global (mut f32)))
        (func)
        (table 1 funcref)
        (global i32 (i32.const 0)))"#;
    let module = parse(wat).unwrap();
    let m = &module.inner;
    assert_eq!(
        (
            m.num_imported_funcs,
            m.num_imported_tables,
            m.num_imported_memories,
            m.num_imported_globals
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(m.funcs, vec![0, 1]);
    assert_eq!(
        m.tables,
        vec![
            TableType { elem: ValType::ExternRef, initial: 2, maximum: Some(10) },
            TableType { elem: ValType::FuncRef, initial: 1, maximum: None },
        ]
    );
    assert_eq!(m.globals.len(), 2);
    assert_eq!(m.global_inits.len(), 1);
    let imports: Vec<_> = module.imports().collect();
    assert_eq!(
        imports,
        vec![
            ("a", "f", ExternKind::Func),
            ("a", "t", ExternKind::Table),
            ("a", "m", ExternKind::Memory),
            ("a", "g", ExternKind::Global),
        ]
    );
}

#[test]
fn element_segments_of_every_form() {
    let m = inner(
        r#"(module
            (table $t0 4 funcref)
            (table $t1 4 externref)
            (func $a) (func $b) (func $c)
            (elem (i32.const 1) $c $a)
            (elem $p funcref (ref.func $b) (ref.null func))
            (elem declare func $b)
            (elem (table $t1) (i32.const 0) externref (ref.null extern))
            (export "c" (func $c)))"#,
    );
    assert_eq!(m.elems.len(), 4);
    assert_eq!(
        m.elems[0],
        ElemSegment {
            mode: ElemMode::Active { table: 0, offset: ConstExpr::Value(1) },
            ty: ValType::FuncRef,
            items: Box::new([ConstExpr::RefFunc(2), ConstExpr::RefFunc(0)]),
        }
    );
    assert_eq!(m.elems[1].mode, ElemMode::Passive);
    assert_eq!(&*m.elems[1].items, &[ConstExpr::RefFunc(1), ConstExpr::Value(0)]);
    assert_eq!(m.elems[2].mode, ElemMode::Declared);
    assert_eq!(m.elems[3].mode, ElemMode::Active { table: 1, offset: ConstExpr::Value(0) });
    assert_eq!(m.elems[3].ty, ValType::ExternRef);
}

#[test]
fn passive_data_and_data_count() {
    let m = inner(
        r#"(module (memory 1)
            (data "abc")
            (data (i32.const 8) "d")
            (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))))"#,
    );
    assert_eq!(m.data_count, Some(2));
    assert_eq!(m.datas[0].mode, DataMode::Passive);
    assert_eq!(&*m.datas[0].bytes, b"abc");
}

#[test]
fn start_function() {
    let m = inner(r#"(module (func) (func $s) (start $s))"#);
    assert_eq!(m.start, Some(1));
    assert!(matches!(
        parse(r#"(module (func $s (result i32) (i32.const 0)) (start $s))"#),
        Err(Error::Invalid { .. })
    ));
    assert!(parse(r#"(module (start 3) (func))"#).is_err());
}

/// Each of these must be rejected, with or without the validator.
#[test]
fn structural_errors() {
    let cases = [
        r#"(module (global i32 (i64.const 0)))"#,
        r#"(module (import "a" "g" (global (mut i32))) (global i32 (global.get 0)))"#,
        r#"(module (global i32 (global.get 0)))"#,
        r#"(module (global funcref (ref.func 1)) (func))"#,
        r#"(module (table 1 funcref) (elem (i32.const 0) 4))"#,
        r#"(module (elem (i32.const 0)))"#,
        r#"(module (table 1 funcref) (elem (i64.const 0)))"#,
        r#"(module (table 1 funcref) (elem (table 0) (i32.const 0) externref))"#,
        r#"(module (data (i32.const 0) "x"))"#,
        r#"(module (memory 1) (data (f32.const 0) "x"))"#,
        r#"(module (func) (export "f" (func 0)) (export "f" (func 0)))"#,
        r#"(module (export "m" (memory 0)))"#,
        r#"(module (export "g" (global 0)))"#,
        r#"(module (export "t" (table 0)))"#,
        r#"(module (func (type 3)))"#,
        r#"(module (import "a" "f" (func (type 1))))"#,
        r#"(module (memory 2 1))"#,
        r#"(module (memory 65537))"#,
        r#"(module (table 2 1 funcref))"#,
        r#"(module (global i32 (nop) (i32.const 0)))"#,
        r#"(module (global i32 (i32.const 0) (i32.const 0)))"#,
        r#"(module (global i32))"#,
        r#"(module (global i32 (i32.clz (i32.const 0))))"#,
    ];
    for (i, text) in cases.iter().enumerate() {
        match parse(text) {
            Err(Error::Invalid { message, .. }) => assert!(!message.is_empty()),
            other => panic!("case {i} {text}: expected Invalid, got {other:?}"),
        }
    }
    // Several memories are 2.0-invalid, validated or not.
    let v2 = Config::new().with_features(crate::Features::WASM2);
    for text in
        [r#"(module (memory 1) (memory 1))"#, r#"(module (import "a" "m" (memory 1)) (memory 1))"#]
    {
        let r = Module::new(&v2, &wat::parse_str(text).unwrap());
        assert!(matches!(r, Err(Error::Invalid { .. })), "{text}: {r:?}");
    }
}

#[test]
fn unsupported_features() {
    let cases = [
        (r#"(module (func (param v128)))"#, "simd"),
        (r#"(module (memory i64 1))"#, "memory64"),
        (r#"(module (memory 1 2 shared))"#, "threads"),
        (r#"(module (table 1 funcref (ref.null func)))"#, "function-references"),
        (r#"(module (type (struct)))"#, "gc"),
        (r#"(module (func (param (ref func))))"#, "function-references"),
        (r#"(module (tag))"#, "exceptions"),
        // The reader's and the validator's refusals, worded as the decoder's.
        (r#"(module (func (drop (i32x4.splat (i32.const 0)))))"#, "simd"),
    ];
    for (text, feature) in cases {
        match parse(text) {
            Err(Error::Unsupported { feature: f, .. }) => assert_eq!(f, feature, "{text}"),
            other => panic!("{text}: expected Unsupported({feature}), got {other:?}"),
        }
    }
    // Operators of a later proposal: the validator names the proposal; without it the
    // translator meets an operator it does not know.
    let later = [
        (r#"(module (func (drop (ref.i31 (i32.const 0)))))"#, "gc"),
        (r#"(module (func (try_table)))"#, "exceptions"),
        (
            r#"(module (func (drop (i64.add128 (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)))))"#,
            "wide-arithmetic",
        ),
    ];
    for (text, feature) in later {
        let feature = if cfg!(feature = "validate") { feature } else { LATER_OPERATOR };
        match parse(text) {
            Err(Error::Unsupported { feature: f, .. }) => assert_eq!(f, feature, "{text}"),
            other => panic!("{text}: expected Unsupported({feature}), got {other:?}"),
        }
    }
}

#[test]
fn malformed_bytes() {
    for bytes in [
        &b""[..],
        b"\0asm",
        b"\0asm\x02\0\0\0",
        b"\0asm\x01\0\0\0\x01",
        b"\0asm\x0d\0\x01\0",       // a component
        b"\0asm\x01\0\0\0\x0e\x00", // unknown section id
    ] {
        let r = Module::new(&Config::new(), bytes);
        assert!(
            matches!(r, Err(Error::Malformed { .. } | Error::Unsupported { .. })),
            "{bytes:?}: {r:?}"
        );
    }
}

#[test]
fn function_and_code_counts_must_agree() {
    // Two functions declared, one body.
    let bytes: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, //
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, //
        0x03, 0x03, 0x02, 0x00, 0x00, //
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
    ];
    assert!(Module::new(&Config::new(), bytes).is_err());
    // A function without a code section.
    assert!(Module::new(&Config::new(), &bytes[..19]).is_err());
}

#[test]
fn version_1_rejects_2_0_features_when_validating() {
    let bytes =
        wat::parse_str(r#"(module (func (param i32) (result i32) (i32.extend8_s (local.get 0))))"#)
            .unwrap();
    let v1 = Config::new().with_features(crate::Features::WASM1);
    let r = Module::new(&v1, &bytes);
    if cfg!(feature = "validate") {
        assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
    }
    assert!(Module::new(&Config::new(), &bytes).is_ok());
}

// ---- a module in parts -----------------------------------------------------------------

/// A module of `n` functions of growing size, each exported: `f{i}(x) = x + 5 + i % 40`.
fn many_functions(n: usize) -> Vec<u8> {
    let funcs: String = (0..n)
        .map(|i| {
            let adds = "(i32.const 1) (i32.add)".repeat(5 + i % 40);
            format!("(func (export \"f{i}\") (param i32) (result i32) (local.get 0) {adds})")
        })
        .collect();
    wat::parse_str(format!("(module (memory 1) (data (i32.const 0) \"hello\") {funcs})")).unwrap()
}

fn store(limit: Option<u64>) -> crate::Store {
    crate::Store::try_new(Config::new().with_limits(256, 16).with_heap_limit(limit)).unwrap()
}

/// `wasm` loaded whole in a store of no heap limit: the store's heap before the load, what
/// the module keeps, and the load's peak over the start.
fn loaded_whole(wasm: &[u8]) -> (u64, u64, u64) {
    let mut whole = store(None);
    let base = whole.heap_stats().in_use;
    whole.load_module(wasm).unwrap();
    let stats = whole.heap_stats();
    (base, stats.in_use - base, stats.peak - base)
}

/// Feeds `wasm` to `store` in chunks of `chunk` bytes.
fn streamed(store: &mut crate::Store, wasm: &[u8], chunk: usize) -> Result<Module, Error> {
    let mut partial = store.begin_module(wasm.len());
    for part in wasm.chunks(chunk) {
        store.feed_module(&mut partial, part)?;
    }
    store.end_module(partial)
}

fn call_f(store: &mut crate::Store, module: &Module, i: usize) -> i32 {
    let instance = crate::Linker::new().instantiate(store, module).unwrap();
    let f = instance.typed_func::<i32, i32>(store, &format!("f{i}")).unwrap();
    f.call(store, 100).unwrap()
}

#[test]
fn a_module_in_parts_is_the_module_whole_for_any_chunk_size() {
    let wasm = many_functions(60);
    let mut whole = store(None);
    let before = whole.heap_stats().in_use;
    let reference = whole.load_module(&wasm).unwrap();
    let kept = whole.heap_stats().in_use - before;
    for chunk in [1, 2, 3, 7, 64, 511, 512, wasm.len()] {
        let mut s = store(None);
        let module = streamed(&mut s, &wasm, chunk).unwrap();
        // The same module, charged the same once its last buffered bytes are given back.
        assert_eq!(s.heap_stats().in_use - before, kept, "chunks of {chunk}");
        assert_eq!(module.exports().count(), reference.exports().count());
        for i in [0, 17, 59] {
            assert_eq!(call_f(&mut s, &module, i), 100 + 5 + (i % 40) as i32, "chunks of {chunk}");
        }
    }
}

#[test]
fn a_module_in_parts_holds_one_payload_not_the_binary() {
    let wasm = many_functions(200);
    let (base, _, peak) = loaded_whole(&wasm);
    // A board holding the whole upload needs its bytes beside the load's peak.
    let held_whole = wasm.len() as u64 + peak;
    let mut parts = store(None);
    streamed(&mut parts, &wasm, 512).unwrap();
    let held_parts = parts.heap_stats().peak - base;
    // One payload (the export section, the largest here) and a chunk are buffered.
    assert!(
        held_parts + wasm.len() as u64 / 2 < held_whole,
        "in parts {held_parts} bytes, whole {held_whole}"
    );
}

#[test]
fn a_module_in_parts_that_is_refused_gives_everything_back() {
    let wasm = many_functions(60);
    let (base, kept, _) = loaded_whole(&wasm);

    let mut small = store(Some(base + kept / 2));
    let mut partial = small.begin_module(wasm.len());
    let err = wasm
        .chunks(100)
        .find_map(|part| small.feed_module(&mut partial, part).err())
        .expect("half the heap is refused");
    assert!(matches!(err, Error::HeapExhausted { .. }), "{err}");
    assert_eq!(small.heap_stats().in_use, base, "a refused module gives its charges back");
    let again = small.feed_module(&mut partial, &wasm[..1]).unwrap_err();
    assert!(format!("{again}").contains("refused already"), "{again}");
    assert!(small.end_module(partial).is_err());
    assert_eq!(small.heap_stats().in_use, base);

    // Discarded half-way, or ended short: the same.
    let mut s = store(None);
    let mut partial = s.begin_module(wasm.len());
    s.feed_module(&mut partial, &wasm[..wasm.len() / 2]).unwrap();
    assert!(s.heap_stats().in_use > base);
    s.discard_module(partial);
    assert_eq!(s.heap_stats().in_use, base);
    let mut partial = s.begin_module(wasm.len());
    s.feed_module(&mut partial, &wasm[..wasm.len() / 2]).unwrap();
    let short = s.end_module(partial).unwrap_err();
    assert!(format!("{short}").contains("ended after"), "{short}");
    assert_eq!(s.heap_stats().in_use, base);
}

#[test]
fn bad_bytes_in_parts_are_the_errors_they_are_whole() {
    let mut s = store(None);
    // Truncated inside a function body: the end is an error naming where.
    let wasm = many_functions(3);
    let cut = &wasm[..wasm.len() - 20];
    let mut partial = s.begin_module(cut.len());
    s.feed_module(&mut partial, cut).unwrap();
    let err = s.end_module(partial).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert_eq!(
        format!("{err}"),
        format!("{}", Module::new(&Config::new(), cut).err().unwrap()),
        "whole and in parts alike"
    );
    // Bytes after the module's end, and more bytes than announced.
    let mut longer = HAND_ASSEMBLED.to_vec();
    longer.push(0);
    let err = streamed(&mut s, &longer, 5).unwrap_err();
    let whole = Module::new(&Config::new(), &longer).err().unwrap();
    assert_eq!(format!("{err}"), format!("{whole}"));
    let mut partial = s.begin_module(4);
    let err = s.feed_module(&mut partial, HAND_ASSEMBLED).unwrap_err();
    assert!(format!("{err}").contains("announced 4"), "{err}");
    // A section that claims far more bytes than can arrive reserves only what can.
    let huge_section = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x7f, 0x60];
    let before = s.heap_stats().in_use;
    let mut partial = s.begin_module(huge_section.len() + 10);
    s.feed_module(&mut partial, &huge_section).unwrap();
    assert!(s.heap_stats().in_use - before <= 16);
    s.discard_module(partial);
    assert_eq!(s.heap_stats().in_use, before);
}

/// `n` in LEB128, as wasm writes its counts and sizes.
#[cfg(feature = "wasm")]
pub(crate) fn leb(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A module of one `[] -> []` function whose body (after its size) is `body`.
#[cfg(feature = "wasm")]
pub(crate) fn one_body(body: &[u8]) -> Vec<u8> {
    let mut code = vec![1];
    leb(body.len() as u32, &mut code);
    code.extend(body);
    let mut bytes = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\x0a".to_vec();
    leb(code.len() as u32, &mut bytes);
    bytes.extend(code);
    bytes
}

/// Bodies that end before their final `end`, go on after it, or declare 70,000 locals (the
/// validator allows 50,000, the translator's frames 65,535).
#[cfg(feature = "wasm")]
const BAD_BODIES: [&[u8]; 3] = [&[0, 0x01], &[0, 0x0b, 0x01], &[1, 0xf0, 0xa2, 0x04, 0x7f, 0x0b]];

/// The validator checks each operator on the translator's reading, before the translator
/// sees it: an invalid body is reported as the validator words it, at the operator's
/// offset, whatever the translator would have said; and its locals are read first, so the
/// validator's limit on them comes before the translator's.
#[cfg(feature = "validate")]
#[test]
fn a_body_is_validated_on_the_translators_reading() {
    let invalid = |bytes: &[u8]| match Module::new(&Config::new(), bytes) {
        Err(Error::Invalid { message, offset }) => (message, offset),
        other => panic!("expected Invalid, got {other:?}"),
    };
    let text = r#"(module (func (result i32) (i32.const 1) (i64.const 2) (i32.add)))"#;
    let bytes = wat::parse_str(text).unwrap();
    let add = bytes.len() - 2; // the `i32.add` before the final `end`
    assert_eq!(bytes[add], 0x6a);
    let (message, offset) = invalid(&bytes);
    assert!(message.contains("type mismatch"), "{message}");
    assert_eq!(offset, add);
    let expected = ["control frames remain", "operators remaining after end", "too many locals"];
    for (body, words) in BAD_BODIES.iter().zip(expected) {
        let (message, _) = invalid(&one_body(body));
        assert!(message.contains(words), "{message}");
    }
}

/// Without the validator, the same bodies are the translator's to refuse.
#[cfg(all(feature = "wasm", not(feature = "validate")))]
#[test]
fn a_trusted_body_is_refused_by_the_translator() {
    let refused = |body: &[u8]| Module::new(&Config::new(), &one_body(body)).map(drop);
    for (body, words) in BAD_BODIES[..2]
        .iter()
        .zip(["ends before its final `end`", "operators after the function's final `end`"])
    {
        let r = refused(body);
        assert!(
            matches!(r, Err(Error::Translate { reason, .. }) if reason.contains(words)),
            "{r:?}"
        );
    }
    let r = refused(BAD_BODIES[2]);
    assert!(matches!(r, Err(Error::Limit { what: "function locals", .. })), "{r:?}");
}
