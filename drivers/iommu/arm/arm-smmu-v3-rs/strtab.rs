// SPDX-License-Identifier: GPL-2.0

//! The stream table: one STE per StreamID, linear or two-level.
//!
//! A linear table holds `2^sid_bits` STEs, all initialised to abort. A two-level table holds
//! `2^(sid_bits - SPLIT)` level-1 descriptors, all invalid until a stream in their span is
//! configured (every access to an invalid span is terminated, and reported as
//! `C_BAD_STREAMID`).

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    io::io_write,
    prelude::*, //
};

use crate::{
    features::{
        Features,
        STRTAB_SPLIT, //
    },
    hw::{
        hitless::ENTRY_QWORDS,
        regs::{
            strtab_base,
            strtab_base_cfg,
            StrtabFmt, //
        },
        ste::Ste,
    },
};

/// The size of one level-1 descriptor, in 64-bit words.
const L1_DESC_QWORDS: usize = 1;

/// A stream table in coherent DMA memory.
pub(crate) struct StreamTable {
    fmt: StrtabFmt,
    sid_bits: u32,
    /// Linear: every STE. Two-level: the level-1 descriptors.
    base: Coherent<[u64]>,
}

impl StreamTable {
    /// Allocates and initialises the table the features call for.
    pub(crate) fn new(dev: &Device<Bound>, f: &Features) -> Result<Self> {
        let (entries, qwords) = match f.strtab {
            StrtabFmt::Linear => (1usize << f.sid_bits, ENTRY_QWORDS),
            StrtabFmt::TwoLevel => (1usize << (f.sid_bits - STRTAB_SPLIT), L1_DESC_QWORDS),
        };
        let words = entries.checked_mul(qwords).ok_or(EOVERFLOW)?;
        let base = Coherent::<u64>::zeroed_slice(dev, words, GFP_KERNEL)?;
        if f.strtab == StrtabFmt::Linear {
            // Zeroed level-1 descriptors are invalid already; linear STEs start as abort.
            let abort = Ste::abort();
            for sid in 0..entries {
                for (i, w) in abort.words().iter().enumerate() {
                    io_write!(&base, [try: sid * ENTRY_QWORDS + i], w.to_le());
                }
            }
        }
        Ok(Self {
            fmt: f.strtab,
            sid_bits: f.sid_bits,
            base,
        })
    }

    /// The values of `SMMU_STRTAB_BASE` and `SMMU_STRTAB_BASE_CFG`.
    pub(crate) fn base_regs(&self) -> Result<(u64, u32)> {
        let base = strtab_base(self.base.dma_address(), true)?;
        // CAST: StreamID widths are at most 32 bits; the split is a small constant.
        let (split, log2size) = (STRTAB_SPLIT as u8, self.sid_bits as u8);
        let cfg = match self.fmt {
            StrtabFmt::Linear => strtab_base_cfg(StrtabFmt::Linear, 0, log2size)?,
            StrtabFmt::TwoLevel => strtab_base_cfg(StrtabFmt::TwoLevel, split, log2size)?,
        };
        Ok((base, cfg))
    }
}
