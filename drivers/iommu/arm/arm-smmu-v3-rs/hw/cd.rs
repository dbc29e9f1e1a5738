// SPDX-License-Identifier: GPL-2.0

//! Context Descriptors (CD) and level-1 Context Descriptor table descriptors.
//!
//! A CD is 8 qwords. It holds the stage 1 translation setup of one SubstreamID: the translation
//! table base and control (the equivalent of `TTBR0_EL1` and `TCR_EL1`), the ASID and `MAIR`,
//! and the fault behaviour of the context.

use crate::hw::{
    attr::{
        Cacheability,
        Granule,
        Shareability, //
    },
    field::{
        Bit,
        Field, //
    },
    hitless::{
        EntryFormat,
        EntryWords,
        ENTRY_QWORDS, //
    },
    ids::Ssid,
    ste::S1Fmt,
    Error,
};

/// `T0SZ`: the TTB0 input region is `2^(64 - T0SZ)` bytes.
pub(crate) const T0SZ: Field<0, 5, 0> = Field;
/// `TG0`: the TTB0 translation granule, see [`Granule`].
pub(crate) const TG0: Field<0, 7, 6> = Field;
/// `IR0`: inner cacheability of TTB0 table walks.
pub(crate) const IR0: Field<0, 9, 8> = Field;
/// `OR0`: outer cacheability of TTB0 table walks.
pub(crate) const OR0: Field<0, 11, 10> = Field;
/// `SH0`: shareability of TTB0 table walks.
pub(crate) const SH0: Field<0, 13, 12> = Field;
/// `EPD0`: TTB0 walks are disabled; addresses in its region fault.
pub(crate) const EPD0: Bit<0, 14> = Field;
/// `ENDI`: the translation tables are big-endian.
pub(crate) const ENDI: Bit<0, 15> = Field;
/// `EPD1`: TTB1 walks are disabled.
pub(crate) const EPD1: Bit<0, 30> = Field;
/// `V`: the descriptor is valid.
pub(crate) const V: Bit<0, 31> = Field;
/// `IPS`: intermediate physical address size, encoded as `IDR5.OAS`.
pub(crate) const IPS: Field<0, 34, 32> = Field;
/// `AFFD`: access flag faults are disabled.
pub(crate) const AFFD: Bit<0, 35> = Field;
/// `TBI0`: top byte ignore for the TTB0 region.
pub(crate) const TBI0: Bit<0, 38> = Field;
/// `AA64`: the tables use the AArch64 format.
pub(crate) const AA64: Bit<0, 41> = Field;
/// `HD`: hardware update of the dirty state.
pub(crate) const HD: Bit<0, 42> = Field;
/// `HA`: hardware update of the access flag.
pub(crate) const HA: Bit<0, 43> = Field;
/// `S`: faults stall the transaction.
pub(crate) const S: Bit<0, 44> = Field;
/// `R`: faults are recorded in the event queue.
pub(crate) const R: Bit<0, 45> = Field;
/// `A`: terminated transactions are aborted rather than completed with RAZ/WI.
pub(crate) const A: Bit<0, 46> = Field;
/// `ASET`: the ASID is not shared with the CPU (no broadcast TLB maintenance).
pub(crate) const ASET: Bit<0, 47> = Field;
/// `ASID`: the address space identifier.
pub(crate) const ASID: Field<0, 63, 48> = Field;

/// `HAFT`: hardware managed access flag for table descriptors.
pub(crate) const HAFT: Bit<1, 3> = Field;
/// `TTB0`: address of the TTB0 translation table, bits 51:4.
pub(crate) const TTB0: Field<1, 51, 4> = Field;

/// `MAIR0` and `MAIR1`: the memory attribute indirection register.
pub(crate) const MAIR: Field<3, 63, 0> = Field;

/// `L1CD.V`: the level-2 table is valid.
pub(crate) const L1_V: Bit<0, 0> = Field;
/// `L1CD.L2Ptr`: address of the level-2 table, bits 51:12.
pub(crate) const L1_L2PTR: Field<0, 51, 12> = Field;

/// The TTB0 translation table of a Context Descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ttb0 {
    /// Physical address of the table, 16-byte aligned.
    pub(crate) addr: u64,
    /// `T0SZ`, at most 63.
    pub(crate) t0sz: u8,
    /// Translation granule.
    pub(crate) granule: Granule,
    /// Inner cacheability of table walks.
    pub(crate) inner_cache: Cacheability,
    /// Outer cacheability of table walks.
    pub(crate) outer_cache: Cacheability,
    /// Shareability of table walks.
    pub(crate) shareability: Shareability,
}

