;; Custom page sizes inside the nRF52840-DK's profile: a module that needs 12 KiB asks for
;; exactly that in 1-byte pages, with a maximum, instead of a 64 KiB page (a quarter of the
;; board's RAM). It runs in the board's static buffer and stops at its own maximum.
;; board: nrf52840-dk

(module
  (memory (export "mem") 12288 12288 (pagesize 1))
  (data (i32.const 12284) "\01\02\03\04")
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "last") (result i32) (i32.load (i32.const 12284)))
  (func (export "fill") (memory.fill (i32.const 0) (i32.const 0x5a) (i32.const 12288)))
  (func (export "sum") (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 12288))))
    (local.get $s))
)
(assert_return (invoke "size") (i32.const 12288))
(assert_return (invoke "last") (i32.const 0x04030201))
(invoke "fill")
(assert_return (invoke "sum") (i32.const 1105920))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 0)) (i32.const 12288))
