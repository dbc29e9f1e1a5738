// SPDX-License-Identifier: GPL-2.0

//! Range invalidation splitting ([`crate::hw::tlbi`]).

use super::{
    at,
    expect,
    expect_eq,
    expect_words,
    Check,
    Failure, //
};
use crate::hw::{
    cmd::{
        AddrTlbi,
        Cmd,
        TlbiAddr,
        NUM,
        SCALE,
        TG,
        TTL, //
    },
    tlbi::{
        RangeRequest,
        TlbiRange, //
    },
};

/// The coverage a list of TLB invalidation commands gives, for checking against a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Coverage {
    /// The first byte covered.
    pub(crate) start: u64,
    /// One past the last byte covered, `None` when that is 2^64.
    pub(crate) end: Option<u64>,
    /// The number of commands.
    pub(crate) commands: usize,
    /// The range was replaced by a whole-context invalidation.
    pub(crate) whole: bool,
}

/// Checks the commands of a range invalidation and returns what they cover.
///
/// The commands must be in ascending, contiguous order, use the opcode of `kind`, keep `NUM`
/// and `SCALE` in their fields, carry the `TTL` of the granule for leaf invalidations, and cover
/// exactly the requested range rounded out to the granule (to the page with range
/// invalidation), plus at most one page for a non-leaf range.
pub(crate) fn check_tlbi_range(
    kind: AddrTlbi,
    req: &RangeRequest,
    ril: bool,
) -> Result<Coverage, Failure> {
    let range = TlbiRange::new(kind, req, ril)?;
    let whole = range.is_whole();
    let planned = range.len();
    let whole_cmd = kind.whole();
    let addr_op = Cmd::tlbi_addr(
        kind,
        &TlbiAddr {
            addr: 0,
            leaf: false,
            num: 0,
            scale: 0,
            tg: 0,
            ttl: 0,
        },
    )?
    .opcode();

    let page_log2 = req.page_log2;
    let levels_up = (req.granule_log2 - page_log2) / (page_log2 - 3);
    let want_ttl = if ril && req.leaf { 3 - levels_up } else { 0 };
    let want_tg = if ril { (page_log2 - 10) / 2 } else { 0 };
    let step_log2 = if ril { page_log2 } else { req.granule_log2 };

    let mut cov = Coverage {
        start: 0,
        end: None,
        commands: 0,
        whole,
    };
    let mut next: Option<u64> = None;
    for (i, cmd) in range.enumerate() {
        cov.commands += 1;
        if whole {
            at(
                i,
                expect_words("whole invalidation", cmd.words(), whole_cmd.words()),
            )?;
            continue;
        }
        at(i, expect("address opcode", cmd.opcode() == addr_op))?;
        let w = cmd.words();
        let addr = w[1] & !0xfff;
        at(i, expect_eq("TTL", TTL.get(w), u64::from(want_ttl)))?;
        at(i, expect_eq("TG", TG.get(w), u64::from(want_tg)))?;
        at(i, expect_eq("Leaf", w[1] & 1, u64::from(req.leaf)))?;
        let pages_log2 = if ril { SCALE.get(w) } else { 0 };
        let count = if ril { NUM.get(w) + 1 } else { 1 };
        at(
            i,
            expect(
                "SCALE within 5 bits",
                SCALE.get(w) <= 31 && NUM.get(w) <= 31,
            ),
        )?;
        if !ril {
            at(
                i,
                expect_eq("no NUM/SCALE without RIL", NUM.get(w) | SCALE.get(w), 0),
            )?;
        }
        let len = count << (pages_log2 + u64::from(step_log2));
        match next {
            None => cov.start = addr,
            Some(n) => at(i, expect_eq("contiguous", addr, n))?,
        }
        next = addr.checked_add(len);
        cov.end = next;
        if next.is_none() {
            break;
        }
    }
    // CAST: Command counts are small and fit in `u64`.
    expect_eq("ExactSizeIterator", cov.commands as u64, planned as u64)?;
    if whole {
        // CAST: As above.
        return expect_eq("one whole command", cov.commands as u64, 1).map(|()| cov);
    }

    let align = (1u64 << step_log2) - 1;
    let want_start = req.iova & !align;
    let want_end = req
        .iova
        .checked_add(req.size)
        .and_then(|e| e.checked_add(align))
        .map(|e| e & !align);
    expect_eq("covered start", cov.start, want_start)?;
    match (cov.end, want_end) {
        (Some(got), Some(want)) => {
            let extra = if ril && !req.leaf {
                1u64 << page_log2
            } else {
                0
            };
            expect("covers the end", got >= want)?;
            expect_eq("no more than needed", got.min(want + extra), got)?;
        }
        (got, want) => expect("covered end", got == want)?,
    }
    Ok(cov)
}

