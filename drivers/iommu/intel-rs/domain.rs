// SPDX-License-Identifier: GPL-2.0

//! Domains: what attaching the identity, the blocked and a paging domain does, and the paging
//! domains themselves.
//!
//! A domain is attached to a device by writing the device's PASID 0 entry
//! ([`Master::set_rid_entry`]): pass-through for the identity domain, not present for the
//! blocked one, first-stage or second-stage translation through the domain's [`PageTable`] for
//! a paging domain. A paging domain is of the stage the C driver chooses
//! ([`Format::for_request`]): first stage where the unit has it (`ECAP.FSTS`), second stage for
//! a nest parent (`NEST_PARENT`) or where the unit has no first stage. It takes a domain ID on
//! every unit it is attached through, and gives it back when its last device there leaves; the
//! IOTLB invalidations of its unmaps go to each of those units with that ID: IOTLB
//! invalidations for a second-stage domain, PASID-based IOTLB invalidations of `RID_PASID` for
//! a first-stage one, as C's `cache_tag_flush_iotlb()` chooses.
//!
//! The `DomainOps` glue is in `iommu`.
//!
//! C reference: `blocking_domain`, `identity_domain`, `intel_iommu_domain_alloc_paging_flags()`,
//! `paging_domain_compatible()`, `domain_attach_iommu()`, `intel_iommu_tlb_sync()` and
//! `cache_tag_flush_iotlb()` in
//! [`drivers/iommu/intel/`](srctree/drivers/iommu/intel/).

use kernel::{
    io::PhysAddr,
    iommu::{
        self,
        AnyDomain,
        Domain,
        IotlbGather,
        LookupRequest,
        MapRequest,
        PagingConfig,
        UnmapRequest, //
    },
    new_spinlock_irq,
    prelude::*,
    sync::SpinLockIrq, //
};

use crate::{
    hw::{
        fspt,
        ids::{
            DomainId,
            Pasid, //
        },
        pasid::{
            FirstStage,
            PasidEntry,
            SecondStage,
            Translation, //
        },
        pt::{
            self,
            Format,
            Request, //
        },
        qi::{
            self,
            Desc,
            Drain,
            IotlbScope, //
        },
        regs::Agaw,
        sspt,
    },
    master::{
        DevTlb,
        Master, //
    },
    pgtable::{
        self,
        Node,
        PageTable, //
    },
    unit::{
        Unit,
        IDENTITY_DID, //
    },
};

/// Gives back the domain ID that `master`'s previous domain `old` held on its unit, and has
/// the domain forget the device's device TLB.
fn release_old(master: &Master, old: Option<&AnyDomain>) {
    if let Some(paging) = old.and_then(|d| d.downcast::<PagingDomain>()) {
        paging.put_did(master.unit, master.dev_tlb());
    }
}

/// Attaches `master` to the identity domain: a pass-through PASID 0 entry; `old` was its
/// domain.
pub(crate) fn attach_identity(master: &Master, old: Option<&AnyDomain>) -> Result {
    let unit = master.unit;
    if !unit.ecap.pass_through() {
        return Err(EOPNOTSUPP);
    }
    let entry = PasidEntry {
        did: IDENTITY_DID,
        aw: unit.agaw,
        translation: Translation::PassThrough,
        pwsnp: unit.ecap.smpwc(),
        pgsnp: false,
        fpd: false,
    };
    master.set_rid_entry(Some(&entry))?;
    release_old(master, old);
    Ok(())
}

/// Attaches `master` to the blocked domain: PASID 0's entry not present; `old` was its domain.
pub(crate) fn attach_blocked(master: &Master, old: Option<&AnyDomain>) -> Result {
    master.set_rid_entry(None)?;
    release_old(master, old);
    Ok(())
}

/// A paging domain's presence on one unit.
struct Attachment {
    /// The unit.
    unit: &'static Unit,
    /// The domain's ID there.
    did: DomainId,
    /// The number of the domain's devices behind the unit.
    users: usize,
    /// Where the device-TLB invalidations of those devices that use ATS go.
    dev_tlbs: KVec<DevTlb>,
}

