//! The runner's judgement, checked against a scripted fake target so that it
//! does not depend on any engine: passes, failures (with line, kind, expected
//! and got), skips, host-checked malformed text, parse errors and fatal errors;
//! the records of what the target did, and board-limited outcomes.

use super::*;
use tandem_protocol::{
    InstanceId, InvokeRequest, ModuleFormat, ModuleId, Progress, Refusal, StatsResponse, TaskId,
    Trap, TrapKind, Val,
};

/// Loads any module with binary version 1, answers a few exports by name.
#[derive(Default)]
pub(crate) struct FakeTarget {
    /// Every invocation loses the link (and the target cannot be restarted by default).
    pub(crate) fatal_on_invoke: bool,
    /// Refuse every instantiation as out of resources (a module too big for the board).
    resource_on_instantiate: bool,
    /// What `stats()` reports as refused grows.
    grow_refusals: u32,
    /// How often `stats()` was called.
    stats_queries: usize,
    /// Says it does not validate (a firmware built without on-device validation).
    no_validation: bool,
    /// How many restarts `recover()` may still do; it fails once they are used up.
    pub(crate) restarts_left: u32,
    /// Restarts done.
    restarts: u32,
    loaded: u32,
}

impl Target for FakeTarget {
    fn name(&self) -> &str {
        "fake"
    }
    fn validates(&self) -> bool {
        !self.no_validation
    }
    fn recover(&mut self) -> Result<(), TargetError> {
        if self.restarts_left == 0 {
            return Err(TargetError::Transport("the board does not come back".into()));
        }
        self.restarts_left -= 1;
        self.restarts += 1;
        self.fatal_on_invoke = false;
        Ok(())
    }
    fn reset(&mut self, _: Features, _: &[&str]) -> Result<(), TargetError> {
        self.loaded = 0;
        Ok(())
    }
    fn set_wasi(&mut self, _: &tandem_protocol::WasiSetup) -> Result<(), TargetError> {
        Ok(())
    }
    fn upload(&mut self, wasm: &[u8], _: ModuleFormat) -> Result<ModuleId, TargetError> {
        if wasm.get(4..8) != Some(&[1, 0, 0, 0]) {
            return Err(TargetError::Refused(Refusal::Malformed("unknown binary version".into())));
        }
        self.loaded += 1;
        Ok(ModuleId(self.loaded - 1))
    }
    fn instantiate(&mut self, m: ModuleId) -> Result<Result<InstanceId, Trap>, TargetError> {
        if self.resource_on_instantiate {
            return Err(TargetError::Refused(Refusal::Resource(
                "heap budget of 2 pages exceeded".into(),
            )));
        }
        Ok(Ok(InstanceId(m.0)))
    }
    fn register(&mut self, _: InstanceId, _: &str) -> Result<(), TargetError> {
        Ok(())
    }
    // The runner makes no tasks.
    fn task_new(&mut self, _: Option<u32>, _: Option<u32>) -> Result<TaskId, TargetError> {
        Err(TargetError::Refused(Refusal::Request("the fake target has no tasks".into())))
    }
    fn task_start(
        &mut self,
        _: TaskId,
        _: &InvokeRequest,
        _: u64,
    ) -> Result<Result<Progress, Trap>, TargetError> {
        Err(TargetError::Refused(Refusal::Request("the fake target has no tasks".into())))
    }
    fn task_resume(&mut self, _: TaskId, _: u64) -> Result<Result<Progress, Trap>, TargetError> {
        Err(TargetError::Refused(Refusal::Request("the fake target has no tasks".into())))
    }
    fn invoke(
        &mut self,
        _: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, Trap>, TargetError> {
        if self.fatal_on_invoke {
            return Err(TargetError::Transport("serial port closed".into()));
        }
        Ok(Ok(match export {
            "one" => vec![Val::I32(1)],
            // A board that hangs on this call until it is restarted.
            "hang" => return Err(TargetError::Transport("no reply within 2s".into())),
            // A memory.grow the board refuses: -1, and the refusal counted.
            "grow" => {
                self.grow_refusals += 1;
                vec![Val::I32(-1)]
            }
            "echo" => args.to_vec(),
            "nan" => vec![Val::F32(0x7fc0_0000)],
            "nans" => vec![
                Val::F32(0xffc0_0000),
                Val::F32(0x7fc0_0001),
                Val::F32(0x7fa0_0000),
                Val::F64(0xfff8_0000_0000_0000),
                Val::F64(0x7ff8_0000_0000_0001),
                Val::F64(0x7ff4_0000_0000_0000),
            ],
            "pair" => vec![Val::I32(3), Val::F64(0x3ff0_0000_0000_0000)],
            "refs" => vec![Val::FuncRef(Some(7)), Val::FuncRef(None), Val::ExternRef(None)],
            "trap" => {
                return Ok(Err(trap(TrapKind::IntegerDivideByZero, "integer divide by zero")));
            }
            "deep" => return Ok(Err(trap(TrapKind::StackExhausted, "call stack exhausted"))),
            _ => return Err(TargetError::Refused(Refusal::Request(format!("no export {export}")))),
        }))
    }
    fn get_global(&mut self, _: InstanceId, _: &str) -> Result<Val, TargetError> {
        Ok(Val::I64(42))
    }
    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        self.stats_queries += 1;
        Ok(StatsResponse {
            memories: Vec::new(),
            peak_stack_slots: 0,
            peak_call_depth: 0,
            fuel_consumed: 0,
            grow_refusals: self.grow_refusals,
            heap: Default::default(),
            target: Default::default(),
        })
    }
}

