// SPDX-License-Identifier: GPL-2.0

//! ID register decoding ([`crate::hw::idr`]) and control register values ([`crate::hw::ctrl`]).

use super::{
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    attr::Shareability,
    idr::{
        Idr,
        StallModel,
        StrtabFmt,
        TtEndian,
        Ttf, //
    },
};

/// ID registers and control register values, with the values QEMU's SMMUv3 reports.
pub(crate) fn register_values() -> Check {
    let idr = Idr::new(0x0d44_101b, 0x0273_0010, 0x1414, 0x74);
    expect("S1P, S2P, nesting", idr.s1() && idr.s2() && idr.nesting())?;
    expect("TTF", idr.ttf() == Some(Ttf::AArch64))?;
    expect("COHACC, no BTM", idr.coherent() && !idr.btm())?;
    expect(
        "no ATS, PRI, MSI, SEV",
        !idr.ats() && !idr.pri() && !idr.msi() && !idr.sev(),
    )?;
    expect_eq("ASID bits", u64::from(idr.asid_bits()), 16)?;
    expect_eq("VMID bits", u64::from(idr.vmid_bits()), 16)?;
    expect("TTENDIAN", idr.tt_endian() == Some(TtEndian::Little))?;
    expect(
        "stall model",
        idr.stall_model() == Some(StallModel::NoStall),
    )?;
    expect(
        "ST_LEVEL",
        idr.st_level() == Some(StrtabFmt::TwoLevel) && !idr.cd_2lvl(),
    )?;
    expect_eq("SIDSIZE", u64::from(idr.sid_bits()), 16)?;
    expect_eq("SSIDSIZE", u64::from(idr.ssid_bits()), 0)?;
    expect_eq("CMDQS", u64::from(idr.cmdq_log2size()), 19)?;
    expect_eq("EVENTQS", u64::from(idr.evtq_log2size()), 19)?;
    expect_eq("PRIQS", u64::from(idr.priq_log2size()), 0)?;
    expect("not embedded", !idr.embedded() && !idr.attr_types_ovr())?;
    expect("RIL, BBML2", idr.ril() && idr.bbml() == 2 && !idr.fwb())?;
    expect("OAS", idr.oas_bits() == Some(44))?;
    let g = idr.granules();
    expect(
        "granules",
        g.size_4k && g.size_16k && g.size_64k && !idr.vax_52(),
    )?;
    expect_eq(
        "page sizes",
        g.page_sizes(),
        (1 << 12) | (1 << 21) | (1 << 30) | (1 << 14) | (1 << 25) | (1 << 16) | (1 << 29),
    )?;
    // STRTAB_BASE_CFG: FMT [17:16], SPLIT [10:6], LOG2SIZE [5:0].
    expect_eq(
        "STRTAB_BASE_CFG",
        u64::from(crate::hw::ctrl::strtab_base_cfg(
            StrtabFmt::TwoLevel,
            8,
            16,
        )?),
        1 << 16 | 8 << 6 | 16,
    )?;
    expect_eq(
        "STRTAB_BASE",
        crate::hw::ctrl::strtab_base(0x4_0000, true)?,
        1 << 62 | 0x4_0000,
    )?;
    let cr0 = crate::hw::ctrl::Cr0 {
        smmu: true,
        priq: false,
        evtq: true,
        cmdq: true,
        atschk: false,
    };
    expect_eq("CR0", u64::from(cr0.value()), 0b1101)?;
    expect(
        "CR0 round trip",
        crate::hw::ctrl::Cr0::from_value(cr0.value()) == cr0,
    )?;
    // CR1: TABLE_SH [11:10], TABLE_OC [9:8], TABLE_IC [7:6], QUEUE_SH [5:4], QUEUE_OC [3:2],
    // QUEUE_IC [1:0].
    let wb = crate::hw::ctrl::WalkAttrs {
        inner: crate::hw::ctrl::Cr1Cache::WriteBack,
        outer: crate::hw::ctrl::Cr1Cache::WriteBack,
        shareability: Shareability::Inner,
    };
    expect_eq(
        "CR1",
        u64::from(crate::hw::ctrl::cr1(wb, wb)),
        3 << 10 | 1 << 8 | 1 << 6 | 3 << 4 | 1 << 2 | 1,
    )?;
    // CR2: PTM [2], RECINVSID [1], E2H [0].
    expect_eq(
        "CR2",
        u64::from(crate::hw::ctrl::cr2(false, true, true)),
        0b110,
    )?;
    // GBPA: Update [31], ABORT [20].
    expect_eq(
        "GBPA",
        u64::from(crate::hw::ctrl::gbpa_update(0x1000, true)),
        1 << 31 | 1 << 20 | 0x1000,
    )?;
    expect(
        "GBPA decode",
        crate::hw::ctrl::gbpa_updating(1 << 31) && crate::hw::ctrl::gbpa_aborts(1 << 20),
    )?;
    expect_eq(
        "GERROR active",
        u64::from(crate::hw::ctrl::gerror_active(0b1_0000_0101, 0b100)),
        0b1_0000_0001,
    )
}
