//! The example modules called from wasm, as a program calls them: the state the calls leave.

use tandem_example_gpio_timer::{BUTTON_PERIOD_US, Board, Gpio, Timer};
use tandem_hostmods::HostModule;
use tandem_interp::{Config, Error, Linker, Module, Store, TrapKind, Value};

const BLINK: &str = r#"(module
  (import "gpio" "configure" (func $configure (param i32 i32)))
  (import "gpio" "toggle" (func $toggle (param i32)))
  (import "gpio" "read" (func $read (param i32) (result i32)))
  (import "timer" "delay_us" (func $delay (param i32)))
  (func (export "blink") (param $pin i32) (param $times i32)
    (call $configure (local.get $pin) (i32.const 1))
    (loop $again
      (call $toggle (local.get $pin))
      (call $delay (i32.const 100))
      (br_if $again (local.tee $times (i32.sub (local.get $times) (i32.const 1))))))
  (func (export "read") (param i32) (result i32) (call $read (local.get 0))))"#;

#[test]
fn a_blinking_program_leaves_levels_edges_and_time_in_the_store() {
    let config = Config::new();
    let mut store = Store::new(config.clone());
    let mut linker = Linker::new();
    Gpio.define(&mut store, &mut linker).unwrap();
    Timer.define(&mut store, &mut linker).unwrap();
    let module = Module::new(&config, &wat::parse_str(BLINK).unwrap()).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let blink = instance.func(&store, "blink").unwrap();
    store.call(blink, &[Value::I32(5), Value::I32(3)], &mut []).unwrap();

    let board = store.host_data::<Board>().unwrap();
    assert_eq!((board.outputs, board.levels), (1 << 5, 1 << 5), "pin 5: output, high");
    assert_eq!((board.edges[5], board.now_us), (3, 300));

    // An input's level follows virtual time: pin 1 (odd) is low in the first half-period.
    let read = instance.func(&store, "read").unwrap();
    let mut level = [Value::I32(-1)];
    store.call(read, &[Value::I32(1)], &mut level).unwrap();
    assert_eq!(level, [Value::I32(0)]);
    store.host_data_mut::<Board>().unwrap().now_us = BUTTON_PERIOD_US / 2;
    store.call(read, &[Value::I32(1)], &mut level).unwrap();
    assert_eq!(level, [Value::I32(1)]);

    let error = store.call(blink, &[Value::I32(-3), Value::I32(1)], &mut []).unwrap_err();
    let Error::Trap(trap) = error else { panic!("{error}") };
    assert_eq!(trap.kind(), TrapKind::Host);
    assert_eq!(trap.message(), "gpio: pin -3 does not exist (0..32)");
}
