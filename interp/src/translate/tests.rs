//! The translator's unit tests: constant slots, fusions and the checks on finished code.

use super::consts::MAX_CONST_SLOTS;
use super::*;
use crate::ir::{Reg, target_index};
use crate::{Dispatch, Linker, Module, Store, Value};
use alloc::format;
use alloc::string::String;

fn module(wat: &str) -> Module {
    Module::new(&Config::new(), &wat::parse_str(wat).expect("test text parses"))
        .expect("module is accepted")
}

/// Calls export `run` with one i32 and returns its i32 result.
fn run(module: &Module, arg: i32) -> i32 {
    let mut store = Store::new(Config::new());
    let instance = Linker::new().instantiate(&mut store, module).unwrap();
    let func = instance.func(&store, "run").unwrap();
    let mut out = [Value::I32(0)];
    store.call(func, &[Value::I32(arg)], &mut out).unwrap();
    match out[0] {
        Value::I32(v) => v,
        other => panic!("not an i32: {other:?}"),
    }
}

fn count(module: &Module, pick: fn(&Instr) -> bool) -> usize {
    module.inner.code.iter().filter(|i| pick(i)).count()
}

fn is_const(i: &Instr) -> bool {
    matches!(i, Instr::Const32 { .. } | Instr::Const64 { .. })
}

#[test]
fn loop_constants_are_read_from_their_slots() {
    // sum of 3 * i for i in 0..n, counting with constants 1 and 3.
    let m = module(
        r#"(module (func (export "run") (param $n i32) (result i32) (local $i i32) (local $s i32)
             (block (loop
               (br_if 1 (i32.ge_s (local.get $i) (local.get $n)))
               (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 3))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br 0)))
             (local.get $s)))"#,
    );
    assert_eq!(count(&m, is_const), 0, "{:?}", m.inner.code);
    let header = m.inner.headers[0];
    assert_eq!((header.locals, header.num_consts), (3, 2));
    assert_eq!(&m.inner.consts[..], &[3, 1]);
    assert_eq!(run(&m, 10), 135);
}

#[test]
fn a_local_set_to_the_zero_it_holds_since_entry_is_dropped() {
    // `$a` and `$w` are zeroed at entry: setting them to zero before any label is dropped
    // (`i32.const 0` and `i64.const 0` alike). Not so `$p` (a parameter), `$b` (written
    // before it is zeroed again), `$c` (zeroed after a block ends, where another path
    // joins) or `$d` (set to 1, not zero).
    let m = module(
        r#"(module (func (export "run") (param $p i32) (result i32)
             (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $w i64)
             (local.set $a (i32.const 0))
             (local.set $w (i64.const 0))
             (local.set $p (i32.const 0))
             (local.set $b (i32.const 5))
             (local.set $b (i32.const 0))
             (local.set $d (i32.const 1))
             (local.set $c (i32.const 7))
             (block (br_if 0 (local.get $b)) (local.set $c (i32.const 9)))
             (local.set $c (i32.const 0))
             (i32.add (i32.add (local.get $a) (local.get $b))
               (i32.add (i32.add (local.get $c) (local.get $d))
                 (i32.add (local.get $p) (i32.wrap_i64 (local.get $w)))))))"#,
    );
    // The zero is used often enough for a constant slot: the sets are copies from it.
    let writes = |m: &Module, slot: Reg| {
        m.inner
            .code
            .iter()
            .filter(|i| match i {
                Instr::Copy { dst, .. }
                | Instr::Const32 { dst, .. }
                | Instr::Const64 { dst, .. } => *dst == slot,
                _ => false,
            })
            .count()
    };
    let written = [0, 1, 2, 3, 4, 5].map(|slot| writes(&m, slot));
    assert_eq!(written, [1, 0, 2, 3, 1, 0], "{:?}", m.inner.code);
    assert_eq!(run(&m, 4), 1);
    // Used once, the zero is an instruction's: taken back with the set.
    let once = module(
        r#"(module (func (export "run") (param $p i32) (result i32) (local $a i32)
             (local.set $a (i32.const 0))
             (i32.add (local.get $a) (local.get $p))))"#,
    );
    assert_eq!(count(&once, is_const), 0, "{:?}", once.inner.code);
    assert_eq!(run(&once, 4), 4);
}

#[test]
fn a_function_sets_up_its_own_frame_on_every_entry() {
    // `$down` reads its local before it writes it and keeps a constant in a slot (its
    // loop): each call, and each tail call into it, must find the local zero and the
    // constant there, whatever the frame's slots held before.
    let wat = |call: &str| {
        format!(
            r#"(module
                 (func $down (param $n i32) (param $acc i32) (result i32) (local $seen i32)
                   (local.set $acc (i32.add (local.get $acc) (local.get $seen)))
                   (local.set $seen (i32.const 1000))
                   (loop $l (local.set $acc (i32.add (local.get $acc) (i32.const 7)))
                            (br_if $l (i32.eqz (local.get $seen))))
                   (if (result i32) (i32.eqz (local.get $n))
                     (then (i32.add (local.get $acc) (local.get $seen)))
                     (else ({call} $down (i32.sub (local.get $n) (i32.const 1)) (local.get $acc)))))
                 (func (export "run") (param i32) (result i32)
                   (call $down (local.get 0) (i32.const 0))))"#
        )
    };
    for call in ["call", "return_call"] {
        let m = module(&wat(call));
        let (down, run_) = (m.inner.headers[0], m.inner.headers[1]);
        let init = m.inner.code[down.entry as usize];
        assert_eq!(
            init,
            Instr::InitLocals { first: 2, zeros: 1, count: down.num_consts, consts: down.consts },
            "{call}"
        );
        assert!(down.num_consts > 0, "the loop's constant has a slot");
        // `run` declares no locals and pools no constants: nothing to set up.
        assert!(!matches!(m.inner.code[run_.entry as usize], Instr::InitLocals { .. }));
        // Each of the n + 1 entries adds 7 once (the local is zero: one turn), then 1000.
        assert_eq!(run(&m, 5), 6 * 7 + 1000, "{call}");
    }
    // Without constants in slots, the locals alone: zeroed on every entry, tail calls too.
    let m = module(
        r#"(module
             (func $down (export "run") (param $n i32) (result i32) (local $acc i32) (local $seen i32)
               (local.set $acc (i32.add (local.get $acc) (local.get $seen)))
               (local.set $seen (i32.const 1000))
               (if (result i32) (i32.eqz (local.get $n))
                 (then (i32.add (local.get $acc) (local.get $seen)))
                 (else (return_call $down (i32.sub (local.get $n) (i32.const 1)))))))"#,
    );
    assert_eq!(m.inner.code[0], Instr::ZeroLocals { first: 1, count: 2 });
    assert_eq!(run(&m, 5), 1000);
    let fueled = Module::new(&Config::new().with_fuel(true), &wat::parse_str(wat("call")).unwrap())
        .expect("module");
    let entry = fueled.inner.headers[0].entry as usize;
    assert!(matches!(fueled.inner.code[entry], Instr::ConsumeFuel { .. }), "fuel first");
    assert!(matches!(fueled.inner.code[entry + 1], Instr::InitLocals { .. }));
}

