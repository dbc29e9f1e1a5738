// SPDX-License-Identifier: GPL-2.0

//! The command queue.
//!
//! Commands are written into free slots, published by one write of `CMDQ_PROD`, and followed by
//! a `CMD_SYNC` whose consumption tells that every earlier command has completed. Many CPUs
//! share the queue with the protocol of [`crate::hw::cmdq`]: the producer lock is held only while
//! a caller writes its entries into the ring, `CMDQ_PROD` is written by one CPU at a time for
//! every CPU's entries, and each caller polls `CMDQ_CONS` for its own `CMD_SYNC`, with
//! interrupts as it had them. Every wait of a call counts against one deadline, measured in
//! time from its first wait that does not end at once: a stuck SMMU costs each waiting CPU one
//! timeout, and waiting CPUs time out together.
//!
//! No CPU spins on a lock another CPU holds without backing off: the producer lock is taken
//! with `try_lock`, delaying between attempts as the wait for the SMMU does, and the lock that
//! orders the writes of `CMDQ_PROD` is only ever tried, its holder publishing for those who
//! found it taken. Under virtualisation a vCPU can lose its physical CPU while it holds a lock
//! with interrupts off; vCPUs spinning for that lock then keep it from running again. Measured
//! with 4 vCPUs on 2 host cores (QEMU TCG, `dma_map_benchmark`, strict DMA), spinning made a
//! DMA unmap take over 2 ms, against tens of µs for the C driver, whose queue has no lock.
//! Both locks are flags ([`TryLock`]), not spinlocks.
//!
//! # Ownership of the ring
//!
//! Slots from `CONS` (exclusive of a stopped, erroneous entry) up to the last value written to
//! `CMDQ_PROD` belong to the SMMU; slots from there up to `prod` hold entries that are written
//! and wait to be published; all others belong to the holder of the producer lock, which writes
//! only slots it has checked are free, and orders its entries before its store of `prod`, for
//! the SMMU (`dma_wmb`) and for other CPUs (release). `CMDQ_PROD` is written, under the
//! publisher lock, with a value of `prod` read with acquire semantics. The slot of a stopped,
//! erroneous entry is rewritten only by the recovery, under the error lock.

use core::sync::atomic::{
    AtomicBool,
    AtomicU64,
    Ordering, //
};

use kernel::{
    device::Device,
    interrupt::{
        local_interrupt_disable,
        LocalInterruptDisabled, //
    },
    io::{
        mem::IoMem,
        Io, //
    },
    new_spinlock_irq,
    prelude::*,
    processor::cpu_relax,
    sync::{
        barrier::{
            dma_mb,
            smp_mb,
            Full,
            Write, //
        },
        SpinLockIrq,
        SpinLockIrqGuard, //
    },
    time::{
        delay::udelay,
        Delta,
        Instant,
        Monotonic, //
    },
};

use crate::{
    hw::{
        cmd::{
            Cmd,
            SyncCompletion,
            CMD_QWORDS, //
        },
        cmdq::Positions,
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

/// How long a call may wait for space and for its `CMD_SYNC`: one second, as the C driver
/// allows.
const SYNC_TIMEOUT: Delta = Delta::from_secs(1);

/// How many times a waiter polls `CMDQ_CONS` back to back before it starts to delay.
const POLL_SPINS: u32 = 10;

/// The longest delay between two polls, in microseconds; delays double up to it from 1.
const POLL_DELAY_MAX_US: i64 = 64;

/// A lock that is only ever tried: a flag, held with interrupts off.
///
/// Both locks of the command queue are taken with `try_lock` alone, so lockdep could find no
/// deadlock through them, and a `SpinLockIrq`'s debugging is pure cost: on the kernel that
/// `qemu-ci` builds (`CONFIG_PROVE_LOCKING`, `CONFIG_DEBUG_SPINLOCK`), an uncontended try and
/// unlock took 6 µs under QEMU TCG, twice per batch of commands, when a whole strict DMA unmap
/// took the C driver 26 µs. The C driver's queue is made of atomics likewise.
struct TryLock(AtomicBool);

/// A held [`TryLock`], released when dropped; interrupts are off while it lives.
struct Held<'a>(&'a AtomicBool);

/// A held [`TryLock`] with the interrupts-off section it was taken in.
///
/// [`TryGuard::unlock`] lets go of the lock and keeps interrupts off; dropped, it lets go of
/// both, the lock first (the fields drop in order).
struct TryGuard<'a> {
    held: Held<'a>,
    irq: LocalInterruptDisabled,
}

