// SPDX-License-Identifier: GPL-2.0

//! A device the driver translates: its requester IDs, its PASID directory and table, and the
//! PASID table entry its requests without a PASID use (`RID_PASID`, PASID 0).
//!
//! Every requester ID the device's DMA may carry (its own and its DMA aliases) gets a
//! scalable-mode context entry pointing to the device's PASID directory of 128 entries (the
//! smallest, `PDTS` 0), whose first entry points to one PASID table of 64 entries. Only PASID 0
//! is used so far: attaching a domain writes its entry there.
//!
//! A PCI function the firmware lets use ATS, on a unit with device-TLB invalidation
//! (`ECAP.DT`), has it enabled while the driver holds it (`DTE` in its context entries): its
//! device TLB is invalidated whenever its PASID 0 entry is torn down, and with every IOTLB
//! invalidation of the domain it is attached to ([`Master::dev_tlb`]).
//!
//! C reference: `intel_pasid_alloc_table()`, `intel_pasid_setup_sm_context()`,
//! `intel_pasid_setup_second_level()`, `intel_pasid_setup_pass_through()` and
//! `intel_pasid_tear_down_entry()` in
//! [`drivers/iommu/intel/pasid.c`](srctree/drivers/iommu/intel/pasid.c).

use kernel::{
    iommu::pci::Ats,
    new_mutex,
    phys_mem::PhysMem,
    prelude::*,
    sync::{
        atomic::Relaxed,
        Mutex, //
    },
};

use crate::{
    hw::{
        context::SmContextEntry,
        ids::{
            DomainId,
            Pasid,
            SourceId, //
        },
        pasid::{
            self,
            PasidEntry,
            Translation,
            PASID_QWORDS, //
        },
        qi::{
            self,
            Desc,
            Drain,
            IotlbScope,
            PasidCacheScope, //
        },
    },
    rmrr,
    unit::Unit,
};

/// The PASID directory's entries: the smallest directory (`PDTS` 0).
const DIR_ENTRIES: usize = 128;

/// The driver's data of a client device.
pub(crate) struct Master {
    /// The unit that translates the device.
    pub(crate) unit: &'static Unit,
    /// The requester IDs of the device's DMA, its own first.
    sids: KVec<SourceId>,
    /// The PASID directory and table; `None` only once they are leaked (see `drop`).
    tables: Option<PasidTables>,
    /// PASID 0's entry while it is present.
    rid: Pin<KBox<Mutex<Option<RidEntry>>>>,
    /// The reserved memory regions (RMRRs) the device uses, which the core keeps identity
    /// mapped for it.
    pub(crate) rmrrs: KVec<rmrr::Region>,
    /// ATS, where the device uses it: enabled.
    ats: Option<MasterAts>,
}

/// The ATS of a device and where its device-TLB invalidations go.
pub(crate) struct MasterAts {
    /// The function's ATS, prepared; enabled by [`Master::new`].
    ats: Ats,
    /// Where its invalidations go.
    target: DevTlb,
}

impl MasterAts {
    /// The ATS of the device `sid` (its own requester ID) whose physical function is `pfsid`
    /// (0 unless the unit throttles device-TLB invalidations per physical function,
    /// `ECAP.DIT`).
    pub(crate) fn new(ats: Ats, sid: SourceId, pfsid: SourceId) -> Self {
        let qdep = ats.queue_depth();
        Self {
            ats,
            target: DevTlb { sid, pfsid, qdep },
        }
    }

    /// Enables the function's ATS where its untranslated requests are page aligned (as C's
    /// `iommu_enable_pci_ats()`); whether it is enabled. Messages name `unit`.
    fn enable(&self, unit: &Unit) -> bool {
        if !self.ats.page_aligned() {
            pr_info!(
                "{}: {}: ATS not enabled: requests not page aligned\n",
                unit.label(),
                crate::Show(&self.target.sid)
            );
            return false;
        }
        if let Err(e) = self.ats.enable() {
            pr_err!(
                "{}: {}: cannot enable ATS: {:?}\n",
                unit.label(),
                crate::Show(&self.target.sid),
                e
            );
            return false;
        }
        true
    }
}

/// Where a device's device-TLB invalidations go (C's `CACHE_TAG_DEVTLB` tag).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DevTlb {
    /// The device's requester ID.
    pub(crate) sid: SourceId,
    /// Its physical function's, for `ECAP.DIT`; else 0.
    pub(crate) pfsid: SourceId,
    /// Its invalidate queue depth.
    pub(crate) qdep: u8,
}

impl DevTlb {
    /// The device-TLB invalidation of `start..=last` (the whole address space with
    /// `0..=u64::MAX`), aligned as C's `cache_tag_flush_devtlb_psi()` aligns it.
    pub(crate) fn desc(
        &self,
        start: u64,
        last: u64,
    ) -> core::result::Result<Desc, crate::hw::Error> {
        let (addr, order) = qi::psi_range(start, last);
        Desc::dev_tlb(self.sid, self.pfsid, self.qdep, addr, order)
    }
}

/// What tearing down a present PASID 0 entry needs to know of it.
#[derive(Clone, Copy)]
struct RidEntry {
    /// Its domain ID.
    did: DomainId,
    /// Its IOTLB entries are invalidated PASID-based (first-stage and pass-through entries).
    pasid_based: bool,
}

/// A PASID directory and the one PASID table it points to.
struct PasidTables {
    /// The PASID directory.
    dir: PhysMem,
    /// The PASID table of PASIDs 0-63.
    table: PhysMem,
}

