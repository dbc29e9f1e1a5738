// SPDX-License-Identifier: GPL-2.0

//! Domains: what attaching the identity, the blocked and a second-stage paging domain does,
//! and the paging domains themselves.
//!
//! A domain is attached to a device by writing the device's PASID 0 entry
//! ([`Master::set_rid_entry`]): pass-through for the identity domain, not present for the
//! blocked one, second-stage translation through the domain's [`PageTable`] for a paging
//! domain. A paging domain takes a domain ID on every unit it is attached through, and gives it
//! back when its last device there leaves; the IOTLB invalidations of its unmaps go to each of
//! those units with that ID.
//!
//! The `DomainOps` glue is in `iommu`.
//!
//! C reference: `blocking_domain`, `identity_domain`, `paging_domain_alloc()`,
//! `domain_attach_iommu()` and `intel_iommu_tlb_sync()` in
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
        ids::DomainId,
        pasid::{
            PasidEntry,
            SecondStage,
            Translation, //
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
    master::Master,
    pgtable::{
        MapStep,
        Node,
        PageTable, //
    },
    unit::{
        Unit,
        IDENTITY_DID, //
    },
};

/// Gives back the domain ID `old` that a device's previous domain held on `unit`.
fn release_old(unit: &'static Unit, old: Option<&AnyDomain>) {
    if let Some(paging) = old.and_then(|d| d.downcast::<SsDomain>()) {
        paging.put_did(unit);
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
    release_old(unit, old);
    Ok(())
}

/// Attaches `master` to the blocked domain: PASID 0's entry not present; `old` was its domain.
pub(crate) fn attach_blocked(master: &Master, old: Option<&AnyDomain>) -> Result {
    master.set_rid_entry(None)?;
    release_old(master.unit, old);
    Ok(())
}

/// What every page of a map request gets.
struct Page {
    /// Read access.
    read: bool,
    /// Write access.
    write: bool,
    /// How to allocate tables.
    gfp: kernel::alloc::Flags,
}

/// A paging domain's presence on one unit.
struct Attachment {
    /// The unit.
    unit: &'static Unit,
    /// The domain's ID there.
    did: DomainId,
    /// The number of the domain's devices behind the unit.
    users: usize,
}

/// A second-stage paging domain.
#[pin_data]
pub(crate) struct SsDomain {
    /// The page table.
    #[pin]
    pt: SpinLockIrq<PageTable>,
    /// The units the domain is attached through, with its domain ID on each.
    #[pin]
    attached: SpinLockIrq<KVec<Attachment>>,
    /// The page table's depth, which every unit the domain is attached through must walk.
    agaw: Agaw,
    /// The table root, for the PASID entries.
    root: u64,
    /// The page sizes the domain maps (`pgsize_bitmap`), which every unit it is attached
    /// through must walk.
    page_sizes: u64,
}

impl SsDomain {
    /// A new paging domain whose table `unit` can walk.
    pub(crate) fn alloc(unit: &'static Unit) -> Result<Pin<KBox<Domain<Self>>>> {
        let table = PageTable::new(unit.agaw, unit.needs_flush())?;
        let agaw = table.agaw();
        let root = table.root();
        let page_sizes = sspt::page_sizes(unit.cap);
        let config = PagingConfig {
            pgsize_bitmap: usize::try_from(page_sizes)?,
            aperture_start: 0,
            aperture_end: (1u64 << agaw.width()) - 1,
            force_aperture: true,
            dirty_tracking: false,
        };
        Domain::new(
            config,
            try_pin_init!(Self {
                pt <- new_spinlock_irq!(table, "intel_iommu_rs::pt"),
                attached <- new_spinlock_irq!(KVec::new(), "intel_iommu_rs::attached"),
                agaw,
                root,
                page_sizes,
            }),
        )
    }

    /// Takes a reference on the domain's ID on `unit`, allocating one if it has none there.
    fn get_did(&self, unit: &'static Unit) -> Result<DomainId> {
        let mut attached = self.attached.lock();
        if let Some(a) = attached.iter_mut().find(|a| core::ptr::eq(a.unit, unit)) {
            a.users += 1;
            return Ok(a.did);
        }
        let did = unit.alloc_did()?;
        let attachment = Attachment {
            unit,
            did,
            users: 1,
        };
        if let Err(e) = attached.push(attachment, GFP_ATOMIC) {
            drop(attached);
            unit.free_did(did);
            return Err(e.into());
        }
        Ok(did)
    }

    /// Drops a reference taken by [`SsDomain::get_did`]; the last one gives the ID back to the
    /// unit. The device's PASID entry must be torn down, and the IOTLB entries tagged with the
    /// ID invalidated, before.
    fn put_did(&self, unit: &'static Unit) {
        let mut attached = self.attached.lock();
        let Some(i) = attached.iter().position(|a| core::ptr::eq(a.unit, unit)) else {
            return;
        };
        attached[i].users -= 1;
        if attached[i].users == 0 {
            if let Ok(a) = attached.remove(i) {
                a.unit.free_did(a.did);
            }
        }
    }

    /// Invalidates the IOTLB entries of `start..=last` on every unit the domain is attached
    /// through: page-selective where the unit can, else domain-selective (C's choice).
    pub(crate) fn flush_range(&self, start: u64, last: u64) {
        let attached = self.attached.lock();
        for a in attached.iter() {
            let scope = qi::iotlb_scope(a.unit.cap, a.did, start, last, false);
            Self::invalidate(a, scope);
        }
    }

    /// Invalidates every IOTLB entry of the domain.
    pub(crate) fn flush_all(&self) {
        let attached = self.attached.lock();
        for a in attached.iter() {
            Self::invalidate(a, IotlbScope::Domain(a.did));
        }
    }

    /// Submits one IOTLB invalidation to the unit of `a`; a failure is logged (the queue
    /// reports what happened, and the core's callers cannot handle an error).
    fn invalidate(a: &Attachment, scope: IotlbScope) {
        let res = Desc::iotlb(scope, Drain::from_cap(a.unit.cap))
            .map_err(Error::from)
            .and_then(|d| a.unit.submit_sync(&[d]));
        if let Err(e) = res {
            pr_err!(
                "{}: IOTLB invalidation of domain {} failed: {:?}\n",
                a.unit.label(),
                a.did.raw(),
                e
            );
        }
    }

    /// Attaches `master` (PASID 0 of its requests) to the domain; `old` was its domain.
    pub(crate) fn attach(&self, master: &Master, old: Option<&AnyDomain>) -> Result {
        let unit = master.unit;
        // As C's `paging_domain_compatible()`: the unit must walk the table's depth and its
        // large pages.
        if unit.agaw != self.agaw || self.page_sizes & !sspt::page_sizes(unit.cap) != 0 {
            return Err(EINVAL);
        }
        let did = self.get_did(unit)?;
        let entry = PasidEntry {
            did,
            aw: self.agaw,
            translation: Translation::SecondStage(SecondStage {
                table: self.root,
                ssade: false,
            }),
            pwsnp: unit.ecap.smpwc(),
            pgsnp: false,
            fpd: false,
        };
        if let Err(e) = master.set_rid_entry(Some(&entry)) {
            self.put_did(unit);
            return Err(e);
        }
        release_old(unit, old);
        Ok(())
    }

    /// Maps the pages of `req` (4KB, 2MB or 1GB, as `pgsize_bitmap` offers); adds what it
    /// mapped to `mapped`.
    ///
    /// Tables are allocated outside the table's lock, with the request's allocation flags.
    pub(crate) fn map(&self, req: &MapRequest, mapped: &mut usize) -> Result {
        let prot = req.prot();
        let page = Page {
            read: prot & iommu::prot::READ != 0,
            write: prot & iommu::prot::WRITE != 0,
            gfp: req.gfp(),
        };
        let size = u64::try_from(req.pgsize())?;
        let level = sspt::level_of(size).ok_or(EINVAL)?;
        if self.page_sizes & size == 0 {
            return Err(EINVAL);
        }
        let mut spare: Option<KBox<Node>> = None;
        for i in 0..req.pgcount() {
            let offset = i * req.pgsize();
            let iova = u64::try_from(req.iova() + offset)?;
            let paddr: PhysAddr = req.paddr() + PhysAddr::try_from(offset)?;
            self.map_one(iova, paddr, level, &page, &mut spare)?;
            *mapped += req.pgsize();
        }
        Ok(())
    }

    /// Maps the page of `level` at `paddr` at `iova`. Where a table is in the way of a large
    /// page (smaller mappings are or were there), maps its range with pages of the next level
    /// down instead, all or none of them.
    fn map_one(
        &self,
        iova: u64,
        paddr: u64,
        level: u32,
        page: &Page,
        spare: &mut Option<KBox<Node>>,
    ) -> Result {
        loop {
            let step = self
                .pt
                .lock()
                .map_page(iova, paddr, level, page.read, page.write, spare)?;
            match step {
                MapStep::Done => return Ok(()),
                MapStep::NeedTable(l) => *spare = Some(Node::new(l, page.gfp)?),
                MapStep::Occupied if level > 1 => break,
                MapStep::Occupied => return Err(EEXIST),
            }
        }
        let small = sspt::page_size(level - 1);
        for j in 0..sspt::ENTRIES as u64 {
            let res = self.map_one(iova + j * small, paddr + j * small, level - 1, page, spare);
            if let Err(e) = res {
                // Take back what was mapped, which no device was given yet.
                let last = iova + j * small;
                let mut pt = self.pt.lock();
                let mut at = iova;
                while at < last {
                    match pt.unmap_page(at, level - 1, last - 1) {
                        Ok(Some(n)) => at += n,
                        _ => break,
                    }
                }
                return Err(e);
            }
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
        let Some(level) = sspt::level_of(size) else {
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