/// A trap worded as the core words it.
fn trap(kind: TrapKind, message: &str) -> Trap {
    Trap { kind, message: message.into() }
}

fn fake() -> FakeTarget {
    FakeTarget::default()
}

const SCRIPT: &str = r#"(module $m (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 1))
(assert_return (invoke $m "one") (i32.const 2))
(assert_trap (invoke "trap") "integer divide by zero")
(assert_trap (invoke "trap") "unreachable")
(assert_trap (invoke "one") "unreachable")
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "nan") (f32.const nan:0x200000))
(assert_return (invoke "missing"))
(assert_return (invoke "echo" (ref.extern 3) (f64.const -0)) (ref.extern 3) (f64.const -0))
(assert_return (invoke "echo" (ref.null func)) (ref.null extern))
(assert_return (get "g") (i64.const 42))
(assert_exhaustion (invoke "deep") "call stack exhausted")
(assert_malformed (module binary "\00asm" "\02\00\00\00") "unknown binary version")
(assert_malformed (module quote "(func (i32.bogus))") "unknown operator")
(assert_malformed (module binary "\00asm" "\01\00\00\00") "looks fine")
(assert_invalid (module (func (result i32))) "type mismatch")
(register "m" $m)
(assert_return (invoke $nope "one") (i32.const 1))
(assert_return (invoke "one") (v128.const i64x2 0 0))
(invoke "echo" (v128.const i64x2 0 0))
"#;

#[test]
fn judges_every_directive() {
    let report = run_wast(&mut fake(), Features::WASM2, "fake.wast", SCRIPT).unwrap();
    let failed: Vec<(usize, &str)> =
        report.failures.iter().map(|f| (f.line, f.kind.as_str())).collect();
    assert_eq!(
        failed,
        [
            (3, "assert_return"),
            (5, "assert_trap"),
            (6, "assert_trap"),
            (8, "assert_return"),
            (9, "assert_return"),
            (11, "assert_return"),
            (16, "assert_malformed"),
            (17, "assert_invalid"),
            (19, "assert_return"),
        ],
        "{:#?}",
        report.failures
    );
    let f = &report.failures;
    assert_eq!((f[0].expected.as_str(), f[0].got.as_str()), ("[i32:2]", "[i32:1]"));
    assert_eq!(f[1].expected, "trap \"unreachable\"");
    assert_eq!(f[1].got, "trap \"integer divide by zero\"");
    assert_eq!(f[2].got, "returned [i32:1]");
    assert!(f[4].got.contains("no export missing"), "{}", f[4].got);
    assert_eq!(f[6].got, "it loaded");
    assert!(f[8].got.contains("no module named $nope"), "{}", f[8].got);
    let skipped: Vec<usize> = report.skips.iter().map(|s| s.line).collect();
    assert_eq!(skipped, [20, 21]);
    assert_eq!(report.skips[0].reason, expect::SIMD_REASON);
    assert_eq!(report.passed, 21 - 9 - 2);
}

