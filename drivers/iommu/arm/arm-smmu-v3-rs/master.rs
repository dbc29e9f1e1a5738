// SPDX-License-Identifier: GPL-2.0

//! Per-device state of a device the SMMU translates (a "master").
//!
//! On an SMMU with stage 1, every master owns a Context Descriptor table ([`CdTable`]): CD 0
//! translates the device's DMA without a PASID (its RID) in a stage 1 domain, and on an SMMU
//! with SubstreamIDs a PCI function with the PASID capability gets one CD per PASID it can
//! issue, linear or two-level ([`CdLayout`]). Each step of a CD update is followed by `CFGI_CD`
//! for every stream of the device and `CMD_SYNC`.
//!
//! The device's STEs point at the CD table while the RID is in a stage 1 domain or a PASID has
//! a domain; then `STE.S1DSS` gives the RID's translation: CD 0, bypass (identity domain) or
//! abort (blocking domain). When the last PASID goes and the RID is in the identity or
//! blocking domain, the STEs go back to a plain bypass or abort STE. A RID domain whose STE has
//! no CD table (stage 2, nested) cannot be attached while PASIDs have domains (`EBUSY`), and
//! PASIDs cannot be given domains while the RID is in one (`EINVAL`), as in the C driver.
//!
//! Where the SMMU, the root complex and a PCI function have ATS, the function's ATS is
//! prepared at probe (after PASID) and enabled while its RID is in a paging domain or a
//! nested one that asks for it, and while PASIDs have domains (the STEs then point at the CD
//! table, whose `S1DSS` bypass or abort serves the RID: ATS works there, as in the C driver):
//! the STEs answer translation requests (`EATS`), each domain's invalidations reach the
//! function's ATC for the RID or the PASID attached (the domain keeps a list of its ATS
//! attachments), and each change of STE is ordered with ATS as in the C driver (disabled
//! before an STE without it, the ATC invalidated after every change, enabled last). A PASID's
//! new or removed CD is followed by an ATC invalidation of that PASID. A function that needs
//! ATS whatever its translation (`pci_ats_required()`: CXL.cache devices) keeps it in the
//! identity domain too, through a CD table STE whose `S1DSS` bypasses, as in the C driver; it
//! is refused where the SMMU cannot give it that.
//!
//! Where the SMMU takes page requests and such a function (with one StreamID) also has PRI, its
//! RID's attachment to a domain that handles page faults (an iommufd HWPT with a fault queue)
//! puts the device on the SMMU's fault queue and enables PRI on it, before the domain's STE is
//! installed; leaving such a domain disables PRI and takes the device off the queue, after
//! the new STE is installed. A device without PRI may be attached to such a domain too, as in
//! the C driver: it just never faults recoverably.
//!
//! A device whose faults stall ([`Stalls`]: it can wait for a stalled transaction, or the SMMU
//! forces stalls) gets `CD.S` in its CDs and `STE.S2S` in its stage 2 and nested STEs; one that
//! cannot gets `STE.S1STALLD` where the SMMU would otherwise stall it. Such a device with one
//! StreamID is put on the fault queue, its stalled page faults reported, while its RID is in a
//! domain that handles page faults (as in the C driver, a device with several StreamIDs cannot
//! be); leaving the domain terminates what is still stalled.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    iommu::{
        ClientDevice,
        Ops, //
    },
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

use crate::{
    cdtab::CdTable,
    hw::{
        cd::{
            Cd,
            CdLayout, //
        },
        cmd::{
            Cmd,
            FaultResponse, //
        },
        compose::{
            self,
            Stalls, //
        },
        ids::Ssid,
        ste::{
            S1Dss,
            Ste, //
        },
    },
    smmu::{
        EventSink,
        Smmu,
        Source,
        PRI_REQUESTS, //
    },
};

#[cfg(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI))]
use kernel::{
    iommu::pci::Pri,
    sync::aref::ARef, //
};

#[cfg(CONFIG_PCI_PASID)]
use kernel::{
    iommu::pci::{
        Ats,
        Pasid, //
    },
    pci, //
};

