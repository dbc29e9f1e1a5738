// SPDX-License-Identifier: GPL-2.0

//! One DMA remapping hardware unit (a DRHD of the DMAR table): its registers, claimed and
//! mapped, what it implements, and the global command handshake.
//!
//! C reference: `map_iommu()`, `alloc_iommu()` and `iommu_disable_translation()` in
//! [`drivers/iommu/intel/`](srctree/drivers/iommu/intel/).

use kernel::{
    fw_iomem::FwIoMem,
    io::{
        poll::read_poll_timeout,
        Io, //
    },
    new_mutex,
    new_spinlock_irq,
    phys_mem::PhysMem,
    prelude::*,
    str::CString,
    sync::{
        atomic::Relaxed,
        Mutex,
        SpinLockIrq, //
    },
    time::Delta, //
};

use crate::{
    hw::{
        context::{
            RootEntry,
            SmContextEntry, //
        },
        dmar::Drhd,
        ids::{
            DomainId,
            Pasid,
            SourceId, //
        },
        qi::{
            ContextScope,
            Desc,
            Drain,
            IotlbScope,
            PasidCacheScope, //
        },
        regs::{
            self,
            global,
            Agaw,
            Cap,
            Ecap,
            Ttm, //
        },
    },
    queue::Queue,
    yn, //
};

/// How long a global command (`GCMD`) may take to show in `GSTS`: the C driver's
/// `DMAR_OPERATION_TIMEOUT`, one second.
const GCMD_TIMEOUT: Delta = Delta::from_secs(1);

/// A DMA remapping unit whose registers this driver owns.
pub(crate) struct Unit {
    /// `dmar<N>`, the unit's index in the DMAR table, as the C driver names its units.
    pub(crate) name: CString,
    /// The claimed and mapped register set.
    regs: FwIoMem,
    /// The PCI segment the unit serves.
    pub(crate) segment: u16,
    /// The unit translates every PCI function of its segment that no other unit's device scope
    /// names (`INCLUDE_PCI_ALL`).
    pub(crate) include_all: bool,
    /// The unit's DRHD's index among the DMAR table's DRHDs, the `N` of its name.
    pub(crate) index: usize,
    /// `VER_REG`.
    pub(crate) ver: u32,
    /// `CAP_REG`.
    pub(crate) cap: Cap,
    /// `ECAP_REG`.
    pub(crate) ecap: Ecap,
    /// The invalidation queue, once enabled ([`Unit::enable_qi`]).
    qi: Option<Pin<KBox<SpinLockIrq<Queue>>>>,
    /// The root table, once installed ([`Unit::install_root_table`]).
    root: Option<PhysMem>,
    /// The context tables the root table points to.
    contexts: Pin<KBox<Mutex<Contexts>>>,
    /// The domain IDs in use.
    dids: Pin<KBox<SpinLockIrq<Dids>>>,
    /// The depth of the second-stage tables the unit walks for this driver's paging domains.
    pub(crate) agaw: Agaw,
}

/// The scalable-mode context tables of a unit: per bus, one for devfn 0-127 (lower) and one
/// for devfn 128-255 (upper), allocated when the first device on them is set up and kept for
/// the life of the unit.
struct Contexts {
    /// Indexed by `bus * 2 + devfn / 128`.
    tables: KVec<Option<PhysMem>>,
}

/// The domain IDs of a unit, one bit each.
///
/// IDs 0 and [`IDENTITY_DID`] are never handed out: 0 is what the C driver keeps free, and
/// [`IDENTITY_DID`] tags the pass-through entries of the identity domain, as C's
/// `FLPT_DEFAULT_DID`.
struct Dids {
    /// Bit `n % 64` of word `n / 64` is set if ID `n` is in use.
    used: KVec<u64>,
    /// The number of IDs the unit has (`CAP.ND`).
    count: usize,
}

/// The domain ID of the identity (pass-through) PASID entries, C's `FLPT_DEFAULT_DID`.
pub(crate) const IDENTITY_DID: DomainId = DomainId::new(1);

/// The number of context entries of a scalable-mode context table: 128 of 256 bits.
const SM_CONTEXT_ENTRIES: usize = 128;

