// SPDX-License-Identifier: GPL-2.0

//! Updating a live STE or CD without the SMMU seeing a torn entry.
//!
//! The SMMU may read an STE or CD at any time, and the CPU can only store 64 bits atomically. An
//! entry of 8 qwords therefore cannot simply be overwritten while it is in use. The SMMU ignores
//! the bits that the entry's current configuration does not use (the "used bits" of
//! [`EntryFormat`]), so an update can proceed in steps, each followed by a sync that makes the
//! SMMU drop any cached copy of the entry:
//!
//! 1. Write every bit the live entry does not use to its target value.
//! 2. If after that exactly one qword still has used bits that must change, that "critical" qword
//!    is written with one 64-bit store, switching the entry to its new configuration at once.
//!    The remaining bits, now unused by the target, are cleaned up afterwards.
//! 3. If more than one qword is critical, no hitless sequence exists: qword 0 is cleared (`V = 0`,
//!    so transactions are aborted for a moment), qwords 1 to 7 are written, and qword 0 last.
//!
//! Some bits may also change in any order because the change is harmless either way; the format
//! reports those through [`EntryFormat::update_safe_bits`]. Writes that would not change a qword
//! are skipped, and a sync only follows a step that wrote something.
//!
//! An entry points at other structures (a CD table, a stage 2 table, a translation table) that
//! the CPU has just written. The first store of an update is therefore preceded by a
//! [`Step::Barrier`] (`dma_wmb()`), so that the SMMU cannot fetch the new entry and then the old
//! contents of what it points at. Later stores follow a sync, whose command queue write orders
//! them already.
//!
//! The planner only computes; the driver supplies an [`EntryWriter`] that carries out the
//! barrier, stores qwords into the table (in little-endian) and issues the invalidation and
//! `CMD_SYNC` for a sync.

use crate::hw::Error;

/// The number of qwords of an STE or a CD.
pub(crate) const ENTRY_QWORDS: usize = 8;

/// The qwords of an STE or a CD, in CPU byte order.
pub(crate) type EntryWords = [u64; ENTRY_QWORDS];

/// A table entry format whose updates the planner can sequence.
pub(crate) trait EntryFormat {
    /// Returns the bits of `entry` that the SMMU reads, given `entry`'s own configuration.
    ///
    /// It must cover every bit the format's builders can set.
    fn used_bits(entry: &EntryWords) -> EntryWords;

    /// Returns bits whose change from `cur` to `target` may be ordered freely.
    fn update_safe_bits(cur: &EntryWords, target: &EntryWords) -> EntryWords {
        let _ = (cur, target);
        [0; ENTRY_QWORDS]
    }
}

/// Stores qwords into a live entry and makes the SMMU observe them.
pub(crate) trait EntryWriter {
    /// The error a sync can fail with.
    type Error;

    /// Orders every store to memory so far before the stores that follow, as seen by the SMMU
    /// (`dma_wmb()`).
    fn barrier(&mut self);

    /// Stores `value` into qword `index` (below [`ENTRY_QWORDS`]) with a single 64-bit store.
    fn write_qword(&mut self, index: usize, value: u64);

    /// Makes the SMMU observe all stores so far, for example with `CFGI_STE` and `CMD_SYNC`.
    fn sync(&mut self) -> Result<(), Self::Error>;
}

/// How an update is carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UpdateKind {
    /// No used bit changes meaning; unused and update-safe bits are written in one step.
    NoUsedChange,
    /// A hitless update that switches configuration by storing one critical qword.
    Hitless {
        /// The index of the critical qword.
        critical: usize,
    },
    /// A breaking update through `V = 0`.
    Breaking,
}

/// One step of an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Make the stores so far, to whatever the entry points at, visible to the SMMU before the
    /// stores that follow. Comes once, before the first store of an update.
    Barrier,
    /// Store `value` into qword `index`.
    Write {
        /// The qword index, below [`ENTRY_QWORDS`].
        index: usize,
        /// The value to store.
        value: u64,
    },
    /// Make the SMMU observe the stores so far.
    Sync,
}

/// A group of qword stores followed by at most one sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Phase {
    /// The values to store.
    source: EntryWords,
    /// The first qword of the group.
    start: usize,
    /// One past the last qword of the group.
    end: usize,
}

impl Phase {
    /// An empty phase.
    const EMPTY: Self = Self {
        source: [0; ENTRY_QWORDS],
        start: 0,
        end: 0,
    };
}

/// The planned update of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// How the update is carried out.
    kind: UpdateKind,
    /// The entry before the update.
    current: EntryWords,
    /// The groups of stores, in order.
    phases: [Phase; 3],
}

