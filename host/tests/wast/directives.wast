;; Every directive kind the runner handles, on the simulator's `spectest` module.
;; Two assertions are wrong on purpose (each marked DELIBERATE FAILURE on the line
;; before it): the runner must report exactly those as failed. Two directives use
;; things out of scope and must be reported as skipped.

(module $M1
  (import "spectest" "print_i32" (func $print_i32 (param i32)))
  (import "spectest" "print" (func $print))
  (import "spectest" "global_i32" (global $gi32 i32))
  (import "spectest" "global_i64" (global $gi64 i64))
  (import "spectest" "global_f32" (global $gf32 f32))
  (import "spectest" "global_f64" (global $gf64 f64))
  (import "spectest" "table" (table $t 10 20 funcref))
  (import "spectest" "memory" (memory 1 2))
  (type $i32 (func (result i32)))
  (global (export "g") i32 (i32.const 42))
  (global $gm (export "gm") (mut i64) (i64.const -1))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "nan-add") (param f64) (result f64) (f64.add (local.get 0) (f64.const 1)))
  (func (export "id-ext") (param externref) (result externref) (local.get 0))
  (func $seven (export "seven") (result i32) (call $print) (call $print_i32 (i32.const 7)) (i32.const 7))
  (func (export "ref") (result funcref) (ref.func $seven))
  (func (export "null") (result funcref) (ref.null func))
  (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2))
  (func $loop (export "loop") (call $loop))
  (func (export "unreachable") unreachable)
  (func (export "spectest-globals") (result i32 i64 f32 f64)
    (global.get $gi32) (global.get $gi64) (global.get $gf32) (global.get $gf64))
  (func (export "table-size") (result i32) (table.size $t))
  (func (export "call-table") (param i32) (result i32) (call_indirect $t (type $i32) (local.get 0)))
  (func (export "memory-grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "set-gm") (param i64) (global.set $gm (local.get 0)))
)

;; Actions, results and gets.
(invoke $M1 "add" (i32.const 1) (i32.const 2))
(assert_return (invoke $M1 "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "seven") (i32.const 7))
(assert_return (get $M1 "g") (i32.const 42))
(invoke "set-gm" (i64.const 5))
(assert_return (get "gm") (i64.const 5))
(assert_return (invoke "two") (i32.const 1) (i64.const 2))
(assert_return (invoke "spectest-globals")
  (i32.const 666) (i64.const 666) (f32.const 666.6) (f64.const 666.6))
(assert_return (invoke "table-size") (i32.const 10))
(assert_return (invoke "memory-grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "memory-grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "nan") (f32.const nan:canonical))
(assert_return (invoke "nan-add" (f64.const nan:0x4000000000000)) (f64.const nan:arithmetic))
(assert_return (invoke "ref") (ref.func))
(assert_return (invoke "null") (ref.null func))
(assert_return (invoke "null") (ref.null))
(assert_return (invoke "id-ext" (ref.extern 7)) (ref.extern 7))
(assert_return (invoke "id-ext" (ref.null extern)) (ref.null extern))
(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (either (i32.const 3) (i32.const 4)))

;; Traps, on calls and on instantiation.
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 0x80000000) (i32.const -1)) "integer overflow")
(assert_trap (invoke "unreachable") "unreachable")
(assert_trap (invoke "load" (i32.const 0x20000)) "out of bounds memory access")
(assert_trap (invoke "call-table" (i32.const 0)) "uninitialized element")
(assert_trap (invoke "call-table" (i32.const 10)) "undefined element")
(assert_exhaustion (invoke "loop") "call stack exhausted")
(assert_trap (module (func $start unreachable) (start $start)) "unreachable")

;; Registration and imports from registered instances.
(register "m1" $M1)
(module $M2
  (import "m1" "add" (func $add (param i32 i32) (result i32)))
  (func (export "add3") (param i32) (result i32) (call $add (local.get 0) (i32.const 3))))
(assert_return (invoke $M2 "add3" (i32.const 4)) (i32.const 7))
(assert_unlinkable (module (import "m1" "nope" (func))) "unknown import")
(assert_unlinkable (module (import "spectest" "global_i32" (global i64))) "incompatible import type")

;; Binary and quoted modules, definitions and instances.
(module binary "\00asm" "\01\00\00\00")
(module quote "(func (export \"q\") (result i32) (i32.const 5))")
(assert_return (invoke "q") (i32.const 5))
(module definition $D (func (export "d") (result i32) (i32.const 9)))
(module instance $I $D)
(assert_return (invoke $I "d") (i32.const 9))

;; Rejected modules.
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_malformed (module quote "(func (i32.bogus))") "unknown operator")
(assert_malformed (module binary "\00asm" "\02\00\00\00") "unknown binary version")

;; Out of scope: reported as skipped.
(assert_return (invoke $M1 "seven") (v128.const i32x4 0 0 0 0))
(assert_exception (invoke $M1 "seven"))

;; DELIBERATE FAILURE: 1 + 1 is not 3.
(assert_return (invoke $M1 "add" (i32.const 1) (i32.const 1)) (i32.const 3))
;; DELIBERATE FAILURE: dividing by zero is not an overflow.
(assert_trap (invoke $M1 "div" (i32.const 1) (i32.const 0)) "integer overflow")