impl Unit {
    /// Claims and maps the registers of the DRHD at `index` of the DMAR table, decodes what the
    /// unit implements and makes sure nothing else uses it.
    ///
    /// # Errors
    ///
    /// `EBUSY` if the registers are claimed already or the unit has interrupt remapping or
    /// queued invalidation on (someone else drives it); `EINVAL` if the registers read all
    /// ones; `ENODEV` if the unit lacks what the driver needs; `ETIMEDOUT` if turning off
    /// translation a previous kernel left on did not complete.
    pub(crate) fn probe(index: usize, drhd: &Drhd<'_>) -> Result<Self> {
        let name = || CString::try_from_fmt(fmt!("dmar{index}"));
        let size = usize::try_from(drhd.reg_size)?;
        let regs = FwIoMem::request(drhd.address, size, name()?).inspect_err(|e| {
            pr_err!(
                "dmar{index}: cannot claim the registers at {:#x} (error {}): in use?\n",
                drhd.address,
                e.to_errno()
            );
        })?;
        let cap = Cap(regs.try_read64(regs::CAP)?);
        let ecap = Ecap(regs.try_read64(regs::ECAP)?);
        let ver = regs.try_read32(regs::VER)?;
        if cap.0 == u64::MAX && ecap.0 == u64::MAX {
            pr_err!(
                "dmar{index}: registers at {:#x} read all ones\n",
                drhd.address
            );
            return Err(EINVAL);
        }
        // The fault recording and IOTLB registers may lie beyond the size the table gives.
        let span = regs::register_span(cap, ecap);
        let regs = if span > size {
            drop(regs);
            FwIoMem::request(drhd.address, span, name()?)?
        } else {
            regs
        };
        let Some(agaw) = cap.agaw_for(cap.mgaw()) else {
            pr_err!(
                "dmar{index}: no usable second-stage table depth (SAGAW {:#x})\n",
                cap.sagaw()
            );
            return Err(ENODEV);
        };
        if cap.caching_mode() {
            // Creating a mapping would need an invalidation too (`iotlb_sync_map`), which the
            // paging domains do not issue yet.
            pr_err!("dmar{index}: caching mode (CAP.CM) is not supported yet\n");
            return Err(ENODEV);
        }
        let domains = usize::try_from(cap.domains().ok_or(ENODEV)?)?;
        let mut used = KVec::with_capacity(domains.div_ceil(64), GFP_KERNEL)?;
        used.resize(domains.div_ceil(64), 0, GFP_KERNEL)?;
        used[0] |= 1 | (1 << IDENTITY_DID.raw());
        let mut tables = KVec::with_capacity(512, GFP_KERNEL)?;
        for _ in 0..512 {
            tables.push(None, GFP_KERNEL)?;
        }
        let unit = Self {
            name: name()?,
            regs,
            segment: drhd.segment,
            include_all: drhd.include_all,
            index,
            ver,
            cap,
            ecap,
            qi: None,
            root: None,
            contexts: KBox::pin_init(
                new_mutex!(Contexts { tables }, "intel_iommu_rs::contexts"),
                GFP_KERNEL,
            )?,
            dids: KBox::pin_init(
                new_spinlock_irq!(
                    Dids {
                        used,
                        count: domains
                    },
                    "intel_iommu_rs::dids"
                ),
                GFP_KERNEL,
            )?,
            agaw,
        };
        unit.check_free()?;
        Ok(unit)
    }

    /// The unit's register set.
    pub(crate) fn regs(&self) -> &FwIoMem {
        &self.regs
    }

    /// The unit's name, `dmar<N>`.
    pub(crate) fn label(&self) -> &str {
        // The name was formatted from ASCII.
        self.name.to_str().unwrap_or("dmar")
    }

    /// Turns off what a previous kernel (kexec, kdump) left on: interrupt remapping,
    /// translation and queued invalidation.
    ///
    /// Nothing of this kernel can have set them: the C driver and C's interrupt remapping claim
    /// the registers before they program a unit, and [`Unit::probe`] claimed them first.
    fn check_free(&self) -> Result {
        let gsts = self.gsts()?;
        if gsts & (global::IRE | global::TE | global::QIE) != 0 {
            pr_warn!(
                "{}: left on by a previous kernel (GSTS {:#010x}), turning it off\n",
                self.label(),
                gsts
            );
        }
        if gsts & global::IRE != 0 {
            // Interrupts from devices behind the unit go through the old kernel's table until
            // this is off; this boot runs without interrupt remapping (intremap=off).
            self.global_command(global::IRE, false)?;
        }
        if gsts & global::TE != 0 {
            // C copies the old context tables for kdump; this driver starts clean, so DMA still
            // in flight from the previous kernel faults from here on.
            self.global_command(global::TE, false)?;
        }
        if gsts & global::QIE != 0 {
            // As C's `dmar_disable_qi()`: let the unit finish what is queued, then stop it.
            read_poll_timeout(
                || {
                    Ok((
                        self.regs.try_read64(regs::IQH)?,
                        self.regs.try_read64(regs::IQT)?,
                    ))
                },
                |&(h, t)| h == t,
                Delta::from_micros(10),
                GCMD_TIMEOUT,
            )?;
            self.global_command(global::QIE, false)?;
        }
        Ok(())
    }

