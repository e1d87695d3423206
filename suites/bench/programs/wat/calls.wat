;; A loop calling a small function: the cost of a call and its return.
(module
  (func $step (param $acc i32) (param $i i32) (result i32)
    (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
  (func (export "run") (param $n i32) (result i32)
    (local $acc i32) (local $i i32) (local $end i32)
    (local.set $end (i32.mul (local.get $n) (i32.const 10000)))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (loop $loop
        (local.set $acc (call $step (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $loop (i32.lt_u (local.get $i) (local.get $end)))))
    (local.get $acc)))
