// SPDX-License-Identifier: GPL-2.0

//! Invalidation descriptors ([`crate::hw::qi`]) against the specification's layouts.
//!
//! Bit positions are given inside the descriptor's qwords; every descriptor type is in
//! qword 0 bits 3:0 (with bits 11:9 zero), and the granularity of most in bits 5:4.

use super::{
    at,
    expect,
    expect_words,
    Check, //
};
use crate::hw::{
    ids::{
        DomainId,
        Pasid,
        SourceId, //
    },
    qi::{
        self,
        ContextScope,
        Desc,
        DescType,
        Drain,
        IotlbScope,
        PasidCacheScope,
        ORDER_ALL, //
    },
    regs::Cap,
    Error, //
};

/// Descriptor encodings.
pub(crate) fn descriptors() -> Check {
    let did = DomainId::new(0xbeef);
    let sid = SourceId::new(0x0318);
    let pasid = Pasid::new(0xa_bcde)?;
    let w = |d: Desc| *d.words();

    // Context-cache: G [5:4] (01 global, 10 domain, 11 device), DID [31:16], SID [47:32],
    // FM [49:48].
    expect_words(
        "CC global",
        &w(Desc::context(ContextScope::Global)?),
        &[0x11, 0, 0, 0],
    )?;
    expect_words(
        "CC domain",
        &w(Desc::context(ContextScope::Domain(did))?),
        &[0x21 | 0xbeef << 16, 0, 0, 0],
    )?;
    expect_words(
        "CC device",
        &w(Desc::context(ContextScope::Device { did, sid, fm: 3 })?),
        &[0x31 | 0xbeef << 16 | 0x0318 << 32 | 3 << 48, 0, 0, 0],
    )?;
    expect(
        "CC FM 4",
        Desc::context(ContextScope::Device { did, sid, fm: 4 }) == Err(Error::Overflow),
    )?;

    // IOTLB: G [5:4], DW [6], DR [7], DID [31:16]; qword 1: AM [5:0], IH [6], ADDR [63:12].
    let drain = Drain {
        read: true,
        write: true,
    };
    expect_words(
        "IOTLB global",
        &w(Desc::iotlb(IotlbScope::Global, drain)?),
        &[0x12 | 1 << 6 | 1 << 7, 0, 0, 0],
    )?;
    expect_words(
        "IOTLB domain",
        &w(Desc::iotlb(IotlbScope::Domain(did), Drain::default())?),
        &[0x22 | 0xbeef << 16, 0, 0, 0],
    )?;
    let pages = IotlbScope::Pages {
        did,
        addr: 0x12_4000_0000,
        am: 18,
        ih: true,
    };
    expect_words(
        "IOTLB pages",
        &w(Desc::iotlb(pages, Drain::from_cap(Cap(1 << 55)))?),
        &[
            0x32 | 1 << 7 | 0xbeef << 16,
            0x12_4000_0000 | 1 << 6 | 18,
            0,
            0,
        ],
    )?;
    let misaligned = IotlbScope::Pages {
        did,
        addr: 0x12_3400_1000,
        am: 1,
        ih: false,
    };
    expect(
        "IOTLB misaligned",
        Desc::iotlb(misaligned, drain) == Err(Error::BadAddress),
    )?;
    let wide = IotlbScope::Pages {
        did,
        addr: 0,
        am: 64,
        ih: false,
    };
    expect(
        "IOTLB AM 64",
        Desc::iotlb(wide, drain) == Err(Error::Overflow),
    )?;

    // PASID-based IOTLB: G [5:4] (10 all of a PASID, 11 pages), DID [31:16], PASID [51:32].
    expect_words(
        "P_IOTLB PASID",
        &w(Desc::pasid_iotlb(did, pasid, None)?),
        &[0x26 | 0xbeef << 16 | 0xa_bcde << 32, 0, 0, 0],
    )?;
    expect_words(
        "P_IOTLB pages",
        &w(Desc::pasid_iotlb(did, pasid, Some((0x8000, 3, false)))?),
        &[0x36 | 0xbeef << 16 | 0xa_bcde << 32, 0x8000 | 3, 0, 0],
    )?;
    expect(
        "P_IOTLB misaligned",
        Desc::pasid_iotlb(did, pasid, Some((0x4000, 3, false))) == Err(Error::BadAddress),
    )?;

    // Device-TLB: PFSID[3:0] [15:12], MIP [20:16], SID [47:32], PFSID[15:4] [63:52];
    // qword 1: S [0], ADDR [63:12].
    let pf = SourceId::new(0xabcd);
    expect_words(
        "DEV_TLB page",
        &w(Desc::dev_tlb(sid, pf, 8, 0x10_0000, 0)?),
        &[
            0x3 | 0xd << 12 | 8 << 16 | 0x0318 << 32 | 0xabc << 52,
            0x10_0000,
            0,
            0,
        ],
    )?;
    // Two pages: bit 12 clear, S set. Four pages: bit 12 set, bit 13 clear.
    expect_words(
        "DEV_TLB 2 pages",
        &w(Desc::dev_tlb(sid, sid, 32, 0x10_0000, 1)?),
        &[
            0x3 | 0x8 << 12 | 0x0318 << 32 | 0x031 << 52,
            0x10_0000 | 1,
            0,
            0,
        ],
    )?;
    expect_words(
        "DEV_TLB 4 pages",
        &w(Desc::dev_tlb(sid, sid, 0, 0x10_0000, 2)?),
        &[
            0x3 | 0x8 << 12 | 0x0318 << 32 | 0x031 << 52,
            0x10_1000 | 1,
            0,
            0,
        ],
    )?;
    expect_words(
        "DEV_TLB everything",
        &w(Desc::dev_tlb(sid, sid, 0, 0, ORDER_ALL)?),
        &[
            0x3 | 0x8 << 12 | 0x0318 << 32 | 0x031 << 52,
            0x7fff_ffff_ffff_f001,
            0,
            0,
        ],
    )?;
    // An invalidate queue depth above 32 is not encodable either: 0 as well.
    expect_words(
        "DEV_TLB depth 40",
        &w(Desc::dev_tlb(sid, sid, 40, 0, 0)?),
        &[0x3 | 0x8 << 12 | 0x0318 << 32 | 0x031 << 52, 0, 0, 0],
    )?;
    expect(
        "DEV_TLB misaligned",
        Desc::dev_tlb(sid, sid, 0, 0x10_1000, 2) == Err(Error::BadAddress),
    )?;
    expect(
        "DEV_TLB order 53",
        Desc::dev_tlb(sid, sid, 0, 0, ORDER_ALL + 1) == Err(Error::Overflow),
    )?;

    // PASID-based device-TLB: MIP [8:4], PFSID[3:0] [15:12], SID [31:16], PASID [51:32],
    // PFSID[15:4] [63:52]; qword 1: G [0], S [11], ADDR [63:12].
    expect_words(
        "PASID DEV_TLB",
        &w(Desc::pasid_dev_tlb(sid, pf, pasid, 5, 0x4_0000, 3, true)?),
        &[
            0x8 | 5 << 4 | 0xd << 12 | 0x0318 << 16 | 0xa_bcde << 32 | 0xabc << 52,
            0x4_0000 | 0x3000 | 1 << 11 | 1,
            0,
            0,
        ],
    )?;

    // PASID cache: G [5:4] (00 domain, 01 PASID, 11 global), DID [31:16], PASID [51:32].
    expect_words(
        "PC domain",
        &w(Desc::pasid_cache(PasidCacheScope::Domain(did))),
        &[0x07 | 0xbeef << 16, 0, 0, 0],
    )?;
    expect_words(
        "PC PASID",
        &w(Desc::pasid_cache(PasidCacheScope::Pasid(did, pasid))),
        &[0x17 | 0xbeef << 16 | 0xa_bcde << 32, 0, 0, 0],
    )?;
    expect_words(
        "PC global",
        &w(Desc::pasid_cache(PasidCacheScope::Global)),
        &[0x37, 0, 0, 0],
    )?;

    // Interrupt entry cache: G [4] (index-selective), IM [31:27], IIDX [47:32].
    expect_words("IEC global", &w(Desc::iec(None)?), &[0x4, 0, 0, 0])?;
    expect_words(
        "IEC index",
        &w(Desc::iec(Some((0x40, 4)))?),
        &[0x4 | 1 << 4 | 4 << 27 | 0x40 << 32, 0, 0, 0],
    )?;
    expect(
        "IEC misaligned",
        Desc::iec(Some((0x41, 1))) == Err(Error::BadAddress),
    )?;
    expect(
        "IEC IM 32",
        Desc::iec(Some((0, 32))) == Err(Error::Overflow),
    )?;

    // Invalidation wait: IF [4], SW [5], FN [6], PD [7], Status Data [63:32];
    // qword 1: Status Address [63:2].
    expect_words(
        "WAIT status",
        &w(Desc::wait(Some((0x1234_5678, 2)), false, false, false)?),
        &[0x5 | 1 << 5 | 2 << 32, 0x1234_5678, 0, 0],
    )?;
    expect_words(
        "WAIT irq fence drain",
        &w(Desc::wait(None, true, true, true)?),
        &[0x5 | 1 << 4 | 1 << 6 | 1 << 7, 0, 0, 0],
    )?;
    expect(
        "WAIT misaligned",
        Desc::wait(Some((0x1002, 1)), false, false, false) == Err(Error::BadAddress),
    )?;

    // Types decode back.
    let kinds = [
        (Desc::context(ContextScope::Global)?, DescType::ContextCache),
        (Desc::iotlb(IotlbScope::Global, drain)?, DescType::Iotlb),
        (Desc::dev_tlb(sid, sid, 0, 0, 0)?, DescType::DevTlb),
        (Desc::iec(None)?, DescType::InterruptEntryCache),
        (Desc::wait(None, false, false, false)?, DescType::Wait),
        (Desc::pasid_iotlb(did, pasid, None)?, DescType::PasidIotlb),
        (
            Desc::pasid_cache(PasidCacheScope::Global),
            DescType::PasidCache,
        ),
        (
            Desc::pasid_dev_tlb(sid, sid, pasid, 0, 0, 0, false)?,
            DescType::PasidDevTlb,
        ),
    ];
    for (i, (d, k)) in kinds.iter().enumerate() {
        at(i, expect("descriptor type", d.kind() == Some(*k)))?;
    }
    Ok(())
}

