// SPDX-License-Identifier: GPL-2.0

//! Glue to the IOMMU core: `iommu_ops` for the SMMU. Logic lives in the modules it calls.

use kernel::{
    io::PhysAddr,
    iommu::{
        self,
        iommufd::UserData,
        AnyDomain,
        Capability,
        ClientDevice,
        DirtyBitmap,
        DirtyRequest,
        Domain,
        DomainOps,
        Group,
        HwInfo,
        IommuDevice,
        IopfFault,
        IotlbGather,
        LookupRequest,
        MapRequest,
        OfPhandleArgs,
        PageResponse,
        PageResponseCode,
        PagingFlags,
        ResvRegions,
        ResvType,
        StaticDomain,
        StaticDomainCell,
        UnmapRequest,
        UserDataArray,
        Viommu,
        ViommuOps, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
};

use crate::{
    domain::{
        AtsKey,
        Blocked,
        Identity,
        Paging,
        S1Domain,
        S2Domain,
        Stage, //
    },
    hw::{
        cmd::FaultResponse,
        ids::Ssid, //
    },
    master::Master,
    smmu::{
        Smmu,
        HW_INFO_TYPE_ARM_SMMUV3, //
    },
    vsmmu::{
        Nested,
        Vsmmu, //
    },
};

/// The software-managed MSI window reported to every device (as the C driver does), so that
/// device MSIs to the GIC ITS get an IOVA mapping.
const MSI_IOVA_BASE: u64 = 0x0800_0000;
/// Size of the MSI window.
const MSI_IOVA_LENGTH: usize = 0x10_0000;

/// `IOMMU_HW_INFO_TYPE_DEFAULT`: the caller takes whatever type the driver reports.
const HW_INFO_TYPE_DEFAULT: u32 = 0;

/// The SMMUv3 IOMMU operations.
pub(crate) struct SmmuIommu;

#[vtable]
impl iommu::Ops for SmmuIommu {
    type IommuData = Arc<Smmu>;
    type DeviceData = KBox<Master>;
    type PagingDomain = Paging;
    type Viommu = Vsmmu;

    const IDENTITY_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&IDENTITY));
    const BLOCKED_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));
    const RELEASE_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));

    fn probe_device(iommu: &IommuDevice<Self>, dev: &ClientDevice<Self>) -> Result<KBox<Master>> {
        let sids = dev.fwspec().map(|f| f.ids()).ok_or(ENODEV)?;
        if sids.is_empty() {
            return Err(ENODEV);
        }
        let smmu = iommu.data();
        for sid in sids {
            smmu.prepare_stream(iommu.bound_device(), *sid)?;
        }
        // As the C driver, from the fwspec: only ACPI's IORT can say CANWBS.
        let canwbs = dev.fwspec().is_some_and(|f| f.pci_rc_canwbs());
        // The root complex supports ATS: the device tree's `ats-supported`, the IORT's ATS
        // attribute.
        let rc_ats = dev.fwspec().is_some_and(|f| f.pci_rc_ats());
        // As the C driver: the firmware says the device can wait for a stalled transaction.
        let device: &kernel::device::Device = dev.as_ref();
        let can_stall = device
            .fwnode()
            .is_some_and(|f| f.property_read_bool(c"dma-can-stall"));
        let master = Master::new(
            smmu.clone(),
            iommu.bound_device(),
            dev.as_ref(),
            sids,
            canwbs,
            rc_ats,
            can_stall,
        )?;
        Ok(KBox::new(master, GFP_KERNEL)?)
    }

    fn release_device(_iommu: &IommuDevice<Self>, _dev: &ClientDevice<Self>, _data: KBox<Master>) {
        // The core attached the release (blocking) domain first: the streams abort.
    }

    fn device_group(dev: &ClientDevice<Self>) -> Result<ARef<Group>> {
        Group::for_device(dev.as_ref())
    }

    fn of_xlate(dev: &ClientDevice<Self>, args: &OfPhandleArgs) -> Result {
        // `#iommu-cells = <1>`: the StreamID.
        dev.add_ids(args.args().get(..1).ok_or(EINVAL)?)
    }

    fn page_response(dev: &ClientDevice<Self>, evt: &IopfFault, msg: &PageResponse) {
        if let Ok(m) = master(dev) {
            let code = msg.response_code().map(|c| match c {
                PageResponseCode::Success => FaultResponse::Success,
                PageResponseCode::Invalid => FaultResponse::Invalid,
                PageResponseCode::Failure => FaultResponse::Failure,
            });
            m.page_response(evt.response_pasid(), msg.grpid(), code);
        }
    }

    fn get_resv_regions(dev: &ClientDevice<Self>, regions: &ResvRegions) {
        let prot = iommu::prot::READ | iommu::prot::WRITE | iommu::prot::NOEXEC | iommu::prot::MMIO;
        // The core tolerates a missing region; there is nothing better to do on ENOMEM.
        let _ = regions.add(MSI_IOVA_BASE, MSI_IOVA_LENGTH, prot, ResvType::SwMsi);
        // As the C driver: what the firmware reserves for the device, too.
        regions.add_firmware_regions(dev);
    }

    fn capable(dev: &ClientDevice<Self>, cap: Capability) -> bool {
        let features = dev.iommu().map(|iommu| &iommu.data().features);
        let coherent = features.is_some_and(|f| f.coherent);
        let dirty = features.is_some_and(|f| f.dirty_tracking());
        // As the C driver: no-snoop DMA can be made coherent only where the root complex makes
        // the device's accesses write-back cacheable and shareable anyway (ACPI IORT CANWBS).
        let enforce = master(dev).is_ok_and(|m| m.canwbs());
        // DEFERRED_FLUSH: unmaps may be invalidated later, in batches (the DMA-FQ "lazy" mode);
        // `flush_iotlb_all` invalidates the whole domain when the flush queue is drained.
        (cap == Capability::CACHE_COHERENCY && coherent)
            || (cap == Capability::DIRTY_TRACKING && dirty)
            || (cap == Capability::ENFORCE_CACHE_COHERENCY && enforce)
            || cap == Capability::NOEXEC
            || cap == Capability::DEFERRED_FLUSH
    }

    fn viommu_supported(dev: &ClientDevice<Self>, viommu_type: u32) -> bool {
        master(dev).is_ok_and(|m| Vsmmu::supported(m, viommu_type))
    }

    fn viommu_init(
        iommu: &IommuDevice<Self>,
        parent: &Domain<Paging>,
        viommu_type: u32,
        user_data: Option<&UserData>,
    ) -> Result<Vsmmu> {
        Vsmmu::new(iommu.data(), parent, viommu_type, user_data)
    }

    fn hw_info(dev: &ClientDevice<Self>, requested: u32) -> Result<HwInfo> {
        if requested != HW_INFO_TYPE_DEFAULT && requested != HW_INFO_TYPE_ARM_SMMUV3 {
            return Err(EOPNOTSUPP);
        }
        let iommu = dev.iommu().ok_or(ENODEV)?;
        HwInfo::new(
            KBox::new(iommu.data().hw_info(), GFP_KERNEL)?,
            HW_INFO_TYPE_ARM_SMMUV3,
        )
    }

    fn domain_alloc_paging(
        iommu: &IommuDevice<Self>,
        _dev: &ClientDevice<Self>,
        flags: PagingFlags,
        user_data: Option<&UserData>,
    ) -> Result<Pin<KBox<Domain<Paging>>>> {
        // No driver-specific data is defined for paging domains. Stage 2 domains can be
        // nesting parents, PASIDs take stage 1 domains, and either stage tracks dirty pages.
        let known = PagingFlags::NEST_PARENT | PagingFlags::PASID | PagingFlags::DIRTY_TRACKING;
        if user_data.is_some()
            || !flags.is_subset_of(known)
            || flags.contains(PagingFlags::NEST_PARENT | PagingFlags::PASID)
        {
            return Err(EOPNOTSUPP);
        }
        let smmu = iommu.data();
        let idr = &smmu.features.idr;
        // A nesting parent is a stage 2 that a guest's stage 1 will sit on: without both
        // stages there is nothing to nest, whatever stage 2 alone could translate.
        if flags.contains(PagingFlags::NEST_PARENT) && !smmu.features.nesting() {
            return Err(EOPNOTSUPP);
        }
        // A PASID's domain is a CD.
        if flags.contains(PagingFlags::PASID) && !idr.s1() {
            return Err(EOPNOTSUPP);
        }
        let dirty = flags.contains(PagingFlags::DIRTY_TRACKING);
        // As the C driver: stage 1 when the SMMU has it, stage 2 for nesting parents and on
        // SMMUs with stage 2 only. The C driver has no dirty tracking at stage 2: it refuses
        // NEST_PARENT with DIRTY_TRACKING, and DIRTY_TRACKING on SMMUs with stage 2 only.
        let (config, domain) = if idr.s1() && !flags.contains(PagingFlags::NEST_PARENT) {
            let (config, d) = S1Domain::new(smmu, dirty)?;
            (config, Stage::S1(d))
        } else if idr.s2() {
            let nest_parent = flags.contains(PagingFlags::NEST_PARENT);
            let (config, d) = S2Domain::new(smmu, dirty, nest_parent)?;
            (config, Stage::S2(d))
        } else {
            return Err(EOPNOTSUPP);
        };
        Domain::new(config, Ok::<_, Error>(Paging::new(domain)))
    }
}

