;; Iterative Fibonacci in i64: two locals stepped through a third, wrapping.
(module
  (func (export "run") (param $n i32) (result i32)
    (local $a i64) (local $b i64) (local $t i64) (local $k i32)
    (local.set $b (i64.const 1))
    (local.set $k (i32.mul (local.get $n) (i32.const 10000)))
    (block $done
      (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
      (loop $loop
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (br_if $loop (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
    (i32.wrap_i64 (i64.xor (local.get $a) (i64.shr_u (local.get $a) (i64.const 32))))))
