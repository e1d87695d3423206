;; host: gpio, timer
;; The example host modules (examples/gpio-timer): a blinker and a button poller whose pin
;; levels, edge counts and virtual time the asserts read back. Needs a build with the
;; `example-gpio-timer` feature (see examples/gpio-timer/README.md).

(module
  (import "gpio" "configure" (func $configure (param i32 i32)))
  (import "gpio" "write" (func $write (param i32 i32)))
  (import "gpio" "read" (func $read (param i32) (result i32)))
  (import "gpio" "toggle" (func $toggle (param i32)))
  (import "gpio" "edges" (func $edges (param i32) (result i32)))
  (import "timer" "now_us" (func $now (result i64)))
  (import "timer" "delay_us" (func $delay (param i32)))

  (func (export "setup")
    (call $configure (i32.const 13) (i32.const 1))
    (call $write (i32.const 13) (i32.const 0)))

  ;; Toggles the LED on pin 13 `n` times, 250 us apart; returns its edge count.
  (func (export "blink") (param $n i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (call $toggle (i32.const 13))
        (call $delay (i32.const 250))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (call $edges (i32.const 13)))

  (func (export "led") (result i32) (call $read (i32.const 13)))
  (func (export "now") (result i64) (call $now))

  ;; Polls the button on pin 2 every 100 us until it reads `level`; returns the polls made.
  (func (export "wait_button") (param $level i32) (result i32)
    (local $polls i32)
    (block $done
      (loop $poll
        (br_if $done (i32.eq (call $read (i32.const 2)) (local.get $level)))
        (call $delay (i32.const 100))
        (local.set $polls (i32.add (local.get $polls) (i32.const 1)))
        (br $poll)))
    (local.get $polls))

  (func (export "bad_pin") (call $write (i32.const 40) (i32.const 1)))
  (func (export "write_input") (call $write (i32.const 2) (i32.const 1)))
  (func (export "wait_backwards") (call $delay (i32.const -1))))

(invoke "setup")
(assert_return (invoke "led") (i32.const 0))
(assert_return (invoke "blink" (i32.const 7)) (i32.const 7))
(assert_return (invoke "led") (i32.const 1))
(assert_return (invoke "now") (i64.const 1750))
;; Pin 2 (even) is high during the first 5,000 us of every 10,000: low from 5,000 us on.
(assert_return (invoke "wait_button" (i32.const 0)) (i32.const 33))
(assert_return (invoke "now") (i64.const 5050))
(assert_return (invoke "wait_button" (i32.const 1)) (i32.const 50))
(assert_return (invoke "now") (i64.const 10050))
(assert_trap (invoke "bad_pin") "gpio: pin 40 does not exist (0..32)")
(assert_trap (invoke "write_input") "gpio: pin 2 is an input")
(assert_trap (invoke "wait_backwards") "timer: cannot wait -1 us")
;; The state survives the traps.
(assert_return (invoke "blink" (i32.const 1)) (i32.const 8))
(assert_return (invoke "led") (i32.const 0))
