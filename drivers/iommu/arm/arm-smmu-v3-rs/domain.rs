// SPDX-License-Identifier: GPL-2.0

//! Domains: the static identity and blocking domains, and stage 1 and stage 2 paging domains.
//!
//! As in the C driver, a paging domain is a stage 1 one when the SMMU has stage 1, and a stage 2
//! one when it has only stage 2 or when the domain is to be a nesting parent ([`Paging`]).
//!
//! A stage 1 domain owns an `io-pgtable` `ARM_64_LPAE_S1` table and an ASID, and the Context
//! Descriptor that describes them. Attaching it to a device writes that CD into the device's CD
//! table, then installs an STE pointing at the table for each of the device's streams.
//! Unmapping gathers the range and invalidates it by VA and ASID at `iotlb_sync`.
//!
//! A stage 2 domain owns an `io-pgtable` `ARM_64_LPAE_S2` table and a VMID. Attaching it to a
//! device installs a stage 2 STE for each of the device's streams; unmapping gathers the range
//! and invalidates it by IPA (with range commands when the SMMU has them) at `iotlb_sync`.
//!
//! Leaving a stage 1 domain installs the new STE first and invalidates the CD afterwards, so
//! that no stream uses a CD of a domain the device is no longer attached to.
//!
//! A paging domain of either stage can be made to enforce cache coherency while all its devices
//! sit behind a CANWBS root complex ([`Coherency`]).

use core::sync::atomic::{
    AtomicBool,
    AtomicUsize,
    Ordering, //
};

use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::PhysAddr,
    iommu::{
        pgtable::{
            self,
            FlushOps,
            IoPageTable,
            ARM64LPAES1,
            ARM64LPAES2, //
        },
        DirtyBitmap,
        DirtyRequest,
        IotlbGather,
        LookupRequest,
        MapRequest,
        PagingConfig,
        UnmapRequest, //
    },
    new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        SpinLockIrq, //
    },
};

use crate::{
    hw::{
        cd::Cd,
        cmd::Cmd,
        compose::{
            self,
            TableCfg,
            S1_IAS, //
        },
        ids::Ssid,
        ste::Ste,
    },
    master::Master,
    smmu::Smmu,
};

/// The identity domain: streams bypass translation.
pub(crate) struct Identity;

impl Identity {
    /// Attaches the RID of `m`: its DMA without a PASID bypasses translation, and CD 0 (if
    /// any) is dropped.
    pub(crate) fn attach(m: &Master) {
        m.attach_static(true);
    }
}

/// The blocking domain: streams abort. Also the release domain.
pub(crate) struct Blocked;

impl Blocked {
    /// Attaches the RID of `m`: its DMA without a PASID aborts, and CD 0 (if any) is dropped.
    pub(crate) fn attach(m: &Master) {
        m.attach_static(false);
    }

    /// Takes the domain of `pasid` of `m` away: the PASID's DMA aborts.
    pub(crate) fn remove_pasid(m: &Master, pasid: u32) {
        m.remove_pasid(pasid);
    }
}

/// The tag of a paging domain's TLB entries: an ASID for stage 1, a VMID for stage 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlbId {
    /// A stage 1 domain's ASID.
    Asid(u16),
    /// A stage 2 domain's VMID.
    Vmid(u16),
}

impl TlbId {
    /// Gives the ID back to `smmu`'s pool.
    fn free(self, smmu: &Smmu) {
        match self {
            TlbId::Asid(asid) => smmu.free_asid(asid),
            TlbId::Vmid(vmid) => smmu.free_vmid(vmid),
        }
    }
}

/// What the TLB maintenance of a paging domain needs: the SMMU, the domain's [`TlbId`], and the
/// attached devices with ATS, whose ATCs are invalidated after the TLB.
///
/// Shared by the domain and its page table (as the flush cookie). The ID is freed when the last
/// of them is gone, after invalidating everything cached under it.
#[pin_data(PinnedDrop)]
pub(crate) struct TlbTag {
    smmu: Arc<Smmu>,
    id: TlbId,
    /// The domain is a stage 2 that guests' stage 1 nests on: the SMMU may cache what the two
    /// stages give together, tagged by the guest's ASIDs, which a stage 2 invalidation by IPA
    /// does not reach.
    nest_parent: bool,
    /// An interrupts-off spinlock: invalidations run where the DMA API unmaps, which may be a
    /// hard interrupt handler.
    #[pin]
    ats: SpinLockIrq<KVec<AtsDevice>>,
    /// The length of `ats`, stored under its lock: invalidations read it first and leave the
    /// lock alone while it is 0, as it is in every domain without ATS devices. Otherwise every
    /// strict DMA unmap takes the lock, every CPU unmapping in the domain contends for it, and
    /// a vCPU preempted while holding it stalls them all.
    ats_len: AtomicUsize,
}