#[test]
fn a_frame_of_parameters_only_gets_its_set_up_when_a_constant_earns_a_slot() {
    // No declared locals, and a loop at the entry whose constant earns a slot only once
    // the loop is read: the set-up goes in before the loop, whose back branch must land
    // after it (a turn copies no constants again). With fuel, after the entry's charge, and
    // the loop still lands on its own charge.
    let wat = r#"(module (func (export "run") (param $n i32) (result i32)
                   (loop $l (br_if $l (i32.gt_s
                     (local.tee $n (i32.sub (local.get $n) (i32.const 3))) (i32.const 0))))
                   (local.get $n)))"#;
    for fuel in [false, true] {
        let m = Module::new(&Config::new().with_fuel(fuel), &wat::parse_str(wat).unwrap())
            .expect("module");
        let (header, code) = (m.inner.headers[0], &m.inner.code);
        let set_up = header.entry as usize + usize::from(fuel);
        assert_eq!(
            code[set_up],
            Instr::InitLocals { first: 1, zeros: 0, count: 2, consts: 0 },
            "fuel {fuel}: {code:?}"
        );
        let mut back = code.iter().filter_map(|i| target_index(*{ *i }.branch_target_mut()?));
        assert!(back.all(|t| t == set_up + 1), "fuel {fuel}: {code:?}");
        let mut store = Store::new(Config::new().with_fuel(fuel));
        if fuel {
            store.set_fuel(1000);
        }
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        let mut out = [Value::I32(0)];
        store.call(func, &[Value::I32(10)], &mut out).unwrap();
        assert_eq!(out[0], Value::I32(-2), "fuel {fuel}");
    }
    // Without such a constant, nothing to set up: the body starts at the entry.
    let m = module(r#"(module (func (export "run") (param i32) (result i32) (local.get 0)))"#);
    assert_eq!(m.inner.code[0], Instr::Return1 { src: 0 });
}

#[test]
fn constants_past_the_slot_budget_are_loaded_by_instructions() {
    // Six more distinct constants than slots, i64 ones among them, summed into an i32.
    let total = MAX_CONST_SLOTS as i64 + 6;
    let mut body = String::from("(local.get 0)");
    for k in 1..=total {
        let c = if k % 2 == 0 {
            format!("(i32.wrap_i64 (i64.const {}))", k << 40 | k)
        } else {
            format!("(i32.const {k})")
        };
        body = format!("(i32.add {body} {c})");
    }
    // In a loop that runs once, so the constants are worth slots.
    let m = module(&format!(
        r#"(module (func (export "run") (param i32) (result i32)
             (loop (result i32) {body})))"#
    ));
    let header = m.inner.headers[0];
    assert_eq!(header.num_consts as usize, MAX_CONST_SLOTS);
    assert_eq!(count(&m, is_const), 6);
    assert_eq!(run(&m, 1000), 1000 + (1..=total as i32).sum::<i32>());
}

#[test]
fn constants_outside_loops_keep_frames_small() {
    // A recursion without a loop: its constants are loaded by instructions, so each
    // frame is its parameter and operands only (the exact value-stack limits of a
    // board profile depend on it).
    let m = module(
        r#"(module (func $down (export "run") (param i32) (result i32)
             (if (result i32) (i32.eqz (local.get 0))
               (then (i32.const 0))
               (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#,
    );
    let header = m.inner.headers[0];
    // The parameter and three operands (`1`, `n`, `1` of `n - 1`).
    assert_eq!((header.num_consts, header.frame_size), (0, 4));
    assert_eq!(run(&m, 100), 100);
}

/// Calls export `run` with two i32s and returns its i32 result.
fn run2(module: &Module, a: i32, b: i32) -> i32 {
    let mut store = Store::new(Config::new());
    let instance = Linker::new().instantiate(&mut store, module).unwrap();
    let func = instance.func(&store, "run").unwrap();
    let mut out = [Value::I32(0)];
    store.call(func, &[Value::I32(a), Value::I32(b)], &mut out).unwrap();
    match out[0] {
        Value::I32(v) => v,
        other => panic!("not an i32: {other:?}"),
    }
}

/// The i32 comparisons (and `i32.eqz`, of the left operand) by their text names, with
/// what each holds: the cases of the compare-and-branch and compare-and-select tests.
const I32_CONDITIONS: [(&str, Holds); 11] = [
    ("eq", |a, b| a == b),
    ("ne", |a, b| a != b),
    ("lt_s", |a, b| a < b),
    ("lt_u", |a, b| (a as u32) < b as u32),
    ("gt_s", |a, b| a > b),
    ("gt_u", |a, b| a as u32 > b as u32),
    ("le_s", |a, b| a <= b),
    ("le_u", |a, b| a as u32 <= b as u32),
    ("ge_s", |a, b| a >= b),
    ("ge_u", |a, b| a as u32 >= b as u32),
    ("eqz", |a, _| a == 0),
];

/// The operands the comparison tests try in every pairing: both signs' extremes and zero.
const CONDITION_VALUES: [i32; 7] = [i32::MIN, -7, -1, 0, 1, 7, i32::MAX];

/// Whether a comparison holds of its two operands.
type Holds = fn(i32, i32) -> bool;

/// Comparison `op` of [`I32_CONDITIONS`] over two operand expressions, as text.
fn i32_condition(op: &str, lhs: &str, rhs: &str) -> String {
    if op == "eqz" { format!("(i32.eqz {lhs})") } else { format!("(i32.{op} {lhs} {rhs})") }
}

#[test]
fn comparisons_fuse_into_branches_with_the_same_outcome() {
    for (op, holds) in I32_CONDITIONS {
        let cond = i32_condition(op, "(local.get 0)", "(local.get 1)");
        // `if` branches on the negation, `br_if` on the comparison itself.
        let with_if = module(&format!(
            r#"(module (func (export "run") (param i32 i32) (result i32)
                 (if (result i32) {cond} (then (i32.const 1)) (else (i32.const 0)))))"#
        ));
        let with_br_if = module(&format!(
            r#"(module (func (export "run") (param i32 i32) (result i32)
                 (block (br_if 0 {cond}) (return (i32.const 0))) (i32.const 1)))"#
        ));
        for m in [&with_if, &with_br_if] {
            let comparisons = count(m, |i| {
                matches!(
                    i,
                    Instr::I32Eq { .. }
                        | Instr::I32Ne { .. }
                        | Instr::I32LtS { .. }
                        | Instr::I32LtU { .. }
                        | Instr::I32GtS { .. }
                        | Instr::I32GtU { .. }
                        | Instr::I32LeS { .. }
                        | Instr::I32LeU { .. }
                        | Instr::I32GeS { .. }
                        | Instr::I32GeU { .. }
                        | Instr::I32Eqz { .. }
                )
            });
            assert_eq!(comparisons, 0, "{op}: {:?}", m.inner.code);
            for a in CONDITION_VALUES {
                for b in CONDITION_VALUES {
                    assert_eq!(run2(m, a, b), holds(a, b) as i32, "{op} {a} {b}");
                }
            }
        }
    }
}

