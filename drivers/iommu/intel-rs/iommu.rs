// SPDX-License-Identifier: GPL-2.0

//! The IOMMU core glue: `iommu_ops` ([`IntelIommu`]), the domain ops, and the registration of
//! a unit with the IOMMU core.
//!
//! A DMAR unit is not a device, and `kernel::iommu::Registration` registers an IOMMU for a
//! bound device: each unit gets a faux device (`/sys/bus/faux/devices/dmar<N>`), bound from its
//! creation, as its parent in sysfs. The registration has no firmware node, so the core offers
//! this driver every device without an IOMMU firmware description, as it does the C driver,
//! asking each unit in turn; [`IntelIommu::probe_device`] takes the PCI functions the DMAR
//! table gives the unit (its DRHD's device scopes, or `INCLUDE_PCI_ALL`) and refuses the rest.
//!
//! C reference: `intel_iommu_ops` and `intel_iommu_init()` in
//! [`drivers/iommu/intel/iommu.c`](srctree/drivers/iommu/intel/iommu.c).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    faux,
    io::PhysAddr,
    iommu::{
        self,
        iommufd::UserData,
        pci::{
            dma_aliases,
            physfn,
            upstream_path,
            upstream_pcie_types,
            Ats, //
        },
        AnyDomain,
        Capability,
        ClientDevice,
        Config,
        Domain,
        DomainOps,
        Group,
        HwInfo,
        IommuDevice,
        IotlbGather,
        LookupRequest,
        MapRequest,
        PagingFlags,
        Registration,
        ResvRegions,
        ResvType,
        StaticDomain,
        StaticDomainCell,
        UnmapRequest, //
    },
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        SetOnce, //
    },
};

use crate::{
    domain::{
        attach_blocked,
        attach_identity,
        PagingDomain, //
    },
    hw::{
        dmar::{
            PathMatch,
            UnitMatch, //
        },
        ids::SourceId,
        pt::Request,
    },
    master::{
        Master,
        MasterAts, //
    },
    rmrr,
    table,
    unit::Unit, //
};

/// The interrupt address range of x86, `0xfee00000`-`0xfeefffff`: DMA writes there are
/// interrupt requests, which DMA remapping does not translate (C's `IOAPIC_RANGE_START`).
const MSI_RANGE: (PhysAddr, usize) = (0xfee0_0000, 0x10_0000);

/// `IOMMU_HW_INFO_TYPE_DEFAULT` of the uAPI: the driver chooses.
const HW_INFO_TYPE_DEFAULT: u32 = 0;

/// `IOMMU_HW_INFO_TYPE_INTEL_VTD` of the uAPI: `struct iommu_hw_info_vtd`.
const HW_INFO_TYPE_INTEL_VTD: u32 = 1;

/// The Rust VT-d driver, as the IOMMU core sees it.
pub(crate) struct IntelIommu;

/// The identity domain's data.
pub(crate) struct Identity;

/// The blocked domain's data.
pub(crate) struct Blocked;

/// The static identity domain.
static IDENTITY: StaticDomainCell<Identity> = StaticDomainCell::identity(Identity);

/// The static blocked domain, also the release domain.
static BLOCKED: StaticDomainCell<Blocked> = StaticDomainCell::blocked(Blocked);

/// The VT-d page size, the smallest translation ATS is prepared for (C's `VTD_PAGE_SHIFT`).
const VTD_PAGE_SHIFT: u32 = 12;

/// The ATS of the PCI function `pdev` of `segment` on `unit`, prepared, where it may use it, as
/// C's `intel_iommu_probe_device()` decides: the function has ATS, the unit device-TLB
/// invalidation (`ECAP.DT`) and the firmware lets the function (or its physical function,
/// whose chain from the root bus is `pf_path`) use it ([`table::ats_supported`]).
fn ats_for(
    unit: &Unit,
    pdev: &pci::Device,
    segment: u16,
    pf_path: &[(u8, u8, u8)],
) -> Result<Option<MasterAts>> {
    if !unit.ecap.dev_tlb() {
        return Ok(None);
    }
    let pf = physfn(pdev);
    if !table::ats_supported(segment, pf_path, &upstream_pcie_types(pf)?) {
        return Ok(None);
    }
    let Some(ats) = Ats::prepare(pdev, VTD_PAGE_SHIFT)? else {
        return Ok(None);
    };
    // As C: the physical function's requester ID only where the unit throttles per physical
    // function (`ECAP.DIT`); the field is reserved, 0, otherwise.
    let pfsid = SourceId::new(if unit.ecap.dit() { pf.dev_id() } else { 0 });
    Ok(Some(MasterAts::new(
        ats,
        SourceId::new(pdev.dev_id()),
        pfsid,
    )))
}

#[vtable]
impl iommu::Ops for IntelIommu {
    type IommuData = &'static Unit;
    type DeviceData = KBox<Master>;
    type PagingDomain = PagingDomain;
    type Viommu = iommu::NoViommu<Self>;

