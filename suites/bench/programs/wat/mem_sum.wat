;; Word loads in a loop: 16 KiB of i32s written once, then summed n times.
(module
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i32)
    (local $p i32) (local $sum i32) (local $round i32)
    (loop $fill
      (i32.store (local.get $p) (i32.mul (local.get $p) (i32.const 0x9e3779b1)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $p) (i32.const 16384))))
    (block $done
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (loop $rounds
        (local.set $p (i32.const 0))
        (loop $sum
          (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br_if $sum (i32.lt_u (local.get $p) (i32.const 16384))))
        (local.set $sum (i32.rotl (local.get $sum) (i32.const 1)))
        (local.set $round (i32.add (local.get $round) (i32.const 1)))
        (br_if $rounds (i32.lt_s (local.get $round) (local.get $n)))))
    (local.get $sum)))
