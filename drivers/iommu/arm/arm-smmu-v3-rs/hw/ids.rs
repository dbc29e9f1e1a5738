// SPDX-License-Identifier: GPL-2.0

//! Identifiers that appear in several structures.

use crate::hw::Error;

/// A SubstreamID (PCIe PASID), at most 20 bits wide.
///
/// # Invariants
///
/// The value is at most [`Ssid::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ssid(u32);

impl Ssid {
    /// The largest SubstreamID the architecture allows.
    pub(crate) const MAX: u32 = (1 << 20) - 1;

    /// SubstreamID 0.
    pub(crate) const ZERO: Self = Self(0);

    /// Validates a SubstreamID.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Overflow`] if `raw` is wider than 20 bits.
    pub(crate) const fn new(raw: u32) -> Result<Self, Error> {
        if raw > Self::MAX {
            Err(Error::Overflow)
        } else {
            // INVARIANT: `raw` was just checked against `MAX`.
            Ok(Self(raw))
        }
    }

    /// Returns the SubstreamID.
    pub(crate) const fn get(self) -> u32 {
        self.0
    }

    /// Returns the SubstreamID as a `u64`, for writing into a 20-bit field.
    pub(crate) const fn raw(self) -> u64 {
        // CAST: Widening `u32` to `u64` is lossless; `From` is not usable in a `const fn`.
        self.0 as u64
    }
}
