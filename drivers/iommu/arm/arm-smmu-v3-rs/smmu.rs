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

#[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
use core::sync::atomic::AtomicU32;
use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};

use kernel::{
    device::{
        Bound,
        Core, //
        Device,
    },
    dma::{
        Device as DmaDevice,
        DmaMask, //
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
    task::cond_resched,
    time::{
        Delta,
        Instant,
        Monotonic, //
    }, //
};

use crate::{
    features::{
        Features,
        Platform, //
    },
    hw::{
        attr::Shareability,
        cmd::{
            AddrTlbi,
            Cmd, //
        },
        event::Event,
        hitless::UpdateKind,
        ratelimit::{
            RateLimit,
            DEFAULT_BURST,
            DEFAULT_INTERVAL_NS, //
        },
        regs::{
            cr1,
            cr2,
            enable_steps,
            gbpa_update,
            gbpa_updating,
            gerror_ack,
            gerror_actions,
            Cr0,
            Cr1Cache,
            EnableStep,
            Idr,
            WalkAttrs, //
        },
        ste::Ste,
        tlbi::{
            RangeRequest,
            TlbiRange, //
        },
    },
    queue::{
        cmdq::Cmdq,
        evtq::{
            Batch,
            Evtq, //
        },
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
    /// The rate limit of event reports, with the time its clock counts from; taken only by the
    /// event thread.
    #[pin]
    event_log: Mutex<(Instant<Monotonic>, RateLimit)>,
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
    /// The live KUnit suite's knob: invalidate as if `IDR3.RIL` were clear.
    hide_ril: AtomicBool,
    /// The live KUnit suite's knob: how many of the next `CMD_SYNC`s report a timeout.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    fail_syncs: AtomicU32,
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

/// Checks the device tree node of an SMMU; returns whether it is DMA coherent.
///
/// `#iommu-cells` must be 1 (the StreamID), as the binding says. Page 1 registers aliased onto
/// page 0 (`cavium,cn9900-broken-page1-regspace`) are not supported: refused rather than
/// mis-driven.
fn fw_coherent(dev: &Device) -> Result<bool> {
    let fw = dev.fwnode().ok_or(ENODEV)?;
    let cells: u32 = fw.property_read(c"#iommu-cells").required_by(dev)?;
    if cells != 1 {
        dev_err!(dev, "#iommu-cells is {}, must be 1\n", cells);
        return Err(ENODEV);
    }
    if fw.property_present(c"cavium,cn9900-broken-page1-regspace") {
        dev_err!(
            dev,
            "page 1 registers in page 0 (CN9900) are not supported\n"
        );
        return Err(ENODEV);
    }
    Ok(fw.property_present(c"dma-coherent"))
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
            coherent: fw_coherent(dev)?,
            force_linear_strtab: crate::module_parameters::force_linear_strtab.value(),
            // A device tree names no model; IORT's is decoded with `FwModel::from_iort`.
            model: crate::hw::imp::FwModel::Generic,
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
        // Before the first coherent allocation, which the mask constrains: the queues and tables
        // may then sit anywhere the SMMU can reach, not only below 4 GiB.
        let oas = features.idr.oas_bits().ok_or(ENXIO)?;
        // SAFETY: The device is being probed: nothing else allocates or maps DMA memory for it
        // concurrently.
        unsafe { pdev.dma_set_mask_and_coherent(DmaMask::try_new(oas)?)? };
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
                event_log <- new_mutex!(
                    (
                        Instant::now(),
                        RateLimit::new(DEFAULT_INTERVAL_NS, DEFAULT_BURST)
                    ),
                    "arm_smmu_v3_rs::event_log"
                ),
                strtab <- new_mutex!(strtab, "arm_smmu_v3_rs::strtab"),
                streams <- new_spinlock!(Streams::new(), "arm_smmu_v3_rs::streams"),
                vmids <- new_mutex!(vmids, "arm_smmu_v3_rs::vmids"),
                asids <- new_mutex!(asids, "arm_smmu_v3_rs::asids"),
                hw_info,
                hide_ril: AtomicBool::new(false),
                #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                fail_syncs: AtomicU32::new(0),
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
                let mut cmdq = self.cmdq.lock();
                let (lo, hi) = halves(cmdq.base_reg()?);
                io.write_reg(CMDQ_BASE_LO::from_raw(lo));
                io.write_reg(CMDQ_BASE_HI::from_raw(hi));
                io.write_reg(CMDQ_PROD::from_raw(0));
                io.write_reg(CMDQ_CONS::from_raw(0));
                cmdq.reset();
            }

            for step in enable_steps(&self.features.idr) {
                match step {
                    EnableStep::Cr0(cr0) => self.write_cr0(io, cr0)?,
                    EnableStep::InvalidateAll => {
                        self.issue_sync_with(io, &[Cmd::cfgi_all()])?;
                        self.issue_sync_with(io, &[Cmd::tlbi_nsnh_all()])?;
                    }
                    EnableStep::EventQueueBase => {
                        let mut evtq = self.evtq.lock();
                        let (lo, hi) = halves(evtq.base_reg()?);
                        io.write_reg(EVTQ_BASE_LO::from_raw(lo));
                        io.write_reg(EVTQ_BASE_HI::from_raw(hi));
                        io.write_reg(EVTQ_PROD::from_raw(0));
                        io.write_reg(EVTQ_CONS::from_raw(0));
                        evtq.reset();
                    }
                    EnableStep::IrqCtrl(v) => self.write_irq_ctrl(io, v)?,
                }
            }
            Ok(())
        })
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

    /// How many commands the SMMU refused so far (each logged and replaced by a `CMD_SYNC`).
    pub(crate) fn cmdq_skipped(&self) -> u64 {
        self.cmdq.lock().skipped()
    }

    /// Whether range invalidations are used: `IDR3.RIL`, unless the live KUnit suite hides it.
    fn ril(&self) -> bool {
        self.features.idr.ril() && !self.hide_ril.load(Ordering::Relaxed)
    }

    /// Makes the driver act as if the SMMU had no range invalidation (`hide`), or not.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn hide_ril(&self, hide: bool) {
        self.hide_ril.store(hide, Ordering::Relaxed);
    }

    /// Runs `f`, recording the commands the current task issues meanwhile; returns what `f`
    /// returned, the commands, and how many more did not fit the record.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn trace_commands<R>(&self, f: impl FnOnce() -> R) -> Result<(R, KVec<Cmd>, usize)> {
        self.cmdq.lock().trace.start();
        let r = f();
        let mut cmdq = self.cmdq.lock();
        let (cmds, lost) = cmdq.trace.stop();
        let mut out = KVec::with_capacity(cmds.len(), GFP_ATOMIC)?;
        out.extend_from_slice(cmds, GFP_ATOMIC)?;
        Ok((r, out, lost))
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

    /// The device owning the lowest owned StreamID (for the live KUnit suite).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn first_client(&self) -> Option<ARef<Device>> {
        let streams = self.streams.lock();
        streams.owner(streams.first()?).map(ARef::from)
    }

    /// Gives back `sids`, claimed by [`Smmu::claim_streams`]; the owner must still be held.
    pub(crate) fn release_streams(&self, sids: &[u32]) {
        for sid in sids {
            // One at a time: the lock is also the event handler's.
            self.streams.lock().release(*sid);
        }
    }

    /// Installs `ste` for `sid`, hitlessly where possible.
    ///
    /// Once the first store is made, every step is carried out even if the SMMU does not confirm
    /// a sync (the failure is logged, as the C driver's `arm_smmu_write_entry` does): the entry
    /// then holds `ste`, which is what the caller will go on assuming. Fails, changing nothing,
    /// only if `sid` has no STE.
    pub(crate) fn install_ste(&self, sid: u32, ste: &Ste) -> Result<UpdateKind> {
        self.strtab
            .lock()
            .install(sid, ste, || self.sync_logged(&[Cmd::cfgi_ste(sid, true)]))
    }

    /// Installs `ste` for every StreamID of `sids` (see [`Smmu::install_ste`]).
    ///
    /// Never stops half-way: a stream whose STE cannot be written is logged and the others are
    /// still switched, so that no stream is left on a domain the IOMMU core no longer attaches
    /// the device to (and may free).
    pub(crate) fn install_stes(&self, sids: &[u32], ste: &Ste) {
        for &sid in sids {
            if let Err(e) = self.install_ste(sid, ste) {
                dev_err!(
                    self.dev(),
                    "STE of StreamID {:#x} not written: {:?}\n",
                    sid,
                    e
                );
            }
        }
    }

    /// Issues `cmds` and a `CMD_SYNC` as a step of an entry update, which must go on whatever
    /// happens: a failure is logged, not returned.
    pub(crate) fn sync_logged(&self, cmds: &[Cmd]) -> Result {
        if let Err(e) = self.issue_sync(cmds) {
            dev_err!(
                self.dev(),
                "entry update step not confirmed ({:?}); continuing\n",
                e
            );
        }
        Ok(())
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
            // The translation granule of every domain's table: the smallest page size.
            page_log2: self.features.pgsize_bitmap.trailing_zeros(),
            leaf,
        };
        let mut cmds = TlbiRange::new(kind, &req, self.ril())?;
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
        self.cmdq.lock().issue_sync(self.dev(), io, cmds)?;
        #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
        if self
            .fail_syncs
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(ETIMEDOUT);
        }
        Ok(())
    }

    /// Makes the next `n` `CMD_SYNC`s report a timeout although they completed (for the live
    /// KUnit suite: QEMU's SMMU completes every sync at once).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn fail_next_syncs(&self, n: u32) {
        self.fail_syncs.store(n, Ordering::Relaxed);
    }

    /// The STE of `sid` (for the live KUnit suite).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn read_ste(&self, sid: u32) -> Result<crate::hw::hitless::EntryWords> {
        self.strtab.lock().read(sid)
    }

    /// Drains the event queue (threaded interrupt context).
    ///
    /// The events are copied out a batch at a time under the queue lock, and reported with no
    /// lock held (neither the queue's nor the RCU read lock of the register mapping), giving
    /// the CPU away between batches: a device that faults without end costs this thread CPU
    /// time, not the system its responsiveness.
    pub(crate) fn drain_events(&self) -> IrqReturn {
        let mut batch = Batch::new();
        let mut handled = false;
        loop {
            let r = self.with_regs(|io| self.evtq.lock().read_batch(io, &mut batch));
            if let Err(e) = r {
                dev_err!(self.dev(), "event queue drain failed: {:?}\n", e);
                return IrqReturn::Handled;
            }
            if batch.overflow {
                dev_err!(self.dev(), "event queue overflowed: events were lost\n");
            }
            handled |= batch.overflow || !batch.records().is_empty();
            for raw in batch.records() {
                self.report_event(&Event::decode(raw));
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

    /// Logs `event` with the device that owns its stream, within the event log's rate limit.
    fn report_event(&self, event: &Event) {
        let verdict = {
            let mut log = self.event_log.lock();
            // CAST: The monotonic clock does not go back; a negative delta cannot happen.
            let now = (Instant::now() - log.0).as_nanos() as u64;
            log.1.check(now)
        };
        if verdict.suppressed != 0 {
            dev_err!(
                self.dev(),
                "{} events not logged (rate limit)\n",
                verdict.suppressed
            );
        }
        if !verdict.print {
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
    /// Everything runs under the command queue lock, which the recovery of a command error
    /// needs anyway: `GERRORN` then has a single writer at a time.
    pub(crate) fn handle_gerror(&self) -> IrqReturn {
        let dev = self.dev();
        let r = self.with_regs(|io| {
            let mut cmdq = self.cmdq.lock();
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
