// SPDX-License-Identifier: GPL-2.0

//! The SMMU device core: registers, queues and stream table, shared through an [`Arc`].
//!
//! Anything that issues commands (interrupt handlers, domains, per-device data) holds an
//! `Arc<Smmu>`, so the core outlives the driver's bound scope. Its MMIO mapping is
//! device-managed: once the driver is unbound every access fails with `ENODEV` instead of
//! touching an unmapped region.
//!
//! Register access runs inside an RCU read-side critical section (see [`Smmu::with_regs`]), so
//! nothing done with the registers may sleep: queue locks are spinlocks and every wait for the
//! SMMU is a bounded busy-wait.

use kernel::{
    device::{
        Bound,
        Core, //
        Device,
    },
    id_pool::IdPool,
    io::{
        mem::{
            DevresIoMem,
            IoMem, //
        },
        poll::read_poll_timeout_atomic,
        Io, //
    },
    irq::IrqReturn,
    new_mutex,
    new_spinlock,
    new_spinlock_irq,
    platform,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        Mutex,
        SpinLock,
        SpinLockIrq, //
    },
    time::Delta, //
};

use crate::{
    features::{
        Features,
        Platform, //
    },
    fw,
    hw::{
        attr::Shareability,
        cmd::{
            AddrTlbi,
            Cmd, //
        },
        event::Event,
        hitless::UpdateKind,
        regs::{
            cr1,
            cr2,
            gbpa_update,
            gbpa_updating,
            gerror_active,
            Cr0,
            Cr1Cache,
            Idr,
            WalkAttrs,
            GERROR_CMDQ_ERR,
            GERROR_EVTQ_ABT_ERR,
            GERROR_SFM_ERR,
            IRQ_CTRL_EVTQ,
            IRQ_CTRL_GERROR, //
        },
        ste::Ste,
        tlbi::{
            RangeRequest,
            TlbiRange, //
        },
    },
    queue::{
        cmdq::Cmdq,
        evtq::Evtq,
        Ring, //
    },
    regs::{
        self,
        halves,
        AIDR,
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
        GERROR,
        GERRORN,
        IDR0,
        IDR1,
        IDR2,
        IDR3,
        IDR4,
        IDR5,
        IIDR,
        IRQ_CTRL,
        IRQ_CTRLACK,
        STRTAB_BASE_CFG, //
        STRTAB_BASE_HI,
        STRTAB_BASE_LO,
    },
    streams::{
        StreamSlot,
        Streams, //
    },
    strtab::StreamTable,
    Show,
};

/// How many microseconds the SMMU may take to acknowledge a control register write: one second,
/// as the C driver allows.
const ACK_TIMEOUT_US: usize = 1_000_000;

/// How many commands one range invalidation issues per `CMD_SYNC`.
const TLBI_BATCH: usize = 16;

/// `IOMMU_HW_INFO_TYPE_ARM_SMMUV3` of `include/uapi/linux/iommufd.h`.
pub(crate) const HW_INFO_TYPE_ARM_SMMUV3: u32 = 2;

/// The registers of a mapped SMMU.
type Regs<'a> = IoMem<'a, { regs::SIZE }>;

/// One SMMUv3 instance.
#[pin_data]
pub(crate) struct Smmu {
    dev: ARef<Device>,
    regs: DevresIoMem<{ regs::SIZE }>,
    /// What the SMMU implements.
    pub(crate) features: Features,
    #[pin]
    cmdq: SpinLockIrq<Cmdq>,
    #[pin]
    evtq: SpinLock<Evtq>,
    #[pin]
    strtab: Mutex<StreamTable>,
    /// Taken in the event handler, under the RCU read lock: a spinlock.
    #[pin]
    streams: SpinLock<Streams>,
    #[pin]
    vmids: Mutex<IdPool>,
    #[pin]
    asids: Mutex<IdPool>,
    /// `struct iommu_hw_info_arm_smmuv3` as `IOMMU_GET_HW_INFO` reports it: flags, reserved,
    /// IDR0 to IDR5, IIDR, AIDR.
    hw_info: [u32; 10],
}

/// Takes the lowest free ID above 0 from `pool`; `ENOSPC` if there is none within 16 bits.
fn alloc_id(pool: &Mutex<IdPool>) -> Result<u16> {
    let mut pool = pool.lock();
    let id = pool.find_unused_id(1).ok_or(ENOSPC)?.acquire();
    u16::try_from(id).map_err(|_| {
        pool.release_id(id);
        ENOSPC
    })
}