#[test]
fn failed_module_makes_later_actions_fail_with_its_reason() {
    let script = "(module binary \"\\00asm\" \"\\03\\00\\00\\00\")\n(invoke \"one\")";
    let report = run_wast(&mut fake(), Features::WASM1, "m.wast", script).unwrap();
    assert_eq!(report.failures.len(), 2);
    assert_eq!(report.failures[0].kind, "module");
    assert!(report.failures[0].got.contains("unknown binary version"));
    assert!(
        report.failures[1].got.contains("the module at line 1 failed"),
        "{:?}",
        report.failures[1]
    );
}

#[test]
fn parse_errors_name_file_and_position() {
    let err = run_wast(
        &mut fake(),
        Features::WASM2,
        "bad.wast",
        "(module)\n(assert_return (invoke \"x\") (i32.const))",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RunError::Parse { .. }));
    assert!(text.contains("bad.wast:2:"), "{text}");
}

/// A hang, a directive on the lost instance, a new module, then more work.
const HANG: &str = "(module)\n(assert_return (invoke \"one\") (i32.const 1))\n\
                    (invoke \"hang\")\n(assert_return (invoke \"one\") (i32.const 1))\n\
                    (module)\n(assert_return (invoke \"one\") (i32.const 1))";

#[test]
fn a_hung_target_fails_the_directive_is_restarted_and_the_file_goes_on() {
    let mut target = FakeTarget { restarts_left: 1, ..fake() };
    let report = run_wast(&mut target, Features::WASM2, "h.wast", HANG).unwrap();
    assert_eq!(target.restarts, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].line, 3);
    assert!(report.failures[0].got.contains("no reply within 2s"), "{}", report.failures[0].got);
    // The call on the instance that died with the board is skipped, saying so.
    assert_eq!(report.skips.len(), 1);
    assert_eq!(report.skips[0].line, 4);
    assert!(
        report.skips[0].reason.contains("restarted after line 3"),
        "{}",
        report.skips[0].reason
    );
    // The next module runs on the restarted target.
    assert_eq!(report.passed, 4);
    assert_eq!(report.records.len(), 6);
    assert!(report.target_lost.is_none());
}

#[test]
fn a_target_that_cannot_be_restarted_ends_the_run_keeping_the_results() {
    let mut target = FakeTarget { fatal_on_invoke: true, ..fake() };
    let files: Vec<crate::suite::SuiteFile> = ["a.wast", "b.wast"]
        .iter()
        .map(|name| crate::suite::SuiteFile {
            name: (*name).into(),
            file_name: (*name).into(),
            script: crate::suite::Script::Wast("(module)\n\n(invoke \"one\")".into()),
        })
        .collect();
    let report =
        crate::suite::run_files(&mut target, "s".into(), Features::WASM2, &files, None, 0, |_| {})
            .unwrap();
    let first = &report.files[0];
    assert_eq!((first.passed, first.failed()), (1, 1), "the module passed before the failure");
    assert!(first.failures[0].got.contains("serial port closed"), "{}", first.failures[0].got);
    assert!(first.target_lost.as_ref().is_some_and(|why| why.contains("does not come back")));
    let second = report.files[1].file_skip.as_ref().expect("not run");
    assert!(second.reason.starts_with("not run: the target died"), "{}", second.reason);
    assert_eq!(second.directives, 2);
}

