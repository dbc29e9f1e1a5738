// SPDX-License-Identifier: GPL-2.0

//! The frame of the hardware-format self checks: [`Failure`], [`Check`] and the `expect`
//! helpers.
//!
//! Shared by the pure `hw` layers of the Rust IOMMU drivers: each layer's `hw/selftest.rs`
//! includes this file as its `check` module and re-exports its items, so that the checks under
//! `hw/selftest/` reach them as `super::expect` and so on. Every check returns a [`Failure`]
//! instead of panicking: in the kernel, a `core` panic is a BUG, and `#[kunit_tests]` only
//! redefines `assert!` inside its own module.

use core::fmt;

use crate::hw::Error;

/// A failed check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    /// What was checked.
    pub(crate) check: &'static str,
    /// The qword or case index the mismatch is in, when there is one.
    pub(crate) index: Option<usize>,
    /// The value found.
    pub(crate) got: u64,
    /// The value expected.
    pub(crate) want: u64,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.check)?;
        if let Some(i) = self.index {
            write!(f, " [{}]", i)?;
        }
        write!(f, ": got {:#x}, want {:#x}", self.got, self.want)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self {
            check: "unexpected hw::Error",
            index: None,
            // CAST: The discriminant is only reported, to tell the variants apart.
            got: e as u64,
            want: 0,
        }
    }
}

/// The result of a check.
pub(crate) type Check = Result<(), Failure>;

/// Fails `check` unless `got == want`.
pub(crate) fn expect_eq(check: &'static str, got: u64, want: u64) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(Failure {
            check,
            index: None,
            got,
            want,
        })
    }
}

/// Fails `check` unless `cond` holds.
pub(crate) fn expect(check: &'static str, cond: bool) -> Check {
    expect_eq(check, u64::from(cond), 1)
}

/// Fails `check` at the first index where the word slices differ.
pub(crate) fn expect_words(check: &'static str, got: &[u64], want: &[u64]) -> Check {
    if got.len() != want.len() {
        return Err(Failure {
            check,
            index: None,
            // CAST: Slice lengths fit in `u64` on every supported architecture.
            got: got.len() as u64,
            // CAST: As above.
            want: want.len() as u64,
        });
    }
    for (index, (&g, &w)) in got.iter().zip(want.iter()).enumerate() {
        if g != w {
            return Err(Failure {
                check,
                index: Some(index),
                got: g,
                want: w,
            });
        }
    }
    Ok(())
}

/// Attaches a case index to a failure.
pub(crate) fn at<T>(index: usize, r: Result<T, Failure>) -> Result<T, Failure> {
    r.map_err(|f| Failure {
        index: Some(index),
        ..f
    })
}
