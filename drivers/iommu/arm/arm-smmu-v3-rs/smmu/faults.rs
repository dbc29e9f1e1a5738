// SPDX-License-Identifier: GPL-2.0

//! What the SMMU reports: events (faults, configuration errors), drained in the interrupt
//! thread and logged within a rate limit, and global errors.

use kernel::{
    io::Io,
    irq::IrqReturn,
    prelude::*,
    sync::{
        Arc,
        SpinLock, //
    },
    task::cond_resched,
    time::Instant, //
};

use crate::{
    hw::{
        ctrl::{
            gerror_ack,
            gerror_actions,
            Cr0, //
        },
        event::{
            Event,
            EVT_QWORDS, //
        },
        user::is_user_event,
    },
    queue::inq::{
        Batch,
        InQueue,
        Indices, //
    },
    regs::{
        GERROR,
        GERRORN, //
    },
    Show,
};

use super::Smmu;

/// Where the events of a stream go instead of the log: the event queue of the vIOMMU whose
/// guest drives the stream's stage 1 (see [`Smmu::set_event_sink`]).
pub(crate) trait EventSink: Send + Sync {
    /// Reports the raw event record `evt` of the stream; fails if nobody listens (it is then
    /// logged).
    fn report(&self, evt: &[u64; EVT_QWORDS]) -> Result;
}

/// A stream's [`EventSink`].
pub(crate) type StreamSink = (u32, Arc<dyn EventSink>);

impl Smmu {
    /// Drains the event queue (threaded interrupt context).
    ///
    /// The events are copied out a batch at a time under the queue lock, and reported with no
    /// lock held (neither the queue's nor the RCU read lock of the register mapping), giving
    /// the CPU away between batches: a device that faults without end costs this thread CPU
    /// time, not the system its responsiveness.
    pub(crate) fn drain_events(&self) -> IrqReturn {
        self.drain_queue(
            &self.evtq,
            "event",
            || {
                if self.may_log() {
                    dev_err!(self.dev(), "event queue overflowed: events were lost\n");
                }
            },
            |raw| self.handle_event(raw),
        )
    }

    /// Handles the event record `raw`: sends it to the vIOMMU of its stream, or handles the
    /// stalled transaction it reports, or logs it.
    pub(crate) fn handle_event(&self, raw: &[u64; EVT_QWORDS]) {
        if self.forward_event(raw) {
            return;
        }
        let event = Event::decode(raw);
        if !self.handle_stall(&event) {
            self.report_event(&event);
        }
    }

    /// Drains `queue` (the event or PRI queue, `what` in messages) a [`Batch`] at a time:
    /// copies the records out under its spinlock, then, with no lock held, calls `handle` for
    /// each and `overflow` if the SMMU lost records meanwhile (after the records it had
    /// written), giving the CPU away between batches.
    pub(super) fn drain_queue<const N: usize, I: Indices>(
        &self,
        queue: &SpinLock<InQueue<N, I>>,
        what: &str,
        mut overflow: impl FnMut(),
        mut handle: impl FnMut(&[u64; N]),
    ) -> IrqReturn {
        let mut batch = Batch::<N>::new();
        let mut handled = false;
        loop {
            let r = self.with_regs(|io| queue.lock().read_batch(io, &mut batch));
            if let Err(e) = r {
                dev_err!(self.dev(), "{} queue drain failed: {:?}\n", what, e);
                return IrqReturn::Handled;
            }
            handled |= batch.overflow || !batch.records().is_empty();
            for raw in batch.records() {
                handle(raw);
            }
            // After the records: those the SMMU wrote before it lost one come first.
            if batch.overflow {
                overflow();
            }
            if !batch.is_full() {
                break;
            }
            cond_resched();
        }
        if handled {
            IrqReturn::Handled
        } else {
            IrqReturn::None
        }
    }

