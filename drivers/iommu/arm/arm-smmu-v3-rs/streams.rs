// SPDX-License-Identifier: GPL-2.0

//! Which client device owns each StreamID.
//!
//! A StreamID names one device to the SMMU: its STE holds that device's translation and its
//! events are that device's faults. PCI aliasing can hand one StreamID to two devices: every
//! conventional PCI device behind a PCIe-to-PCI bridge issues its DMA as (secondary bus,
//! devfn 0), and Linux gives each of them that alias besides its own RID. One STE cannot hold
//! two devices' configurations, so, as the C driver does, the second device to probe is refused
//! and stays without an IOMMU. A device that lists one StreamID twice (a device at devfn 0 of
//! such a bus) owns it once.

use kernel::{
    device::Device,
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNodeReservation, //
    },
    sync::aref::ARef, //
};

/// Memory for one [`Streams`] entry, allocated before the lock is taken.
pub(crate) type StreamSlot = RBTreeNodeReservation<u32, ARef<Device>>;

/// StreamID to owning client device.
pub(crate) struct Streams {
    owners: RBTree<u32, ARef<Device>>,
}

impl Streams {
    /// No StreamID owned.
    pub(crate) fn new() -> Self {
        Self {
            owners: RBTree::new(),
        }
    }

    /// Makes `client` the owner of `sids`, all or none; `slots` holds one entry's memory per
    /// StreamID.
    ///
    /// On a StreamID another device owns, nothing is changed and that StreamID and its owner
    /// are returned.
    pub(crate) fn claim(
        &mut self,
        client: &Device,
        sids: &[u32],
        slots: KVec<StreamSlot>,
    ) -> Result<(), (u32, ARef<Device>)> {
        for (i, (sid, slot)) in sids.iter().zip(slots).enumerate() {
            match self.owners.get(sid) {
                Some(owner) if core::ptr::eq(&**owner, client) => {}
                Some(owner) => {
                    let owner = owner.clone();
                    // `client` owned nothing before: undo what this call recorded. The
                    // references dropped here are not the last, the caller holds `client`.
                    for done in sids.iter().take(i) {
                        if self.owner(*done).is_some_and(|o| core::ptr::eq(o, client)) {
                            self.owners.remove(done);
                        }
                    }
                    return Err((*sid, owner));
                }
                None => {
                    self.owners.insert(slot.into_node(*sid, client.into()));
                }
            }
        }
        Ok(())
    }

    /// Forgets the owner of `sid`; returns whether there was one.
    ///
    /// The owner's reference is dropped here: the caller must hold another one (the IOMMU core
    /// holds the client device while releasing it).
    pub(crate) fn release(&mut self, sid: u32) -> bool {
        self.owners.remove(&sid).is_some()
    }

    /// The lowest StreamID owned, if any.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn first(&self) -> Option<u32> {
        self.owners.keys().next().copied()
    }

    /// The device owning `sid`, if any.
    pub(crate) fn owner(&self, sid: u32) -> Option<&Device> {
        self.owners.get(&sid).map(|o| &**o)
    }
}