/// The records of a run as `L{line} {kind}: {observed}` lines.
fn compact(report: &FileReport) -> Vec<String> {
    report.records.iter().map(Record::compact).collect()
}

#[test]
fn records_follow_the_directives_and_the_counts() {
    let report = run_wast(&mut fake(), Features::WASM2, "fake.wast", SCRIPT).unwrap();
    assert_eq!(report.records.len(), 21);
    let lines: Vec<usize> = report.records.iter().map(|r| r.line).collect();
    assert_eq!(lines, (1..=21).collect::<Vec<_>>());
    let count = |v: Verdict| report.records.iter().filter(|r| r.verdict == v).count();
    assert_eq!(count(Verdict::Pass), report.passed);
    assert_eq!(count(Verdict::Fail), report.failed());
    assert_eq!(count(Verdict::Skip), report.skipped());
    assert!(report.stats.is_some(), "stats are kept at the end of the file");
}

#[test]
fn observed_strings_are_canonical() {
    let report = run_wast(&mut fake(), Features::WASM2, "fake.wast", SCRIPT).unwrap();
    let records = compact(&report);
    let expected = [
        "L1 module: instantiated",
        "L2 assert_return: returned [i32:1]",
        "L3 assert_return: returned [i32:1]",
        "L4 assert_trap: trap: integer divide by zero",
        "L5 assert_trap: trap: integer divide by zero",
        "L6 assert_trap: returned [i32:1]",
        "L7 assert_return: returned [f32:nan]",
        "L8 assert_return: returned [f32:nan]",
        "L9 assert_return: error: request",
        "L10 assert_return: returned [ref.extern 3, f64:0x8000000000000000]",
        "L11 assert_return: returned [ref.null func]",
        "L12 assert_return: returned [i64:42]",
        "L13 assert_exhaustion: trap: call stack exhausted",
        "L14 assert_malformed: rejected: malformed",
        "L15 assert_malformed: text rejected on the host",
        "L16 assert_malformed: loaded",
        "L17 assert_invalid: loaded",
        "L18 register: registered",
        "L19 assert_return: error: no instance",
    ];
    assert_eq!(records[..19], expected);
    assert_eq!(records[19], format!("L20 assert_return: skipped: {}", expect::SIMD_REASON));
    let verdicts: Vec<Verdict> = report.records[..4].iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, [Verdict::Pass, Verdict::Pass, Verdict::Fail, Verdict::Pass]);
}

#[test]
fn values_render_by_bits_and_nans_by_class() {
    let script = "(module)\n(invoke \"nans\")\n(invoke \"pair\")\n(invoke \"refs\")";
    let report = run_wast(&mut fake(), Features::WASM2, "v.wast", script).unwrap();
    assert_eq!(
        compact(&report)[1..],
        [
            "L2 invoke: returned [f32:nan, f32:nan, f32:0x7fa00000, \
             f64:nan, f64:nan, f64:0x7ff4000000000000]",
            "L3 invoke: returned [i32:3, f64:0x3ff0000000000000]",
            "L4 invoke: returned [ref.func, ref.null func, ref.null extern]",
        ]
    );
    assert_eq!(observe::value(Val::F32(0x3f80_0000)), "f32:0x3f800000");
    assert_eq!(observe::value(Val::F32(0xff80_0000)), "f32:0xff800000", "infinity is not a NaN");
    assert_eq!(observe::value(Val::I64(-1)), "i64:-1");
    assert_eq!(observe::value(Val::ExternRef(Some(5))), "ref.extern 5");
}

#[test]
fn traps_use_the_spec_wording_and_refusals_their_category() {
    let trap = trap(TrapKind::IntegerOverflow, "integer overflow");
    assert_eq!(observe::trap(&trap), "trap: integer overflow");
    assert_eq!(
        observe::rejection(&TargetError::Refused(Refusal::Invalid("type mismatch".into()))),
        "rejected: invalid"
    );
    assert_eq!(
        observe::rejection(&TargetError::Refused(Refusal::Resource("1 MiB".into()))),
        "error: resource"
    );
    assert_eq!(
        observe::instantiation_error(&TargetError::Refused(Refusal::Link("no import".into()))),
        "link error"
    );
}