#[test]
fn comparisons_fuse_into_selects_with_the_same_choice() {
    for (op, holds) in I32_CONDITIONS {
        let cond = i32_condition(op, "(local.get 0)", "(local.get 1)");
        let select = format!("(select (local.get 0) (local.get 1) {cond})");
        // The result left as a temp, and written straight into an operand of the
        // comparison (a `min` kept in place), which the select must read before.
        let to_temp = module(&format!(
            r#"(module (func (export "run") (param i32 i32) (result i32) {select}))"#
        ));
        let in_place = module(&format!(
            r#"(module (func (export "run") (param i32 i32) (result i32)
                 (local.set 0 {select}) (local.get 0)))"#
        ));
        // The comparison's operands temps (computed before it), the choices locals.
        let cond = i32_condition(
            op,
            "(i32.xor (local.get 0) (i32.const 5))",
            "(i32.sub (local.get 1) (i32.const 3))",
        );
        let of_temps = module(&format!(
            r#"(module (func (export "run") (param i32 i32) (result i32)
                 (select (local.get 0) (local.get 1) {cond})))"#
        ));
        for a in CONDITION_VALUES {
            for b in CONDITION_VALUES {
                let want = if holds(a ^ 5, b.wrapping_sub(3)) { a } else { b };
                assert_eq!(run2(&of_temps, a, b), want, "{op} of temps {a} {b}");
            }
        }
        for m in [&to_temp, &in_place] {
            let code = &m.inner.code;
            let fused = count(m, |i| {
                matches!(
                    i,
                    Instr::SelectI32LtU { .. }
                        | Instr::SelectI32LtS { .. }
                        | Instr::SelectI32Eq { .. }
                        | Instr::Select { .. }
                )
            });
            assert_eq!((code.len(), fused), (2, 1), "{op}: {code:?}");
            for a in CONDITION_VALUES {
                for b in CONDITION_VALUES {
                    let want = if holds(a, b) { a } else { b };
                    assert_eq!(run2(m, a, b), want, "{op} {a} {b}: {code:?}");
                }
            }
        }
    }
}

#[test]
fn address_additions_fuse_into_loads_and_stores() {
    // Store v at a + b, load it back from a + b: both additions fused, the sum
    // wrapping at 32 bits like i32.add. (In a loop, so the stored constant has a
    // slot and nothing comes between the add and the store.)
    let m = module(
        r#"(module (memory 1)
             (func (export "run") (param $a i32) (param $b i32) (result i32)
               (loop (result i32)
                 (i32.store16 offset=2 (i32.add (local.get $a) (local.get $b)) (i32.const 0x1234))
                 (i32.load16_s offset=2 (i32.add (local.get $a) (local.get $b))))))"#,
    );
    assert_eq!(count(&m, |i| matches!(i, Instr::I32Add { .. })), 0, "{:?}", m.inner.code);
    assert_eq!(run2(&m, 100, 20), 0x1234);
    assert_eq!(run2(&m, -16, 20), 0x1234); // 0xffff_fff0 + 20 wraps to 4
    // Past the memory: the add wraps, the offset does not.
    let mut store = Store::new(Config::new());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let func = instance.func(&store, "run").unwrap();
    let args = [Value::I32(65534), Value::I32(0)];
    let err = store.call(func, &args, &mut [Value::I32(0)]).unwrap_err();
    assert_eq!(err, crate::Error::Trap(crate::TrapKind::MemoryOutOfBounds.into()));
}

#[test]
fn a_slot_outside_the_frame_is_an_error() {
    // The translator's own bookkeeping never produces one; a slip must not reach the
    // executor's unchecked slot access. Translate a body, then slip in an operand.
    let wat = r#"(module (func (param i32) (result i32) (local.get 0)))"#;
    let bytes = wat::parse_str(wat).unwrap();
    let m = module(wat);
    let body = wasmparser::Parser::new(0)
        .parse_all(&bytes)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::CodeSectionEntry(body) => Some(body),
            _ => None,
        })
        .unwrap();
    let mut out = super::ModuleCode::default();
    let config = Config::new();
    let frame = m.inner.headers[0].frame_size;
    let mut heap = crate::heap::HeapAccount::new(None);
    let t = Translator::new(&m.inner, &config, 0, &body, &mut out, &mut heap).unwrap();
    t.code.push(Instr::I32Add { dst: frame, lhs: 0, rhs: 0 });
    t.code.push(Instr::Return1 { src: 0 });
    let err = t.finish().unwrap_err();
    assert!(format!("{err}").contains("slot operand outside the frame"), "{err}");
}

#[test]
fn slot_operands_are_all_visited() {
    let mut seen = alloc::vec::Vec::new();
    Instr::Select { dst: 1, cond: 2, a: 3, b: 4 }.for_each_slot(|r| seen.push(r));
    Instr::Store32Add { base: 5, index: 6, value: 7, offset: 0 }.for_each_slot(|r| seen.push(r));
    Instr::CopyN { dst: 8, src: 20, count: 3 }.for_each_slot(|r| seen.push(r));
    Instr::MemoryFill { base: 30 }.for_each_slot(|r| seen.push(r));
    Instr::BrIfI32LtU { lhs: 40, rhs: 41, target: 0 }.for_each_slot(|r| seen.push(r));
    Instr::Call { func: 0, base: 50 }.for_each_slot(|r| seen.push(r));
    assert_eq!(seen, [1, 2, 3, 4, 7, 5, 6, 10, 22, 32, 40, 41]);
}

#[test]
fn a_callee_frame_leaves_the_callers_constants_alone() {
    // Recursion from inside a loop (which runs once): every frame holds its own copy
    // of the constants above its locals, and the callee's frame starts above them.
    let m = module(
        r#"(module (func $f (export "run") (param i32) (result i32)
             (loop (result i32)
               (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
                 (then (local.get 0))
                 (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1)))
                                (call $f (i32.sub (local.get 0) (i32.const 2)))))))))"#,
    );
    assert_eq!(count(&m, is_const), 0);
    assert_eq!(m.inner.headers[0].num_consts, 2);
    assert_eq!(run(&m, 20), 6765);
}

fn is_loop_closer(i: &Instr) -> bool {
    matches!(
        i,
        Instr::AddBrIfI32Ne { .. }
            | Instr::AddBrIfI32LtU { .. }
            | Instr::AddBrIfI32LtS { .. }
            | Instr::AddBrIfNez { .. }
            | Instr::SubBrIfNez { .. }
    )
}

