// SPDX-License-Identifier: GPL-2.0

//! Root and context entries, legacy and scalable mode.
//!
//! The root table has 256 entries of 128 bits, indexed by bus number. In legacy mode a root
//! entry points to one context table of 256 128-bit context entries indexed by devfn. In
//! scalable mode it points to two: the lower table for devfn 0-127 and the upper one for devfn
//! 128-255, each of 128 256-bit scalable-mode context entries (the entry at devfn `d` is at
//! index `d % 128` of its table). Entries are values made of CPU-order `u64` words; the driver
//! writes them to memory little-endian.

use crate::hw::{
    field::{
        encoding,
        Bit,
        Field, //
    },
    ids::{
        DomainId,
        Pasid, //
    },
    regs::Agaw,
    Error,
};

/// The number of qwords of a root entry (either mode) and of a legacy context entry.
pub(crate) const ROOT_QWORDS: usize = 2;
/// The number of qwords of a legacy context entry.
pub(crate) const CONTEXT_QWORDS: usize = 2;
/// The number of qwords of a scalable-mode context entry.
pub(crate) const SM_CONTEXT_QWORDS: usize = 4;

/// Root entry `P` (legacy) or `LP` (scalable mode, lower table present).
const ROOT_LP: Bit<0, 0> = Field;
/// Root entry `CTP` (legacy) or `LCTP` (scalable mode).
const ROOT_LCTP: Field<0, 63, 12> = Field;
/// Scalable-mode root entry `UP`: upper table present.
const ROOT_UP: Bit<1, 0> = Field;
/// Scalable-mode root entry `UCTP`.
const ROOT_UCTP: Field<1, 63, 12> = Field;

/// A root entry: the context table(s) of one bus.
///
/// In legacy mode only `lower` is used, and covers every devfn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RootEntry {
    /// The context table of devfn 0-127 (scalable mode) or of the whole bus (legacy).
    pub(crate) lower: Option<u64>,
    /// The context table of devfn 128-255, scalable mode only.
    pub(crate) upper: Option<u64>,
}

impl RootEntry {
    /// Encodes the entry.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if a table address is not 4KB aligned.
    pub(crate) const fn encode(&self) -> Result<[u64; ROOT_QWORDS], Error> {
        let mut w = [0; ROOT_QWORDS];
        if let Some(t) = self.lower {
            if let Err(e) = ROOT_LCTP.set_addr(&mut w, t) {
                return Err(e);
            }
            ROOT_LP.set_bool(&mut w, true);
        }
        if let Some(t) = self.upper {
            if let Err(e) = ROOT_UCTP.set_addr(&mut w, t) {
                return Err(e);
            }
            ROOT_UP.set_bool(&mut w, true);
        }
        Ok(w)
    }

    /// Decodes an entry; in legacy mode the upper qword is reserved and ignored.
    pub(crate) const fn decode(w: &[u64; ROOT_QWORDS], scalable: bool) -> Self {
        Self {
            lower: if ROOT_LP.is_set(w) {
                Some(ROOT_LCTP.get_addr(w))
            } else {
                None
            },
            upper: if scalable && ROOT_UP.is_set(w) {
                Some(ROOT_UCTP.get_addr(w))
            } else {
                None
            },
        }
    }

    /// The context table holding `devfn`, and the entry's index in it.
    pub(crate) const fn locate(&self, devfn: u8, scalable: bool) -> (Option<u64>, usize) {
        // CAST: Widening `u8` to `usize` is lossless.
        let d = devfn as usize;
        if scalable && d >= 128 {
            (self.upper, d - 128)
        } else {
            (self.lower, d)
        }
    }
}

/// Context entry `P`.
const CTX_P: Bit<0, 0> = Field;
/// Context entry `FPD`: fault processing disable.
const CTX_FPD: Bit<0, 1> = Field;
/// Legacy context entry `TT`.
const CTX_TT: Field<0, 3, 2> = Field;
/// Legacy context entry `SSPTPTR` (formerly `SLPTPTR`).
const CTX_SSPTPTR: Field<0, 63, 12> = Field;
/// Legacy context entry `AW`.
const CTX_AW: Field<1, 2, 0> = Field;
/// Legacy context entry `DID`.
const CTX_DID: Field<1, 23, 8> = Field;

