// SPDX-License-Identifier: GPL-2.0

//! Range invalidation splitting against a brute-force page model.

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::hw::{
    cmd::{
        AddrTlbi,
        NUM,
        SCALE, //
    },
    selftest::tlbi::check_tlbi_range,
    tlbi::{
        RangeRequest,
        TlbiRange, //
    },
    Error,
};

/// A request of up to `max_pages` pages, invalidating entries up to `max_level` levels above
/// the page level.
fn request(max_pages: u64, max_level: u32) -> impl Strategy<Value = (RangeRequest, bool, u8)> {
    (
        prop_oneof![Just(12u32), Just(14), Just(16)],
        0u32..=max_level,
        any::<u64>(),
        1..=max_pages,
        0u64..4096,
        any::<bool>(),
        any::<bool>(),
        0u8..4,
    )
        .prop_map(|(page_log2, level, base, pages, slack, leaf, ril, kind)| {
            let granule_log2 = page_log2 + level * (page_log2 - 3);
            // Keep most ranges inside 52 bits so that stage 2 requests are valid too.
            let iova = (base >> 12) & ((1 << 50) - 1) | slack;
            let size = (pages << page_log2).saturating_sub(slack).max(1);
            (
                RangeRequest {
                    iova,
                    size,
                    granule_log2,
                    page_log2,
                    leaf,
                },
                ril,
                kind,
            )
        })
}

/// The invalidation kinds.
fn kind(k: u8) -> AddrTlbi {
    match k {
        0 => AddrTlbi::NhVa { asid: 7, vmid: 1 },
        1 => AddrTlbi::NhVaa { vmid: 1 },
        2 => AddrTlbi::El2Va { asid: 7 },
        _ => AddrTlbi::S2Ipa { vmid: 1 },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every request is covered exactly, per the structural model of `check_tlbi_range()`.
    #[test]
    fn coverage((req, ril, k) in request(1 << 24, 2)) {
        match check_tlbi_range(kind(k), &req, ril) {
            Ok(cov) => {
                if ril && !cov.whole {
                    // At most one command per 5-bit group of the page count, plus the extra
                    // page of a non-leaf range.
                    prop_assert!(cov.commands <= 14, "{} commands", cov.commands);
                }
            }
            Err(f) => prop_assert!(false, "{}", f),
        }
    }

    /// For small ranges, the set of pages covered is checked page by page.
    #[test]
    fn brute_force_pages((req, ril, k) in request(300, 1)) {
        let range = TlbiRange::new(kind(k), &req, ril).unwrap();
        prop_assume!(!range.is_whole());
        let page = 1u64 << req.page_log2;
        let mut covered = BTreeSet::new();
        for cmd in range {
            let w = cmd.words();
            let addr = w[1] & !0xfff;
            let bytes = if ril {
                (NUM.get(w) + 1) << (SCALE.get(w) + u64::from(req.page_log2))
            } else {
                1 << req.granule_log2
            };
            let mut a = addr;
            while a < addr + bytes {
                prop_assert!(covered.insert(a / page), "page {:#x} twice", a);
                a += page;
            }
        }
        let first = req.iova / page;
        let last = (req.iova + req.size - 1) / page;
        for p in first..=last {
            prop_assert!(covered.contains(&p), "page {:#x} not covered", p * page);
        }
        // Beyond the request, only rounding to the granule and the extra non-leaf page.
        let unit = if ril { page } else { 1 << req.granule_log2 };
        let lo = req.iova / unit * unit / page;
        let hi = (req.iova + req.size).div_ceil(unit) * unit / page;
        let extra = u64::from(ril && !req.leaf);
        for p in &covered {
            prop_assert!(*p >= lo && *p < hi + extra, "page {:#x} is too much", p * page);
        }
    }

    /// Stage 2 ranges beyond 52 bits are refused rather than truncated.
    #[test]
    fn s2_beyond_52_bits(iova in (1u64 << 52)..u64::MAX - (1 << 20)) {
        let req = RangeRequest {
            iova,
            size: 0x1000,
            granule_log2: 12,
            page_log2: 12,
            leaf: true,
        };
        prop_assert_eq!(
            TlbiRange::new(AddrTlbi::S2Ipa { vmid: 0 }, &req, true).err(),
            Some(Error::BadAddress)
        );
    }
}
