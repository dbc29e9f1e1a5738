// SPDX-License-Identifier: GPL-2.0

//! Implementations: the errata of known SMMU parts, keyed by `SMMU_IIDR`, and the quirks the
//! firmware names by model.
//!
//! [`Quirks::new`] is the one place that knows about particular parts. The rest of the driver
//! asks [`Quirks`] (through the driver's feature set) what it may use: a feature an erratum
//! makes unusable reads as absent. The entries follow what the C driver applies
//! (`arm_smmu_device_iidr_probe()`, `acpi_smmu_get_options()`); each names its erratum.

use core::fmt;

use crate::hw::{
    cmd::{
        self,
        Cmd, //
    },
    field::Field,
    idr::Idr, //
};

/// `IIDR.Implementer`: the JEP106 code of the implementer.
const IIDR_IMPLEMENTER: Field<0, 11, 0> = Field;
/// `IIDR.Revision`: the minor revision (`pN`).
const IIDR_REVISION: Field<0, 15, 12> = Field;
/// `IIDR.Variant`: the major revision (`rN`).
const IIDR_VARIANT: Field<0, 19, 16> = Field;
/// `IIDR.ProductID`.
const IIDR_PRODUCT_ID: Field<0, 31, 20> = Field;

/// Arm's JEP106 code in `IIDR.Implementer`.
pub(crate) const IMPLEMENTER_ARM: u32 = 0x43b;
/// `IIDR.ProductID` of the CoreLink MMU-600.
pub(crate) const PRODUCT_MMU_600: u32 = 0x483;
/// `IIDR.ProductID` of the CoreLink MMU-700.
pub(crate) const PRODUCT_MMU_700: u32 = 0x487;
/// `IIDR.ProductID` of the MMU-L1.
pub(crate) const PRODUCT_MMU_L1: u32 = 0x48a;
/// `IIDR.ProductID` of the MMU-S3.
pub(crate) const PRODUCT_MMU_S3: u32 = 0x498;

/// `SMMU_IIDR`: who made the SMMU, and which part and revision it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Iidr(u32);

impl Iidr {
    /// Wraps a register value.
    pub(crate) const fn new(reg: u32) -> Self {
        Self(reg)
    }

    /// Builds the value of part `product` of `implementer`, revision `r<variant>p<revision>`.
    pub(crate) const fn of(implementer: u32, product: u32, variant: u32, revision: u32) -> Self {
        let mut w = [0; 1];
        // Out-of-range inputs are truncated: the result is only compared with register values.
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        IIDR_IMPLEMENTER.set_truncated(&mut w, implementer as u64);
        IIDR_REVISION.set_truncated(&mut w, revision as u64);
        IIDR_VARIANT.set_truncated(&mut w, variant as u64);
        IIDR_PRODUCT_ID.set_truncated(&mut w, product as u64);
        // CAST: Every field lies in bits 31:0.
        Self(w[0] as u32)
    }

    /// The register value.
    pub(crate) const fn raw(self) -> u32 {
        self.0
    }

    /// The implementer's JEP106 code.
    pub(crate) const fn implementer(self) -> u32 {
        // CAST: The field is 12 bits wide.
        IIDR_IMPLEMENTER.extract(self.0 as u64) as u32
    }

    /// The part.
    pub(crate) const fn product(self) -> u32 {
        // CAST: The field is 12 bits wide.
        IIDR_PRODUCT_ID.extract(self.0 as u64) as u32
    }

    /// The major revision, `N` of `rNpM`.
    pub(crate) const fn variant(self) -> u32 {
        // CAST: The field is 4 bits wide.
        IIDR_VARIANT.extract(self.0 as u64) as u32
    }

    /// The minor revision, `M` of `rNpM`.
    pub(crate) const fn revision(self) -> u32 {
        // CAST: The field is 4 bits wide.
        IIDR_REVISION.extract(self.0 as u64) as u32
    }
}