/// The parameters of a valid Context Descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CdCfg {
    /// The ASID.
    pub(crate) asid: u16,
    /// The TTB0 table, or `None` to make every access fault (`EPD0`).
    pub(crate) ttb0: Option<Ttb0>,
    /// `IPS`, at most 7.
    pub(crate) ips: u8,
    /// The tables are big-endian.
    pub(crate) big_endian: bool,
    /// Disable access flag faults.
    pub(crate) affd: bool,
    /// Top byte ignore for the TTB0 region.
    pub(crate) tbi0: bool,
    /// Hardware access flag updates.
    pub(crate) hw_access: bool,
    /// Hardware dirty state updates; needs `hw_access`.
    pub(crate) hw_dirty: bool,
    /// Hardware access flag updates in table descriptors.
    pub(crate) haft: bool,
    /// Faults stall.
    pub(crate) stall: bool,
    /// Faults are recorded.
    pub(crate) record: bool,
    /// Terminated transactions are aborted.
    pub(crate) abort: bool,
    /// The ASID is private to the SMMU.
    pub(crate) aset: bool,
    /// The `MAIR` value.
    pub(crate) mair: u64,
}

/// A Context Descriptor, in CPU byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cd(EntryWords);

impl Cd {
    /// An invalid (all zero) Context Descriptor.
    pub(crate) const INVALID: Self = Self([0; ENTRY_QWORDS]);

    /// Wraps raw qwords.
    pub(crate) const fn from_words(words: EntryWords) -> Self {
        Self(words)
    }

    /// Returns the raw qwords.
    pub(crate) const fn words(&self) -> &EntryWords {
        &self.0
    }

    /// Builds a valid AArch64 Context Descriptor with TTB1 walks disabled.
    ///
    /// # Errors
    ///
    /// Returns an error if a value does not fit its field, the table address is misaligned or
    /// too large, or `hw_dirty` is requested without `hw_access`.
    pub(crate) fn new(cfg: &CdCfg) -> Result<Self, Error> {
        if cfg.hw_dirty && !cfg.hw_access {
            return Err(Error::Invalid);
        }
        let mut w = [0; ENTRY_QWORDS];
        V.set_bool(&mut w, true);
        AA64.set_bool(&mut w, true);
        EPD1.set_bool(&mut w, true);
        match &cfg.ttb0 {
            Some(ttb0) => {
                T0SZ.set(&mut w, u64::from(ttb0.t0sz))?;
                TG0.set(&mut w, ttb0.granule.raw())?;
                IR0.set(&mut w, ttb0.inner_cache.raw())?;
                OR0.set(&mut w, ttb0.outer_cache.raw())?;
                SH0.set(&mut w, ttb0.shareability.raw())?;
                TTB0.set_addr(&mut w, ttb0.addr)?;
            }
            None => EPD0.set_bool(&mut w, true),
        }
        ENDI.set_bool(&mut w, cfg.big_endian);
        IPS.set(&mut w, u64::from(cfg.ips))?;
        AFFD.set_bool(&mut w, cfg.affd);
        TBI0.set_bool(&mut w, cfg.tbi0);
        HA.set_bool(&mut w, cfg.hw_access);
        HD.set_bool(&mut w, cfg.hw_dirty);
        HAFT.set_bool(&mut w, cfg.haft);
        S.set_bool(&mut w, cfg.stall);
        R.set_bool(&mut w, cfg.record);
        A.set_bool(&mut w, cfg.abort);
        ASET.set_bool(&mut w, cfg.aset);
        ASID.set_u16(&mut w, cfg.asid);
        MAIR.set(&mut w, cfg.mair)?;
        Ok(Self(w))
    }

    /// Returns whether `V` is set.
    pub(crate) const fn is_valid(&self) -> bool {
        V.is_set(&self.0)
    }

    /// Returns the ASID.
    pub(crate) const fn asid(&self) -> u16 {
        // CAST: The field is 16 bits wide.
        ASID.get(&self.0) as u16
    }

    /// Returns the TTB0 table address, or `None` when TTB0 walks are disabled.
    pub(crate) const fn ttb0(&self) -> Option<u64> {
        if EPD0.is_set(&self.0) {
            None
        } else {
            Some(TTB0.get_addr(&self.0))
        }
    }
}

impl EntryFormat for Cd {
    /// Returns the CD bits the SMMU reads.
    ///
    /// A valid CD is treated as fully used, except that the TTB0 walk parameters are ignored
    /// while `EPD0` is set.
    fn used_bits(ent: &EntryWords) -> EntryWords {
        let mut used = [0; ENTRY_QWORDS];
        V.mark(&mut used);
        if !V.is_set(ent) {
            return used;
        }
        used = [u64::MAX; ENTRY_QWORDS];
        if EPD0.is_set(ent) {
            T0SZ.unmark(&mut used);
            TG0.unmark(&mut used);
            IR0.unmark(&mut used);
            OR0.unmark(&mut used);
            SH0.unmark(&mut used);
            TTB0.unmark(&mut used);
        }
        used
    }
}