/// An attachment of a device with ATS to a paging domain, or to a nested domain on it: whose
/// ATC entries the domain's invalidations must reach, and how.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct AtsKey {
    /// The device's [`Master`], as an address: only compared.
    master: usize,
    /// The attached PASID; `None` for the RID, whose invalidations carry no SubstreamID and
    /// so reach the entries of every PASID too.
    ssid: Option<Ssid>,
    /// Through a guest's stage 1 (a nested domain on this parent): the ATC holds what both
    /// stages give the guest's addresses, which a stage 2 range does not name, so the
    /// domain's invalidations drop everything the ATC holds.
    full: bool,
}

impl AtsKey {
    /// The attachment of `m` with `ssid` (none for the RID), `full` through a guest's stage 1.
    fn new(m: &Master, ssid: Option<Ssid>, full: bool) -> Self {
        Self {
            master: core::ptr::from_ref(m) as usize,
            ssid,
            full,
        }
    }

    /// The attachment of the RID of `m` to the domain itself.
    pub(crate) fn rid(m: &Master) -> Self {
        Self::new(m, None, false)
    }

    /// The attachment of the PASID `ssid` of `m`.
    pub(crate) fn pasid(m: &Master, ssid: Ssid) -> Self {
        Self::new(m, Some(ssid), false)
    }

    /// The attachment of the RID of `m` to a nested domain on this parent, `full` through
    /// the guest's stage 1.
    pub(crate) fn nested(m: &Master, full: bool) -> Self {
        Self::new(m, None, full)
    }
}

/// A device with ATS attached to a paging domain: the attachment, and the device's StreamIDs.
struct AtsDevice {
    key: AtsKey,
    sids: KVec<u32>,
}

impl TlbTag {
    /// Allocates a new ASID (`stage1`) or VMID on `smmu`, for a domain that is a nesting parent
    /// if `nest_parent` (a stage 2 one).
    fn new(smmu: &Arc<Smmu>, stage1: bool, nest_parent: bool) -> Result<Arc<Self>> {
        let id = if stage1 {
            TlbId::Asid(smmu.alloc_asid()?)
        } else {
            TlbId::Vmid(smmu.alloc_vmid()?)
        };
        let tag = Arc::pin_init(
            pin_init!(Self {
                smmu: smmu.clone(),
                id,
                nest_parent,
                ats <- new_spinlock_irq!(KVec::new(), "arm_smmu_v3_rs::ats_devices"),
                ats_len: AtomicUsize::new(0),
            }),
            GFP_KERNEL,
        );
        if tag.is_err() {
            // Nothing was cached under the new ID.
            id.free(smmu);
        }
        tag
    }

    /// Adds the attachment `key` of `m`, which has ATS, to those whose ATCs the domain's
    /// invalidations reach.
    fn ats_add(&self, m: &Master, key: AtsKey) -> Result {
        let mut sids = KVec::with_capacity(m.sids().len(), GFP_KERNEL)?;
        sids.extend_from_slice(m.sids(), GFP_KERNEL)?;
        let mut list = self.ats.lock();
        list.push(AtsDevice { key, sids }, GFP_ATOMIC)?;
        self.ats_len.store(list.len(), Ordering::Release);
        Ok(())
    }

    /// Removes the attachment `key` (one entry) from those whose ATCs are invalidated, if it
    /// is there.
    fn ats_remove(&self, key: AtsKey) {
        let mut list = self.ats.lock();
        if let Some(i) = list.iter().position(|d| d.key == key) {
            let _ = list.remove(i);
        }
        self.ats_len.store(list.len(), Ordering::Release);
    }