/// Without PCI PASID support, no device has PASID enabled.
#[cfg(not(CONFIG_PCI_PASID))]
enum Pasid {}

#[cfg(not(CONFIG_PCI_PASID))]
impl Pasid {
    fn max_pasids(&self) -> u32 {
        match *self {}
    }
}

/// Without PCI PASID (and ATS) support, no device has ATS.
#[cfg(not(CONFIG_PCI_PASID))]
enum Ats {}

#[cfg(not(CONFIG_PCI_PASID))]
impl Ats {
    fn enable(&self) -> Result {
        match *self {}
    }

    fn disable(&self) {
        match *self {}
    }

    fn is_enabled(&self) -> bool {
        match *self {}
    }
}

/// The PCI function whose page requests the SMMU can take.
#[cfg(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI))]
type PriFunction = ARef<pci::Device>;

/// Without PCI PRI support, no device sends page requests.
#[cfg(not(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI)))]
enum PriFunction {}

/// Without PCI PRI support, PRI is never enabled.
#[cfg(not(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI)))]
enum Pri {}

/// What the device's RID (its DMA without a PASID) is attached to, as far as its STEs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rid {
    /// The blocking domain: the DMA is aborted.
    Blocked,
    /// The identity domain: the DMA bypasses translation.
    Identity,
    /// A stage 1 domain, through CD 0.
    Cd0,
    /// A domain whose STE does not use the CD table: stage 2, or nested.
    Other,
}

/// The device's CD table, how many PASIDs use it, and what the RID is attached to.
struct Contexts {
    /// Present when the SMMU has stage 1.
    table: Option<CdTable>,
    /// How many SubstreamIDs other than 0 have a valid CD.
    pasids: usize,
    rid: Rid,
    /// Whether ATS is enabled on the device (and its STEs answer translation requests).
    ats_on: bool,
    /// How many attachments (of the RID and of PASIDs) are to domains that handle page
    /// faults.
    iopf_users: usize,
    /// PRI enabled on the device, which is on the SMMU's fault queue: `iopf_users` is not 0.
    pri: Option<Pri>,
    /// The device, whose faults stall, is on the SMMU's fault queue: `iopf_users` is not 0.
    stall_iopf: bool,
}

/// The streams of one client device.
pub(crate) struct Master {
    smmu: Arc<Smmu>,
    sids: KVec<u32>,
    /// Whether the root complex makes the device's DMA write-back cacheable and shareable.
    canwbs: bool,
    /// Whether the device's faults stall.
    stalls: Stalls,
    /// Serialises the changes of the device's CDs and STEs.
    ctx: Pin<KBox<Mutex<Contexts>>>,
    /// ATS prepared on the PCI function, where the SMMU, the root complex and the function
    /// have it. Dropped (ATS disabled) before `_pasid`.
    ats: Option<Ats>,
    /// The function needs ATS whatever its translation: its identity domain keeps it.
    ats_always_on: bool,
    /// PASID enabled on the PCI function, while the device is probed.
    _pasid: Option<Pasid>,
    /// The PCI function, if the SMMU can take its page requests: it has ATS, PRI and one
    /// StreamID.
    pri_fn: Option<PriFunction>,
}