    /// Enables queued invalidation with a new, empty queue: 256-bit descriptors in scalable
    /// mode, 128-bit ones in legacy mode.
    ///
    /// `ENODEV` if the unit has no queued invalidation (register-based invalidation, which only
    /// old units have, is not implemented).
    pub(crate) fn enable_qi(&mut self) -> Result {
        if !self.ecap.qi() {
            pr_err!(
                "{}: no queued invalidation (ECAP.QI): not supported\n",
                self.label()
            );
            return Err(ENODEV);
        }
        let queue = Queue::new(self.ecap.smts())?;
        // As C: the tail first, then the queue's address, then enable.
        self.regs.try_write64(0, regs::IQT)?;
        self.regs.try_write64(queue.iqa()?, regs::IQA)?;
        self.qi = Some(KBox::pin_init(
            new_spinlock_irq!(queue, "intel_iommu_rs::qi"),
            GFP_KERNEL,
        )?);
        self.global_command(global::QIE, true)
    }

    /// Submits `descs` to the invalidation queue and waits until the unit completed them
    /// (see [`Queue::submit_sync`]). `ENODEV` before [`Unit::enable_qi`].
    pub(crate) fn submit_sync(&self, descs: &[Desc]) -> Result {
        let qi = self.qi.as_ref().ok_or(ENODEV)?;
        qi.lock().submit_sync(&self.regs, self.label(), descs)
    }

    /// Whether the driver writes back CPU caches after updating tables the unit reads
    /// (`ECAP.C` clear: the unit does not snoop).
    pub(crate) fn needs_flush(&self) -> bool {
        !self.ecap.coherent()
    }

    /// Installs an empty root table, scalable-mode if the unit supports it: every device's
    /// DMA is blocked once translation is on, until its context entry is set. Translation
    /// stays off.
    pub(crate) fn install_root_table(&mut self) -> Result {
        let ttm = if self.ecap.smts() {
            Ttm::Scalable
        } else {
            Ttm::Legacy
        };
        // 256 root entries of 128 bits, one per bus.
        let root = PhysMem::new_zeroed(256 * 16)?;
        if self.needs_flush() {
            root.flush(0..root.len() / 8)?;
        }
        self.regs
            .try_write64(regs::rtaddr(root.phys(), ttm)?, regs::RTADDR)?;
        self.global_command(global::SRTP, true)?;
        self.root = Some(root);
        if self.cap.rwbf() {
            self.global_command(global::WBF, true)?;
        }
        // Units without ESRTPS may keep context, PASID and IOTLB entries of the previous root
        // table cached: invalidate them all, as C's `iommu_set_root_entry()`.
        if !self.cap.esrtps() {
            let mut descs = KVec::new();
            descs.push(Desc::context(ContextScope::Global)?, GFP_KERNEL)?;
            if self.ecap.smts() {
                descs.push(Desc::pasid_cache(PasidCacheScope::Global), GFP_KERNEL)?;
            }
            descs.push(
                Desc::iotlb(IotlbScope::Global, Drain::from_cap(self.cap))?,
                GFP_KERNEL,
            )?;
            self.submit_sync(&descs)?;
        }
        pr_info!(
            "{}: {} root table at {:#x} installed, caches invalidated through the queue\n",
            self.label(),
            if self.ecap.smts() {
                "scalable-mode"
            } else {
                "legacy"
            },
            self.root.as_ref().map_or(0, |r| r.phys())
        );
        Ok(())
    }

    /// Writes back the CPU cache lines of `words` of `mem` if the unit does not snoop them.
    pub(crate) fn flush(&self, mem: &PhysMem, words: core::ops::Range<usize>) -> Result {
        if self.needs_flush() {
            mem.flush(words)?;
        }
        Ok(())
    }