impl Smmu {
    /// Maps the SMMU of `pdev`, decodes its features and allocates its queues and tables.
    ///
    /// The SMMU is not touched beyond reading its ID registers; see [`Smmu::reset`].
    pub(crate) fn new(pdev: &platform::Device<Core<'_>>) -> Result<Arc<Self>> {
        let dev: &Device<Bound> = pdev.as_ref();
        let io = pdev
            .io_request_by_index(0)
            .ok_or(ENODEV)?
            .iomap_sized::<{ regs::SIZE }>()
            .inspect_err(|e| dev_err!(dev, "cannot map registers: {:?}\n", e))?;
        let idr = Idr::new(
            io.read(IDR0).into_raw(),
            io.read(IDR1).into_raw(),
            io.read(IDR3).into_raw(),
            io.read(IDR5).into_raw(),
        );
        let (iidr, aidr) = (io.read(IIDR).into_raw(), io.read(AIDR).into_raw());
        let platform = Platform {
            coherent: fw::Firmware::of_device(pdev)?.coherent,
            force_linear_strtab: crate::module_parameters::force_linear_strtab.value(),
        };
        let features = Features::new(dev, idr, iidr, aidr, platform)?;
        features.log(dev);
        let hw_info = [
            0,
            0,
            io.read(IDR0).into_raw(),
            io.read(IDR1).into_raw(),
            io.read(IDR2).into_raw(),
            io.read(IDR3).into_raw(),
            io.read(IDR4).into_raw(),
            io.read(IDR5).into_raw(),
            iidr,
            aidr,
        ];
        // VMID 0 is never handed out: it is the one of streams without stage 2.
        let vmids = IdPool::with_capacity(1 << features.idr.vmid_bits(), GFP_KERNEL)?;
        // ASID 0 is never handed out either, as in the C driver.
        let asids = IdPool::with_capacity(1 << features.idr.asid_bits(), GFP_KERNEL)?;

        let cmdq = Cmdq::new(Ring::new(dev, features.cmdq_log2)?);
        let evtq = Evtq::new(Ring::new(dev, features.evtq_log2)?);
        let strtab = StreamTable::new(dev, &features)?;
        let regs = io.into_devres()?;
        Arc::pin_init(
            try_pin_init!(Self {
                dev: dev.into(),
                regs,
                features,
                cmdq <- new_spinlock_irq!(cmdq, "arm_smmu_v3_rs::cmdq"),
                evtq <- new_spinlock!(evtq, "arm_smmu_v3_rs::evtq"),
                strtab <- new_mutex!(strtab, "arm_smmu_v3_rs::strtab"),
                streams <- new_spinlock!(Streams::new(), "arm_smmu_v3_rs::streams"),
                vmids <- new_mutex!(vmids, "arm_smmu_v3_rs::vmids"),
                asids <- new_mutex!(asids, "arm_smmu_v3_rs::asids"),
                hw_info,
            }),
            GFP_KERNEL,
        )
    }

    /// The SMMU's device.
    pub(crate) fn dev(&self) -> &Device {
        &self.dev
    }

