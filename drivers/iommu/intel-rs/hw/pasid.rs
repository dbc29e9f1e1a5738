// SPDX-License-Identifier: GPL-2.0

//! Scalable-mode PASID directory and PASID table entries.
//!
//! A scalable-mode context entry points to a PASID directory of 64-bit entries indexed by
//! PASID bits 19:6; each present directory entry points to a 4KB PASID table of 64 entries of
//! 512 bits indexed by PASID bits 5:0. A PASID table entry selects the translation with its
//! `PGTT` field: first stage only, second stage only, nested, or pass-through.

use crate::hw::{
    field::{
        encoding,
        Bit,
        Field, //
    },
    ids::DomainId,
    regs::Agaw,
    Error,
};

/// The number of qwords of a PASID table entry.
pub(crate) const PASID_QWORDS: usize = 8;
/// The number of entries of a PASID table (one 4KB page).
pub(crate) const PASID_TABLE_ENTRIES: usize = 64;

/// `P` of both entries.
const P: Bit<0, 0> = Field;
/// `FPD` of both entries: fault processing disable.
const FPD: Bit<0, 1> = Field;
/// PASID directory entry `SMPTBLPTR`.
const DIR_TABLE: Field<0, 63, 12> = Field;

/// A present PASID directory entry for the PASID table at `table`.
///
/// # Errors
///
/// Returns [`Error::BadAddress`] if `table` is not 4KB aligned.
pub(crate) const fn dir_entry(table: u64, fpd: bool) -> Result<u64, Error> {
    let mut w = [0];
    if let Err(e) = DIR_TABLE.set_addr(&mut w, table) {
        return Err(e);
    }
    P.set_bool(&mut w, true);
    FPD.set_bool(&mut w, fpd);
    Ok(w[0])
}

/// The PASID table a directory entry points to, `None` if it is not present.
pub(crate) const fn dir_entry_table(entry: u64) -> Option<u64> {
    let w = [entry];
    if P.is_set(&w) {
        Some(DIR_TABLE.get_addr(&w))
    } else {
        None
    }
}

/// `AW`: the second-stage address width.
const AW: Field<0, 4, 2> = Field;
/// `PGTT`: PASID granular translation type.
const PGTT: Field<0, 8, 6> = Field;
/// `SSADE`: second-stage accessed/dirty enable.
const SSADE: Bit<0, 9> = Field;
/// `SSPTPTR`: second-stage table root.
const SSPTPTR: Field<0, 63, 12> = Field;
/// `DID`.
const DID: Field<1, 15, 0> = Field;
/// `PWSNP`: page-walk snoop.
const PWSNP: Bit<1, 23> = Field;
/// `PGSNP`: page snoop, forces every access to snoop.
const PGSNP: Bit<1, 24> = Field;
/// `SRE`: supervisor requests enable.
const SRE: Bit<2, 0> = Field;
/// `FSPM`: first-stage paging mode (0: 4-level, 1: 5-level).
const FSPM: Field<2, 3, 2> = Field;
/// `WPE`: write protect enable for supervisor requests.
const WPE: Bit<2, 4> = Field;
/// `EAFE`: extended accessed flag enable.
const EAFE: Bit<2, 7> = Field;
/// `FSPTPTR`: first-stage table root.
const FSPTPTR: Field<2, 63, 12> = Field;

encoding! {
    /// `PGTT`: PASID granular translation type.
    pub(crate) enum Pgtt {
        /// First stage only.
        FirstStage = 1,
        /// Second stage only.
        SecondStage = 2,
        /// First stage nested on second stage.
        Nested = 3,
        /// Pass-through.
        PassThrough = 4,
    }
}

/// The first-stage half of a PASID table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FirstStage {
    /// Table root (`FSPTPTR`).
    pub(crate) table: u64,
    /// 5-level paging (`FSPM` = 1) instead of 4-level.
    pub(crate) five_level: bool,
    /// Supervisor requests enable (`SRE`).
    pub(crate) sre: bool,
    /// Write protect enable (`WPE`); only meaningful with `sre`.
    pub(crate) wpe: bool,
    /// Extended accessed flag enable (`EAFE`).
    pub(crate) eafe: bool,
}

impl FirstStage {
    /// A first-stage table at `table` with the kernel's defaults: no supervisor requests.
    pub(crate) const fn new(table: u64, five_level: bool) -> Self {
        Self {
            table,
            five_level,
            sre: false,
            wpe: false,
            eafe: false,
        }
    }
}

/// The second-stage half of a PASID table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SecondStage {
    /// Table root (`SSPTPTR`).
    pub(crate) table: u64,
    /// Accessed/dirty tracking (`SSADE`).
    pub(crate) ssade: bool,
}

/// What a PASID table entry translates with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Translation {
    /// First stage only.
    FirstStage(FirstStage),
    /// Second stage only.
    SecondStage(SecondStage),
    /// First stage nested on second stage.
    Nested(FirstStage, SecondStage),
    /// Pass-through.
    PassThrough,
}

