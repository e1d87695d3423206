;; The CI board's limits, asserted exactly: where the call depth, the value stack, fuel, the
;; static buffer, the heap-memory budget and the elements per table of the qemu-mps2-an386 profile
;; (boards/profiles/qemu-mps2-an386.toml) bite. The simulator with --board qemu-mps2-an386
;; and the firmware on QEMU must agree to the last call.
;; board: qemu-mps2-an386

;; Call depth: max_call_depth = 1024 frames, the invoked function included.
(module
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
)
(assert_return (invoke "down" (i32.const 1023)) (i32.const 1023))
(assert_exhaustion (invoke "down" (i32.const 1024)) "call stack exhausted")
;; The instance still works after exhaustion.
(assert_return (invoke "down" (i32.const 10)) (i32.const 10))

;; Value stack: value_stack_slots = 65,536. Each frame of $wide takes 258 slots (256 i64 locals,
;; its parameter and one operand): 254 frames need 65,532, so the 254th call still fits and
;; the 255th does not, long before the depth limit.
(module
  (func $wide (export "wide") (param i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $wide (i32.sub (local.get 0) (i32.const 1)))))))
)
(assert_return (invoke "wide" (i32.const 253)) (i32.const 253))
(assert_exhaustion (invoke "wide" (i32.const 254)) "call stack exhausted")
(assert_return (invoke "wide" (i32.const 3)) (i32.const 3))

;; Fuel: 5,000,000 units per invocation; entering a function costs 1, each loop iteration 1.
(module
  (func (export "spin") (param i32) (result i32)
    (local i32)
    (loop $again
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1))
)
(assert_return (invoke "spin" (i32.const 4999999)) (i32.const 4999999))
(assert_trap (invoke "spin" (i32.const 5000000)) "all fuel consumed")
;; Fuel is granted per invocation: the next call has the full amount again.
(assert_return (invoke "spin" (i32.const 4999999)) (i32.const 4999999))

;; The static buffer: 48 pages in .bss back memory 0 of the first module that defines one.
;; Growing past it is refused (-1) although the module allows more; data stays put.
(module
  (memory 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
)
(invoke "poke" (i32.const 1000) (i32.const 0x5a5a5a5a))
(assert_return (invoke "grow" (i32.const 47)) (i32.const 1))
(assert_return (invoke "size") (i32.const 48))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 48))
(assert_return (invoke "peek" (i32.const 1000)) (i32.const 0x5a5a5a5a))
(invoke "poke" (i32.const 3145724) (i32.const 7))
(assert_return (invoke "peek" (i32.const 3145724)) (i32.const 7))
(assert_trap (invoke "peek" (i32.const 3145725)) "out of bounds memory access")

;; The heap-memory budget: 160 pages for every heap-backed memory of the store together.
;; The spectest module's memory (1 page) already counts, so this one gets 159.
(module
  (memory 0)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
)
(assert_return (invoke "grow" (i32.const 159)) (i32.const 0))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 159))
(assert_return (invoke "grow" (i32.const 0)) (i32.const 159))

;; Elements per table: 262,144. A table may grow to exactly that many (the grow's reference
;; lands in the last element), one more is refused (-1) and the size stays; a table declared
;; larger is refused at instantiation, as the board would run out of heap for it.
(module
  (table $t 1 funcref)
  (func $f (result i32) (i32.const 42))
  (elem declare func $f)
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $f) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "last") (result i32) (table.size $t) (i32.const 1) (i32.sub)
    (call_indirect $t (result i32)))
)
(assert_return (invoke "grow" (i32.const 262143)) (i32.const 1))
(assert_return (invoke "last") (i32.const 42))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 262144))
(module (table 262145 funcref))
