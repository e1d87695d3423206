;; A br_table state machine: four states driven by a pseudo-random stream of eight inputs.
(module
  (func (export "run") (param $n i32) (result i32)
    (local $x i32) (local $c i32) (local $state i32) (local $acc i32) (local $k i32)
    (local.set $x (i32.const 12345))
    (local.set $k (i32.mul (local.get $n) (i32.const 10000)))
    (block $done
      (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
      (loop $loop
        (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
        (local.set $c (i32.and (i32.shr_u (local.get $x) (i32.const 16)) (i32.const 7)))
        (block $next
          (block $s3
            (block $s2
              (block $s1
                (block $s0
                  (br_table $s0 $s1 $s2 $s3 (local.get $state)))
                (local.set $acc (i32.add (local.get $acc) (local.get $c)))
                (local.set $state (i32.and (local.get $c) (i32.const 3)))
                (br $next))
              (local.set $acc (i32.xor (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
              (local.set $state (i32.and (i32.add (local.get $c) (i32.const 1)) (i32.const 3)))
              (br $next))
            (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3)) (local.get $c)))
            (local.set $state (i32.shr_u (local.get $c) (i32.const 1)))
            (br $next))
          (local.set $acc (i32.sub (local.get $acc) (local.get $c)))
          (local.set $state (i32.and (i32.xor (local.get $c) (i32.const 1)) (i32.const 3))))
        (br_if $loop (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
    (local.get $acc)))
