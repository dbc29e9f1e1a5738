// SPDX-License-Identifier: GPL-2.0

//! The error type of the hardware-format layer.

use core::fmt;

/// Why a hardware structure could not be encoded or decoded.
///
/// The kernel side maps every variant to an errno, typically `EINVAL` or `EOVERFLOW`. Malformed
/// firmware tables have their own, more detailed error: [`crate::hw::dmar::DmarError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// A value does not fit into the field that has to hold it.
    Overflow,
    /// An address is not aligned to what its field requires, or has bits above the highest
    /// address bit the field can hold.
    BadAddress,
    /// A parameter is outside the set of encodings the architecture defines.
    Invalid,
    /// An entry sets a field that its own configuration does not use.
    UnusedField,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Self::Overflow => "value does not fit its field",
            Self::BadAddress => "address misaligned or out of range",
            Self::Invalid => "invalid parameter",
            Self::UnusedField => "entry sets a field its configuration does not use",
        };
        f.write_str(msg)
    }
}
