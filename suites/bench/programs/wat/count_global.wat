;; A counter kept in a global: global.get, add, global.set, compare, branch.
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (local $end i32)
    (local.set $end (i32.mul (local.get $n) (i32.const 10000)))
    (global.set $count (i32.const 0))
    (loop $loop
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (br_if $loop (i32.lt_u (global.get $count) (local.get $end))))
    (global.get $count)))
