;; A counter kept in a local: the tightest loop there is (add, compare, branch).
(module
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.mul (local.get $n) (i32.const 10000)))
    (loop $loop
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $loop (i32.lt_u (local.get $i) (local.get $end))))
    (local.get $i)))