    /// Sends the guest's events of streams with an [`EventSink`] to it, as the C driver sends
    /// them to a vIOMMU; returns whether `raw` went there.
    ///
    /// The guest's events are its configuration errors and stage 1 faults, not stalls or stage
    /// 2 faults, which are the host's ([`is_user_event`]).
    fn forward_event(&self, raw: &[u64; EVT_QWORDS]) -> bool {
        if !is_user_event(raw) {
            return false;
        }
        let sid = Event::decode(raw).sid;
        let sink = self
            .sinks
            .lock()
            .iter()
            .find(|(s, _)| *s == sid)
            .map(|(_, sink)| sink.clone());
        sink.is_some_and(|sink| sink.report(raw).is_ok())
    }

    /// Sends the guest's events of the streams `sids` to `sink` from now on, replacing their
    /// previous sinks; fails with `ENOMEM`, changing nothing.
    pub(crate) fn set_event_sink(&self, sids: &[u32], sink: &Arc<dyn EventSink>) -> Result {
        let mut sinks = self.sinks.lock();
        sinks.reserve(sids.len(), GFP_KERNEL)?;
        sinks.retain(|(s, _)| !sids.contains(s));
        for sid in sids {
            sinks.push((*sid, sink.clone()), GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Logs the events of the streams `sids` again, as before [`Smmu::set_event_sink`].
    pub(crate) fn clear_event_sink(&self, sids: &[u32]) {
        self.sinks.lock().retain(|(s, _)| !sids.contains(s));
    }

    /// Whether the event log may print one more line within its rate limit; says first how
    /// many were held back when a window closes.
    pub(super) fn may_log(&self) -> bool {
        let verdict = {
            let mut log = self.event_log.lock();
            // CAST: The monotonic clock does not go back; a negative delta cannot happen.
            let now = (Instant::now() - log.0).as_nanos() as u64;
            log.1.check(now)
        };
        if verdict.suppressed != 0 {
            dev_err!(
                self.dev(),
                "{} event log lines held back (rate limit)\n",
                verdict.suppressed
            );
        }
        verdict.print
    }

    /// Logs `event` with the device that owns its stream, within the event log's rate limit.
    pub(super) fn report_event(&self, event: &Event) {
        if !self.may_log() {
            return;
        }
        let streams = self.streams.lock();
        match streams.owner(event.sid) {
            Some(client) => dev_err!(
                self.dev(),
                "event: {}, client {}\n",
                Show(event),
                client.name()
            ),
            None => dev_err!(self.dev(), "event: {}\n", Show(event)),
        }
    }

    /// Handles the global error interrupt (threaded interrupt context).
    ///
    /// Everything runs under the command queue's error lock, which the recovery of a command
    /// error needs anyway: `GERRORN` then has a single writer at a time.
    pub(crate) fn handle_gerror(&self) -> IrqReturn {
        let dev = self.dev();
        let r = self.with_regs(|io| {
            let mut cmdq = self.cmdq.errors();
            let gerror = io.read(GERROR).into_raw();
            let Some(a) = gerror_actions(gerror, io.read(GERRORN).into_raw()) else {
                return Ok(false);
            };
            // A command error is logged, with the command, by the recovery below.
            if a.report != 0 {
                dev_warn!(
                    dev,
                    "global error reported ({:#010x}), this could be serious\n",
                    a.report
                );
            }
            if a.events_lost {
                dev_err!(
                    dev,
                    "event queue write aborted: events may have been lost\n"
                );
            }
            if a.requests_lost {
                dev_err!(
                    dev,
                    "PRI queue write aborted: page requests may have been lost\n"
                );
            }
            if a.recover_cmdq {
                cmdq.recover(dev, io)?;
            }
            let ack = gerror_ack(gerror, io.read(GERRORN).into_raw());
            io.write_reg(GERRORN::from_raw(ack));
            if a.disable {
                dev_err!(dev, "SMMU has entered Service Failure Mode: disabling it\n");
                self.write_cr0(io, Cr0::default())?;
            }
            Ok(true)
        });
        match r {
            Ok(true) => IrqReturn::Handled,
            Ok(false) => IrqReturn::None,
            Err(e) => {
                dev_err!(dev, "global error handling failed: {:?}\n", e);
                IrqReturn::Handled
            }
        }
    }
}
