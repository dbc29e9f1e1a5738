// SPDX-License-Identifier: GPL-2.0

//! Bringing the SMMU up and down: reset, the enable sequence, interrupt masks, and the
//! acknowledged control register writes they are made of.

use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::{
        poll::read_poll_timeout_atomic,
        Io, //
    },
    prelude::*,
    time::Delta, //
};

use crate::{
    hw::{
        attr::Shareability,
        cmd::Cmd,
        compose,
        ctrl::{
            cr1,
            cr2,
            enable_steps,
            gbpa_update,
            gbpa_updating,
            Cr0,
            Cr1Cache,
            EnableStep,
            WalkAttrs, //
        },
    },
    regs::{
        halves,
        CMDQ_BASE_HI,
        CMDQ_BASE_LO,
        CMDQ_CONS,
        CMDQ_PROD,
        CR0,
        CR0ACK,
        CR1,
        CR2,
        EVTQ_BASE_HI,
        EVTQ_BASE_LO,
        EVTQ_CONS,
        EVTQ_PROD,
        GBPA,
        IRQ_CTRL,
        IRQ_CTRLACK,
        PRIQ_BASE_HI,
        PRIQ_BASE_LO,
        PRIQ_CONS,
        PRIQ_PROD,
        STRTAB_BASE_CFG,
        STRTAB_BASE_HI,
        STRTAB_BASE_LO, //
    },
};

use super::{
    Regs,
    Smmu, //
};

/// How many microseconds the SMMU may take to acknowledge a control register write: one second,
/// as the C driver allows.
const ACK_TIMEOUT_US: usize = 1_000_000;

impl Smmu {
    /// Brings the SMMU from any state to: queues enabled and empty, stream table installed, all
    /// configuration and TLB caches invalidated, interrupts unmasked, translation enabled (every
    /// stream aborts until its STE is installed).
    ///
    /// The interrupt handlers must be registered: `SMMU_IRQ_CTRL` is programmed before the event
    /// queue and translation are enabled, so that nothing they raise goes unsignalled.
    pub(crate) fn reset(&self) -> Result {
        let (strtab_base, strtab_cfg) = self.strtab.lock().base_regs()?;
        self.with_regs(|io| {
            let dev = self.dev();
            if Cr0::from_value(io.read(CR0).into_raw()).smmu {
                dev_warn!(dev, "SMMU currently enabled! Resetting...\n");
                self.update_gbpa(io, true)?;
            }
            self.write_cr0(io, Cr0::default())?;
            self.write_irq_ctrl(io, 0)?;

            let (tables, queues) = if self.features.coherent {
                let wb = WalkAttrs {
                    inner: Cr1Cache::WriteBack,
                    outer: Cr1Cache::WriteBack,
                    shareability: Shareability::Inner,
                };
                (wb, wb)
            } else {
                let nc = WalkAttrs {
                    inner: Cr1Cache::NonCacheable,
                    outer: Cr1Cache::NonCacheable,
                    shareability: Shareability::Outer,
                };
                (nc, nc)
            };
            io.write_reg(CR1::from_raw(cr1(tables, queues)));
            io.write_reg(CR2::from_raw(cr2(false, true, true)));

            let (lo, hi) = halves(strtab_base);
            io.write_reg(STRTAB_BASE_LO::from_raw(lo));
            io.write_reg(STRTAB_BASE_HI::from_raw(hi));
            io.write_reg(STRTAB_BASE_CFG::from_raw(strtab_cfg));

            {
                let (lo, hi) = halves(self.cmdq.base_reg()?);
                io.write_reg(CMDQ_BASE_LO::from_raw(lo));
                io.write_reg(CMDQ_BASE_HI::from_raw(hi));
                io.write_reg(CMDQ_PROD::from_raw(0));
                io.write_reg(CMDQ_CONS::from_raw(0));
                self.cmdq.reset();
            }

            for step in enable_steps(&self.features.idr, self.has_pri()) {
                match step {
                    EnableStep::Cr0(cr0) => self.write_cr0(io, cr0)?,
                    EnableStep::InvalidateAll => {
                        self.issue_sync_with(io, &[Cmd::cfgi_all()])?;
                        self.issue_sync_with(io, &[Cmd::tlbi_nsnh_all()])?;
                    }
                    EnableStep::QueueBases => {
                        let mut evtq = self.evtq.lock();
                        let (lo, hi) = halves(evtq.base_reg()?);
                        io.write_reg(EVTQ_BASE_LO::from_raw(lo));
                        io.write_reg(EVTQ_BASE_HI::from_raw(hi));
                        io.write_reg(EVTQ_PROD::from_raw(0));
                        io.write_reg(EVTQ_CONS::from_raw(0));
                        evtq.reset();
                        if let Some(pri) = self.pri.as_ref() {
                            let mut priq = pri.queue().lock();
                            let (lo, hi) = halves(priq.base_reg()?);
                            io.write_reg(PRIQ_BASE_LO::from_raw(lo));
                            io.write_reg(PRIQ_BASE_HI::from_raw(hi));
                            io.write_reg(PRIQ_PROD::from_raw(0));
                            io.write_reg(PRIQ_CONS::from_raw(0));
                            priq.reset();
                        }
                    }
                    EnableStep::IrqCtrl(v) => self.write_irq_ctrl(io, v)?,
                }
            }
            Ok(())
        })
    }