impl Plan {
    /// Plans the update of an entry of format `F` from `current` to `target`.
    ///
    /// # Errors
    ///
    /// Returns [`Error::UnusedBitsSet`] if `target` sets bits that its own configuration does not
    /// use: the hitless analysis assumes unused bits are zero.
    pub(crate) fn new<F: EntryFormat>(
        current: &EntryWords,
        target: &EntryWords,
    ) -> Result<Self, Error> {
        let cur_used = F::used_bits(current);
        let target_used = F::used_bits(target);
        let safe = F::update_safe_bits(current, target);

        let mut staged = [0; ENTRY_QWORDS];
        let mut critical_mask: u32 = 0;
        for (i, staged) in staged.iter_mut().enumerate() {
            // PANIC: `i` ranges over `0..ENTRY_QWORDS`, the length of every array indexed here.
            let (cur, tgt, cur_used, tgt_used) =
                (current[i], target[i], cur_used[i], target_used[i]);
            if tgt & !tgt_used != 0 {
                return Err(Error::UnusedBitsSet);
            }
            // A safe bit is only relaxed when both configurations use it; otherwise the entry
            // that does not use it already orders it.
            let safe = safe[i] & cur_used & tgt_used;
            // The bits the SMMU reads now and whose change must be ordered.
            let ordered = cur_used & !safe;
            *staged = (cur & ordered) | (tgt & !ordered);
            if *staged & tgt_used != tgt {
                critical_mask |= 1 << i;
            }
        }

        let mut phases = [Phase::EMPTY; 3];
        let kind = match critical_mask.count_ones() {
            0 => {
                phases[0] = Phase {
                    source: *target,
                    start: 0,
                    end: ENTRY_QWORDS,
                };
                UpdateKind::NoUsedChange
            }
            1 => {
                // CAST: `trailing_zeros()` of a non-zero `u32` is below 32.
                let critical = critical_mask.trailing_zeros() as usize;
                // The critical qword keeps its current value in the first step: it is written
                // whole in the second one, which may save a sync.
                if let (Some(s), Some(c)) = (staged.get_mut(critical), current.get(critical)) {
                    *s = *c;
                }
                phases = [
                    Phase {
                        source: staged,
                        start: 0,
                        end: ENTRY_QWORDS,
                    },
                    Phase {
                        source: *target,
                        start: critical,
                        end: critical + 1,
                    },
                    Phase {
                        source: *target,
                        start: 0,
                        end: ENTRY_QWORDS,
                    },
                ];
                UpdateKind::Hitless { critical }
            }
            _ => {
                phases = [
                    Phase {
                        source: [0; ENTRY_QWORDS],
                        start: 0,
                        end: 1,
                    },
                    Phase {
                        source: *target,
                        start: 1,
                        end: ENTRY_QWORDS,
                    },
                    Phase {
                        source: *target,
                        start: 0,
                        end: 1,
                    },
                ];
                UpdateKind::Breaking
            }
        };

        Ok(Self {
            kind,
            current: *current,
            phases,
        })
    }

    /// Returns how the update is carried out.
    pub(crate) const fn kind(&self) -> UpdateKind {
        self.kind
    }

    /// Returns the steps of the update, in order.
    pub(crate) const fn steps(&self) -> Steps {
        Steps {
            shadow: self.current,
            phases: self.phases,
            phase: 0,
            qword: self.phases[0].start,
            dirty: false,
            fenced: false,
        }
    }

    /// Carries out the update through `writer`.
    ///
    /// # Errors
    ///
    /// Returns the first error of [`EntryWriter::sync`]; the entry is then partly updated.
    pub(crate) fn apply<W: EntryWriter>(&self, writer: &mut W) -> Result<(), W::Error> {
        for step in self.steps() {
            match step {
                Step::Barrier => writer.barrier(),
                Step::Write { index, value } => writer.write_qword(index, value),
                Step::Sync => writer.sync()?,
            }
        }
        Ok(())
    }
}

/// Plans and carries out the update of a live entry of format `F` from `current` to `target`.
///
/// # Errors
///
/// Returns the planning error of [`Plan::new`] (converted), or the first error of
/// [`EntryWriter::sync`].
pub(crate) fn write_entry<F: EntryFormat, W: EntryWriter>(
    writer: &mut W,
    current: &EntryWords,
    target: &EntryWords,
) -> Result<UpdateKind, W::Error>
where
    W::Error: From<Error>,
{
    let plan = Plan::new::<F>(current, target)?;
    plan.apply(writer)?;
    Ok(plan.kind())
}

/// The steps of a [`Plan`], as an iterator.
#[derive(Clone, Debug)]
pub(crate) struct Steps {
    /// What the entry holds after the steps returned so far.
    shadow: EntryWords,
    /// The groups of stores.
    phases: [Phase; 3],
    /// The current group.
    phase: usize,
    /// The next qword of the current group.
    qword: usize,
    /// Whether the current group has stored anything yet.
    dirty: bool,
    /// Whether the barrier before the first store has been returned.
    fenced: bool,
}

impl Iterator for Steps {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        loop {
            let phase = self.phases.get(self.phase)?;
            if self.qword < phase.end {
                let index = self.qword;
                let (Some(&value), Some(live)) =
                    (phase.source.get(index), self.shadow.get_mut(index))
                else {
                    self.qword += 1;
                    continue;
                };
                if *live == value {
                    self.qword += 1;
                    continue;
                }
                if !self.fenced {
                    // The store stays pending: it is returned by the next call.
                    self.fenced = true;
                    return Some(Step::Barrier);
                }
                *live = value;
                self.qword += 1;
                self.dirty = true;
                return Some(Step::Write { index, value });
            }
            self.phase += 1;
            self.qword = self.phases.get(self.phase).map_or(0, |p| p.start);
            if self.dirty {
                self.dirty = false;
                return Some(Step::Sync);
            }
        }
    }
}