impl TryLock {
    const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Sets the flag if it is clear. Acquire: what the last holder did under the lock happens
    /// before what the new one does.
    fn acquire(&self) -> bool {
        self.0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock if it is free, for as long as interrupts stay off (`_irq`).
    fn try_hold<'a>(&'a self, _irq: &'a LocalInterruptDisabled) -> Option<Held<'a>> {
        self.acquire().then(|| Held(&self.0))
    }

    /// Takes the lock if it is free, with interrupts off until the guard lets go of them.
    fn try_lock(&self) -> Option<TryGuard<'_>> {
        let irq = local_interrupt_disable();
        self.acquire().then(|| TryGuard {
            held: Held(&self.0),
            irq,
        })
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl TryGuard<'_> {
    /// Lets go of the lock; interrupts stay off until the returned token is dropped.
    fn unlock(self) -> LocalInterruptDisabled {
        let TryGuard { held, irq } = self;
        drop(held);
        irq
    }
}

/// The deadline of a call's waits: [`SYNC_TIMEOUT`] after its first wait that did not end at
/// once.
///
/// The clock is read only then: `ktime_get()` reads a seqcount, which on a kernel with lockdep
/// (`qemu-ci`'s) costs an interrupts-off section and two lockdep calls, measured under QEMU
/// `-icount` at about 2,300 instructions, nearly a third of a whole TLB flush. Writing the entries
/// before the first wait takes microseconds, so the deadline moves by that much.
struct Deadline(Option<Instant<Monotonic>>);

impl Deadline {
    const fn new() -> Self {
        Self(None)
    }

    /// Whether [`SYNC_TIMEOUT`] has passed since the first call of this function.
    fn passed(&mut self) -> bool {
        self.0.get_or_insert_with(Instant::now).elapsed() > SYNC_TIMEOUT
    }
}

/// What the error lock guards, besides the writes of `GERRORN`.
struct ErrorState {
    /// How many commands the SMMU refused and [`Errors::recover`] replaced: none outside fault
    /// injection, since every such command is a driver bug or a failed ATC invalidation.
    skipped: u64,
    /// The `CMDQ_CONS` of the last fetch abort logged, so that a persistent one is logged once.
    abt_logged: Option<u32>,
}

/// The SMMU command queue.
#[pin_data]
pub(crate) struct Cmdq {
    ring: Ring<CMD_QWORDS>,
    pos: Positions,
    /// Held to write entries into the ring.
    producer: TryLock,
    /// The next free position (see [`Positions`]): changed only by the producer lock's holder,
    /// which stores it (release) once the entries below it are written.
    prod: AtomicU64,
    /// Held to write `CMDQ_PROD`.
    publisher: TryLock,
    /// The position `CMDQ_PROD` was last written with; changed only by the publisher lock's
    /// holder.
    published: AtomicU64,
    /// A lower bound of the SMMU's consumer position, raised by whoever reads `CMDQ_CONS`.
    cons: AtomicU64,
    /// Taken to recover from a command error and to write `GERRORN`.
    #[pin]
    errors: SpinLockIrq<ErrorState>,
    /// The commands issued by one task, for the live KUnit suite, and whether one is recorded.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    #[pin]
    trace: SpinLockIrq<trace::Trace>,
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    tracing: AtomicBool,
}

impl Cmdq {
    /// Wraps an allocated ring; the queue starts empty at position 0.
    pub(crate) fn new(ring: Ring<CMD_QWORDS>) -> impl PinInit<Self> {
        let pos = Positions::new(ring.queue());
        pin_init!(Self {
            ring,
            pos,
            producer: TryLock::new(),
            prod: AtomicU64::new(0),
            publisher: TryLock::new(),
            published: AtomicU64::new(0),
            cons: AtomicU64::new(0),
            errors <- new_spinlock_irq!(
                ErrorState {
                    skipped: 0,
                    abt_logged: None,
                },
                "arm_smmu_v3_rs::cmdq_errors"
            ),
            #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
            trace <- new_spinlock_irq!(trace::Trace::new(), "arm_smmu_v3_rs::cmdq_trace"),
            #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
            tracing: AtomicBool::new(false),
        })
    }

    /// How many refused commands were replaced so far.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn skipped(&self) -> u64 {
        self.errors.lock().skipped
    }

    /// The value of `SMMU_CMDQ_BASE`.
    pub(crate) fn base_reg(&self) -> Result<u64> {
        self.ring.base_reg()
    }

    /// Forgets everything queued: the SMMU's indices were just reset to 0, with no caller
    /// issuing commands.
    pub(crate) fn reset(&self) {
        let _p = self.lock_producer();
        self.prod.store(0, Ordering::Release);
        self.published.store(0, Ordering::Relaxed);
        self.cons.store(0, Ordering::Release);
    }

