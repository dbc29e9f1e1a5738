// SPDX-License-Identifier: GPL-2.0

//! The command queue.
//!
//! Commands are written into free slots, published by one write of `CMDQ_PROD`, and followed by
//! a `CMD_SYNC` whose consumption tells that every earlier command has completed. The queue is
//! used under the SMMU's command lock with interrupts off, so completion is polled with a bounded
//! busy-wait: a timeout is reported, never hung on.
//!
//! # Ownership of the ring
//!
//! Slots from `CONS` (exclusive of a stopped, erroneous entry) up to `prod` belong to the SMMU;
//! all others belong to the driver. The driver writes only slots it owns and publishes them with
//! `CMDQ_PROD`, whose MMIO write orders the preceding stores to coherent memory.

use kernel::{
    device::Device,
    io::{
        mem::IoMem,
        poll::read_poll_timeout_atomic,
        Io, //
    },
    prelude::*,
    time::Delta, //
};

use crate::{
    hw::{
        cmd::{
            Cmd,
            SyncCompletion,
            CMD_QWORDS, //
        },
        ctrl::{
            gerror_active,
            GERROR_CMDQ_ERR, //
        },
        prodcons::CmdqError,
    },
    queue::Ring,
    regs::{
        self,
        CMDQ_CONS,
        CMDQ_PROD,
        GERROR,
        GERRORN, //
    },
};

/// How long a `CMD_SYNC` may take: one second, as the C driver allows.
const SYNC_TIMEOUT_US: usize = 1_000_000;

/// The SMMU command queue.
pub(crate) struct Cmdq {
    ring: Ring<CMD_QWORDS>,
    /// The producer index (with wrap bit) last published to the SMMU.
    prod: u32,
    /// How many commands the SMMU refused and [`Cmdq::recover`] replaced: none outside fault
    /// injection, since every such command is a driver bug or a failed ATC invalidation.
    skipped: u64,
    /// The `CMDQ_CONS` of the last fetch abort logged, so that a persistent one is logged once.
    abt_logged: Option<u32>,
    /// The commands issued by one task, for the live KUnit suite.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) trace: trace::Trace,
}

impl Cmdq {
    /// Wraps an allocated ring; the queue starts empty at index 0.
    pub(crate) fn new(ring: Ring<CMD_QWORDS>) -> Self {
        Self {
            ring,
            prod: 0,
            skipped: 0,
            abt_logged: None,
            #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
            trace: trace::Trace::new(),
        }
    }

    /// How many refused commands were replaced so far.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The value of `SMMU_CMDQ_BASE`.
    pub(crate) fn base_reg(&self) -> Result<u64> {
        self.ring.base_reg()
    }

    /// Forgets everything queued: the SMMU's indices were just reset to 0.
    pub(crate) fn reset(&mut self) {
        self.prod = 0;
    }

    /// Issues `cmds` followed by a `CMD_SYNC`, and waits until all of them have completed.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if the SMMU did not consume the commands within [`SYNC_TIMEOUT_US`].
    pub(crate) fn issue_sync(
        &mut self,
        dev: &Device,
        io: &IoMem<'_, { regs::SIZE }>,
        cmds: &[Cmd],
    ) -> Result {
        let sync = Cmd::sync(SyncCompletion::None)?;
        let q = self.ring.queue();
        let total = cmds.len() + 1;
        let mut done = 0;
        while done < total {
            let space = self.wait_space(dev, io)?;
            // CAST: `space` is at most the queue size, below 2^19.
            let n = (space as usize).min(total - done);
            for i in done..done + n {
                let cmd = cmds.get(i).unwrap_or(&sync);
                self.ring.write(self.prod, cmd.words())?;
                self.prod = q.advance(self.prod, 1);
                #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                self.trace.record(cmd);
            }
            // The MMIO write orders the entries' stores before the SMMU can see `PROD`.
            io.write_reg(CMDQ_PROD::from_raw(self.prod));
            done += n;
        }
        self.wait_empty(dev, io)
    }

    /// Waits for at least one free slot; returns how many there are.
    fn wait_space(&mut self, dev: &Device, io: &IoMem<'_, { regs::SIZE }>) -> Result<u32> {
        let q = self.ring.queue();
        let prod = self.prod;
        let cons = self.poll(dev, io, |cons| q.space(prod, *cons) > 0)?;
        Ok(q.space(prod, cons))
    }

    /// Waits until the SMMU has consumed everything published.
    fn wait_empty(&mut self, dev: &Device, io: &IoMem<'_, { regs::SIZE }>) -> Result {
        let q = self.ring.queue();
        let prod = self.prod;
        self.poll(dev, io, |cons| q.is_empty(prod, *cons))
            .map(|_| ())
    }