    /// Points the context entry of `sid` at the PASID directory `dir` of `2^(pdts + 7)`
    /// entries, with requests without a PASID looked up as [`Pasid::NONE`]; `dte`: the device
    /// may use ATS (device-TLB enable).
    ///
    /// The entry is written while it is not present, so no cache holds it (caching mode is
    /// refused at probe): no invalidation is needed, as in C's `context_present_cache_flush()`.
    /// An entry that is present already is rewritten the same way after being cleared.
    pub(crate) fn set_context(&self, sid: SourceId, dir: u64, pdts: u8, dte: bool) -> Result {
        let root = self.root.as_ref().ok_or(ENODEV)?;
        let entry = SmContextEntry {
            pasid_dir: dir,
            pdts,
            rid_pasid: Pasid::NONE,
            rid_priv: false,
            dte,
            paside: false,
            pre: false,
            fpd: false,
        }
        .encode()?;
        let mut contexts = self.contexts.lock();
        let bus = usize::from(sid.bus());
        let upper = usize::from(sid.devfn()) >= SM_CONTEXT_ENTRIES;
        let slot = bus * 2 + usize::from(upper);
        if contexts.tables[slot].is_none() {
            let table = PhysMem::new_zeroed(SM_CONTEXT_ENTRIES * 32)?;
            self.flush(&table, 0..table.len() / 8)?;
            contexts.tables[slot] = Some(table);
            let phys = |i: usize| contexts.tables[i].as_ref().map(|t| t.phys());
            let words = RootEntry {
                lower: phys(bus * 2),
                upper: phys(bus * 2 + 1),
            }
            .encode()?;
            let root_words = &root.words()[bus * 2..bus * 2 + 2];
            for (w, v) in root_words.iter().zip(words) {
                w.store(v, Relaxed);
            }
            self.flush(root, bus * 2..bus * 2 + 2)?;
        }
        let table = contexts.tables[slot].as_ref().ok_or(EINVAL)?;
        let first = (usize::from(sid.devfn()) % SM_CONTEXT_ENTRIES) * 4;
        let words = &table.words()[first..first + 4];
        if words[0].load(Relaxed) & 1 != 0 {
            self.clear_context_locked(table, first, sid)?;
        }
        // The present bit is in the first qword: it goes in last.
        for i in [1, 2, 3, 0] {
            words[i].store(entry[i], Relaxed);
        }
        self.flush(table, first..first + 4)
    }

    /// Clears the context entry of `sid` and invalidates what the unit may have cached through
    /// it: the context entry, the PASID entries and the translations, all of them (as C's
    /// `intel_context_flush_no_pasid()` with its domain-wide flushes). Nothing if the entry is
    /// not present.
    pub(crate) fn clear_context(&self, sid: SourceId) -> Result {
        let contexts = self.contexts.lock();
        let slot = usize::from(sid.bus()) * 2 + usize::from(sid.devfn()) / SM_CONTEXT_ENTRIES;
        let Some(table) = contexts.tables[slot].as_ref() else {
            return Ok(());
        };
        let first = (usize::from(sid.devfn()) % SM_CONTEXT_ENTRIES) * 4;
        if table.words()[first].load(Relaxed) & 1 == 0 {
            return Ok(());
        }
        self.clear_context_locked(table, first, sid)
    }

    /// Clears the present context entry at word `first` of `table`, under the context lock.
    fn clear_context_locked(&self, table: &PhysMem, first: usize, sid: SourceId) -> Result {
        let words = &table.words()[first..first + 4];
        for w in words {
            w.store(0, Relaxed);
        }
        self.flush(table, first..first + 4)?;
        let descs = [
            Desc::context(ContextScope::Device {
                did: DomainId::new(0),
                sid,
                fm: 0,
            })?,
            Desc::pasid_cache(PasidCacheScope::Global),
            Desc::iotlb(IotlbScope::Global, Drain::from_cap(self.cap))?,
        ];
        self.submit_sync(&descs)
    }

    /// Takes a free domain ID. `ENOSPC` if all are in use.
    pub(crate) fn alloc_did(&self) -> Result<DomainId> {
        let mut dids = self.dids.lock();
        let count = dids.count;
        for (i, word) in dids.used.iter_mut().enumerate() {
            if *word != u64::MAX {
                let bit = word.trailing_ones();
                let id = i * 64 + usize::try_from(bit)?;
                if id >= count {
                    break;
                }
                *word |= 1 << bit;
                return Ok(DomainId::new(u16::try_from(id)?));
            }
        }
        Err(ENOSPC)
    }

    /// Gives back a domain ID from [`Unit::alloc_did`], once nothing the unit caches is
    /// tagged with it any more.
    pub(crate) fn free_did(&self, did: DomainId) {
        let raw = usize::from(did.raw());
        if let Some(word) = self.dids.lock().used.get_mut(raw / 64) {
            *word &= !(1 << (raw % 64));
        }
    }

