// SPDX-License-Identifier: GPL-2.0

//! TLB maintenance: the ASIDs and VMIDs that tag the TLB entries of domains, and their
//! invalidation, whole or by address range (range commands where the SMMU has them).

use core::sync::atomic::Ordering;

use kernel::{
    id_pool::IdPool,
    prelude::*,
    sync::Mutex, //
};

use crate::hw::{
    cmd::{
        AddrTlbi,
        Cmd, //
    },
    tlbi::{
        RangeRequest,
        TlbiRange, //
    },
};

use super::Smmu;

/// How many commands one range invalidation issues per `CMD_SYNC`.
const TLBI_BATCH: usize = 16;

/// Takes the lowest free ID above 0 from `pool`; `ENOSPC` if there is none within 16 bits.
fn alloc_id(pool: &Mutex<IdPool>) -> Result<u16> {
    let mut pool = pool.lock();
    let id = pool.find_unused_id(1).ok_or(ENOSPC)?.acquire();
    u16::try_from(id).map_err(|_| {
        pool.release_id(id);
        ENOSPC
    })
}

impl Smmu {
    /// Allocates a VMID (never 0).
    pub(crate) fn alloc_vmid(&self) -> Result<u16> {
        alloc_id(&self.vmids)
    }

    /// Frees a VMID once nothing can use it any more.
    pub(crate) fn free_vmid(&self, vmid: u16) {
        self.vmids.lock().release_id(usize::from(vmid));
    }

    /// Allocates an ASID (never 0).
    pub(crate) fn alloc_asid(&self) -> Result<u16> {
        alloc_id(&self.asids)
    }

    /// Frees an ASID once nothing can use it any more.
    pub(crate) fn free_asid(&self, asid: u16) {
        self.asids.lock().release_id(usize::from(asid));
    }

    /// Invalidates every stage 1 TLB entry tagged with `asid` (in VMID 0, that of stage 1 only
    /// streams).
    pub(crate) fn invalidate_asid(&self, asid: u16) -> Result {
        self.issue_sync(&[Cmd::tlbi_nh_asid(asid, 0)])
    }

    /// Invalidates the stage 1 translations of `[iova, iova + size)` in `asid`.
    ///
    /// `granule` and `leaf` are as for [`Smmu::invalidate_s2`].
    pub(crate) fn invalidate_s1(
        &self,
        asid: u16,
        iova: u64,
        size: u64,
        granule: usize,
        leaf: bool,
    ) -> Result {
        self.invalidate_range(AddrTlbi::NhVa { asid, vmid: 0 }, iova, size, granule, leaf)
    }

    /// Invalidates every TLB entry tagged with `vmid`, of both stages.
    pub(crate) fn invalidate_vmid(&self, vmid: u16) -> Result {
        self.issue_sync(&[Cmd::tlbi_s12_vmall(vmid)])
    }

    /// Invalidates the stage 2 translations of `[iova, iova + size)` in `vmid`.
    ///
    /// `granule` is the size of the entries that changed (the leaf size for `leaf`, the
    /// smallest page otherwise). Range commands are used when the SMMU has them.
    pub(crate) fn invalidate_s2(
        &self,
        vmid: u16,
        iova: u64,
        size: u64,
        granule: usize,
        leaf: bool,
    ) -> Result {
        self.invalidate_range(AddrTlbi::S2Ipa { vmid }, iova, size, granule, leaf)
    }

    /// Invalidates `[iova, iova + size)` with address invalidations of `kind`, in batches.
    fn invalidate_range(
        &self,
        kind: AddrTlbi,
        iova: u64,
        size: u64,
        granule: usize,
        leaf: bool,
    ) -> Result {
        let req = RangeRequest {
            iova,
            size,
            granule_log2: granule.max(1).ilog2(),
            // The translation granule of every domain's table: the smallest page size.
            page_log2: self.features.pgsize_bitmap.trailing_zeros(),
            leaf,
        };
        let mut cmds = TlbiRange::new(kind, &req, self.ril())?;
        let mut batch = [Cmd::from_words([0; 2]); TLBI_BATCH];
        loop {
            let mut n = 0;
            for slot in batch.iter_mut() {
                match cmds.next() {
                    Some(cmd) => {
                        *slot = cmd;
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 {
                return Ok(());
            }
            self.issue_sync(batch.get(..n).ok_or(EINVAL)?)?;
        }
    }

    /// Whether range invalidations are used: `IDR3.RIL`, unless the live KUnit suite hides it.
    fn ril(&self) -> bool {
        self.features.idr.ril() && !self.hide_ril.load(Ordering::Relaxed)
    }

    /// Makes the driver act as if the SMMU had no range invalidation (`hide`), or not.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn hide_ril(&self, hide: bool) {
        self.hide_ril.store(hide, Ordering::Relaxed);
    }
}
