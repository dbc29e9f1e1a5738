// SPDX-License-Identifier: GPL-2.0

//! Stalled transactions: a device that can wait for a faulting transaction (`dma-can-stall`), or
//! any device where the SMMU forces stalls, has its stage 1 faults stalled (`CD.S`). The SMMU
//! reports each with an event whose `Stall` bit is set and holds the transaction until software
//! answers it with `CMD_RESUME` (retry or abort) for its StreamID and stall tag (`STAG`).
//!
//! A stalled page fault of a device on the fault queue ([`super::iopf`]) is reported to the
//! IOMMU core as a one-request page request group whose index is the `STAG`, as the C driver
//! reports it; the core's answer comes back through `page_response` as `CMD_RESUME`
//! ([`FaultResponse::resume_action`]). Any other stalled transaction (of a device not on the
//! queue, or a fault that no page can resolve) is logged and aborted at once: unlike the C
//! driver, which leaves it stalled, so that the device does not wait forever.
//!
//! When a device leaves the fault queue, the core answers what it still waits on and the
//! device's transactions that are still stalled are terminated (`CMD_STALL_TERM`): those whose
//! events were not handled yet, or were lost. An answer for a transaction that is no longer
//! stalled (terminated, or given up on by the SMMU) matches nothing and has no effect: the
//! SMMU ignores a `CMD_RESUME` whose `STAG` names no stalled transaction of the stream.

use kernel::prelude::*;

use crate::hw::{
    cmd::{
        Cmd,
        FaultResponse,
        ResumeAction, //
    },
    compose::Stalls,
    event::Event,
    idr::StallModel,
};

use super::{
    iopf::{
        request,
        Source, //
    },
    Smmu,
};

impl Smmu {
    /// `IDR0.STALL_MODEL` as the driver acts on it (the live KUnit suite's stall model may
    /// stand in for the SMMU's).
    pub(crate) fn stall_model(&self) -> Option<StallModel> {
        #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
        if let Some(model) = self.model_stalls() {
            return model;
        }
        self.features.idr.stall_model()
    }

    /// The stalls of a device the firmware says can wait for a stalled transaction
    /// (`can_stall`, `dma-can-stall`) or not.
    pub(crate) fn device_stalls(&self, can_stall: bool) -> Stalls {
        Stalls::new(self.stall_model(), can_stall)
    }

    /// Whether the SMMU can stall transactions (`IDR0.STALL_MODEL` 0b00 or 0b10).
    pub(crate) fn stalls(&self) -> bool {
        matches!(
            self.stall_model(),
            Some(StallModel::Stall | StallModel::Force)
        )
    }

    /// Handles the stalled transaction `evt` reports, if it reports one; returns whether it
    /// did. A page fault of a device that takes its stalls as page faults is reported to the
    /// fault queue; any other is logged and aborted.
    pub(super) fn handle_stall(&self, evt: &Event) -> bool {
        let Some(stall) = evt.stall() else {
            return false;
        };
        let reported = if stall.page_fault {
            let req = request(
                stall.ssid,
                &stall.access,
                stall.addr,
                u32::from(stall.stag),
                true,
                false,
            );
            self.iopf_report(stall.sid, Source::Stall, &req)
        } else {
            None
        };
        match reported {
            Some(Ok(())) => {}
            // Nobody handles the device's page faults: the core answered the group already.
            Some(Err(_)) => self.report_event(evt),
            None => {
                self.report_event(evt);
                self.resume(stall.sid, stall.stag, ResumeAction::Abort);
            }
        }
        true
    }

    /// Answers the stalled transaction of StreamID `sid` with tag `stag` (a page request group
    /// index as the core knows it) with the core's answer `code` (`None`: one it does not
    /// define).
    pub(crate) fn stall_respond(&self, sid: u32, stag: u32, code: Option<FaultResponse>) {
        match u16::try_from(stag) {
            Ok(stag) => self.resume(sid, stag, FaultResponse::resume_action(code)),
            // Cannot happen: the core answers the groups the driver reported.
            Err(_) => dev_err!(self.dev(), "bad stall tag {:#x}\n", stag),
        }
    }

    /// Resumes the stalled transaction of StreamID `sid` with tag `stag` as `action` says.
    fn resume(&self, sid: u32, stag: u16, action: ResumeAction) {
        // The sync only orders it with what follows; a failure is logged.
        let _ = self.sync_logged(&[Cmd::resume(sid, stag, action)]);
    }

    /// Terminates every stalled transaction of StreamID `sid`.
    pub(super) fn stall_term(&self, sid: u32) {
        let _ = self.sync_logged(&[Cmd::stall_term(sid)]);
    }
}
