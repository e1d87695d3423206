;; Custom page sizes on a board whose static buffer is 12 KiB
;; (suites/pages/qemu-small-static.toml) and no heap-backed linear memory to spare: a memory
;; of 1-byte pages asks for exactly 12,288 bytes and gets them from the buffer; it can use
;; every byte, grow to the buffer's end and not one byte past it. A memory of one 64 KiB page
;; does not fit at all.
;; board: qemu-small-static

(module
  (memory (export "mem") 12000 (pagesize 1))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
)
(assert_return (invoke "size") (i32.const 12000))
(invoke "store" (i32.const 11999) (i32.const 7))
(assert_return (invoke "load" (i32.const 11999)) (i32.const 7))
(assert_trap (invoke "load" (i32.const 12000)) "out of bounds memory access")
;; A 4-byte load at the last 3 bytes is out of bounds: bounds are exact to the byte.
(assert_trap (invoke "load32" (i32.const 11997)) "out of bounds memory access")
;; The buffer's last 288 bytes, then no more.
(assert_return (invoke "grow" (i32.const 288)) (i32.const 12000))
(assert_return (invoke "size") (i32.const 12288))
(invoke "store" (i32.const 12287) (i32.const 9))
(assert_return (invoke "load" (i32.const 12287)) (i32.const 9))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "size") (i32.const 12288))

;; One 64 KiB page is more than the buffer, and spectest's page has taken the heap memory:
;; the module exceeds the board.
(module (memory 1))
