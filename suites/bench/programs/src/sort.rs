//! Quicksort with an insertion-sort finish on LCG-filled `u32`s: data-dependent branches.

/// Elements sorted per round: 4096 `u32`s, 16 KiB.
pub const LEN: usize = 4096;

/// Partitions this short or shorter are finished by insertion sort.
const SMALL: usize = 16;

/// The kernel's working arrays (the 16 KiB of elements), owned by the caller: boxed natively, a
/// `.bss` static in the wasm build.
pub struct Workspace {
    data: [u32; LEN],
}

impl Workspace {
    /// Zeroed arrays; `const`, so the wasm build can place them in a static.
    pub const fn new() -> Self {
        Workspace { data: [0; LEN] }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` rounds of fill-then-sort with a fresh seed each; the checksum hashes a sample of
/// each sorted array. An unsorted result returns -1.
pub fn run(ws: &mut Workspace, n: i32) -> i32 {
    let mut checksum = 0u32;
    for round in 0..n.max(0) as u32 {
        let mut rng = crate::lcg::Lcg::new(0x0050_27ed ^ round.wrapping_mul(0x9e37_79b9));
        for x in ws.data.iter_mut() {
            // A narrow range, so there are duplicates to handle.
            *x = rng.below(LEN as u32 * 4);
        }
        quicksort(&mut ws.data);
        if ws.data.windows(2).any(|w| w[0] > w[1]) {
            return -1;
        }
        for x in ws.data.iter().step_by(7) {
            checksum = checksum.wrapping_mul(31).wrapping_add(*x);
        }
    }
    checksum as i32
}

/// Sorts in place: Lomuto partition around a median of three; recursion on the smaller
/// side, a loop on the larger, so the depth stays logarithmic.
fn quicksort(mut v: &mut [u32]) {
    while v.len() > SMALL {
        let pivot_index = partition(v);
        let (left, right) = v.split_at_mut(pivot_index);
        let right = &mut right[1..];
        if left.len() < right.len() {
            quicksort(left);
            v = right;
        } else {
            quicksort(right);
            v = left;
        }
    }
    insertion_sort(v);
}

/// Moves the median of the first, middle and last elements to the end and partitions
/// around it; returns the pivot's final index.
fn partition(v: &mut [u32]) -> usize {
    let last = v.len() - 1;
    let mid = v.len() / 2;
    if v[mid] < v[0] {
        v.swap(mid, 0);
    }
    if v[last] < v[0] {
        v.swap(last, 0);
    }
    if v[mid] < v[last] {
        v.swap(mid, last);
    }
    let pivot = v[last];
    let mut store = 0;
    for i in 0..last {
        if v[i] < pivot {
            v.swap(i, store);
            store += 1;
        }
    }
    v.swap(store, last);
    store
}

fn insertion_sort(v: &mut [u32]) {
    for i in 1..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorts() {
        let mut rng = crate::lcg::Lcg::new(7);
        for len in [0usize, 1, 2, 3, 15, 16, 17, 100, 1000] {
            let mut v: std::vec::Vec<u32> = (0..len).map(|_| rng.below(50)).collect();
            let mut expected = v.clone();
            expected.sort_unstable();
            super::quicksort(&mut v);
            assert_eq!(v, expected, "len {len}");
        }
    }
}