/// The SMMU model the firmware names: the IORT SMMUv3 node's `Model` field, or a device tree
/// `compatible` string besides `arm,smmu-v3` that the C driver knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FwModel {
    /// A generic SMMUv3 (IORT model 0), or no model given.
    Generic,
    /// HiSilicon Hi161x (IORT model 1): `CMD_PREFETCH_CONFIG` is broken.
    HisiliconHi161x,
    /// Cavium CN99xx (IORT model 2): the page 1 registers are in page 0.
    CaviumCn99xx,
    /// NVIDIA Tegra264 (device tree `nvidia,tegra264-smmu`): erratum T264-SMMU-3.
    NvidiaTegra264,
    /// A model this driver does not know: treated as generic.
    Other(u32),
}

impl FwModel {
    /// Decodes the `Model` field of an IORT SMMUv3 node.
    pub(crate) const fn from_iort(model: u32) -> Self {
        match model {
            0 => Self::Generic,
            1 => Self::HisiliconHi161x,
            2 => Self::CaviumCn99xx,
            other => Self::Other(other),
        }
    }
}

/// The most commands the driver may queue before a `CMD_SYNC` on a part with
/// [`Quirks::cmdq_force_sync`]: one less than the C driver's batch of 64.
pub(crate) const FORCE_SYNC_MAX_CMDS: usize = 63;

/// What the errata of an SMMU and its firmware model take away or require.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Quirks {
    /// `CMD_SYNC` completion by `SEV` is unreliable (MMU-600 erratum 1076982).
    pub(crate) no_sev: bool,
    /// Broadcast TLB maintenance is unusable (MMU-700 erratum 2812531, MMU-L1 and MMU-S3
    /// errata 3878312 and 3995052).
    pub(crate) no_btm: bool,
    /// Nested translation is unusable (MMU-600 erratum 1209401, MMU-700 errata 2268618 and
    /// 2812531): no nesting parent domains.
    pub(crate) no_nesting: bool,
    /// At most [`FORCE_SYNC_MAX_CMDS`] commands may be queued between two `CMD_SYNC`s
    /// (MMU-700 erratum 2812531).
    pub(crate) cmdq_force_sync: bool,
    /// `CMD_PREFETCH_CONFIG` must not be issued (HiSilicon Hi161x).
    pub(crate) skip_prefetch: bool,
    /// The page 1 registers are in page 0 (Cavium CN99xx); the driver refuses such an SMMU.
    pub(crate) page0_regs_only: bool,
    /// A `CFGI_*` or `TLBI_*` run may take effect only once issued again after its `CMD_SYNC`
    /// completed (Tegra264 erratum T264-SMMU-3): the driver issues such runs twice, and tells
    /// vIOMMU users to do the same for theirs (`IOMMU_GET_HW_INFO` flags).
    pub(crate) repeat_tlbi_cfgi: bool,
}

impl Quirks {
    /// The quirks of the SMMU `iidr` names, which the firmware calls `model`.
    pub(crate) const fn new(iidr: Iidr, model: FwModel) -> Self {
        let mut q = Self {
            no_sev: false,
            no_btm: false,
            no_nesting: false,
            cmdq_force_sync: false,
            skip_prefetch: false,
            page0_regs_only: false,
            repeat_tlbi_cfgi: false,
        };
        match model {
            FwModel::HisiliconHi161x => q.skip_prefetch = true,
            FwModel::CaviumCn99xx => q.page0_regs_only = true,
            FwModel::NvidiaTegra264 => q.repeat_tlbi_cfgi = true,
            FwModel::Generic | FwModel::Other(_) => {}
        }
        if iidr.implementer() != IMPLEMENTER_ARM {
            return q;
        }
        let (variant, revision) = (iidr.variant(), iidr.revision());
        match iidr.product() {
            PRODUCT_MMU_600 => {
                // Erratum 1076982: r0p0 to r0p2.
                q.no_sev = variant == 0 && revision <= 2;
                // Erratum 1209401: before r2p0.
                q.no_nesting = variant < 2;
            }
            PRODUCT_MMU_700 => {
                q.no_btm = true;
                // Errata 2268618 and 2812531, fixed in r1p1. This is the C driver's test
                // (`variant < 1 || revision < 1`) as 7.3 has it: it also matches later
                // `pN` = 0 releases such as r2p0, which costs nesting and a few syncs there
                // but never misses an affected part. Both drivers agree on every part.
                if variant < 1 || revision < 1 {
                    q.cmdq_force_sync = true;
                    q.no_nesting = true;
                }
            }
            PRODUCT_MMU_L1 | PRODUCT_MMU_S3 => q.no_btm = true,
            _ => {}
        }
        q
    }

