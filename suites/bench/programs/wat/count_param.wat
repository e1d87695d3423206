;; A counter kept in a parameter, counted down to zero and summed on the way.
(module
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32)
    (local.set $n (i32.mul (local.get $n) (i32.const 10000)))
    (block $done
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (loop $loop
        (local.set $sum (i32.add (local.get $sum) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br_if $loop (local.get $n))))
    (local.get $sum)))
