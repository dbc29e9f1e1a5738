// SPDX-License-Identifier: GPL-2.0

//! The error type of a hardware-format layer.
//!
//! Shared by the pure `hw` layers of the Rust IOMMU drivers: each includes this file as its
//! `hw::error` module and re-exports [`Error`] as `hw::Error`.

use core::fmt;

/// Why a hardware structure could not be encoded or decoded, or a request could not be planned.
///
/// The kernel side maps every variant to an errno, typically `EINVAL` or `EOVERFLOW`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// A value does not fit into the field that has to hold it.
    Overflow,
    /// An address is not aligned to what its field requires, or has bits above the highest
    /// address bit the field can hold.
    BadAddress,
    /// A parameter is outside the set of encodings the architecture defines.
    Invalid,
    /// An entry sets bits (a field) that its own configuration does not use.
    UnusedBitsSet,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Self::Overflow => "value does not fit its field",
            Self::BadAddress => "address misaligned or out of range",
            Self::Invalid => "invalid parameter",
            Self::UnusedBitsSet => "entry sets bits its configuration does not use",
        };
        f.write_str(msg)
    }
}
