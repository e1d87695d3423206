//! A call that outlives its deadline is stopped by the target itself, by its own clock: the
//! firmware's SysTick interrupt on the QEMU board, a watchdog thread in the linked
//! simulator. The call fails with a trap saying so, the board is not restarted, and the
//! session goes on: the next call on the same instance answers.
//!
//! The board runs a profile without fuel, so nothing else could stop the loop. The QEMU test
//! is skipped (saying why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1` (CI).

mod common;

use std::time::{Duration, Instant};

use tandem::target::qemu::QemuOptions;
use tandem::target::remote::RemoteOptions;
use tandem::target::sim_link::LinkedSimTarget;
use tandem::{Features, Target, Trap, Val};
use tandem_protocol::TrapKind;

/// A loop that never ends, and a call that answers.
const PROGRAM: &str = r#"(module
  (func (export "forever") (loop br 0))
  (func (export "answer") (result i32) i32.const 42))"#;

const DEADLINE: Duration = Duration::from_millis(300);

/// The looping call times out by the target's deadline, then the instance still answers.
fn stops_and_goes_on(target: &mut dyn Target) -> Duration {
    target.reset(Features::WASM2, &[]).unwrap_or_else(|e| panic!("{e}"));
    let module = target.load(&wat::parse_str(PROGRAM).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    let instance = target.instantiate(module).unwrap_or_else(|e| panic!("{e}")).expect("no trap");
    let start = Instant::now();
    let stopped = target.invoke(instance, "forever", &[]).unwrap_or_else(|e| panic!("{e}"));
    let took = start.elapsed();
    assert_eq!(stopped, Err(Trap::timed_out(DEADLINE)));
    assert_eq!(Trap::timed_out(DEADLINE).kind, TrapKind::Interrupted);
    let answer = target.invoke(instance, "answer", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer, Ok(vec![Val::I32(42)]), "the session goes on after the timeout");
    took
}

#[test]
fn the_linked_simulator_stops_a_call_at_its_deadline() {
    let dir = std::env::temp_dir().join(format!("tandem-deadline-sim-{}", std::process::id()));
    let board = common::no_fuel_board(&dir);
    let options = RemoteOptions::default().with_call_deadline(DEADLINE);
    let mut sim = LinkedSimTarget::start(&board, options).unwrap_or_else(|e| panic!("{e}"));
    let took = stops_and_goes_on(&mut sim);
    assert!(took < DEADLINE + Duration::from_secs(1), "stopped after {took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_qemu_board_stops_a_call_at_its_deadline_without_a_restart() {
    let dir = std::env::temp_dir().join(format!("tandem-deadline-qemu-{}", std::process::id()));
    let mut options = QemuOptions::new(common::no_fuel_board(&dir));
    // QEMU's clock is virtual time (one instruction per nanosecond under -icount), which
    // runs slower than the wall's: the host waits long enough for the board to decide.
    options.remote = RemoteOptions { request_timeout: Duration::from_secs(60), ..options.remote };
    options.remote.call_deadline = Some(DEADLINE);
    let test = "the_qemu_board_stops_a_call_at_its_deadline_without_a_restart";
    let Some(mut qemu) = common::start(&options, test) else { return };
    let took = stops_and_goes_on(&mut qemu);
    eprintln!("the board stopped the loop after {took:?} of wall time ({DEADLINE:?} deadline)");
    assert_eq!(qemu.restarts(), 0, "the board stopped the call itself");
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
}