    /// Whether any quirk applies.
    pub(crate) const fn any(&self) -> bool {
        self.no_sev
            || self.no_btm
            || self.no_nesting
            || self.cmdq_force_sync
            || self.skip_prefetch
            || self.page0_regs_only
            || self.repeat_tlbi_cfgi
    }

    /// Both stages, and nesting them, are usable.
    pub(crate) const fn nesting(&self, idr: &Idr) -> bool {
        idr.nesting() && !self.no_nesting
    }

    /// Whether a vIOMMU (an iommufd virtual SMMU) may be given to a device that is, or is not,
    /// behind a `canwbs` root complex.
    ///
    /// As the C driver: nesting must be usable and not limited by the forced `CMD_SYNC` of
    /// MMU-700 (which the user invalidation path would have to honour); and since VFIO does no
    /// cache maintenance, the guest must not be able to make DMA non-coherent: the root complex
    /// forces write-back attributes (CANWBS), or stage 2 overrides the guest's (S2FWB).
    pub(crate) const fn viommu(&self, idr: &Idr, canwbs: bool) -> bool {
        self.nesting(idr) && !self.cmdq_force_sync && (canwbs || idr.fwb())
    }

    /// Broadcast TLB maintenance is usable.
    pub(crate) const fn btm(&self, idr: &Idr) -> bool {
        idr.btm() && !self.no_btm
    }

    /// `CMD_SYNC` can complete with a send-event.
    pub(crate) const fn sev(&self, idr: &Idr) -> bool {
        idr.sev() && !self.no_sev
    }

    /// The most commands the driver may queue before a `CMD_SYNC`, if the part limits it.
    pub(crate) const fn max_cmds_per_sync(&self) -> Option<usize> {
        if self.cmdq_force_sync {
            Some(FORCE_SYNC_MAX_CMDS)
        } else {
            None
        }
    }

    /// Whether the run of commands `cmds`, once its `CMD_SYNC` completed, must be issued again
    /// with another: on parts with [`Quirks::repeat_tlbi_cfgi`], a run that starts with a
    /// configuration or TLB invalidation (opcodes from `CFGI_STE` up to, not including,
    /// `ATC_INV`), as the C driver decides.
    pub(crate) fn repeat_after_sync(&self, cmds: &[Cmd]) -> bool {
        const CFGI_STE: u64 = 0x03;
        const ATC_INV: u64 = 0x40;
        self.repeat_tlbi_cfgi
            && cmds
                .first()
                .is_some_and(|c| (CFGI_STE..ATC_INV).contains(&cmd::OP.get(c.words())))
    }
}

impl fmt::Display for Quirks {
    /// Lists the quirks that apply, by what they change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.no_sev, "no SEV"),
            (self.no_btm, "no BTM"),
            (self.no_nesting, "no nesting"),
            (self.cmdq_force_sync, "CMD_SYNC every 63 commands"),
            (self.skip_prefetch, "no config prefetch"),
            (self.page0_regs_only, "page 1 registers in page 0"),
            (self.repeat_tlbi_cfgi, "CFGI/TLBI runs issued twice"),
        ];
        let mut sep = "";
        for (_, name) in names.iter().filter(|(set, _)| *set) {
            write!(f, "{sep}{name}")?;
            sep = ", ";
        }
        Ok(())
    }
}
