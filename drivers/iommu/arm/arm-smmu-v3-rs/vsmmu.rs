// SPDX-License-Identifier: GPL-2.0

//! Virtual SMMUs: the iommufd vIOMMUs of the SMMU, through which a VMM gives a guest its own
//! stage 1 over the host's stage 2.
//!
//! A vSMMU nests on a stage 2 paging domain of the SMMU (a `NEST_PARENT` HWPT) and takes the
//! parent's VMID: everything the guest's stage 1 caches is tagged with it. Its vDEVICEs map the
//! guest's StreamIDs (vSIDs) to the devices behind it.
//!
//! A nested domain holds the guest's vSTE: its streams get the parent's stage 2 with the
//! guest's stage 1 (the guest's CD table, at an IPA) on top. The guest invalidates what its
//! stage 1 caches through the vSMMU, with commands checked and rewritten here, and receives its
//! stage 1 faults on the vSMMU's event queue, under its vSIDs.
//!
//! C reference: `arm-smmu-v3-iommufd.c`.

use kernel::{
    iommu::{
        iommufd::UserData,
        viommu_type,
        UserDataArray,
        Viommu,
        ViommuRef, //
    },
    prelude::*,
    sync::Arc,
};

use crate::{
    domain::{
        AtsKey,
        Paging, //
    },
    hw::{
        cmd::CMD_QWORDS,
        event::EVT_QWORDS,
        ste::Ste,
        user::{
            issue_user_cmds,
            nested_ste,
            validate_vste,
            vevent,
            BatchError,
            UserCmdPolicy,
            Vste,
            VSTE_QWORDS, //
        },
    },
    master::Master,
    smmu::{
        EventSink,
        Smmu, //
    },
};

/// The driver's part of a vIOMMU of type `ARM_SMMUV3`.
pub(crate) struct Vsmmu {
    smmu: Arc<Smmu>,
    /// The nesting parent's VMID, which tags the guest's stage 1 TLB entries too.
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
        let (parent_smmu, vmid, _) = parent.s2().ok_or(EINVAL)?;
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

/// `IOMMU_HWPT_DATA_ARM_SMMUV3`: a nested domain's data, the guest's vSTE.
const HWPT_DATA_ARM_SMMUV3: u32 = 2;
/// `IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3`: the guest's invalidation commands.
const INVALIDATE_DATA_ARM_SMMUV3: u32 = 1;
/// `IOMMU_VEVENTQ_TYPE_ARM_SMMUV3`: event records, as the SMMU writes them.
const VEVENTQ_TYPE_ARM_SMMUV3: u32 = 1;
/// How many of the guest's commands go to the command queue with one `CMD_SYNC`, as in C.
const INVALIDATE_BATCH: usize = 63;

impl Vsmmu {
    /// Carries out the guest's invalidation commands of `array` on the vSMMU `viommu`.
    ///
    /// Each command is checked and rewritten as the C driver does: its VMID forced to the
    /// vSMMU's, a vSID replaced by the StreamID of the vDEVICE it names. On the first command
    /// refused (`EIO`), the commands before it are still carried out and the array's count says
    /// how many: exactly those (C counts, but does not issue, the pending ones;
    /// [`issue_user_cmds`]).
    pub(crate) fn invalidate(viommu: &Viommu<Vsmmu>, array: &UserDataArray) -> Result {
        let cmds = array.read_all::<[u64; CMD_QWORDS]>(INVALIDATE_DATA_ARM_SMMUV3)?;
        let this = &**viommu;
        let mut policy = UserCmdPolicy::new(&this.smmu.features.idr, this.vmid);
        // As C: ATC invalidations need the kernel's ATS support too.
        policy.ats &= cfg!(CONFIG_PCI_ATS);
        let vsid_to_sid = |vsid: u32| {
            viommu.with_device(u64::from(vsid), |dev| {
                let m = dev?.data()?;
                // A vDEVICE has exactly one StreamID ([`Vsmmu::vdevice_init`]).
                (Arc::ptr_eq(m.smmu(), &this.smmu) && m.sids().len() == 1).then(|| m.sids()[0])
            })
        };
        let (handled, r) = issue_user_cmds::<Error, INVALIDATE_BATCH>(
            &policy,
            cmds.iter().map(|c| Ok(c.map(u64::from_le))),
            vsid_to_sid,
            |run| this.smmu.issue_user_sync(run),
        );
        array.set_handled(handled);
        match r {
            Ok(()) => Ok(()),
            Err(BatchError::Rejected(_)) => Err(EIO),
            Err(BatchError::Failed(e)) => Err(e),
        }
    }
}

/// A nested domain: the guest's vSTE on a vSMMU, over the vSMMU's stage 2.
pub(crate) struct Nested {
    viommu: ViommuRef<Vsmmu>,
    vste: Vste,
    /// The STE of the domain's streams: the parent's stage 2 with the guest's stage 1 fields
    /// (or abort, or the parent's alone).
    ste: Ste,
}

impl Nested {
    /// A nested domain on `viommu` from the user's vSTE in `data`: `EIO` if it sets anything a
    /// guest may not, `EOPNOTSUPP` for any flag.
    pub(crate) fn new(viommu: &Viommu<Vsmmu>, flags: u32, data: &UserData) -> Result<Self> {
        if flags != 0 {
            return Err(EOPNOTSUPP);
        }
        let raw: [u64; VSTE_QWORDS] =
            data.read(HWPT_DATA_ARM_SMMUV3, size_of::<[u64; VSTE_QWORDS]>())?;
        let vste = validate_vste(raw.map(u64::from_le))?;
        let (_, _, parent) = viommu.parent().s2().ok_or(EINVAL)?;
        let ste = nested_ste(parent, &vste)?;
        Ok(Self {
            viommu: viommu.new_ref(),
            vste,
            ste,
        })
    }

