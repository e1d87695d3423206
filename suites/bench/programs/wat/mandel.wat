;; f64 arithmetic: the Mandelbrot set on a 32x32 grid, at most 50 steps a point, n times.
(module
  (func (export "run") (param $n i32) (result i32)
    (local $round i32) (local $px i32) (local $py i32) (local $it i32) (local $total i32)
    (local $cr f64) (local $ci f64) (local $zr f64) (local $zi f64) (local $t f64)
    (block $done
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (loop $rounds
        (local.set $py (i32.const 0))
        (loop $rows
          (local.set $px (i32.const 0))
          (loop $cols
            (local.set $cr
              (f64.add (f64.const -2) (f64.mul (f64.convert_i32_s (local.get $px)) (f64.const 0.078125))))
            (local.set $ci
              (f64.add (f64.const -1.25) (f64.mul (f64.convert_i32_s (local.get $py)) (f64.const 0.078125))))
            (local.set $zr (f64.const 0))
            (local.set $zi (f64.const 0))
            (local.set $it (i32.const 0))
            (block $escaped
              (loop $step
                (br_if $escaped
                  (f64.gt (f64.add (f64.mul (local.get $zr) (local.get $zr))
                                   (f64.mul (local.get $zi) (local.get $zi)))
                          (f64.const 4)))
                (local.set $t
                  (f64.add (f64.sub (f64.mul (local.get $zr) (local.get $zr))
                                    (f64.mul (local.get $zi) (local.get $zi)))
                           (local.get $cr)))
                (local.set $zi
                  (f64.add (f64.mul (f64.mul (f64.const 2) (local.get $zr)) (local.get $zi))
                           (local.get $ci)))
                (local.set $zr (local.get $t))
                (local.set $it (i32.add (local.get $it) (i32.const 1)))
                (br_if $step (i32.lt_u (local.get $it) (i32.const 50)))))
            (local.set $total (i32.add (local.get $total) (local.get $it)))
            (local.set $px (i32.add (local.get $px) (i32.const 1)))
            (br_if $cols (i32.lt_u (local.get $px) (i32.const 32))))
          (local.set $py (i32.add (local.get $py) (i32.const 1)))
          (br_if $rows (i32.lt_u (local.get $py) (i32.const 32))))
        (local.set $round (i32.add (local.get $round) (i32.const 1)))
        (br_if $rounds (i32.lt_s (local.get $round) (local.get $n)))))
    (local.get $total)))
