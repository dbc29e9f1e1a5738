// SPDX-License-Identifier: GPL-2.0

//! Per-device state of a device the SMMU translates (a "master").

use kernel::{
    prelude::*,
    sync::Arc, //
};

use crate::{
    hw::ste::Ste,
    smmu::Smmu, //
};

/// The streams of one client device.
pub(crate) struct Master {
    smmu: Arc<Smmu>,
    sids: KVec<u32>,
}

impl Master {
    /// Records the StreamIDs of a device; their streams must have been prepared.
    pub(crate) fn new(smmu: Arc<Smmu>, sids: &[u32]) -> Result<Self> {
        let mut v = KVec::with_capacity(sids.len(), GFP_KERNEL)?;
        for sid in sids {
            // PCI aliases can give the same StreamID twice; program it once.
            if !v.contains(sid) {
                v.push(*sid, GFP_KERNEL)?;
            }
        }
        Ok(Self { smmu, sids: v })
    }

    /// The SMMU translating this device.
    pub(crate) fn smmu(&self) -> &Arc<Smmu> {
        &self.smmu
    }

    /// Installs `ste` for every stream of the device.
    pub(crate) fn install(&self, ste: &Ste) -> Result {
        for sid in self.sids.iter() {
            self.smmu.install_ste(*sid, ste)?;
        }
        Ok(())
    }
}