impl Master {
    /// Sets up the device whose DMA carries the requester IDs `sids` on `unit`: its PASID
    /// directory and table, empty (its DMA is blocked once translation is on), and the context
    /// entry of every requester ID.
    pub(crate) fn new(
        unit: &'static Unit,
        sids: KVec<SourceId>,
        rmrrs: KVec<rmrr::Region>,
        ats: Option<MasterAts>,
    ) -> Result<Self> {
        let dir = PhysMem::new_zeroed(DIR_ENTRIES * 8)?;
        let table = PhysMem::new_zeroed(pasid::PASID_TABLE_ENTRIES * PASID_QWORDS * 8)?;
        unit.flush(&table, 0..table.len() / 8)?;
        dir.words()[0].store(pasid::dir_entry(table.phys(), false)?, Relaxed);
        unit.flush(&dir, 0..dir.len() / 8)?;
        let pdts = SmContextEntry::pdts_for(DIR_ENTRIES).ok_or(EINVAL)?;
        let tables = PasidTables { dir, table };
        let dir_phys = tables.dir.phys();
        let mut master = Self {
            unit,
            sids,
            tables: Some(tables),
            rid: KBox::pin_init(new_mutex!(None, "intel_iommu_rs::rid"), GFP_KERNEL)?,
            rmrrs,
            ats,
        };
        let dte = master.ats.is_some();
        // On error, dropping `master` clears the entries set so far.
        for sid in &master.sids {
            unit.set_context(*sid, dir_phys, pdts, dte)?;
        }
        // ATS on once the context entries allow it, before the first attach (C: in
        // probe_finalize, after the default domain's), so that every domain the device is
        // attached to knows it as it stays. PASIDs, which the PCIe specification wants enabled
        // before ATS, are never enabled by this driver. Not enabled, it is dropped (`DTE`
        // stays set, as C leaves it).
        master.ats = master.ats.take().filter(|a| a.enable(unit));
        Ok(master)
    }

    /// Where the device's device-TLB invalidations go, if it uses ATS.
    pub(crate) fn dev_tlb(&self) -> Option<DevTlb> {
        self.ats.as_ref().map(|a| a.target)
    }

    /// Replaces PASID 0's entry with `entry` (`None`: not present, the device's DMA without a
    /// PASID is blocked).
    ///
    /// A present entry is torn down first, as C's `intel_pasid_tear_down_entry()`: cleared,
    /// then the PASID cache entry and the IOTLB entries of its domain ID invalidated (as C:
    /// PASID-based, every entry of `RID_PASID` in the domain, for first-stage and pass-through
    /// entries; domain-selective for second-stage ones), so that nothing cached still
    /// translates with it. The new entry is written
    /// while not present, its present bit last; with caching mode refused, a not-present entry
    /// is never cached, so it needs no invalidation.
    ///
    /// Returns the domain ID the old entry had.
    pub(crate) fn set_rid_entry(&self, entry: Option<&PasidEntry>) -> Result<Option<DomainId>> {
        let new = entry.map(|e| e.encode()).transpose()?;
        let table = &self.tables.as_ref().ok_or(ENODEV)?.table;
        let mut rid = self.rid.lock();
        let words = &table.words()[..PASID_QWORDS];
        let old = *rid;
        if let Some(RidEntry { did, pasid_based }) = old {
            // The present bit is in the first qword: it goes first.
            for w in words {
                w.store(0, Relaxed);
            }
            self.unit.flush(table, 0..PASID_QWORDS)?;
            *rid = None;
            let descs = [
                Desc::pasid_cache(PasidCacheScope::Pasid(did, Pasid::NONE)),
                if pasid_based {
                    Desc::pasid_iotlb(did, Pasid::NONE, None)?
                } else {
                    Desc::iotlb(IotlbScope::Domain(did), Drain::from_cap(self.unit.cap))?
                },
            ];
            self.unit.submit_sync(&descs)?;
            // Then what the device cached, as C's `devtlb_invalidation_with_pasid()`.
            if let Some(t) = self.dev_tlb() {
                self.unit.submit_sync(&[t.desc(0, u64::MAX)?])?;
            }
        }
        if let (Some(w), Some(e)) = (new, entry) {
            for i in Iterator::chain(1..PASID_QWORDS, core::iter::once(0)) {
                words[i].store(w[i], Relaxed);
            }
            self.unit.flush(table, 0..PASID_QWORDS)?;
            let pasid_based = matches!(
                e.translation,
                Translation::FirstStage(_) | Translation::PassThrough
            );
            *rid = Some(RidEntry {
                did: e.did,
                pasid_based,
            });
        }
        Ok(old.map(|r| r.did))
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        // ATS off before the context entries go, as C's `intel_iommu_release_device()`.
        if let Some(a) = &self.ats {
            a.ats.disable();
        }
        // The core attached the release (blocked) domain first, so PASID 0's entry is clear;
        // clearing the context entries invalidates what the unit cached through them before
        // the directory and the table are freed.
        for sid in &self.sids {
            if self.unit.clear_context(*sid).is_err() {
                // The unit may still walk the tables: keep them rather than free them under
                // it.
                pr_err!(
                    "{}: cannot clear the context entry of {}: its PASID tables are leaked\n",
                    self.unit.label(),
                    crate::Show(sid)
                );
                core::mem::forget(self.tables.take());
                return;
            }
        }
    }
}