    /// Invalidates `[iova, iova + size)` (everything if `size` is 0) in the ATCs of the
    /// attachments with ATS, for the PASID of each (see [`AtsKey`]): after the TLB, so that a
    /// translation request the ATC makes meanwhile cannot be answered from a stale TLB entry.
    ///
    /// An attachment is added before its STE or CD enables ATS, and that reaches the SMMU
    /// through the command queue: an invalidation whose commands were queued after it reads
    /// the new length; one queued before it completed before the device could cache anything.
    fn atc_invalidate(&self, iova: u64, size: u64) {
        if self.ats_len.load(Ordering::Acquire) == 0 {
            return;
        }
        let list = self.ats.lock();
        for dev in list.iter() {
            let (ssid, size) = if dev.key.full {
                (None, 0)
            } else {
                (dev.key.ssid, size)
            };
            Smmu::per_stream(
                &dev.sids,
                |sid| Cmd::atc_inv_range(sid, ssid, iova, size),
                |cmds| self.report(self.smmu.issue_sync(cmds)),
            );
        }
    }

    /// Invalidates everything cached under the ID, then the ATCs.
    fn invalidate_all(&self) -> Result {
        let r = match self.id {
            TlbId::Asid(asid) => self.smmu.invalidate_asid(asid),
            TlbId::Vmid(vmid) => self.smmu.invalidate_vmid(vmid),
        };
        self.atc_invalidate(0, 0);
        r
    }

    /// Invalidates `[iova, iova + size)`, entries of size `granule`, only leaves if `leaf`,
    /// then the range in the ATCs.
    ///
    /// For a nesting parent, also every stage 1 entry of its VMID (`TLBI_NH_ALL`), after the
    /// stage 2 range: the SMMU may hold nested translations that combine both stages under the
    /// guests' ASIDs, which `TLBI_S2_IPA` leaves in place, and an IPA range does not say which
    /// input addresses they are for.
    fn invalidate_range(&self, iova: u64, size: u64, granule: usize, leaf: bool) -> Result {
        let r = match self.id {
            TlbId::Asid(asid) => self.smmu.invalidate_s1(asid, iova, size, granule, leaf),
            TlbId::Vmid(vmid) => {
                let r = self.smmu.invalidate_s2(vmid, iova, size, granule, leaf);
                let nested = if self.nest_parent {
                    self.smmu.issue_sync(&[Cmd::tlbi_nh_all(vmid)])
                } else {
                    Ok(())
                };
                r.and(nested)
            }
        };
        self.atc_invalidate(iova, size);
        r
    }

    /// Logs a failed invalidation: the callers that need one cannot report errors.
    fn report(&self, r: Result) {
        if let Err(e) = r {
            dev_err!(
                self.smmu.dev(),
                "TLB invalidation ({:?}) failed: {:?}\n",
                self.id,
                e
            );
        }
    }

    /// Invalidates the leaf range `gather` collected.
    ///
    /// The gather records the size of the leaves it holds ([`TlbFlush::tlb_add_page`]), which
    /// gives the level the SMMU may limit its invalidation to (`TTL`), and the step of
    /// per-leaf commands without range invalidation. A range of unknown leaf size is
    /// invalidated at every level.
    fn sync_gather(&self, gather: &IotlbGather) {
        if gather.is_empty() {
            return;
        }
        // CAST: Addresses are at most 64 bits wide.
        let (start, end) = (gather.start() as u64, gather.end() as u64);
        let r = match gather.pgsize() {
            0 => {
                // Non-leaf invalidations name the smallest page size.
                let page = 1 << self.smmu.features.pgsize_bitmap.trailing_zeros();
                self.invalidate_range(start, end - start + 1, page, false)
            }
            leaf => self.invalidate_range(start, end - start + 1, leaf, true),
        };
        self.report(r);
    }

    /// Fails unless `m` is translated by this tag's SMMU.
    fn check_master(&self, m: &Master) -> Result {
        if Arc::ptr_eq(m.smmu(), &self.smmu) {
            Ok(())
        } else {
            // The domain's table and ID belong to another SMMU.
            Err(EINVAL)
        }
    }
}

#[pinned_drop]
impl PinnedDrop for TlbTag {
    fn drop(self: Pin<&mut Self>) {
        self.report(self.invalidate_all());
        self.id.free(&self.smmu);
    }
}

/// TLB maintenance requested by the page-table code.
pub(crate) struct TlbFlush;

impl FlushOps for TlbFlush {
    type Cookie = Arc<TlbTag>;