#[test]
fn a_counter_and_the_branch_that_tests_it_fuse_into_a_loop_closer() {
    // Counting up to n (unsigned), down to zero (by adding -1, and by subtracting 1), up to
    // n signed from -n, and while != n.
    for (wat, expect) in [
        (
            "(local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (local.get 0)))) (local.get $i)",
            [(10, 10), (0, 1)],
        ),
        (
            "(local $s i32) (loop $l (local.set $s (i32.add (local.get $s) (local.get 0)))
               (local.set 0 (i32.add (i32.const -1) (local.get 0)))
               (br_if $l (local.get 0))) (local.get $s)",
            [(10, 55), (1, 1)],
        ),
        (
            "(local $s i32) (loop $l (local.set $s (i32.add (local.get $s) (local.get 0)))
               (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
               (br_if $l (local.get 0))) (local.get $s)",
            [(10, 55), (1, 1)],
        ),
        (
            "(local $i i32) (local $k i32) (local.set $i (i32.sub (i32.const 0) (local.get 0)))
               (loop $l (local.set $k (i32.add (local.get $k) (i32.const 1)))
                 (local.set $i (i32.add (local.get $i) (i32.const 3)))
                 (br_if $l (i32.lt_s (local.get $i) (local.get 0)))) (local.get $k)",
            [(9, 6), (0, 1)],
        ),
        (
            "(local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 2)))
               (br_if $l (i32.ne (local.get $i) (local.get 0)))) (local.get $i)",
            [(8, 8), (2, 2)],
        ),
    ] {
        let m =
            module(&format!(r#"(module (func (export "run") (param i32) (result i32) {wat}))"#));
        assert_eq!(count(&m, is_loop_closer), 1, "{:?}", m.inner.code);
        for (n, result) in expect {
            assert_eq!(run(&m, n), result, "{wat} with {n}");
        }
    }
}

#[test]
fn no_pair_fuses_across_a_branch_target() {
    // The block's end, where the `br_if $skip` lands, lies between the add and the loop's
    // test: fused, the skip would land past the test. With 0 the add runs each turn, with 1
    // every other turn.
    let m = module(
        r#"(module (func (export "run") (param $n i32) (param $skip i32) (result i32)
             (local $i i32) (local $turns i32)
             (loop $l
               (local.set $turns (i32.add (local.get $turns) (i32.const 1)))
               (block $b
                 (br_if $b (i32.and (local.get $skip) (local.get $turns)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1))))
               (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
             (local.get $turns)))"#,
    );
    assert!(
        !m.inner.code.iter().any(|i| matches!(i, Instr::AddBrIfI32LtU { .. })),
        "{:?}",
        m.inner.code
    );
    let mut store = Store::new(Config::new());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let func = instance.func(&store, "run").unwrap();
    for (skip, turns) in [(0, 5), (1, 10)] {
        let mut out = [Value::I32(0)];
        store.call(func, &[Value::I32(5), Value::I32(skip)], &mut out).unwrap();
        assert_eq!(out[0], Value::I32(turns), "skip {skip}");
    }
}

#[test]
fn consecutive_copies_and_an_add_before_a_branch_fuse() {
    // A call's two arguments are two copies; a loop testing at the top ends in add, br.
    let m = module(
        r#"(module
             (func $mix (param i32 i32) (result i32)
               (i32.sub (i32.mul (local.get 0) (i32.const 3)) (local.get 1)))
             (func (export "run") (param $n i32) (result i32) (local $i i32) (local $acc i32)
               (block $done (loop $l
                 (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                 (local.set $acc (call $mix (local.get $acc) (local.get $i)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $l)))
               (local.get $acc)))"#,
    );
    let copies = count(&m, |i| matches!(i, Instr::Copy2 { .. }));
    let add_br = count(&m, |i| matches!(i, Instr::I32AddBr { .. }));
    assert_eq!((copies, add_br), (1, 1), "{:?}", m.inner.code);
    let mut acc = 0i32;
    for i in 0..7 {
        acc = acc.wrapping_mul(3).wrapping_sub(i);
    }
    assert_eq!(run(&m, 7), acc);
}

#[test]
fn an_add_of_an_add_reads_its_second_operand_after_the_first_write() {
    // y = x + 3, then y + y: the second add's other operand is the first's result.
    let m = module(
        r#"(module (func (export "run") (param $x i32) (result i32) (local $y i32)
             (local.set $y (i32.add (local.get $x) (i32.const 3)))
             (i32.add (local.get $y) (local.get $y))))"#,
    );
    assert_eq!(count(&m, |i| matches!(i, Instr::I32AddAdd { .. })), 1, "{:?}", m.inner.code);
    assert_eq!(run(&m, 4), 14);
    assert_eq!(run(&m, i32::MAX), i32::MAX.wrapping_add(3).wrapping_mul(2));
}

#[test]
fn an_add_of_an_add_fuses_and_its_result_goes_straight_to_the_local() {
    // x = (x + y) + z, then y = z + (x + x): each pair one instruction, results in the locals.
    let m = module(
        r#"(module (func (export "run") (param $x i32) (result i32) (local $y i32) (local $z i32)
             (local.set $y (i32.const 5))
             (local.set $z (i32.const 7))
             (local.set $x (i32.add (i32.add (local.get $x) (local.get $y)) (local.get $z)))
             (local.set $y (i32.add (local.get $z) (i32.add (local.get $x) (local.get $x))))
             (i32.sub (local.get $y) (local.get $x))))"#,
    );
    assert_eq!(count(&m, |i| matches!(i, Instr::I32AddAdd { .. })), 2, "{:?}", m.inner.code);
    assert_eq!(count(&m, |i| matches!(i, Instr::Copy { .. })), 0, "{:?}", m.inner.code);
    // x = 3 + 5 + 7 = 15; y = 7 + 30 = 37; 37 - 15.
    assert_eq!(run(&m, 3), 22);
    assert_eq!(run(&m, i32::MAX), {
        let x = i32::MAX.wrapping_add(12);
        7i32.wrapping_add(x.wrapping_add(x)).wrapping_sub(x)
    });
}

fn is_global_fused(i: &Instr) -> bool {
    matches!(
        i,
        Instr::I32AddGlobal { .. }
            | Instr::I32SubGlobal { .. }
            | Instr::GlobalI32Add { .. }
            | Instr::GlobalI32Sub { .. }
            | Instr::I32AddGlobalSet { .. }
    )
}

#[test]
fn a_stack_pointers_prologue_and_epilogue_fuse_with_their_global_set() {
    // LLVM's shadow stack: take 16 bytes below $sp, keep the frame in memory, give them
    // back; the result tells the argument and both values of $sp. The frame's size has a
    // constant slot from the start, earned by a use in a loop (loaded by a `Const32`, it
    // would stand between the read and the sub: no pair).
    let m = module(
        r#"(module (memory 1) (global $sp (mut i32) (i32.const 1024))
             (func (export "run") (param $x i32) (result i32) (local $fp i32) (local $in i32)
               (loop (drop (i32.const 16)))
               (global.set $sp (local.tee $fp (i32.sub (global.get $sp) (i32.const 16))))
               (i32.store offset=4 (local.get $fp) (i32.add (local.get $x) (i32.const 16)))
               (local.set $in (global.get $sp))
               (global.set $sp (i32.add (local.get $fp) (i32.const 16)))
               (i32.add (i32.load offset=4 (local.get $fp))
                 (i32.sub (global.get $sp) (local.get $in)))))"#,
    );
    let kinds = |pick: fn(&Instr) -> bool| count(&m, pick);
    let found = [
        kinds(|i| matches!(i, Instr::GlobalI32Sub { .. })),
        kinds(|i| matches!(i, Instr::I32AddGlobalSet { .. })),
        kinds(|i| matches!(i, Instr::I32SubGlobal { .. })),
        kinds(|i| matches!(i, Instr::GlobalGet { .. })),
        kinds(|i| matches!(i, Instr::GlobalSet { .. })),
    ];
    // The prologue, the epilogue, $sp read into a sub, and $in's read left as it was.
    assert_eq!(found, [1, 1, 1, 1, 0], "{:?}", m.inner.code);
    // x + 16 + (1024 - 1008), and again: $sp is back at 1024 after each call.
    assert_eq!(run(&m, 5), 37);
    assert_eq!(run(&m, -32), 0);
}

#[test]
fn a_counter_in_a_global_updates_in_place_and_is_not_read_back() {
    // The loop of `count_global`: get, add, set, get, compare, branch.
    let m = module(
        r#"(module (global $c (mut i32) (i32.const 0))
             (func (export "run") (param $n i32) (result i32)
               (global.set $c (i32.const 0))
               (loop $l
                 (global.set $c (i32.add (global.get $c) (i32.const 3)))
                 (br_if $l (i32.lt_u (global.get $c) (local.get $n))))
               (global.get $c)))"#,
    );
    let gets = count(&m, |i| matches!(i, Instr::GlobalGet { .. }));
    let updates = count(&m, |i| matches!(i, Instr::GlobalI32Add { .. }));
    assert_eq!((gets, updates), (1, 1), "{:?}", m.inner.code);
    assert_eq!(run(&m, 10), 12);
    assert_eq!(run(&m, 0), 3);
}

