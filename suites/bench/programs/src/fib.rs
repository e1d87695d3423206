//! Recursive Fibonacci: call overhead and little else.

/// `fib(n)` with wrapping sums; `n` is the recursion depth.
pub fn run(n: i32) -> i32 {
    fib(n.max(0) as u32) as i32
}

/// Not inlined, so every level stays a real wasm call.
#[inline(never)]
fn fib(n: u32) -> u32 {
    if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::run(0), 0);
        assert_eq!(super::run(1), 1);
        assert_eq!(super::run(20), 6765);
        assert_eq!(super::run(30), 832_040);
    }
}