/// Tells the domain `old` that `pasid` of `m` left it, after attaching it elsewhere. A PASID
/// that is no SubstreamID was never attached: nothing left.
fn pasid_left(old: Option<&AnyDomain>, m: &Master, pasid: u32) {
    if let (Some(p), Ok(ssid)) = (old.and_then(|d| d.downcast::<Paging>()), Ssid::new(pasid)) {
        p.left(m, AtsKey::pasid(m, ssid));
    }
}

/// Tells the domain `old` that the RID of `m` left it, after attaching it elsewhere.
fn left(old: Option<&AnyDomain>, m: &Master) {
    if let Some(p) = old.and_then(|d| d.downcast::<Paging>()) {
        p.detached(m);
    } else if let Some(n) = old.and_then(|d| d.downcast::<Nested>()) {
        n.detached(m);
    }
}

/// Attaches the RID of `dev` with `attach`, taking its page requests while the new domain
/// handles page faults (`iopf`): they are taken before the new STE is installed, and no longer
/// taken (if the old domain took them and nothing else does) only after; a failed attach
/// leaves them as they were.
fn attach_rid(
    dev: &ClientDevice<SmmuIommu>,
    iopf: bool,
    attach: impl FnOnce(&Master) -> Result,
    old: Option<&AnyDomain>,
) -> Result {
    let m = master(dev)?;
    with_iopf(dev, m, iopf, old, || attach(m))?;
    left(old, m);
    Ok(())
}