#[test]
fn a_global_fuses_only_with_its_own_set_and_only_as_the_first_operand_read() {
    // b = a + x (stored into another global), a = a - x in place, then b read after a's
    // update into the same slot, a - a and x - a: only the first two fuse, and each must
    // give the unfused result: (a + x) + 0 + (x - (a - x)) = 3x whatever a holds.
    let m = module(
        r#"(module (global $a (mut i32) (i32.const 100)) (global $b (mut i32) (i32.const 0))
             (func (export "run") (param $x i32) (result i32)
               (global.set $b (i32.add (global.get $a) (local.get $x)))
               (global.set $a (i32.sub (global.get $a) (local.get $x)))
               (i32.add (i32.add (global.get $b) (i32.sub (global.get $a) (global.get $a)))
                 (i32.sub (local.get $x) (global.get $a)))))"#,
    );
    let fused = count(&m, is_global_fused);
    let updates = count(&m, |i| matches!(i, Instr::GlobalI32Sub { .. }));
    assert_eq!((fused, updates), (2, 1), "{:?}", m.inner.code);
    let mut store = Store::new(Config::new());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let func = instance.func(&store, "run").unwrap();
    let mut out = [Value::I32(0)];
    for x in [7, 7, i32::MAX, -3] {
        store.call(func, &[Value::I32(x)], &mut out).unwrap();
        assert_eq!(out[0], Value::I32(x.wrapping_mul(3)), "x {x}");
    }
}

/// The function's code without its entry's fuel charge, for comparing with a listing.
fn body(m: &Module) -> &[Instr] {
    &m.inner.code[m.inner.headers[0].entry as usize..]
}

#[test]
fn results_read_by_the_next_instruction_pass_through_the_accumulator() {
    // A byte copy, reversed and xored, as `suites/bench`'s mem_bytes: its body is one chain
    // from the address computed to the byte stored.
    let m = module(
        r#"(module (memory 1)
             (func (export "run") (param $k i32) (result i32) (local $i i32)
               (loop $fill
                 (i32.store8 (local.get $i) (i32.mul (local.get $i) (i32.const 7)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $fill (i32.lt_u (local.get $i) (i32.const 256))))
               (local.set $i (i32.const 0))
               (loop $copy
                 (i32.store8 offset=256 (local.get $i)
                   (i32.xor (i32.load8_u (i32.sub (i32.const 255) (local.get $i)))
                            (local.get $k)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $copy (i32.lt_u (local.get $i) (i32.const 256))))
               (i32.load offset=256 (local.get $k))))"#,
    );
    let chain = body(&m).windows(4).any(|w| {
        matches!(
            w,
            [
                Instr::I32SubToAcc { .. },
                Instr::Load8UAccToAcc { offset: 0 },
                Instr::I32XorAccToAcc { .. },
                Instr::Store8Acc { offset: 256, .. },
            ]
        )
    });
    assert!(chain, "{:?}", body(&m));
    // The fill loop's product goes to its store the same way.
    assert!(body(&m).iter().any(|i| matches!(i, Instr::I32MulToAcc { .. })), "{:?}", body(&m));
    for k in [0, 1, 5, 0x5a] {
        let byte = |j: i32| ((255 - j) * 7) as u8 ^ k as u8;
        let expected = u32::from_le_bytes([byte(k), byte(k + 1), byte(k + 2), byte(k + 3)]);
        assert_eq!(run(&m, k), expected as i32, "k = {k}");
    }
}

#[test]
fn the_accumulator_holds_no_value_across_a_branch_target() {
    // The sum is the loop's parameter: computed just before the loop's label and read just
    // after it, where the branch back arrives with the next value in the slot.
    let m = module(
        r#"(module (func (export "run") (param $n i32) (result i32) (local $k i32)
             (local.set $k (i32.const 5))
             (i32.add (local.get $n) (i32.const 1))
             (loop $again (param i32) (result i32)
               (i32.xor (i32.const 3))
               (i32.add (i32.const 5))
               (local.set $k (i32.sub (local.get $k) (i32.const 1)))
               (br_if $again (local.get $k)))
             (i32.add (i32.const 1))))"#,
    );
    let code = body(&m);
    assert!(!code.iter().any(|i| matches!(i, Instr::I32XorAcc { .. })), "{code:?}");
    let reference = |n: i32| (0..5).fold(n.wrapping_add(1), |v, _| (v ^ 3).wrapping_add(5)) + 1;
    for n in [0, 11, 998, -5] {
        assert_eq!(run(&m, n), reference(n), "n = {n}");
    }
}

#[test]
fn only_a_commutative_operation_takes_its_right_operand_from_the_accumulator() {
    let m = module(
        r#"(module (func (export "run") (param $a i32) (param $b i32) (result i32)
             (i32.add (local.get $a) (i32.xor (local.get $a) (local.get $b)))
             (i32.sub (local.get $b) (i32.shl (local.get $a) (local.get $b)))
             (i32.mul)))"#,
    );
    let code = body(&m);
    let has = |pick: fn(&Instr) -> bool| code.iter().any(pick);
    assert!(has(|i| matches!(i, Instr::I32XorToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I32AddAcc { .. })), "{code:?}");
    // The shift is the subtraction's right operand: it stays in its slot, and the
    // difference, the product's right operand, goes through the accumulator.
    assert!(has(|i| matches!(i, Instr::I32Shl { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I32SubToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I32MulAcc { .. })), "{code:?}");
    let reference = |a: i32, b: i32| {
        a.wrapping_add(a ^ b).wrapping_mul(b.wrapping_sub(a.wrapping_shl(b as u32)))
    };
    let mut store = Store::new(Config::new());
    let instance = Linker::new().instantiate(&mut store, &m).unwrap();
    let func = instance.func(&store, "run").unwrap();
    for (a, b) in [(1, 2), (-7, 31), (123456, 5)] {
        let mut out = [Value::I32(0)];
        store.call(func, &[Value::I32(a), Value::I32(b)], &mut out).unwrap();
        assert_eq!(out[0], Value::I32(reference(a, b)), "a = {a}, b = {b}");
    }
}

