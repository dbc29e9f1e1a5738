// SPDX-License-Identifier: GPL-2.0

//! The command queue shared by many CPUs: the arithmetic of its protocol.
//!
//! Every entry ever written to the command queue has a 64-bit *position*, which never wraps;
//! the `CMDQ_PROD` and `CMDQ_CONS` registers hold a position modulo twice the queue size (index
//! and wrap bit, see [`Queue`]). The driver shares these things between CPUs:
//!
//! - `prod`, the next free position, changed only under the *producer lock*. The lock holder
//!   writes its entries, then stores the new `prod` (every entry below it is written), and
//!   holds the lock for nothing else: never while writing a register or waiting for the SMMU.
//! - the *publisher lock*, which is only ever tried, and under it the last value written to
//!   `CMDQ_PROD`. A CPU that has written entries tries it; holding it, it writes `CMDQ_PROD`
//!   with the `prod` it reads, lets go and reads `prod` again, starting over if it moved. A CPU
//!   that finds the lock taken goes on: the holder's second read sees its entries (a full
//!   barrier on each side orders the store of `prod` before the try, and the unlock before the
//!   second read). The register never moves backwards, and one write may publish the entries
//!   of many CPUs.
//! - `cons`, a lower bound of the SMMU's consumer position, raised (atomically, to the maximum)
//!   by whoever reads `CMDQ_CONS`, with or without a lock.
//! - the ring, whose slots from `CMDQ_CONS` to `CMDQ_PROD` belong to the SMMU.
//!
//! A producer takes `n` entries only if `prod + n <= cons + size` ([`Positions::take`]): all
//! of a caller's entries at once if they fit the queue, as many as are free otherwise. As
//! `cons` never decreases, `prod <= cons + size` holds at all times, and the SMMU's consumer
//! position, which lies between `cons` and `prod`, is told by its register value alone
//! ([`Positions::decode`]). Decoding is even safe without that bound: it gives the smallest
//! position at or above `cons` with the register's value, never more than the true one, so
//! `cons` stays a lower bound whatever the interleaving.
//!
//! A caller's commands end with a `CMD_SYNC` at some position `s`; they have all completed once
//! the decoded consumer position is past `s` ([`Positions::completed`]), because the SMMU
//! consumes a `CMD_SYNC` only when every command before it has completed. Each caller polls for
//! its own `CMD_SYNC` outside the lock, so waits overlap: with interrupts as the caller had them,
//! and a stuck SMMU costs every waiter one timeout, not one per waiter queued ahead of it.
//!
//! The C driver's `arm_smmu_cmdq_issue_cmdlist` also lets CPUs write their entries in parallel
//! and publish them with one `CMDQ_PROD` write (an owner and a valid bitmap), and keeps waiters
//! from losing track of a queue that wrapped twice with a shared lock that holds `cons` back.
//! Here entries are written under the lock (a few stores), a tried lock takes the place of the
//! owner, and 64-bit positions take the place of the shared lock. The host tests check the
//! protocol over every interleaving of small cases.

use crate::hw::prodcons::Queue;

/// The positions of one command queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Positions {
    q: Queue,
}

impl Positions {
    /// The positions of a queue of geometry `q`.
    pub(crate) const fn new(q: Queue) -> Self {
        Self { q }
    }

    /// The number of entries of the queue.
    pub(crate) const fn entries(self) -> u64 {
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        self.q.entries() as u64
    }

    /// The `CMDQ_PROD` or `CMDQ_CONS` value (index and wrap bit) of position `pos`.
    pub(crate) const fn reg(self, pos: u64) -> u32 {
        // CAST: The mask keeps at most 20 bits.
        (pos & ((self.entries() << 1) - 1)) as u32
    }

    /// How many entries are free when `prod` is the next free position and `cons` a lower bound
    /// of the SMMU's; none if `prod` is more than a queue ahead (which the protocol excludes).
    pub(crate) const fn space(self, prod: u64, cons: u64) -> u64 {
        self.entries().saturating_sub(prod.saturating_sub(cons))
    }

    /// How many of `left` entries a producer takes at `prod`: 0 if it must wait for the SMMU.
    ///
    /// See [`Positions::fit`].
    pub(crate) fn take(self, prod: u64, cons: u64, left: usize) -> usize {
        self.fit(self.space(prod, cons), left)
    }

    /// How many of `left` entries a producer takes when `space` entries are free: all of them
    /// or none if they fit the queue, so that a caller's commands and their `CMD_SYNC` stay
    /// together, as the C driver keeps them (erratum workarounds that bound the commands
    /// between two syncs count on it); as many as are free otherwise.
    pub(crate) fn fit(self, space: u64, left: usize) -> usize {
        let space = usize::try_from(space).unwrap_or(usize::MAX);
        if u64::try_from(left).is_ok_and(|l| l <= self.entries()) {
            if space >= left {
                left
            } else {
                0
            }
        } else {
            space.min(left)
        }
    }

    /// The SMMU's consumer position, from a lower bound `cons` of it and the value `reg` of
    /// `CMDQ_CONS` (its error field is ignored): the smallest position at or above `cons` with
    /// that value.
    ///
    /// That is the true position whenever the true position is below `cons + 2 * entries`,
    /// which the protocol guarantees while `cons` is current; and it is never above the true
    /// position, so raising `cons` to it keeps `cons` a lower bound.
    pub(crate) const fn decode(self, cons: u64, reg: u32) -> u64 {
        let modulus = self.entries() << 1;
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        let ahead = (reg as u64).wrapping_sub(cons) & (modulus - 1);
        cons + ahead
    }

    /// Whether the `CMD_SYNC` at position `sync` has completed, `cons` being at or below the
    /// SMMU's consumer position: the SMMU has moved past it.
    pub(crate) const fn completed(cons: u64, sync: u64) -> bool {
        cons > sync
    }
}