    /// Takes the error lock, which the global error handler holds while it writes `GERRORN`.
    pub(crate) fn errors(&self) -> Errors<'_> {
        Errors {
            cmdq: self,
            state: self.errors.lock(),
        }
    }

    /// Runs `f` on the KUnit trace, under its lock.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn with_trace<R>(&self, f: impl FnOnce(&mut trace::Trace) -> R) -> R {
        let mut t = self.trace.lock();
        let r = f(&mut t);
        self.tracing.store(t.recording(), Ordering::Relaxed);
        r
    }

    /// The next free position, and whether `CMDQ_PROD` holds it and the SMMU consumed everything
    /// up to it (within a millisecond), read under the producer lock; for the live KUnit suite.
    #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
    pub(crate) fn drained(&self, io: &IoMem<'_, { regs::SIZE }>) -> (u64, bool) {
        let _p = self.lock_producer();
        let next = self.prod.load(Ordering::Relaxed);
        let prod = self.pos.reg(next);
        for _ in 0..1000 {
            let cons = self.pos.reg(u64::from(io.read(CMDQ_CONS).into_raw()));
            if io.read(CMDQ_PROD).into_raw() == prod && cons == prod {
                return (next, true);
            }
            udelay(Delta::from_micros(1));
        }
        (next, false)
    }

    /// Issues `cmds` followed by a `CMD_SYNC`, and waits until all of them have completed.
    ///
    /// The producer lock is taken (interrupts off) only to write entries, then they are
    /// published ([`Cmdq::publish`]); waits for space and for the `CMD_SYNC` run with
    /// interrupts as the caller had them, in parallel with other callers'. The commands and
    /// their `CMD_SYNC` are written at once if they fit the queue, a larger batch as space
    /// frees up.
    ///
    /// # Errors
    ///
    /// `ETIMEDOUT` if the SMMU did not consume the commands within [`SYNC_TIMEOUT`] of the call.
    pub(crate) fn issue_sync(
        &self,
        dev: &Device,
        io: &IoMem<'_, { regs::SIZE }>,
        cmds: &[Cmd],
    ) -> Result {
        let mut deadline = Deadline::new();
        let sync = Cmd::sync(SyncCompletion::None)?;
        let total = cmds.len() + 1;
        let mut done = 0;
        let mut last = 0;
        while done < total {
            let p = self.lock_producer();
            let mut prod = self.prod.load(Ordering::Relaxed);
            let left = total - done;
            let n = self.pos.take(prod, self.cons.load(Ordering::Acquire), left);
            if n == 0 {
                drop(p);
                self.wait(dev, io, &mut deadline, |cons| {
                    self.pos.take(prod, cons, left) > 0
                })?;
                continue;
            }
            #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
            let mut trace = self
                .tracing
                .load(Ordering::Relaxed)
                .then(|| self.trace.lock());
            for i in done..done + n {
                let cmd = cmds.get(i).unwrap_or(&sync);
                self.ring.write(self.pos.reg(prod), cmd.words())?;
                prod += 1;
                #[cfg(CONFIG_ARM_SMMU_V3_RUST_KUNIT_TEST)]
                if let Some(t) = trace.as_mut() {
                    t.record(cmd);
                }
            }
            // The entries reach the SMMU through another CPU's write of `CMDQ_PROD`, perhaps:
            // order them for the SMMU before the new `prod` (as C's writers order theirs before
            // their valid bits), and for other CPUs (release).
            dma_mb(Write);
            self.prod.store(prod, Ordering::Release);
            done += n;
            last = prod - 1;
            // Published in the same interrupts-off section: each costs about 1,700 instructions
            // on a kernel with lockdep, which the C driver spends once per call.
            let irq = p.unlock();
            self.publish(io, &irq);
        }
        self.wait(dev, io, &mut deadline, |cons| {
            Positions::completed(cons, last)
        })
    }

    /// Takes the producer lock: tries it, then again after each delay of the same backoff as
    /// [`Cmdq::wait`], never spinning on it for longer than [`POLL_SPINS`] tries. The holder
    /// only writes a few entries, so the wait is short unless its CPU was taken away from it.
    fn lock_producer(&self) -> TryGuard<'_> {
        let mut spins = 0u32;
        let mut delay_us = 1;
        loop {
            if let Some(g) = self.producer.try_lock() {
                return g;
            }
            if spins < POLL_SPINS {
                spins += 1;
                cpu_relax();
                continue;
            }
            udelay(Delta::from_micros(delay_us));
            delay_us = (delay_us * 2).min(POLL_DELAY_MAX_US);
        }
    }

    /// Makes sure that `CMDQ_PROD` covers every entry written so far, the caller's included:
    /// writes it, or leaves it to the CPU that is writing it, which looks at `prod` again once
    /// it has let go of the publisher lock.
    ///
    /// The writes of `CMDQ_PROD` are ordered by the lock and each writes the `prod` it read
    /// under it, which never decreases: the register never moves backwards. The holder has
    /// interrupts off, so a caller that finds the lock taken never left it to a context it
    /// interrupted, which could not go on before the caller's wait ends: the caller keeps them
    /// off (`irq`).
    fn publish(&self, io: &IoMem<'_, { regs::SIZE }>, irq: &LocalInterruptDisabled) {
        loop {
            // Orders our store of `prod` before the lock is tried; pairs with the barrier after
            // the holder lets go: either it sees our entries, or we see the lock free.
            smp_mb(Full);
            let Some(g) = self.publisher.try_hold(irq) else {
                return;
            };
            // Acquire: the entries below `w`, whoever wrote them, are ordered before the MMIO
            // write, which orders what this CPU observed before the SMMU can see `PROD`.
            let w = self.prod.load(Ordering::Acquire);
            if w != self.published.load(Ordering::Relaxed) {
                io.write_reg(CMDQ_PROD::from_raw(self.pos.reg(w)));
                self.published.store(w, Ordering::Relaxed);
            }
            drop(g);
            // See above.
            smp_mb(Full);
            if self.prod.load(Ordering::Relaxed) == w {
                return;
            }
        }
    }

    /// Polls `CMDQ_CONS`, raising the shared lower bound, until `cond` holds of it; recovers
    /// from command errors once polls stop succeeding at once.
    fn wait(
        &self,
        dev: &Device,
        io: &IoMem<'_, { regs::SIZE }>,
        deadline: &mut Deadline,
        mut cond: impl FnMut(u64) -> bool,
    ) -> Result {
        let mut polls = 0u32;
        let mut delay_us = 1;
        loop {
            // Another CPU's poll may have seen enough already.
            let k = self.cons.load(Ordering::Acquire);
            if cond(k) {
                return Ok(());
            }
            // `readl`: what follows is ordered after it, the completion of the commands in
            // particular. Raising `cons` with release semantics passes that on to CPUs that
            // see the new bound without reading `CMDQ_CONS` themselves.
            let c = self.pos.decode(k, io.read(CMDQ_CONS).into_raw());
            let c = self.cons.fetch_max(c, Ordering::AcqRel).max(c);
            if cond(c) {
                return Ok(());
            }
            if polls < POLL_SPINS {
                polls += 1;
                cpu_relax();
                continue;
            }
            // The SMMU stops at an erroneous command; the global error interrupt may not be
            // able to run on this CPU, so recover here too, unless another CPU is at it.
            if let Some(state) = self.errors.try_lock() {
                Errors { cmdq: self, state }.recover(dev, io)?;
            }
            if deadline.passed() {
                dev_err!(
                    dev,
                    "CMD_SYNC timeout: prod {:#x} cons {:#x}\n",
                    io.read(CMDQ_PROD).into_raw(),
                    io.read(CMDQ_CONS).into_raw()
                );
                return Err(ETIMEDOUT);
            }
            udelay(Delta::from_micros(delay_us));
            delay_us = (delay_us * 2).min(POLL_DELAY_MAX_US);
        }
    }
}