    /// The vSMMU of the domain.
    pub(crate) fn viommu(&self) -> &Viommu<Vsmmu> {
        &self.viommu
    }

    /// Attaches `m`, whose vDEVICE on the domain's vSMMU (if it has one) is `vsid`.
    ///
    /// As the C driver: the device must be behind the vSMMU's SMMU (`EINVAL`), a stage 1
    /// vSTE needs the vDEVICE (`ENOENT`), and the parent's cache coherency rule applies. With a
    /// vDEVICE, the guest's events of the device go to the vSMMU's event queue. A device with
    /// ATS has it on as [`Vste::ats`] says, and the parent's invalidations then reach its ATC
    /// (wholly, for the guest's stage 1: see [`Vste::atc_holds_guest_addresses`]); with stage
    /// 1, the guest's `CMD_ATC_INV` through the vSMMU does the rest.
    pub(crate) fn attach(&self, m: &Master, vsid: Option<u64>) -> Result {
        if !Arc::ptr_eq(m.smmu(), &self.viommu.smmu) {
            return Err(EINVAL);
        }
        if self.vste.needs_vdevice() && vsid.is_none() {
            return Err(ENOENT);
        }
        // As the C driver: the guest's CD table cannot share the device with PASIDs of the
        // host's domains.
        if m.pasids_in_use() {
            return Err(EBUSY);
        }
        let sink = match vsid {
            Some(vsid) => {
                let vsid = u32::try_from(vsid).map_err(|_| EINVAL)?;
                Some(VeventSink::for_vsid(&self.viommu, vsid)?)
            }
            None => None,
        };
        self.viommu
            .parent()
            .attach_with(m, self.ats_key(m), self.vste.ats(), |ats| {
                m.set_event_sink(sink.as_ref())?;
                // Cannot fail in practice: the core serialises the attachments of a device,
                // so no PASID got a domain since the check above.
                m.attach_ste(&self.ste, ats).inspect_err(|_| {
                    let _ = m.set_event_sink(None);
                })
            })
    }

    /// Records that `m`, which was attached to this domain, is now attached to another one.
    pub(crate) fn detached(&self, m: &Master) {
        self.viommu.parent().left(m, self.ats_key(m));
    }

    /// The parent's key of the attachment of `m` to this domain: its ATC is invalidated
    /// wholly for a guest's stage 1 (see [`Vste::atc_holds_guest_addresses`]).
    fn ats_key(&self, m: &Master) -> AtsKey {
        AtsKey::nested(m, self.vste.atc_holds_guest_addresses())
    }
}

/// Where a vDEVICE's guest events go: its vSMMU's event queue, under its vSID.
struct VeventSink {
    viommu: ViommuRef<Vsmmu>,
    vsid: u32,
}

impl VeventSink {
    fn for_vsid(viommu: &Viommu<Vsmmu>, vsid: u32) -> Result<Arc<dyn EventSink>> {
        let sink = Arc::new(
            Self {
                viommu: viommu.new_ref(),
                vsid,
            },
            GFP_KERNEL,
        )?;
        Ok(sink)
    }
}

impl EventSink for VeventSink {
    fn report(&self, evt: &[u64; EVT_QWORDS]) -> Result {
        let v = vevent(evt, self.vsid).map(u64::to_le);
        self.viommu.report_event(VEVENTQ_TYPE_ARM_SMMUV3, &v)
    }
}