/// Runs `attach`, an attachment of `m` (of `dev`) replacing one to `old`, with the device's
/// page requests taken while it runs and after if the new domain handles page faults
/// (`iopf`); the old attachment's hold on them is dropped once `attach` succeeded.
fn with_iopf(
    dev: &ClientDevice<SmmuIommu>,
    m: &Master,
    iopf: bool,
    old: Option<&AnyDomain>,
    attach: impl FnOnce() -> Result,
) -> Result {
    if iopf {
        m.iopf_get(dev)?;
    }
    if let Err(e) = attach() {
        if iopf {
            m.iopf_put();
        }
        return Err(e);
    }
    if old.is_some_and(|d| d.has_iopf_handler()) {
        m.iopf_put();
    }
    Ok(())
}

/// Attaches the RID of `dev` to a domain of the host, which logs the device's events itself.
fn host_attach(
    dev: &ClientDevice<SmmuIommu>,
    iopf: bool,
    attach: impl FnOnce(&Master) -> Result,
    old: Option<&AnyDomain>,
) -> Result {
    attach_rid(
        dev,
        iopf,
        |m| {
            attach(m)?;
            // Cannot fail: clearing allocates nothing.
            let _ = m.set_event_sink(None);
            Ok(())
        },
        old,
    )
}

/// The per-device data of a client device.
fn master(dev: &ClientDevice<SmmuIommu>) -> Result<&Master> {
    dev.data().ok_or(ENODEV)
}

