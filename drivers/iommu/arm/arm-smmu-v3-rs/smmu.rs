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
//!
//! This file holds the core and what everything else goes through: command issue, stream
//! ownership and STE installation. The rest is split by concern: [`control`] (reset, enable,
//! disable), [`invalidate`] (ASIDs, VMIDs, TLB invalidation), [`faults`] (events and global
//! errors), and the recoverable page faults: [`iopf`] (the fault queue), [`pri`] (PCIe page
//! requests) and [`stall`] (stalled transactions).

mod control;
mod faults;
mod invalidate;
mod iopf;
mod pri;
mod stall;

pub(crate) use faults::EventSink;
#[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
pub(crate) use iopf::FaultSink;
pub(crate) use iopf::Source;
pub(crate) use pri::PRI_REQUESTS;

use core::sync::atomic::AtomicBool;
#[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
use core::sync::atomic::{
    AtomicU32,
    AtomicU8,
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
        Io, //
    },
    new_mutex,
    new_spinlock,
    platform,
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        Mutex,
        SpinLock, //
    },
    time::{
        Instant,
        Monotonic, //
    }, //
};

use crate::{
    features::{
        Features,
        Platform, //
    },
    fw,
    hw::{
        cmd::Cmd,
        hitless::UpdateKind,
        idr::{
            Idr,
            StallModel, //
        },
        ids::Ssid,
        imp::Quirks,
        ratelimit::{
            RateLimit,
            DEFAULT_BURST,
            DEFAULT_INTERVAL_NS, //
        },
        ste::Ste,
    },
    queue::{
        cmdq::Cmdq,
        inq::Evtq,
        Ring, //
    },
    regs::{
        self,
        AIDR,
        IDR0,
        IDR1,
        IDR2,
        IDR3,
        IDR4,
        IDR5,
        IIDR, //
    },
    streams::{
        StreamSlot,
        Streams, //
    },
    strtab::StreamTable,
};

/// `IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI`: user space repeats its CFGI/TLBI runs.
const HW_INFO_ERRATA_REPEAT_TLBI_CFGI: u32 = 1 << 0;

/// `IOMMU_HW_INFO_TYPE_ARM_SMMUV3` of `include/uapi/linux/iommufd.h`.
pub(crate) const HW_INFO_TYPE_ARM_SMMUV3: u32 = 2;

/// How many per-StreamID commands (`CFGI_CD`, `ATC_INV`) [`Smmu::per_stream`] issues per
/// `CMD_SYNC`.
const STREAM_BATCH: usize = 16;

/// log2 of the largest PRI queue the driver allocates: 2^12 requests of 16 bytes, 64 KiB.
const PRIQ_MAX_LOG2: u32 = 12;

/// log2 of the PRI queue to allocate: what the SMMU allows, at most [`PRIQ_MAX_LOG2`] or what
/// the `priq_log2` parameter asks for (at least 1).
fn priq_log2(features: &Features) -> u32 {
    let asked = crate::module_parameters::priq_log2
        .value()
        .clamp(1, PRIQ_MAX_LOG2);
    features.idr.priq_log2size().min(asked)
}

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
    cmdq: Cmdq,
    #[pin]
    evtq: SpinLock<Evtq>,
    /// The PRI queue, when the driver takes page requests.
    pri: Option<Pin<KBox<pri::Pri>>>,
    /// The IOMMU core's fault queue, when the driver takes page requests or the SMMU can stall.
    iopf: Option<Pin<KBox<iopf::Iopf>>>,
    /// The rate limit of event reports, with the time its clock counts from; taken only by the
    /// event thread.
    #[pin]
    event_log: Mutex<(Instant<Monotonic>, RateLimit)>,
    #[pin]
    strtab: Mutex<StreamTable>,
    /// Taken in the event handler, under the RCU read lock: a spinlock.
    #[pin]
    streams: SpinLock<Streams>,
    /// The streams whose guest events go to a vIOMMU, and where: few, searched in order.
    #[pin]
    sinks: Mutex<KVec<faults::StreamSink>>,
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
    /// The live KUnit suite's knob: errata to act as if the SMMU had ([`Smmu::force_quirks`]).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    forced_quirks: AtomicU8,
    /// The live KUnit suite's knob: the `IDR0.STALL_MODEL` the driver acts on, plus one (0:
    /// the SMMU's), see [`Smmu::model_stalls`].
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    stall_model: AtomicU8,
}