encoding! {
    /// Legacy context entry `TT`: the translation type.
    pub(crate) enum TranslationType {
        /// Untranslated requests are translated by the second-stage table; translated and
        /// translation requests are blocked.
        Untranslated = 0,
        /// As `Untranslated`, and the device may use ATS (device-TLB).
        DevTlb = 1,
        /// Untranslated requests pass through (needs `ECAP.PT`).
        PassThrough = 2,
    }
}

/// A legacy-mode context entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ContextEntry {
    /// Domain identifier (`DID`).
    pub(crate) did: DomainId,
    /// Translation type (`TT`).
    pub(crate) tt: TranslationType,
    /// Second-stage table root (`SSPTPTR`); must be `None` for pass-through.
    pub(crate) table: Option<u64>,
    /// Address width of the second-stage table (`AW`). For pass-through the C driver writes
    /// the unit's widest supported AGAW here.
    pub(crate) aw: Agaw,
    /// Fault processing disable (`FPD`).
    pub(crate) fpd: bool,
}

impl ContextEntry {
    /// Encodes the entry, present.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if the table address is misaligned,
    /// [`Error::Invalid`] if a translating entry has no table, and [`Error::UnusedBitsSet`] if a
    /// pass-through entry has one.
    pub(crate) const fn encode(&self) -> Result<[u64; CONTEXT_QWORDS], Error> {
        let mut w = [0; CONTEXT_QWORDS];
        match (self.tt, self.table) {
            (TranslationType::PassThrough, Some(_)) => return Err(Error::UnusedBitsSet),
            (TranslationType::PassThrough, None) => {}
            (_, None) => return Err(Error::Invalid),
            (_, Some(t)) => {
                if let Err(e) = CTX_SSPTPTR.set_addr(&mut w, t) {
                    return Err(e);
                }
            }
        }
        CTX_P.set_bool(&mut w, true);
        CTX_FPD.set_bool(&mut w, self.fpd);
        CTX_TT.set_truncated(&mut w, self.tt.raw());
        CTX_AW.set_truncated(&mut w, self.aw.raw());
        CTX_DID.set_u16(&mut w, self.did.raw());
        Ok(w)
    }

    /// Decodes an entry; `None` if it is not present.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Invalid`] for a reserved `TT` or `AW` encoding.
    pub(crate) const fn decode(w: &[u64; CONTEXT_QWORDS]) -> Result<Option<Self>, Error> {
        if !CTX_P.is_set(w) {
            return Ok(None);
        }
        let (Some(tt), Some(aw)) = (
            TranslationType::from_raw(CTX_TT.get(w)),
            Agaw::from_raw(CTX_AW.get(w)),
        ) else {
            return Err(Error::Invalid);
        };
        Ok(Some(Self {
            // CAST: The field is 16 bits wide.
            did: DomainId::new(CTX_DID.get(w) as u16),
            tt,
            table: match tt {
                TranslationType::PassThrough => None,
                _ => Some(CTX_SSPTPTR.get_addr(w)),
            },
            aw,
            fpd: CTX_FPD.is_set(w),
        }))
    }
}

/// Scalable-mode context entry `DTE`: device-TLB enable.
const SMCTX_DTE: Bit<0, 2> = Field;
/// Scalable-mode context entry `PASIDE`: requests with a PASID are allowed.
const SMCTX_PASIDE: Bit<0, 3> = Field;
/// Scalable-mode context entry `PRE`: page requests enable.
const SMCTX_PRE: Bit<0, 4> = Field;
/// Scalable-mode context entry `PDTS`: the PASID directory has `2^(PDTS + 7)` entries.
const SMCTX_PDTS: Field<0, 11, 9> = Field;
/// Scalable-mode context entry `PASIDDIRPTR`.
const SMCTX_PASIDDIRPTR: Field<0, 63, 12> = Field;
/// Scalable-mode context entry `RID_PASID`: the PASID requests without a PASID use.
const SMCTX_RID_PASID: Field<1, 19, 0> = Field;
/// Scalable-mode context entry `RID_PRIV`: requests without a PASID are supervisor requests.
const SMCTX_RID_PRIV: Bit<1, 20> = Field;

