;; A heap-backed linear memory under the heap account of the qemu-small-heap profile
;; (suites/heap/qemu-small-heap.toml), which bites before the heap-memory budget (3 pages):
;; a table first takes all but one page of the account and fewer than 8 bytes, so the
;; memory grows by one page and not by two, and not again, since a grow moves the memory
;; and needs room for the old and the new copy at once.
;; board: qemu-small-heap

;; The first memory takes the static buffer; the next one is on the heap.
(module (memory 1))
(module $pad
  (table $t 0 funcref)
  (func (export "pad") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
)
(module $mem
  (memory 0)
  (table $t 0 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    (table.grow $t (ref.null func) (local.get 0)))
)
(assert_return (invoke $pad "pad" (i32.const 10834)) (i32.const 0))
(assert_return (invoke $mem "grow" (i32.const 2)) (i32.const -1))
(assert_return (invoke $mem "size") (i32.const 0))
(assert_return (invoke $mem "grow" (i32.const 1)) (i32.const 0))
(invoke $mem "poke" (i32.const 65532) (i32.const 0x5a5a5a5a))
(assert_return (invoke $mem "peek" (i32.const 65532)) (i32.const 0x5a5a5a5a))
(assert_return (invoke $mem "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke $mem "size") (i32.const 1))
;; Fewer than 8 bytes are left: not one table element more.
(assert_return (invoke $mem "grow_table" (i32.const 1)) (i32.const -1))