/// The command queue with its error lock held.
pub(crate) struct Errors<'a> {
    cmdq: &'a Cmdq,
    state: SpinLockIrqGuard<'a, ErrorState>,
}

impl Errors<'_> {
    /// Recovers from a command error reported in `GERROR.CMDQ_ERR`, if there is one.
    ///
    /// As the architecture specifies, the driver fixes the entry at `CONS` and acknowledges the
    /// error by toggling `GERRORN.CMDQ_ERR`, after which the SMMU resumes at `CONS`. An illegal
    /// command (a driver bug) or one whose ATC invalidation timed out is logged, counted and
    /// replaced by a `CMD_SYNC`, which has no effect of its own; a fetch abort is retried as it
    /// is; an error code of none leaves the queue as it is.
    ///
    /// `GERRORN` is written only here and by the global error handler, both under the error
    /// lock: its read-modify-write never races with itself. The entry at `CONS` was published,
    /// so no producer writes its slot.
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
                if self.state.abt_logged != Some(cons) {
                    dev_err!(dev, "command fetch aborted at cons {:#x}; retrying\n", cons);
                    self.state.abt_logged = Some(cons);
                }
            }
            err => {
                let bad = self.cmdq.ring.read(cons)?;
                self.state.skipped += 1;
                dev_err!(
                    dev,
                    "command error {:?} at cons {:#x}: {:#018x} {:#018x}; skipped ({} so far)\n",
                    err,
                    cons,
                    bad[0],
                    bad[1],
                    self.state.skipped
                );
                self.cmdq
                    .ring
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

        /// Whether commands are being recorded.
        pub(super) fn recording(&self) -> bool {
            self.pid.is_some()
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