#[test]
fn i64_and_f64_results_pass_through_the_accumulator() {
    // xorshift64* steps (suites/bench's i64_mix) and a sum of squares: each shift feeds its
    // xor, the product its sum.
    let m = module(
        r#"(module (func (export "run") (param $n i32) (result i32) (local $x i64) (local $f f64)
             (local.set $x (i64.extend_i32_u (local.get $n)))
             (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 25))))
             (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 27))))
             (local.set $x (i64.add (i64.const 9) (i64.mul (local.get $x) (i64.const 0x2545f4914f6cdd1d))))
             (local.set $f (f64.convert_i64_s (local.get $x)))
             (local.set $f (f64.add (f64.mul (local.get $f) (local.get $f))
                                    (f64.mul (local.get $f) (f64.const 0.5))))
             (i32.xor (i32.wrap_i64 (local.get $x))
                      (i32.wrap_i64 (i64.trunc_sat_f64_s (f64.div (local.get $f) (f64.const 1e30)))))))"#,
    );
    let code = body(&m);
    let has = |pick: fn(&Instr) -> bool| code.iter().any(pick);
    assert!(has(|i| matches!(i, Instr::I64ShlToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I64ShrUToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I64XorAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I64MulToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::I64AddAcc { .. })), "{code:?}");
    // The second product is the sum's right operand, swapped to the left.
    assert!(has(|i| matches!(i, Instr::F64MulToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::F64AddAcc { .. })), "{code:?}");
    let reference = |n: i32| {
        let mut x = u64::from(n as u32);
        x ^= x << 25;
        x ^= x >> 27;
        x = x.wrapping_mul(0x2545_f491_4f6c_dd1d).wrapping_add(9);
        let f = x as i64 as f64;
        let f = f * f + f * 0.5;
        (x as i32) ^ ((f / 1e30) as i64 as i32)
    };
    for n in [0, 1, 7, 123_456, -1] {
        assert_eq!(run(&m, n), reference(n), "n = {n}");
    }
}

#[test]
fn f32_results_pass_through_the_accumulator() {
    // A product into a sum (a dot product's step, suites/bench's matmul), and a quotient
    // stored from the accumulator.
    let m = module(
        r#"(module (memory 1)
             (func (export "run") (param $n i32) (result i32) (local $a f32) (local $s f32)
             (local.set $a (f32.convert_i32_s (local.get $n)))
             (local.set $s (f32.add (f32.mul (local.get $a) (local.get $a))
                                    (f32.mul (local.get $a) (f32.const 0.5))))
             (f32.store (i32.const 16) (f32.div (f32.sub (local.get $s) (f32.const 3))
                                                (f32.const 7)))
             (i32.xor (i32.trunc_sat_f32_s (local.get $s)) (i32.load (i32.const 16)))))"#,
    );
    let code = body(&m);
    let has = |pick: fn(&Instr) -> bool| code.iter().any(pick);
    assert!(has(|i| matches!(i, Instr::F32MulToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::F32AddAcc { .. })), "{code:?}");
    // The divisor, a constant outside a loop, is loaded between the sub and the div.
    assert!(has(|i| matches!(i, Instr::F32DivToAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::Store32Acc { .. })), "{code:?}");
    let reference = |n: i32| {
        let a = n as f32;
        let s = a * a + a * 0.5;
        (s as i32) ^ (((s - 3.0) / 7.0).to_bits() as i32)
    };
    for n in [0, 1, 7, 123_456, -1, i32::MIN] {
        assert_eq!(run(&m, n), reference(n), "n = {n}");
    }
}

#[test]
fn an_f32_local_just_written_is_read_from_the_accumulator() {
    // A running sum kept in a local and scaled at once: the sum offers its value, the
    // product reads it there; a copy of the local read next by an f32 operation too.
    let m = module(
        r#"(module (func (export "run") (param $n i32) (result i32)
             (local $a f32) (local $s f32) (local $t f32)
             (local.set $a (f32.convert_i32_s (local.get $n)))
             (local.set $s (f32.add (local.get $a) (f32.const 1.5)))
             (local.set $t (f32.mul (local.get $s) (local.get $a)))
             (local.set $s (local.get $t))
             (local.set $t (f32.sub (local.get $s) (local.get $a)))
             (i32.xor (i32.reinterpret_f32 (local.get $t)) (i32.trunc_sat_f32_s (local.get $s)))))"#,
    );
    let code = body(&m);
    let has = |pick: fn(&Instr) -> bool| code.iter().any(pick);
    assert!(has(|i| matches!(i, Instr::F32MulAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::F32SubAcc { .. })), "{code:?}");
    let reference = |n: i32| {
        let a = n as f32;
        let s = a + 1.5;
        let t = s * a;
        let s = t;
        let t = s - a;
        (t.to_bits() as i32) ^ (s as i32)
    };
    for n in [0, 1, -7, 123_456, i32::MAX, i32::MIN] {
        assert_eq!(run(&m, n), reference(n), "n = {n}");
    }
}

#[test]
fn branches_test_a_result_in_the_accumulator() {
    // A comparison's right operand computed last is swapped to the left with the mirrored
    // test (`a < b` as `b > a`); `br_if` and `br_table` take a computed condition and index.
    let m = module(
        r#"(module (func (export "run") (param $a i32) (result i32) (local $n i32)
             (block $lt
               (br_if $lt (i32.lt_s (local.get $a) (i32.mul (local.get $a) (i32.const 3))))
               (local.set $n (i32.const 100)))
             (block $odd
               (br_if $odd (i32.and (local.get $a) (i32.const 1)))
               (local.set $n (i32.add (local.get $n) (i32.const 10))))
             (block $c (block $b (block $a0
               (br_table $a0 $b $c (i32.and (local.get $a) (i32.const 3))))
               (return (i32.add (local.get $n) (i32.const 1))))
               (return (i32.add (local.get $n) (i32.const 2))))
             (i32.add (local.get $n) (i32.const 3))))"#,
    );
    let code = body(&m);
    let has = |pick: fn(&Instr) -> bool| code.iter().any(pick);
    assert!(has(|i| matches!(i, Instr::BrIfI32GtSAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::BrIfNezAcc { .. } | Instr::BrIfEqzAcc { .. })), "{code:?}");
    assert!(has(|i| matches!(i, Instr::BrTableAcc { len: 2 })), "{code:?}");
    let reference = |a: i32| {
        let mut n = if a < a.wrapping_mul(3) { 0 } else { 100 };
        if a & 1 == 0 {
            n += 10;
        }
        n + match a & 3 {
            0 => 1,
            1 => 2,
            _ => 3,
        }
    };
    for a in [0, 1, 2, 3, 5, -1, -6, i32::MAX, i32::MIN, 0x2aaa_aaab] {
        assert_eq!(run(&m, a), reference(a), "a = {a}");
    }
}

#[test]
fn a_load_shared_by_i32_and_i64_passes_no_value_to_an_i64_reader() {
    // `i64.load32_u` is the i32 word load (the slot's upper half zeroed), whose form leaves a
    // 32-bit value in the accumulator; the i64 sum reading it next keeps 64-bit values in
    // another place on the loop, so the pair is not rewritten (verify would refuse it).
    let m = module(
        r#"(module (memory 1)
             (func (export "run") (param $n i32) (result i32) (local $i i32) (local $acc i64)
               (loop $l
                 (i32.store (i32.shl (local.get $i) (i32.const 2))
                            (i32.add (local.get $n) (i32.mul (local.get $i) (i32.const -7))))
                 (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31))
                   (i64.load32_u (i32.shl (local.get $i) (i32.const 2)))))
                 (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                     (i32.const 16))))
               (i32.wrap_i64 (i64.xor (local.get $acc) (i64.shr_u (local.get $acc) (i64.const 32))))))"#,
    );
    let code = body(&m);
    assert!(!code.iter().any(|i| matches!(i, Instr::I64AddAcc { .. })), "{code:?}");
    let reference = |n: i32| {
        let acc = (0..16).fold(0u64, |acc, i: i32| {
            let word = n.wrapping_add(i.wrapping_mul(-7)) as u32;
            acc.wrapping_mul(31).wrapping_add(u64::from(word))
        });
        (acc ^ (acc >> 32)) as i32
    };
    for n in [0, 3, -100, i32::MAX] {
        assert_eq!(run(&m, n), reference(n), "n = {n}");
    }
}

