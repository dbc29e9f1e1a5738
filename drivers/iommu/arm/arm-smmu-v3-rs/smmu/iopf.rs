// SPDX-License-Identifier: GPL-2.0

//! Recoverable page faults: the IOMMU core's fault queue of the SMMU and the devices whose page
//! faults are reported to it, PCIe page requests ([`super::pri`]) and stalled transactions
//! ([`super::stall`]) alike.
//!
//! A device is on the queue while its RID is attached to a domain that handles page faults (an
//! iommufd HWPT with a fault queue), which its master arranges. While it is, its faults go to
//! the core, which answers them through `page_response`; when it leaves, the core answers what
//! it still waits on ("invalid") and forgets the incomplete groups.

use kernel::{
    iommu::{
        iopf::{
            perm,
            IopfDevice,
            IopfQueue,
            PageRequest as Request, //
        },
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

use crate::hw::{
    event::Access,
    ids::Ssid, //
};

use super::Smmu;

/// How a device's page faults reach the SMMU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// PCIe page requests, in the PRI queue.
    Pri,
    /// Stalled transactions, in the event queue.
    Stall,
}

/// Where the live KUnit suite's stall model receives the page faults the driver reports, in
/// place of the IOMMU core (which needs a device an IOMMU probed).
#[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
pub(crate) trait FaultSink: Send + Sync {
    /// Takes the page fault `req`; fails as the core does when nobody handles it.
    fn report(&self, req: &Request) -> Result;
}

/// Where a device's page faults go.
enum Sink {
    /// The IOMMU core.
    Core(IopfDevice),
    /// The live KUnit suite's stall model.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    Model(Arc<dyn FaultSink>),
}

/// A device whose page faults are reported.
struct Reporter {
    /// Its only StreamID.
    sid: u32,
    source: Source,
    sink: Sink,
}

/// The fault queue and the devices on it.
#[pin_data]
pub(crate) struct Iopf {
    queue: Arc<IopfQueue>,
    /// Few devices, searched in order. Held while a fault is reported, so that a device cannot
    /// leave (and the core release it) meanwhile.
    #[pin]
    devices: Mutex<KVec<Reporter>>,
}

impl Iopf {
    /// A fault queue named after `name`, the SMMU, with no device on it.
    pub(crate) fn new(name: &CStr) -> Result<impl PinInit<Self, Error>> {
        let queue = IopfQueue::new(name)?;
        Ok(try_pin_init!(Self {
            queue,
            devices <- new_mutex!(KVec::new(), "arm_smmu_v3_rs::iopf_devices"),
        }))
    }

    /// Forgets the requests of every device that wait for the rest of their group (after the
    /// PRI queue lost requests).
    pub(super) fn discard_partial(&self) {
        self.queue.discard_partial();
    }
}

/// The page request of the IOMMU core for a fault of `access` at `addr`, in group `grpid`
/// (`last`, the group is complete), with the SubstreamID `ssid`, which the answer carries back
/// if `response_needs_pasid`.
pub(super) fn request(
    ssid: Option<Ssid>,
    access: &Access,
    addr: u64,
    grpid: u32,
    last: bool,
    response_needs_pasid: bool,
) -> Request {
    let mut p = 0;
    for (on, bit) in [
        (access.read, perm::READ),
        (access.write, perm::WRITE),
        (access.exec, perm::EXEC),
        (access.privileged, perm::PRIV),
    ] {
        if on {
            p |= bit;
        }
    }
    Request {
        pasid: ssid.map(|s| s.get()),
        response_needs_pasid,
        last,
        grpid,
        perm: p,
        addr,
    }
}

impl Smmu {
    /// The fault queue of `source`: present when the SMMU takes page requests, for
    /// [`Source::Pri`], or can stall, for [`Source::Stall`].
    fn iopf_for(&self, source: Source) -> Result<&Iopf> {
        let usable = match source {
            Source::Pri => self.has_pri(),
            Source::Stall => self.stalls(),
        };
        match self.iopf.as_deref() {
            Some(iopf) if usable => Ok(iopf),
            _ => Err(EOPNOTSUPP),
        }
    }

    /// Adds `sink` for the device whose only StreamID is `sid`.
    fn iopf_push(
        &self,
        iopf: &Iopf,
        sid: u32,
        source: Source,
        sink: impl FnOnce() -> Result<Sink>,
    ) -> Result {
        let mut devices = iopf.devices.lock();
        devices.reserve(1, GFP_KERNEL)?;
        let sink = sink()?;
        devices.push(Reporter { sid, source, sink }, GFP_KERNEL)?;
        Ok(())
    }

    /// Reports the page faults of `source` of `dev`, whose only StreamID is `sid`, from now on.
    ///
    /// Fails with `EOPNOTSUPP` if the SMMU has no such faults, or as the core's
    /// `iopf_queue_add_device()`.
    pub(crate) fn iopf_add<T: Ops>(
        &self,
        dev: &ClientDevice<T>,
        sid: u32,
        source: Source,
    ) -> Result {
        let iopf = self.iopf_for(source)?;
        self.iopf_push(iopf, sid, source, || {
            // SAFETY: The entry is removed by `iopf_remove`, which the device's master calls
            // when its RID leaves the domain that wanted page faults, and at the latest when
            // the master is dropped, in `release_device`, before the core releases the device.
            Ok(Sink::Core(unsafe { iopf.queue.add_device(dev)? }))
        })
    }

    /// Reports the page faults of `source` of StreamID `sid` to `sink`, the live KUnit suite's
    /// stall model, from now on; [`Smmu::iopf_remove`] as for a device.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn iopf_add_model(
        &self,
        sid: u32,
        source: Source,
        sink: Arc<dyn FaultSink>,
    ) -> Result {
        let iopf = self.iopf.as_deref().ok_or(EOPNOTSUPP)?;
        self.iopf_push(iopf, sid, source, || Ok(Sink::Model(sink)))
    }

    /// Stops reporting the page faults of the device whose StreamID is `sid`. The core then
    /// answers the faults it still waits on ("invalid") and forgets the incomplete groups;
    /// transactions of the device that are still stalled (their events not yet handled, or
    /// lost) are terminated.
    pub(crate) fn iopf_remove(&self, sid: u32) {
        let Some(iopf) = self.iopf.as_deref() else {
            return;
        };
        // Requests of the device still in the PRI queue are reported first.
        let _ = self.drain_pri();
        let gone = {
            let mut devices = iopf.devices.lock();
            match devices.iter().position(|r| r.sid == sid) {
                Some(i) => devices.remove(i).ok(),
                None => None,
            }
        };
        let stalls = gone.as_ref().is_some_and(|r| r.source == Source::Stall);
        // Dropped with no lock held: the core sends its answers through `page_response`.
        drop(gone);
        if stalls {
            self.stall_term(sid);
        }
    }

    /// Reports the page fault `req` of `source` of StreamID `sid`; `None` if no device on the
    /// queue takes such faults for it, else how the report went (on an error for the last
    /// request of a group, the core has answered the group).
    pub(super) fn iopf_report(&self, sid: u32, source: Source, req: &Request) -> Option<Result> {
        let devices = self.iopf.as_deref()?.devices.lock();
        let r = devices
            .iter()
            .find(|r| r.sid == sid && r.source == source)?;
        Some(match &r.sink {
            Sink::Core(dev) => dev.report(req),
            #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
            Sink::Model(m) => m.report(req),
        })
    }
}
