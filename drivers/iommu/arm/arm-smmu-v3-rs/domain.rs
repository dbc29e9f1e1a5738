// SPDX-License-Identifier: GPL-2.0

//! Domains: the static identity and blocking domains, and stage 2 paging domains.
//!
//! A paging domain owns an `io-pgtable` `ARM_64_LPAE_S2` table and a VMID. Attaching it to a
//! device installs a stage 2 STE for each of the device's streams; unmapping gathers the range
//! and invalidates it by IPA (with range commands when the SMMU has them) at `iotlb_sync`.

use kernel::{
    io::PhysAddr,
    iommu::{
        pgtable::{
            self,
            FlushOps,
            IoPageTable,
            ARM64LPAES2, //
        },
        AnyDomain,
        ClientDevice,
        Domain,
        DomainOps,
        IotlbGather,
        LookupRequest,
        MapRequest,
        PagingConfig,
        StaticDomainCell,
        UnmapRequest, //
    },
    prelude::*,
    sizes::{
        SZ_1G,
        SZ_2M,
        SZ_4K, //
    },
    sync::{
        Arc,
        ArcBorrow, //
    },
};

use crate::{
    hw::{
        attr::{
            Cacheability,
            Shareability, //
        },
        ste::{
            Eats,
            S2Granule,
            S2Table,
            Shcfg,
            Ste,
            StreamAttrs,
            Vtcr, //
        },
    },
    iommu::SmmuIommu,
    master::Master,
    smmu::Smmu,
};

/// The page and block sizes of paging domains: the 4KB granule (the kernel's page size).
pub(crate) const PGSIZE_BITMAP: usize = SZ_4K | SZ_2M | SZ_1G;

/// The identity domain: streams bypass translation.
pub(crate) struct Identity;

/// The blocking domain: streams abort. Also the release domain.
pub(crate) struct Blocked;

/// The static identity domain.
pub(crate) static IDENTITY: StaticDomainCell<Identity> = StaticDomainCell::identity(Identity);

/// The static blocking domain.
pub(crate) static BLOCKED: StaticDomainCell<Blocked> = StaticDomainCell::blocked(Blocked);

/// The per-device data of a client device.
fn master(dev: &ClientDevice<SmmuIommu>) -> Result<&Master> {
    dev.data().ok_or(ENODEV)
}

#[vtable]
impl DomainOps for Identity {
    type Iommu = SmmuIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        _old: Option<&AnyDomain>,
    ) -> Result {
        master(dev)?.install(&Ste::bypass(Shcfg::Incoming))
    }
}

#[vtable]
impl DomainOps for Blocked {
    type Iommu = SmmuIommu;

    fn attach_dev(
        _domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        _old: Option<&AnyDomain>,
    ) -> Result {
        master(dev)?.install(&Ste::abort())
    }
}

/// What the TLB maintenance of a stage 2 table needs: the SMMU and the table's VMID.
///
/// The VMID is freed when the last user (the domain and its page table) is gone, after
/// invalidating everything cached under it.
pub(crate) struct S2Tag {
    smmu: Arc<Smmu>,
    vmid: u16,
}

impl Drop for S2Tag {
    fn drop(&mut self) {
        if let Err(e) = self.smmu.invalidate_vmid(self.vmid) {
            dev_err!(
                self.smmu.dev(),
                "VMID {} invalidation failed: {:?}\n",
                self.vmid,
                e
            );
        }
        self.smmu.free_vmid(self.vmid);
    }
}

/// TLB maintenance requested by the page-table code.
pub(crate) struct S2Flush;

impl FlushOps for S2Flush {
    type Cookie = Arc<S2Tag>;

    fn tlb_flush_all(tag: ArcBorrow<'_, S2Tag>) {
        if let Err(e) = tag.smmu.invalidate_vmid(tag.vmid) {
            dev_err!(tag.smmu.dev(), "TLB invalidation failed: {:?}\n", e);
        }
    }

    fn tlb_flush_walk(tag: ArcBorrow<'_, S2Tag>, iova: usize, size: usize, granule: usize) {
        // CAST: Addresses and sizes are at most 64 bits wide.
        let r = tag
            .smmu
            .invalidate_s2(tag.vmid, iova as u64, size as u64, granule, false);
        if let Err(e) = r {
            dev_err!(tag.smmu.dev(), "TLB invalidation failed: {:?}\n", e);
        }
    }

    fn tlb_add_page(_tag: ArcBorrow<'_, S2Tag>, gather: &IotlbGather, iova: usize, granule: usize) {
        gather.add_range(iova, granule);
    }
}