#[test]
fn forward_branches_to_one_end_all_land_there() {
    // Branches to two ends from nested blocks, `br_if`s and a `br_table`'s entries among
    // them: each end's chain of pending branches must reach every one.
    let m = module(
        r#"(module (func (export "run") (param $x i32) (result i32) (local $r i32)
            (block $out
              (local.set $r (i32.const 10))
              (br_if $out (i32.eq (local.get $x) (i32.const 1)))
              (block $in
                (local.set $r (i32.const 20))
                (br_if $out (i32.eq (local.get $x) (i32.const 2)))
                (local.set $r (i32.const 30))
                (br_if $in (i32.eq (local.get $x) (i32.const 3)))
                (local.set $r (i32.const 40))
                (br_table $out $in $out (i32.sub (local.get $x) (i32.const 4))))
              (local.set $r (i32.add (local.get $r) (i32.const 100)))
              (br_if $out (i32.eq (local.get $x) (i32.const 5)))
              (local.set $r (i32.const 50)))
            (local.get $r)))"#,
    );
    // No loop: every branch lands past itself (a branch left out of its chain would still
    // hold a link, an earlier position).
    for (at, &instr) in m.inner.code.iter().enumerate() {
        if let Some(&mut target) = { instr }.branch_target_mut() {
            assert!(target_index(target).is_some_and(|to| to > at), "{instr:?} at {at}");
        }
    }
    let got: Vec<i32> = (0..8).map(|x| run(&m, x)).collect();
    assert_eq!(got, [40, 10, 20, 50, 40, 140, 40, 40]);
}

#[test]
fn a_local_just_written_is_read_from_the_accumulator_where_its_writer_offers_it() {
    // A list walked through a local (`local.tee` of a load of itself) and summed: each load
    // offers the pointer it wrote, which the add reads from the accumulator.
    let m = module(
        r#"(module (memory 1)
            (data (i32.const 0) "\08\00\00\00" "\00\00\00\00" "\04\00\00\00")
            (func (export "run") (param $n i32) (result i32) (local $p i32) (local $s i32)
              (loop $l
                (local.set $s (i32.add (local.get $s) (local.tee $p (i32.load (local.get $p)))))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
              (i32.add (local.get $s) (i32.mul (local.get $p) (i32.const 1000)))))"#,
    );
    let code = &m.inner.code;
    let offered = code.windows(2).filter(|w| w[0].offers_acc() && w[1].reads_acc()).count();
    assert_eq!(offered, 1, "{code:?}");
    // The list is 0 -> 8 -> 4 -> 0.
    let expected = |n: i32| {
        let (mut p, mut s) = (0, 0);
        for _ in 0..n {
            p = [8, 0, 4][p as usize / 4];
            s += p;
        }
        s + p * 1000
    };
    for dispatch in [Dispatch::Loop, Dispatch::best()] {
        let mut store = Store::new(Config::new().with_dispatch(dispatch));
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        for n in 1..8 {
            let mut out = [Value::I32(0)];
            store.call(func, &[Value::I32(n)], &mut out).unwrap();
            assert_eq!(out[0], Value::I32(expected(n)), "n = {n} on {dispatch:?}");
        }
    }
}

#[test]
fn a_rotation_of_locals_copies_the_new_value_from_the_wide_accumulator() {
    // `t = a + b; a = b; b = t` in i64: the add offers `t`, which the fused copies read
    // from the accumulator; and a sub's new value of a local read by an xor next.
    let m = module(
        r#"(module
            (func (export "run") (param $n i32) (result i64)
              (local $a i64) (local $b i64) (local $t i64) (local $x i64)
              (local.set $b (i64.const 1))
              (loop $l
                (local.set $t (i64.add (local.get $a) (local.get $b)))
                (local.set $a (local.get $b))
                (local.set $b (local.get $t))
                (local.set $x (i64.xor (local.tee $t (i64.sub (local.get $t) (local.get $x)))
                                       (local.get $x)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
              (i64.add (local.get $x) (i64.mul (local.get $a) (i64.const 1000)))))"#,
    );
    let code = &m.inner.code;
    assert_eq!(code.iter().filter(|i| matches!(i, Instr::Copy2Acc { .. })).count(), 1, "{code:?}");
    let wide = code.windows(2).filter(|w| w[0].offers_acc() && w[0].wide_acc() && w[1].reads_acc());
    assert_eq!(wide.count(), 2, "{code:?}");
    let expected = |n: i32| {
        let (mut a, mut b, mut x) = (0i64, 1i64, 0i64);
        for _ in 0..n {
            let t = a.wrapping_add(b);
            (a, b) = (b, t);
            x ^= t.wrapping_sub(x);
        }
        x.wrapping_add(a.wrapping_mul(1000))
    };
    for dispatch in [Dispatch::Loop, Dispatch::best()] {
        let mut store = Store::new(Config::new().with_dispatch(dispatch));
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        for n in [1, 2, 3, 10, 100] {
            let mut out = [Value::I64(0)];
            store.call(func, &[Value::I32(n)], &mut out).unwrap();
            assert_eq!(out[0], Value::I64(expected(n)), "n = {n} on {dispatch:?}");
        }
    }
}

#[test]
fn a_pair_of_copies_reads_the_accumulator_only_before_its_first_copy_overwrites_the_value() {
    // `t = a + b; t = c; d = t`: the copies' pair writes `t` before it reads it for `d`, so
    // `d` must get `c`, not the sum the add left in the accumulator.
    let m = module(
        r#"(module
            (func (export "run") (param $a i64) (param $b i64) (param $c i64) (result i64)
              (local $t i64) (local $d i64)
              (local.set $t (i64.add (local.get $a) (local.get $b)))
              (local.set $t (local.get $c))
              (local.set $d (local.get $t))
              (i64.add (local.get $d) (i64.mul (local.get $t) (i64.const 1000)))))"#,
    );
    let code = &m.inner.code;
    assert!(code.iter().any(|i| matches!(i, Instr::Copy2 { .. })), "{code:?}");
    assert!(!code.iter().any(|i| matches!(i, Instr::Copy2Acc { .. })), "{code:?}");
    for dispatch in [Dispatch::Loop, Dispatch::best()] {
        let mut store = Store::new(Config::new().with_dispatch(dispatch));
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        let mut out = [Value::I64(0)];
        store.call(func, &[Value::I64(1), Value::I64(2), Value::I64(7)], &mut out).unwrap();
        assert_eq!(out[0], Value::I64(7007), "on {dispatch:?}");
    }
}

#[test]
fn a_copied_local_is_read_from_the_accumulator_by_the_next_instruction() {
    // `local.tee $y (local.get $x)` copies; the branch that tests the copy reads it from the
    // accumulator. A counter kept in `$x`, moved into `$y` each turn.
    let m = module(
        r#"(module
            (func (export "run") (param $n i32) (result i32) (local $x i32) (local $y i32)
              (local $s i32)
              (local.set $x (local.get $n))
              (loop $l
                (local.set $x (i32.sub (local.get $x) (i32.const 1)))
                (local.set $s (i32.add (local.get $s) (local.get $y)))
                (br_if $l (local.tee $y (local.get $x))))
              (i32.add (local.get $s) (i32.mul (local.get $y) (i32.const 1000)))))"#,
    );
    let code = &m.inner.code;
    let copied = code.windows(2).filter(|w| matches!(w[0], Instr::Copy { .. }) && w[1].reads_acc());
    assert_eq!(copied.count(), 1, "{code:?}");
    let expected = |n: i32| (1..n).sum::<i32>();
    for dispatch in [Dispatch::Loop, Dispatch::best()] {
        let mut store = Store::new(Config::new().with_dispatch(dispatch));
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        for n in [1, 2, 5, 100] {
            let mut out = [Value::I32(0)];
            store.call(func, &[Value::I32(n)], &mut out).unwrap();
            assert_eq!(out[0], Value::I32(expected(n)), "n = {n} on {dispatch:?}");
        }
    }
}