impl Smmu {
    /// Maps the SMMU of `pdev`, decodes its features and allocates its queues and tables;
    /// `pri_irq` says whether an interrupt line signals the PRI queue.
    ///
    /// The SMMU is not touched beyond reading its ID registers; see [`Smmu::reset`].
    pub(crate) fn new(pdev: &platform::Device<Core<'_>>, pri_irq: bool) -> Result<Arc<Self>> {
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
        let fw = fw::Firmware::of_device(pdev)?;
        let platform = Platform {
            coherent: fw.coherent,
            force_linear_strtab: crate::module_parameters::force_linear_strtab.value(),
            model: fw.errata_model(),
            httu: fw.httu,
        };
        let features = Features::new(dev, idr, iidr, aidr, platform)?;
        features.log(dev);
        // As C: on a Tegra264, user space must repeat its CFGI/TLBI runs (T264-SMMU-3).
        let flags = u32::from(features.quirks.repeat_tlbi_cfgi) * HW_INFO_ERRATA_REPEAT_TLBI_CFGI;
        let hw_info = [
            flags,
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
        let evtq = Evtq::new(Ring::new_up_to(dev, features.evtq_log2)?);
        let strtab = StreamTable::new(dev, &features)?;
        // Page requests come from PCIe functions with ATS, which PRI needs; without their
        // interrupt they would wait for their answers forever.
        let pri = if features.idr.pri() && features.idr.ats() && pri_irq && cfg!(CONFIG_PCI_PRI) {
            Some(KBox::pin_init(
                pri::Pri::new(dev, priq_log2(&features))?,
                GFP_KERNEL,
            )?)
        } else {
            None
        };
        // The stall model of the live KUnit suite reports to the fault queue on any SMMU.
        let stalls = matches!(
            features.idr.stall_model(),
            Some(StallModel::Stall | StallModel::Force)
        );
        let iopf = if pri.is_some() || stalls || cfg!(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST) {
            Some(KBox::pin_init(iopf::Iopf::new(dev.name())?, GFP_KERNEL)?)
        } else {
            None
        };
        let regs = io.into_devres()?;
        Arc::pin_init(
            try_pin_init!(Self {
                dev: dev.into(),
                regs,
                features,
                cmdq <- cmdq,
                evtq <- new_spinlock!(evtq, "arm_smmu_v3_rs::evtq"),
                pri,
                iopf,
                event_log <- new_mutex!(
                    (
                        Instant::now(),
                        RateLimit::new(DEFAULT_INTERVAL_NS, DEFAULT_BURST)
                    ),
                    "arm_smmu_v3_rs::event_log"
                ),
                strtab <- new_mutex!(strtab, "arm_smmu_v3_rs::strtab"),
                streams <- new_spinlock!(Streams::new(), "arm_smmu_v3_rs::streams"),
                sinks <- new_mutex!(KVec::new(), "arm_smmu_v3_rs::sinks"),
                vmids <- new_mutex!(vmids, "arm_smmu_v3_rs::vmids"),
                asids <- new_mutex!(asids, "arm_smmu_v3_rs::asids"),
                hw_info,
                hide_ril: AtomicBool::new(false),
                #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                fail_syncs: AtomicU32::new(0),
                #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                forced_quirks: AtomicU8::new(0),
                #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                stall_model: AtomicU8::new(0),
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
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn cmdq_skipped(&self) -> u64 {
        self.cmdq.skipped()
    }

    /// Runs `f`, recording the commands the current task issues meanwhile; returns what `f`
    /// returned, the commands, and how many more did not fit the record.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn trace_commands<R>(&self, f: impl FnOnce() -> R) -> Result<(R, KVec<Cmd>, usize)> {
        self.cmdq.with_trace(|t| t.start());
        let r = f();
        self.cmdq.with_trace(|t| {
            let (cmds, lost) = t.stop();
            let mut out = KVec::with_capacity(cmds.len(), GFP_ATOMIC)?;
            out.extend_from_slice(cmds, GFP_ATOMIC)?;
            Ok((r, out, lost))
        })
    }

    /// The command queue's next free position, and whether the SMMU consumed everything the
    /// driver published, up to that position (for the live KUnit suite).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn cmdq_drained(&self) -> Result<(u64, bool)> {
        self.with_regs(|io| Ok(self.cmdq.drained(io)))
    }

    /// The SubstreamID bits the driver uses: `IDR1.SSIDSIZE` (at most the architecture's 20)
    /// with stage 1, which is what gives a substream its translation (a CD); 0 otherwise.
    pub(crate) fn ssid_bits(&self) -> u32 {
        let idr = &self.features.idr;
        if idr.s1() {
            idr.ssid_bits().min(Ssid::MAX.count_ones())
        } else {
            0
        }
    }

    /// The number of PASIDs the SMMU's devices can use: `2^ssid_bits()` with SubstreamIDs,
    /// none otherwise.
    pub(crate) fn max_pasids(&self) -> u32 {
        match self.ssid_bits() {
            0 => 0,
            bits => 1 << bits,
        }
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

    /// Issues one command per StreamID of `sids`, made by `cmd`, in batches of
    /// [`STREAM_BATCH`] that `issue` sends with their `CMD_SYNC` (one batch fits the command
    /// queue with its sync).
    pub(crate) fn per_stream(
        sids: &[u32],
        cmd: impl Fn(u32) -> Cmd,
        mut issue: impl FnMut(&[Cmd]),
    ) {
        for batch in sids.chunks(STREAM_BATCH) {
            let mut cmds = [Cmd::from_words([0; 2]); STREAM_BATCH];
            for (c, sid) in cmds.iter_mut().zip(batch) {
                *c = cmd(*sid);
            }
            if let Some(cmds) = cmds.get(..batch.len()) {
                issue(cmds);
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

    fn issue_sync_with(&self, io: &Regs<'_>, cmds: &[Cmd]) -> Result {
        self.issue_runs(io, cmds, true)?;
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

    /// The errata of this SMMU, with the live KUnit suite's overrides.
    fn quirks(&self) -> Quirks {
        #[allow(unused_mut, reason = "changed only by the KUnit knob")]
        let mut q = self.features.quirks;
        #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
        {
            let forced = self.forced_quirks.load(Ordering::Relaxed);
            q.cmdq_force_sync |= forced & 1 != 0;
            q.repeat_tlbi_cfgi |= forced & 2 != 0;
        }
        q
    }

    /// Issues `cmds` as the SMMU's errata require: in runs of at most 63 commands, each with
    /// its `CMD_SYNC` (MMU-700 erratum 2812531), and on a Tegra264 each CFGI/TLBI run again once
    /// its sync completed (T264-SMMU-3), unless `repeat` is false (user space repeats its own,
    /// as the C driver's `IOMMU_GET_HW_INFO` flag tells it).
    fn issue_runs(&self, io: &Regs<'_>, cmds: &[Cmd], repeat: bool) -> Result {
        let q = self.quirks();
        let run = q.max_cmds_per_sync().unwrap_or(usize::MAX);
        let mut rest = cmds;
        loop {
            let (now, later) = rest.split_at(run.min(rest.len()));
            self.cmdq.issue_sync(self.dev(), io, now)?;
            if repeat && q.repeat_after_sync(now) {
                self.cmdq.issue_sync(self.dev(), io, now)?;
            }
            if later.is_empty() {
                return Ok(());
            }
            rest = later;
        }
    }

    /// Issues the commands of a vIOMMU's user, with a `CMD_SYNC`, as [`Smmu::issue_sync`] but
    /// not repeated for T264-SMMU-3: the user repeats them (see [`Smmu::hw_info`]).
    pub(crate) fn issue_user_sync(&self, cmds: &[Cmd]) -> Result {
        self.with_regs(|io| self.issue_runs(io, cmds, false))
    }

    /// Makes the driver act as if the SMMU had the errata of MMU-700 2812531 (`force_sync`)
    /// and T264-SMMU-3 (`repeat`), or not (for the live KUnit suite).
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn force_quirks(&self, force_sync: bool, repeat: bool) {
        self.forced_quirks.store(
            u8::from(force_sync) | u8::from(repeat) << 1,
            Ordering::Relaxed,
        );
    }

    /// Makes the driver act as if `IDR0.STALL_MODEL` were `model` (`None`: the SMMU's), for the
    /// live KUnit suite's stall model: it decides the stalls of the devices probed from now on
    /// and which stalled transactions are taken as page faults.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn set_model_stalls(&self, model: Option<StallModel>) {
        // CAST: The encodings are 2 bits wide.
        let v = model.map_or(0, |m| m.raw() as u8 + 1);
        self.stall_model.store(v, Ordering::Relaxed);
    }

    /// The stall model [`Smmu::set_model_stalls`] set, if any.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    fn model_stalls(&self) -> Option<Option<StallModel>> {
        match self.stall_model.load(Ordering::Relaxed) {
            0 => None,
            v => Some(StallModel::from_raw(u64::from(v - 1))),
        }
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
}
