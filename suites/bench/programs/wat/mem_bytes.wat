;; Byte loads and stores in a loop: 8 KiB copied reversed and xored into a second buffer.
(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $round i32) (local $sum i32)
    (loop $init
      (i32.store8 (local.get $i) (i32.mul (local.get $i) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $init (i32.lt_u (local.get $i) (i32.const 8192))))
    (block $done
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (loop $rounds
        (local.set $i (i32.const 0))
        (loop $copy
          (i32.store8 offset=8192 (local.get $i)
            (i32.xor (i32.load8_u (i32.sub (i32.const 8191) (local.get $i))) (local.get $round)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $copy (i32.lt_u (local.get $i) (i32.const 8192))))
        (local.set $sum
          (i32.add (i32.rotl (local.get $sum) (i32.const 5))
            (i32.load offset=8192 (i32.and (i32.mul (local.get $round) (i32.const 4)) (i32.const 8188)))))
        (local.set $round (i32.add (local.get $round) (i32.const 1)))
        (br_if $rounds (i32.lt_s (local.get $round) (local.get $n)))))
    (local.get $sum)))
