// SPDX-License-Identifier: GPL-2.0

//! The stall model: the SMMU's stall behaviour in software, driving the driver's stall paths
//! on the live SMMU, which QEMU cannot stall (`IDR0.STALL_MODEL == 0b01`).
//!
//! The model holds the transactions it stalled and writes the event records that report them;
//! the records go through the driver's event handler ([`Smmu::handle_event`], what the event
//! queue's interrupt thread calls for each record). The commands the driver issues meanwhile are
//! recorded on their way to the live SMMU (which ignores `CMD_RESUME` and `CMD_STALL_TERM`), and
//! the model carries them out as the architecture says: `CMD_RESUME` resumes the stalled
//! transaction its StreamID and `STAG` name, and does nothing if none is; `CMD_STALL_TERM`
//! terminates every stalled transaction of its stream. The driver acts on the model's stall
//! model ([`Smmu::set_model_stalls`]), and reports its page faults to the model's stand-in for
//! the IOMMU core ([`FaultSink`]), which needs a device an IOMMU probed.
//!
//! [`Smmu::handle_event`]: crate::smmu::Smmu::handle_event
//! [`Smmu::set_model_stalls`]: crate::smmu::Smmu::set_model_stalls
//! [`FaultSink`]: crate::smmu::FaultSink

#[kernel::macros::kunit_tests(arm_smmu_v3_rs_stall)]
mod stall_tests {
    use crate::{
        hw::{
            cmd::{
                Cmd,
                FaultResponse,
                Opcode,
                ResumeAction,
                RESUME_ACTION,
                RESUME_STAG, //
            },
            compose::Stalls,
            event::EVT_QWORDS,
            idr::StallModel,
        },
        kunit::{
            smmu,
            spare_sid, //
        },
        smmu::{
            FaultSink,
            Smmu,
            Source, //
        },
    };
    use core::sync::atomic::{
        AtomicBool,
        Ordering, //
    };
    use kernel::{
        iommu::iopf::{
            perm,
            PageRequest, //
        },
        new_mutex,
        prelude::*,
        sync::{
            Arc,
            Mutex, //
        },
    };

