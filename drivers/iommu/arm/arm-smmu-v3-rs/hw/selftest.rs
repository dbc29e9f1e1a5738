// SPDX-License-Identifier: GPL-2.0

//! Checks of the hardware formats shared by the host tests and KUnit.
//!
//! Every check returns a [`Failure`] instead of panicking: in the kernel, a `core` panic is a
//! BUG, and `#[kunit_tests]` only redefines `assert!` inside its own module. The expected raw
//! words are written out from the field tables of the SMMUv3 specification; the comments name
//! the fields and their bit positions inside the qword.
//!
//! This file holds the small framework ([`Failure`], the `expect` helpers) and [`all`]; the
//! checks sit in one file per `hw` module under `selftest/`, named after it. The STE and CD
//! transition cases of `c_suite` reproduce the C driver's KUnit suite
//! (`drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-test.c`) with entries of the same shape.

use core::fmt;

pub(crate) mod c_suite;
pub(crate) mod cd;
pub(crate) mod cmd;
pub(crate) mod event;
pub(crate) mod hitless;
pub(crate) mod illegal;
pub(crate) mod probe;
pub(crate) mod queue;
pub(crate) mod regs;
pub(crate) mod ste;
pub(crate) mod tlbi;
pub(crate) mod user;

pub(crate) use c_suite::{
    c_suite_cd_cases,
    c_suite_ste_cases, //
};
pub(crate) use cd::{
    cd_encodings,
    cd_layouts, //
};
pub(crate) use cmd::cmd_encodings;
pub(crate) use event::event_decoding;
pub(crate) use hitless::{
    cd_sweep,
    simulate,
    ste_sweep, //
};
pub(crate) use queue::queue_arithmetic;
pub(crate) use regs::register_values;
pub(crate) use ste::ste_encodings;
pub(crate) use tlbi::tlbi_ranges;

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
    ste_encodings()?;
    cd_encodings()?;
    cd_layouts()?;
    cmd_encodings()?;
    event_decoding()?;
    queue_arithmetic()?;
    register_values()?;
    c_suite_ste_cases()?;
    c_suite_cd_cases()?;
    ste_sweep()?;
    cd_sweep()?;
    tlbi_ranges()?;
    probe::probe_refusals()?;
    probe::page_sizes()?;
    probe::strtab_sizing()?;
    probe::quirks_table()?;
    illegal::checker_rules()?;
    illegal::composed_entries()?;
    user::user_validators()?;
    user::nested_entries()
}