    fn tlb_flush_all(tag: ArcBorrow<'_, TlbTag>) {
        tag.report(tag.invalidate_all());
    }

    fn tlb_flush_walk(tag: ArcBorrow<'_, TlbTag>, iova: usize, size: usize, granule: usize) {
        // CAST: Addresses and sizes are at most 64 bits wide.
        tag.report(tag.invalidate_range(iova as u64, size as u64, granule, false));
    }

    fn tlb_add_page(tag: ArcBorrow<'_, TlbTag>, gather: &IotlbGather, iova: usize, granule: usize) {
        // `granule` is the size of the unmapped leaf: a page or a block. Leaves of different
        // sizes are not gathered together: the gathered ones are invalidated first.
        gather.add_page_with(iova, granule, |g| tag.sync_gather(g));
    }
}

/// The io-pgtable and IOMMU-core configurations of a paging domain with `ias` input bits,
/// tracking dirty pages if `dirty` (`EOPNOTSUPP` where the SMMU cannot, see
/// [`crate::features::Features::dirty_tracking`]).
///
/// Both stages use the page sizes of the SMMU's features and an aperture covering the whole
/// input range. Dirty tracking makes io-pgtable write writable-clean (DBM) descriptors that the
/// SMMU marks dirty on the first write ([`pgtable::quirks::ARM_HD`]).
fn configs(smmu: &Smmu, ias: u32, dirty: bool) -> Result<(pgtable::Config, PagingConfig)> {
    let f = &smmu.features;
    if dirty && !f.dirty_tracking() {
        return Err(EOPNOTSUPP);
    }
    let table = pgtable::Config {
        quirks: if dirty { pgtable::quirks::ARM_HD } else { 0 },
        pgsize_bitmap: f.pgsize_bitmap,
        ias,
        oas: f.idr.oas_bits().ok_or(ENXIO)?,
        coherent_walk: f.coherent,
    };
    let paging = PagingConfig {
        pgsize_bitmap: f.pgsize_bitmap,
        aperture_start: 0,
        aperture_end: (1u64 << ias) - 1,
        force_aperture: true,
        dirty_tracking: dirty,
    };
    Ok((table, paging))
}

/// A stage 2 paging domain.
pub(crate) struct S2Domain {
    tag: Arc<TlbTag>,
    pt: IoPageTable<'static, ARM64LPAES2, TlbFlush>,
    /// The STE that attaches a stream to this domain.
    ste: Ste,
}

impl S2Domain {
    /// Allocates a domain with a new VMID and an empty table (see [`compose::s2_ias`]), which
    /// tracks dirty pages if `dirty` (`EOPNOTSUPP` where the SMMU cannot, see
    /// [`crate::features::Features::dirty_tracking`]) and is a nesting parent if `nest_parent`.
    pub(crate) fn new(
        smmu: &Arc<Smmu>,
        dirty: bool,
        nest_parent: bool,
    ) -> Result<(PagingConfig, Self)> {
        let f = &smmu.features;
        let ias = compose::s2_ias(
            f.idr.oas_bits().ok_or(ENXIO)?,
            f.pgsize_bitmap.trailing_zeros(),
        );
        let (config, paging) = configs(smmu, ias, dirty)?;
        let tag = TlbTag::new(smmu, false, nest_parent)?;
        let TlbId::Vmid(vmid) = tag.id else {
            return Err(EINVAL);
        };
        let pt = IoPageTable::new_with_flush(smmu.dev(), config, tag.clone())?;
        let v = pt.vtcr();
        let table = TableCfg {
            // SAFETY: The table is dropped with this domain. The IOMMU core frees a domain only
            // once no device is attached to it, that is once no STE points at the table any
            // more, and `TlbTag::drop` then invalidates the VMID before it can be reused.
            ttb: unsafe { pt.vttbr() },
            tsz: v.tsz,
            sl: v.sl,
            tg: v.tg,
            irgn: v.irgn,
            orgn: v.orgn,
            sh: v.sh,
            ps: v.ps,
        };
        let ste = compose::s2_ste_with(&f.idr, vmid, &table, dirty)?;
        Ok((paging, Self { tag, pt, ste }))
    }
}