impl Master {
    /// Claims the StreamIDs of `client` for it; their streams must have been prepared and abort.
    ///
    /// If the SMMU has stage 1, allocates the device's Context Descriptor table, all invalid,
    /// with `dev`, the SMMU's device; on an SMMU with SubstreamIDs it first enables PASID on a
    /// PCI `client` that has the capability, and sizes the table for the PASIDs both can use.
    /// Fails with `ENODEV` if another device owns one of the StreamIDs (see [`crate::streams`]).
    /// `canwbs` is what the firmware says of the device's root complex (see [`Master::canwbs`]),
    /// `rc_ats` whether it supports ATS: then a PCI `client` with the capability has its ATS
    /// prepared for the SMMU's smallest page, after PASID as PCIe requires. A function that
    /// needs ATS whatever its translation is refused (`EOPNOTSUPP`) unless it gets ATS and the
    /// SMMU has stage 1 and SubstreamIDs (for `S1DSS` bypass). `can_stall` is what the
    /// firmware says of the device (`dma-can-stall`), see [`Stalls`].
    pub(crate) fn new(
        smmu: Arc<Smmu>,
        dev: &Device<Bound>,
        client: &Device,
        sids: &[u32],
        canwbs: bool,
        rc_ats: bool,
        can_stall: bool,
    ) -> Result<Self> {
        let mut v = KVec::with_capacity(sids.len(), GFP_KERNEL)?;
        for sid in sids {
            // PCI aliases can give the same StreamID twice; program it once.
            if !v.contains(sid) {
                v.push(*sid, GFP_KERNEL)?;
            }
        }
        let idr = &smmu.features.idr;
        let ats_required = ats_required(client);
        if ats_required && (!idr.s1() || smmu.ssid_bits() == 0) {
            dev_err!(
                client,
                "needs ATS always on, which needs stage 1 and SubstreamIDs\n"
            );
            return Err(EOPNOTSUPP);
        }
        let mut pasid = None;
        let table = if idr.s1() {
            if smmu.ssid_bits() > 0 {
                pasid = enable_pasid(client);
            }
            let dev_bits = pasid.as_ref().map_or(0, |p| p.max_pasids().ilog2());
            // `S1DSS`, which keeps ATS working in bypass, needs a table of two CDs at least.
            let dev_bits = if ats_required {
                dev_bits.max(1)
            } else {
                dev_bits
            };
            let layout = CdLayout::new(smmu.ssid_bits(), idr.cd_2lvl(), dev_bits.min(20))?;
            let mut table = CdTable::new(dev, layout)?;
            // CD 0 serves the RID: its level-2 table is there from the start. No STE points
            // at the table yet, so the SMMU cannot have cached its descriptor.
            table.prepare(dev, Ssid::ZERO, || Ok(()))?;
            Some(table)
        } else {
            None
        };
        let ats = if idr.ats() && rc_ats {
            prepare_ats(client, smmu.features.pgsize_bitmap.trailing_zeros())
        } else {
            None
        };
        if ats_required && ats.is_none() {
            dev_err!(client, "needs ATS, which it cannot have here\n");
            return Err(EOPNOTSUPP);
        }
        let ctx = KBox::pin_init(
            new_mutex!(
                Contexts {
                    table,
                    pasids: 0,
                    rid: Rid::Blocked,
                    ats_on: false,
                    iopf_users: 0,
                    pri: None,
                    stall_iopf: false,
                },
                "arm_smmu_v3_rs::master"
            ),
            GFP_KERNEL,
        )?;
        let pri_fn = if ats.is_some() && smmu.has_pri() && v.len() == 1 {
            pri_function(client)
        } else {
            None
        };
        let stalls = smmu.device_stalls(can_stall);
        smmu.claim_streams(client, &v)?;
        Ok(Self {
            smmu,
            sids: v,
            canwbs,
            stalls,
            ctx,
            ats,
            ats_always_on: ats_required,
            _pasid: pasid,
            pri_fn,
        })
    }

    /// Counts in an attachment of the RID or of a PASID to a domain that handles page faults:
    /// the first one takes the device's page requests, putting the device on the SMMU's fault
    /// queue, then enabling PRI. A device whose faults stall is put on the queue instead;
    /// that fails with `EOPNOTSUPP` if it has several StreamIDs, as in the C driver.
    ///
    /// Does nothing for a device whose page requests the SMMU cannot take. Fails as
    /// `pci_enable_pri()` or `iopf_queue_add_device()`, changing nothing. The caller counts the
    /// attachment out with [`Master::iopf_put`] once it is gone or did not happen.
    pub(crate) fn iopf_get<T: Ops>(&self, dev: &ClientDevice<T>) -> Result {
        let mut ctx = self.ctx.lock();
        if ctx.iopf_users == 0 {
            self.iopf_on(&mut ctx, dev)?;
        }
        ctx.iopf_users += 1;
        Ok(())
    }

