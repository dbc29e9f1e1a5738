// SPDX-License-Identifier: GPL-2.0

//! Checks of what the driver accepts of an SMMU and derives at probe ([`crate::hw::probe`]),
//! and of the implementation quirks ([`crate::hw::imp`]).

use super::{expect, expect_eq, Check};
use crate::hw::{
    idr::{
        Granules,
        Idr,
        StrtabFmt, //
    },
    imp::{
        FwModel,
        Iidr,
        Quirks,
        IMPLEMENTER_ARM,
        PRODUCT_MMU_600,
        PRODUCT_MMU_700,
        PRODUCT_MMU_L1,
        PRODUCT_MMU_S3, //
    },
    probe::{
        check,
        pgsize_bitmap,
        Refusal,
        StrtabLayout,
        STRTAB_MAX_L1_ENTRIES,
        STRTAB_SPLIT, //
    },
};

/// The ID registers of QEMU 10.0's SMMU (`virt`, both stages), as `IOMMU_GET_HW_INFO` shows.
pub(crate) const QEMU_IDR: [u32; 4] = [0x0d44_101b, 0x0273_0010, 0x1414, 0x74];

/// An SMMU's ID registers, field by field, for building the variants the checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdrSpec {
    /// `IDR0.S1P`.
    pub(crate) s1: bool,
    /// `IDR0.S2P`.
    pub(crate) s2: bool,
    /// `IDR0.STALL_MODEL`.
    pub(crate) stall_model: u32,
    /// `IDR0.ATS`.
    pub(crate) ats: bool,
    /// `IDR0.ASID16`.
    pub(crate) asid16: bool,
    /// `IDR0.VMID16`.
    pub(crate) vmid16: bool,
    /// `IDR0.TTENDIAN`.
    pub(crate) tt_endian: u32,
    /// `IDR0.HYP`.
    pub(crate) hyp: bool,
    /// `IDR1.SIDSIZE`.
    pub(crate) sid_bits: u32,
    /// `IDR1.SSIDSIZE`.
    pub(crate) ssid_bits: u32,
    /// `IDR0.CD2L`.
    pub(crate) cd2l: bool,
    /// `IDR1.ATTR_TYPES_OVR`.
    pub(crate) attr_types_ovr: bool,
    /// `IDR1.TABLES_PRESET`, `QUEUES_PRESET`, `REL` (bits 30:28).
    pub(crate) embedded: u32,
    /// `IDR3.STT`.
    pub(crate) stt: bool,
    /// `IDR5.OAS`.
    pub(crate) oas: u32,
    /// `IDR5.GRAN4K`, `GRAN16K`, `GRAN64K` as bits 0, 1, 2.
    pub(crate) granules: u32,
}

impl IdrSpec {
    /// A plain SMMU: both stages, no stalls, no ATS, 16-bit IDs, little-endian walks, 16-bit
    /// StreamIDs, 48-bit output, every granule.
    pub(crate) const PLAIN: Self = Self {
        s1: true,
        s2: true,
        stall_model: 1,
        ats: false,
        asid16: true,
        vmid16: true,
        tt_endian: 2,
        hyp: false,
        sid_bits: 16,
        ssid_bits: 0,
        cd2l: false,
        attr_types_ovr: false,
        embedded: 0,
        stt: false,
        oas: 5,
        granules: 0b111,
    };

    /// The decoded registers.
    pub(crate) fn idr(&self) -> Idr {
        let [idr0, idr1, idr3, idr5] = self.raw();
        Idr::new(idr0, idr1, idr3, idr5)
    }