/// A paging domain, first stage or second stage.
#[pin_data]
pub(crate) struct PagingDomain {
    /// The page table.
    #[pin]
    pt: SpinLockIrq<PageTable>,
    /// The units the domain is attached through, with its domain ID on each.
    #[pin]
    attached: SpinLockIrq<KVec<Attachment>>,
    /// The stage: the format of the table's entries.
    format: Format,
    /// The page table's depth (second stage: its `AW`), which every unit the domain is attached
    /// through must walk.
    agaw: Agaw,
    /// The number of levels of a first-stage table: 4 or 5 (`FSPM`).
    levels: u32,
    /// The CPU caches are written back after each table update: the table was made for a unit
    /// that does not snoop its page walks.
    flush: bool,
    /// The table root, for the PASID entries.
    root: u64,
    /// The page sizes the domain maps (`pgsize_bitmap`), which every unit it is attached
    /// through must walk.
    page_sizes: u64,
    /// What the domain was made for, which every unit it is attached through must take.
    req: Request,
}

impl PagingDomain {
    /// A new paging domain for `req` whose table `unit` can walk, of the stage the C driver
    /// chooses ([`Format::for_request`]): first stage if the unit offers it (`ECAP.FSTS`) and
    /// `req` is not for a nest parent, else second stage (`ECAP.SSTS`; `ECAP.NEST` for a nest
    /// parent, whose leaves are all writable, [`Request::leaf_write`]).
    ///
    /// A first-stage table has four levels, or five where the unit walks them and its `MGAW`
    /// is above 48 bits; the domain maps the lower canonical half (`[0, 2^47)` with four
    /// levels); its pages are 4KB, 2MB and, with `CAP.FS1GP`, 1GB; the CPU caches are written
    /// back after table updates unless the unit snoops its page walks (`ECAP.SMPWC`). A
    /// second-stage table has the unit's `AGAW` depth and maps `[0, 2^width)`; its large
    /// pages are those of `CAP.SLLPS`; the caches are written back unless `ECAP.C`.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` where the unit cannot give a domain for `req`, as C.
    pub(crate) fn alloc(unit: &'static Unit, req: Request) -> Result<Pin<KBox<Domain<Self>>>> {
        let format = Format::for_request(unit.ecap, req).ok_or(EOPNOTSUPP)?;
        let (levels, width, flush, page_sizes) = match format {
            Format::First => {
                let levels = fspt::levels(unit.cap);
                (
                    levels,
                    fspt::input_bits(unit.cap, levels),
                    !unit.ecap.smpwc(),
                    fspt::page_sizes(unit.cap),
                )
            }
            Format::Second => (
                unit.agaw.levels(),
                unit.agaw.width(),
                unit.needs_flush(),
                sspt::page_sizes(unit.cap),
            ),
        };
        let table = PageTable::new(format, levels, width, flush)?;
        let agaw = unit.agaw;
        let root = table.root();
        let config = PagingConfig {
            pgsize_bitmap: usize::try_from(page_sizes)?,
            aperture_start: 0,
            aperture_end: (1u64 << width) - 1,
            force_aperture: true,
            dirty_tracking: false,
        };
        Domain::new(
            config,
            try_pin_init!(Self {
                pt <- new_spinlock_irq!(table, "intel_iommu_rs::pt"),
                attached <- new_spinlock_irq!(KVec::new(), "intel_iommu_rs::attached"),
                format,
                agaw,
                levels,
                flush,
                root,
                page_sizes,
                req,
            }),
        )
    }

    /// Takes a reference on the domain's ID on `unit` for a device, allocating one if it has
    /// none there; `dev_tlb`: where the device's device-TLB invalidations go, if it uses ATS,
    /// which the domain's IOTLB invalidations are then followed by.
    fn get_did(&self, unit: &'static Unit, dev_tlb: Option<DevTlb>) -> Result<DomainId> {
        let mut attached = self.attached.lock();
        if let Some(a) = attached.iter_mut().find(|a| core::ptr::eq(a.unit, unit)) {
            if let Some(t) = dev_tlb {
                a.dev_tlbs.push(t, GFP_ATOMIC)?;
            }
            a.users += 1;
            return Ok(a.did);
        }
        let mut dev_tlbs = KVec::new();
        if let Some(t) = dev_tlb {
            dev_tlbs.push(t, GFP_ATOMIC)?;
        }
        let did = unit.alloc_did()?;
        let attachment = Attachment {
            unit,
            did,
            users: 1,
            dev_tlbs,
        };
        if let Err(e) = attached.push(attachment, GFP_ATOMIC) {
            drop(attached);
            unit.free_did(did);
            return Err(e.into());
        }
        Ok(did)
    }