impl S2Domain {
    /// Attaches `m`, with ATS if `ats`: installs the stage 2 STE for its streams, then drops
    /// CD 0 if it had one; `EBUSY` while PASIDs of `m` have domains.
    fn attach(&self, m: &Master, ats: bool) -> Result {
        self.tag.check_master(m)?;
        m.attach_ste(&self.ste, ats)
    }
}

/// A stage 1 paging domain.
pub(crate) struct S1Domain {
    tag: Arc<TlbTag>,
    pt: IoPageTable<'static, ARM64LPAES1, TlbFlush>,
    /// The Context Descriptor that attaches a device to this domain.
    cd: Cd,
}

impl S1Domain {
    /// Allocates a domain with a new ASID and an empty table of [`S1_IAS`] input bits, which
    /// tracks dirty pages if `dirty` (`EOPNOTSUPP` where the SMMU cannot, see
    /// [`crate::features::Features::dirty_tracking`]).
    pub(crate) fn new(smmu: &Arc<Smmu>, dirty: bool) -> Result<(PagingConfig, Self)> {
        let (config, paging) = configs(smmu, S1_IAS, dirty)?;
        let tag = TlbTag::new(smmu, true, false)?;
        let TlbId::Asid(asid) = tag.id else {
            return Err(EINVAL);
        };
        let pt = IoPageTable::new_with_flush(smmu.dev(), config, tag.clone())?;
        let t = pt.tcr();
        let table = TableCfg {
            // SAFETY: The table is dropped with this domain. The IOMMU core frees a domain only
            // once no device is attached to it, that is once no CD holds the table any more, and
            // `TlbTag::drop` then invalidates the ASID before it can be reused.
            ttb: unsafe { pt.ttbr() },
            tsz: t.tsz,
            sl: 0,
            tg: t.tg,
            irgn: t.irgn,
            orgn: t.orgn,
            sh: t.sh,
            ps: t.ips,
        };
        let cd = compose::s1_cd_with(&smmu.features.idr, asid, &table, pt.mair(), dirty)?;
        Ok((paging, Self { tag, pt, cd }))
    }

    /// Attaches `m`, with ATS if `ats`: writes its CD 0 for this domain, then points its
    /// streams at its CD table.
    fn attach(&self, m: &Master, ats: bool) -> Result {
        self.tag.check_master(m)?;
        m.attach_cd0(&self.cd, ats)
    }
}

/// A paging domain of either stage.
pub(crate) struct Paging {
    stage: Stage,
    coherency: Coherency,
    /// Whether iommufd has dirty tracking on ([`Paging::set_dirty_tracking`]).
    tracking: AtomicBool,
}

/// The stage a paging domain translates at.
pub(crate) enum Stage {
    /// Stage 1: the default on an SMMU with stage 1.
    S1(S1Domain),
    /// Stage 2: on an SMMU with only stage 2, and for nesting parents.
    S2(S2Domain),
}

impl Paging {
    /// A paging domain translating at `stage`, not enforcing cache coherency.
    pub(crate) fn new(stage: Stage) -> Self {
        Self {
            stage,
            coherency: Coherency::new(),
            tracking: AtomicBool::new(false),
        }
    }

    /// The TLB tag of either stage.
    fn tag(&self) -> &TlbTag {
        match &self.stage {
            Stage::S1(d) => &d.tag,
            Stage::S2(d) => &d.tag,
        }
    }

    /// Attaches `m`; fails, changing nothing, if it is translated by another SMMU, or if the
    /// domain enforces cache coherency and `m` cannot have it.
    ///
    /// The caller must report the device leaving its previous domain with [`Paging::detached`]
    /// once this succeeds.
    ///
    /// A device with ATS gets it here: its RID's attachment joins those whose ATCs the
    /// domain's invalidations reach before its STE answers translation requests.
    pub(crate) fn attach(&self, m: &Master) -> Result {
        self.attach_with(m, AtsKey::rid(m), true, |ats| match &self.stage {
            Stage::S1(d) => d.attach(m, ats),
            Stage::S2(d) => d.attach(m, ats),
        })
    }