/// The largest `PDTS`: a directory of 2^14 entries covers the 20-bit PASID space.
pub(crate) const PDTS_MAX: u8 = 7;

/// A scalable-mode context entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SmContextEntry {
    /// The PASID directory (`PASIDDIRPTR`).
    pub(crate) pasid_dir: u64,
    /// PASID directory size: `2^(pdts + 7)` entries (`PDTS`).
    pub(crate) pdts: u8,
    /// The PASID that requests without a PASID are looked up with (`RID_PASID`).
    pub(crate) rid_pasid: Pasid,
    /// Requests without a PASID are supervisor requests (`RID_PRIV`).
    pub(crate) rid_priv: bool,
    /// Device-TLB enable (`DTE`).
    pub(crate) dte: bool,
    /// Requests with a PASID are allowed (`PASIDE`).
    pub(crate) paside: bool,
    /// Page requests enable (`PRE`).
    pub(crate) pre: bool,
    /// Fault processing disable (`FPD`).
    pub(crate) fpd: bool,
}

impl SmContextEntry {
    /// The `PDTS` of a directory of `entries` entries (a power of two, 128 to 2^14).
    pub(crate) const fn pdts_for(entries: usize) -> Option<u8> {
        if !entries.is_power_of_two() || entries < 128 {
            return None;
        }
        let pdts = entries.trailing_zeros() - 7;
        if pdts > PDTS_MAX as u32 {
            None
        } else {
            // CAST: `pdts` is at most 7.
            Some(pdts as u8)
        }
    }

    /// The number of PASID directory entries of this entry's `PDTS`, `None` above
    /// [`PDTS_MAX`].
    pub(crate) const fn dir_entries(&self) -> Option<usize> {
        if self.pdts > PDTS_MAX {
            None
        } else {
            // CAST: Widening `u8` to `u32` is lossless; `From` is not usable in a `const fn`.
            Some(1 << (self.pdts as u32 + 7))
        }
    }

    /// Encodes the entry, present.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if the directory is not 4KB aligned and
    /// [`Error::Overflow`] if `pdts` is above [`PDTS_MAX`].
    pub(crate) const fn encode(&self) -> Result<[u64; SM_CONTEXT_QWORDS], Error> {
        let mut w = [0; SM_CONTEXT_QWORDS];
        if let Err(e) = SMCTX_PASIDDIRPTR.set_addr(&mut w, self.pasid_dir) {
            return Err(e);
        }
        // CAST: Widening `u8` to `u64` is lossless; `From` is not usable in a `const fn`.
        if let Err(e) = SMCTX_PDTS.set(&mut w, self.pdts as u64) {
            return Err(e);
        }
        CTX_P.set_bool(&mut w, true);
        CTX_FPD.set_bool(&mut w, self.fpd);
        SMCTX_DTE.set_bool(&mut w, self.dte);
        SMCTX_PASIDE.set_bool(&mut w, self.paside);
        SMCTX_PRE.set_bool(&mut w, self.pre);
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        SMCTX_RID_PASID.set_truncated(&mut w, self.rid_pasid.raw() as u64);
        SMCTX_RID_PRIV.set_bool(&mut w, self.rid_priv);
        Ok(w)
    }

    /// Decodes an entry; `None` if it is not present.
    pub(crate) const fn decode(w: &[u64; SM_CONTEXT_QWORDS]) -> Option<Self> {
        if !CTX_P.is_set(w) {
            return None;
        }
        // CAST: The field is 20 bits wide; `Pasid::new` cannot fail.
        let rid_pasid = match Pasid::new(SMCTX_RID_PASID.get(w) as u32) {
            Ok(p) => p,
            Err(_) => return None,
        };
        Some(Self {
            pasid_dir: SMCTX_PASIDDIRPTR.get_addr(w),
            // CAST: The field is 3 bits wide.
            pdts: SMCTX_PDTS.get(w) as u8,
            rid_pasid,
            rid_priv: SMCTX_RID_PRIV.is_set(w),
            dte: SMCTX_DTE.is_set(w),
            paside: SMCTX_PASIDE.is_set(w),
            pre: SMCTX_PRE.is_set(w),
            fpd: CTX_FPD.is_set(w),
        })
    }
}