    /// The register values `IDR0`, `IDR1`, `IDR3`, `IDR5`: AArch64 tables, two-level stream
    /// tables, 256-entry queues.
    pub(crate) fn raw(&self) -> [u32; 4] {
        let b = |set: bool, bit: u32| if set { 1u32 << bit } else { 0 };
        let idr0 = b(self.s2, 0)
            | b(self.s1, 1)
            | 2 << 2
            | b(self.hyp, 9)
            | b(self.ats, 10)
            | b(self.asid16, 12)
            | b(self.vmid16, 18)
            | b(self.cd2l, 19)
            | (self.tt_endian & 3) << 21
            | (self.stall_model & 3) << 24
            | 1 << 27;
        let idr1 = (self.sid_bits & 0x3f)
            | (self.ssid_bits & 0x1f) << 6
            | 8 << 16
            | 8 << 21
            | b(self.attr_types_ovr, 27)
            | (self.embedded & 7) << 28;
        let idr3 = b(self.stt, 9);
        let idr5 = (self.oas & 7) | (self.granules & 7) << 4;
        [idr0, idr1, idr3, idr5]
    }
}

/// The SMMUs the driver refuses, and QEMU's, which it accepts.
pub(crate) fn probe_refusals() -> Check {
    let [i0, i1, i3, i5] = QEMU_IDR;
    expect(
        "QEMU's SMMU is accepted",
        check(&Idr::new(i0, i1, i3, i5)).is_ok(),
    )?;
    expect(
        "a plain SMMU is accepted",
        check(&IdrSpec::PLAIN.idr()).is_ok(),
    )?;
    for (i, bit) in [0u32, 1, 2].into_iter().enumerate() {
        let spec = IdrSpec {
            embedded: 1 << bit,
            ..IdrSpec::PLAIN
        };
        super::at(
            i,
            expect(
                "REL, QUEUES_PRESET or TABLES_PRESET is refused as embedded",
                check(&spec.idr()) == Err(Refusal::Embedded),
            ),
        )?;
    }
    let none = IdrSpec {
        granules: 0,
        ..IdrSpec::PLAIN
    };
    expect(
        "no granule is refused",
        check(&none.idr()) == Err(Refusal::NoGranule),
    )?;
    for granules in 1..8 {
        let some = IdrSpec {
            granules,
            ..IdrSpec::PLAIN
        };
        super::at(
            granules as usize,
            expect("any granule is accepted", check(&some.idr()).is_ok()),
        )?;
    }
    for model in [0, 1, 2] {
        let stall = IdrSpec {
            stall_model: model,
            ..IdrSpec::PLAIN
        };
        expect("every stall model is accepted", check(&stall.idr()).is_ok())?;
    }
    let stageless = IdrSpec {
        s1: false,
        s2: false,
        ..IdrSpec::PLAIN
    };
    expect(
        "no stage is refused",
        check(&stageless.idr()) == Err(Refusal::NoStage),
    )
}

/// Granules from `IDR5.GRANx` bits 4, 5, 6 (as [`IdrSpec::granules`]).
const fn granules(bits: u32) -> Granules {
    Granules {
        size_4k: bits & 1 != 0,
        size_16k: bits & 2 != 0,
        size_64k: bits & 4 != 0,
    }
}

/// The domain page sizes derived from `IDR5`, as the C driver's bitmap after io-pgtable chose
/// the granule.
pub(crate) fn page_sizes() -> Check {
    const K4: u64 = 1 << 12 | 1 << 21 | 1 << 30;
    const K16: u64 = 1 << 14 | 1 << 25;
    const K64: u64 = 1 << 16 | 1 << 29;
    const TB4: u64 = 1 << 42;
    // (granule bits, OAS bits, CPU page size, expected)
    let cases: [(u32, u32, u64, u64); 13] = [
        (0b001, 48, 1 << 12, K4),
        (0b111, 48, 1 << 12, K4),
        (0b111, 48, 1 << 14, K16),
        (0b111, 48, 1 << 16, K64),
        (0b111, 52, 1 << 16, K64 | TB4),
        (0b111, 52, 1 << 12, K4),
        (0b100, 48, 1 << 12, K64),
        (0b100, 52, 1 << 12, K64 | TB4),
        (0b110, 48, 1 << 12, K16),
        (0b101, 48, 1 << 14, K4),
        (0b010, 48, 1 << 16, K16),
        (0b011, 48, 1 << 16, K16),
        (0b000, 48, 1 << 12, 0),
    ];
    for (i, (bits, oas, page, want)) in cases.into_iter().enumerate() {
        super::at(
            i,
            expect_eq("page sizes", pgsize_bitmap(granules(bits), oas, page), want),
        )?;
    }
    let [i0, i1, i3, i5] = QEMU_IDR;
    let qemu = Idr::new(i0, i1, i3, i5);
    expect_eq(
        "QEMU's page sizes with 4 KiB pages",
        pgsize_bitmap(qemu.granules(), 44, 1 << 12),
        K4,
    )
}