    /// Counts out an attachment counted in by [`Master::iopf_get`]: after the last one, PRI is
    /// disabled and the device taken off the fault queue (the core answers what it still
    /// waits on; a device whose faults stall has those terminated).
    pub(crate) fn iopf_put(&self) {
        let mut ctx = self.ctx.lock();
        match ctx.iopf_users {
            0 => {}
            1 => {
                ctx.iopf_users = 0;
                self.iopf_off(&mut ctx);
            }
            n => ctx.iopf_users = n - 1,
        }
    }

    /// Takes the device's page requests or stalled faults (see [`Master::iopf_get`]).
    fn iopf_on<T: Ops>(&self, ctx: &mut Contexts, dev: &ClientDevice<T>) -> Result {
        if self.stalls.enabled() {
            let &[sid] = &self.sids[..] else {
                // The faults would not say which StreamID to resume.
                return Err(EOPNOTSUPP);
            };
            self.smmu.iopf_add(dev, sid, Source::Stall)?;
            ctx.stall_iopf = true;
            return Ok(());
        }
        let Some(f) = self.pri_fn.as_ref() else {
            return Ok(());
        };
        let sid = self.sids[0];
        self.smmu.iopf_add(dev, sid, Source::Pri)?;
        match enable_pri(f) {
            Ok(pri) => {
                ctx.pri = Some(pri);
                Ok(())
            }
            Err(e) => {
                self.smmu.iopf_remove(sid);
                Err(e)
            }
        }
    }

    /// Stops taking the device's page requests or stalled faults, if it takes them.
    fn iopf_off(&self, ctx: &mut Contexts) {
        let pri = ctx.pri.take();
        let stall = core::mem::take(&mut ctx.stall_iopf);
        if pri.is_some() || stall {
            // PRI is disabled first: the device then sends no request the queue would miss.
            drop(pri);
            self.smmu.iopf_remove(self.sids[0]);
        }
    }

    /// Sends the core's answer `code` (`None`: one it does not define) to the device's page
    /// request group `grpid` (with the request's PASID `pasid` if the device wants it back), or
    /// for a device whose faults stall, to its stalled transaction of tag `grpid`.
    pub(crate) fn page_response(
        &self,
        pasid: Option<u32>,
        grpid: u32,
        code: Option<FaultResponse>,
    ) {
        if self.stalls.enabled() {
            self.smmu.stall_respond(self.sids[0], grpid, code);
            return;
        }
        let ssid = pasid.and_then(|p| Ssid::new(p).ok());
        let resp = FaultResponse::pri_resp(code);
        match u16::try_from(grpid) {
            Ok(g) => self.smmu.pri_respond(self.sids[0], ssid, g, resp),
            Err(_) => dev_err!(self.smmu.dev(), "bad page request group {:#x}\n", grpid),
        }
    }

    /// Whether the device gets ATS in paging domains, whose TLB invalidations must then reach
    /// its ATC (each paging domain keeps a list of its ATS devices).
    pub(crate) fn ats_capable(&self) -> bool {
        self.ats.is_some()
    }

    /// Whether ATS is enabled on the device now (its RID is in a paging domain, and the function
    /// accepted it).
    pub(crate) fn ats_enabled(&self) -> bool {
        self.ctx.lock().ats_on
    }

    /// Whether the device's root complex makes its DMA write-back cacheable and shareable
    /// whatever it asks for (ACPI IORT's CANWBS): its no-snoop DMA is coherent anyway, so a
    /// domain can enforce cache coherency for it.
    pub(crate) fn canwbs(&self) -> bool {
        self.canwbs
    }

    /// The StreamIDs of the device, each once.
    pub(crate) fn sids(&self) -> &[u32] {
        &self.sids
    }