/// A stage 2 paging domain.
pub(crate) struct S2Domain {
    tag: Arc<S2Tag>,
    pt: IoPageTable<'static, ARM64LPAES2, S2Flush>,
    /// The STE that attaches a stream to this domain.
    ste: Ste,
}

impl S2Domain {
    /// Allocates a domain with a new VMID and an empty table of `ias` input bits.
    pub(crate) fn new(smmu: &Arc<Smmu>) -> Result<(PagingConfig, Self)> {
        let f = &smmu.features;
        let oas = f.idr.oas_bits().ok_or(ENXIO)?;
        let ias = oas.min(48);
        let vmid = smmu.alloc_vmid()?;
        let tag = Arc::new(
            S2Tag {
                smmu: smmu.clone(),
                vmid,
            },
            GFP_KERNEL,
        )?;
        let config = pgtable::Config {
            quirks: 0,
            pgsize_bitmap: PGSIZE_BITMAP,
            ias,
            oas,
            coherent_walk: f.idr.coherent(),
        };
        let pt = IoPageTable::new_with_flush(smmu.dev(), config, tag.clone())?;
        let v = pt.vtcr();
        let granule = match v.tg {
            0 => S2Granule::Size4K,
            1 => S2Granule::Size64K,
            _ => S2Granule::Size16K,
        };
        let s2 = S2Table {
            vmid,
            vtcr: Vtcr {
                // CAST: The page-table code computes these fields within their widths.
                t0sz: v.tsz as u8,
                sl0: v.sl as u8,
                inner_cache: Cacheability::from_raw(u64::from(v.irgn)).ok_or(EINVAL)?,
                outer_cache: Cacheability::from_raw(u64::from(v.orgn)).ok_or(EINVAL)?,
                shareability: Shareability::from_raw(u64::from(v.sh)).ok_or(EINVAL)?,
                granule,
                ps: v.ps as u8,
            },
            // SAFETY: The table is dropped with this domain. The IOMMU core frees a domain only
            // once no device is attached to it, that is once no STE points at the table any
            // more, and `S2Tag::drop` then invalidates the VMID before it can be reused.
            ttb: unsafe { pt.vttbr() },
            big_endian: false,
            ptw: false,
            stall: false,
            record: true,
            fwb: false,
        };
        let attrs = StreamAttrs {
            eats: Eats::Abort,
            mev: false,
            shcfg: Shcfg::Incoming,
        };
        let ste = Ste::s2(&s2, &attrs)?;
        let paging = PagingConfig {
            pgsize_bitmap: PGSIZE_BITMAP,
            aperture_start: 0,
            aperture_end: (1u64 << ias) - 1,
            force_aperture: true,
            dirty_tracking: false,
        };
        Ok((paging, Self { tag, pt, ste }))
    }
}

#[vtable]
impl DomainOps for S2Domain {
    type Iommu = SmmuIommu;

    fn attach_dev(
        domain: &Domain<Self>,
        dev: &ClientDevice<SmmuIommu>,
        _old: Option<&AnyDomain>,
    ) -> Result {
        let m = master(dev)?;
        if !Arc::ptr_eq(m.smmu(), &domain.tag.smmu) {
            // The domain's table and VMID belong to another SMMU.
            return Err(EINVAL);
        }
        m.install(&domain.ste)
    }

    fn map_pages(domain: &Domain<Self>, req: &MapRequest, mapped: &mut usize) -> Result {
        domain.pt.map(req, mapped)
    }

    fn unmap_pages(domain: &Domain<Self>, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        domain.pt.unmap(req, gather)
    }

    fn iotlb_sync(domain: &Domain<Self>, gather: &IotlbGather) {
        if gather.is_empty() {
            return;
        }
        let tag = &domain.tag;
        // CAST: Addresses are at most 64 bits wide.
        let (start, end) = (gather.start() as u64, gather.end() as u64);
        let r = tag.smmu.invalidate_s2(
            tag.vmid,
            start,
            end - start + 1,
            gather.pgsize().max(SZ_4K),
            true,
        );
        if let Err(e) = r {
            dev_err!(tag.smmu.dev(), "TLB invalidation failed: {:?}\n", e);
        }
    }

    fn flush_iotlb_all(domain: &Domain<Self>) {
        S2Flush::tlb_flush_all(domain.tag.as_arc_borrow());
    }

    fn iova_to_phys(domain: &Domain<Self>, req: &LookupRequest) -> PhysAddr {
        domain.pt.iova_to_phys(req)
    }
}
