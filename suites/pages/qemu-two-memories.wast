;; Multi-memory on a board with a static buffer per memory (suites/pages/qemu-small-static.toml:
;; 12 KiB for memory 0, 4 KiB for memory 1) and no heap-backed linear memory to spare: a heap
;; and a message buffer, each in its own buffer, neither able to reach past its own end into
;; the other. Heap-backed memory could not hold either (spectest's page has the budget), so
;; the module instantiating at all shows both are static.
;; board: qemu-small-static

(module
  (memory $heap (export "heap") 12288 (pagesize 1))
  (memory $msg (export "msg") 4000 (pagesize 1))
  (func (export "sizes") (result i32 i32) (memory.size $heap) (memory.size $msg))
  (func (export "grow_heap") (param i32) (result i32) (memory.grow $heap (local.get 0)))
  (func (export "grow_msg") (param i32) (result i32) (memory.grow $msg (local.get 0)))
  (func (export "store_msg") (param i32 i32) (i32.store8 $msg (local.get 0) (local.get 1)))
  (func (export "load_msg") (param i32) (result i32) (i32.load8_u $msg (local.get 0)))
  (func (export "load_heap") (param i32) (result i32) (i32.load8_u $heap (local.get 0)))
  (func (export "to_heap") (param i32 i32 i32)
    (memory.copy $heap $msg (local.get 0) (local.get 1) (local.get 2)))
)
(assert_return (invoke "sizes") (i32.const 12288) (i32.const 4000))
;; Each grows to its own buffer's end, and not one byte past it.
(assert_return (invoke "grow_heap" (i32.const 1)) (i32.const -1))
(assert_return (invoke "grow_msg" (i32.const 96)) (i32.const 4000))
(assert_return (invoke "grow_msg" (i32.const 1)) (i32.const -1))
(assert_return (invoke "sizes") (i32.const 12288) (i32.const 4096))
;; The message buffer's last byte, then past it: out of bounds, not the heap's first byte.
(invoke "store_msg" (i32.const 4095) (i32.const 42))
(assert_return (invoke "load_msg" (i32.const 4095)) (i32.const 42))
(assert_trap (invoke "store_msg" (i32.const 4096) (i32.const 1)) "out of bounds memory access")
(assert_return (invoke "load_heap" (i32.const 0)) (i32.const 0))
;; A copy across, to the heap's last byte; one byte further is out of bounds.
(invoke "to_heap" (i32.const 12287) (i32.const 4095) (i32.const 1))
(assert_return (invoke "load_heap" (i32.const 12287)) (i32.const 42))
(assert_trap (invoke "to_heap" (i32.const 12288) (i32.const 4095) (i32.const 1)) "out of bounds memory access")