    const IDENTITY_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&IDENTITY));
    const BLOCKED_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));
    const RELEASE_DOMAIN: Option<StaticDomain<Self>> = Some(StaticDomain::new(&BLOCKED));

    fn probe_device(iommu: &IommuDevice<Self>, dev: &ClientDevice<Self>) -> Result<KBox<Master>> {
        let unit: &'static Unit = iommu.data();
        // Only PCI functions, on the unit the DMAR table's device scopes give (or its
        // INCLUDE_PCI_ALL unit): the core offers a device to each registered unit in turn, and
        // `ENODEV` passes it on. A virtual function is looked up by its physical function, as
        // firmware does not list VFs.
        let pdev = <&pci::Device>::try_from(dev.as_ref()).map_err(|_| ENODEV)?;
        let segment = iommu::pci::segment(pdev).ok_or(ENODEV)?;
        let pf_path = upstream_path(physfn(pdev))?;
        match table::unit_for(segment, &pf_path) {
            Some((index, how)) if index == unit.index => {
                if how == UnitMatch::Scope(PathMatch::Broken) {
                    dev_warn!(
                        dev.as_ref(),
                        "{}: firmware bug: a one-element device scope path from the device's \
                         own bus names it; taken as C does\n",
                        unit.label()
                    );
                }
            }
            Some(_) => return Err(ENODEV),
            None => {
                // Said once, by the unit asked first.
                if FIRST.as_ref() == Some(&unit.index) {
                    dev_info!(
                        dev.as_ref(),
                        "not translated: no DMAR unit's device scope names it and segment {} \
                         has no INCLUDE_PCI_ALL unit\n",
                        segment
                    );
                }
                return Err(ENODEV);
            }
        }
        let take = || -> Result<KBox<Master>> {
            let mut sids = KVec::new();
            for alias in dma_aliases(pdev)? {
                sids.push(SourceId::new(alias), GFP_KERNEL)?;
            }
            let class = pdev.pci_class().as_raw();
            let rmrrs = rmrr::regions_for(segment, &upstream_path(pdev)?, class)?;
            for r in &rmrrs {
                dev_info!(
                    dev.as_ref(),
                    "RMRR [{:#x}-{:#x}]: kept identity mapped{}{}\n",
                    r.base,
                    r.end,
                    if r.relaxable { " (relaxable)" } else { "" },
                    if r.broken_path {
                        " (firmware bug: a one-element scope path from the device's own bus, \
                         taken as C does)"
                    } else {
                        ""
                    }
                );
            }
            let ats = ats_for(unit, pdev, segment, &pf_path)?;
            Ok(KBox::new(Master::new(unit, sids, rmrrs, ats)?, GFP_KERNEL)?)
        };
        take().inspect_err(|e| dev_err!(dev.as_ref(), "not taken by {}: {:?}\n", unit.label(), e))
    }

    fn release_device(_iommu: &IommuDevice<Self>, _dev: &ClientDevice<Self>, _data: KBox<Master>) {
        // The core attached the release (blocked) domain first; dropping the data clears the
        // context entries.
    }

    fn capable(_dev: &ClientDevice<Self>, cap: Capability) -> bool {
        // As C: DMA remapping keeps DMA coherent (snooped) unless a device asks otherwise.
        // DEFERRED_FLUSH, as C: unmaps may be invalidated later, in batches (the DMA-FQ "lazy"
        // mode, `iommu.strict=0`); `flush_iotlb_all` invalidates the whole domain when the
        // flush queue is drained. Page tables are freed only with the domain, so the unit never
        // walks a freed table through a translation it still caches.
        cap == Capability::CACHE_COHERENCY || cap == Capability::DEFERRED_FLUSH
    }

    fn hw_info(dev: &ClientDevice<Self>, requested: u32) -> Result<HwInfo> {
        if requested != HW_INFO_TYPE_DEFAULT && requested != HW_INFO_TYPE_INTEL_VTD {
            return Err(EOPNOTSUPP);
        }
        let unit = dev.data().ok_or(ENODEV)?.unit;
        // `struct iommu_hw_info_vtd`: `flags` and `__reserved` (no erratum flag), `cap_reg`,
        // `ecap_reg`; little-endian, as x86 is.
        HwInfo::new(
            KBox::new([0u64, unit.cap.0, unit.ecap.0], GFP_KERNEL)?,
            HW_INFO_TYPE_INTEL_VTD,
        )
    }

    fn domain_alloc_paging(
        iommu: &IommuDevice<Self>,
        _dev: &ClientDevice<Self>,
        flags: PagingFlags,
        user_data: Option<&UserData>,
    ) -> Result<Pin<KBox<Domain<PagingDomain>>>> {
        // As C: a domain that may also be attached to PASIDs (PASID) is the same domain, of
        // either stage; a nest parent is a second-stage domain on a unit that nests. Dirty
        // tracking (SSADS) is not here yet: refused, as C refuses it on a unit without SSADS
        // (QEMU's).
        if !flags.is_subset_of(PagingFlags::PASID | PagingFlags::NEST_PARENT) || user_data.is_some()
        {
            return Err(EOPNOTSUPP);
        }
        let req = Request {
            nest_parent: flags.contains(PagingFlags::NEST_PARENT),
            dirty_tracking: false,
        };
        PagingDomain::alloc(iommu.data(), req)
    }

    fn device_group(dev: &ClientDevice<Self>) -> Result<ARef<Group>> {
        Group::for_device(dev.as_ref())
    }

    fn get_resv_regions(dev: &ClientDevice<Self>, regions: &ResvRegions) {
        // The core tolerates a missing region; there is nothing better to do on ENOMEM.
        let _ = regions.add(MSI_RANGE.0, MSI_RANGE.1, 0, ResvType::Msi);
        // The RMRRs of the device: mapped 1:1, readable and writable, as C's
        // `intel_iommu_get_resv_regions()`; relaxable (`IOMMU_RESV_DIRECT_RELAXABLE`) for USB
        // and display controllers, as C's `device_rmrr_is_relaxable()`.
        let Some(master) = dev.data() else {
            return;
        };
        for r in &master.rmrrs {
            // `regions_for` gives no region whose end is below its base.
            let Some(len) = (r.end - r.base)
                .checked_add(1)
                .and_then(|l| usize::try_from(l).ok())
            else {
                continue;
            };
            let _ = regions.add(
                r.base,
                len,
                iommu::prot::READ | iommu::prot::WRITE,
                if r.relaxable {
                    ResvType::DirectRelaxable
                } else {
                    ResvType::Direct
                },
            );
        }
    }
}