    /// Sends the guest's events of the device's streams to `sink` (a vIOMMU's event queue),
    /// or logs them again (`None`); fails with `ENOMEM`, changing nothing.
    pub(crate) fn set_event_sink(&self, sink: Option<&Arc<dyn EventSink>>) -> Result {
        match sink {
            Some(s) => self.smmu.set_event_sink(&self.sids, s),
            None => {
                self.smmu.clear_event_sink(&self.sids);
                Ok(())
            }
        }
    }

    /// The SMMU translating this device.
    pub(crate) fn smmu(&self) -> &Arc<Smmu> {
        &self.smmu
    }

    /// Installs `ste` for every stream of the device, never stopping half-way.
    fn install(&self, ste: &Ste) {
        self.smmu.install_stes(&self.sids, ste);
    }

    /// Whether the RID in the identity (`Rid::Identity`) or blocking domain has ATS: while
    /// PASIDs have domains (the C driver's `cd_needs_ats`), and in the identity domain for a
    /// function that needs ATS always. Its STE then points at the CD table.
    fn static_ats(&self, ctx: &Contexts, rid: Rid) -> bool {
        ctx.pasids > 0 || (self.ats_always_on && rid == Rid::Identity)
    }

    /// The STE of the RID in the identity (`Rid::Identity`) or blocking domain: a plain bypass
    /// or abort STE, or where it has ATS ([`Master::static_ats`]), one pointing at the CD
    /// table whose `S1DSS` bypasses or aborts.
    fn static_ste(&self, ctx: &Contexts, rid: Rid) -> Ste {
        let idr = &self.smmu.features.idr;
        let (plain, dss) = match rid {
            Rid::Identity => (compose::bypass_ste(idr), S1Dss::Bypass),
            _ => (Ste::abort(), S1Dss::Terminate),
        };
        if !self.static_ats(ctx, rid) {
            return plain;
        }
        match self.table_ste(ctx, dss) {
            Ok(ste) => ste,
            Err(e) => {
                // Cannot happen: the table's address was checked when CD 0 was first used.
                dev_err!(self.smmu.dev(), "no CD table STE: {:?}\n", e);
                Ste::abort()
            }
        }
    }

    /// Attaches the RID to the identity (`bypass`) or the blocking domain, then invalidates
    /// CD 0: once no STE translates the RID through CD 0, its stage 1 table is no longer used
    /// (the order of the C driver). PASIDs keep their domains, and ATS stays on for them.
    ///
    /// Cannot fail: it is how the device leaves any domain, which the core may then free.
    pub(crate) fn attach_static(&self, bypass: bool) {
        let rid = if bypass { Rid::Identity } else { Rid::Blocked };
        let mut ctx = self.ctx.lock();
        let ste = self.static_ste(&ctx, rid);
        let ats = self.static_ats(&ctx, rid);
        self.install_ats(&mut ctx, &ste, ats);
        ctx.rid = rid;
        self.write_cd(&ctx, Ssid::ZERO, &Cd::INVALID);
    }

    /// Attaches the RID to a domain whose STE, `ste`, does not use the CD table (stage 2,
    /// nested), with `S2S` if the device's faults stall, else with ATS if `ats` and the device
    /// has it (see [`Master::install_ats`]), then invalidates CD 0.
    ///
    /// Fails with `EBUSY`, changing nothing, while PASIDs have domains (see
    /// [`Master::pasids_in_use`]); once the first STE is written, every step is carried out.
    pub(crate) fn attach_ste(&self, ste: &Ste, ats: bool) -> Result {
        let mut ctx = self.ctx.lock();
        if ctx.pasids > 0 {
            return Err(EBUSY);
        }
        // A stream whose stage 2 faults stall answers no translation requests (`EATS` must be
        // 0 with `S2S`).
        let ste = compose::ste_with_stalls(ste, self.stalls);
        self.install_ats(&mut ctx, &ste, ats && !self.stalls.enabled());
        ctx.rid = Rid::Other;
        self.write_cd(&ctx, Ssid::ZERO, &Cd::INVALID);
        Ok(())
    }

