// SPDX-License-Identifier: GPL-2.0

//! Checks of the hardware formats shared by the host tests and KUnit.
//!
//! Every check returns a [`Failure`] instead of panicking: in the kernel, a `core` panic is a
//! BUG, and `#[kunit_tests]` only redefines `assert!` inside its own module. The expected raw
//! words are written out from the VT-d specification's layouts; the comments name the fields
//! and their bit positions (inside the qword, or as the specification numbers them across the
//! whole structure where that is how it is written there).
//!
//! This file holds the small framework ([`Failure`], the `expect` helpers, taken over from the
//! SMMUv3 driver's `hw/selftest.rs`) and [`all`]; the checks sit in one file per `hw` module
//! under `selftest/`, named after it.

use core::fmt;

pub(crate) mod context;
pub(crate) mod dmar;
pub(crate) mod fault;
pub(crate) mod pasid;
pub(crate) mod qi;
pub(crate) mod regs;

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
fn at<T>(index: usize, r: Result<T, Failure>) -> Result<T, Failure> {
    r.map_err(|f| Failure {
        index: Some(index),
        ..f
    })
}

/// Runs every check, returning the first failure.
pub(crate) fn all() -> Check {
    regs::cap_decoding()?;
    regs::ecap_decoding()?;
    regs::register_values()?;
    context::root_entries()?;
    context::context_entries()?;
    context::sm_context_entries()?;
    pasid::dir_entries()?;
    pasid::pasid_entries()?;
    qi::descriptors()?;
    qi::ranges()?;
    fault::records()?;
    fault::reasons()?;
    dmar::tables()
}
