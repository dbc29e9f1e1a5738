// SPDX-License-Identifier: GPL-2.0

//! Identifiers shared by several structures.

use core::fmt;

use crate::hw::Error;

/// A domain identifier (`DID`), 16 bits wide in every structure. How many are usable depends on
/// `CAP.ND`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DomainId(u16);

impl DomainId {
    /// A domain identifier.
    pub(crate) const fn new(raw: u16) -> Self {
        Self(raw)
    }

    /// The raw value.
    pub(crate) const fn raw(self) -> u16 {
        self.0
    }
}

/// A process address space identifier, 20 bits wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pasid(u32);

impl Pasid {
    /// The number of PASID bits the architecture defines.
    pub(crate) const BITS: u32 = 20;
    /// The PASID the kernel uses for requests without a PASID (`IOMMU_NO_PASID`).
    pub(crate) const NONE: Self = Self(0);

    /// A PASID.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `raw` is wider than 20 bits.
    pub(crate) const fn new(raw: u32) -> Result<Self, Error> {
        if raw >> Self::BITS != 0 {
            Err(Error::Overflow)
        } else {
            Ok(Self(raw))
        }
    }

    /// The raw value.
    pub(crate) const fn raw(self) -> u32 {
        self.0
    }

    /// The PASID directory index (bits 19:6) and the PASID table index (bits 5:0).
    pub(crate) const fn split(self) -> (usize, usize) {
        // CAST: Widening `u32` to `usize` is lossless on every architecture the driver runs on.
        ((self.0 >> 6) as usize, (self.0 & 0x3f) as usize)
    }
}

/// A PCI requester ID (source-id): bus in bits 15:8, device in 7:3 and function in 2:0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SourceId(u16);

impl SourceId {
    /// A source-id from its raw value.
    pub(crate) const fn new(raw: u16) -> Self {
        Self(raw)
    }

    /// The source-id of bus `bus`, device `dev` and function `func`.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `dev` is above 31 or `func` above 7.
    pub(crate) const fn from_bdf(bus: u8, dev: u8, func: u8) -> Result<Self, Error> {
        if dev > 31 || func > 7 {
            return Err(Error::Overflow);
        }
        // CAST: Widening `u8` to `u16` is lossless; `From` is not usable in a `const fn`.
        Ok(Self((bus as u16) << 8 | (dev as u16) << 3 | func as u16))
    }

    /// The raw value.
    pub(crate) const fn raw(self) -> u16 {
        self.0
    }

    /// The bus number.
    pub(crate) const fn bus(self) -> u8 {
        // CAST: The shift leaves 8 bits.
        (self.0 >> 8) as u8
    }

    /// The device and function number.
    pub(crate) const fn devfn(self) -> u8 {
        // CAST: Truncation to the low 8 bits is intended.
        self.0 as u8
    }

    /// The device number.
    pub(crate) const fn dev(self) -> u8 {
        self.devfn() >> 3
    }

    /// The function number.
    pub(crate) const fn func(self) -> u8 {
        self.devfn() & 7
    }
}

impl fmt::Display for SourceId {
    /// Formats the source-id as the kernel prints a PCI address within its segment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus(), self.dev(), self.func())
    }
}
