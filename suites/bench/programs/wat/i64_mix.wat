;; i64 arithmetic: xorshift64* steps (shifts, xors, a multiply) summed.
(module
  (func (export "run") (param $n i32) (result i32)
    (local $x i64) (local $acc i64) (local $k i32)
    (local.set $x (i64.const 0x9e3779b97f4a7c15))
    (local.set $k (i32.mul (local.get $n) (i32.const 10000)))
    (block $done
      (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
      (loop $loop
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 12))))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 25))))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 27))))
        (local.set $acc
          (i64.add (local.get $acc) (i64.mul (local.get $x) (i64.const 0x2545f4914f6cdd1d))))
        (br_if $loop (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
    (i32.wrap_i64 (i64.xor (local.get $acc) (i64.shr_u (local.get $acc) (i64.const 32))))))
