//! The runner's judgement, checked against a scripted fake target so that it
//! does not depend on any engine: passes, failures (with line, kind, expected
//! and got), skips, host-checked malformed text, parse errors and fatal errors.

use super::*;
use crate::target::TrapCode;

/// Loads any module with binary version 1, answers a few exports by name.
struct FakeTarget {
    fatal_on_invoke: bool,
    loaded: u32,
}

impl Target for FakeTarget {
    fn name(&self) -> &str {
        "fake"
    }
    fn reset(&mut self, _: WasmVersion) -> Result<(), TargetError> {
        self.loaded = 0;
        Ok(())
    }
    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        if wasm.get(4..8) != Some(&[1, 0, 0, 0]) {
            return Err(TargetError::Malformed("unknown binary version".into()));
        }
        self.loaded += 1;
        Ok(ModuleId(self.loaded - 1))
    }
    fn instantiate(&mut self, m: ModuleId) -> Result<Result<InstanceId, TrapInfo>, TargetError> {
        Ok(Ok(InstanceId(m.0)))
    }
    fn register(&mut self, _: InstanceId, _: &str) -> Result<(), TargetError> {
        Ok(())
    }
    fn invoke(
        &mut self,
        _: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError> {
        if self.fatal_on_invoke {
            return Err(TargetError::Transport("serial port closed".into()));
        }
        Ok(Ok(match export {
            "one" => vec![Val::I32(1)],
            "echo" => args.to_vec(),
            "nan" => vec![Val::F32(0x7fc0_0000)],
            "trap" => return Ok(Err(TrapInfo::new(TrapCode::IntegerDivideByZero))),
            "deep" => return Ok(Err(TrapInfo::new(TrapCode::StackExhausted))),
            _ => return Err(TargetError::Request(format!("no export {export}"))),
        }))
    }
    fn get_global(&mut self, _: InstanceId, _: &str) -> Result<Val, TargetError> {
        Ok(Val::I64(42))
    }
    fn stats(&mut self) -> Result<crate::target::StatsResponse, TargetError> {
        Ok(crate::target::StatsResponse {
            memories: Vec::new(),
            peak_stack_slots: 0,
            peak_call_depth: 0,
            fuel_consumed: 0,
            grow_refusals: 0,
            target: Default::default(),
        })
    }
}

fn fake() -> FakeTarget {
    FakeTarget { fatal_on_invoke: false, loaded: 0 }
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
    let report = run_wast(&mut fake(), WasmVersion::V2, "fake.wast", SCRIPT).unwrap();
    let failed: Vec<(usize, &str)> = report.failures.iter().map(|f| (f.line, f.kind)).collect();
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
    let report = run_wast(&mut fake(), WasmVersion::V1, "m.wast", script).unwrap();
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
        WasmVersion::V2,
        "bad.wast",
        "(module)\n(assert_return (invoke \"x\") (i32.const))",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RunError::Parse { .. }));
    assert!(text.contains("bad.wast:2:"), "{text}");
}

#[test]
fn transport_errors_stop_the_file() {
    let mut target = FakeTarget { fatal_on_invoke: true, loaded: 0 };
    let err = run_wast(&mut target, WasmVersion::V2, "t.wast", "(module)\n\n(invoke \"one\")")
        .unwrap_err();
    assert!(matches!(err, RunError::Target { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("serial port closed"));
}
