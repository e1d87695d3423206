//! What a call prints comes back whole from every target, while the call runs on a target
//! behind a link: in numbered chunks ahead of the reply, a lost one asked for again while the
//! target still holds it, and a flood cut at the same limit everywhere, counted, never lost
//! silently.
//!
//! The QEMU test is skipped (saying why) without `qemu-system-arm`, unless
//! `TANDEM_REQUIRE_QEMU=1` (CI).

mod common;

use tandem::target::qemu::QemuOptions;
use tandem::target::remote::RemoteOptions;
use tandem::target::sim_link::LinkedSimTarget;
use tandem::{Features, InstanceId, Printed, SimTarget, Target, Val};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_link::host::{FaultPlan, LinkOptions};
use tandem_protocol::MAX_OUTPUT_PER_CALL;

const OUTPUT_PER_CALL: usize = MAX_OUTPUT_PER_CALL as usize;

/// `print(n)` writes "0123456789" `n` times to stdout, then "done" to stderr.
const PROGRAM: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\01\00\00\0a\00\00\00\10\01\00\00\04\00\00\00")
  (data (i32.const 256) "0123456789")
  (data (i32.const 272) "done")
  (func (export "print") (param i32) (local i32)
    (block (loop
      (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 512)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br 0)))
    (drop (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 512)))))"#;

fn board() -> BoardProfile {
    BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"))
}

fn instance(target: &mut dyn Target) -> InstanceId {
    target.reset(Features::WASM2, &["wasi_snapshot_preview1"]).unwrap_or_else(|e| panic!("{e}"));
    let module = target.load(&wat::parse_str(PROGRAM).unwrap()).unwrap_or_else(|e| panic!("{e}"));
    target.instantiate(module).unwrap_or_else(|e| panic!("{e}")).expect("no trap")
}

/// What `print(n)` printed on `target`.
fn print(target: &mut dyn Target, instance: InstanceId, n: i32) -> Printed {
    let result = target.invoke(instance, "print", &[Val::I32(n)]);
    assert_eq!(result.unwrap_or_else(|e| panic!("{e}")), Ok(vec![]));
    target.take_reported().printed
}

fn digits(n: usize) -> Vec<u8> {
    b"0123456789".repeat(n)
}

/// Long output whole, and a flood cut at the one limit, on `target`.
fn long_output_and_flood(target: &mut dyn Target) {
    let i = instance(target);
    let printed = print(target, i, 2_000);
    assert_eq!(printed.stdout, digits(2_000), "{}: 20,000 bytes, whole", target.name());
    assert_eq!((printed.stderr.as_slice(), printed.dropped), (&b"done"[..], 0));

    let flood = print(target, i, 10_000);
    let expected = digits(10_000);
    assert_eq!(flood.stdout, expected[..OUTPUT_PER_CALL], "{}", target.name());
    assert_eq!(flood.stderr, b"", "past the limit, stderr is cut too");
    assert_eq!(flood.dropped, (expected.len() + 4 - OUTPUT_PER_CALL) as u64);
}

#[test]
fn long_output_and_a_flood_alike_on_the_simulator_and_the_linked_one() {
    long_output_and_flood(&mut SimTarget::new());
    let mut linked = LinkedSimTarget::start(&board(), RemoteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    long_output_and_flood(&mut linked);
}

#[test]
fn long_output_and_a_flood_alike_on_the_qemu_board() {
    let test = "long_output_and_a_flood_alike_on_the_qemu_board";
    let Some(mut qemu) = common::start(&QemuOptions::new(board()), test) else { return };
    long_output_and_flood(&mut qemu);
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

/// On a damaged link: output within the chunks a target retains always arrives whole (a lost
/// chunk is asked for again); beyond, every chunk lost for good leaves a marker on stderr in
/// its place, and the bytes that did arrive are the program's, in order.
#[test]
fn on_a_damaged_link_lost_chunks_are_asked_for_again_or_marked() {
    let faults = FaultPlan::parse("corrupt=1e-3,drop=1e-4,dup=1e-4,delay=1e-4,seed=11")
        .unwrap_or_else(|e| panic!("{e}"));
    let link = LinkOptions { faults: Some(faults), ..LinkOptions::default() };
    let options = RemoteOptions { link, ..RemoteOptions::default() };
    let mut linked = LinkedSimTarget::start(&board(), options).unwrap_or_else(|e| panic!("{e}"));
    let i = instance(&mut linked);
    // 2,000 bytes: three full chunks and a tail, all retained.
    for _ in 0..20 {
        let printed = print(&mut linked, i, 200);
        assert_eq!((printed.stdout, printed.stderr), (digits(200), b"done".to_vec()));
    }
    // 30,000 bytes: 58 chunks, of which the target keeps the last few.
    let printed = print(&mut linked, i, 3_000);
    let stderr = String::from_utf8(printed.stderr).expect("text");
    let lost = stderr.matches("was lost on the link]\n").count();
    assert!(stderr.ends_with("done"), "{stderr}");
    assert_eq!(printed.stdout.len() + lost * 512, 30_000, "only whole chunks go missing");
    let expected = digits(3_000);
    let mut at = 0;
    for piece in printed.stdout.chunks(512) {
        // Each chunk (and the tail) is the program's, from a chunk boundary.
        while expected[at..at + piece.len()] != *piece {
            at += 512;
        }
        at += piece.len();
    }
    eprintln!(
        "{lost} of 58 chunks lost for good and marked; link: {}",
        linked.link_totals().summary()
    );
}