    /// Turns translation on (`GCMD.TE`): from now on every DMA request is translated through
    /// the root table, and a device without a present context entry is blocked.
    pub(crate) fn enable_translation(&self) -> Result {
        if self.cap.rwbf() {
            self.global_command(global::WBF, true)?;
        }
        self.global_command(global::TE, true)?;
        pr_info!("{}: translation enabled\n", self.label());
        Ok(())
    }

    /// Turns translation off at system shutdown, as C's `intel_iommu_shutdown()` does for
    /// each unit, in its order: the protected memory regions off first (`PMEN.EPM` cleared,
    /// waiting for `PMEN.PRS` to clear; only if the unit has them, `CAP.PLMR`/`PHMR`), then
    /// `GCMD.TE` (waiting for `GSTS.TES`). DMA is then untranslated, as firmware and a
    /// kexec'd kernel expect to find it.
    pub(crate) fn shutdown(&self) -> Result {
        if self.cap.plmr() || self.cap.phmr() {
            let pmen = self.regs.try_read32(regs::PMEN)?;
            self.regs.try_write32(pmen & !regs::pmen::EPM, regs::PMEN)?;
            read_poll_timeout(
                || self.regs.try_read32(regs::PMEN),
                |&pmen| pmen & regs::pmen::PRS == 0,
                Delta::from_micros(10),
                GCMD_TIMEOUT,
            )?;
        }
        if self.gsts()? & global::TE != 0 {
            self.global_command(global::TE, false)?;
            pr_info!("{}: translation disabled at shutdown\n", self.label());
        }
        Ok(())
    }

    /// `GSTS_REG`.
    pub(crate) fn gsts(&self) -> Result<u32> {
        self.regs.try_read32(regs::GSTS)
    }

    /// Sets (`on`) or clears one `GCMD` command bit, keeping the other state bits, and waits
    /// until `GSTS` shows it done.
    ///
    /// The caller serialises global commands (one command at a time per unit, as C's
    /// `register_lock`): so far they run only while the unit is brought up or shut down.
    pub(crate) fn global_command(&self, cmd: u32, on: bool) -> Result {
        let gsts = self.gsts()?;
        self.regs
            .try_write32(global::command(gsts, cmd, on), regs::GCMD)?;
        read_poll_timeout(
            || self.gsts(),
            |&gsts| global::done(gsts, cmd, on),
            Delta::from_micros(10),
            GCMD_TIMEOUT,
        )
        .map(|_| ())
        .inspect_err(|_| {
            pr_err!(
                "{}: GCMD {:#010x} {} timed out, GSTS {:#010x}\n",
                self.label(),
                cmd,
                if on { "set" } else { "clear" },
                self.gsts().unwrap_or(u32::MAX)
            );
        })
    }

    /// Logs what the unit is and implements, once at probe.
    pub(crate) fn log_probe(&self) {
        let (major, minor) = regs::version(self.ver);
        let (cap, ecap) = (self.cap, self.ecap);
        pr_info!(
            "{}: VT-d {}.{} at {:#x}, segment {}{}, cap {:#018x} ecap {:#018x}\n",
            self.label(),
            major,
            minor,
            self.regs.start(),
            self.segment,
            if self.include_all {
                " (INCLUDE_PCI_ALL)"
            } else {
                ""
            },
            cap.0,
            ecap.0
        );
        pr_info!(
            "{}: {} domain IDs, MGAW {}, SAGAW {:#x}, {} fault record(s) at {:#x}, QI {}, \
             scalable mode {}, first stage {}, second stage {}, pass-through {}, coherent {}\n",
            self.label(),
            cap.domains().unwrap_or(0),
            cap.mgaw(),
            cap.sagaw(),
            cap.num_fault_regs(),
            cap.fault_reg_offset(),
            yn(ecap.qi()),
            yn(ecap.smts()),
            yn(ecap.fsts()),
            yn(ecap.ssts()),
            yn(ecap.pass_through()),
            yn(ecap.coherent())
        );
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        // The queue's and the root table's memory is freed after this: the unit must have
        // stopped fetching from it. Only a unit that was never registered with the IOMMU core
        // is dropped (a failed init); registered units live for the life of the kernel.
        let gsts = self.gsts().unwrap_or(0);
        if gsts & global::TE != 0 {
            let _ = self.global_command(global::TE, false);
        }
        if self.qi.is_some()
            && gsts & global::QIE != 0
            && self.global_command(global::QIE, false).is_err()
        {
            // The unit may still read the queue: keep the memory rather than free it under it.
            if let Some(qi) = self.qi.take() {
                core::mem::forget(qi);
            }
            if let Some(root) = self.root.take() {
                core::mem::forget(root);
            }
        }
    }
}
