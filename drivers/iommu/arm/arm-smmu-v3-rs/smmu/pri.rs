// SPDX-License-Identifier: GPL-2.0

//! PCIe page requests: the PRI queue, drained in its interrupt thread, each request reported to
//! the IOMMU core's I/O page fault queue for the device that sent it, and the answers sent back
//! as `CMD_PRI_RESP`.
//!
//! A device's requests are reported while it is on the fault queue ([`Smmu::iopf_add`]), which
//! its master arranges while its RID is attached to a domain that handles page faults (an
//! iommufd HWPT with a fault queue). The requests of other devices are answered "invalid" here,
//! as the C driver answers all of them. After the SMMU reports that the queue overflowed,
//! groups whose last request may have been lost are forgotten (the core's partial groups).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    iommu::{
        iopf::{
            perm,
            IopfDevice,
            IopfQueue,
            PageRequest as Request, //
        },
        ClientDevice,
        Ops,
        PageResponseCode, //
    },
    irq::IrqReturn,
    new_mutex, new_spinlock,
    prelude::*,
    sync::{
        Arc,
        Mutex,
        SpinLock, //
    },
};

use crate::{
    hw::{
        cmd::{
            Cmd,
            PriResp, //
        },
        event::PageRequest,
        ids::Ssid,
    },
    queue::{inq::Priq, Ring},
};

use super::Smmu;

/// How many page requests the driver lets a device have outstanding (`pci_enable_pri()`).
pub(crate) const PRI_REQUESTS: u32 = 32;

/// A device whose page requests are reported.
struct Reporter {
    /// Its only StreamID.
    sid: u32,
    dev: IopfDevice,
}

/// The PRI queue and the devices whose page requests it reports.
#[pin_data]
pub(crate) struct Pri {
    #[pin]
    queue: SpinLock<Priq>,
    /// Held by whoever drains the queue, so that the requests of a group are reported in
    /// order.
    #[pin]
    drain: Mutex<()>,
    iopf: Arc<IopfQueue>,
    /// Few devices, searched in order. Held while a request is reported, so that a device
    /// cannot leave (and the core release it) meanwhile.
    #[pin]
    devices: Mutex<KVec<Reporter>>,
}

impl Pri {
    /// The PRI queue of `2^log2size` entries at most, and a fault queue named after `dev`, the
    /// SMMU.
    pub(crate) fn new(dev: &Device<Bound>, log2size: u32) -> Result<impl PinInit<Self, Error>> {
        let queue = Priq::new(Ring::new_up_to(dev, log2size)?);
        let iopf = IopfQueue::new(dev.name())?;
        Ok(try_pin_init!(Self {
            queue <- new_spinlock!(queue, "arm_smmu_v3_rs::priq"),
            drain <- new_mutex!((), "arm_smmu_v3_rs::pri_drain"),
            iopf,
            devices <- new_mutex!(KVec::new(), "arm_smmu_v3_rs::pri_devices"),
        }))
    }

    /// The PRI queue.
    pub(super) fn queue(&self) -> &SpinLock<Priq> {
        &self.queue
    }
}

impl Smmu {
    /// Whether the driver takes page requests: the SMMU has a PRI queue with an interrupt.
    pub(crate) fn has_pri(&self) -> bool {
        self.pri.is_some()
    }

    /// Reports the page requests of `dev`, whose only StreamID is `sid`, from now on.
    ///
    /// Fails with `EOPNOTSUPP` without PRI, or as the core's `iopf_queue_add_device()`.
    pub(crate) fn iopf_add<T: Ops>(&self, dev: &ClientDevice<T>, sid: u32) -> Result {
        let pri = self.pri.as_ref().ok_or(EOPNOTSUPP)?;
        let mut devices = pri.devices.lock();
        devices.reserve(1, GFP_KERNEL)?;
        // SAFETY: The entry is removed by `iopf_remove`, which the device's master calls when
        // its RID leaves the domain that wanted page faults, and at the latest when the master
        // is dropped, in `release_device`, before the core releases the device.
        let dev = unsafe { pri.iopf.add_device(dev)? };
        devices.push(Reporter { sid, dev }, GFP_KERNEL)?;
        Ok(())
    }

