;; An instance whose table takes the heap account of the qemu-small-heap profile
;; (suites/heap/qemu-small-heap.toml) at instantiation, from a fresh session: the most elements that fit.
;; instance-over.wast holds the same module with one element more.
;; board: qemu-small-heap

(module $m
  (table $t 19188 funcref)
  (func (export "size") (result i32) (table.size $t))
)
(assert_return (invoke $m "size") (i32.const 19188))