/// The stream table for every StreamID width from 0 to 32 bits: the level-1 table and its
/// bookkeeping stay within [`STRTAB_MAX_L1_ENTRIES`], as the C driver caps them.
pub(crate) fn strtab_sizing() -> Check {
    for sid_bits in 0..=32u32 {
        let spec = IdrSpec {
            sid_bits,
            ..IdrSpec::PLAIN
        };
        let idr = spec.idr();
        let t = StrtabLayout::new(&idr, false);
        let i = sid_bits as usize;
        if sid_bits <= STRTAB_SPLIT {
            super::at(
                i,
                expect(
                    "linear up to one level-2 table",
                    t.fmt() == StrtabFmt::Linear,
                ),
            )?;
            super::at(
                i,
                expect_eq(
                    "linear covers SIDSIZE",
                    u64::from(t.sid_bits()),
                    u64::from(sid_bits),
                ),
            )?;
            continue;
        }
        super::at(i, expect("two levels", t.fmt() == StrtabFmt::TwoLevel))?;
        // CAST: Sizes are checked in `u64` on every architecture.
        let l1 = t.entries() as u64;
        super::at(
            i,
            expect(
                "at most 2^17 level-1 descriptors",
                l1 <= STRTAB_MAX_L1_ENTRIES as u64,
            ),
        )?;
        // 8 bytes per descriptor, and one pointer per descriptor of bookkeeping: both within
        // one MiB, far below what kmalloc gives.
        super::at(i, expect("level-1 table within 1 MiB", l1 * 8 <= 1 << 20))?;
        let covered = sid_bits.min(25);
        super::at(
            i,
            expect_eq(
                "covered StreamID bits",
                u64::from(t.sid_bits()),
                u64::from(covered),
            ),
        )?;
        super::at(
            i,
            expect_eq("descriptors", l1, 1 << (covered - STRTAB_SPLIT)),
        )?;
        let last = if covered == 32 {
            u32::MAX
        } else {
            (1u32 << covered) - 1
        };
        super::at(i, expect("the last covered StreamID", t.covers(last)))?;
        if covered < 32 {
            super::at(
                i,
                expect("the first uncovered StreamID", !t.covers(1u32 << covered)),
            )?;
        }
        super::at(
            i,
            expect(
                "the last descriptor index is in the table",
                StrtabLayout::l1_index(last) < t.entries(),
            ),
        )?;
    }
    let forced = StrtabLayout::new(&IdrSpec::PLAIN.idr(), true);
    expect(
        "forced linear",
        forced.fmt() == StrtabFmt::Linear && forced.entries() == 1 << 16,
    )?;
    // CMD_CFGI_STE_RANGE covers 2^(Range + 1) StreamIDs: exactly one level-2 table.
    let (first, range) = StrtabLayout::l2_invalidation(0x1234);
    expect_eq("range start", u64::from(first), 0x1200)?;
    expect_eq(
        "range covers one level-2 table",
        1 << (u64::from(range) + 1),
        1 << STRTAB_SPLIT,
    )?;
    // L1STD.Span: 2^(Span - 1) STEs.
    expect_eq(
        "span of a level-2 table",
        1 << (u64::from(StrtabLayout::l2_span()) - 1),
        1 << STRTAB_SPLIT,
    )
}

