;; A table grown to the last element the heap account of the qemu-small-heap profile holds
;; (suites/heap/qemu-small-heap.toml), then by one more: -1, as the board's allocator would
;; fail. The account counts 8 bytes an element; a grow moves the elements, so it needs
;; room for the old and the new ones at once.
;; board: qemu-small-heap

(module
  (table $t 0 funcref)
  (func $f (result i32) (i32.const 42))
  (elem declare func $f)
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $f) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "last") (result i32)
    (call_indirect $t (result i32) (i32.sub (table.size $t) (i32.const 1))))
)
;; One element more than fits from empty: refused, nothing changes.
(assert_return (invoke "grow" (i32.const 19122)) (i32.const -1))
(assert_return (invoke "size") (i32.const 0))
;; Exactly what fits: less than 8 bytes of the account are left.
(assert_return (invoke "grow" (i32.const 19121)) (i32.const 0))
(assert_return (invoke "last") (i32.const 42))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 19121))