    /// Lets the streams of `sids` bypass translation from the reset on, until devices claim
    /// them: the StreamIDs of the firmware's Reserved Memory Ranges (IORT RMR nodes), whose
    /// devices the firmware left doing DMA that must not fault before their drivers take over
    /// (their domains then map the ranges, which the core reports as direct regions).
    ///
    /// Called before the reset, on the driver's own stream table, which the SMMU does not use
    /// yet: the reset's `CFGI_ALL` makes it read them. A StreamID whose STE cannot be had is
    /// logged and left aborting, as in the C driver.
    pub(crate) fn bypass_rmr_streams(&self, dev: &Device<Bound>, sids: &[u32]) {
        let ste = compose::bypass_ste(&self.features.idr);
        for &sid in sids {
            let strtab = &mut *self.strtab.lock();
            let r = strtab
                .prepare(dev, sid)
                .and_then(|_| strtab.install(sid, &ste, || Ok(())));
            match r {
                Ok(_) => dev_info!(dev, "RMR: StreamID {:#x} bypasses\n", sid),
                Err(e) => dev_err!(dev, "RMR: StreamID {:#x} bypass failed: {:?}\n", sid, e),
            }
        }
    }

    /// Masks the SMMU's interrupts, whatever the firmware or a previous kernel left enabled: until
    /// the reset has set up the queues, the handlers have nothing to look at.
    pub(crate) fn mask_irqs(&self) -> Result {
        self.with_regs(|io| self.write_irq_ctrl(io, 0))
    }

    /// Disables the SMMU: queues and translation off, interrupts masked.
    pub(crate) fn disable(&self) {
        let r = self.with_regs(|io| {
            self.write_irq_ctrl(io, 0)?;
            self.write_cr0(io, Cr0::default())
        });
        if let Err(e) = r {
            dev_err!(self.dev(), "failed to disable the SMMU: {:?}\n", e);
        }
    }

    /// Polls a register with `read` until `done` holds for its value, for at most
    /// [`ACK_TIMEOUT_US`]; logs `what` if the SMMU never gets there.
    fn poll_reg(
        &self,
        what: &str,
        read: impl Fn() -> u32,
        done: impl Fn(u32) -> bool,
    ) -> Result<u32> {
        read_poll_timeout_atomic(
            || Ok(read()),
            |v| done(*v),
            Delta::from_micros(1),
            ACK_TIMEOUT_US,
        )
        .inspect_err(|_| dev_err!(self.dev(), "{} not acknowledged\n", what))
    }

    /// Writes `SMMU_CR0` and waits for `SMMU_CR0ACK` to match.
    pub(super) fn write_cr0(&self, io: &Regs<'_>, cr0: Cr0) -> Result {
        let v = cr0.value();
        io.write_reg(CR0::from_raw(v));
        self.poll_reg("CR0", || io.read(CR0ACK).into_raw(), |ack| ack == v)
            .map(|_| ())
    }

    /// Writes `SMMU_IRQ_CTRL` and waits for `SMMU_IRQ_CTRLACK` to match.
    fn write_irq_ctrl(&self, io: &Regs<'_>, v: u32) -> Result {
        io.write_reg(IRQ_CTRL::from_raw(v));
        self.poll_reg(
            "IRQ_CTRL",
            || io.read(IRQ_CTRLACK).into_raw(),
            |ack| ack == v,
        )
        .map(|_| ())
    }

    /// Sets or clears `SMMU_GBPA.ABORT` through the `Update` handshake.
    fn update_gbpa(&self, io: &Regs<'_>, abort: bool) -> Result {
        let idle = || {
            self.poll_reg(
                "GBPA update",
                || io.read(GBPA).into_raw(),
                |g| !gbpa_updating(g),
            )
        };
        let cur = idle()?;
        io.write_reg(GBPA::from_raw(gbpa_update(cur, abort)));
        idle().map(|_| ())
    }
}