    /// What became of a transaction the model stalled.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Fate {
        /// Still stalled.
        Stalled,
        /// Resumed by `CMD_RESUME` with this action.
        Resumed(ResumeAction),
        /// Terminated by `CMD_STALL_TERM`.
        Terminated,
        /// Given up on by the SMMU (terminated without software asking).
        TimedOut,
    }

    /// A software SMMU's stall behaviour for one stream.
    struct Model {
        sid: u32,
        /// The transactions stalled so far, by tag.
        txns: KVec<(u16, Fate)>,
        /// `CMD_RESUME`s that named no stalled transaction (ignored).
        stray_resumes: usize,
    }

    impl Model {
        fn new(sid: u32) -> Self {
            Self {
                sid,
                txns: KVec::new(),
                stray_resumes: 0,
            }
        }

        /// Stalls a transaction of tag `stag`: a write to `addr` with SubstreamID `ssid`, whose
        /// stage 1 translation faulted (`F_TRANSLATION`, or `F_WALK_EABT` if `abort`), and
        /// returns the event record reporting it.
        fn stall(
            &mut self,
            stag: u16,
            addr: u64,
            ssid: Option<u32>,
            abort: bool,
        ) -> Result<[u64; EVT_QWORDS]> {
            self.txns.push((stag, Fate::Stalled), GFP_KERNEL)?;
            let id: u64 = if abort { 0x0b } else { 0x10 };
            let ss = ssid.map_or(0, |s| 1 << 11 | u64::from(s) << 12);
            // Qword 1: STAG [15:0], Stall [31], RnW [35] = 0 (a write), CLASS [41:40] = IN.
            Ok([
                id | ss | u64::from(self.sid) << 32,
                u64::from(stag) | 1 << 31 | 2 << 40,
                addr,
                0,
            ])
        }

        /// The SMMU gives up on the transaction of tag `stag`.
        fn time_out(&mut self, stag: u16) {
            for t in self.txns.iter_mut().filter(|t| t.0 == stag) {
                if t.1 == Fate::Stalled {
                    t.1 = Fate::TimedOut;
                }
            }
        }

        /// Carries out `cmds` as the SMMU would.
        fn execute(&mut self, cmds: &[Cmd]) {
            for c in cmds.iter().filter(|c| c.sid() == self.sid) {
                match c.opcode() {
                    Some(Opcode::Resume) => {
                        // CAST: The field is 16 bits wide.
                        let stag = RESUME_STAG.get(c.words()) as u16;
                        let action = ResumeAction::from_raw(RESUME_ACTION.get(c.words()));
                        let t = self
                            .txns
                            .iter_mut()
                            .find(|t| t.0 == stag && t.1 == Fate::Stalled);
                        match (t, action) {
                            (Some(t), Some(a)) => t.1 = Fate::Resumed(a),
                            _ => self.stray_resumes += 1,
                        }
                    }
                    Some(Opcode::StallTerm) => {
                        for t in self.txns.iter_mut().filter(|t| t.1 == Fate::Stalled) {
                            t.1 = Fate::Terminated;
                        }
                    }
                    _ => {}
                }
            }
        }

        /// What became of the transaction of tag `stag` stalled last.
        fn fate(&self, stag: u16) -> Option<Fate> {
            self.txns.iter().rev().find(|t| t.0 == stag).map(|t| t.1)
        }
    }

    /// The model's IOMMU core: records the page faults reported to it, or refuses them as the
    /// core does when no domain of the device handles page faults.
    #[pin_data]
    struct Core {
        #[pin]
        reported: Mutex<KVec<PageRequest>>,
        refuse: AtomicBool,
    }

    impl FaultSink for Core {
        fn report(&self, req: &PageRequest) -> Result {
            if self.refuse.load(Ordering::Relaxed) {
                return Err(EINVAL);
            }
            self.reported.lock().push(*req, GFP_KERNEL)?;
            Ok(())
        }
    }

    impl Core {
        fn new() -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Self {
                    reported <- new_mutex!(KVec::new(), "arm_smmu_v3_rs::kunit_core"),
                    refuse: AtomicBool::new(false),
                }),
                GFP_KERNEL,
            )
        }

        /// The faults reported since the last call.
        fn take(&self) -> KVec<PageRequest> {
            core::mem::take(&mut *self.reported.lock())
        }
    }

    /// Fails with `what` logged unless `ok`.
    fn check(ok: bool, what: &str) -> Result {
        if ok {
            Ok(())
        } else {
            pr_err!("stall model: {}\n", what);
            Err(EINVAL)
        }
    }

    /// Runs `f` with the model of a spare stream and its core, on an SMMU whose stall model is
    /// `model`, the stream's stalls reported to the core (`Source::Stall`) or its page requests
    /// (`Source::Pri`, a device that cannot stall), then puts everything back.
    fn with_model(
        model: StallModel,
        source: Source,
        f: impl FnOnce(&Smmu, &mut Model, &Core) -> Result,
    ) -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let sid = spare_sid(smmu)?;
        let core = Core::new()?;
        smmu.set_model_stalls(Some(model));
        let sink: Arc<dyn FaultSink> = core.clone();
        let r = smmu.iopf_add_model(sid, source, sink).and_then(|()| {
            let mut m = Model::new(sid);
            let r = f(smmu, &mut m, &core);
            smmu.iopf_remove(sid);
            r
        });
        smmu.set_model_stalls(None);
        r
    }

    /// Feeds `rec` to the driver's event handler; returns the commands it issued, carried out by
    /// the model.
    fn feed(smmu: &Smmu, m: &mut Model, rec: &[u64; EVT_QWORDS]) -> Result<KVec<Cmd>> {
        issued(smmu, m, || smmu.handle_event(rec))
    }

    /// Runs `f`, returning the commands it issued, carried out by the model; fails if the live
    /// SMMU refused one.
    fn issued(smmu: &Smmu, m: &mut Model, f: impl FnOnce()) -> Result<KVec<Cmd>> {
        let skipped = smmu.cmdq_skipped();
        let ((), cmds, lost) = smmu.trace_commands(f)?;
        check(
            lost == 0 && smmu.cmdq_skipped() == skipped,
            "commands lost or refused",
        )?;
        m.execute(&cmds);
        Ok(cmds)
    }

    /// Whether `cmds` are exactly `want`, each with its `CMD_SYNC`.
    fn synced(cmds: &[Cmd], want: &[Cmd]) -> bool {
        cmds.len() == 2 * want.len()
            && cmds
                .chunks(2)
                .zip(want)
                .all(|(pair, w)| pair[0] == *w && pair[1].opcode() == Some(Opcode::Sync))
    }

    /// A stalled page fault of a device that stalls reaches the core as a one-request page
    /// request group named by the stall tag, with its PASID and access; nothing is answered
    /// until the core answers. If the core refuses it (no handler), it has answered already:
    /// the driver does not answer twice.
    #[test]
    fn stalled_fault_is_a_page_request() -> Result {
        with_model(StallModel::Stall, Source::Stall, |smmu, m, core| {
            let rec = m.stall(0x42, 0x1234_5000, Some(3), false)?;
            let cmds = feed(smmu, m, &rec)?;
            check(cmds.is_empty(), "commands before the core answered")?;
            let got = core.take();
            let want = PageRequest {
                pasid: Some(3),
                response_needs_pasid: false,
                last: true,
                grpid: 0x42,
                perm: perm::WRITE,
                addr: 0x1234_5000,
            };
            check(got.len() == 1 && got[0] == want, "page request")?;
            check(m.fate(0x42) == Some(Fate::Stalled), "still stalled")?;

            core.refuse.store(true, Ordering::Relaxed);
            let rec = m.stall(0x43, 0x2000, None, false)?;
            let cmds = feed(smmu, m, &rec)?;
            check(cmds.is_empty(), "a refused fault answered again")?;
            Ok(())
        })
    }

    /// The core's answers resume the transaction as the C driver does: success retries,
    /// invalid and failure abort, a code the core does not define terminates; one `CMD_RESUME`
    /// with the stream and tag, and its `CMD_SYNC`.
    #[test]
    fn responses_resume() -> Result {
        with_model(StallModel::Stall, Source::Stall, |smmu, m, core| {
            let sid = m.sid;
            for (stag, code, action) in [
                (1, Some(FaultResponse::Success), ResumeAction::Retry),
                (2, Some(FaultResponse::Invalid), ResumeAction::Abort),
                (3, Some(FaultResponse::Failure), ResumeAction::Abort),
                (0xffff, None, ResumeAction::Terminate),
            ] {
                let rec = m.stall(stag, 0x4000, None, false)?;
                feed(smmu, m, &rec)?;
                check(core.take().len() == 1, "reported")?;
                let cmds = issued(smmu, m, || smmu.stall_respond(sid, u32::from(stag), code))?;
                check(
                    synced(&cmds, &[Cmd::resume(sid, stag, action)]),
                    "CMD_RESUME and CMD_SYNC",
                )?;
                check(m.fate(stag) == Some(Fate::Resumed(action)), "resumed")?;
            }
            // A tag the core cannot have had from the driver: nothing issued.
            let cmds = issued(smmu, m, || {
                smmu.stall_respond(sid, 0x1_0000, Some(FaultResponse::Success))
            })?;
            check(cmds.is_empty(), "a tag wider than STAG resumed")?;
            Ok(())
        })
    }

    /// An answer for a transaction the SMMU gave up on, or that was terminated, is sent as any
    /// other and matches nothing: the model (as the SMMU) ignores it, and no other transaction
    /// of the stream is touched.
    #[test]
    fn late_response_is_harmless() -> Result {
        with_model(StallModel::Stall, Source::Stall, |smmu, m, core| {
            let sid = m.sid;
            for stag in [7, 8] {
                let rec = m.stall(stag, 0x8000, None, false)?;
                feed(smmu, m, &rec)?;
            }
            check(core.take().len() == 2, "reported")?;
            m.time_out(7);
            let cmds = issued(smmu, m, || {
                smmu.stall_respond(sid, 7, Some(FaultResponse::Success))
            })?;
            check(
                synced(&cmds, &[Cmd::resume(sid, 7, ResumeAction::Retry)]),
                "one CMD_RESUME",
            )?;
            check(m.stray_resumes == 1, "ignored")?;
            check(m.fate(7) == Some(Fate::TimedOut), "still timed out")?;
            check(m.fate(8) == Some(Fate::Stalled), "the other untouched")?;
            Ok(())
        })
    }

    /// A device leaving the fault queue with transactions still stalled has them terminated:
    /// one `CMD_STALL_TERM` for its stream. Answers that come later are harmless.
    #[test]
    fn leaving_terminates_stalls() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let sid = spare_sid(smmu)?;
        let core = Core::new()?;
        smmu.set_model_stalls(Some(StallModel::Stall));
        let sink: Arc<dyn FaultSink> = core.clone();
        let mut m = Model::new(sid);
        let r = smmu
            .iopf_add_model(sid, Source::Stall, sink)
            .and_then(|()| {
                for stag in [0x10, 0x11, 0x12] {
                    let rec = m.stall(stag, 0x1_0000, None, false)?;
                    feed(smmu, &mut m, &rec)?;
                }
                check(core.take().len() == 3, "reported")?;
                let cmds = issued(smmu, &mut m, || smmu.iopf_remove(sid))?;
                check(synced(&cmds, &[Cmd::stall_term(sid)]), "CMD_STALL_TERM")?;
                for stag in [0x10, 0x11, 0x12] {
                    check(m.fate(stag) == Some(Fate::Terminated), "terminated")?;
                }
                issued(smmu, &mut m, || {
                    smmu.stall_respond(sid, 0x11, Some(FaultResponse::Success))
                })?;
                check(m.stray_resumes == 1, "a late answer ignored")?;
                // Off the queue, a new stall is no page fault any more: aborted at once.
                let rec = m.stall(0x13, 0x1_0000, None, false)?;
                let cmds = feed(smmu, &mut m, &rec)?;
                check(core.take().is_empty(), "reported after leaving")?;
                check(
                    synced(&cmds, &[Cmd::resume(sid, 0x13, ResumeAction::Abort)]),
                    "aborted after leaving",
                )
            });
        // Whatever happened, the stream leaves the queue (a second removal does nothing).
        smmu.iopf_remove(sid);
        smmu.set_model_stalls(None);
        r
    }

    /// A stalled transaction that is no page fault of a device that stalls is not reported: a
    /// device on the queue for its page requests (PCIe PRI) whose transaction stalled anyway,
    /// and an external abort on a walk. Each is aborted at once, so that it does not wait for
    /// an answer that never comes.
    #[test]
    fn other_stalls_are_aborted() -> Result {
        with_model(StallModel::Stall, Source::Pri, |smmu, m, core| {
            let rec = m.stall(0x21, 0x3000, None, false)?;
            let cmds = feed(smmu, m, &rec)?;
            check(core.take().is_empty(), "a PRI device's stall reported")?;
            check(
                synced(&cmds, &[Cmd::resume(m.sid, 0x21, ResumeAction::Abort)]),
                "PRI device's stall aborted",
            )?;
            check(
                m.fate(0x21) == Some(Fate::Resumed(ResumeAction::Abort)),
                "aborted",
            )
        })?;
        with_model(StallModel::Stall, Source::Stall, |smmu, m, core| {
            let rec = m.stall(0x22, 0x3000, None, true)?;
            let cmds = feed(smmu, m, &rec)?;
            check(core.take().is_empty(), "an external abort reported")?;
            check(
                synced(&cmds, &[Cmd::resume(m.sid, 0x22, ResumeAction::Abort)]),
                "external abort aborted",
            )
        })
    }

    /// Which devices stall, as the driver decides it for the devices it probes: on the SMMU's
    /// own stall model (QEMU's has none) no device does; where software chooses, a device that
    /// can stall does (`CD.S`) and one that cannot gets `STE.S1STALLD`; where the SMMU forces
    /// stalls every device does.
    #[test]
    fn device_stalls() -> Result {
        let Some(smmu) = smmu() else { return Ok(()) };
        let own = smmu.features.idr.stall_model();
        let mut r = check(
            smmu.device_stalls(true) == Stalls::new(own, true),
            "the SMMU's own stall model",
        );
        for (model, can_stall, stalls, stalld) in [
            (StallModel::Stall, true, true, false),
            (StallModel::Stall, false, false, true),
            (StallModel::Force, true, true, false),
            (StallModel::Force, false, true, false),
            (StallModel::NoStall, true, false, false),
        ] {
            if r.is_err() {
                break;
            }
            smmu.set_model_stalls(Some(model));
            let s = smmu.device_stalls(can_stall);
            r = check(
                smmu.stalls() == (model != StallModel::NoStall)
                    && s.enabled() == stalls
                    && s.stall_disable() == stalld,
                "device stalls",
            );
        }
        smmu.set_model_stalls(None);
        r
    }
}