const FAILING: &str = "(module)\n(assert_return (invoke \"one\") (i32.const 2))\n\
                       (assert_return (invoke \"one\") (i32.const 1))";

/// A refused grow, a failure on the same instance, then a new instance that fails too.
const REFUSED: &str = "(module)\n\
                       (assert_return (invoke \"grow\") (i32.const 3))\n\
                       (assert_return (invoke \"one\") (i32.const 2))\n\
                       (assert_return (invoke \"one\") (i32.const 1))\n\
                       (module)\n\
                       (assert_return (invoke \"one\") (i32.const 2))";

#[test]
fn failures_of_an_instance_after_a_refused_grow_are_skips() {
    let mut target = fake();
    let report = run_wast(&mut target, Features::WASM2, "g.wast", REFUSED).unwrap();
    let skipped: Vec<usize> = report.skips.iter().map(|s| s.line).collect();
    assert_eq!(skipped, [2, 3], "the refused grow and the same instance's later failure");
    assert_eq!(report.skips[0].reason, GROW_REFUSED_REASON);
    assert_eq!(
        report.records[1].observed,
        format!("returned [i32:-1]; skipped: {GROW_REFUSED_REASON}")
    );
    assert_eq!(report.records[3].verdict, Verdict::Pass);
    // A refusal before an instance existed does not excuse that instance's failures.
    let failed: Vec<usize> = report.failures.iter().map(|f| f.line).collect();
    assert_eq!(failed, [6]);
    // Per instance, per failure and at the end: passes cost no statistics query.
    assert_eq!(target.stats_queries, 2 + 3 + 1);
}

#[test]
fn a_failure_without_refused_grows_stays_a_failure() {
    let report = run_wast(&mut fake(), Features::WASM2, "g.wast", FAILING).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].line, 2);
    assert!(report.skips.is_empty());
    assert_eq!(report.records[1].verdict, Verdict::Fail);
    assert_eq!(report.records[1].observed, "returned [i32:1]");
}

#[test]
fn a_module_refused_for_resources_skips_it_and_its_users() {
    let mut target = FakeTarget { resource_on_instantiate: true, ..fake() };
    let script = "(module)\n(assert_return (invoke \"one\") (i32.const 1))";
    let report = run_wast(&mut target, Features::WASM2, "r.wast", script).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let reasons: Vec<&str> = report.skips.iter().map(|s| s.reason.as_str()).collect();
    let reason = "the module exceeds the board profile (heap budget of 2 pages exceeded)";
    assert_eq!(reasons, [reason, reason]);
    assert_eq!(
        compact(&report),
        [
            format!("L1 module: error: resource; skipped: {reason}"),
            format!("L2 assert_return: error: no instance; skipped: {reason}"),
        ]
    );
    assert_eq!(target.stats_queries, 1, "a resource refusal needs no statistics");
}

/// An invalid module, one that does not decode, and a valid one in assert_invalid.
const REJECTIONS: &str = r#"(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module binary "\00asm\01\00\00\00\01") "unexpected end")
(assert_invalid (module (func)) "should have been invalid")
(assert_malformed (module quote "(func") "unexpected end")"#;

#[test]
fn a_target_without_validation_gets_rejections_checked_on_the_host() {
    let mut target = FakeTarget { no_validation: true, ..fake() };
    let report = run_wast(&mut target, Features::WASM2, "r.wast", REJECTIONS).unwrap();
    let skipped: Vec<usize> = report.skips.iter().map(|s| s.line).collect();
    assert_eq!(skipped, [1, 2], "rejected on the host: skipped, never passed");
    assert!(report.skips.iter().all(|s| s.reason == CHECKED_ON_HOST_REASON));
    assert_eq!(report.records[0].observed, format!("skipped: {CHECKED_ON_HOST_REASON}"));
    // The host accepts the third module, so the target gets it, loads it, and it fails.
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].line, 3);
    // Text that does not parse never reaches any target: checked on the host as before.
    assert_eq!(report.passed, 1);
    assert_eq!(target.loaded, 1, "only the module the host accepted reached the target");
}

