;; Small compute workloads with checksums computed independently of Tandem:
;; recursion, a sieve over linear memory, a table-driven CRC-32, an insertion
;; sort and two f64 accumulations.
(module
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
)
(assert_return (invoke "fib" (i32.const 25)) (i32.const 75025))

(module
  (memory 2)
  (func (export "sieve") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $count i32)
    (memory.fill (i32.const 0) (i32.const 1) (local.get $n))
    (i32.store8 (i32.const 0) (i32.const 0))
    (i32.store8 (i32.const 1) (i32.const 0))
    (local.set $i (i32.const 2))
    (block $done (loop $outer
      (br_if $done (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
      (if (i32.load8_u (local.get $i))
        (then
          (local.set $j (i32.mul (local.get $i) (local.get $i)))
          (block $jd (loop $jl
            (br_if $jd (i32.ge_u (local.get $j) (local.get $n)))
            (i32.store8 (local.get $j) (i32.const 0))
            (local.set $j (i32.add (local.get $j) (local.get $i)))
            (br $jl)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer)))
    (local.set $i (i32.const 0))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $count (i32.add (local.get $count) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $cl)))
    (local.get $count))
)
(assert_return (invoke "sieve" (i32.const 100000)) (i32.const 9592))

(module
  (memory 1)
  (func $table (local $n i32) (local $c i32) (local $k i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $n) (i32.const 256)))
      (local.set $c (local.get $n))
      (local.set $k (i32.const 0))
      (block $kd (loop $kl
        (br_if $kd (i32.ge_u (local.get $k) (i32.const 8)))
        (local.set $c
          (if (result i32) (i32.and (local.get $c) (i32.const 1))
            (then (i32.xor (i32.const 0xEDB88320) (i32.shr_u (local.get $c) (i32.const 1))))
            (else (i32.shr_u (local.get $c) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl)))
      (i32.store (i32.shl (local.get $n) (i32.const 2)) (local.get $c))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l))))
  (func $data (param $len i32) (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (i32.add (i32.const 1024) (local.get $i))
        (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func (export "crc32") (param $len i32) (result i32) (local $c i32) (local $i i32)
    (call $table)
    (call $data (local.get $len))
    (local.set $c (i32.const -1))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $c
        (i32.xor
          (i32.load (i32.shl
            (i32.and (i32.xor (local.get $c) (i32.load8_u (i32.add (i32.const 1024) (local.get $i))))
                     (i32.const 255))
            (i32.const 2)))
          (i32.shr_u (local.get $c) (i32.const 8))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.xor (local.get $c) (i32.const -1)))
)
(assert_return (invoke "crc32" (i32.const 4096)) (i32.const 1582176661))

(module
  (memory 1)
  (func (export "sort") (param $n i32) (result i32)
    (local $x i32) (local $i i32) (local $j i32) (local $v i32) (local $sum i32)
    (local.set $x (i32.const 12345))
    (block $gen_done (loop $gen
      (br_if $gen_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (i32.shr_u (local.get $x) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $gen)))
    (local.set $i (i32.const 1))
    (block $sort_done (loop $sort
      (br_if $sort_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $v (i32.load (i32.shl (local.get $i) (i32.const 2))))
      (local.set $j (local.get $i))
      (block $shift_done (loop $shift
        (br_if $shift_done (i32.eqz (local.get $j)))
        (br_if $shift_done
          (i32.le_u (i32.load (i32.shl (i32.sub (local.get $j) (i32.const 1)) (i32.const 2))) (local.get $v)))
        (i32.store (i32.shl (local.get $j) (i32.const 2))
          (i32.load (i32.shl (i32.sub (local.get $j) (i32.const 1)) (i32.const 2))))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $shift)))
      (i32.store (i32.shl (local.get $j) (i32.const 2)) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sort)))
    (local.set $i (i32.const 0))
    (block $sum_done (loop $sum_loop
      (br_if $sum_done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (i32.add (local.get $sum)
        (i32.mul (i32.add (local.get $i) (i32.const 1)) (i32.load (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sum_loop)))
    (local.get $sum))
)
(assert_return (invoke "sort" (i32.const 1000)) (i32.const 298497660))

(module
  (func (export "sqrt_sum") (param $n i32) (result f64) (local $i i32) (local $s f64)
    (local.set $i (i32.const 1))
    (block $d (loop $l
      (br_if $d (i32.gt_u (local.get $i) (local.get $n)))
      (local.set $s (f64.add (local.get $s) (f64.sqrt (f64.convert_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $s))
  (func (export "recurrence") (param $n i32) (result f64) (local $i i32) (local $x f64) (local $s f64)
    (local.set $x (f64.const 1))
    (local.set $i (i32.const 1))
    (block $d (loop $l
      (br_if $d (i32.gt_u (local.get $i) (local.get $n)))
      (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 1.0001))
                             (f64.div (f64.const 0.5) (f64.convert_i32_u (local.get $i)))))
      (local.set $s (f64.add (local.get $s) (local.get $x)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $s))
)
(assert_return (invoke "sqrt_sum" (i32.const 1000)) (f64.const 21097.455887480734))
(assert_return (invoke "recurrence" (i32.const 10000)) (f64.const 90452.38384437397))