/// The static identity domain.
static IDENTITY: StaticDomainCell<Identity> = StaticDomainCell::identity(Identity);

/// The static blocking domain.
static BLOCKED: StaticDomainCell<Blocked> = StaticDomainCell::blocked(Blocked);

#[vtable]
impl DomainOps for Identity {
    type Iommu = SmmuIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        host_attach(
            dev,
            false,
            |m| {
                Identity::attach(m);
                Ok(())
            },
            old,
        )
    }
}

#[vtable]
impl DomainOps for Blocked {
    type Iommu = SmmuIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        host_attach(
            dev,
            false,
            |m| {
                Blocked::attach(m);
                Ok(())
            },
            old,
        )
    }

    fn set_dev_pasid(
        _domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        pasid: u32,
        old: Option<&AnyDomain>,
    ) -> Result {
        // How the core takes a PASID's domain away: it must not fail.
        let m = master(dev)?;
        with_iopf(dev, m, false, old, || {
            Blocked::remove_pasid(m, pasid);
            Ok(())
        })?;
        pasid_left(old, m, pasid);
        Ok(())
    }
}

#[vtable]
impl DomainOps for Paging {
    type Iommu = SmmuIommu;

    fn attach_dev(
        domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        host_attach(
            dev,
            domain.has_iopf_handler(),
            |m| (**domain).attach(m),
            old,
        )
    }

    fn set_dev_pasid(
        domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        pasid: u32,
        old: Option<&AnyDomain>,
    ) -> Result {
        let m = master(dev)?;
        let iommu = dev.iommu().ok_or(ENODEV)?;
        with_iopf(dev, m, domain.has_iopf_handler(), old, || {
            (**domain).set_pasid(m, iommu.bound_device(), pasid)
        })?;
        pasid_left(old, m, pasid);
        Ok(())
    }

    fn enforce_cache_coherency(domain: &Domain<Self>) -> bool {
        (**domain).enforce_cache_coherency()
    }

    fn map_pages(domain: &Domain<Self>, req: &MapRequest, mapped: &mut usize) -> Result {
        (**domain).map(req, mapped)
    }

    fn unmap_pages(domain: &Domain<Self>, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        (**domain).unmap(req, gather)
    }

    fn iotlb_sync(domain: &Domain<Self>, gather: &IotlbGather) {
        (**domain).iotlb_sync(gather);
    }

    fn flush_iotlb_all(domain: &Domain<Self>) {
        (**domain).flush_all();
    }

    fn iova_to_phys(domain: &Domain<Self>, req: &LookupRequest) -> PhysAddr {
        (**domain).iova_to_phys(req)
    }

    fn set_dirty_tracking(domain: &Domain<Self>, enabled: bool) -> Result {
        (**domain).set_dirty_tracking(enabled);
        Ok(())
    }

    fn read_and_clear_dirty(
        domain: &Domain<Self>,
        req: &DirtyRequest,
        dirty: &DirtyBitmap,
    ) -> Result {
        (**domain).read_and_clear_dirty(req, dirty)
    }
}

#[vtable]
impl ViommuOps for Vsmmu {
    type Iommu = SmmuIommu;
    type NestedDomain = Nested;

    fn alloc_domain_nested(
        viommu: &Viommu<Self>,
        flags: u32,
        data: &UserData,
    ) -> Result<Pin<KBox<Domain<Nested>>>> {
        Domain::new_nested(Ok::<_, Error>(Nested::new(viommu, flags, data)?))
    }

    fn cache_invalidate(viommu: &Viommu<Self>, array: &UserDataArray) -> Result {
        Vsmmu::invalidate(viommu, array)
    }

    fn vdevice_init(viommu: &Viommu<Self>, dev: &ClientDevice<SmmuIommu>, _virt_id: u64) -> Result {
        (**viommu).vdevice_init(master(dev)?)
    }
}

#[vtable]
impl DomainOps for Nested {
    type Iommu = SmmuIommu;

    fn attach_dev(
        domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        let virt_id = domain.viommu().virt_id(dev);
        attach_rid(
            dev,
            domain.has_iopf_handler(),
            |m| (**domain).attach(m, virt_id),
            old,
        )
    }
}