    /// Whether PASIDs of the device have domains: the RID can then only be in a domain that
    /// uses the CD table, or in the identity or blocking domain.
    pub(crate) fn pasids_in_use(&self) -> bool {
        self.ctx.lock().pasids > 0
    }

    /// Attaches the RID to the stage 1 context `cd`: writes CD 0, then points every stream of
    /// the device at the CD table, with transactions without a SubstreamID using CD 0, with
    /// ATS if `ats` and the device has it (see [`Master::install_ats`]).
    ///
    /// Fails, changing nothing, if the device has no CD table; once CD 0 is written every step
    /// is carried out (see [`Smmu::install_stes`]).
    pub(crate) fn attach_cd0(&self, cd: &Cd, ats: bool) -> Result {
        let mut ctx = self.ctx.lock();
        let ste = self.table_ste(&ctx, S1Dss::Ssid0)?;
        self.write_cd(&ctx, Ssid::ZERO, &compose::with_stalls(cd, self.stalls));
        self.install_ats(&mut ctx, &ste, ats);
        ctx.rid = Rid::Cd0;
        Ok(())
    }

    /// Gives `ssid` the stage 1 context `cd`, replacing the one it had; `dev` is the SMMU,
    /// for a level-2 CD table it may need.
    ///
    /// The CD is written first; a first PASID while the RID is in the identity or blocking
    /// domain then points the STEs at the CD table, with ATS if `ats` and the device has it
    /// (see [`Master::install_ats`]); otherwise, with ATS on, the device's ATC entries of the
    /// PASID are invalidated. Fails with `EINVAL` for SubstreamID 0 or one beyond the device's
    /// CD table, or while the RID is in a domain whose STE does not use the CD table; with
    /// `ENOMEM` if a level-2 table cannot be had.
    pub(crate) fn set_pasid(&self, dev: &Device<Bound>, ssid: Ssid, cd: &Cd, ats: bool) -> Result {
        if ssid == Ssid::ZERO {
            return Err(EINVAL);
        }
        let mut ctx = self.ctx.lock();
        let rid = ctx.rid;
        if rid == Rid::Other {
            return Err(EINVAL);
        }
        let table = ctx.table.as_mut().ok_or(EINVAL)?;
        if ssid.get() >= table.layout().ssids() {
            return Err(EINVAL);
        }
        table.prepare(dev, ssid, || self.sync_cd(ssid, false))?;
        let was = table.is_valid(ssid)?;
        let cd = compose::with_stalls(cd, self.stalls);
        let written = table.write(ssid, &cd, || self.sync_cd(ssid, true));
        let now = table.is_valid(ssid)?;
        ctx.count(was, now);
        written?;
        if rid != Rid::Cd0 && !was && ctx.pasids == 1 {
            let ste = self.static_ste(&ctx, rid);
            self.install_ats(&mut ctx, &ste, ats);
        } else if ctx.ats_on {
            // The PASID's translation changed: the old one may be in the ATC.
            self.atc_inv(Some(ssid));
        }
        Ok(())
    }

    /// Takes `pasid`'s domain away: invalidates its CD, then with ATS on the device's ATC
    /// entries of the PASID; when that was the last PASID with a domain and the RID is in the
    /// identity or blocking domain, goes back to a plain bypass or abort STE, without ATS
    /// (but for a function that needs ATS always, in the identity domain).
    ///
    /// Cannot fail: it is how a PASID leaves any domain, which the core may then free.
    pub(crate) fn remove_pasid(&self, pasid: u32) {
        let Ok(ssid) = Ssid::new(pasid) else {
            return;
        };
        if ssid == Ssid::ZERO {
            return;
        }
        let mut ctx = self.ctx.lock();
        let Some(table) = ctx.table.as_ref() else {
            return;
        };
        let was = table.is_valid(ssid).unwrap_or(false);
        self.write_cd(&ctx, ssid, &Cd::INVALID);
        let now = table.is_valid(ssid).unwrap_or(true);
        ctx.count(was, now);
        if ctx.ats_on {
            self.atc_inv(Some(ssid));
        }
        if was && ctx.pasids == 0 && matches!(ctx.rid, Rid::Identity | Rid::Blocked) {
            // Back to the plain STE without ATS, unless the RID keeps ATS (`static_ats`).
            let ste = self.static_ste(&ctx, ctx.rid);
            let ats = self.static_ats(&ctx, ctx.rid);
            self.install_ats(&mut ctx, &ste, ats);
        }
    }