    /// Drops a reference taken by [`PagingDomain::get_did`] with `dev_tlb` (forgotten); the
    /// last one gives the ID back to the unit. The device's PASID entry must be torn down, and
    /// the IOTLB entries tagged with the ID invalidated, before.
    fn put_did(&self, unit: &'static Unit, dev_tlb: Option<DevTlb>) {
        let mut attached = self.attached.lock();
        let Some(i) = attached.iter().position(|a| core::ptr::eq(a.unit, unit)) else {
            return;
        };
        if let Some(t) = dev_tlb {
            if let Some(j) = attached[i].dev_tlbs.iter().position(|d| *d == t) {
                let _ = attached[i].dev_tlbs.remove(j);
            }
        }
        attached[i].users -= 1;
        if attached[i].users == 0 {
            if let Ok(a) = attached.remove(i) {
                a.unit.free_did(a.did);
            }
        }
    }

    /// Invalidates the IOTLB entries of `start..=last` on every unit the domain is attached
    /// through, as C chooses: for a second-stage domain page-selective where the unit can,
    /// else domain-selective; for a first-stage one a PASID-based invalidation of `RID_PASID`
    /// in the domain, page-selective unless the range is the whole address space. The device
    /// TLBs of the domain's devices that use ATS are invalidated after the IOTLB, as C's
    /// `cache_tag_flush_range()` does.
    pub(crate) fn flush_range(&self, start: u64, last: u64) {
        let attached = self.attached.lock();
        for a in attached.iter() {
            let desc = match self.format {
                Format::Second => Desc::iotlb(
                    qi::iotlb_scope(a.unit.cap, a.did, start, last, false),
                    Drain::from_cap(a.unit.cap),
                ),
                Format::First => Desc::pasid_iotlb(
                    a.did,
                    Pasid::NONE,
                    qi::pasid_iotlb_pages(start, last, false),
                ),
            };
            Self::invalidate(a, desc, start, last);
        }
    }

    /// Invalidates every IOTLB entry of the domain, and the device TLBs of its devices.
    pub(crate) fn flush_all(&self) {
        let attached = self.attached.lock();
        for a in attached.iter() {
            let desc = match self.format {
                Format::Second => {
                    Desc::iotlb(IotlbScope::Domain(a.did), Drain::from_cap(a.unit.cap))
                }
                Format::First => Desc::pasid_iotlb(a.did, Pasid::NONE, None),
            };
            Self::invalidate(a, desc, 0, u64::MAX);
        }
    }

    /// Submits the IOTLB invalidation `iotlb` to the unit of `a`, then the device-TLB
    /// invalidations of `start..=last` of the domain's devices behind it that use ATS, two
    /// descriptors per submission (each waits for its descriptors). A failure is logged (the
    /// queue reports what happened, and the core's callers cannot handle an error).
    fn invalidate(
        a: &Attachment,
        iotlb: core::result::Result<Desc, crate::hw::Error>,
        start: u64,
        last: u64,
    ) {
        let log = |e: Error| {
            pr_err!(
                "{}: invalidation for domain {} failed: {:?}\n",
                a.unit.label(),
                a.did.raw(),
                e
            );
        };
        let descs = Iterator::chain(
            core::iter::once(iotlb),
            a.dev_tlbs.iter().map(|t| t.desc(start, last)),
        );
        let mut pending: Option<Desc> = None;
        for desc in descs {
            match (desc, pending.take()) {
                (Err(e), p) => {
                    pending = p;
                    log(e.into());
                }
                (Ok(d), None) => pending = Some(d),
                (Ok(d), Some(p)) => a.unit.submit_sync(&[p, d]).unwrap_or_else(log),
            }
        }
        if let Some(p) = pending {
            a.unit.submit_sync(&[p]).unwrap_or_else(log);
        }
    }

