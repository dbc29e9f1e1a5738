// SPDX-License-Identifier: GPL-2.0

//! Queue index arithmetic against a model that counts entries without wrapping.

use proptest::prelude::*;

use crate::hw::prodcons::{
    Queue,
    OVERFLOW_FLAG, //
};

/// The register value of an unbounded entry count: index and wrap bit, modulo twice the size.
fn encode(q: Queue, count: u64) -> u32 {
    let mask = (2u64 << q.log2size()) - 1;
    u32::try_from(count & mask).unwrap()
}

proptest! {
    #[test]
    fn matches_counting_model(
        log2size in 0u32..=19,
        cons in 0u64..(1 << 40),
        used_frac in 0.0f64..=1.0,
        n in 0u32..(1 << 20),
        ovf in any::<bool>(),
    ) {
        let q = Queue::new(log2size).unwrap();
        let entries = u64::from(q.entries());
        // CAST: The product is at most `entries`.
        let used = ((entries as f64) * used_frac) as u64;
        let prod = cons + used.min(entries);
        let used = prod - cons;
        let (p, c) = (encode(q, prod), encode(q, cons));

        prop_assert_eq!(u64::from(q.used(p, c)), used);
        prop_assert_eq!(u64::from(q.space(p, c)), entries - used);
        prop_assert_eq!(q.is_empty(p, c), used == 0);
        prop_assert_eq!(q.is_full(p, c), used == entries);
        prop_assert_eq!(q.has_space(p, c, n), entries - used >= u64::from(n));
        prop_assert_eq!(q.index(p), u32::try_from(prod % entries).unwrap());
        prop_assert_eq!(q.wrap(p), (prod / entries) % 2 == 1);

        // Advancing keeps the overflow flag and matches the model count.
        let flag = if ovf { OVERFLOW_FLAG } else { 0 };
        prop_assert_eq!(q.advance(p | flag, n), encode(q, prod + u64::from(n)) | flag);

        // The entry `k` places before `prod` has been consumed when `cons` has passed it.
        if used > 0 {
            for k in [cons, prod - 1] {
                prop_assert_eq!(q.consumed(c, encode(q, k)), k < cons);
            }
        }
        prop_assert!(q.consumed(encode(q, cons + 1), c));
    }
}
