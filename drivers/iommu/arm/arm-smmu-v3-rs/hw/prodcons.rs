// SPDX-License-Identifier: GPL-2.0

//! Circular queue index arithmetic.
//!
//! The command, event and PRI queues hold `2^log2size` entries. Their `PROD` and `CONS`
//! registers hold an index in bits `log2size - 1:0` and a wrap bit at bit `log2size`, which
//! flips every time the index wraps around. Equal indexes with equal wrap bits mean the queue is
//! empty, equal indexes with different wrap bits mean it is full. Bit 31 is the overflow flag of
//! the event and PRI queues (`PROD.OVFLG`, acknowledged by copying it to `CONS.OVACKFLG`).

use crate::hw::{
    field::{
        encoding,
        Bit,
        Field, //
    },
    Error,
};

/// The largest `log2size` of any SMMUv3 queue.
pub(crate) const LOG2SIZE_MAX: u32 = 19;

/// Bit 31 of `PROD`/`CONS`: queue overflow flag and its acknowledgement.
pub(crate) const OVERFLOW_FLAG: u32 = 1 << 31;

/// `CMDQ_CONS.ERR`: why the command queue stopped, see [`CmdqError`].
pub(crate) const CONS_ERR: Field<0, 30, 24> = Field;

/// `*_BASE.RA`: read-allocate hint for queue accesses.
pub(crate) const BASE_RA: Bit<0, 62> = Field;
/// `*_BASE.ADDR`: queue base address, bits 51:5.
pub(crate) const BASE_ADDR: Field<0, 51, 5> = Field;
/// `*_BASE.LOG2SIZE`: log2 of the number of entries.
pub(crate) const BASE_LOG2SIZE: Field<0, 4, 0> = Field;

encoding! {
    /// The command queue error codes of `CMDQ_CONS.ERR`.
    pub(crate) enum CmdqError {
        /// `CERROR_NONE`: no error.
        None = 0,
        /// `CERROR_ILL`: the command at `CONS` is illegal.
        Ill = 1,
        /// `CERROR_ABT`: fetching the command at `CONS` aborted.
        Abt = 2,
        /// `CERROR_ATC_INV_SYNC`: an ATC invalidation completion timed out.
        AtcInvSync = 3,
    }
}

impl CmdqError {
    /// Decodes the error field of a `CMDQ_CONS` value; unknown codes give `None`.
    pub(crate) const fn from_cons(cons: u32) -> Option<Self> {
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        Self::from_raw(CONS_ERR.extract(cons as u64))
    }
}

/// The geometry of one queue.
///
/// # Invariants
///
/// `log2size` is at most [`LOG2SIZE_MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queue {
    /// log2 of the number of entries.
    log2size: u32,
}

impl Queue {
    /// Describes a queue of `2^log2size` entries.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Invalid`] if `log2size` is above [`LOG2SIZE_MAX`].
    pub(crate) const fn new(log2size: u32) -> Result<Self, Error> {
        if log2size > LOG2SIZE_MAX {
            return Err(Error::Invalid);
        }
        // INVARIANT: `log2size` was just checked.
        Ok(Self { log2size })
    }

    /// Returns log2 of the number of entries.
    pub(crate) const fn log2size(self) -> u32 {
        self.log2size
    }

    /// Returns the number of entries.
    pub(crate) const fn entries(self) -> u32 {
        1 << self.log2size
    }

    /// Returns the mask of the index and wrap bits.
    const fn wrap_index_mask(self) -> u32 {
        (self.entries() << 1) - 1
    }

    /// Returns the entry index of a `PROD` or `CONS` value.
    pub(crate) const fn index(self, p: u32) -> u32 {
        p & (self.entries() - 1)
    }

    /// Returns the wrap bit of a `PROD` or `CONS` value.
    pub(crate) const fn wrap(self, p: u32) -> bool {
        p & self.entries() != 0
    }

    /// Returns whether the queue is empty.
    pub(crate) const fn is_empty(self, prod: u32, cons: u32) -> bool {
        self.index(prod) == self.index(cons) && self.wrap(prod) == self.wrap(cons)
    }

    /// Returns whether the queue is full.
    pub(crate) const fn is_full(self, prod: u32, cons: u32) -> bool {
        self.index(prod) == self.index(cons) && self.wrap(prod) != self.wrap(cons)
    }

    /// Returns the number of entries between `cons` and `prod`.
    pub(crate) const fn used(self, prod: u32, cons: u32) -> u32 {
        let (p, c) = (self.index(prod), self.index(cons));
        if self.wrap(prod) == self.wrap(cons) {
            p.wrapping_sub(c)
        } else {
            self.entries().wrapping_sub(c.wrapping_sub(p))
        }
    }

    /// Returns the number of free entries.
    pub(crate) const fn space(self, prod: u32, cons: u32) -> u32 {
        self.entries().wrapping_sub(self.used(prod, cons))
    }

    /// Returns whether `n` more entries fit.
    pub(crate) const fn has_space(self, prod: u32, cons: u32, n: u32) -> bool {
        self.space(prod, cons) >= n
    }

    /// Advances a `PROD` or `CONS` value by `n` entries, keeping its overflow flag.
    pub(crate) const fn advance(self, p: u32, n: u32) -> u32 {
        let mask = self.wrap_index_mask();
        (p & OVERFLOW_FLAG) | ((p & mask).wrapping_add(n) & mask)
    }

    /// Returns whether the entry at `prod` has been consumed, `cons` having moved past it.
    pub(crate) const fn consumed(self, cons: u32, prod: u32) -> bool {
        let (c, p) = (self.index(cons), self.index(prod));
        if self.wrap(cons) == self.wrap(prod) {
            c > p
        } else {
            c <= p
        }
    }

    /// Returns whether `prod` reports an overflow that `cons` has not acknowledged yet.
    pub(crate) const fn overflowed(prod: u32, cons: u32) -> bool {
        (prod ^ cons) & OVERFLOW_FLAG != 0
    }

    /// Returns `cons` with the overflow of `prod` acknowledged.
    pub(crate) const fn ack_overflow(prod: u32, cons: u32) -> u32 {
        (cons & !OVERFLOW_FLAG) | (prod & OVERFLOW_FLAG)
    }

    /// Encodes the `*_BASE` register of a queue at `addr` whose entries are `2^entry_log2` bytes.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if `addr` is above 2^52 or not aligned to the size of the
    /// queue (and at least to 32 bytes), and [`Error::Invalid`] if `entry_log2` is above 6.
    pub(crate) fn base(
        self,
        addr: u64,
        entry_log2: u32,
        read_allocate: bool,
    ) -> Result<u64, Error> {
        if entry_log2 > 6 {
            return Err(Error::Invalid);
        }
        // At most 19 + 6 bits, well below 64.
        let align = 1u64 << (self.log2size + entry_log2).max(5);
        if addr & (align - 1) != 0 {
            return Err(Error::BadAddress);
        }
        let mut w = [0; 1];
        BASE_ADDR.set_addr(&mut w, addr)?;
        BASE_LOG2SIZE.set(&mut w, u64::from(self.log2size))?;
        BASE_RA.set_bool(&mut w, read_allocate);
        Ok(w[0])
    }
}