    /// Carries out the attachment `key` of `m` (to this domain, or to a nested domain on it)
    /// with `attach`, which is told whether to enable ATS: if `ats` and `m` has ATS. Counts
    /// `m` in for the domain's cache coherency rule, and with ATS puts `key` on the domain's
    /// ATS list before `attach` changes anything, so that the domain's invalidations reach the
    /// ATC as soon as it can hold the domain's translations. Fails, changing nothing, if `m`
    /// cannot comply with the rule or `attach` fails.
    ///
    /// The caller reports the attachment's end with [`Paging::left`] and the same key.
    pub(crate) fn attach_with(
        &self,
        m: &Master,
        key: AtsKey,
        ats: bool,
        attach: impl FnOnce(bool) -> Result,
    ) -> Result {
        self.coherency.enter(m.canwbs())?;
        let ats = ats && m.ats_capable();
        if ats {
            if let Err(e) = self.tag().ats_add(m, key) {
                self.coherency.leave(m.canwbs());
                return Err(e);
            }
        }
        let r = attach(ats);
        if r.is_err() {
            self.coherency.leave(m.canwbs());
            if ats {
                self.tag().ats_remove(key);
            }
        } else if ats && !m.ats_enabled() {
            // The function refused to enable ATS (logged): it caches nothing, and invalidation
            // requests to a function with ATS off could only fail.
            self.tag().ats_remove(key);
        }
        r
    }

    /// Attaches `pasid` of `m`, replacing its domain if it had one; `dev` is the SMMU.
    ///
    /// Only stage 1 domains can be attached to PASIDs (`EINVAL` for stage 2, as in the C
    /// driver); fails, changing nothing, under the conditions of [`Paging::attach`] and
    /// [`Master::set_pasid`]. A device with ATS has it on while PASIDs have domains, and the
    /// domain's invalidations reach its ATC for this PASID. The caller must report the PASID
    /// leaving its previous domain with [`Paging::left`] once this succeeds.
    pub(crate) fn set_pasid(&self, m: &Master, dev: &Device<Bound>, pasid: u32) -> Result {
        let Stage::S1(d) = &self.stage else {
            return Err(EINVAL);
        };
        d.tag.check_master(m)?;
        let ssid = Ssid::new(pasid).map_err(|_| EINVAL)?;
        self.attach_with(m, AtsKey::pasid(m, ssid), true, |ats| {
            m.set_pasid(dev, ssid, &d.cd, ats)
        })
    }

    /// Records that the attachment `key` of `m` to this domain (or to a nested domain on it)
    /// was replaced: the domain's invalidations stop reaching the ATC for it.
    pub(crate) fn left(&self, m: &Master, key: AtsKey) {
        self.tag().ats_remove(key);
        self.coherency.leave(m.canwbs());
    }

    /// Records that the RID of `m`, which was attached to this domain, is now attached to
    /// another one.
    pub(crate) fn detached(&self, m: &Master) {
        self.left(m, AtsKey::rid(m));
    }

    /// The SMMU, VMID and STE of a stage 2 domain, the nesting parent of a vIOMMU; `None` for
    /// stage 1.
    pub(crate) fn s2(&self) -> Option<(&Arc<Smmu>, u16, &Ste)> {
        match &self.stage {
            Stage::S2(d) => match d.tag.id {
                TlbId::Vmid(vmid) => Some((&d.tag.smmu, vmid, &d.ste)),
                TlbId::Asid(_) => None,
            },
            Stage::S1(_) => None,
        }
    }

    /// Makes the domain enforce cache coherency: refuses devices whose DMA may be non-coherent.
    /// Returns `false`, changing nothing, if such a device is attached.
    pub(crate) fn enforce_cache_coherency(&self) -> bool {
        self.coherency.enforce()
    }

    /// Carries out the core's map request.
    pub(crate) fn map(&self, req: &MapRequest, mapped: &mut usize) -> Result {
        match &self.stage {
            Stage::S1(d) => d.pt.map(req, mapped),
            Stage::S2(d) => d.pt.map(req, mapped),
        }
    }

    /// Carries out the core's unmap request, gathering the invalidations in `gather`.
    pub(crate) fn unmap(&self, req: &UnmapRequest, gather: &IotlbGather) -> usize {
        match &self.stage {
            Stage::S1(d) => d.pt.unmap(req, gather),
            Stage::S2(d) => d.pt.unmap(req, gather),
        }
    }

    /// Invalidates what `gather` collected.
    pub(crate) fn iotlb_sync(&self, gather: &IotlbGather) {
        self.tag().sync_gather(gather);
    }

