// SPDX-License-Identifier: GPL-2.0

//! DMAR parsing on every truncation and byte corruption of a well-formed table and on random
//! bytes: it never panics, always terminates, and refuses exactly the malformed tables.

use proptest::prelude::*;
use std::{
    format,
    vec::Vec, //
};

use crate::hw::{
    dmar::{
        Dmar,
        DmarError,
        UnitMatch, //
    },
    selftest::dmar::{
        sample,
        units_sample,
        SAMPLE_BOUNDARIES, //
    },
};

/// Walks every structure and scope, returning the first error and the number of items seen.
fn walk(table: &[u8]) -> Result<usize, DmarError> {
    let dmar = Dmar::new(table)?;
    let mut n = 0;
    for s in dmar.structures() {
        n += 1;
        if let Some(scopes) = s?.scopes() {
            for sc in scopes {
                n += 1;
                let sc = sc?;
                n += sc.path.iter().count();
            }
        }
    }
    Ok(n)
}

/// Returns `table` with its header length set to its own length.
fn with_length(table: &[u8]) -> Vec<u8> {
    let mut v = table.to_vec();
    if v.len() >= 8 {
        let len = u32::try_from(v.len()).unwrap().to_le_bytes();
        v[4..8].copy_from_slice(&len);
    }
    v
}

#[test]
fn every_truncation() {
    let mut t = sample();
    let good = t.finish().to_vec();
    assert_eq!(good.len(), *SAMPLE_BOUNDARIES.last().unwrap());
    for cut in 0..good.len() {
        // Cut without fixing the header: the table is shorter than it says.
        assert!(Dmar::parse(&good[..cut]).is_err(), "cut at {cut} parsed");
        // Cut and fixed: well formed exactly at structure boundaries.
        let fixed = with_length(&good[..cut]);
        let r = Dmar::parse(&fixed);
        let boundary = SAMPLE_BOUNDARIES.contains(&cut);
        assert_eq!(r.is_ok(), boundary, "cut at {cut}: {:?}", r.err());
        assert_eq!(walk(&fixed).is_ok(), boundary, "walk cut at {cut}");
        if let Err(e) = r {
            // The error names a byte inside the table.
            assert!(e.offset < cut.max(1), "cut at {cut}: offset {}", e.offset);
        }
    }
    assert!(Dmar::parse(&good).is_ok());
}

#[test]
fn every_byte_corruption() {
    let mut t = sample();
    let good = t.finish().to_vec();
    for i in 0..good.len() {
        for v in [
            0u8,
            1,
            2,
            3,
            5,
            6,
            7,
            0x7f,
            0x80,
            0xfe,
            0xff,
            good[i] ^ 0x10,
        ] {
            let mut bad = good.clone();
            bad[i] = v;
            // Must not panic; `parse` and a full walk agree.
            let parsed = Dmar::parse(&bad);
            let walked = walk(&bad);
            if parsed.is_ok() {
                assert!(walked.is_ok(), "byte {i} = {v:#x}: walk {walked:?}");
            }
            if let Err(e) = walked {
                assert_eq!(parsed.err(), Some(e), "byte {i} = {v:#x}");
            }
        }
    }
}

/// Devices whose unit [`units_check`] asks for: those of `units_sample`'s scopes and some
/// that none names, on its segments and another.
const DEVICES: [(u16, &[(u8, u8, u8)]); 9] = [
    (0, &[(0, 4, 0)]),
    (0, &[(0, 0x1c, 0), (1, 0, 0), (2, 3, 1)]),
    (0, &[(0, 0x1d, 0), (5, 0, 0)]),
    (0, &[(0, 0x1e, 0), (7, 3, 0)]),
    (0, &[(0, 2, 0)]),
    (0, &[(0, 3, 0)]),
    (1, &[(0, 4, 0)]),
    (1, &[(0, 5, 0)]),
    (2, &[(0, 4, 0)]),
];

/// Asks `table`, validated or not, for the unit of every device of [`DEVICES`]: it must not
/// panic, and an answer must be a DRHD of the table on the device's segment, one without
/// `INCLUDE_PCI_ALL` for a scope match and one with it otherwise.
fn units_check(table: &[u8]) {
    let Ok(dmar) = Dmar::new(table) else {
        return;
    };
    let count = dmar.drhds().count();
    for (segment, hops) in DEVICES {
        if let Some((i, d, m)) = dmar.drhd_for(segment, hops) {
            assert!(i < count, "unit {i} of {count}");
            assert_eq!(d.segment, segment);
            assert_eq!(d.include_all, m == UnitMatch::IncludeAll, "{m:?}");
        }
    }
}

#[test]
fn units_on_every_truncation_and_corruption() {
    let mut t = units_sample();
    let good = t.finish().to_vec();
    assert!(Dmar::parse(&good).is_ok());
    units_check(&good);
    for cut in 0..good.len() {
        units_check(&with_length(&good[..cut]));
    }
    for i in 0..good.len() {
        for v in [0u8, 1, 2, 3, 6, 8, 0x1c, 0x7f, 0xff, good[i] ^ 0x10] {
            let mut bad = good.clone();
            bad[i] = v;
            units_check(&bad);
            units_check(&with_length(&bad));
        }
    }
}

#[test]
fn error_messages() {
    let e = Dmar::parse(b"DMAR").unwrap_err();
    assert_eq!(
        format!("{e}"),
        "table shorter than its header says at offset 0x0"
    );
}

/// A DMAR header of `len` bytes followed by `body`.
fn table_of(body: &[u8], extra_len: u32) -> Vec<u8> {
    let mut t = crate::hw::selftest::dmar::Table::new(47, 0);
    t.put(body);
    let mut v = t.finish().to_vec();
    let len = u32::try_from(v.len())
        .unwrap()
        .saturating_add(extra_len % 8);
    v[4..8].copy_from_slice(&len.to_le_bytes());
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bodies(body in proptest::collection::vec(any::<u8>(), 0..300), extra in 0u32..16) {
        let t = table_of(&body, extra);
        let parsed = Dmar::parse(&t);
        let walked = walk(&t);
        if parsed.is_ok() {
            prop_assert!(walked.is_ok());
        }
        // Each structure is at least 4 bytes and each scope at least 6, so the walk is short.
        if let Ok(n) = walked {
            prop_assert!(n <= t.len());
        }
    }

    #[test]
    fn random_structures(
        items in proptest::collection::vec(
            (0u16..10, 0u16..40, proptest::collection::vec(any::<u8>(), 0..40)),
            0..8,
        ),
    ) {
        // Structures with small types and lengths, so that the parser gets past the headers.
        let mut body = Vec::new();
        for (kind, len, bytes) in &items {
            body.extend_from_slice(&kind.to_le_bytes());
            body.extend_from_slice(&len.to_le_bytes());
            body.extend_from_slice(bytes);
        }
        let t = table_of(&body, 0);
        let _ = Dmar::parse(&t);
        let _ = walk(&t);
        units_check(&t);
    }
}
