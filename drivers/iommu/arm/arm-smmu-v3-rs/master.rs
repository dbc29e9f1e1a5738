// SPDX-License-Identifier: GPL-2.0

//! Per-device state of a device the SMMU translates (a "master").
//!
//! On an SMMU with stage 1, every master owns a Context Descriptor table ([`CdTable`]) of a
//! single CD (SubstreamID 0, no PASIDs). A stage 1 domain is attached by writing that CD and
//! pointing the device's STEs at the table; each step of a CD update is followed by `CFGI_CD`
//! for every stream of the device and `CMD_SYNC`.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    sync::Arc, //
};

use crate::{
    cdtab::CdTable,
    hw::{
        cd::Cd,
        cmd::Cmd,
        compose,
        ids::Ssid,
        ste::Ste, //
    },
    smmu::{
        EventSink,
        Smmu, //
    },
};

/// The streams of one client device.
pub(crate) struct Master {
    smmu: Arc<Smmu>,
    sids: KVec<u32>,
    /// The Context Descriptor table (one CD), present when the SMMU has stage 1.
    cd_table: Option<CdTable>,
    /// Whether the root complex makes the device's DMA write-back cacheable and shareable.
    canwbs: bool,
}

impl Master {
    /// Claims the StreamIDs of `client` for it; their streams must have been prepared.
    ///
    /// Allocates the device's Context Descriptor table, all invalid, if the SMMU has stage 1,
    /// with `dev`, the SMMU's device. Fails with `ENODEV` if another device owns one of the
    /// StreamIDs (see [`crate::streams`]). `canwbs` is what the firmware says of the device's
    /// root complex (see [`Master::canwbs`]).
    pub(crate) fn new(
        smmu: Arc<Smmu>,
        dev: &Device<Bound>,
        client: &Device,
        sids: &[u32],
        canwbs: bool,
    ) -> Result<Self> {
        let mut v = KVec::with_capacity(sids.len(), GFP_KERNEL)?;
        for sid in sids {
            // PCI aliases can give the same StreamID twice; program it once.
            if !v.contains(sid) {
                v.push(*sid, GFP_KERNEL)?;
            }
        }
        let cd_table = if smmu.features.idr.s1() {
            Some(CdTable::new(dev, 1)?)
        } else {
            None
        };
        smmu.claim_streams(client, &v)?;
        Ok(Self {
            smmu,
            sids: v,
            cd_table,
            canwbs,
        })
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

    /// Installs `ste`, which does not use the Context Descriptor table, then invalidates the CD.
    ///
    /// This is the order of the C driver when leaving a stage 1 domain: once no STE points at
    /// the table any more, the CD (and with it the stage 1 page table) is no longer in use.
    /// Cannot fail: it is how the device leaves any domain, which the core may then free.
    pub(crate) fn install_without_cd(&self, ste: &Ste) {
        self.install(ste);
        self.write_cd(&Cd::INVALID);
    }

    /// Attaches the device to the stage 1 context `cd`: writes the CD, then points every stream
    /// of the device at the CD table.
    ///
    /// Fails, changing nothing, if the device has no CD table; once the first entry is written
    /// every step is carried out (see [`Smmu::install_stes`]).
    pub(crate) fn install_cd(&self, cd: &Cd) -> Result {
        let ste = self.cd_table_ste()?;
        self.write_cd(cd);
        self.install(&ste);
        Ok(())
    }

    /// The STE that translates the device's untagged DMA through CD 0 of its CD table.
    fn cd_table_ste(&self) -> Result<Ste> {
        let table = self.cd_table.as_ref().ok_or(EOPNOTSUPP)?;
        Ok(compose::cd_table_ste(
            &self.smmu.features.idr,
            table.dma_address(),
        )?)
    }

    /// Updates CD 0 to `target`, hitlessly where the architecture allows; every step is carried
    /// out, a sync the SMMU does not confirm is logged.
    ///
    /// Does nothing on an SMMU without stage 1, whose devices never have a valid CD.
    fn write_cd(&self, target: &Cd) {
        let Some(table) = self.cd_table.as_ref() else {
            return;
        };
        if let Err(e) = table.write(Ssid::ZERO, target, || self.sync_cd(Ssid::ZERO)) {
            dev_err!(self.smmu.dev(), "CD not written: {:?}\n", e);
        }
    }

    /// Makes the SMMU observe a change of the CD of `ssid`: `CFGI_CD` for every stream of the
    /// device, in batches that fit the command queue with their `CMD_SYNC`; a batch the SMMU
    /// does not confirm is logged, and the others are still issued.
    fn sync_cd(&self, ssid: Ssid) -> Result {
        for sids in self.sids.chunks(CFGI_BATCH) {
            let mut cmds = [Cmd::from_words([0; 2]); CFGI_BATCH];
            for (cmd, sid) in cmds.iter_mut().zip(sids) {
                *cmd = Cmd::cfgi_cd(*sid, ssid, true);
            }
            self.smmu
                .sync_logged(cmds.get(..sids.len()).ok_or(EINVAL)?)?;
        }
        Ok(())
    }
}

/// How many `CFGI_CD` commands one CD update step issues per `CMD_SYNC`.
const CFGI_BATCH: usize = 16;

impl Drop for Master {
    fn drop(&mut self) {
        // Dropped by `release_device`, the client device still held by the IOMMU core, its
        // streams already aborting.
        self.smmu.release_streams(&self.sids);
    }
}