/// Encodes a level-1 Context Descriptor table descriptor.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `l2ptr` is not a 4KB aligned address below 2^52.
pub(crate) fn l1_descriptor(l2ptr: Option<u64>) -> Result<u64, Error> {
    let mut w = [0; 1];
    if let Some(addr) = l2ptr {
        L1_L2PTR.set_addr(&mut w, addr)?;
        L1_V.set_bool(&mut w, true);
    }
    Ok(w[0])
}

/// log2 of the CDs in a level-2 table of a two-level CD table: 1024 CDs of 64 bytes, the 64KB
/// format ([`S1Fmt::TwoLevel64K`]), as the C driver uses.
pub(crate) const L2_SPLIT: u32 = 10;

/// Where the CD of a SubstreamID sits in a table of some [`CdLayout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CdSlot {
    /// Index of the CD in a linear table.
    Linear(usize),
    /// Index of the level-1 descriptor, and of the CD in the level-2 table it points to.
    TwoLevel {
        /// The level-1 descriptor.
        l1: usize,
        /// The CD in the level-2 table.
        l2: usize,
    },
}

/// The layout of one device's Context Descriptor table: how many SubstreamIDs it covers, and
/// whether one linear table or two levels hold them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CdLayout {
    /// [`S1Fmt::Linear`] or [`S1Fmt::TwoLevel64K`].
    fmt: S1Fmt,
    /// At most 20.
    cd_max: u8,
}

impl CdLayout {
    /// The layout of a device without SubstreamIDs: one linear CD.
    pub(crate) const SINGLE: Self = Self {
        fmt: S1Fmt::Linear,
        cd_max: 0,
    };

    /// The layout for a device that can issue `dev_ssid_bits` bits of SubstreamID (0: none) on
    /// an SMMU with `smmu_ssid_bits` (`IDR1.SSIDSIZE`) and, if `two_level` (`IDR0.CD2L`),
    /// two-level CD tables.
    ///
    /// The table covers the narrower of the two widths. It is linear while that fits one
    /// level-2 table (2^[`L2_SPLIT`] CDs) or the SMMU has no two-level tables; otherwise it has
    /// two levels of the 64KB format, whose level-2 tables are allocated as SubstreamIDs are
    /// used.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Invalid`] if either width is above the architecture's 20 bits.
    pub(crate) fn new(
        smmu_ssid_bits: u32,
        two_level: bool,
        dev_ssid_bits: u32,
    ) -> Result<Self, Error> {
        if smmu_ssid_bits > 20 || dev_ssid_bits > 20 {
            return Err(Error::Invalid);
        }
        let bits = smmu_ssid_bits.min(dev_ssid_bits);
        let fmt = if two_level && bits > L2_SPLIT {
            S1Fmt::TwoLevel64K
        } else {
            S1Fmt::Linear
        };
        // CAST: `bits` is at most 20.
        Ok(Self {
            fmt,
            cd_max: bits as u8,
        })
    }

    /// The table format, for `STE.S1Fmt`.
    pub(crate) const fn fmt(&self) -> S1Fmt {
        self.fmt
    }

    /// log2 of the SubstreamIDs covered, for `STE.S1CDMax`.
    pub(crate) const fn cd_max(&self) -> u8 {
        self.cd_max
    }

    /// The number of SubstreamIDs the table covers.
    pub(crate) const fn ssids(&self) -> u32 {
        1 << self.cd_max
    }

    /// The number of entries of the first allocation: CDs of a linear table, level-1
    /// descriptors of a two-level one.
    pub(crate) const fn l1_entries(&self) -> usize {
        match self.fmt {
            // CAST: At most 2^20 entries.
            S1Fmt::TwoLevel64K => (self.ssids() >> L2_SPLIT) as usize,
            _ => self.ssids() as usize,
        }
    }

    /// The number of CDs in each level-2 table; 0 for a linear table.
    pub(crate) const fn l2_entries(&self) -> usize {
        match self.fmt {
            S1Fmt::TwoLevel64K => 1 << L2_SPLIT,
            _ => 0,
        }
    }

    /// Where the CD of `ssid` is.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `ssid` is beyond the table.
    pub(crate) fn locate(&self, ssid: Ssid) -> Result<CdSlot, Error> {
        let raw = ssid.get();
        if raw >= self.ssids() {
            return Err(Error::Overflow);
        }
        // CAST: `raw` is below 2^20.
        let index = raw as usize;
        Ok(match self.fmt {
            S1Fmt::TwoLevel64K => CdSlot::TwoLevel {
                l1: index >> L2_SPLIT,
                l2: index & ((1 << L2_SPLIT) - 1),
            },
            _ => CdSlot::Linear(index),
        })
    }
}