/// Recursion 1000 deep: fine on the desktop, beyond a small board's call-depth limit.
#[cfg(feature = "sim")]
const DEEP: &str = "(module (func $down (export \"down\") (param i32) (result i32)\n\
                    (if (result i32) (local.get 0)\n\
                      (then (call $down (i32.sub (local.get 0) (i32.const 1))))\n\
                      (else (i32.const 7)))))\n\
                    (assert_return (invoke \"down\" (i32.const 1000)) (i32.const 7))\n\
                    (assert_return (invoke \"down\" (i32.const 10)) (i32.const 7))";

#[cfg(feature = "sim")]
#[test]
fn exhaustion_under_a_board_profile_is_the_board_s_limit_not_a_failure() {
    use crate::target::sim::SimTarget;
    let board = tandem_boards::BoardProfile::find("nrf52840-dk").unwrap();
    assert!(board.limits.max_call_depth < 1000, "the test needs a board shallower than 1000");
    let report =
        run_wast(&mut SimTarget::for_board(&board), Features::WASM2, "d.wast", DEEP).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.skips.len(), 1);
    assert_eq!(report.skips[0].line, 5);
    assert!(report.skips[0].reason.contains("call stack exhausted"), "{}", report.skips[0].reason);
    assert_eq!(report.passed, 2, "the module and the shallow call");

    // The desktop's own limits make no such excuse: the same trap there is a failure.
    let limits =
        tandem_handler::Limits { max_call_depth: 100, ..tandem_handler::desktop_profile().limits };
    let report =
        run_wast(&mut SimTarget::with_limits(limits), Features::WASM2, "d.wast", DEEP).unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].line, 5);
    assert!(report.skips.is_empty());
}

#[test]
fn a_script_s_host_modules_come_from_its_leading_comments() {
    let text = ";; Output.\n;; host: tandem, wasi\n;; host: tandem\n(module)\n;; host: late\n";
    assert_eq!(session_hosts(text), ["spectest", "tandem", "wasi"]);
    assert_eq!(session_hosts("(module)"), ["spectest"]);
}

#[cfg(feature = "sim")]
#[test]
fn a_host_module_the_target_lacks_skips_the_file_saying_why() {
    let script = ";; host: gpio\n(module)\n(assert_return (invoke \"x\"))\n";
    let report = run_wast(&mut crate::SimTarget::new(), Features::WASM2, "g.wast", script).unwrap();
    let skip = report.file_skip.expect("skipped");
    assert_eq!(skip.directives, 2);
    assert!(skip.reason.contains("no host module `gpio`"), "{}", skip.reason);
    assert!(skip.reason.contains("spectest, tandem"), "names what it has: {}", skip.reason);
}

#[cfg(feature = "sim")]
#[test]
fn a_module_needing_a_proposal_tandem_lacks_is_skipped_naming_it_and_so_are_its_users() {
    let script = r#"(module (type (struct)) (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
(module (func (export "g") (result i32 i32) (i32.const 1) (i32.const 2)))
(assert_return (invoke "g") (i32.const 1) (i32.const 2))
"#;
    let mut target = crate::SimTarget::new();
    let report = run_wast(&mut target, Features::SUPPORTED, "gc.wast", script).unwrap();
    assert_eq!((report.passed, report.failures.len(), report.skips.len()), (2, 0, 2));
    for skip in &report.skips {
        assert_eq!(skip.reason, "needs gc, which Tandem does not implement");
    }
    // A proposal the core implements but the run leaves out is the version's rule, not a
    // skip: under 1.0, two results are invalid, and the module fails to load.
    let report = run_wast(&mut target, Features::WASM1, "mv.wast", script).unwrap();
    assert!(report.failures.iter().any(|f| f.line == 3), "{:?}", report.failures);
}
