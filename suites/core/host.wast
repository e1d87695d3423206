;; The `tandem` test module: what a call prints is part of its record (compared by parity,
;; snapshotted), a guest can fail with its own message, and a bad string is a trap.
;; host: tandem
(module
  (import "tandem" "print_i32" (func $print_i32 (param i32)))
  (import "tandem" "print_i64" (func $print_i64 (param i64)))
  (import "tandem" "print_f32" (func $print_f32 (param f32)))
  (import "tandem" "print_f64" (func $print_f64 (param f64)))
  (import "tandem" "print" (func $print (param i32 i32)))
  (import "tandem" "fail" (func $fail (param i32 i32)))
  (memory 1)
  (data (i32.const 0) "hello, board\n")
  (data (i32.const 16) "checksum wrong")
  (func $start (call $print (i32.const 0) (i32.const 13)))
  (start $start)
  (func (export "answer") (result i32) (call $print_i32 (i32.const 42)) (i32.const 42))
  (func (export "numbers")
    (call $print_i64 (i64.const -9007199254740993))
    (call $print_f32 (f32.const 0.1))
    (call $print_f64 (f64.const -1e300))
    (call $print_f64 (f64.const nan)))
  (func (export "fail") (call $print_i32 (i32.const 1)) (call $fail (i32.const 16) (i32.const 14)))
  (func (export "outside") (call $print (i32.const 65530) (i32.const 100)))
)
(assert_return (invoke "answer") (i32.const 42))
(invoke "numbers")
(assert_trap (invoke "fail") "checksum wrong")
(assert_trap (invoke "outside") "outside memory 0")

;; An import no linked host module provides is a link error naming the modules in use.
(assert_unlinkable
  (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))
  "unknown import")