    /// Stops reporting the page requests of the device whose StreamID is `sid`. The core then
    /// answers the groups it still waits on ("invalid") and forgets the incomplete ones.
    pub(crate) fn iopf_remove(&self, sid: u32) {
        let Some(pri) = self.pri.as_ref() else {
            return;
        };
        // Requests of the device still in the PRI queue are reported first.
        let _ = self.drain_pri();
        let gone = {
            let mut devices = pri.devices.lock();
            match devices.iter().position(|r| r.sid == sid) {
                Some(i) => devices.remove(i).ok(),
                None => None,
            }
        };
        // Dropped with no lock held: the core sends its answers through `page_response`.
        drop(gone);
    }

    /// Drains the PRI queue (threaded interrupt context, or a device leaving): copies the
    /// requests out a batch at a time and reports each with no queue spinlock held.
    pub(crate) fn drain_pri(&self) -> IrqReturn {
        let Some(pri) = self.pri.as_ref() else {
            return IrqReturn::None;
        };
        let _drain = pri.drain.lock();
        self.drain_queue(
            &pri.queue,
            "PRI",
            || {
                dev_err!(
                    self.dev(),
                    "PRI queue overflowed: page requests were lost\n"
                );
                // A group whose last request was lost would wait for it forever: the partial
                // groups reported so far, which include the requests written before the loss,
                // are forgotten (a group that started after it is then answered on its last
                // request alone, and the device asks again).
                pri.iopf.discard_partial();
            },
            |raw| self.handle_request(pri, &PageRequest::decode(raw)),
        )
    }

    /// Reports `req` for its device, or answers it "invalid" if nobody takes its page faults.
    fn handle_request(&self, pri: &Pri, req: &PageRequest) {
        // A Stop Marker only delimits a PASID's requests: nothing to report or answer.
        if req.is_stop_marker() {
            return;
        }
        let a = &req.access;
        let mut p = 0;
        for (on, bit) in [
            (a.read, perm::READ),
            (a.write, perm::WRITE),
            (a.exec, perm::EXEC),
            (a.privileged, perm::PRIV),
        ] {
            if on {
                p |= bit;
            }
        }
        let request = Request {
            pasid: req.ssid.map(|s| s.get()),
            // The response carries a request's PASID back: the PRG Response PASID Required
            // devices need it, the others ignore it.
            response_needs_pasid: true,
            last: req.last,
            grpid: u32::from(req.grpid),
            perm: p,
            addr: req.addr,
        };
        let reported = {
            let devices = pri.devices.lock();
            devices
                .iter()
                .find(|r| r.sid == req.sid)
                .map(|r| r.dev.report(&request))
        };
        match reported {
            // The core answered a group it could not take (no handler) already.
            Some(_) => {}
            None => {
                if self.may_log() {
                    dev_warn!(self.dev(), "unexpected {}\n", crate::Show(req));
                }
                if req.last {
                    self.pri_respond(req.sid, req.ssid, req.grpid, PriResp::Deny);
                }
            }
        }
    }

    /// Answers the page request group `grpid` of StreamID `sid` (and SubstreamID `ssid`).
    pub(crate) fn pri_respond(&self, sid: u32, ssid: Option<Ssid>, grpid: u16, resp: PriResp) {
        match Cmd::pri_resp(sid, ssid, grpid, resp) {
            // `CMD_PRI_RESP` is posted to the device; the sync only orders it with what follows.
            Ok(cmd) => {
                let _ = self.sync_logged(&[cmd]);
            }
            Err(e) => dev_err!(
                self.dev(),
                "no response to group {:#x}: {:?}\n",
                grpid,
                Error::from(e)
            ),
        }
    }
}

/// The `CMD_PRI_RESP` response for the core's answer `code` (`None`: a value it does not
/// define, refused).
pub(crate) fn pri_resp(code: Option<PageResponseCode>) -> PriResp {
    match code {
        Some(PageResponseCode::Success) => PriResp::Success,
        Some(PageResponseCode::Failure) => PriResp::Fail,
        Some(PageResponseCode::Invalid) | None => PriResp::Deny,
    }
}