#[test]
fn an_index_shifted_by_2_fuses_into_its_i32_load() {
    // a[i] with the index on either side of the add, with an offset, and shifted by 34
    // (the count is taken mod 32): fused; shifted by 3, a stride of 8: left as it is.
    let elems: [i32; 11] = core::array::from_fn(|k| k as i32 + 1);
    let data: String =
        elems.iter().flat_map(|e| e.to_le_bytes()).map(|b| format!("\\{b:02x}")).collect();
    let m = module(&format!(
        r#"(module (memory 1) (data (i32.const 16) "{data}")
             (func (export "run") (param $n i32) (result i32)
               (local $i i32) (local $s i32) (local $a i32)
               (local.set $a (i32.const 16))
               (block (loop
                 (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
                 (local.set $s (i32.add (local.get $s)
                   (i32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))))
                 (local.set $s (i32.add (local.get $s) (i32.mul (i32.const 100)
                   (i32.load offset=4 (i32.add (i32.shl (local.get $i) (i32.const 2)) (local.get $a))))))
                 (local.set $s (i32.add (local.get $s) (i32.mul (i32.const 10000)
                   (i32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 34)))))))
                 (local.set $s (i32.add (local.get $s) (i32.mul (i32.const 1000000)
                   (i32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3)))))))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br 0)))
               (local.get $s)))"#
    ));
    let scaled = |i: &Instr| matches!(i, Instr::Load32AddScaled { .. });
    assert_eq!(count(&m, scaled), 3, "{:?}", m.inner.code);
    assert_eq!(count(&m, |i| matches!(i, Instr::I32Shl { .. })), 1, "{:?}", m.inner.code);
    let sum = |n: usize| {
        (0..n)
            .map(|i| elems[i] + 100 * elems[i + 1] + 10_000 * elems[i] + 1_000_000 * elems[2 * i])
            .sum::<i32>()
    };
    for dispatch in [Dispatch::Loop, Dispatch::Threaded] {
        let mut store = Store::new(Config::new().with_dispatch(dispatch));
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        let mut out = [Value::I32(0)];
        for n in [0, 1, 5] {
            store.call(func, &[Value::I32(n as i32)], &mut out).unwrap();
            assert_eq!(out, [Value::I32(sum(n))], "n = {n}, {dispatch:?}");
        }
        // Past the memory's end the fused load traps, as the three instructions would.
        let trap = store.call(func, &[Value::I32(20_000)], &mut out);
        assert!(format!("{trap:?}").contains("MemoryOutOfBounds"), "{trap:?}");
    }
}

#[test]
fn a_scaled_index_wraps_as_the_shift_and_the_add_do() {
    // (index << 2) and the sum wrap at 32 bits before the offset is added: 0x4000_0001
    // scales to 4, and 0xffff_fff0 + 0x20 wraps to 0x10.
    let m = module(
        r#"(module (memory 1) (data (i32.const 16) "\01\00\00\00\02\00\00\00")
             (func (export "run") (param $i i32) (result i32) (local $a i32) (local $k i32)
               (local.set $a (i32.const 16))
               (if (i32.eq (local.get $i) (i32.const -1))
                 (then (local.set $a (i32.const 0xfffffff0)) (local.set $i (i32.const 8))))
               (loop $l
                 (local.set $k (i32.add (local.get $k) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $k) (i32.const 2))))
               (i32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))))"#,
    );
    assert_eq!(count(&m, |i| matches!(i, Instr::Load32AddScaled { .. })), 1, "{:?}", m.inner.code);
    assert_eq!(run(&m, 0), 1);
    assert_eq!(run(&m, 1), 2);
    assert_eq!(run(&m, 0x4000_0001), 2);
    assert_eq!(run(&m, -1), 1);
}

#[test]
fn a_shift_stays_apart_where_a_branch_lands_or_a_local_keeps_it() {
    // The block's end, a branch target, sits at the add: the shift stands alone, so the
    // branch's value (4: element 1) and the fall-through's (the scaled index) both reach
    // the load. A teed shift keeps its local, read again after the load.
    let m = module(
        r#"(module (memory 1) (data (i32.const 16) "\01\00\00\00\02\00\00\00\03\00\00\00")
             (func (export "run") (param $i i32) (result i32) (local $a i32) (local $t i32) (local $k i32)
               (local.set $a (i32.const 16))
               (loop $l
                 (local.set $k (i32.add (local.get $k) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $k) (i32.const 2))))
               (if (result i32) (i32.ge_u (local.get $i) (i32.const 1000))
                 (then
                   (i32.add
                     (i32.load (i32.add (local.get $a)
                       (local.tee $t (i32.shl (i32.sub (local.get $i) (i32.const 1000)) (i32.const 2)))))
                     (i32.mul (local.get $t) (i32.const 1000))))
                 (else
                   (i32.load (i32.add (local.get $a)
                     (block (result i32)
                       (drop (br_if 0 (i32.const 4) (i32.gt_u (local.get $i) (i32.const 100))))
                       (i32.shl (local.get $i) (i32.const 2)))))))))"#,
    );
    assert_eq!(count(&m, |i| matches!(i, Instr::Load32AddScaled { .. })), 0, "{:?}", m.inner.code);
    assert_eq!(run(&m, 0), 1);
    assert_eq!(run(&m, 2), 3);
    assert_eq!(run(&m, 200), 2);
    assert_eq!(run(&m, 1002), 3 + 8 * 1000);
}

#[test]
fn temps_near_the_last_slot_take_the_room_no_constant_earned() {
    // 50,000 locals (the validator's most), a loop's constant in a slot, then `depth`
    // values on the stack, a constant that earns a slot by its third use: the frame is
    // 50,000 + 2 + depth slots, and fits up to 65,535 whatever room the translator held
    // for constants that never came.
    let module = |depth: u32| {
        let mut body = alloc::vec![1]; // one entry of locals: 50,000 i32s
        crate::module::tests::leb(50_000, &mut body);
        body.push(0x7f);
        body.extend([0x03, 0x40, 0x41, 0x01, 0x1a, 0x0b]); // (loop (drop (i32.const 1)))
        for _ in 0..depth {
            body.extend([0x41, 0x07]); // i32.const 7
        }
        body.extend(core::iter::repeat_n(0x1a, depth as usize)); // drop
        body.push(0x0b);
        Module::new(&Config::new(), &crate::module::tests::one_body(&body))
    };
    let fits = module(15_533).expect("a frame of 65,535 slots");
    let header = fits.inner.headers[0];
    assert_eq!((header.num_consts, header.frame_size), (2, 65_535));
    let err = module(15_534).map(drop).unwrap_err();
    assert!(matches!(err, Error::Limit { what: "function frame slots", .. }), "{err}");
}
