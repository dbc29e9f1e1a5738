// SPDX-License-Identifier: GPL-2.0

//! Virtual SMMUs: the iommufd vIOMMUs of the SMMU, through which a VMM gives a guest its own
//! stage 1 over the host's stage 2.
//!
//! A vSMMU nests on a stage 2 paging domain of the SMMU (a `NEST_PARENT` HWPT) and takes the
//! parent's VMID: everything the guest's stage 1 caches is tagged with it. Its vDEVICEs map the
//! guest's StreamIDs (vSIDs) to the devices behind it.
//!
//! C reference: `arm-smmu-v3-iommufd.c` (`arm_smmu_get_viommu_size()`, `arm_vsmmu_init()`,
//! `arm_vsmmu_vdevice_init()`).

use kernel::{
    iommu::{
        iommufd::UserData,
        viommu_type, //
    },
    prelude::*,
    sync::Arc,
};

use crate::{domain::Paging, master::Master, smmu::Smmu};

/// The driver's part of a vIOMMU of type `ARM_SMMUV3`.
pub(crate) struct Vsmmu {
    smmu: Arc<Smmu>,
    /// The nesting parent's VMID, which tags the guest's stage 1 TLB entries too.
    #[allow(
        dead_code,
        reason = "the guest's invalidations will be made to carry it"
    )]
    vmid: u16,
}

impl Vsmmu {
    /// Whether `m` may have a vIOMMU of `viommu_type` (see [`crate::hw::imp::Quirks::viommu`]).
    pub(crate) fn supported(m: &Master, viommu_type: u32) -> bool {
        let f = &m.smmu().features;
        viommu_type == viommu_type::ARM_SMMUV3 && f.quirks.viommu(&f.idr, m.canwbs())
    }

    /// A vSMMU on `smmu` over `parent`: fails with `EINVAL` unless the parent is a stage 2
    /// domain of that SMMU. No driver data is defined for the request.
    pub(crate) fn new(
        smmu: &Arc<Smmu>,
        parent: &Paging,
        viommu_type: u32,
        user_data: Option<&UserData>,
    ) -> Result<Self> {
        if viommu_type != viommu_type::ARM_SMMUV3 {
            return Err(EOPNOTSUPP);
        }
        if user_data.is_some() {
            return Err(EOPNOTSUPP);
        }
        let (parent_smmu, vmid) = parent.s2().ok_or(EINVAL)?;
        if !Arc::ptr_eq(parent_smmu, smmu) {
            return Err(EINVAL);
        }
        dev_dbg!(smmu.dev(), "vSMMU on the stage 2 of VMID {}\n", vmid);
        Ok(Self {
            smmu: smmu.clone(),
            vmid,
        })
    }

    /// Accepts the device `m` as a vDEVICE: as in the C driver, only a device with exactly one
    /// StreamID, which a vSID then names (`EOPNOTSUPP` otherwise).
    pub(crate) fn vdevice_init(&self, m: &Master) -> Result {
        if !Arc::ptr_eq(m.smmu(), &self.smmu) {
            return Err(EINVAL);
        }
        if m.sids().len() != 1 {
            return Err(EOPNOTSUPP);
        }
        Ok(())
    }
}
