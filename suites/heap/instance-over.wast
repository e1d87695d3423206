;; An instance whose table takes the heap account of the qemu-small-heap profile
;; (suites/heap/qemu-small-heap.toml) at instantiation, from a fresh session: one element more than fits, refused
;; at instantiation with the reason. instance.wast holds the same module with one fewer.
;; board: qemu-small-heap

(module $m
  (table $t 19189 funcref)
  (func (export "size") (result i32) (table.size $t))
)
(assert_return (invoke $m "size") (i32.const 19189))
