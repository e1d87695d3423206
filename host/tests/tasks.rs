//! Cooperative scheduling through the protocol: two tasks on one instance, started and
//! resumed in fuel slices thousands of times in turn, end with the results and the memory of
//! uninterrupted calls; a task that calls `tandem.yield` stops after each call and resumes
//! past it. The same on the simulator, the linked simulator and the QEMU board.
//!
//! The QEMU part skips (saying why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1`.

mod common;

use tandem::Target;
use tandem::target::qemu::QemuOptions;
use tandem::target::remote::RemoteOptions;
use tandem::target::sim::SimTarget;
use tandem::target::sim_link::LinkedSimTarget;
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_interp::Features;
use tandem_protocol::{InstanceId, InvokeRequest, Progress, Suspension, TaskId, Val};

/// `work(at, n)` recurses, loops and folds its region of memory into a checksum, so a step
/// lost or repeated at a switch would show; `region(at)` folds the region again after the
/// tasks end; `yields(n)` calls `tandem.yield` n times.
const PROGRAM: &str = r#"(module
  (import "tandem" "yield" (func $yield))
  (memory 1)
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
  (func (export "region") (param $at i32) (result i64) (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31))
        (i64.load32_u (i32.add (local.get $at) (i32.shl (local.get $i) (i32.const 2))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))
    (local.get $acc))
  (func (export "yields") (param $n i32) (result i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $yield)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $i)))"#;

/// The two tasks' calls and the fuel of each one's slices (different, so that each stops at
/// points of the other's work it did not stop at before).
const CALLS: [(i32, i32, u64); 2] = [(0, 1200, 40), (1024, 1600, 97)];

fn board() -> BoardProfile {
    BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"))
}

fn session(target: &mut dyn Target) -> InstanceId {
    target.reset(Features::SUPPORTED, &["tandem"]).unwrap_or_else(|e| panic!("{e}"));
    let wasm = wat::parse_str(PROGRAM).expect("wat");
    let module = target.load(&wasm).unwrap_or_else(|e| panic!("{e}"));
    target.instantiate(module).unwrap_or_else(|e| panic!("{e}")).expect("no trap")
}

fn invoke(target: &mut dyn Target, instance: InstanceId, export: &str, args: &[Val]) -> Vec<Val> {
    target.invoke(instance, export, args).unwrap_or_else(|e| panic!("{e}")).expect("no trap")
}

fn work(instance: InstanceId, (at, n, _): (i32, i32, u64)) -> InvokeRequest {
    InvokeRequest { instance, export: "work".into(), args: vec![Val::I32(at), Val::I32(n)] }
}

/// What the tasks must end with: each call's result, then each region's checksum.
fn uninterrupted(target: &mut dyn Target) -> Vec<Val> {
    let instance = session(target);
    let mut expected = Vec::new();
    for call in CALLS {
        expected.extend(invoke(target, instance, "work", &work(instance, call).args));
    }
    for (at, _, _) in CALLS {
        expected.extend(invoke(target, instance, "region", &[Val::I32(at)]));
    }
    expected
}