/// Every quirk entry of [`Quirks::new`], as the C driver applies them.
pub(crate) fn quirks_table() -> Check {
    let arm = |product, variant, revision| Iidr::of(IMPLEMENTER_ARM, product, variant, revision);
    let q = |iidr| Quirks::new(iidr, FwModel::Generic);
    let both = IdrSpec::PLAIN.idr();

    // IIDR layout: ProductID [31:20], Variant [19:16], Revision [15:12], Implementer [11:0].
    let mmu600_r1p2 = arm(PRODUCT_MMU_600, 1, 2);
    expect_eq("IIDR layout", u64::from(mmu600_r1p2.raw()), 0x4831_243b)?;
    let [i0, i1, i3, i5] = QEMU_IDR;
    let qemu = Idr::new(i0, i1, i3, i5);
    let none = q(Iidr::new(0));
    expect(
        "QEMU (IIDR 0): no quirks",
        !none.any() && none.nesting(&qemu),
    )?;

    // MMU-600: erratum 1076982 (SEV) up to r0p2, erratum 1209401 (nesting) before r2.
    let r0p2 = q(arm(PRODUCT_MMU_600, 0, 2));
    expect(
        "MMU-600 r0p2: no SEV, no nesting",
        r0p2.no_sev && r0p2.no_nesting,
    )?;
    let r0p3 = q(arm(PRODUCT_MMU_600, 0, 3));
    expect("MMU-600 r0p3: SEV", !r0p3.no_sev && r0p3.no_nesting)?;
    let r1p0 = q(mmu600_r1p2);
    expect(
        "MMU-600 r1: no nesting",
        r1p0.no_nesting && !r1p0.nesting(&both),
    )?;
    let r2p0 = q(arm(PRODUCT_MMU_600, 2, 0));
    expect("MMU-600 r2p0: nesting", !r2p0.any() && r2p0.nesting(&both))?;

    // MMU-700: never BTM; errata 2268618 and 2812531 (nesting, forced syncs) with C's test.
    for (i, (variant, revision, affected)) in [
        (0, 0, true),
        (0, 5, true),
        (1, 0, true),
        (1, 1, false),
        (2, 1, false),
        (2, 0, true),
    ]
    .into_iter()
    .enumerate()
    {
        let m = q(arm(PRODUCT_MMU_700, variant, revision));
        super::at(i, expect("MMU-700: no BTM", m.no_btm))?;
        super::at(
            i,
            expect(
                "MMU-700: nesting and CMD_SYNC per 63 commands by revision",
                m.no_nesting == affected
                    && m.cmdq_force_sync == affected
                    && m.nesting(&both) != affected
                    && m.max_cmds_per_sync() == if affected { Some(63) } else { None },
            ),
        )?;
    }

    // vIOMMUs, as arm_smmu_get_viommu_size(): nesting, no forced syncs, CANWBS or S2FWB.
    let fwb = Idr::new(i0, i1, i3 | (1 << 8), i5);
    expect(
        "vIOMMU: CANWBS or S2FWB",
        none.viommu(&qemu, true) && !none.viommu(&qemu, false) && none.viommu(&fwb, false),
    )?;
    let s1only = Idr::new(i0 & !1, i1, i3 | (1 << 8), i5);
    expect("vIOMMU: no nesting, none", !none.viommu(&s1only, true))?;
    let m700 = q(arm(PRODUCT_MMU_700, 0, 0));
    let m600 = q(arm(PRODUCT_MMU_600, 1, 0));
    expect(
        "vIOMMU: not on parts without nesting or with forced syncs",
        !m700.viommu(&qemu, true) && !m600.viommu(&qemu, true),
    )?;
    let m700_fixed = q(arm(PRODUCT_MMU_700, 1, 1));
    expect("vIOMMU: MMU-700 r1p1", m700_fixed.viommu(&qemu, true))?;

    // MMU-L1 and MMU-S3: errata 3878312 and 3995052 (BTM).
    for product in [PRODUCT_MMU_L1, PRODUCT_MMU_S3] {
        let m = q(arm(product, 0, 0));
        expect(
            "MMU-L1/S3: no BTM only",
            m.no_btm && !m.no_nesting && !m.cmdq_force_sync && !m.no_sev,
        )?;
    }
    // The same product ID from another implementer is not Arm's part.
    let other = q(Iidr::of(0x42, PRODUCT_MMU_700, 0, 0));
    expect("another implementer's part", !other.any())?;

    // Firmware models (IORT): HiSilicon Hi161x, Cavium CN99xx.
    expect(
        "IORT models",
        FwModel::from_iort(0) == FwModel::Generic
            && FwModel::from_iort(1) == FwModel::HisiliconHi161x
            && FwModel::from_iort(2) == FwModel::CaviumCn99xx
            && FwModel::from_iort(7) == FwModel::Other(7),
    )?;
    let hisi = Quirks::new(Iidr::new(0), FwModel::HisiliconHi161x);
    expect(
        "Hi161x: no prefetch",
        hisi.skip_prefetch && !hisi.page0_regs_only,
    )?;
    let cavium = Quirks::new(Iidr::new(0), FwModel::CaviumCn99xx);
    expect(
        "CN99xx: page 1 in page 0",
        cavium.page0_regs_only && !cavium.skip_prefetch,
    )?;
    let unknown = Quirks::new(Iidr::new(0), FwModel::Other(7));
    expect("an unknown model is generic", !unknown.any())?;

    // Tegra264 (T264-SMMU-3): runs of CFGI_STE (0x03) .. TLBI_S2_IPA (0x2a) and the others
    // below ATC_INV (0x40) are issued twice; ATC_INV, CMD_SYNC (0x46), PREFETCH (0x01) are not.
    let t264 = Quirks::new(Iidr::new(0), FwModel::NvidiaTegra264);
    let op = |o: u64| [crate::hw::cmd::Cmd::from_words([o, 0])];
    expect(
        "Tegra264: CFGI and TLBI runs repeated",
        t264.repeat_tlbi_cfgi
            && t264.repeat_after_sync(&op(0x03))
            && t264.repeat_after_sync(&op(0x06))
            && t264.repeat_after_sync(&op(0x12))
            && t264.repeat_after_sync(&op(0x2a))
            && t264.repeat_after_sync(&op(0x3f)),
    )?;
    expect(
        "Tegra264: ATC_INV, CMD_SYNC, PREFETCH and empty runs not repeated",
        !t264.repeat_after_sync(&op(0x40))
            && !t264.repeat_after_sync(&op(0x46))
            && !t264.repeat_after_sync(&op(0x01))
            && !t264.repeat_after_sync(&[]),
    )?;
    expect(
        "other parts: nothing repeated",
        !none.repeat_after_sync(&op(0x03)) && !unknown.repeat_after_sync(&op(0x12)),
    )?;

    // The effective features follow the quirks.
    // IDR0.BTM [5], IDR0.SEV [14].
    let [p0, p1, p3, p5] = IdrSpec::PLAIN.raw();
    let btm = Idr::new(p0 | 1 << 5 | 1 << 14, p1, p3, p5);
    let m700 = q(arm(PRODUCT_MMU_700, 1, 1));
    expect("MMU-700: BTM read as absent", btm.btm() && !m700.btm(&btm))?;
    let m600 = q(arm(PRODUCT_MMU_600, 0, 0));
    expect(
        "MMU-600 r0p0: SEV read as absent",
        btm.sev() && !m600.sev(&btm),
    )?;
    expect(
        "no nesting without both stages",
        !r2p0.nesting(
            &IdrSpec {
                s2: false,
                ..IdrSpec::PLAIN
            }
            .idr(),
        ),
    )
}