#[vtable]
impl DomainOps for Identity {
    type Iommu = IntelIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<IntelIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        attach_identity(dev.data().ok_or(ENODEV)?, old)
    }
}

#[vtable]
impl DomainOps for Blocked {
    type Iommu = IntelIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<IntelIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        attach_blocked(dev.data().ok_or(ENODEV)?, old)
    }
}

#[vtable]
impl DomainOps for PagingDomain {
    type Iommu = IntelIommu;

    fn attach_dev(
        domain: &Domain<Self>,
        dev: &ClientDevice<IntelIommu>,
        old: Option<&AnyDomain>,
    ) -> Result {
        domain.attach(dev.data().ok_or(ENODEV)?, old)
    }

    fn map_pages(domain: &Domain<Self>, req: &MapRequest, mapped: &mut usize) -> Result {
        domain.map(req, mapped)
    }

    fn unmap_pages(domain: &Domain<Self>, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        domain.unmap(req, gather)
    }

    fn flush_iotlb_all(domain: &Domain<Self>) {
        domain.flush_all();
    }

    fn iotlb_sync(domain: &Domain<Self>, gather: &IotlbGather) {
        domain.sync(gather);
    }

    fn iova_to_phys(domain: &Domain<Self>, req: &LookupRequest) -> PhysAddr {
        domain.lookup(req)
    }
}

/// The faux devices of the registered units, for the life of the kernel.
static FAUX: SetOnce<KVec<faux::Registration>> = SetOnce::new();

/// The index of the unit registered first, which the core asks first about every device.
static FIRST: SetOnce<usize> = SetOnce::new();

/// Registers `units` with the IOMMU core, for the life of the kernel (the driver is built in,
/// as the C driver, whose units also stay): the core then probes every PCI device and attaches
/// its default domain. Called once.
pub(crate) fn register(units: &[&'static Unit]) -> Result<KVec<&'static Device<Bound>>> {
    let mut fauxes = KVec::with_capacity(units.len(), GFP_KERNEL)?;
    for unit in units {
        fauxes.push(faux::Registration::new(&unit.name, None)?, GFP_KERNEL)?;
    }
    if !FAUX.populate(fauxes) {
        return Err(EBUSY);
    }
    if let Some(unit) = units.first() {
        FIRST.populate(unit.index);
    }
    let fauxes: &'static KVec<faux::Registration> = FAUX.as_ref().ok_or(EINVAL)?;
    let mut devs = KVec::with_capacity(units.len(), GFP_KERNEL)?;
    for (unit, faux) in units.iter().zip(fauxes.iter()) {
        let config = Config {
            name: &unit.name,
            fwnode: None,
            max_pasids: 0,
        };
        let reg = KBox::pin_init(
            Registration::<IntelIommu>::new_with_config(faux.as_ref().as_ref(), config, *unit),
            GFP_KERNEL,
        )?;
        // Never unregistered; the core's lists keep pointers into it.
        core::mem::forget(reg);
        pr_info!("{}: registered with the IOMMU core\n", unit.label());
        let dev: &'static Device<Bound> = faux.as_ref().as_ref();
        devs.push(dev, GFP_KERNEL)?;
    }
    Ok(devs)
}