/// The two tasks interleaved, one slice each in turn: their results, the regions'
/// checksums, and how many slices ran.
fn interleaved(target: &mut dyn Target) -> (Vec<Val>, u32) {
    let instance = session(target);
    let tasks: Vec<TaskId> = CALLS
        .iter()
        .map(|_| target.task_new(Some(256), Some(16)).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut progress: Vec<Progress> = Vec::new();
    for (&task, call) in tasks.iter().zip(CALLS) {
        let started = target.task_start(task, &work(instance, call), call.2);
        progress.push(started.unwrap_or_else(|e| panic!("{e}")).expect("no trap"));
    }
    let mut slices = 2;
    while progress.iter().any(|p| matches!(p, Progress::Suspended(_))) {
        for (i, (&task, call)) in tasks.iter().zip(CALLS).enumerate() {
            if let Progress::Suspended(why) = progress[i] {
                assert_eq!(why, Suspension::OutOfFuel, "task {i}");
                let resumed = target.task_resume(task, call.2);
                progress[i] = resumed.unwrap_or_else(|e| panic!("{e}")).expect("no trap");
                slices += 1;
            }
        }
    }
    let mut got = Vec::new();
    for p in progress {
        let Progress::Finished(results) = p else { unreachable!() };
        got.extend(results);
    }
    for (at, _, _) in CALLS {
        got.extend(invoke(target, instance, "region", &[Val::I32(at)]));
    }
    (got, slices)
}

/// A task calling `tandem.yield` 50 times stops after each and ends with its result.
fn yields(target: &mut dyn Target) {
    let instance = session(target);
    let task = target.task_new(Some(64), Some(4)).unwrap_or_else(|e| panic!("{e}"));
    let call = InvokeRequest { instance, export: "yields".into(), args: vec![Val::I32(50)] };
    let mut progress = target.task_start(task, &call, 1_000_000).unwrap_or_else(|e| panic!("{e}"));
    let mut stops = 0;
    while let Ok(Progress::Suspended(why)) = progress {
        assert_eq!(why, Suspension::Yielded);
        stops += 1;
        progress = target.task_resume(task, 1_000_000).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(progress, Ok(Progress::Finished(vec![Val::I32(50)])));
    assert_eq!(stops, 50);
    // A plain call of the same export does not stop.
    assert_eq!(invoke(target, instance, "yields", &[Val::I32(50)]), [Val::I32(50)]);
}

/// A task's refusals: resuming one with nothing stopped, starting one that holds a call, an
/// unknown task, stacks past the board's limits.
fn refusals(target: &mut dyn Target) {
    let instance = session(target);
    let task = target.task_new(Some(64), Some(8)).unwrap_or_else(|e| panic!("{e}"));
    assert!(refusal(target.task_resume(task, 10)).contains("no suspended call"));
    let call = work(instance, CALLS[0]);
    let started = target.task_start(task, &call, 10).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(started, Ok(Progress::Suspended(Suspension::OutOfFuel)));
    assert!(refusal(target.task_start(task, &call, 10)).contains("holds a suspended call"));
    assert!(refusal(target.task_resume(TaskId(7), 10)).contains("no task #7"));
    let too_many = board().limits.value_stack_slots + 1;
    assert!(refusal(target.task_new(Some(too_many), None)).contains("task value-stack slots"));
}

/// The refusal's text.
fn refusal<T: std::fmt::Debug>(result: Result<T, tandem::target::TargetError>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(other) => panic!("expected a refusal, got {other:?}"),
    }
}

fn check(target: &mut dyn Target, expected: &[Val]) -> u32 {
    let (got, slices) = interleaved(target);
    assert_eq!(
        got,
        expected,
        "{}: interleaved tasks agree with uninterrupted calls",
        target.name()
    );
    yields(target);
    refusals(target);
    slices
}

#[test]
fn two_tasks_interleaved_agree_with_uninterrupted_calls_on_sim_and_sim_link() {
    let expected = uninterrupted(&mut SimTarget::for_board(&board()));
    assert_eq!(expected.len(), 4);
    let slices = check(&mut SimTarget::for_board(&board()), &expected);
    assert!(slices > 2_000, "{slices} slices");
    let mut linked = LinkedSimTarget::start(&board(), RemoteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check(&mut linked, &expected), slices, "the same slices behind the link");
}

#[test]
fn two_tasks_interleaved_agree_with_uninterrupted_calls_on_qemu() {
    let expected = uninterrupted(&mut SimTarget::for_board(&board()));
    let test = "two_tasks_interleaved_agree_with_uninterrupted_calls_on_qemu";
    let Some(mut qemu) = common::start(&QemuOptions::new(board()), test) else { return };
    let started = std::time::Instant::now();
    let slices = check(&mut qemu, &expected);
    eprintln!("qemu: {slices} slices of two interleaved tasks in {:?}", started.elapsed());
    assert!(slices > 2_000, "{slices} slices");
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