/// Range invalidation splitting on fixed cases.
pub(crate) fn tlbi_ranges() -> Check {
    let nh = AddrTlbi::NhVa { asid: 1, vmid: 0 };
    let req = |iova, size, granule_log2, leaf| RangeRequest {
        iova,
        size,
        granule_log2,
        page_log2: 12,
        leaf,
    };
    // 35 pages (0b100011): 3 pages at SCALE 0, then 32 pages as NUM 0 at SCALE 5.
    let mut it = TlbiRange::new(nh, &req(0x10_0000, 35 << 12, 12, true), true)?;
    let c0 = it.next().unwrap_or(Cmd::tlbi_nsnh_all());
    let c1 = it.next().unwrap_or(Cmd::tlbi_nsnh_all());
    expect("two commands", it.next().is_none())?;
    expect_words(
        "range command 1",
        c0.words(),
        &[0x12 | 2 << 12 | 1 << 48, 1 | 3 << 8 | 1 << 10 | 0x10_0000],
    )?;
    expect_words(
        "range command 2",
        c1.words(),
        &[
            0x12 | 5 << 20 | 1 << 48,
            1 | 3 << 8 | 1 << 10 | (0x10_0000 + (3 << 12)),
        ],
    )?;
    // A leaf range of 2MB blocks has TTL 2.
    let c = TlbiRange::new(nh, &req(0x4000_0000, 4 << 21, 21, true), true)?
        .next()
        .unwrap_or(Cmd::tlbi_nsnh_all());
    expect_eq("TTL of 2MB blocks", TTL.get(c.words()), 2)?;
    // A non-leaf single page is widened to two pages (one block with SCALE 1), avoiding
    // NUM = SCALE = TTL = 0.
    let c = TlbiRange::new(nh, &req(0x5000, 0x1000, 12, false), true)?
        .next()
        .unwrap_or(Cmd::tlbi_nsnh_all());
    expect_words(
        "non-leaf page",
        c.words(),
        &[0x12 | 1 << 20 | 1 << 48, 1 << 10 | 0x5000],
    )?;
    // Without RIL, one command per granule.
    let n = TlbiRange::new(nh, &req(0x20_0000, 0x3000, 12, true), false)?.count();
    // CAST: The count is 3.
    expect_eq("per-granule commands", n as u64, 3)?;
    // Too many per-granule commands become one whole-ASID invalidation.
    let mut it = TlbiRange::new(nh, &req(0, 1 << 30, 12, true), false)?;
    expect("whole", it.is_whole())?;
    expect(
        "NH_ASID",
        it.next() == Some(Cmd::tlbi_nh_asid(1, 0)) && it.next().is_none(),
    )?;
    // 2^33 pages: SCALE saturates at 31 instead of being truncated, with NUM + 1 = 4 blocks.
    let c = TlbiRange::new(nh, &req(0, 1 << 45, 12, true), true)?
        .next()
        .unwrap_or(Cmd::tlbi_nsnh_all());
    expect_words(
        "saturated SCALE",
        c.words(),
        &[0x12 | 3 << 12 | 31 << 20 | 1 << 48, 1 | 3 << 8 | 1 << 10],
    )?;
    // 32 blocks of 2^31 pages is the largest range; anything larger invalidates the ASID.
    let cov = check_tlbi_range(nh, &req(0, 1 << 48, 12, true), true)?;
    expect("largest range", cov.commands == 1 && !cov.whole)?;
    let cov = check_tlbi_range(nh, &req(0, (1 << 48) + 0x1000, 12, true), true)?;
    expect("beyond the largest range", cov.whole)?;
    // Parameters the architecture does not define are refused.
    expect(
        "bad page size",
        TlbiRange::new(
            nh,
            &RangeRequest {
                page_log2: 13,
                ..req(0, 1, 13, true)
            },
            true,
        )
        .is_err(),
    )?;
    expect(
        "bad granule",
        TlbiRange::new(nh, &req(0, 1, 20, true), true).is_err(),
    )?;

    // A grid of requests against the coverage model.
    let kinds = [
        nh,
        AddrTlbi::NhVaa { vmid: 3 },
        AddrTlbi::El2Va { asid: 2 },
        AddrTlbi::S2Ipa { vmid: 4 },
    ];
    let mut case = 0;
    for kind in kinds {
        for (page_log2, granules) in [(12, [12, 21, 30]), (14, [14, 25, 36]), (16, [16, 29, 42])] {
            for granule_log2 in granules {
                for (iova, size) in [
                    (0, 1),
                    (0x1000, 0x1000),
                    (0x12_3000, 0x7_5000),
                    (0x4000_0000, 0x4000_0000),
                    (0x7fff_f000, 0x3_0001),
                    (u64::MAX - 0xfff, 0x1000),
                ] {
                    for (leaf, ril) in [(true, true), (false, true), (true, false), (false, false)]
                    {
                        let r = RangeRequest {
                            iova,
                            size,
                            granule_log2,
                            page_log2,
                            leaf,
                        };
                        let res = check_tlbi_range(kind, &r, ril);
                        let s2_too_high = matches!(kind, AddrTlbi::S2Ipa { .. }) && iova > 1 << 52;
                        match res {
                            Err(Failure {
                                check: "unexpected hw::Error",
                                ..
                            }) if s2_too_high => {}
                            other => {
                                at(case, other)?;
                            }
                        }
                        case += 1;
                    }
                }
            }
        }
    }
    Ok(())
}