/// A present scalable-mode PASID table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PasidEntry {
    /// Domain identifier (`DID`), which tags the IOTLB entries made through this entry.
    pub(crate) did: DomainId,
    /// Address width (`AW`). The C driver writes it for every translation type: the second
    /// stage's width, else the unit's AGAW.
    pub(crate) aw: Agaw,
    /// The translation.
    pub(crate) translation: Translation,
    /// Page-walk snoop (`PWSNP`).
    pub(crate) pwsnp: bool,
    /// Page snoop (`PGSNP`).
    pub(crate) pgsnp: bool,
    /// Fault processing disable (`FPD`).
    pub(crate) fpd: bool,
}

/// Writes the first-stage fields.
const fn set_first(w: &mut [u64; PASID_QWORDS], fs: &FirstStage) -> Result<(), Error> {
    if fs.wpe && !fs.sre {
        return Err(Error::UnusedBitsSet);
    }
    if let Err(e) = FSPTPTR.set_addr(w, fs.table) {
        return Err(e);
    }
    FSPM.set_truncated(w, if fs.five_level { 1 } else { 0 });
    SRE.set_bool(w, fs.sre);
    WPE.set_bool(w, fs.wpe);
    EAFE.set_bool(w, fs.eafe);
    Ok(())
}

/// Writes the second-stage fields.
const fn set_second(w: &mut [u64; PASID_QWORDS], ss: &SecondStage) -> Result<(), Error> {
    if let Err(e) = SSPTPTR.set_addr(w, ss.table) {
        return Err(e);
    }
    SSADE.set_bool(w, ss.ssade);
    Ok(())
}

/// Reads the first-stage fields.
const fn get_first(w: &[u64; PASID_QWORDS]) -> Result<FirstStage, Error> {
    let five_level = match FSPM.get(w) {
        0 => false,
        1 => true,
        _ => return Err(Error::Invalid),
    };
    Ok(FirstStage {
        table: FSPTPTR.get_addr(w),
        five_level,
        sre: SRE.is_set(w),
        wpe: WPE.is_set(w),
        eafe: EAFE.is_set(w),
    })
}

/// Reads the second-stage fields.
const fn get_second(w: &[u64; PASID_QWORDS]) -> SecondStage {
    SecondStage {
        table: SSPTPTR.get_addr(w),
        ssade: SSADE.is_set(w),
    }
}

impl PasidEntry {
    /// A not-present entry: all zero, or only `FPD` set so that DMA through the PASID
    /// between teardown and reuse is not reported (the C driver's
    /// `pasid_clear_entry_with_fpd()`).
    pub(crate) const fn cleared(fpd: bool) -> [u64; PASID_QWORDS] {
        let mut w = [0; PASID_QWORDS];
        FPD.set_bool(&mut w, fpd);
        w
    }

    /// Encodes the entry, present.
    ///
    /// # Errors
    ///
    /// Returns [`Error::BadAddress`] if a table root is not 4KB aligned and
    /// [`Error::UnusedBitsSet`] if `wpe` is set without `sre`.
    pub(crate) const fn encode(&self) -> Result<[u64; PASID_QWORDS], Error> {
        let mut w = [0; PASID_QWORDS];
        let pgtt = match &self.translation {
            Translation::FirstStage(fs) => {
                if let Err(e) = set_first(&mut w, fs) {
                    return Err(e);
                }
                Pgtt::FirstStage
            }
            Translation::SecondStage(ss) => {
                if let Err(e) = set_second(&mut w, ss) {
                    return Err(e);
                }
                Pgtt::SecondStage
            }
            Translation::Nested(fs, ss) => {
                if let Err(e) = set_first(&mut w, fs) {
                    return Err(e);
                }
                if let Err(e) = set_second(&mut w, ss) {
                    return Err(e);
                }
                Pgtt::Nested
            }
            Translation::PassThrough => Pgtt::PassThrough,
        };
        P.set_bool(&mut w, true);
        FPD.set_bool(&mut w, self.fpd);
        AW.set_truncated(&mut w, self.aw.raw());
        PGTT.set_truncated(&mut w, pgtt.raw());
        DID.set_u16(&mut w, self.did.raw());
        PWSNP.set_bool(&mut w, self.pwsnp);
        PGSNP.set_bool(&mut w, self.pgsnp);
        Ok(w)
    }

    /// Decodes an entry; `None` if it is not present.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Invalid`] for a reserved `PGTT`, `AW` or `FSPM` encoding.
    pub(crate) const fn decode(w: &[u64; PASID_QWORDS]) -> Result<Option<Self>, Error> {
        if !P.is_set(w) {
            return Ok(None);
        }
        let (Some(pgtt), Some(aw)) = (Pgtt::from_raw(PGTT.get(w)), Agaw::from_raw(AW.get(w)))
        else {
            return Err(Error::Invalid);
        };
        let translation = match pgtt {
            Pgtt::FirstStage => match get_first(w) {
                Ok(fs) => Translation::FirstStage(fs),
                Err(e) => return Err(e),
            },
            Pgtt::SecondStage => Translation::SecondStage(get_second(w)),
            Pgtt::Nested => match get_first(w) {
                Ok(fs) => Translation::Nested(fs, get_second(w)),
                Err(e) => return Err(e),
            },
            Pgtt::PassThrough => Translation::PassThrough,
        };
        Ok(Some(Self {
            // CAST: The field is 16 bits wide.
            did: DomainId::new(DID.get(w) as u16),
            aw,
            translation,
            pwsnp: PWSNP.is_set(w),
            pgsnp: PGSNP.is_set(w),
            fpd: FPD.is_set(w),
        }))
    }
}
