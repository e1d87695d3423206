//! A template app: prints its arguments and a number.
#![cfg_attr(target_family = "wasm", no_main)]
tandem_apps::main!(run, bench);

fn run() -> i32 {
    let mut out = tandem_apps::Out::new();
    out.str("hello from tandem-apps: ").u64(bench(3) as u64).nl();
    0
}

fn bench(n: u32) -> u32 {
    (0..n).fold(0, |acc, i| acc ^ tandem_apps::fnv1a(&i.to_le_bytes()))
}