/// Page-selective range arithmetic and the IOTLB invalidation chosen for a range.
pub(crate) fn ranges() -> Check {
    expect("PSI one page", qi::psi_range(0x1234, 0x1fff) == (0x1000, 0))?;
    expect(
        "PSI two pages",
        qi::psi_range(0x2000, 0x3fff) == (0x2000, 1),
    )?;
    // Crossing a 16KB boundary needs the enclosing 16KB block.
    expect("PSI straddle", qi::psi_range(0x1000, 0x2fff) == (0, 2))?;
    expect(
        "PSI 2MB",
        qi::psi_range(0x20_0000, 0x3f_ffff) == (0x20_0000, 9),
    )?;
    expect(
        "PSI everything",
        qi::psi_range(0, u64::MAX) == (0, ORDER_ALL),
    )?;
    expect(
        "PSI top half",
        qi::psi_range(1 << 63, u64::MAX) == (1 << 63, 51),
    )?;

    let did = DomainId::new(7);
    let cap = Cap(super::regs::QEMU_CAP);
    expect(
        "IOTLB scope within MAMV",
        qi::iotlb_scope(cap, did, 0, (1 << 30) - 1, false)
            == IotlbScope::Pages {
                did,
                addr: 0,
                am: 18,
                ih: false,
            },
    )?;
    expect(
        "IOTLB scope beyond MAMV",
        qi::iotlb_scope(cap, did, 0, (1 << 31) - 1, false) == IotlbScope::Domain(did),
    )?;
    expect(
        "IOTLB scope without PSI",
        qi::iotlb_scope(Cap(0), did, 0, 0xfff, true) == IotlbScope::Domain(did),
    )?;
    Ok(())
}