    /// Installs `ste` for every stream, answering ATS translation requests if `ats` and the
    /// device has ATS, in the order of the C driver: ATS is disabled on the device before an
    /// STE without it is installed; the device's ATC is invalidated once the new STE is in
    /// place whenever ATS was or is to be on (the translation changed); ATS is enabled last.
    fn install_ats(&self, ctx: &mut Contexts, ste: &Ste, ats: bool) {
        let dev_ats = self.ats.as_ref().filter(|_| ats);
        let target = match dev_ats.map(|_| compose::with_ats(ste)) {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                // Cannot happen: the STEs given ATS translate, without stage 2 stalls.
                dev_err!(self.smmu.dev(), "no ATS STE: {:?}\n", Error::from(e));
                None
            }
            None => None,
        };
        if target.is_none() && ctx.ats_on {
            if let Some(a) = self.ats.as_ref() {
                a.disable();
            }
        }
        self.install(target.as_ref().unwrap_or(ste));
        if ctx.ats_on || target.is_some() {
            self.atc_inv(None);
        }
        ctx.ats_on = false;
        if let (Some(a), Some(_)) = (dev_ats, target.as_ref()) {
            match a.enable() {
                Ok(()) => ctx.ats_on = true,
                Err(e) => dev_err!(self.smmu.dev(), "ATS not enabled: {:?}\n", e),
            }
        }
    }

    /// Invalidates what the device's ATC holds for `ssid`, everything for `None`:
    /// `CMD_ATC_INV` of the whole address space for every stream, in batches with their
    /// `CMD_SYNC`.
    fn atc_inv(&self, ssid: Option<Ssid>) {
        Smmu::per_stream(
            &self.sids,
            |sid| Cmd::atc_inv_all(sid, ssid),
            |cmds| {
                let _ = self.smmu.sync_logged(cmds);
            },
        );
    }

    /// The STE that points the device's streams at its CD table, with `dss` for transactions
    /// without a SubstreamID and `S1STALLD` if the device cannot stall; `EOPNOTSUPP` without a
    /// CD table (no stage 1).
    fn table_ste(&self, ctx: &Contexts, dss: S1Dss) -> Result<Ste> {
        let table = ctx.table.as_ref().ok_or(EOPNOTSUPP)?;
        Ok(compose::cd_table_ste_for(
            &self.smmu.features.idr,
            table.dma_address(),
            table.layout(),
            dss,
            self.stalls,
        )?)
    }

    /// Updates the CD of `ssid` to `target`, hitlessly where the architecture allows; every
    /// step is carried out, a sync the SMMU does not confirm is logged.
    ///
    /// Does nothing on an SMMU without stage 1, whose devices never have a valid CD.
    fn write_cd(&self, ctx: &Contexts, ssid: Ssid, target: &Cd) {
        let Some(table) = ctx.table.as_ref() else {
            return;
        };
        if let Err(e) = table.write(ssid, target, || self.sync_cd(ssid, true)) {
            dev_err!(self.smmu.dev(), "CD {} not written: {:?}\n", ssid.get(), e);
        }
    }

    /// Makes the SMMU observe a change of the CD of `ssid` (`leaf`), or of the level-1
    /// descriptor leading to it (not `leaf`): `CFGI_CD` for every stream of the device, in
    /// batches that fit the command queue with their `CMD_SYNC`; a batch the SMMU does not
    /// confirm is logged, and the others are still issued.
    fn sync_cd(&self, ssid: Ssid, leaf: bool) -> Result {
        Smmu::per_stream(
            &self.sids,
            |sid| Cmd::cfgi_cd(sid, ssid, leaf),
            |cmds| {
                // Logs a batch the SMMU does not confirm; never fails.
                let _ = self.smmu.sync_logged(cmds);
            },
        );
        Ok(())
    }
}