    /// Polls `CMDQ_CONS` until `cond` holds, recovering from command errors on the way.
    fn poll(
        &mut self,
        dev: &Device,
        io: &IoMem<'_, { regs::SIZE }>,
        mut cond: impl FnMut(&u32) -> bool,
    ) -> Result<u32> {
        read_poll_timeout_atomic(
            || {
                // The SMMU stops at an erroneous command; the global error interrupt may be
                // waiting for the lock this caller holds, so recover here as well.
                self.recover(dev, io)?;
                Ok(io.read(CMDQ_CONS).into_raw())
            },
            |cons| cond(cons),
            Delta::from_micros(1),
            SYNC_TIMEOUT_US,
        )
        .inspect_err(|e| {
            if *e == ETIMEDOUT {
                dev_err!(
                    dev,
                    "CMD_SYNC timeout: prod {:#x} cons {:#x}\n",
                    self.prod,
                    io.read(CMDQ_CONS).into_raw()
                );
            }
        })
    }

    /// Recovers from a command error reported in `GERROR.CMDQ_ERR`, if there is one.
    ///
    /// As the architecture specifies, the driver fixes the entry at `CONS` and acknowledges the
    /// error by toggling `GERRORN.CMDQ_ERR`, after which the SMMU resumes at `CONS`. An illegal
    /// command (a driver bug) or one whose ATC invalidation timed out is logged, counted and
    /// replaced by a `CMD_SYNC`, which has no effect of its own; a fetch abort is retried as it
    /// is; an error code of none leaves the queue as it is.
    ///
    /// `GERRORN` is written only here and by the global error handler, both under the lock
    /// that guards this queue: its read-modify-write never races with itself.
    pub(crate) fn recover(&mut self, dev: &Device, io: &IoMem<'_, { regs::SIZE }>) -> Result {
        let gerror = io.read(GERROR).into_raw();
        let gerrorn = io.read(GERRORN).into_raw();
        if gerror_active(gerror, gerrorn) & GERROR_CMDQ_ERR == 0 {
            return Ok(());
        }
        let cons = io.read(CMDQ_CONS).into_raw();
        match CmdqError::from_cons(cons) {
            Some(CmdqError::None) => {}
            Some(CmdqError::Abt) => {
                if self.abt_logged != Some(cons) {
                    dev_err!(dev, "command fetch aborted at cons {:#x}; retrying\n", cons);
                    self.abt_logged = Some(cons);
                }
            }
            err => {
                let bad = self.ring.read(cons)?;
                dev_err!(
                    dev,
                    "command error {:?} at cons {:#x}: {:#018x} {:#018x}; skipped\n",
                    err,
                    cons,
                    bad[0],
                    bad[1]
                );
                self.skipped += 1;
                self.ring
                    .write(cons, Cmd::sync(SyncCompletion::None)?.words())?;
            }
        }
        // Acknowledge: make GERRORN.CMDQ_ERR equal to GERROR.CMDQ_ERR again.
        io.write_reg(GERRORN::from_raw(gerrorn ^ GERROR_CMDQ_ERR));
        Ok(())
    }
}

/// A record of the commands one task issues, for the live KUnit suite: what the driver asked of
/// the SMMU, which QEMU's model does not tell (it ignores `TTL`, for one).
#[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
pub(crate) mod trace {
    use crate::hw::cmd::Cmd;
    use kernel::task::Pid;

    /// How many commands (`CMD_SYNC`s included) a trace holds; later ones are counted as lost.
    const LEN: usize = 160;

    /// The commands issued by task `pid`, in order, while recording.
    pub(crate) struct Trace {
        pid: Option<Pid>,
        cmds: [Cmd; LEN],
        len: usize,
        lost: usize,
    }

    impl Trace {
        pub(super) const fn new() -> Self {
            Self {
                pid: None,
                cmds: [Cmd::from_words([0; 2]); LEN],
                len: 0,
                lost: 0,
            }
        }

        /// Empties the trace and records the commands of the current task from now on.
        pub(crate) fn start(&mut self) {
            self.pid = Some(kernel::current!().pid());
            self.len = 0;
            self.lost = 0;
        }

        /// Stops recording; returns the commands recorded, and how many did not fit.
        pub(crate) fn stop(&mut self) -> (&[Cmd], usize) {
            self.pid = None;
            (self.cmds.get(..self.len).unwrap_or(&[]), self.lost)
        }

        pub(super) fn record(&mut self, cmd: &Cmd) {
            if self.pid != Some(kernel::current!().pid()) {
                return;
            }
            match self.cmds.get_mut(self.len) {
                Some(slot) => {
                    *slot = *cmd;
                    self.len += 1;
                }
                None => self.lost += 1,
            }
        }
    }
}
