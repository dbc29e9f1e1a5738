// SPDX-License-Identifier: GPL-2.0

//! Register decoding ([`crate::hw::regs`]) against the specification's register layouts.

use super::{
    at,
    expect,
    expect_eq,
    Check, //
};
use crate::hw::{
    regs::{
        self,
        global,
        Agaw,
        Cap,
        Ecap,
        Fsts,
        Iqer,
        Ttm, //
    },
    Error, //
};

/// `CAP_REG` of QEMU 10.0.2's `intel-iommu` with its defaults.
pub(crate) const QEMU_CAP: u64 = 0x00d2_008c_222f_0606;
/// `ECAP_REG` of QEMU 10.0.2's `intel-iommu` with its defaults.
pub(crate) const QEMU_ECAP: u64 = 0x00f0_0f4a;

/// A single-bit capability accessor and the bit the specification puts it at.
type BitCheck<T> = (&'static str, u32, fn(T) -> bool);

/// Checks that each accessor is set by its own bit and by no other.
fn single_bits<T: Copy>(table: &[BitCheck<T>], make: fn(u64) -> T) -> Check {
    for (i, &(name, bit, f)) in table.iter().enumerate() {
        for b in 0..64 {
            at(i, expect(name, f(make(1 << b)) == (b == bit)))?;
        }
    }
    Ok(())
}

/// `CAP_REG` fields.
pub(crate) fn cap_decoding() -> Check {
    let bits: &[BitCheck<Cap>] = &[
        ("CAP.AFL [3]", 3, Cap::afl),
        ("CAP.RWBF [4]", 4, Cap::rwbf),
        ("CAP.PLMR [5]", 5, Cap::plmr),
        ("CAP.PHMR [6]", 6, Cap::phmr),
        ("CAP.CM [7]", 7, Cap::caching_mode),
        ("CAP.ZLR [22]", 22, Cap::zlr),
        ("CAP.SLLPS 2MB [34]", 34, Cap::ss_2m),
        ("CAP.SLLPS 1GB [35]", 35, Cap::ss_1g),
        ("CAP.PSI [39]", 39, Cap::psi),
        ("CAP.DWD [54]", 54, Cap::write_drain),
        ("CAP.DRD [55]", 55, Cap::read_drain),
        ("CAP.FS1GP [56]", 56, Cap::fs_1g),
        ("CAP.PI [59]", 59, Cap::posted_interrupts),
        ("CAP.FS5LP [60]", 60, Cap::fs_5level),
        ("CAP.ECMDS [61]", 61, Cap::ecmds),
        ("CAP.ESIRTPS [62]", 62, Cap::esirtps),
        ("CAP.ESRTPS [63]", 63, Cap::esrtps),
    ];
    single_bits(bits, Cap)?;

    // ND [2:0]: 2^(4 + 2 * ND) domains, 7 reserved.
    expect_eq("CAP.ND 0", Cap(0).domains().unwrap_or(0).into(), 16)?;
    expect_eq("CAP.ND 6", Cap(6).domains().unwrap_or(0).into(), 65536)?;
    expect("CAP.ND 7", Cap(7).domains().is_none())?;
    // SAGAW [12:8], MGAW [21:16] (width - 1), FRO [33:24] (in 16 bytes), NFR [47:40]
    // (count - 1), MAMV [53:48].
    expect_eq("CAP.SAGAW", Cap(0x1f << 8).sagaw().into(), 0x1f)?;
    expect_eq(
        "CAP.SAGAW edge",
        Cap(1 << 13 | 1 << 12 | 1 << 7).sagaw().into(),
        0x10,
    )?;
    expect_eq("CAP.MGAW", Cap(0x3f << 16).mgaw().into(), 64)?;
    expect_eq("CAP.MGAW edge", Cap(1 << 15 | 1 << 22).mgaw().into(), 1)?;
    expect_eq(
        "CAP.FRO",
        Cap(0x3ff << 24).fault_reg_offset() as u64,
        0x3ff0,
    )?;
    expect_eq(
        "CAP.FRO edge",
        Cap(1 << 23 | 1 << 34).fault_reg_offset() as u64,
        0,
    )?;
    expect_eq("CAP.NFR", Cap(0xff << 40).num_fault_regs() as u64, 256)?;
    expect_eq(
        "CAP.NFR edge",
        Cap(1 << 39 | 1 << 48).num_fault_regs() as u64,
        1,
    )?;
    expect_eq("CAP.MAMV", Cap(0x3f << 48).mamv().into(), 63)?;
    expect_eq("CAP.MAMV edge", Cap(1 << 47 | 1 << 54).mamv().into(), 0)?;

    // QEMU 10.0.2: ND=6, SAGAW=39+48 bits, MGAW=48, FRO=0x22, SLLPS=2MB+1GB, PSI, NFR=1,
    // MAMV=18, DWD, DRD.
    let q = Cap(QEMU_CAP);
    expect_eq("QEMU CAP domains", q.domains().unwrap_or(0).into(), 65536)?;
    expect_eq("QEMU CAP SAGAW", q.sagaw().into(), 0b00110)?;
    expect("QEMU CAP 39 bits", q.supports_agaw(Agaw::Bits39))?;
    expect("QEMU CAP 48 bits", q.supports_agaw(Agaw::Bits48))?;
    expect("QEMU CAP no 57 bits", !q.supports_agaw(Agaw::Bits57))?;
    expect_eq("QEMU CAP MGAW", q.mgaw().into(), 48)?;
    expect_eq("QEMU CAP FRO", q.fault_reg_offset() as u64, 0x220)?;
    expect_eq("QEMU CAP NFR", q.num_fault_regs() as u64, 1)?;
    expect_eq(
        "QEMU CAP FRCD 0",
        q.frcd_offset(0).unwrap_or(0) as u64,
        0x220,
    )?;
    expect("QEMU CAP FRCD 1", q.frcd_offset(1).is_none())?;
    expect_eq("QEMU CAP MAMV", q.mamv().into(), 18)?;
    expect(
        "QEMU CAP flags",
        q.ss_2m() && q.ss_1g() && q.psi() && q.read_drain(),
    )?;
    expect(
        "QEMU CAP clear flags",
        !q.caching_mode() && !q.rwbf() && !q.fs_1g(),
    )?;

    // AGAW choice as the C driver's `__iommu_calculate_agaw()`: the covering width, then down.
    expect("agaw_for 57 on QEMU", q.agaw_for(57) == Some(Agaw::Bits48))?;
    expect("agaw_for 48 on QEMU", q.agaw_for(48) == Some(Agaw::Bits48))?;
    expect("agaw_for 40 on QEMU", q.agaw_for(40) == Some(Agaw::Bits48))?;
    expect("agaw_for 39 on QEMU", q.agaw_for(39) == Some(Agaw::Bits39))?;
    expect("agaw_for 30 on QEMU", q.agaw_for(30).is_none())?;
    expect(
        "agaw_for 64",
        Cap(1 << 11).agaw_for(64) == Some(Agaw::Bits57),
    )?;
    expect(
        "AGAW widths",
        Agaw::Bits57.width() == 57 && Agaw::Bits39.levels() == 3,
    )?;
    Ok(())
}

/// `ECAP_REG` fields.
pub(crate) fn ecap_decoding() -> Check {
    let bits: &[BitCheck<Ecap>] = &[
        ("ECAP.C [0]", 0, Ecap::coherent),
        ("ECAP.QI [1]", 1, Ecap::qi),
        ("ECAP.DT [2]", 2, Ecap::dev_tlb),
        ("ECAP.IR [3]", 3, Ecap::ir),
        ("ECAP.EIM [4]", 4, Ecap::eim),
        ("ECAP.PT [6]", 6, Ecap::pass_through),
        ("ECAP.SC [7]", 7, Ecap::snoop_control),
        ("ECAP.MTS [25]", 25, Ecap::mts),
        ("ECAP.NEST [26]", 26, Ecap::nest),
        ("ECAP.PRS [29]", 29, Ecap::prs),
        ("ECAP.ERS [30]", 30, Ecap::ers),
        ("ECAP.SRS [31]", 31, Ecap::srs),
        ("ECAP.NWFS [33]", 33, Ecap::nwfs),
        ("ECAP.EAFS [34]", 34, Ecap::eafs),
        ("ECAP.PASID [40]", 40, Ecap::pasid),
        ("ECAP.DIT [41]", 41, Ecap::dit),
        ("ECAP.PDS [42]", 42, Ecap::pds),
        ("ECAP.SMTS [43]", 43, Ecap::smts),
        ("ECAP.VCS [44]", 44, Ecap::vcs),
        ("ECAP.SSADS [45]", 45, Ecap::ssads),
        ("ECAP.SSTS [46]", 46, Ecap::ssts),
        ("ECAP.FSTS [47]", 47, Ecap::fsts),
        ("ECAP.SMPWCS [48]", 48, Ecap::smpwc),
        ("ECAP.RPS [49]", 49, Ecap::rps),
        ("ECAP.PMS [51]", 51, Ecap::pms),
    ];
    single_bits(bits, Ecap)?;

    // IRO [17:8] (in 16 bytes), MHMV [23:20], PSS [39:35] (PASID bits - 1).
    expect_eq(
        "ECAP.IRO",
        Ecap(0x3ff << 8).iotlb_reg_offset() as u64,
        0x3ff0,
    )?;
    expect_eq(
        "ECAP.IRO edge",
        Ecap(1 << 7 | 1 << 18).iotlb_reg_offset() as u64,
        0,
    )?;
    expect_eq("ECAP.MHMV", Ecap(0xf << 20).mhmv().into(), 15)?;
    expect_eq("ECAP.MHMV edge", Ecap(1 << 19 | 1 << 24).mhmv().into(), 0)?;
    expect_eq("ECAP.PSS", Ecap(19 << 35).pasid_bits().into(), 20)?;
    expect_eq(
        "ECAP.PSS edge",
        Ecap(1 << 34 | 1 << 40).pasid_bits().into(),
        1,
    )?;

    // QEMU 10.0.2: QI, IR, PT, IRO=0xf (offset 0xf0), MHMV=15; x-scalable-mode=on,x-flts=on
    // adds SMTS and FSTS.
    let q = Ecap(QEMU_ECAP);
    expect("QEMU ECAP flags", q.qi() && q.ir() && q.pass_through())?;
    expect(
        "QEMU ECAP clear",
        !q.coherent() && !q.smts() && !q.dev_tlb() && !q.nest(),
    )?;
    expect_eq("QEMU ECAP IRO", q.iotlb_reg_offset() as u64, 0xf0)?;
    expect_eq("QEMU ECAP MHMV", q.mhmv().into(), 15)?;
    let fs = Ecap(QEMU_ECAP | 1 << 43 | 1 << 47);
    expect(
        "QEMU ECAP first stage",
        fs.smts() && fs.fsts() && !fs.ssts(),
    )?;
    expect_eq(
        "QEMU register span",
        regs::register_span(Cap(QEMU_CAP), q) as u64,
        0x1000,
    )?;
    // 256 fault records at 0xff0 end at 0x1ff0.
    expect_eq(
        "register span past a page",
        regs::register_span(Cap(0xff << 24 | 0xff << 40), Ecap(0)) as u64,
        0x1ff0,
    )?;
    Ok(())
}

/// Register offsets and control register values.
pub(crate) fn register_values() -> Check {
    // Offsets from the specification's register map.
    let offsets: &[(usize, usize)] = &[
        (regs::VER, 0x00),
        (regs::CAP, 0x08),
        (regs::ECAP, 0x10),
        (regs::GCMD, 0x18),
        (regs::GSTS, 0x1c),
        (regs::RTADDR, 0x20),
        (regs::CCMD, 0x28),
        (regs::FSTS, 0x34),
        (regs::FECTL, 0x38),
        (regs::FEDATA, 0x3c),
        (regs::FEADDR, 0x40),
        (regs::FEUADDR, 0x44),
        (regs::IQH, 0x80),
        (regs::IQT, 0x88),
        (regs::IQA, 0x90),
        (regs::ICS, 0x9c),
        (regs::IECTL, 0xa0),
        (regs::IQER, 0xb0),
        (regs::IRTA, 0xb8),
        (regs::PQH, 0xc0),
        (regs::PQT, 0xc8),
        (regs::PQA, 0xd0),
        (regs::PRS, 0xdc),
        (regs::PECTL, 0xe0),
    ];
    for (i, &(got, want)) in offsets.iter().enumerate() {
        at(i, expect_eq("register offset", got as u64, want as u64))?;
    }

    // VER: MAX [7:4], MIN [3:0].
    expect("VER 1.0", regs::version(0x10) == (1, 0))?;
    expect("VER 6.1", regs::version(0xffff_ff61) == (6, 1))?;

    // GCMD/GSTS: TE 31, SRTP 30, SFL 29, EAFL 28, WBF 27, QIE 26, IRE 25, SIRTP 24, CFI 23.
    expect_eq("GCMD.TE", global::TE.into(), 1 << 31)?;
    // PMEN: EPM [31], PRS [0].
    expect_eq("PMEN.EPM", regs::pmen::EPM.into(), 1 << 31)?;
    expect_eq("PMEN.PRS", regs::pmen::PRS.into(), 1)?;
    expect_eq("GCMD.SRTP", global::SRTP.into(), 1 << 30)?;
    expect_eq("GCMD.WBF", global::WBF.into(), 1 << 27)?;
    expect_eq("GCMD.QIE", global::QIE.into(), 1 << 26)?;
    expect_eq("GCMD.IRE", global::IRE.into(), 1 << 25)?;
    expect_eq("GCMD.SIRTP", global::SIRTP.into(), 1 << 24)?;
    expect_eq("GCMD.CFI", global::CFI.into(), 1 << 23)?;
    // The one-shot status bits are masked off: 0x96ffffff keeps 31, 28, 26 and 25.
    expect_eq(
        "GCMD one-shot mask",
        (!global::ONE_SHOT).into(),
        0x96ff_ffff,
    )?;
    let gsts = global::TE | global::SRTP | global::QIE | global::WBF;
    expect_eq(
        "GCMD enable IRE",
        global::command(gsts, global::IRE, true).into(),
        1 << 31 | 1 << 26 | 1 << 25,
    )?;
    expect_eq(
        "GCMD disable TE",
        global::command(gsts, global::TE, false).into(),
        1 << 26,
    )?;
    expect("GSTS done on", global::done(gsts, global::QIE, true))?;
    expect("GSTS not done off", !global::done(gsts, global::QIE, false))?;
    expect("GSTS RTPS latched", global::done(gsts, global::SRTP, true))?;
    expect(
        "GSTS RTPS pending",
        !global::done(global::TE, global::SRTP, true),
    )?;
    // WBFS is set while the flush is in progress.
    expect(
        "GSTS WBFS in progress",
        !global::done(gsts, global::WBF, true),
    )?;
    expect(
        "GSTS WBFS done",
        global::done(global::TE, global::WBF, true),
    )?;

    // RTADDR: RTA [63:12], TTM [11:10] (01: scalable mode).
    expect_eq(
        "RTADDR legacy",
        regs::rtaddr(0x1234_5000, Ttm::Legacy)?,
        0x1234_5000,
    )?;
    expect_eq(
        "RTADDR scalable",
        regs::rtaddr(0xf_ffff_f000, Ttm::Scalable)?,
        0xf_ffff_f000 | 1 << 10,
    )?;
    expect(
        "RTADDR misaligned",
        regs::rtaddr(0x1234_5800, Ttm::Legacy) == Err(Error::BadAddress),
    )?;

    // IQA: IQA [63:12], DW [11], QS [2:0].
    expect_eq("IQA 128-bit", regs::iqa(0x7000, 0, false)?, 0x7000)?;
    expect_eq(
        "IQA 256-bit",
        regs::iqa(0x8000, 1, true)?,
        0x8000 | 1 << 11 | 1,
    )?;
    expect_eq("IQA QS 7", regs::iqa(0x8_0000, 7, false)?, 0x8_0000 | 7)?;
    expect(
        "IQA QS 8",
        regs::iqa(0x8_0000, 8, false) == Err(Error::Overflow),
    )?;
    expect(
        "IQA misaligned",
        regs::iqa(0x8010, 0, false) == Err(Error::BadAddress),
    )?;
    // IQH/IQT: QH/QT [18:4] in 128-bit mode; bit 4 must be 0 with 256-bit descriptors.
    expect_eq("IQT 128-bit", regs::iq_offset(5, false), 0x50)?;
    expect_eq("IQT 256-bit", regs::iq_offset(5, true), 0xa0)?;
    expect_eq("IQH 128-bit", regs::iq_index(0x50 | 0xf, false) as u64, 5)?;
    expect_eq("IQH 256-bit", regs::iq_index(0xa0, true) as u64, 5)?;
    expect_eq("IQH top", regs::iq_index(0x7fff0, false) as u64, 0x7fff)?;
    expect_eq("IQH above", regs::iq_index(1 << 19, false) as u64, 0)?;
    expect_eq("IQ entries 128-bit", regs::iq_entries(0, false) as u64, 256)?;
    expect_eq("IQ entries 256-bit", regs::iq_entries(2, true) as u64, 512)?;

    // FSTS: PFO 0, PPF 1, AFO 2, APF 3, IQE 4, ICE 5, ITE 6, PRO 7, FRI [15:8].
    let f = Fsts::decode(0xab << 8 | 1 << 1);
    expect("FSTS.PPF", f.pending && !f.overflow && !f.iqe)?;
    expect_eq("FSTS.FRI", f.fri.into(), 0xab)?;
    let f = Fsts::decode(1 << 0 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7);
    expect(
        "FSTS errors",
        f.overflow && f.iqe && f.ice && f.ite && f.pro && !f.pending,
    )?;
    expect("FSTS.AFO/APF", {
        let f = Fsts::decode(1 << 2 | 1 << 3);
        f.adv_overflow && f.adv_pending && f.fri == 0
    })?;
    expect_eq("FSTS clear", Fsts::PRIMARY_CLEAR.into(), 0x83)?;
    expect_eq("FSTS inval errors", Fsts::INVALIDATION_ERRORS.into(), 0x70)?;

    // IQER: IQEI [3:0], ITESID [47:32], ICESID [63:48].
    let e = Iqer::decode(0xbeef_0a0b_0000_0003);
    expect(
        "IQER",
        e.iqei == 3 && e.itesid == 0x0a0b && e.icesid == 0xbeef,
    )?;
    Ok(())
}