impl Contexts {
    /// Counts a PASID's CD going from valid `was` to valid `now`.
    fn count(&mut self, was: bool, now: bool) {
        match (was, now) {
            (false, true) => self.pasids += 1,
            (true, false) => self.pasids -= 1,
            _ => {}
        }
    }
}

/// Enables PASID on `client` if it is a PCI function with the capability; `None` otherwise,
/// or if the function cannot have it (logged).
///
/// As the C driver, PASID is enabled while the device is probed, before ATS would be.
#[cfg(CONFIG_PCI_PASID)]
fn enable_pasid(client: &Device) -> Option<Pasid> {
    let pdev = <&pci::Device>::try_from(client).ok()?;
    match Pasid::enable(pdev) {
        Ok(p) => p,
        Err(e) => {
            dev_err!(client, "PASID not enabled: {:?}\n", e);
            None
        }
    }
}

/// Without PCI PASID support, no device has PASID enabled.
#[cfg(not(CONFIG_PCI_PASID))]
fn enable_pasid(_client: &Device) -> Option<Pasid> {
    None
}

/// Prepares ATS on `client` for translations of `2^page_shift` bytes if it is a PCI function
/// that can use it; `None` otherwise, or if it cannot be prepared (logged).
#[cfg(CONFIG_PCI_PASID)]
fn prepare_ats(client: &Device, page_shift: u32) -> Option<Ats> {
    let pdev = <&pci::Device>::try_from(client).ok()?;
    match Ats::prepare(pdev, page_shift) {
        Ok(a) => a,
        Err(e) => {
            dev_err!(client, "ATS not prepared: {:?}\n", e);
            None
        }
    }
}

/// Without PCI ATS support, no device has ATS.
#[cfg(not(CONFIG_PCI_PASID))]
fn prepare_ats(_client: &Device, _page_shift: u32) -> Option<Ats> {
    None
}

/// Whether `client` is a PCI function that needs ATS whatever its translation.
#[cfg(CONFIG_PCI_PASID)]
fn ats_required(client: &Device) -> bool {
    <&pci::Device>::try_from(client).is_ok_and(Ats::required)
}

/// Without PCI ATS support, no device needs it.
#[cfg(not(CONFIG_PCI_PASID))]
fn ats_required(_client: &Device) -> bool {
    false
}

/// The PCI function of `client` if it has a Page Request Interface.
#[cfg(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI))]
fn pri_function(client: &Device) -> Option<PriFunction> {
    let pdev = <&pci::Device>::try_from(client).ok()?;
    Pri::supported(pdev).then(|| pdev.into())
}

/// Without PCI PRI support, no device sends page requests.
#[cfg(not(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI)))]
fn pri_function(_client: &Device) -> Option<PriFunction> {
    None
}

/// Enables PRI on `f`, room for [`PRI_REQUESTS`] outstanding requests.
#[cfg(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI))]
fn enable_pri(f: &PriFunction) -> Result<Pri> {
    Pri::enable(f, PRI_REQUESTS)
}

/// Without PCI PRI support, PRI is never enabled.
#[cfg(not(all(CONFIG_PCI_PASID, CONFIG_PCI_PRI)))]
fn enable_pri(f: &PriFunction) -> Result<Pri> {
    match *f {}
}

impl Drop for Master {
    fn drop(&mut self) {
        // Dropped by `release_device`, the client device still held by the IOMMU core, its
        // streams already aborting. The release domain took the device off the fault queue;
        // should it still be there, it leaves before the core releases it.
        if self.pri_fn.is_some() || self.stalls.enabled() {
            self.smmu.iopf_remove(self.sids[0]);
        }
        self.smmu.release_streams(&self.sids);
    }
}
