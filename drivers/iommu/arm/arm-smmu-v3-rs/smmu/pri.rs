// SPDX-License-Identifier: GPL-2.0

//! PCIe page requests: the PRI queue, drained in its interrupt thread, each request reported to
//! the IOMMU core's I/O page fault queue for the device that sent it, and the answers sent back
//! as `CMD_PRI_RESP`.
//!
//! A device's requests are reported while it is on the fault queue ([`super::iopf`]), which
//! its master arranges while its RID is attached to a domain that handles page faults (an
//! iommufd HWPT with a fault queue). The requests of other devices are answered "invalid" here,
//! as the C driver answers all of them. After the SMMU reports that the queue overflowed,
//! groups whose last request may have been lost are forgotten (the core's partial groups).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    irq::IrqReturn,
    new_mutex, new_spinlock,
    prelude::*,
    sync::{
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

use super::{
    iopf::{
        request,
        Source, //
    },
    Smmu,
};

/// How many page requests the driver lets a device have outstanding (`pci_enable_pri()`).
pub(crate) const PRI_REQUESTS: u32 = 32;

/// The PRI queue.
#[pin_data]
pub(crate) struct Pri {
    #[pin]
    queue: SpinLock<Priq>,
    /// Held by whoever drains the queue, so that the requests of a group are reported in
    /// order.
    #[pin]
    drain: Mutex<()>,
}

impl Pri {
    /// The PRI queue of `2^log2size` entries at most, for `dev`, the SMMU.
    pub(crate) fn new(dev: &Device<Bound>, log2size: u32) -> Result<impl PinInit<Self, Error>> {
        let queue = Priq::new(Ring::new_up_to(dev, log2size)?);
        Ok(try_pin_init!(Self {
            queue <- new_spinlock!(queue, "arm_smmu_v3_rs::priq"),
            drain <- new_mutex!((), "arm_smmu_v3_rs::pri_drain"),
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
                if let Some(iopf) = self.iopf.as_deref() {
                    iopf.discard_partial();
                }
            },
            |raw| self.handle_request(&PageRequest::decode(raw)),
        )
    }

    /// Reports `req` for its device, or answers it "invalid" if nobody takes its page faults.
    fn handle_request(&self, req: &PageRequest) {
        // A Stop Marker only delimits a PASID's requests: nothing to report or answer.
        if req.is_stop_marker() {
            return;
        }
        // The response carries a request's PASID back: the PRG Response PASID Required
        // devices need it, the others ignore it.
        let request = request(
            req.ssid,
            &req.access,
            req.addr,
            u32::from(req.grpid),
            req.last,
            true,
        );
        match self.iopf_report(req.sid, Source::Pri, &request) {
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