    /// Attaches `master` (PASID 0 of its requests) to the domain; `old` was its domain.
    pub(crate) fn attach(&self, master: &Master, old: Option<&AnyDomain>) -> Result {
        let unit = master.unit;
        // As C's `paging_domain_compatible()`: the unit must walk the table's stage, depth and
        // large pages, snoop its page walks if the table is not flushed, and nest for a nest
        // parent.
        let compatible = match self.format {
            Format::Second => {
                unit.ecap.ssts()
                    && self.req.unit_takes(unit.ecap)
                    && unit.agaw == self.agaw
                    && self.page_sizes & !sspt::page_sizes(unit.cap) == 0
            }
            Format::First => {
                unit.ecap.fsts()
                    && (self.flush || unit.ecap.smpwc())
                    && (self.levels == 4 || unit.cap.fs_5level())
                    && self.page_sizes & !fspt::page_sizes(unit.cap) == 0
            }
        };
        if !compatible {
            return Err(EINVAL);
        }
        let did = self.get_did(unit, master.dev_tlb())?;
        let translation = match self.format {
            Format::Second => Translation::SecondStage(SecondStage {
                table: self.root,
                ssade: false,
            }),
            Format::First => Translation::FirstStage(FirstStage::new(self.root, self.levels == 5)),
        };
        let entry = PasidEntry {
            did,
            // First stage: the unit's, as C writes it.
            aw: match self.format {
                Format::Second => self.agaw,
                Format::First => unit.agaw,
            },
            translation,
            pwsnp: unit.ecap.smpwc(),
            pgsnp: false,
            fpd: false,
        };
        if let Err(e) = master.set_rid_entry(Some(&entry)) {
            self.put_did(unit, master.dev_tlb());
            return Err(e);
        }
        release_old(master, old);
        Ok(())
    }

    /// Maps the pages of `req` (4KB, 2MB or 1GB, as `pgsize_bitmap` offers); adds what it
    /// mapped to `mapped`.
    ///
    /// Tables are allocated outside the table's lock, with the request's allocation flags.
    pub(crate) fn map(&self, req: &MapRequest, mapped: &mut usize) -> Result {
        let prot = req.prot();
        let read = prot & iommu::prot::READ != 0;
        let write = self.req.leaf_write(prot & iommu::prot::WRITE != 0);
        let size = u64::try_from(req.pgsize())?;
        let level = pt::level_of(size).ok_or(EINVAL)?;
        if self.page_sizes & size == 0 {
            return Err(EINVAL);
        }
        let mut spare: Option<KBox<Node>> = None;
        for i in 0..req.pgcount() {
            let offset = i * req.pgsize();
            let iova = u64::try_from(req.iova() + offset)?;
            let paddr: PhysAddr = req.paddr() + PhysAddr::try_from(offset)?;
            pgtable::map(
                &self.pt,
                iova,
                paddr,
                level,
                read,
                write,
                req.gfp(),
                &mut spare,
            )?;
            *mapped += req.pgsize();
        }
        Ok(())
    }

    /// Unmaps the pages of `req` up to the first one that is not mapped, adds their range to
    /// `gather` and returns the number of bytes unmapped. A larger page than `req`'s is
    /// unmapped whole when `req` covers it, as C does; one that `req` would cut stops the
    /// unmap there.
    pub(crate) fn unmap(&self, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        let (Ok(size), Ok(start)) = (u64::try_from(req.pgsize()), u64::try_from(req.iova())) else {
            return 0;
        };
        let Some(level) = pt::level_of(size) else {
            return 0;
        };
        let Some(last) = u64::try_from(req.pgcount())
            .ok()
            .and_then(|n| n.checked_mul(size))
            .and_then(|len| len.checked_sub(1))
            .and_then(|len| start.checked_add(len))
        else {
            return 0;
        };
        let mut at = start;
        {
            let mut pt = self.pt.lock();
            while at <= last {
                match pt.unmap_page(at, level, last) {
                    Ok(Some(n)) => at += n,
                    _ => break,
                }
            }
        }
        let unmapped = usize::try_from(at - start).unwrap_or(0);
        if unmapped != 0 {
            gather.add_range(req.iova(), unmapped);
        }
        unmapped
    }

    /// Invalidates the IOTLB entries of the range `gather` holds.
    pub(crate) fn sync(&self, gather: &IotlbGather) {
        if gather.start() > gather.end() {
            return;
        }
        let (Ok(start), Ok(last)) = (u64::try_from(gather.start()), u64::try_from(gather.end()))
        else {
            return;
        };
        self.flush_range(start, last);
    }

    /// The physical address `req`'s IOVA translates to, 0 if it is not mapped.
    pub(crate) fn lookup(&self, req: &LookupRequest) -> PhysAddr {
        self.pt.lock().lookup(req.iova()).unwrap_or(0)
    }
}