    /// Invalidates every TLB entry of the domain.
    pub(crate) fn flush_all(&self) {
        let tag = self.tag();
        tag.report(tag.invalidate_all());
    }

    /// Records the dirty pages of the core's request in `dirty`, clearing their dirty state
    /// unless the request says not to; `EOPNOTSUPP` for a domain without dirty tracking. Both
    /// stages can track them: stage 2 with the project's io-pgtable-arm patch, which the C
    /// driver does not use.
    ///
    /// Clearing makes the descriptors writable-clean again, but the SMMU may hold them dirty in
    /// its TLB and then not mark them on the next write: the core gathers the cleared range and
    /// invalidates it through [`Paging::iotlb_sync`], which (unlike the C driver's) invalidates
    /// a gather of unknown leaf size too.
    ///
    /// While tracking is off, a request that reports (`dirty` has a bitmap) is refused with
    /// `EINVAL`, as AMD's and Intel's drivers refused it before they moved to generic_pt: the
    /// SMMU keeps marking descriptors dirty then (see [`Paging::set_dirty_tracking`]), so what
    /// it would report is not what was written while tracking was on. iommufd's walk that only
    /// clears, before it turns tracking on, passes no bitmap and is served.
    pub(crate) fn read_and_clear_dirty(&self, req: &DirtyRequest, dirty: &DirtyBitmap) -> Result {
        if dirty.reports() && !self.tracking.load(Ordering::Acquire) {
            return Err(EINVAL);
        }
        match &self.stage {
            Stage::S1(d) => d.pt.read_and_clear_dirty(req, dirty),
            Stage::S2(d) => d.pt.read_and_clear_dirty(req, dirty),
        }
    }

    /// Turns dirty tracking on or off for iommufd: only whether dirty pages are reported
    /// ([`Paging::read_and_clear_dirty`]). The CD's HD (stage 1) or the STE's S2HD (stage 2)
    /// stays set, unlike VT-d's SSADE or AMD's HAD: without it the SMMU would take the
    /// writable-clean (DBM) descriptors for read-only ones and fault DMA writes. iommufd
    /// clears the dirty state before it turns tracking on, so what is written while it is off
    /// is not reported afterwards.
    pub(crate) fn set_dirty_tracking(&self, on: bool) {
        self.tracking.store(on, Ordering::Release);
    }

    /// Translates the core's lookup request.
    pub(crate) fn iova_to_phys(&self, req: &LookupRequest) -> PhysAddr {
        match &self.stage {
            Stage::S1(d) => d.pt.iova_to_phys(req),
            Stage::S2(d) => d.pt.iova_to_phys(req),
        }
    }
}

/// Whether a paging domain enforces cache coherency, and how many of its devices could not.
///
/// A device "can" when its root complex makes its DMA write-back cacheable and shareable whatever
/// the device asks for (the IORT's CANWBS flag, [`Master::canwbs`]): no-snoop transactions then
/// stay coherent. As in the C driver, a domain enforces coherency only while none of its devices
/// lacks CANWBS, and once it does, such devices are refused.
///
/// One word: [`Coherency::ENFORCING`] and the number of attached devices without CANWBS, so that
/// attaching and enforcing, which the core may do concurrently for different devices, decide
/// against the same state.
pub(crate) struct Coherency(AtomicUsize);

impl Coherency {
    /// Set once the domain enforces cache coherency.
    const ENFORCING: usize = 1 << (usize::BITS - 1);

    /// Neither enforcing nor with a device attached.
    pub(crate) const fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Counts in a device attaching, with `canwbs` as its root complex says; fails with
    /// `EINVAL`, counting nothing, if the domain enforces coherency and the device cannot.
    pub(crate) fn enter(&self, canwbs: bool) -> Result {
        if canwbs {
            return Ok(());
        }
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v & Self::ENFORCING == 0).then(|| v + 1)
            })
            .map(|_| ())
            .map_err(|_| EINVAL)
    }

    /// Counts out a device that [`Coherency::enter`] counted in.
    pub(crate) fn leave(&self, canwbs: bool) {
        if !canwbs {
            self.0.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Starts enforcing unless a device without CANWBS is attached; returns whether the domain
    /// enforces coherency now.
    pub(crate) fn enforce(&self) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v & !Self::ENFORCING == 0).then_some(Self::ENFORCING)
            })
            .is_ok()
    }
}