    /// Runs `f` with the registers, unless the driver has been unbound.
    ///
    /// `f` runs in an RCU read-side critical section and must not sleep.
    fn with_regs<R>(&self, f: impl FnOnce(&Regs<'_>) -> Result<R>) -> Result<R> {
        self.regs.try_access_with(|io| f(io)).ok_or(ENODEV)?
    }

    /// Brings the SMMU from any state to: queues enabled and empty, stream table installed, all
    /// configuration and TLB caches invalidated, interrupts masked, translation enabled (every
    /// stream aborts until its STE is installed).
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

            let mut cr0 = Cr0 {
                cmdq: true,
                ..Cr0::default()
            };
            {
                let mut cmdq = self.cmdq.lock();
                let (lo, hi) = halves(cmdq.base_reg()?);
                io.write_reg(CMDQ_BASE_LO::from_raw(lo));
                io.write_reg(CMDQ_BASE_HI::from_raw(hi));
                io.write_reg(CMDQ_PROD::from_raw(0));
                io.write_reg(CMDQ_CONS::from_raw(0));
                cmdq.reset();
            }
            self.write_cr0(io, cr0)?;

            // Nothing cached from before the reset may survive it.
            self.issue_sync_with(io, &[Cmd::cfgi_all()])?;
            self.issue_sync_with(io, &[Cmd::tlbi_nsnh_all()])?;

            {
                let mut evtq = self.evtq.lock();
                let (lo, hi) = halves(evtq.base_reg()?);
                io.write_reg(EVTQ_BASE_LO::from_raw(lo));
                io.write_reg(EVTQ_BASE_HI::from_raw(hi));
                io.write_reg(EVTQ_PROD::from_raw(0));
                io.write_reg(EVTQ_CONS::from_raw(0));
                evtq.reset();
            }
            cr0.evtq = true;
            self.write_cr0(io, cr0)?;

            cr0.smmu = true;
            self.write_cr0(io, cr0)
        })
    }

    /// Unmasks the global error and event queue interrupts (handlers must be registered).
    pub(crate) fn enable_irqs(&self) -> Result {
        self.with_regs(|io| self.write_irq_ctrl(io, IRQ_CTRL_GERROR | IRQ_CTRL_EVTQ))
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

    /// Makes the command queue stop on an illegal command, to exercise the recovery: an
    /// unallocated opcode followed by a `CMD_SYNC`. Succeeds if the SMMU was recovered and
    /// completed the sync.
    pub(crate) fn inject_cmdq_error(&self) -> Result {
        /// An opcode the architecture does not allocate: the SMMU stops with `CERROR_ILL`.
        const ILLEGAL_OPCODE: u64 = 0x7f;
        dev_info!(
            self.dev(),
            "injecting an illegal command (opcode {:#x})\n",
            ILLEGAL_OPCODE
        );
        self.issue_sync(&[Cmd::from_words([ILLEGAL_OPCODE, 0])])
    }

    /// Issues `cmds` and a `CMD_SYNC`, and waits for their completion.
    pub(crate) fn issue_sync(&self, cmds: &[Cmd]) -> Result {
        self.with_regs(|io| self.issue_sync_with(io, cmds))
    }

    /// The `IOMMU_GET_HW_INFO` report of this SMMU.
    pub(crate) fn hw_info(&self) -> [u32; 10] {
        self.hw_info
    }

    /// Makes `sid` configurable (allocating its level-2 stream table if needed).
    pub(crate) fn prepare_stream(&self, dev: &Device<Bound>, sid: u32) -> Result {
        if self.strtab.lock().prepare(dev, sid)? {
            let (first, span) = StreamTable::span_of(sid);
            self.issue_sync(&[Cmd::cfgi_ste_range(first, span)?])?;
        }
        Ok(())
    }

    /// Makes `client` the owner of `sids` (no duplicates); see [`Streams`].
    ///
    /// Fails with `ENODEV`, changing nothing, if another device owns one of them.
    pub(crate) fn claim_streams(&self, client: &Device, sids: &[u32]) -> Result {
        let mut slots = KVec::with_capacity(sids.len(), GFP_KERNEL)?;
        for _ in sids {
            slots.push(StreamSlot::new(GFP_KERNEL)?, GFP_KERNEL)?;
        }
        let claimed = self.streams.lock().claim(client, sids, slots);
        claimed.map_err(|(sid, owner)| {
            dev_warn!(
                client,
                "StreamID {:#x} is {}'s already (PCI alias): not translated by this SMMU\n",
                sid,
                owner.name()
            );
            ENODEV
        })
    }

    /// The lowest StreamID a device owns, and whether `sid` is owned (for the live KUnit suite).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn stream_owned(&self, sid: u32) -> (Option<u32>, bool) {
        let streams = self.streams.lock();
        (streams.first(), streams.owner(sid).is_some())
    }

    /// Gives back `sids`, claimed by [`Smmu::claim_streams`]; the owner must still be held.
    pub(crate) fn release_streams(&self, sids: &[u32]) {
        for sid in sids {
            // One at a time: the lock is also the event handler's.
            self.streams.lock().release(*sid);
        }
    }

    /// Installs `ste` for `sid`, hitlessly where possible.
    pub(crate) fn install_ste(&self, sid: u32, ste: &Ste) -> Result<UpdateKind> {
        self.strtab.lock().install(self, sid, ste)
    }

    /// Allocates a VMID (never 0).
    pub(crate) fn alloc_vmid(&self) -> Result<u16> {
        alloc_id(&self.vmids)
    }

    /// Frees a VMID once nothing can use it any more.
    pub(crate) fn free_vmid(&self, vmid: u16) {
        self.vmids.lock().release_id(usize::from(vmid));
    }

    /// Allocates an ASID (never 0).
    pub(crate) fn alloc_asid(&self) -> Result<u16> {
        alloc_id(&self.asids)
    }

    /// Frees an ASID once nothing can use it any more.
    pub(crate) fn free_asid(&self, asid: u16) {
        self.asids.lock().release_id(usize::from(asid));
    }

    /// Invalidates every stage 1 TLB entry tagged with `asid` (in VMID 0, that of stage 1 only
    /// streams).
    pub(crate) fn invalidate_asid(&self, asid: u16) -> Result {
        self.issue_sync(&[Cmd::tlbi_nh_asid(asid, 0)])
    }

    /// Invalidates the stage 1 translations of `[iova, iova + size)` in `asid`.
    ///
    /// `granule` and `leaf` are as for [`Smmu::invalidate_s2`].
    pub(crate) fn invalidate_s1(
        &self,
        asid: u16,
        iova: u64,
        size: u64,
        granule: usize,
        leaf: bool,
    ) -> Result {
        self.invalidate_range(AddrTlbi::NhVa { asid, vmid: 0 }, iova, size, granule, leaf)
    }

    /// Invalidates every TLB entry tagged with `vmid`, of both stages.
    pub(crate) fn invalidate_vmid(&self, vmid: u16) -> Result {
        self.issue_sync(&[Cmd::tlbi_s12_vmall(vmid)])
    }

    /// Invalidates the stage 2 translations of `[iova, iova + size)` in `vmid`.
    ///
    /// `granule` is the size of the entries that changed (the leaf size for `leaf`, the
    /// smallest page otherwise). Range commands are used when the SMMU has them.
    pub(crate) fn invalidate_s2(
        &self,
        vmid: u16,
        iova: u64,
        size: u64,
        granule: usize,
        leaf: bool,
    ) -> Result {
        self.invalidate_range(AddrTlbi::S2Ipa { vmid }, iova, size, granule, leaf)
    }

    /// Invalidates `[iova, iova + size)` with address invalidations of `kind`, in batches.
    fn invalidate_range(
        &self,
        kind: AddrTlbi,
        iova: u64,
        size: u64,
        granule: usize,
        leaf: bool,
    ) -> Result {
        let req = RangeRequest {
            iova,
            size,
            granule_log2: granule.max(1).ilog2(),
            page_log2: 12,
            leaf,
        };
        let mut cmds = TlbiRange::new(kind, &req, self.features.idr.ril())?;
        let mut batch = [Cmd::from_words([0; 2]); TLBI_BATCH];
        loop {
            let mut n = 0;
            for slot in batch.iter_mut() {
                match cmds.next() {
                    Some(cmd) => {
                        *slot = cmd;
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 {
                return Ok(());
            }
            self.issue_sync(batch.get(..n).ok_or(EINVAL)?)?;
        }
    }

    fn issue_sync_with(&self, io: &Regs<'_>, cmds: &[Cmd]) -> Result {
        self.cmdq.lock().issue_sync(self.dev(), io, cmds)
    }

    /// Drains the event queue (threaded interrupt context).
    pub(crate) fn drain_events(&self) -> IrqReturn {
        let r = self.with_regs(|io| {
            self.evtq
                .lock()
                .drain(self.dev(), io, |event| self.log_event(event))
        });
        match r {
            Ok(d) if d.events > 0 || d.overflow => IrqReturn::Handled,
            Ok(_) => IrqReturn::None,
            Err(e) => {
                dev_err!(self.dev(), "event queue drain failed: {:?}\n", e);
                IrqReturn::Handled
            }
        }
    }

    /// Logs `event` with the device that owns its stream.
    fn log_event(&self, event: &Event) {
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

    /// Handles the global error interrupt.
    pub(crate) fn handle_gerror(&self) -> IrqReturn {
        let dev = self.dev();
        let r = self.with_regs(|io| {
            let gerror = io.read(GERROR).into_raw();
            let active = gerror_active(gerror, io.read(GERRORN).into_raw());
            if active == 0 {
                return Ok(false);
            }
            // A command error is logged, with the command, by the recovery below.
            let others = active & !GERROR_CMDQ_ERR;
            if others != 0 {
                dev_warn!(
                    dev,
                    "global error reported ({:#010x}), this could be serious\n",
                    others
                );
            }
            if active & GERROR_SFM_ERR != 0 {
                dev_err!(dev, "SMMU has entered Service Failure Mode\n");
            }
            if active & GERROR_EVTQ_ABT_ERR != 0 {
                dev_err!(
                    dev,
                    "event queue write aborted: events may have been lost\n"
                );
            }
            if active & GERROR_CMDQ_ERR != 0 {
                self.cmdq.lock().recover(dev, io)?;
            }
            // Acknowledge the rest; CMDQ_ERR was acknowledged by the recovery, if at all.
            let gerrorn = io.read(GERRORN).into_raw();
            let ack = (gerrorn & GERROR_CMDQ_ERR) | (gerror & !GERROR_CMDQ_ERR);
            io.write_reg(GERRORN::from_raw(ack));
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
    fn write_cr0(&self, io: &Regs<'_>, cr0: Cr0) -> Result {
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
